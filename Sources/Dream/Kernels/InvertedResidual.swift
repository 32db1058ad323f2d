import Foundation

/// One conv step's operands as a kernel sees them.
struct ConvLayer {
    let g: ConvGeometry
    let weight: UnsafePointer<Float>
    let bias: UnsafePointer<Float>?
    let clip: (lo: Float, hi: Float)?
}

/// The forward pass of an inverted-residual block (MobileNetV2 / EfficientNet-Lite) — expand (1x1
/// conv + ReLU6, absent in EfficientNet's first block) → depthwise conv + ReLU6 → project (1x1 conv)
/// [+ the block's input] — fused by bands of output rows, so the wide expanded tensor E and the
/// depthwise output D are used while they are in cache instead of going to memory and back:
///   each core walks a stripe of output rows, band by band: the expand sgemm (single-threaded
///   OpenBLAS) writes the E rows the band's depthwise windows need into the core's window (rows the
///   previous band computed are kept: shifted to the window's top), bias and clamp in cache; the
///   depthwise conv reads the window (`DepthwiseRows`); the project sgemm reads the band of D into
///   C prefilled with bias (+ residual).
/// E and D are written to their tensors only when something needs them (the backward pass's masks,
/// or a caller asking for them); a forward pass alone never writes them. Stripes share the E rows at
/// their edges: each computes them (a few rows per stripe) and only the stripe that owns a row
/// writes it out. At 1280x720 the first block's E is 88 MB.
/// Small planes (E of at most `channelSplitLimit` floats) split channels instead: no E row is
/// computed twice, and E and D stay in cache whole.
/// Measured (reverie-bench medians over 5 alternating rounds, fused vs `fusesInvertedResiduals =
/// false` in the same binary): forward 0.84x at 224x224, 0.78x at 512x512, 0.75x at 1280x720.
/// The oracle is the kernels run one after another (KernelTests).
struct InvertedResidual {
    /// nil: the block has no expand conv (EfficientNet's first block); the depthwise conv reads x.
    let expand: ConvLayer?
    let depthwise: ConvLayer, project: ConvLayer

    /// Small planes split channels instead of rows (no E rows computed twice; see `init`): E and D
    /// whole, in scratch unless kept, one pass for expand + depthwise and one for project.
    let splitsChannels: Bool
    /// Row split: output rows per stripe and band, and scratch per core (floats).
    let stripes: Int, bandRows: Int, windowRows: Int, workerFloats: Int

    /// Whether the convs chain as a block this kernel runs (shapes and padding), for batch 1.
    static func fits(_ e: ConvGeometry?, _ d: ConvGeometry, _ p: ConvGeometry) -> Bool {
        if let e {
            guard e.batch == 1, e.isPointwise, e.groups == 1, e.outC == d.inC, e.inH == d.inH, e.inW == d.inW else { return false }
        }
        guard d.batch == 1, d.isDepthwise, p.isPointwise, p.groups == 1, d.outC == p.inC, d.outH == p.inH, d.outW == p.inW,
            d.outH > 0, d.outW > 0
        else { return false }
        let span = (d.kH - 1) * d.dilH + 1
        // Every E row is read by some output row (the last window reaches the last row), and a stripe
        // starting at output row a computes E rows from a·s − padTop up, covering the rows it owns.
        return (d.outH - 1) * d.strideH - d.padTop + span >= d.inH && d.padTop <= span - d.strideH && d.padTop >= 0
    }

    /// Why ~2 MB a core: the window and D band of a 1280x720 block stay in L2 + its share of L3.
    static let workerBudget = 1 << 19

    /// Why 2^20 floats: E and D of a channel-split block (4 MB each at most) stay in L3 between passes.
    static let channelSplitLimit = 1 << 20

    /// `budget`: floats of window + D band a core aims for; `channelSplitLimit`: the largest E (floats)
    /// that splits channels (tests move both to force a strategy).
    init(
        expand: ConvLayer?, depthwise: ConvLayer, project: ConvLayer, budget: Int = InvertedResidual.workerBudget,
        channelSplitLimit: Int = InvertedResidual.channelSplitLimit
    ) {
        self.expand = expand; self.depthwise = depthwise; self.project = project
        let d = depthwise.g, span = (d.kH - 1) * d.dilH + 1, ce = d.inC
        splitsChannels = ce * d.inPlane <= channelSplitLimit
        // Stripes: 4 (a slower core takes fewer) where the E rows computed twice at their edges
        // (span − stride per edge) stay under 6 % of E, else 2 (both cores), or 1 for a single row.
        let halo = max(span - d.strideH, 0)
        stripes = d.outH < 2 ? 1 : d.outH >= 32 && 3 * halo * 50 <= 3 * d.inH ? 4 : 2
        let stripeRows = (d.outH + stripes - 1) / stripes
        // Floats per channel per output row: the window's new input rows (if any) and the D row.
        let windowed = expand != nil
        let perRow = (windowed ? d.strideH * d.inW : 0) + d.outW
        bandRows = max(1, min(stripeRows, (budget / ce - (windowed ? max(span - d.strideH, 0) * d.inW : 0)) / perRow))
        windowRows = windowed ? (bandRows - 1) * d.strideH + span : 0
        workerFloats = ce * windowRows * d.inW + ce * bandRows * d.outW + DepthwiseRows.ringCount(d)
    }

    var scratchCount: Int {
        let d = depthwise.g
        return splitsChannels
            ? d.inC * ((expand == nil ? 0 : d.inPlane) + d.outPlane) + Parallel.tasks * DepthwiseRows.ringCount(d)
            : Parallel.tasks * workerFloats
    }

    func stripeRows(_ i: Int) -> Range<Int> {
        let n = depthwise.g.outH
        return (i * n / stripes)..<((i + 1) * n / stripes)
    }

    /// y = project(depthwise(expand(x))) (+ `residual`, a tensor shaped like y, when given); E and D
    /// are written to `e` and `d` when given.
    func forward(
        x: UnsafePointer<Float>, e keepE: UnsafeMutablePointer<Float>?, d keepD: UnsafeMutablePointer<Float>?,
        y: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>? = nil, scratch: UnsafeMutablePointer<Float>
    ) {
        if splitsChannels {
            forwardByChannels(x: x, e: keepE, d: keepD, y: y, residual: residual, scratch: scratch)
            return
        }
        let dg = depthwise.g, h = dg.inH, w = dg.inW, ho = dg.outH, wo = dg.outW, s = dg.strideH
        let ce = dg.inC, cout = project.g.outC
        let span = (dg.kH - 1) * dg.dilH + 1
        let windowStride = windowRows * w, bandStride = bandRows * wo
        BLASThreads.singleThreaded {
            parallelFor(stripes) { worker, stripe in
                let window = scratch + worker * workerFloats
                let band = window + ce * windowStride, ring = band + ce * bandStride
                let dw = DepthwiseRows(
                    dg, weight: depthwise.weight, bias: depthwise.bias, clip: depthwise.clip,
                    ring: ring, zeroRing: true)
                let rows = stripeRows(stripe)
                // E rows this stripe writes out: from its first output row's first input row (the
                // stripe above owns those before it) to the next stripe's.
                let ownLo = stripe == 0 ? 0 : rows.lowerBound * s
                let ownHi = stripe == stripes - 1 ? h : rows.upperBound * s
                var have = 0..<0  // E rows in the window; window row 0 holds E row have.lowerBound
                var r0 = rows.lowerBound
                while r0 < rows.upperBound {
                    let r1 = min(rows.upperBound, r0 + bandRows)
                    let need = max(0, r0 * s - dg.padTop)..<min(h, (r1 - 1) * s - dg.padTop + span)
                    // Keep the rows the previous band computed that this band still reads.
                    let kept = max(0, have.upperBound - need.lowerBound)
                    if kept > 0 && need.lowerBound > have.lowerBound {
                        let shift = (need.lowerBound - have.lowerBound) * w
                        for c in 0..<ce {
                            let rowBase = window + c * windowStride
                            rowBase.update(from: rowBase + shift, count: kept * w)
                        }
                    }
                    let first = need.lowerBound + kept, count = need.upperBound - first
                    if let expand, count > 0 {
                        let at = window + kept * w
                        expandRows(
                            expand, channels: 0..<ce, x: x + first * w, ldx: h * w, into: at, ldw: windowStride,
                            columns: count * w)
                        if let keepE {
                            let lo = max(first, ownLo), hi = min(need.upperBound, ownHi)
                            if lo < hi {
                                for c in 0..<ce {
                                    (keepE + c * h * w + lo * w).update(from: at + c * windowStride + (lo - first) * w, count: (hi - lo) * w)
                                }
                            }
                        }
                    }
                    have = need
                    // Depthwise: window row i is E row need.lowerBound + i (without an expand: x itself).
                    for c in 0..<ce {
                        let src = expand == nil ? x + c * h * w : UnsafePointer(window + c * windowStride) - need.lowerBound * w
                        let dst = keepD.map { $0 + c * ho * wo } ?? (band + c * bandStride - r0 * wo)
                        dw.run(channel: c, input: src, output: dst, rows: r0..<r1)
                    }
                    // Project the band of D into rows r0..<r1 of y.
                    let dAt = keepD.map { UnsafePointer($0 + r0 * wo) } ?? UnsafePointer(band)
                    projectColumns(
                        d: dAt, ldd: keepD == nil ? bandStride : ho * wo, outputs: 0..<cout, from: r0 * wo,
                        count: (r1 - r0) * wo, y: y, residual: residual)
                    r0 = r1
                }
            }
        }
    }

    /// Channel split: each core takes chunks of E's channels (expand sgemm over the whole plane, then
    /// their depthwise planes), then chunks of y's channels (project over all of D).
    private func forwardByChannels(
        x: UnsafePointer<Float>, e keepE: UnsafeMutablePointer<Float>?,
        d keepD: UnsafeMutablePointer<Float>?, y: UnsafeMutablePointer<Float>,
        residual: UnsafePointer<Float>?, scratch: UnsafeMutablePointer<Float>
    ) {
        let dg = depthwise.g, plane = dg.inPlane, outPlane = dg.outPlane, ce = dg.inC, cout = project.g.outC
        let e = expand == nil ? nil : (keepE ?? scratch)
        let d = keepD ?? (scratch + (keepE == nil && expand != nil ? ce * plane : 0))
        let rings = scratch + ce * ((expand == nil ? 0 : plane) + outPlane)
        // Chunks of 8 channels or more, ~4 per core, so a slower core takes fewer.
        let chunk = max(8, (ce + 7) / 8), chunks = (ce + chunk - 1) / chunk
        BLASThreads.singleThreaded {
            parallelFor(chunks) { worker, i in
                let c0 = i * chunk, c1 = min(ce, c0 + chunk)
                if let expand, let e {
                    expandRows(expand, channels: c0..<c1, x: x, ldx: plane, into: e + c0 * plane, ldw: plane, columns: plane)
                }
                let dw = DepthwiseRows(
                    dg, weight: depthwise.weight, bias: depthwise.bias, clip: depthwise.clip,
                    ring: rings + worker * DepthwiseRows.ringCount(dg), zeroRing: true)
                let src = e.map { UnsafePointer($0) } ?? x
                for c in c0..<c1 { dw.run(channel: c, input: src + c * plane, output: d + c * outPlane, rows: 0..<dg.outH) }
            }
        }
        // The project by column ranges, all outputs each: a range of rows of W_p would make every
        // call pack all of D (OpenBLAS packs its wide operand per call); 4 ranges so a slower core takes fewer.
        let columns = ((outPlane + 3) / 4 + 15) & ~15, ranges = (outPlane + columns - 1) / columns
        BLASThreads.singleThreaded {
            parallelFor(ranges) { _, i in
                let j0 = i * columns
                projectColumns(
                    d: d + j0, ldd: outPlane, outputs: 0..<cout, from: j0, count: min(columns, outPlane - j0), y: y,
                    residual: residual)
            }
        }
    }

    /// y[o, from..<from+count] = W_p[o]·D (+ bias, + residual) for o in `outputs`; D's first column is
    /// y's column `from`, its channels `ldd` apart.
    private func projectColumns(
        d: UnsafePointer<Float>, ldd: Int, outputs: Range<Int>, from: Int, count: Int,
        y: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?
    ) {
        let plane = depthwise.g.outPlane, ce = depthwise.g.inC, yAt = y + outputs.lowerBound * plane + from
        // C starts as bias (+ the residual): one pass, in cache for the sgemm.
        if project.bias != nil || residual != nil {
            for o in outputs {
                let row = y + o * plane + from, b = project.bias?[o] ?? 0
                if let residual { addScalar(residual + o * plane + from, b, into: row, count: count) } else { row.update(repeating: b, count: count) }
            }
        }
        gemm(
            transA: false, transB: false, m: outputs.count, n: count, k: ce, a: project.weight + outputs.lowerBound * ce, lda: ce,
            b: d, ldb: ldd, beta: project.bias == nil && residual == nil ? 0 : 1, c: yAt, ldc: plane)
        if let clip = project.clip {
            for o in outputs { clamp(y + o * plane + from, y + o * plane + from, count: count, lo: clip.lo, hi: clip.hi) }
        }
    }

    /// y[i] = x[i] + b.
    @inline(__always) private func addScalar(_ x: UnsafePointer<Float>, _ b: Float, into y: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        let bv = SIMD8<Float>(repeating: b)
        while i + 8 <= count {
            UnsafeMutableRawPointer(y + i).storeBytes(
                of: UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self) + bv,
                as: SIMD8<Float>.self)
            i += 8
        }
        while i < count { y[i] = x[i] + b; i += 1 }
    }

    /// E = clamp(W_e·X + b_e) for E's `channels`, `columns` wide (X's rows `ldx` apart), into rows of
    /// stride `ldw` starting at `out` (the first of those channels).
    private func expandRows(
        _ expand: ConvLayer, channels: Range<Int>, x: UnsafePointer<Float>, ldx: Int,
        into out: UnsafeMutablePointer<Float>, ldw: Int, columns: Int
    ) {
        let cin = expand.g.inC
        if let bias = expand.bias {
            for (i, c) in channels.enumerated() { (out + i * ldw).update(repeating: bias[c], count: columns) }
        }
        gemm(
            transA: false, transB: false, m: channels.count, n: columns, k: cin, a: expand.weight + channels.lowerBound * cin,
            lda: cin, b: x, ldb: ldx, beta: expand.bias == nil ? 0 : 1, c: out, ldc: ldw)
        if let clip = expand.clip {
            for i in 0..<channels.count { clamp(out + i * ldw, out + i * ldw, count: columns, lo: clip.lo, hi: clip.hi) }
        }
    }
}
