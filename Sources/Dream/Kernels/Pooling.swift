/// Pooling over NCHW planes (geometry from `convGeometry` with outC = C, groups = 1).
///   maxPool:  y (N, C, outH, outW), argmax (same count, index into the input plane; −1 = all padding)
///             backward: dx[argmax] += dy
///   avgPool:  y = Σ window / divisor (divisor: valid taps, or taps inside input + explicit padding
///             when countIncludePad); backward spreads dy/divisor over the window
///   globalAveragePool: (N, C, H, W) → (N, C, 1, 1); backward dx += dy / (H·W)

func maxPool(_ g: ConvGeometry, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>) {
    // Output columns whose windows lie inside the input row: every kx tap valid.
    let first = validRange(outCount: g.outW, stride: g.strideW, offset: -g.padLeft, n: g.inW)
    let last = validRange(outCount: g.outW, stride: g.strideW, offset: (g.kW - 1) * g.dilW - g.padLeft, n: g.inW)
    let inner = (lo: max(first.lo, last.lo), hi: min(first.hi, last.hi))
    parallelFor(g.batch * g.inC) { _, p in
        let src = x + p * g.inPlane, dst = y + p * g.outPlane, arg = argmax + p * g.outPlane
        for oy in 0..<g.outH {
            // The window rows inside the input (the padding rows are skipped, as `maxWindow` does).
            let iy0 = oy * g.strideH - g.padTop
            var kyLo = 0, kyHi = g.kH
            while kyLo < kyHi && iy0 + kyLo * g.dilH < 0 { kyLo += 1 }
            while kyHi > kyLo && iy0 + (kyHi - 1) * g.dilH >= g.inH { kyHi -= 1 }
            var ox = 0
            if kyLo < kyHi && (g.strideW == 1 || g.strideW == 2) && inner.lo < inner.hi {
                while ox < inner.lo { maxWindow(g, src, oy, ox, dst, arg); ox += 1 }
                ox = maxPoolRowInterior(g, src, oy, rows: kyLo..<kyHi, from: ox, to: inner.hi, dst, arg)
            }
            while ox < g.outW { maxWindow(g, src, oy, ox, dst, arg); ox += 1 }
        }
    }
}

/// One output of a max pool: the first largest tap in (ky, kx) order, and its index in the plane.
@inline(__always)
private func maxWindow(
    _ g: ConvGeometry, _ src: UnsafePointer<Float>, _ oy: Int, _ ox: Int, _ dst: UnsafeMutablePointer<Float>,
    _ arg: UnsafeMutablePointer<Int32>
) {
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

/// Outputs start..<end of row oy (window rows `rows`, every tap of them inside the input; stride 1
/// or 2), 8 at a time, the last
/// eight overlapping the ones before (recomputed alike): the same first-largest rule as `maxWindow`,
/// so values and argmax are identical. Returns where it stopped (the caller does the rest one by one).
@inline(__always)
private func maxPoolRowInterior(
    _ g: ConvGeometry, _ src: UnsafePointer<Float>, _ oy: Int, rows: Range<Int>, from start: Int, to end: Int,
    _ dst: UnsafeMutablePointer<Float>, _ arg: UnsafeMutablePointer<Int32>
) -> Int {
    let s = g.strideW
    // The last 8-output start: a stride-2 load reads 16 floats for 8 taps, inside the image row.
    let reach = (g.kW - 1) * g.dilW - g.padLeft
    let lastStart = s == 1 ? end - 8 : min(end - 8, (g.inW - reach - 16) >> 1)
    if lastStart < start { return start }
    let lanes = SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7) &* Int32(s)
    var ox = start
    while true {
        var best = SIMD8<Float>(repeating: 0), at = SIMD8<Int32>(repeating: 0)
        for ky in rows {
            let iy = oy * g.strideH - g.padTop + ky * g.dilH
            for kx in 0..<g.kW {
                let i = iy * g.inW + ox * s - g.padLeft + kx * g.dilW
                let v: SIMD8<Float>
                if s == 1 {
                    v = UnsafeRawPointer(src + i).loadUnaligned(as: SIMD8<Float>.self)
                } else {
                    v = UnsafeRawPointer(src + i).loadUnaligned(as: SIMD16<Float>.self).evenHalf
                }
                let index = SIMD8<Int32>(repeating: Int32(i)) &+ lanes
                if ky == rows.lowerBound && kx == 0 {
                    best = v; at = index
                } else {
                    let more = v .> best
                    best.replace(with: v, where: more)
                    at.replace(with: index, where: more)
                }
            }
        }
        let o = oy * g.outW + ox
        UnsafeMutableRawPointer(dst + o).storeBytes(of: best, as: SIMD8<Float>.self)
        UnsafeMutableRawPointer(arg + o).storeBytes(of: at, as: SIMD8<Int32>.self)
        if ox == lastStart { return ox + 8 }
        ox = min(ox + 8, lastStart)
    }
}

/// Window by window, the oracle for `maxPool`.
func maxPoolNaive(_ g: ConvGeometry, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>) {
    for p in 0..<g.batch * g.inC {
        for oy in 0..<g.outH {
            for ox in 0..<g.outW { maxWindow(g, x + p * g.inPlane, oy, ox, y + p * g.outPlane, argmax + p * g.outPlane) }
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
