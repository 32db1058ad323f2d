/// The depthwise convolution's input gradient (see DepthwiseConv2D.swift for the shapes and layout):
/// how dx is written (`GradientStore`, `ClipMask`), and the stride-1, strided and scatter paths.

/// Which input-gradient kernel a geometry takes (see `depthwiseConv2dBackward`).
enum DepthwiseBackwardPath {
    case stride1, strided, scatter
    init(_ g: ConvGeometry) {
        if g.strideW == 1 && g.strideH == 1 && g.padTop <= (g.kH - 1) * g.dilH && g.padLeft <= (g.kW - 1) * g.dilW {
            self = .stride1
        } else {
            self = g.strideW > 1 ? .strided : .scatter
        }
    }
}

/// A Clip's pass-through test, lo < v < hi, over the values of a whole tensor (plane p at p·plane).
struct ClipMask {
    let values: UnsafePointer<Float>
    let lo: Float, hi: Float
}

/// How a backward kernel writes dx: added to what is there or stored over it (the caller skips
/// zeroing a buffer nothing else has written), optionally masked by a Clip that alone consumed dx's
/// tensor (the producer's fused ReLU6), which then needs no masking pass of its own.
struct GradientStore {
    var accumulate = true
    var mask: ClipMask?
}

/// Stores (or adds) 8 gradients at `out`, masked by the clip values at `m` (nil: no mask).
@inline(__always) func emit8(
    _ v: SIMD8<Float>, _ out: UnsafeMutablePointer<Float>, _ m: UnsafePointer<Float>?,
    _ lo: SIMD8<Float>, _ hi: SIMD8<Float>, _ accumulate: Bool
) {
    var v = v
    if let m { let mv = load8(m); v = SIMD8<Float>().replacing(with: v, where: (mv .> lo) .& (mv .< hi)) }
    if accumulate { v += load8(out) }
    store8(v, out)
}

@inline(__always) func emit1(
    _ v: Float, _ out: UnsafeMutablePointer<Float>, _ m: UnsafePointer<Float>?,
    _ lo: Float, _ hi: Float, _ accumulate: Bool
) {
    var v = v
    if let m, !(m.pointee > lo && m.pointee < hi) { v = 0 }
    out.pointee = accumulate ? out.pointee + v : v
}

/// Copies `count` values of dy, zeroing those whose clip value (`m`, nil: none) is outside (lo, hi).
@inline(__always) func copyMasked(
    _ from: UnsafePointer<Float>, _ m: UnsafePointer<Float>?, lo: Float, hi: Float,
    count: Int, into to: UnsafeMutablePointer<Float>
) {
    guard let m else { copyFloats(from, to, count); return }
    let vlo = SIMD8<Float>(repeating: lo), vhi = SIMD8<Float>(repeating: hi)
    var i = 0
    @inline(__always) func copy8(_ i: Int) {
        let mv = load8(m + i)
        store8(SIMD8<Float>().replacing(with: load8(from + i), where: (mv .> vlo) .& (mv .< vhi)), to + i)
    }
    while i + 8 <= count { copy8(i); i += 8 }
    // From 8 values on, the last vector overlaps the previous one (same values again) instead of a
    // scalar tail: a 14-wide dy row would otherwise copy 6 of its 14 values one at a time.
    if i < count && count >= 8 { copy8(count - 8); return }
    while i < count { to[i] = m[i] > lo && m[i] < hi ? from[i] : 0; i += 1 }
}

/// Input gradient. `dyMask`: this conv's own fused Clip, applied to dy as it is read (dy is not
/// modified). Stride 1: gather form, dx[iy][ix] = Σ w[kh−1−a][kw−1−b] · dyPad[iy+pt+a·d][ix+pl+b·d]
/// over a ring of zero-padded dy rows (SIMD8 accumulators, one store per 8 outputs). Stride 2+
/// across: the strided gather below. Anything else: scatter w·dy into a zero phase-split padded
/// plane, then add its interior into dx.
func depthwiseConv2dBackward(
    _ g: ConvGeometry, dy: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    dx: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
    dyMask: ClipMask? = nil, store: GradientStore = GradientStore()
) {
    switch DepthwiseBackwardPath(g) {
    case .stride1: depthwiseBackwardStride1(g, dy: dy, weight: weight, dx: dx, scratch: scratch, dyMask: dyMask, store: store); return
    case .strided: depthwiseBackwardStrided(g, dy: dy, weight: weight, dx: dx, scratch: scratch, dyMask: dyMask, store: store); return
    case .scatter: break
    }
    let taps = g.kH * g.kW, pp = PhasePlane(g)
    let tapOffsets = (0..<g.kW).map { pp.column($0 * g.dilW) }
    parallelFor(g.batch * g.inC) { task, p in
        let c = p % g.inC
        let d = dy + p * g.outPlane, dst = dx + p * g.inPlane, w = weight + c * taps
        let pad = scratch + task * depthwiseTaskScratch(g)
        let grow = pad + pp.count  // one masked dy row
        pad.update(repeating: 0, count: pp.count)
        tapOffsets.withUnsafeBufferPointer { offs in
            for oy in 0..<g.outH {
                let top = pad + oy * g.strideH * pp.rowLength
                copyMasked(
                    d + oy * g.outW, dyMask.map { $0.values + p * g.outPlane + oy * g.outW }, lo: dyMask?.lo ?? 0,
                    hi: dyMask?.hi ?? 0, count: g.outW, into: grow)
                var ox = 0
                while ox + 8 <= g.outW {
                    let gv = load8(grow + ox)
                    for ky in 0..<g.kH {
                        let row = top + ky * g.dilH * pp.rowLength + ox
                        for kx in 0..<g.kW {
                            let q = row + offs[kx]
                            store8(fma8(load8(q), SIMD8<Float>(repeating: w[ky * g.kW + kx]), gv), q)
                        }
                    }
                    ox += 8
                }
                while ox < g.outW {
                    let gv = grow[ox]
                    for ky in 0..<g.kH {
                        let row = top + ky * g.dilH * pp.rowLength + ox
                        for kx in 0..<g.kW { row[offs[kx]] += w[ky * g.kW + kx] * gv }
                    }
                    ox += 1
                }
            }
        }
        for r in 0..<g.inH {
            emitPhaseRow(
                pp, pad + (r + g.padTop) * pp.rowLength, count: g.inW, padLeft: g.padLeft, into: dst + r * g.inW,
                mask: store.mask.map { $0.values + p * g.inPlane + r * g.inW }, lo: store.mask?.lo ?? 0,
                hi: store.mask?.hi ?? 0, accumulate: store.accumulate)
        }
    }
}

/// Writes padded columns padLeft..<padLeft+count of a phase-split row into `out` (see `GradientStore`),
/// 8 outputs a vector: with two phases, 4 from each (two SIMD4 loads, interleaved). The last vector
/// ends at `count`, overlapping outputs already written (when adding, those lanes add zero), so a
/// 14- or 28-wide row has no scalar tail (which cost more than the row's taps).
@inline(__always)
func emitPhaseRow(
    _ pp: PhasePlane, _ row: UnsafePointer<Float>, count: Int, padLeft: Int, into out: UnsafeMutablePointer<Float>,
    mask: UnsafePointer<Float>?, lo: Float, hi: Float, accumulate: Bool
) {
    var ix = 0
    if pp.phases <= 2 && count >= 8 {
        let vlo = SIMD8<Float>(repeating: lo), vhi = SIMD8<Float>(repeating: hi)
        /// Outputs ix..<ix+8: padded column c = padLeft + ix is at phase c & 1, index c >> 1; c + 1 in
        /// the other phase; c + 2 next to c.
        @inline(__always) func gather(_ ix: Int) -> SIMD8<Float> {
            let c = padLeft + ix
            if pp.phases == 1 { return load8(row + c) }
            var v = SIMD8<Float>()
            v.evenHalf = UnsafeRawPointer(row + (c & 1) * pp.phaseWidth + c >> 1).loadUnaligned(as: SIMD4<Float>.self)
            v.oddHalf = UnsafeRawPointer(row + ((c + 1) & 1) * pp.phaseWidth + (c + 1) >> 1).loadUnaligned(as: SIMD4<Float>.self)
            return v
        }
        while ix + 8 <= count { emit8(gather(ix), out + ix, mask.map { $0 + ix }, vlo, vhi, accumulate); ix += 8 }
        if ix < count {
            let last = count - 8
            var v = gather(last)
            if accumulate { v.replace(with: 0, where: lanes .< SIMD8<Int32>(repeating: Int32(ix - last))) }
            emit8(v, out + last, mask.map { $0 + last }, vlo, vhi, accumulate)
            ix = count
        }
    }
    while ix < count {
        emit1(row[pp.column(padLeft + ix)], out + ix, mask.map { $0 + ix }, lo, hi, accumulate)
        ix += 1
    }
}

/// Stride-1 backward: a ring of dy rows zero-padded by (k−1)·d on the left (+ the same and 8
/// columns of slack on the right); padded row r holds dy row r − (kh−1)·d, zeros outside dy.
struct GradientRing {
    let slots: Int, width: Int, top: Int, left: Int
    init(_ g: ConvGeometry) {
        top = (g.kH - 1) * g.dilH; left = (g.kW - 1) * g.dilW
        slots = powerOfTwo(atLeast: top + depthwiseRowBlock)
        width = g.outW + 2 * left + 8
    }
    var count: Int { slots * width }
    @inline(__always) func row(_ ring: UnsafeMutablePointer<Float>, _ r: Int) -> UnsafeMutablePointer<Float> { ring + (r & (slots - 1)) * width }
}

func depthwiseBackwardStride1(
    _ g: ConvGeometry, dy: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    dx: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
    dyMask: ClipMask?, store: GradientStore
) {
    let taps = g.kH * g.kW, ring = GradientRing(g)
    let mlo = dyMask?.lo ?? 0, mhi = dyMask?.hi ?? 0
    let slo = store.mask?.lo ?? 0, shi = store.mask?.hi ?? 0, vlo = SIMD8<Float>(repeating: slo), vhi = SIMD8<Float>(repeating: shi)
    let accumulate = store.accumulate
    zeroTaskScratch(scratch, g, count: ring.count)  // padding columns stay zero (only dy's columns are written)
    parallelFor(g.batch * g.inC) { task, p in
        let c = p % g.inC
        let d = dy + p * g.outPlane, dst = dx + p * g.inPlane, w = weight + c * taps
        let ringBase = scratch + task * depthwiseTaskScratch(g)
        let dm = dyMask.map { $0.values + p * g.outPlane }, sm = store.mask.map { $0.values + p * g.inPlane }
        var filled = -1
        withUnsafeTemporaryAllocation(of: UnsafePointer<Float>.self, capacity: ring.slots) { rows in
            var iy = 0
            while iy < g.inH {
                // A block of up to `depthwiseRowBlock` dx rows; rows[j] is padded dy row iy + padTop + j.
                let block = min(depthwiseRowBlock, g.inH - iy), first = iy + g.padTop, last = first + block - 1 + ring.top
                while filled < last {
                    filled += 1
                    let row = ring.row(ringBase, filled), oy = filled - ring.top
                    if oy >= 0 && oy < g.outH {
                        copyMasked(d + oy * g.outW, dm.map { $0 + oy * g.outW }, lo: mlo, hi: mhi, count: g.outW, into: row + ring.left)
                    } else {
                        zeroFloats(row + ring.left, g.outW)
                    }
                }
                ringRows(rows, ringBase + g.padLeft, first: first, step: 1, count: last - first + 1, slots: ring.slots, length: ring.width)
                for r in 0..<block {
                    let out = dst + (iy + r) * g.inW, m = sm.map { $0 + (iy + r) * g.inW }
                    var ix = 0
                    while ix + 32 <= g.inW {
                        // Four independent accumulators (see the forward kernel).
                        var a0 = SIMD8<Float>(), a1 = a0, a2 = a0, a3 = a0
                        for a in 0..<g.kH {
                            let row = rows[r + a * g.dilH] + ix, wrow = w + (g.kH - 1 - a) * g.kW
                            for b in 0..<g.kW {
                                let wv = SIMD8<Float>(repeating: wrow[g.kW - 1 - b]), q = row + b * g.dilW
                                a0 = fma8(a0, wv, load8(q)); a1 = fma8(a1, wv, load8(q + 8)); a2 = fma8(a2, wv, load8(q + 16));
                                a3 = fma8(a3, wv, load8(q + 24))
                            }
                        }
                        emit8(a0, out + ix, m.map { $0 + ix }, vlo, vhi, accumulate)
                        emit8(a1, out + ix + 8, m.map { $0 + ix + 8 }, vlo, vhi, accumulate)
                        emit8(a2, out + ix + 16, m.map { $0 + ix + 16 }, vlo, vhi, accumulate)
                        emit8(a3, out + ix + 24, m.map { $0 + ix + 24 }, vlo, vhi, accumulate)
                        ix += 32
                    }
                    while ix < g.inW && g.inW < 8 {
                        var acc: Float = 0
                        for a in 0..<g.kH {
                            let row = rows[r + a * g.dilH] + ix, wrow = w + (g.kH - 1 - a) * g.kW
                            for b in 0..<g.kW { acc += wrow[g.kW - 1 - b] * row[b * g.dilW] }
                        }
                        emit1(acc, out + ix, m.map { $0 + ix }, slo, shi, accumulate)
                        ix += 1
                    }
                }
                // Columns left after the 32-wide passes, as 8-wide vectors over the block's rows, four at a
                // time in independent chains (see the forward kernel). The last vector of a row ends
                // at inW, overlapping done outputs: when adding, their lanes add zero; when storing, they
                // are stored again with the same values. A group's spare chains repeat its first item and
                // are not emitted.
                let done = g.inW & ~31
                if block == depthwiseRowBlock && done < g.inW && g.inW >= 8 {
                    // A full block: one vector of each of its 4 rows per group (no bookkeeping per item).
                    var ix = done
                    while ix < g.inW {
                        var overlap = 0
                        if ix + 8 > g.inW { overlap = ix + 8 - g.inW; ix = g.inW - 8 }
                        var a0 = SIMD8<Float>(), a1 = a0, a2 = a0, a3 = a0
                        for a in 0..<g.kH {
                            let j = a * g.dilH, wrow = w + (g.kH - 1 - a) * g.kW
                            let r0 = rows[j] + ix, r1 = rows[j + 1] + ix, r2 = rows[j + 2] + ix, r3 = rows[j + 3] + ix
                            for b in 0..<g.kW {
                                let wv = SIMD8<Float>(repeating: wrow[g.kW - 1 - b]), o = b * g.dilW
                                a0 = fma8(a0, wv, load8(r0 + o)); a1 = fma8(a1, wv, load8(r1 + o)); a2 = fma8(a2, wv, load8(r2 + o));
                                a3 = fma8(a3, wv, load8(r3 + o))
                            }
                        }
                        if overlap > 0 && accumulate {
                            let keep = lanes .>= SIMD8<Int32>(repeating: Int32(overlap)), z = SIMD8<Float>()
                            a0 = z.replacing(with: a0, where: keep); a1 = z.replacing(with: a1, where: keep)
                            a2 = z.replacing(with: a2, where: keep); a3 = z.replacing(with: a3, where: keep)
                        }
                        let out = dst + iy * g.inW + ix, m = sm.map { $0 + iy * g.inW + ix }
                        emit8(a0, out, m, vlo, vhi, accumulate)
                        emit8(a1, out + g.inW, m.map { $0 + g.inW }, vlo, vhi, accumulate)
                        emit8(a2, out + 2 * g.inW, m.map { $0 + 2 * g.inW }, vlo, vhi, accumulate)
                        emit8(a3, out + 3 * g.inW, m.map { $0 + 3 * g.inW }, vlo, vhi, accumulate)
                        ix += 8
                    }
                } else if done < g.inW && g.inW >= 8 {
                    var items = LeftoverVectors(rows: block, from: done, width: g.inW)
                    @inline(__always) func emit(_ acc: SIMD8<Float>, _ item: (row: Int, col: Int, overlap: Int)) {
                        var acc = acc
                        if item.overlap > 0 && accumulate { acc.replace(with: 0, where: lanes .< SIMD8<Int32>(repeating: Int32(item.overlap))) }
                        let at = (iy + item.row) * g.inW + item.col
                        emit8(acc, dst + at, sm.map { $0 + at }, vlo, vhi, accumulate)
                    }
                    while items.remaining > 0 {
                        let n = min(4, items.remaining), i0 = items.next()
                        let i1 = n > 1 ? items.next() : i0, i2 = n > 2 ? items.next() : i0, i3 = n > 3 ? items.next() : i0
                        var a0 = SIMD8<Float>(), a1 = a0, a2 = a0, a3 = a0
                        for a in 0..<g.kH {
                            let j = a * g.dilH, wrow = w + (g.kH - 1 - a) * g.kW
                            let r0 = rows[i0.row + j] + i0.col, r1 = rows[i1.row + j] + i1.col
                            let r2 = rows[i2.row + j] + i2.col, r3 = rows[i3.row + j] + i3.col
                            for b in 0..<g.kW {
                                let wv = SIMD8<Float>(repeating: wrow[g.kW - 1 - b]), o = b * g.dilW
                                a0 = fma8(a0, wv, load8(r0 + o)); a1 = fma8(a1, wv, load8(r1 + o)); a2 = fma8(a2, wv, load8(r2 + o));
                                a3 = fma8(a3, wv, load8(r3 + o))
                            }
                        }
                        emit(a0, i0)
                        if n > 1 { emit(a1, i1) }
                        if n > 2 { emit(a2, i2) }
                        if n > 3 { emit(a3, i3) }
                    }
                }
                iy += block
            }
        }
    }
}

/// Strided backward: a ring of dy rows with `left` zeros before and slack after, plus one
/// phase-split row of the padded input gradient.
struct StridedGradientPlane {
    let left: Int, width: Int, slots: Int, phase: PhasePlane
    init(_ g: ConvGeometry) {
        phase = PhasePlane(g)
        left = ((g.kW - 1) * g.dilW + g.strideW - 1) / g.strideW
        width = left + max(g.outW, phase.phaseWidth) + 16
        slots = powerOfTwo(atLeast: (g.kH - 1) * g.dilH / g.strideH + 2)
    }
    var count: Int { slots * width + phase.rowLength + 8 }
}

/// Strided gather: padded input-gradient column c = j·s + q receives, from each tap kx with
/// kx·d ≡ q (mod s), w · dy[j + (q − kx·d)/s]: contiguous in j, so 8 columns of one phase are one
/// SIMD8 load per tap. Rows: padded row r takes dy row (r − ky·d)/s for the taps that divide. Each
/// phase of a dx row is summed over its rows and taps in registers (32 columns, 4 accumulators),
/// then stored once and interleaved into dx.
func depthwiseBackwardStrided(
    _ g: ConvGeometry, dy: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    dx: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
    dyMask: ClipMask?, store: GradientStore
) {
    let taps = g.kH * g.kW, sp = StridedGradientPlane(g), pp = sp.phase, s = g.strideW
    // For each phase q, tapStart[q]..<tapStart[q+1] index the taps feeding it: kx and the dy column
    // offset e = (q − kx·d)/s (exact).
    var tapKx = [Int](), tapE = [Int](), tapStart = [0]
    for q in 0..<s {
        for kx in 0..<g.kW where ((q - kx * g.dilW) % s + s) % s == 0 {
            tapKx.append(kx); tapE.append((q - kx * g.dilW) / s)
        }
        tapStart.append(tapKx.count)
    }
    // Phase q holds dx in its first `vectorEnds[q]` columns (padded columns j·s + q < padLeft + inW):
    // only those are summed. Vectors may run up to 7 lanes past them when dy is zero there (dy's
    // reach, left + outW, is at least 8 short of the phase width when left ≤ 8): they store into the
    // phase's unused columns or the 8 slack floats after the row, so there is no scalar tail.
    let needs = (0..<s).map { (g.padLeft + g.inW - $0 + s - 1) / s }
    let vectorEnds = needs.map { sp.left <= 8 ? ($0 + 7) & ~7 : $0 & ~7 }
    let mlo = dyMask?.lo ?? 0, mhi = dyMask?.hi ?? 0
    let kyDiv = (0..<g.kH).map { $0 * g.dilH / g.strideH }, kyMod = (0..<g.kH).map { $0 * g.dilH % g.strideH }
    tapKx.withUnsafeBufferPointer { tapKx in
        tapE.withUnsafeBufferPointer { tapE in
            tapStart.withUnsafeBufferPointer { tapStart in
                kyDiv.withUnsafeBufferPointer { kyDiv in
                    kyMod.withUnsafeBufferPointer { kyMod in
                        zeroTaskScratch(scratch, g, count: sp.slots * sp.width)  // padding columns stay zero (only dy's columns are written)
                        needs.withUnsafeBufferPointer { needs in
                            vectorEnds.withUnsafeBufferPointer { vectorEnds in
                                parallelFor(g.batch * g.inC) { task, p in
                                    let c = p % g.inC
                                    let d = dy + p * g.outPlane, dst = dx + p * g.inPlane, w = weight + c * taps
                                    let base = scratch + task * depthwiseTaskScratch(g)
                                    let acc = base + sp.slots * sp.width  // one phase-split padded row
                                    let dm = dyMask.map { $0.values + p * g.outPlane }
                                    var filled = -1
                                    // r = iy + padTop = rq·s + rm, kept without dividing per row (a 14-wide row's taps cost less
                                    // than a few integer divisions).
                                    var rq = g.padTop / g.strideH, rm = g.padTop % g.strideH
                                    withUnsafeTemporaryAllocation(of: (row: UnsafePointer<Float>, w: UnsafePointer<Float>).self, capacity: g.kH) {
                                        rows in
                                        for iy in 0..<g.inH {
                                            if iy > 0 { rm += 1; if rm == g.strideH { rm = 0; rq += 1 } }
                                            // dy rows t = (r − ky·d)/s ≤ r/s: bring them into the ring in order.
                                            while filled < min(rq, g.outH - 1) {
                                                filled += 1
                                                let row = base + (filled & (sp.slots - 1)) * sp.width
                                                copyMasked(
                                                    d + filled * g.outW, dm.map { $0 + filled * g.outW }, lo: mlo, hi: mhi, count: g.outW,
                                                    into: row + sp.left)
                                            }
                                            // The dy rows feeding this dx row, with their kernel rows.
                                            var n = 0
                                            for ky in 0..<g.kH {
                                                // ky·d = kq·s + km: r − ky·d is a multiple of s when rm == km, and then t = rq − kq.
                                                let km = kyMod[ky], t = rq - kyDiv[ky]
                                                if rm != km || t < 0 || t >= g.outH { continue }
                                                rows[n] = (UnsafePointer(base + (t & (sp.slots - 1)) * sp.width + sp.left), w + ky * g.kW)
                                                n += 1
                                            }
                                            for q in 0..<s {
                                                let out = acc + q * pp.phaseWidth, t0 = tapStart[q], t1 = tapStart[q + 1], vectorEnd = vectorEnds[q]
                                                var j = 0
                                                // 32 columns at a time in 4 independent accumulators; a last group of 1–3 vectors repeats
                                                // its last vector in the spare accumulators (stored twice, same values) rather than
                                                // running one latency-bound chain per vector.
                                                while j < vectorEnd {
                                                    let last = vectorEnd - 8, o1 = min(j + 8, last), o2 = min(j + 16, last), o3 = min(j + 24, last)
                                                    var a0 = SIMD8<Float>(), a1 = a0, a2 = a0, a3 = a0
                                                    for i in 0..<n {
                                                        let (row, wr) = rows[i]
                                                        for t in t0..<t1 {
                                                            let wv = SIMD8<Float>(repeating: wr[tapKx[t]]), src = row + tapE[t]
                                                            a0 = fma8(a0, wv, load8(src + j)); a1 = fma8(a1, wv, load8(src + o1));
                                                            a2 = fma8(a2, wv, load8(src + o2)); a3 = fma8(a3, wv, load8(src + o3))
                                                        }
                                                    }
                                                    store8(a0, out + j); store8(a1, out + o1); store8(a2, out + o2); store8(a3, out + o3)
                                                    j += 32
                                                }
                                                j = vectorEnd
                                                while j < needs[q] {
                                                    var a: Float = 0
                                                    for i in 0..<n {
                                                        let (row, wr) = rows[i]
                                                        for t in t0..<t1 { a += wr[tapKx[t]] * row[tapE[t] + j] }
                                                    }
                                                    out[j] = a
                                                    j += 1
                                                }
                                            }
                                            emitPhaseRow(
                                                pp, acc, count: g.inW, padLeft: g.padLeft, into: dst + iy * g.inW,
                                                mask: store.mask.map { $0.values + p * g.inPlane + iy * g.inW }, lo: store.mask?.lo ?? 0,
                                                hi: store.mask?.hi ?? 0, accumulate: store.accumulate)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

import Foundation
