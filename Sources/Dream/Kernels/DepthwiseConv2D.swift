/// Depthwise convolution (groups = C = O), NCHW, weights (C, 1, kh, kw), optional bias (C).
///   forward:  y (N, C, outH, outW)      backward: dx (N, C, H, W) += Σ taps w·dy
/// Each (batch, channel) plane is copied into a zero-padded scratch plane, so the inner loops need
/// no bounds checks: 8 outputs accumulate in a SIMD8 register over all kh·kw taps (stride 2 loads
/// 16 and keeps the even lanes). Planes run in parallel on both cores, each task with its own
/// scratch plane. The `...Naive` oracle is `conv2dNaive` / `conv2dBackwardNaive` (Conv2D.swift).

/// Tasks per kernel call: more than the 2 cores so uneven planes balance.
let depthwiseTasks = 8

/// Padded plane geometry: rows, row length (+16 slack so SIMD16 loads near the right edge stay inside).
@inline(__always)
private func paddedPlane(_ g: ConvGeometry) -> (rows: Int, width: Int) {
    (g.inH + g.padTop + g.padBottom + 1, g.inW + g.padLeft + g.padRight + 16)
}

/// Floats of scratch the depthwise kernels need for geometry `g`.
func depthwiseScratchCount(_ g: ConvGeometry) -> Int {
    let p = paddedPlane(g)
    return depthwiseTasks * p.rows * p.width
}

/// Runs body(task, i) for i in 0..<count, `depthwiseTasks` tasks striding over i.
@inline(__always)
private func parallelTasks(_ count: Int, _ body: (Int, Int) -> Void) {
    DispatchQueue.concurrentPerform(iterations: min(depthwiseTasks, max(count, 1))) { t in
        var i = t
        while i < count { body(t, i); i += depthwiseTasks }
    }
}

@inline(__always)
private func load8(_ p: UnsafePointer<Float>, stride: Int) -> SIMD8<Float> {
    switch stride {
    case 1: return UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    case 2: return UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self).evenHalf
    default:
        var v = SIMD8<Float>()
        for l in 0..<8 { v[l] = p[l * stride] }
        return v
    }
}

func depthwiseConv2d(_ g: ConvGeometry, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                     bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
    let taps = g.kH * g.kW, pp = paddedPlane(g), s = g.strideW
    parallelTasks(g.batch * g.inC) { task, p in
        let c = p % g.inC
        let src = x + p * g.inPlane, dst = y + p * g.outPlane, w = weight + c * taps
        let pad = scratch + task * pp.rows * pp.width
        // Zero-padded copy of the input plane.
        pad.update(repeating: 0, count: pp.rows * pp.width)
        for r in 0..<g.inH { (pad + (r + g.padTop) * pp.width + g.padLeft).update(from: src + r * g.inW, count: g.inW) }
        let b = bias?[c] ?? 0
        for oy in 0..<g.outH {
            let top = pad + oy * g.strideH * pp.width
            let out = dst + oy * g.outW
            var ox = 0
            while ox + 8 <= g.outW {
                var acc = SIMD8<Float>(repeating: b)
                for ky in 0..<g.kH {
                    let row = UnsafePointer(top + ky * g.dilH * pp.width + ox * s)
                    for kx in 0..<g.kW {
                        acc.addProduct(SIMD8(repeating: w[ky * g.kW + kx]), load8(row + kx * g.dilW, stride: s))
                    }
                }
                UnsafeMutableRawPointer(out + ox).storeBytes(of: acc, as: SIMD8<Float>.self)
                ox += 8
            }
            while ox < g.outW {
                var acc = b
                for ky in 0..<g.kH {
                    let row = top + ky * g.dilH * pp.width + ox * s
                    for kx in 0..<g.kW { acc += w[ky * g.kW + kx] * row[kx * g.dilW] }
                }
                out[ox] = acc
                ox += 1
            }
        }
    }
}

/// Input gradient: scatter w·dy into a zero padded plane (SIMD8 rows for stride 1), then add its
/// interior into dx.
func depthwiseConv2dBackward(_ g: ConvGeometry, dy: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                             dx: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
    let taps = g.kH * g.kW, pp = paddedPlane(g), s = g.strideW
    parallelTasks(g.batch * g.inC) { task, p in
        let c = p % g.inC
        let d = dy + p * g.outPlane, dst = dx + p * g.inPlane, w = weight + c * taps
        let pad = scratch + task * pp.rows * pp.width
        pad.update(repeating: 0, count: pp.rows * pp.width)
        for oy in 0..<g.outH {
            let top = pad + oy * g.strideH * pp.width
            let grow = d + oy * g.outW
            var ox = 0
            if s == 1 {
                while ox + 8 <= g.outW {
                    let gv = UnsafeRawPointer(grow + ox).loadUnaligned(as: SIMD8<Float>.self)
                    for ky in 0..<g.kH {
                        let row = top + ky * g.dilH * pp.width + ox
                        for kx in 0..<g.kW {
                            let q = UnsafeMutableRawPointer(row + kx * g.dilW)
                            var v = q.loadUnaligned(as: SIMD8<Float>.self)
                            v.addProduct(SIMD8(repeating: w[ky * g.kW + kx]), gv)
                            q.storeBytes(of: v, as: SIMD8<Float>.self)
                        }
                    }
                    ox += 8
                }
            }
            while ox < g.outW {
                let gv = grow[ox]
                for ky in 0..<g.kH {
                    let row = top + ky * g.dilH * pp.width + ox * s
                    for kx in 0..<g.kW { row[kx * g.dilW] += w[ky * g.kW + kx] * gv }
                }
                ox += 1
            }
        }
        for r in 0..<g.inH {
            let from = pad + (r + g.padTop) * pp.width + g.padLeft, to = dst + r * g.inW
            for i in 0..<g.inW { to[i] += from[i] }
        }
    }
}

import Foundation
