/// Pooling over NCHW planes (geometry from `convGeometry` with outC = C, groups = 1).
///   maxPool:  y (N, C, outH, outW), argmax (same count, index into the input plane; −1 = all padding)
///             backward: dx[argmax] += dy
///   avgPool:  y = Σ window / divisor (divisor: valid taps, or taps inside input + explicit padding
///             when countIncludePad); backward spreads dy/divisor over the window
///   globalAveragePool: (N, C, H, W) → (N, C, 1, 1); backward dx += dy / (H·W)

func maxPool(_ g: ConvGeometry, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>) {
    parallelFor(g.batch * g.inC) { _, p in
        let src = x + p * g.inPlane, dst = y + p * g.outPlane, arg = argmax + p * g.outPlane
        for oy in 0..<g.outH {
            for ox in 0..<g.outW {
                var best = -Float.infinity, at: Int32 = -1
                for ky in 0..<g.kH {
                    let iy = oy * g.strideH - g.padTop + ky * g.dilH
                    if iy < 0 || iy >= g.inH { continue }
                    for kx in 0..<g.kW {
                        let ix = ox * g.strideW - g.padLeft + kx * g.dilW
                        if ix < 0 || ix >= g.inW { continue }
                        let v = src[iy * g.inW + ix]
                        if v > best || at < 0 { best = v; at = Int32(iy * g.inW + ix) }
                    }
                }
                dst[oy * g.outW + ox] = best
                arg[oy * g.outW + ox] = at
            }
        }
    }
}

func maxPoolBackward(_ g: ConvGeometry, dy: UnsafePointer<Float>, argmax: UnsafePointer<Int32>, dx: UnsafeMutablePointer<Float>) {
    parallelFor(g.batch * g.inC) { _, p in
        let d = dy + p * g.outPlane, arg = argmax + p * g.outPlane, dst = dx + p * g.inPlane
        for i in 0..<g.outPlane where arg[i] >= 0 { dst[Int(arg[i])] += d[i] }
    }
}

/// Window bounds clipped to the input, and the divisor for that window.
@inline(__always)
private func avgWindow(_ g: ConvGeometry, _ oy: Int, _ ox: Int, includePad: Bool) -> (y0: Int, y1: Int, x0: Int, x1: Int, div: Float) {
    let sy = oy * g.strideH - g.padTop, sx = ox * g.strideW - g.padLeft
    let ey = sy + g.kH, ex = sx + g.kW
    let y0 = max(sy, 0), y1 = min(ey, g.inH), x0 = max(sx, 0), x1 = min(ex, g.inW)
    let div: Int
    if includePad {
        // Count padding taps, but not the phantom taps past the padding that ceil mode adds.
        div = (min(ey, g.inH + g.padBottom) - max(sy, -g.padTop)) * (min(ex, g.inW + g.padRight) - max(sx, -g.padLeft))
    } else {
        div = (y1 - y0) * (x1 - x0)
    }
    return (y0, y1, x0, x1, Float(max(div, 1)))
}

func averagePool(_ g: ConvGeometry, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, countIncludePad: Bool) {
    parallelFor(g.batch * g.inC) { _, p in
        let src = x + p * g.inPlane, dst = y + p * g.outPlane
        for oy in 0..<g.outH {
            for ox in 0..<g.outW {
                let w = avgWindow(g, oy, ox, includePad: countIncludePad)
                var s: Float = 0
                for iy in w.y0..<max(w.y1, w.y0) { for ix in w.x0..<max(w.x1, w.x0) { s += src[iy * g.inW + ix] } }
                dst[oy * g.outW + ox] = s / w.div
            }
        }
    }
}

func averagePoolBackward(_ g: ConvGeometry, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, countIncludePad: Bool) {
    parallelFor(g.batch * g.inC) { _, p in
        let d = dy + p * g.outPlane, dst = dx + p * g.inPlane
        for oy in 0..<g.outH {
            for ox in 0..<g.outW {
                let w = avgWindow(g, oy, ox, includePad: countIncludePad)
                let v = d[oy * g.outW + ox] / w.div
                for iy in w.y0..<max(w.y1, w.y0) { for ix in w.x0..<max(w.x1, w.x0) { dst[iy * g.inW + ix] += v } }
            }
        }
    }
}

/// planes = N·C, plane = H·W (any trailing spatial dims).
func globalAveragePool(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, planes: Int, plane: Int) {
    parallelFor(planes) { _, p in
        var s: Float = 0
        let src = x + p * plane
        for i in 0..<plane { s += src[i] }
        y[p] = s / Float(plane)
    }
}

func globalAveragePoolBackward(dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, planes: Int, plane: Int) {
    parallelFor(planes) { _, p in
        let v = dy[p] / Float(plane), dst = dx + p * plane
        for i in 0..<plane { dst[i] += v }
    }
}
