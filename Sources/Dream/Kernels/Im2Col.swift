/// im2col / col2im for one image of an NCHW batch, whole or by bands of output rows.
///   image: (C, H, W)   col: (C·kh·kw, cols), row r = (c·kh + ky)·kw + kx, column (oy − oy0)·outW + ox
/// col2im adds into the image (gradients accumulate).
/// Stride 2 — the stems of most image models — is vectorised: im2col takes every second float with
/// SIMD16.evenHalf (one vshufps + vpermpd), col2im sums the taps of each output phase into two short
/// rows and adds them to the image interleaved; other strides are scalar gathers/scatters.

/// The whole im2col matrix (cols = outH·outW), rows spread over the cores.
func im2col(_ g: ConvGeometry, image: UnsafePointer<Float>, col: UnsafeMutablePointer<Float>) {
    parallelFor(g.inC * g.kH * g.kW) { _, r in im2colRow(g, r, image: image, rows: 0..<g.outH, dst: col + r * g.outPlane) }
}

/// Rows of im2col for output rows `rows` (cols = rows.count·outW), on the calling core.
func im2colBand(_ g: ConvGeometry, image: UnsafePointer<Float>, rows: Range<Int>, col: UnsafeMutablePointer<Float>) {
    let cols = rows.count * g.outW
    for r in 0..<g.inC * g.kH * g.kW { im2colRow(g, r, image: image, rows: rows, dst: col + r * cols) }
}

@inline(__always)
private func im2colRow(
    _ g: ConvGeometry, _ r: Int, image: UnsafePointer<Float>, rows: Range<Int>,
    dst: UnsafeMutablePointer<Float>
) {
    let kx = r % g.kW, ky = (r / g.kW) % g.kH, c = r / (g.kW * g.kH)
    let src = image + c * g.inPlane, offset = kx * g.dilW - g.padLeft
    let xs = validRange(outCount: g.outW, stride: g.strideW, offset: offset, n: g.inW)
    for oy in rows {
        let row = dst + (oy - rows.lowerBound) * g.outW
        let iy = oy * g.strideH - g.padTop + ky * g.dilH
        if iy < 0 || iy >= g.inH { row.update(repeating: 0, count: g.outW); continue }
        let srow = src + iy * g.inW + offset
        if xs.lo > 0 { row.update(repeating: 0, count: xs.lo) }
        if g.strideW == 1 {
            (row + xs.lo).update(from: srow + xs.lo, count: xs.hi - xs.lo)
        } else if g.strideW == 2 {
            // 16 floats in, the even 8 out; the load stays inside this image row.
            var ox = xs.lo
            let rowEnd = g.inW - offset
            while ox + 8 <= xs.hi && 2 * ox + 16 <= rowEnd {
                let v = UnsafeRawPointer(srow + 2 * ox).loadUnaligned(as: SIMD16<Float>.self)
                UnsafeMutableRawPointer(row + ox).storeBytes(of: v.evenHalf, as: SIMD8<Float>.self)
                ox += 8
            }
            while ox < xs.hi { row[ox] = srow[2 * ox]; ox += 1 }
        } else {
            for ox in xs.lo..<xs.hi { row[ox] = srow[ox * g.strideW] }
        }
        if xs.hi < g.outW { (row + xs.hi).update(repeating: 0, count: g.outW - xs.hi) }
    }
}

/// The whole col2im (cols = outH·outW), channels spread over the cores.
func col2imAdd(_ g: ConvGeometry, col: UnsafePointer<Float>, image: UnsafeMutablePointer<Float>) {
    // One task per channel: all rows of a channel write to the same image plane.
    parallelFor(g.inC) { _, c in col2imChannel(g, c, col: col, rows: 0..<g.outH, image: image) }
}

/// The whole col2im (cols = outH·outW) of input channels `channels`, on the calling core.
func col2imAdd(_ g: ConvGeometry, col: UnsafePointer<Float>, channels: Range<Int>, image: UnsafeMutablePointer<Float>) {
    for c in channels { col2imChannel(g, c, col: col, rows: 0..<g.outH, image: image) }
}

/// col2im of a band of output rows `rows` (cols = rows.count·outW), on the calling core. It adds into
/// image rows rows.lowerBound·strideH − padTop ..< (rows.upperBound − 1)·strideH − padTop + the kernel span.
func col2imAddBand(_ g: ConvGeometry, col: UnsafePointer<Float>, rows: Range<Int>, image: UnsafeMutablePointer<Float>) {
    for c in 0..<g.inC { col2imChannel(g, c, col: col, rows: rows, image: image) }
}

@inline(__always)
private func col2imChannel(
    _ g: ConvGeometry, _ c: Int, col: UnsafePointer<Float>, rows: Range<Int>,
    image: UnsafeMutablePointer<Float>
) {
    let cols = rows.count * g.outW, dstPlane = image + c * g.inPlane
    if g.strideW == 2 {
        col2imChannelStride2(g, c, col: col, rows: rows, image: image)
        return
    }
    for ky in 0..<g.kH {
        for kx in 0..<g.kW {
            let src = col + ((c * g.kH + ky) * g.kW + kx) * cols
            let xs = validRange(outCount: g.outW, stride: g.strideW, offset: kx * g.dilW - g.padLeft, n: g.inW)
            for oy in rows {
                let iy = oy * g.strideH - g.padTop + ky * g.dilH
                if iy < 0 || iy >= g.inH { continue }
                let drow = dstPlane + iy * g.inW + kx * g.dilW - g.padLeft
                let srow = src + (oy - rows.lowerBound) * g.outW
                if g.strideW == 1 {
                    for ox in xs.lo..<xs.hi { drow[ox] += srow[ox] }
                } else {
                    for ox in xs.lo..<xs.hi { drow[ox * g.strideW] += srow[ox] }
                }
            }
        }
    }
}

/// Stride-2 col2im of one channel: per (ky, output row) the kw taps are summed into the image row's
/// even and odd phases (tap kx lands on image column 2·ox + kx·dilW − padLeft), then both phases are
/// added to the image row at once, interleaved 8 + 8 floats at a time.
private func col2imChannelStride2(
    _ g: ConvGeometry, _ c: Int, col: UnsafePointer<Float>, rows: Range<Int>,
    image: UnsafeMutablePointer<Float>
) {
    let cols = rows.count * g.outW, dstPlane = image + c * g.inPlane
    let half = (g.inW + 1) / 2, pairs = g.inW / 2  // even columns, complete (even, odd) pairs
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * half) { buf in
        let even = buf.baseAddress!, odd = even + half
        for ky in 0..<g.kH {
            for oy in rows {
                let iy = oy * g.strideH - g.padTop + ky * g.dilH
                if iy < 0 || iy >= g.inH { continue }
                even.update(repeating: 0, count: 2 * half)
                for kx in 0..<g.kW {
                    let offset = kx * g.dilW - g.padLeft
                    let xs = validRange(outCount: g.outW, stride: 2, offset: offset, n: g.inW)
                    // Image column 2·ox + offset = 2·(ox + shift) + phase.
                    let phase = offset & 1, shift = (offset - phase) / 2
                    let dst = (phase == 0 ? even : odd) + shift
                    let srow = col + ((c * g.kH + ky) * g.kW + kx) * cols + (oy - rows.lowerBound) * g.outW
                    for ox in xs.lo..<xs.hi { dst[ox] += srow[ox] }
                }
                let drow = dstPlane + iy * g.inW
                var m = 0
                while m + 8 <= pairs {
                    var v = SIMD16<Float>()
                    v.evenHalf = UnsafeRawPointer(even + m).loadUnaligned(as: SIMD8<Float>.self)
                    v.oddHalf = UnsafeRawPointer(odd + m).loadUnaligned(as: SIMD8<Float>.self)
                    let p = UnsafeMutableRawPointer(drow + 2 * m)
                    p.storeBytes(of: p.loadUnaligned(as: SIMD16<Float>.self) + v, as: SIMD16<Float>.self)
                    m += 8
                }
                while m < pairs { drow[2 * m] += even[m]; drow[2 * m + 1] += odd[m]; m += 1 }
                if half > pairs { drow[2 * pairs] += even[pairs] }
            }
        }
    }
}
