/// 2-D convolution over NCHW, weights (O, C/groups, kh, kw), optional bias (O).
///   forward:  y (N, O, outH, outW)
///   backward: dx (N, C, H, W) += conv-transpose(dy)   (input gradient only; weights are frozen)
/// Lowering to sgemm (OpenBLAS, through `gemm` in GEMM.swift):
///   - pointwise (1x1, stride 1, unpadded): a plain sgemm W·X, OpenBLAS-threaded, or on column halves
///     one per core when OpenBLAS's split is poor (`pointwiseSplitPays`);
///   - other single-group convs: by bands of output rows, each core doing im2col → sgemm → bias/clip
///     (backward: sgemm → col2im) on its own band while the band is in its L2 (`convBandRows`), the
///     band count balanced over the cores (`balancedBandRows`); a backward too small for one band
///     per core runs on the whole image, split by input channels (`wholeImageBackward`);
///   - grouped, non-depthwise convs: whole-image im2col + one sgemm per group.
/// On AVX-512 CPUs, dense convs of stride 1 (kxk and 1x1; forward and input gradient) and kxk convs
/// of stride 2 (forward) go to DirectConv.swift instead. Depthwise convs go to DepthwiseConv2D.swift.
/// Naive versions are the test oracles.

/// `col` scratch needs `convColumnCount(g)` floats: 0 for pointwise, one band per core for a
/// single-group conv, the whole im2col matrix for a grouped one; or the direct conv's padded image.
func convColumnCount(_ g: ConvGeometry) -> Int {
    if g.isPointwise { return DirectConv.scratchCount(g) }
    if g.groups == 1 { return max(Parallel.tasks * g.colRows * convBandRows(g) * g.outW, DirectConv.scratchCount(g)) }
    return g.inC * g.kH * g.kW * g.outPlane
}

/// `clip`: a fused Clip applied to the output (nil: none). `direct`: the conv's weights packed for
/// the direct kernel (DirectConv.swift), used when `DirectConv.runs`.
func conv2d(
    _ g: ConvGeometry, x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    y: UnsafeMutablePointer<Float>, col: UnsafeMutablePointer<Float>?, clip: (lo: Float, hi: Float)? = nil,
    direct: DirectConvWeights? = nil
) {
    let og = g.outC / g.groups, k = g.colRows, plane = g.outPlane
    for n in 0..<g.batch {
        let xn = x + n * g.inC * g.inPlane, yn = y + n * g.outC * plane
        if let direct, DirectConv.runs(g, direct, backward: false) {
            directConv2d(g, x: xn, weights: direct, bias: bias, y: yn, scratch: col!, clip: clip)
            continue
        }
        if g.groups == 1 {
            if g.isPointwise {
                pointwiseForward(g, x: xn, weight: weight, bias: bias, y: yn, clip: clip)
            } else {
                bandedForward(g, x: xn, weight: weight, bias: bias, y: yn, col: col!, clip: clip)
            }
            continue
        }
        if let bias {
            for o in 0..<g.outC { (yn + o * plane).update(repeating: bias[o], count: plane) }
        }
        let b: UnsafePointer<Float>
        if g.isPointwise { b = xn } else { im2col(g, image: xn, col: col!); b = UnsafePointer(col!) }
        for grp in 0..<g.groups {
            gemm(
                transA: false, transB: false, m: og, n: plane, k: k,
                a: weight + grp * og * k, lda: k, b: b + grp * k * plane, ldb: plane,
                beta: bias == nil ? 0 : 1, c: yn + grp * og * plane, ldc: plane)
        }
        if let clip { Dream.clip(yn, yn, count: g.outC * plane, lo: clip.lo, hi: clip.hi) }
    }
}

func conv2dBackward(
    _ g: ConvGeometry, dy: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    dx: UnsafeMutablePointer<Float>, col: UnsafeMutablePointer<Float>?, direct: DirectConvWeights? = nil
) {
    let og = g.outC / g.groups, cg = g.inC / g.groups, k = g.colRows, plane = g.outPlane
    for n in 0..<g.batch {
        let dxn = dx + n * g.inC * g.inPlane, dyn = dy + n * g.outC * plane
        if let direct, DirectConv.runs(g, direct, backward: true) {
            directConv2dBackward(g, dy: dyn, weights: direct, dx: dxn, scratch: col!)
            continue
        }
        if g.groups == 1 {
            if g.isPointwise {
                pointwiseBackward(g, dy: dyn, weight: weight, dx: dxn)
            } else {
                bandedBackward(g, dy: dyn, weight: weight, dx: dxn, col: col!)
            }
            continue
        }
        for grp in 0..<g.groups {
            let w = weight + grp * og * k, d = dyn + grp * og * plane
            if g.isPointwise {
                gemm(
                    transA: true, transB: false, m: cg, n: plane, k: og, a: w, lda: k, b: d, ldb: plane,
                    beta: 1, c: dxn + grp * cg * g.inPlane, ldc: plane)
            } else {
                gemm(
                    transA: true, transB: false, m: k, n: plane, k: og, a: w, lda: k, b: d, ldb: plane,
                    beta: 0, c: col! + grp * k * plane, ldc: plane)
            }
        }
        if !g.isPointwise { col2imAdd(g, col: col!, image: dxn) }
    }
}

// MARK: Pointwise (1x1, stride 1, unpadded, one group): Y(O×HW) = W(O×C)·X(C×HW)

/// Whether a pointwise sgemm with few output rows (C is m×n, inner dimension k) goes faster as two
/// single-threaded sgemms on column halves, one per core, than as one OpenBLAS-threaded call. Measured
/// at 1280x720, interleaved with the threaded call in one process: 0.7–0.85x for m = 24, k = 144
/// (blocks.2.project forward, blocks.2/3.expand input gradient). Elsewhere OpenBLAS's own threads won
/// or tied, or the result swung with the load on the shared machine (m = 40, or k = 96): they spin
/// between calls, while waking a GCD worker cost tens of µs, and one big call packs W once. (Measured
/// before the engine had its own spinning workers; the op-by-op forward only runs with fusion off.)
func pointwiseSplitPays(m: Int, n: Int, k: Int) -> Bool { m <= 24 && k >= 144 && n >= 32_768 }

/// Columns per block of a pointwise conv: the block's output (outC × columns, ~1 MB) stays in the two
/// cores' L2 between the bias fill, the sgemm and the clip instead of three passes over memory.
func pointwiseBlockColumns(outC: Int) -> Int { max(1024, ((1 << 18) / max(outC, 1)) & ~63) }

private func pointwiseForward(
    _ g: ConvGeometry, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>, clip: (lo: Float, hi: Float)?
) {
    let plane = g.outPlane
    if pointwiseSplitPays(m: g.outC, n: plane, k: g.inC) {
        columnParts(plane) { j0, width in
            if let bias { for o in 0..<g.outC { (y + o * plane + j0).update(repeating: bias[o], count: width) } }
            gemm(
                transA: false, transB: false, m: g.outC, n: width, k: g.inC, a: weight, lda: g.inC, b: x + j0, ldb: plane,
                beta: bias == nil ? 0 : 1, c: y + j0, ldc: plane)
            if let clip { for o in 0..<g.outC { clamp(y + o * plane + j0, count: width, lo: clip.lo, hi: clip.hi) } }
        }
        return
    }
    // Blocks only pay for outputs far beyond L2 (> 4 MB); smaller ones stay in L3 between passes.
    if (bias != nil || clip != nil) && g.outC * plane > 1 << 20 {
        pointwiseBlocked(g, x: x, weight: weight, bias: bias, y: y, clip: clip)
        return
    }
    if let bias { for o in 0..<g.outC { (y + o * plane).update(repeating: bias[o], count: plane) } }
    gemm(
        transA: false, transB: false, m: g.outC, n: plane, k: g.inC, a: weight, lda: g.inC, b: x, ldb: plane,
        beta: bias == nil ? 0 : 1, c: y, ldc: plane)
    if let clip { Dream.clip(y, y, count: g.outC * plane, lo: clip.lo, hi: clip.hi) }
}

/// One image of a pointwise conv, by column blocks: pass b clamps block b−1 and fills block b with the
/// bias (rows split over the cores), then one sgemm (both cores) computes block b.
private func pointwiseBlocked(
    _ g: ConvGeometry, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>, clip: (lo: Float, hi: Float)?
) {
    let plane = g.outPlane, cols = pointwiseBlockColumns(outC: g.outC)
    let blocks = (plane + cols - 1) / cols
    let lo = clip?.lo ?? -.infinity, hi = clip?.hi ?? .infinity
    for b in 0...blocks {
        let j0 = b * cols, width = min(cols, plane - j0), jp = j0 - cols, prevWidth = min(cols, plane - jp)
        parallelFor(Parallel.tasks) { _, h in
            for o in (h * g.outC / Parallel.tasks)..<((h + 1) * g.outC / Parallel.tasks) {
                let row = y + o * plane
                if clip != nil && b > 0 { clamp(row + jp, count: prevWidth, lo: lo, hi: hi) }
                if b < blocks, let bias { (row + j0).update(repeating: bias[o], count: width) }
            }
        }
        if b < blocks {
            gemm(
                transA: false, transB: false, m: g.outC, n: width, k: g.inC, a: weight, lda: g.inC, b: x + j0, ldb: plane,
                beta: bias == nil ? 0 : 1, c: y + j0, ldc: plane)
        }
    }
}

/// dX(C×HW) += Wᵀ·dY, as two single-threaded sgemms on column halves, one per core (from 512
/// columns). Since the engine's workers spin between regions (WorkerPool.swift) this beats the
/// OpenBLAS-threaded call, whose sleeping threads wake late, at every shape of the default model:
/// whole gradient step, minimum of 6 alternating runs, 15.75 → 14.94 ms at 224x224, 63.1 → 60.5 ms
/// at 512x512, 225.6 → 222.8 ms at 1280x720.
private func pointwiseBackward(
    _ g: ConvGeometry, dy: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    dx: UnsafeMutablePointer<Float>
) {
    let plane = g.outPlane
    if plane >= 512 {
        columnParts(plane) { j0, width in
            gemm(
                transA: true, transB: false, m: g.inC, n: width, k: g.outC, a: weight, lda: g.inC, b: dy + j0, ldb: plane,
                beta: 1, c: dx + j0, ldc: plane)
        }
        return
    }
    gemm(
        transA: true, transB: false, m: g.inC, n: plane, k: g.outC, a: weight, lda: g.inC, b: dy, ldb: plane,
        beta: 1, c: dx, ldc: plane)
}

@inline(__always)
private func clamp(_ p: UnsafeMutablePointer<Float>, count: Int, lo: Float, hi: Float) {
    clamp(p, p, count: count, lo: lo, hi: hi)
}

// MARK: Banded im2col (any kernel, stride, dilation, padding; one group)

/// Output rows per band of an im2col conv. A core takes a band at a time: im2col of the band, one
/// sgemm, bias and clamp (forward) or sgemm into the band's columns and col2im (backward), while the
/// band's K×cols columns and O×cols outputs (~`convBandFloats` floats) stay in its L2 — the whole
/// im2col matrix of a 1280x720 stem is 25 MB, which went to memory and back. At least 1024 columns,
/// so OpenBLAS's packing of W is spread over enough work; and tall enough that the image rows of
/// bands two apart never meet (the backward adds even bands, then odd ones, both cores at once).
func convBandRows(_ g: ConvGeometry) -> Int {
    let cols = max(1024, convBandFloats / max(g.colRows + g.outC, 1))
    return min(max(g.outH, 1), max(convBandMinRows(g), (cols + g.outW - 1) / max(g.outW, 1)))
}

/// The least band height for which the image rows of bands two apart never meet.
func convBandMinRows(_ g: ConvGeometry) -> Int {
    let span = (g.kH - 1) * g.dilH + 1
    return max(1, (span + g.strideH - 1) / g.strideH)
}
private let convBandFloats = 1 << 17

/// The band height a pass uses: `convBandRows` lowered so that the bands come in a multiple of
/// `multiple` (the forward: one band per core at a time; the backward: its two parities, each
/// spread over the cores), but no lower than `minRows`. Small planes (InceptionV3's 25x25 and
/// 12x12 stages at 224x224, GoogLeNet's 28x28 and 14x14) were one L2-sized band and ran on one core,
/// and 3 bands on 2 cores took two rounds.
private func balancedBandRows(_ g: ConvGeometry, multiple: Int, minRows: Int) -> Int {
    let rows = convBandRows(g), bands = (g.outH + rows - 1) / rows
    let balanced = (bands + multiple - 1) / multiple * multiple
    return min(rows, max(minRows, (g.outH + balanced - 1) / balanced))
}

/// Whether a single-group conv's backward has fewer L2-sized bands than cores, and so runs on the
/// whole image split by input channels instead (`wholeImageBackward`): two bands would run one per
/// parity, one core each.
func convBackwardSplitsChannels(_ g: ConvGeometry) -> Bool {
    let rows = convBandRows(g)
    return (g.outH + rows - 1) / rows < Parallel.tasks
}

/// One band, both cores: each core the sgemm Wᵀ·dY for the im2col rows of its input channels, then
/// their col2im (the channels' image planes are its own).
private func wholeImageBackward(
    _ g: ConvGeometry, dy: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    dx: UnsafeMutablePointer<Float>, col: UnsafeMutablePointer<Float>
) {
    let plane = g.outPlane, k = g.colRows, taps = g.kH * g.kW
    let parts = coreParts(g.inC, multiple: max(1, 16 / taps))
    BLASThreads.singleThreaded {
        parallelFor(parts.count) { _, t in
            let r = parts[t], r0 = r.lowerBound * taps
            gemm(
                transA: true, transB: false, m: r.count * taps, n: plane, k: g.outC, a: weight + r0, lda: k, b: dy, ldb: plane,
                beta: 0, c: col + r0 * plane, ldc: plane)
            col2imAdd(g, col: col, channels: r, image: dx)
        }
    }
}

private func bandedForward(
    _ g: ConvGeometry, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>, col: UnsafeMutablePointer<Float>,
    clip: (lo: Float, hi: Float)?
) {
    let plane = g.outPlane, k = g.colRows, rows = balancedBandRows(g, multiple: Parallel.tasks, minRows: 1)
    BLASThreads.singleThreaded {
        parallelFor((g.outH + rows - 1) / rows) { w, b in
            let band = (b * rows)..<min(g.outH, (b + 1) * rows)
            let j0 = band.lowerBound * g.outW, width = band.count * g.outW, c = col + w * k * rows * g.outW
            im2colBand(g, image: x, rows: band, col: c)
            if let bias { for o in 0..<g.outC { (y + o * plane + j0).update(repeating: bias[o], count: width) } }
            gemm(
                transA: false, transB: false, m: g.outC, n: width, k: k, a: weight, lda: k, b: c, ldb: width,
                beta: bias == nil ? 0 : 1, c: y + j0, ldc: plane)
            if let clip { for o in 0..<g.outC { clamp(y + o * plane + j0, count: width, lo: clip.lo, hi: clip.hi) } }
        }
    }
}

private func bandedBackward(
    _ g: ConvGeometry, dy: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    dx: UnsafeMutablePointer<Float>, col: UnsafeMutablePointer<Float>
) {
    if convBackwardSplitsChannels(g) {
        wholeImageBackward(g, dy: dy, weight: weight, dx: dx, col: col)
        return
    }
    let plane = g.outPlane, k = g.colRows
    let rows = balancedBandRows(g, multiple: 2 * Parallel.tasks, minRows: convBandMinRows(g))
    let bands = (g.outH + rows - 1) / rows
    // Bands next to each other add into shared image rows: even bands first, then odd ones.
    for parity in 0..<2 {
        BLASThreads.singleThreaded {
            parallelFor((bands - parity + 1) / 2) { w, i in
                let b = 2 * i + parity
                let band = (b * rows)..<min(g.outH, (b + 1) * rows)
                let j0 = band.lowerBound * g.outW, width = band.count * g.outW, c = col + w * k * rows * g.outW
                gemm(
                    transA: true, transB: false, m: k, n: width, k: g.outC, a: weight, lda: k, b: dy + j0, ldb: plane,
                    beta: 0, c: c, ldc: width)
                col2imAddBand(g, col: c, rows: band, image: dx)
            }
        }
    }
}

/// Direct 7-loop convolution: the oracle.
func conv2dNaive(
    _ g: ConvGeometry, x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    y: UnsafeMutablePointer<Float>
) {
    let og = g.outC / g.groups, cg = g.inC / g.groups
    for n in 0..<g.batch {
        for o in 0..<g.outC {
            let grp = o / og
            for oy in 0..<g.outH {
                for ox in 0..<g.outW {
                    var s = Double(bias?[o] ?? 0)
                    for ci in 0..<cg {
                        let c = grp * cg + ci
                        for ky in 0..<g.kH {
                            let iy = oy * g.strideH - g.padTop + ky * g.dilH
                            if iy < 0 || iy >= g.inH { continue }
                            for kx in 0..<g.kW {
                                let ix = ox * g.strideW - g.padLeft + kx * g.dilW
                                if ix < 0 || ix >= g.inW { continue }
                                s +=
                                    Double(x[((n * g.inC + c) * g.inH + iy) * g.inW + ix])
                                    * Double(weight[((o * cg + ci) * g.kH + ky) * g.kW + kx])
                            }
                        }
                    }
                    y[((n * g.outC + o) * g.outH + oy) * g.outW + ox] = Float(s)
                }
            }
        }
    }
}

/// Direct scatter of dy back through the taps: the oracle for the input gradient (adds into dx).
func conv2dBackwardNaive(
    _ g: ConvGeometry, dy: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    dx: UnsafeMutablePointer<Float>
) {
    let og = g.outC / g.groups, cg = g.inC / g.groups
    for n in 0..<g.batch {
        for o in 0..<g.outC {
            let grp = o / og
            for oy in 0..<g.outH {
                for ox in 0..<g.outW {
                    let d = dy[((n * g.outC + o) * g.outH + oy) * g.outW + ox]
                    for ci in 0..<cg {
                        let c = grp * cg + ci
                        for ky in 0..<g.kH {
                            let iy = oy * g.strideH - g.padTop + ky * g.dilH
                            if iy < 0 || iy >= g.inH { continue }
                            for kx in 0..<g.kW {
                                let ix = ox * g.strideW - g.padLeft + kx * g.dilW
                                if ix < 0 || ix >= g.inW { continue }
                                dx[((n * g.inC + c) * g.inH + iy) * g.inW + ix] += d * weight[((o * cg + ci) * g.kH + ky) * g.kW + kx]
                            }
                        }
                    }
                }
            }
        }
    }
}
