/// Depthwise convolution (groups = C = O), NCHW, weights (C, 1, kh, kw), optional bias (C).
///   forward:  y (N, C, outH, outW)      backward: dx (N, C, H, W) = or += Σ taps w·dy
/// Input rows stream through a small per-task ring of zero-padded rows split by column phase
/// (column c goes to phase c % strideW, index c / strideW), so every tap of a strided conv reads
/// contiguous memory, the inner loops need no bounds checks, and each row is read from memory once
/// and then from L1 by all its taps. 8 outputs accumulate in a SIMD8 register over all kh·kw taps,
/// four registers at a time (32 columns, or 8 columns of 4 rows for narrow planes). Planes run in
/// parallel on both cores, each task with its own ring. The backward pass reads dy through the
/// same kind of ring, masked by the conv's fused ReLU6, and stores or adds dx (see `GradientStore`).
/// The oracle is `conv2dNaive` / `conv2dBackwardNaive` (Conv2D.swift).

/// Output rows computed together where a row has fewer than 32 outputs left (independent FMA chains).
let depthwiseRowBlock = 4

/// Floats of scratch the depthwise kernels need for geometry `g`.
func depthwiseScratchCount(_ g: ConvGeometry) -> Int { Parallel.tasks * depthwiseTaskScratch(g) }

/// Floats of scratch one task uses: the forward ring or the backward pass's, whichever is larger
/// (only the scatter fallback needs a whole padded plane).
func depthwiseTaskScratch(_ g: ConvGeometry) -> Int {
    let backward: Int
    switch DepthwiseBackwardPath(g) {
    case .stride1: backward = GradientRing(g).count
    case .strided: backward = StridedGradientPlane(g).count
    case .scatter: backward = PhasePlane(g).count + g.outW + 8
    }
    return max(RowRing(g).count, backward)
}

/// Zeroes the first `count` floats of every task's part of `scratch` (before a region whose items
/// only write a ring's data columns: its padding must start zero, whichever task takes an item first).
func zeroTaskScratch(_ scratch: UnsafeMutablePointer<Float>, _ g: ConvGeometry, count: Int) {
    let stride = depthwiseTaskScratch(g)
    for t in 0..<Parallel.tasks { zeroFloats(scratch + t * stride, count) }
}

func depthwiseConv2d(
    _ g: ConvGeometry, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
    clip: (lo: Float, hi: Float)? = nil
) {
    zeroTaskScratch(scratch, g, count: RowRing(g).count)  // the rings' padding columns start zero
    parallelFor(g.batch * g.inC) { task, p in
        let kernel = DepthwiseRows(
            g, weight: weight, bias: bias, clip: clip,
            ring: scratch + task * depthwiseTaskScratch(g), zeroRing: false)
        kernel.run(channel: p % g.inC, input: x + p * g.inPlane, output: y + p * g.outPlane, rows: 0..<g.outH)
    }
}

/// The depthwise forward for one core: output rows of one plane at a time, through a ring of
/// `DepthwiseRows.ringCount(g)` floats the caller owns (its padding columns must start zero: pass
/// `zeroRing` for a ring's first use). Used whole-plane by `depthwiseConv2d` and band by band by the
/// fused inverted-residual block (InvertedResidual.swift).
struct DepthwiseRows {
    let g: ConvGeometry
    let weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?
    let lo: Float, hi: Float, hasClip: Bool
    private let ring: RowRing, ringBase: UnsafeMutablePointer<Float>

    static func ringCount(_ g: ConvGeometry) -> Int { RowRing(g).count }

    init(
        _ g: ConvGeometry, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, clip: (lo: Float, hi: Float)?,
        ring ringBase: UnsafeMutablePointer<Float>, zeroRing: Bool
    ) {
        self.g = g; self.weight = weight; self.bias = bias
        // A fused Clip (ReLU6) clamps as outputs are stored; ±∞ when there is none.
        lo = clip?.lo ?? -.infinity; hi = clip?.hi ?? .infinity; hasClip = clip != nil
        ring = RowRing(g); self.ringBase = ringBase
        if zeroRing { zeroFloats(ringBase, ring.count) }
    }

    /// Output rows `rows` of channel `c`: input row iy is read at `input + iy·inW` (only the rows those
    /// outputs' windows cover), output row oy is written at `output + oy·outW`.
    func run(channel c: Int, input src: UnsafePointer<Float>, output dst: UnsafeMutablePointer<Float>, rows: Range<Int>) {
        let g = self.g, taps = g.kH * g.kW, ring = self.ring, pp = ring.layout, ringBase = self.ringBase
        let lo = self.lo, hi = self.hi, hasClip = self.hasClip
        let vlo = SIMD8<Float>(repeating: lo), vhi = SIMD8<Float>(repeating: hi)
        let span = RowRing.span(g), w = weight + c * taps
        let b = bias?[c] ?? 0, bv = SIMD8<Float>(repeating: b)
        var filled = rows.lowerBound * g.strideH - 1
        // Offset of tap kx within a row, relative to output column ox's index: phase start + (kx·d)/s.
        withUnsafeTemporaryAllocation(of: Int.self, capacity: g.kW) { offs in
            for kx in 0..<g.kW { offs[kx] = pp.column(kx * g.dilW) }
            withUnsafeTemporaryAllocation(of: UnsafePointer<Float>.self, capacity: span) { rowPtrs in
                @inline(__always) func clamp(_ v: SIMD8<Float>) -> SIMD8<Float> {
                    hasClip ? v.replacing(with: vlo, where: v .< vlo).replacing(with: vhi, where: v .> vhi) : v
                }
                var oy = rows.lowerBound
                let end = rows.upperBound
                while oy < end {
                    // A block of up to `depthwiseRowBlock` output rows; rows[j] is padded row oy·s + j.
                    let block = min(depthwiseRowBlock, end - oy), first = oy * g.strideH
                    let last = first + (block - 1) * g.strideH + (g.kH - 1) * g.dilH
                    while filled < last { filled += 1; ring.fill(ringBase, filled, plane: src, g) }
                    ringRows(rowPtrs, ringBase, first: first, step: 1, count: last - first + 1, slots: ring.slots, length: pp.rowLength)
                    let rows = rowPtrs
                    let done = g.outW >= 8 ? g.outW & ~31 : 0
                    for r in 0..<block {
                        let out = dst + (oy + r) * g.outW, rowBase = r * g.strideH
                        var ox = 0
                        // 32 outputs at a time in 4 independent accumulators: one chain of kh·kw dependent FMAs
                        // per 8 outputs is latency-bound (4–5 cycles each); four chains keep the FMA units busy.
                        while ox + 32 <= g.outW {
                            var a0 = bv, a1 = bv, a2 = bv, a3 = bv
                            for ky in 0..<g.kH {
                                let row = rows[rowBase + ky * g.dilH] + ox, wr = w + ky * g.kW
                                for kx in 0..<g.kW {
                                    let wv = SIMD8<Float>(repeating: wr[kx]), q = row + offs[kx]
                                    a0 = fma8(a0, wv, load8(q)); a1 = fma8(a1, wv, load8(q + 8)); a2 = fma8(a2, wv, load8(q + 16));
                                    a3 = fma8(a3, wv, load8(q + 24))
                                }
                            }
                            store8(clamp(a0), out + ox); store8(clamp(a1), out + ox + 8); store8(clamp(a2), out + ox + 16);
                            store8(clamp(a3), out + ox + 24)
                            ox += 32
                        }
                        if g.outW < 8 {
                            while ox < g.outW {
                                var acc = b
                                for ky in 0..<g.kH {
                                    let row = rows[rowBase + ky * g.dilH] + ox
                                    for kx in 0..<g.kW { acc += w[ky * g.kW + kx] * row[offs[kx]] }
                                }
                                out[ox] = min(max(acc, lo), hi)
                                ox += 1
                            }
                        }
                    }
                    // The columns left after the 32-wide passes, as 8-wide vectors (the last one moved back to
                    // end at outW: overlapped outputs are recomputed identically), four at a time in
                    // independent chains: across a full block's 4 rows, or, in a shorter block (a plane's last
                    // rows, the fused block's 2-row bands), over all its (row, vector) items in turn, so
                    // it too keeps the FMA units busy instead of one latency-bound chain per vector.
                    if block == depthwiseRowBlock && done < g.outW && g.outW >= 8 {
                        // A full block: one vector of each of its 4 rows per group (no bookkeeping per item).
                        var ox = done
                        let s = g.strideH
                        while ox < g.outW {
                            if ox + 8 > g.outW { ox = g.outW - 8 }
                            var a0 = bv, a1 = bv, a2 = bv, a3 = bv
                            for ky in 0..<g.kH {
                                let j = ky * g.dilH, wr = w + ky * g.kW
                                let r0 = rows[j] + ox, r1 = rows[j + s] + ox, r2 = rows[j + 2 * s] + ox, r3 = rows[j + 3 * s] + ox
                                for kx in 0..<g.kW {
                                    let wv = SIMD8<Float>(repeating: wr[kx]), o = offs[kx]
                                    a0 = fma8(a0, wv, load8(r0 + o)); a1 = fma8(a1, wv, load8(r1 + o)); a2 = fma8(a2, wv, load8(r2 + o));
                                    a3 = fma8(a3, wv, load8(r3 + o))
                                }
                            }
                            let out = dst + oy * g.outW + ox
                            store8(clamp(a0), out); store8(clamp(a1), out + g.outW); store8(clamp(a2), out + 2 * g.outW);
                            store8(clamp(a3), out + 3 * g.outW)
                            ox += 8
                        }
                    } else if done < g.outW && g.outW >= 8 {
                        var items = LeftoverVectors(rows: block, from: done, width: g.outW)
                        while items.remaining > 0 {
                            // Spare chains of a last group repeat its first item (stored again, same values).
                            let n = min(4, items.remaining), i0 = items.next()
                            let i1 = n > 1 ? items.next() : i0, i2 = n > 2 ? items.next() : i0, i3 = n > 3 ? items.next() : i0
                            var a0 = bv, a1 = bv, a2 = bv, a3 = bv
                            for ky in 0..<g.kH {
                                let j = ky * g.dilH, wr = w + ky * g.kW
                                let r0 = rows[i0.row * g.strideH + j] + i0.col, r1 = rows[i1.row * g.strideH + j] + i1.col
                                let r2 = rows[i2.row * g.strideH + j] + i2.col, r3 = rows[i3.row * g.strideH + j] + i3.col
                                for kx in 0..<g.kW {
                                    let wv = SIMD8<Float>(repeating: wr[kx]), o = offs[kx]
                                    a0 = fma8(a0, wv, load8(r0 + o)); a1 = fma8(a1, wv, load8(r1 + o)); a2 = fma8(a2, wv, load8(r2 + o));
                                    a3 = fma8(a3, wv, load8(r3 + o))
                                }
                            }
                            store8(clamp(a0), dst + (oy + i0.row) * g.outW + i0.col); store8(clamp(a1), dst + (oy + i1.row) * g.outW + i1.col)
                            store8(clamp(a2), dst + (oy + i2.row) * g.outW + i2.col); store8(clamp(a3), dst + (oy + i3.row) * g.outW + i3.col)
                        }
                    }
                    oy += block
                }
            }
        }
    }
}
