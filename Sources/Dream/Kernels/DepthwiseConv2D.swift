/// Depthwise convolution (groups = C = O), NCHW, weights (C, 1, kh, kw), optional bias (C).
///   forward:  y (N, C, outH, outW)      backward: dx (N, C, H, W) += Σ taps w·dy
/// Each (batch, channel) plane is copied into a zero-padded scratch plane split by column phase
/// (column c goes to phase c % strideW, index c / strideW), so every tap of a strided conv reads
/// contiguous memory and the inner loops need no bounds checks: 8 outputs accumulate in a SIMD8
/// register over all kh·kw taps. Planes run in parallel on both cores, each task with its own
/// scratch. The oracle is `conv2dNaive` / `conv2dBackwardNaive` (Conv2D.swift).

/// Tasks per kernel call: more than the 2 cores so uneven planes balance.
let depthwiseTasks = 8

/// Phase-split padded plane: `rows` rows of `strideW` phases, each `phaseWidth` long (+8 slack so a
/// SIMD8 load at the last output stays inside).
private struct PhasePlane {
    let rows: Int, phases: Int, phaseWidth: Int
    init(_ g: ConvGeometry) {
        rows = g.inH + g.padTop + g.padBottom
        phases = g.strideW
        phaseWidth = (g.inW + g.padLeft + g.padRight + g.strideW - 1) / g.strideW + 8
    }
    var rowLength: Int { phases * phaseWidth }
    var count: Int { rows * rowLength }
    /// Offset of padded column `c` within a row.
    @inline(__always) func column(_ c: Int) -> Int { (c % phases) * phaseWidth + c / phases }

    /// Writes `count` values into padded columns padLeft..<padLeft+count of a row (no divisions).
    @inline(__always) func scatterRow(_ from: UnsafePointer<Float>, count: Int, padLeft: Int, into row: UnsafeMutablePointer<Float>) {
        if phases == 1 { (row + padLeft).update(from: from, count: count); return }
        for q in 0..<phases {
            // Columns c ≡ q (mod phases), c in [padLeft, padLeft + count).
            var c = padLeft + ((q - padLeft % phases) + phases) % phases
            var dst = row + q * phaseWidth + c / phases
            while c < padLeft + count { dst.pointee = from[c - padLeft]; dst += 1; c += phases }
        }
    }

    /// Adds padded columns padLeft..<padLeft+count of a row into `to`.
    @inline(__always) func gatherRowAdding(_ row: UnsafePointer<Float>, count: Int, padLeft: Int, into to: UnsafeMutablePointer<Float>) {
        if phases == 1 { let src = row + padLeft; for i in 0..<count { to[i] += src[i] }; return }
        for q in 0..<phases {
            var c = padLeft + ((q - padLeft % phases) + phases) % phases
            var src = row + q * phaseWidth + c / phases
            while c < padLeft + count { to[c - padLeft] += src.pointee; src += 1; c += phases }
        }
    }
}

/// Floats of scratch the depthwise kernels need for geometry `g`.
func depthwiseScratchCount(_ g: ConvGeometry) -> Int {
    depthwiseTasks * max(PhasePlane(g).count, GradientPlane(g).count, StridedGradientPlane(g).count)
}

/// Strided backward: dy rows with `left` zeros before and slack after, plus one phase-split row
/// of the padded input gradient.
private struct StridedGradientPlane {
    let left: Int, width: Int, rows: Int, phase: PhasePlane
    init(_ g: ConvGeometry) {
        phase = PhasePlane(g)
        left = ((g.kW - 1) * g.dilW + g.strideW - 1) / g.strideW
        width = left + max(g.outW, phase.phaseWidth) + 16
        rows = g.outH
    }
    var count: Int { rows * width + phase.rowLength + 8 }
}

/// Stride-1 backward: dy zero-padded by (k−1)·d on every side (+8 columns slack), so the input
/// gradient is a plain correlation of it with the flipped kernel.
private struct GradientPlane {
    let rows: Int, width: Int, top: Int, left: Int
    init(_ g: ConvGeometry) {
        top = (g.kH - 1) * g.dilH; left = (g.kW - 1) * g.dilW
        rows = g.outH + 2 * top
        width = g.outW + 2 * left + 8
    }
    var count: Int { rows * width }
}

/// Runs body(task, i) for i in 0..<count, `depthwiseTasks` tasks striding over i.
@inline(__always)
private func parallelTasks(_ count: Int, _ body: (Int, Int) -> Void) {
    DispatchQueue.concurrentPerform(iterations: min(depthwiseTasks, max(count, 1))) { t in
        var i = t
        while i < count { body(t, i); i += depthwiseTasks }
    }
}

@inline(__always) private func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

/// Lane indices 0...7, for masking the lanes of an overlapping last vector.
private let lanes = SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7)

@inline(__always) private func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}

/// a + b·c: one fused multiply-add when compiled with FMA (Package.swift), else mul + add
/// (`addingProduct` without FMA hardware is a libm call per lane).
@inline(__always) private func fma8(_ a: SIMD8<Float>, _ b: SIMD8<Float>, _ c: SIMD8<Float>) -> SIMD8<Float> {
    #if REVERIE_FMA
    return a.addingProduct(b, c)
    #else
    return a + b * c
    #endif
}

func depthwiseConv2d(_ g: ConvGeometry, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                     bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                     clip: (lo: Float, hi: Float)? = nil) {
    let taps = g.kH * g.kW, pp = PhasePlane(g)
    // A fused Clip (ReLU6) clamps as outputs are stored; ±∞ when there is none.
    let lo = clip?.lo ?? -.infinity, hi = clip?.hi ?? .infinity
    let vlo = SIMD8<Float>(repeating: lo), vhi = SIMD8<Float>(repeating: hi), hasClip = clip != nil
    // Offset of tap kx within a row, relative to output column ox's index: phase start + (kx·d)/s.
    let tapOffsets = (0..<g.kW).map { pp.column($0 * g.dilW) }
    parallelTasks(g.batch * g.inC) { task, p in
        let c = p % g.inC
        let src = x + p * g.inPlane, dst = y + p * g.outPlane, w = weight + c * taps
        let pad = scratch + task * pp.count
        // Zero each row just before filling it (it is then hot in L1), not the whole plane in a separate pass.
        for r in 0..<pp.rows {
            let row = pad + r * pp.rowLength
            row.update(repeating: 0, count: pp.rowLength)
            let iy = r - g.padTop
            if iy >= 0 && iy < g.inH { pp.scatterRow(src + iy * g.inW, count: g.inW, padLeft: g.padLeft, into: row) }
        }
        let b = bias?[c] ?? 0
        tapOffsets.withUnsafeBufferPointer { offs in
            for oy in 0..<g.outH {
                let top = UnsafePointer(pad + oy * g.strideH * pp.rowLength)
                let out = dst + oy * g.outW
                var ox = 0
                // 32 outputs at a time in 4 independent accumulators: one chain of kh·kw dependent FMAs
                // per 8 outputs is latency-bound (4–5 cycles each); four chains keep the FMA units busy.
                while ox + 32 <= g.outW {
                    let bv = SIMD8<Float>(repeating: b)
                    var a0 = bv, a1 = bv, a2 = bv, a3 = bv
                    for ky in 0..<g.kH {
                        let row = top + ky * g.dilH * pp.rowLength + ox, wr = w + ky * g.kW
                        for kx in 0..<g.kW {
                            let wv = SIMD8<Float>(repeating: wr[kx]), q = row + offs[kx]
                            a0 = fma8(a0, wv, load8(q)); a1 = fma8(a1, wv, load8(q + 8)); a2 = fma8(a2, wv, load8(q + 16)); a3 = fma8(a3, wv, load8(q + 24))
                        }
                    }
                    if hasClip {
                        a0 = a0.replacing(with: vlo, where: a0 .< vlo).replacing(with: vhi, where: a0 .> vhi)
                        a1 = a1.replacing(with: vlo, where: a1 .< vlo).replacing(with: vhi, where: a1 .> vhi)
                        a2 = a2.replacing(with: vlo, where: a2 .< vlo).replacing(with: vhi, where: a2 .> vhi)
                        a3 = a3.replacing(with: vlo, where: a3 .< vlo).replacing(with: vhi, where: a3 .> vhi)
                    }
                    store8(a0, out + ox); store8(a1, out + ox + 8); store8(a2, out + ox + 16); store8(a3, out + ox + 24)
                    ox += 32
                }
                // 8 at a time; the last vector is moved back to end at outW (the overlapped outputs are
                // recomputed identically), so there is no scalar tail unless outW < 8.
                while ox < g.outW && g.outW >= 8 {
                    if ox + 8 > g.outW { ox = g.outW - 8 }
                    var acc = SIMD8<Float>(repeating: b)
                    if pp.phases == 1 {
                        // Unstrided: tap offsets are kx·d, no table lookup in the inner loop.
                        for ky in 0..<g.kH {
                            let row = top + ky * g.dilH * pp.rowLength + ox, wr = w + ky * g.kW
                            for kx in 0..<g.kW { acc = fma8(acc, SIMD8<Float>(repeating: wr[kx]), load8(row + kx * g.dilW)) }
                        }
                    } else {
                        for ky in 0..<g.kH {
                            let row = top + ky * g.dilH * pp.rowLength + ox, wr = w + ky * g.kW
                            for kx in 0..<g.kW { acc = fma8(acc, SIMD8<Float>(repeating: wr[kx]), load8(row + offs[kx])) }
                        }
                    }
                    if hasClip { acc = acc.replacing(with: vlo, where: acc .< vlo).replacing(with: vhi, where: acc .> vhi) }
                    store8(acc, out + ox)
                    ox += 8
                }
                while ox < g.outW {
                    var acc = b
                    for ky in 0..<g.kH {
                        let row = top + ky * g.dilH * pp.rowLength + ox
                        for kx in 0..<g.kW { acc += w[ky * g.kW + kx] * row[offs[kx]] }
                    }
                    out[ox] = min(max(acc, lo), hi)
                    ox += 1
                }
            }
        }
    }
}

/// Input gradient. Stride 1: gather form, dx[iy][ix] += Σ w[kh−1−a][kw−1−b] · dyPad[iy+pt+a·d][ix+pl+b·d]
/// (SIMD8 accumulators, one store per 8 outputs). Other strides: scatter w·dy into a zero phase-split padded plane (SIMD8 rows), then add its
/// interior into dx.
func depthwiseConv2dBackward(_ g: ConvGeometry, dy: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                             dx: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
    if g.strideW == 1 && g.strideH == 1 && g.padTop <= (g.kH - 1) * g.dilH && g.padLeft <= (g.kW - 1) * g.dilW {
        depthwiseBackwardStride1(g, dy: dy, weight: weight, dx: dx, scratch: scratch)
        return
    }
    if g.strideW > 1 {
        depthwiseBackwardStrided(g, dy: dy, weight: weight, dx: dx, scratch: scratch)
        return
    }
    let taps = g.kH * g.kW, pp = PhasePlane(g)
    let tapOffsets = (0..<g.kW).map { pp.column($0 * g.dilW) }
    parallelTasks(g.batch * g.inC) { task, p in
        let c = p % g.inC
        let d = dy + p * g.outPlane, dst = dx + p * g.inPlane, w = weight + c * taps
        let pad = scratch + task * pp.count
        pad.update(repeating: 0, count: pp.count)
        tapOffsets.withUnsafeBufferPointer { offs in
            for oy in 0..<g.outH {
                let top = pad + oy * g.strideH * pp.rowLength
                let grow = d + oy * g.outW
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
            pp.gatherRowAdding(pad + (r + g.padTop) * pp.rowLength, count: g.inW, padLeft: g.padLeft, into: dst + r * g.inW)
        }
    }
}

private func depthwiseBackwardStride1(_ g: ConvGeometry, dy: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                      dx: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
    let taps = g.kH * g.kW, gp = GradientPlane(g)
    // Row/column offset of flipped tap (a, b) from dyPad's origin for output (iy, ix) = (0, 0).
    let rowBase = g.padTop, colBase = g.padLeft
    parallelTasks(g.batch * g.inC) { task, p in
        let c = p % g.inC
        let d = dy + p * g.outPlane, dst = dx + p * g.inPlane, w = weight + c * taps
        let pad = scratch + task * gp.count
        for r in 0..<gp.rows {
            let row = pad + r * gp.width
            let oy = r - gp.top
            if oy >= 0 && oy < g.outH {
                row.update(repeating: 0, count: gp.left)
                (row + gp.left).update(from: d + oy * g.outW, count: g.outW)
                (row + gp.left + g.outW).update(repeating: 0, count: gp.width - gp.left - g.outW)
            } else {
                row.update(repeating: 0, count: gp.width)
            }
        }
        for iy in 0..<g.inH {
            let out = dst + iy * g.inW
            var ix = 0
            while ix + 32 <= g.inW {
                // Four independent accumulators (see the forward kernel).
                var a0 = SIMD8<Float>(), a1 = a0, a2 = a0, a3 = a0
                for a in 0..<g.kH {
                    let row = UnsafePointer(pad + (iy + rowBase + a * g.dilH) * gp.width + ix + colBase)
                    let wrow = w + (g.kH - 1 - a) * g.kW
                    for b in 0..<g.kW {
                        let wv = SIMD8<Float>(repeating: wrow[g.kW - 1 - b]), q = row + b * g.dilW
                        a0 = fma8(a0, wv, load8(q)); a1 = fma8(a1, wv, load8(q + 8)); a2 = fma8(a2, wv, load8(q + 16)); a3 = fma8(a3, wv, load8(q + 24))
                    }
                }
                store8(load8(out + ix) + a0, out + ix); store8(load8(out + ix + 8) + a1, out + ix + 8)
                store8(load8(out + ix + 16) + a2, out + ix + 16); store8(load8(out + ix + 24) + a3, out + ix + 24)
                ix += 32
            }
            while ix < g.inW && g.inW >= 8 {
                // The last vector ends at inW, overlapping done outputs: their lanes add zero.
                var done = 0
                if ix + 8 > g.inW { done = ix + 8 - g.inW; ix = g.inW - 8 }
                var acc = SIMD8<Float>()
                for a in 0..<g.kH {
                    let row = UnsafePointer(pad + (iy + rowBase + a * g.dilH) * gp.width + ix + colBase)
                    let wrow = w + (g.kH - 1 - a) * g.kW
                    for b in 0..<g.kW { acc = fma8(acc, SIMD8<Float>(repeating: wrow[g.kW - 1 - b]), load8(row + b * g.dilW)) }
                }
                if done > 0 { acc.replace(with: 0, where: lanes .< SIMD8<Int32>(repeating: Int32(done))) }
                store8(load8(out + ix) + acc, out + ix)
                ix += 8
            }
            while ix < g.inW {
                var acc: Float = 0
                for a in 0..<g.kH {
                    let row = pad + (iy + rowBase + a * g.dilH) * gp.width + ix + colBase
                    let wrow = w + (g.kH - 1 - a) * g.kW
                    for b in 0..<g.kW { acc += wrow[g.kW - 1 - b] * row[b * g.dilW] }
                }
                out[ix] += acc
                ix += 1
            }
        }
    }
}

/// Strided gather: padded input-gradient column c = j·s + q receives, from each tap kx with
/// kx·d ≡ q (mod s), w · dy[j + (q − kx·d)/s]: contiguous in j, so 8 columns of one phase are one
/// SIMD8 load per tap. Rows: padded row r takes dy row (r − ky·d)/s for the taps that divide.
private func depthwiseBackwardStrided(_ g: ConvGeometry, dy: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                      dx: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
    let taps = g.kH * g.kW, sp = StridedGradientPlane(g), pp = sp.phase, s = g.strideW
    // For each phase q: the taps feeding it and their dy column offsets e = (q − kx·d)/s (exact).
    var phaseTaps = [[(kx: Int, e: Int)]](repeating: [], count: s)
    for q in 0..<s {
        for kx in 0..<g.kW where ((q - kx * g.dilW) % s + s) % s == 0 {
            phaseTaps[q].append((kx, (q - kx * g.dilW) / s))
        }
    }
    // Vectors may run up to 7 lanes past a phase when dy is zero there (dy's reach, left + outW, is
    // at least 8 short of the phase width when left ≤ 8): they add w·0 into the next phase or the
    // 8 slack floats after the row, so there is no scalar tail.
    let vectorEnd = sp.left <= 8 ? pp.phaseWidth : pp.phaseWidth & ~7
    parallelTasks(g.batch * g.inC) { task, p in
        let c = p % g.inC
        let d = dy + p * g.outPlane, dst = dx + p * g.inPlane, w = weight + c * taps
        let base = scratch + task * sp.count
        let acc = base + sp.rows * sp.width   // one phase-split padded row
        for r in 0..<g.outH {
            let row = base + r * sp.width
            row.update(repeating: 0, count: sp.left)
            (row + sp.left).update(from: d + r * g.outW, count: g.outW)
            (row + sp.left + g.outW).update(repeating: 0, count: sp.width - sp.left - g.outW)
        }
        for iy in 0..<g.inH {
            let r = iy + g.padTop
            acc.update(repeating: 0, count: pp.rowLength)
            for ky in 0..<g.kH {
                let t = r - ky * g.dilH
                if t < 0 || t % g.strideH != 0 || t / g.strideH >= g.outH { continue }
                let dyRow = UnsafePointer(base + (t / g.strideH) * sp.width + sp.left)
                for q in 0..<s {
                    let out = acc + q * pp.phaseWidth
                    for (kx, e) in phaseTaps[q] {
                        let wv = w[ky * g.kW + kx], src = dyRow + e, wv8 = SIMD8<Float>(repeating: wv)
                        var j = 0
                        while j < vectorEnd { store8(fma8(load8(out + j), wv8, load8(src + j)), out + j); j += 8 }
                        while j < pp.phaseWidth { out[j] += wv * src[j]; j += 1 }
                    }
                }
            }
            pp.gatherRowAdding(acc, count: g.inW, padLeft: g.padLeft, into: dst + iy * g.inW)
        }
    }
}

import Foundation
