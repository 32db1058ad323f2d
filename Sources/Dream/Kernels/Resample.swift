import Foundation

// Resampling of planar images: octave pyramids (resize), flow warps and zoom transforms (warp).
// Shapes: an image tensor is (1, C, H, W); every channel is resampled the same way.
// Coordinates are pixel centres: pixel (x, y) covers [x, x+1) × [y, y+1), its centre is x + 0.5.

/// How `resize` and `warp` sample between pixel centres.
public enum Interpolation: Sendable {
    case bilinear
    case bicubic  // Keys cubic, a = -0.5 (Catmull-Rom): sharper, for repeated zoom warps
    case lanczos3  // windowed sinc, 6×6 taps: the least blur per warp, for zoom loops
}

/// Resizes (1, C, H, W) to (1, C, height, width), half-pixel centres. Downscaling by more than 2
/// first averages 2×2 blocks so the result does not alias.
public func resize(_ image: Tensor, height: Int, width: Int, interpolation: Interpolation = .bilinear) -> Tensor {
    let (h, w) = (image.shape[2], image.shape[3])
    if h == height && w == width { return image }
    if h >= 2 * height && w >= 2 * width && h >= 2 && w >= 2 {
        return resize(halve(image), height: height, width: width, interpolation: interpolation)
    }
    let sy = Float(h) / Float(height), sx = Float(w) / Float(width)
    return warp(image, height: height, width: width, interpolation: interpolation) { x, y in
        ((x + 0.5) * sx - 0.5, (y + 0.5) * sy - 0.5)
    }
}

/// Averages 2×2 blocks (odd edges drop their last row/column).
func halve(_ image: Tensor) -> Tensor {
    let (c, h, w) = (image.shape[1], image.shape[2], image.shape[3])
    let (oh, ow) = (h / 2, w / 2)
    var out = [Float](repeating: 0, count: c * oh * ow)
    image.data.withUnsafeBufferPointer { src in
        for ch in 0..<c {
            let s = ch * h * w, d = ch * oh * ow
            for y in 0..<oh {
                for x in 0..<ow {
                    let i = s + 2 * y * w + 2 * x
                    out[d + y * ow + x] = 0.25 * (src[i] + src[i + 1] + src[i + w] + src[i + w + 1])
                }
            }
        }
    }
    return Tensor(shape: [1, c, oh, ow], data: out)
}

/// Output pixel (x, y) of the (height × width) result takes the input sampled at `source(x, y)`
/// (input pixel coordinates, integer = pixel index). Outside the input, edge pixels extend.
/// Rows are processed in parallel.
public func warp(
    _ image: Tensor, height: Int, width: Int, interpolation: Interpolation = .bilinear,
    source: (_ x: Float, _ y: Float) -> (Float, Float)
) -> Tensor {
    // Source coordinates once per pixel, shared by all channels.
    let (sx, sy) = sourceCoordinates(width: width, height: height, source)
    return warp(image, height: height, width: width, sourceX: sx, sourceY: sy, interpolation: interpolation)
}

/// Per pixel (x, y) of a (height × width) grid, the source point `map(x, y)`, as two planes.
/// Rows in parallel.
func sourceCoordinates(width w: Int, height h: Int, _ map: (Float, Float) -> (Float, Float)) -> ([Float], [Float]) {
    var sx = [Float](repeating: 0, count: w * h), sy = [Float](repeating: 0, count: w * h)
    sx.withUnsafeMutableBufferPointer { px in
        sy.withUnsafeMutableBufferPointer { py in
            let px = px.baseAddress!, py = py.baseAddress!
            parallelFor(h) { _, y in
                for x in 0..<w {
                    let (u, v) = map(Float(x), Float(y))
                    px[y * w + x] = u
                    py[y * w + x] = v
                }
            }
        }
    }
    return (sx, sy)
}

/// As `warp(_:height:width:source:)` with the source coordinates given per output pixel.
public func warp(
    _ image: Tensor, height: Int, width: Int, sourceX: [Float], sourceY: [Float],
    interpolation: Interpolation = .bilinear
) -> Tensor {
    let (c, h, w) = (image.shape[1], image.shape[2], image.shape[3])
    var out = [Float](repeating: 0, count: c * height * width)
    image.data.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBufferPointer { dst in
            let dstBase = dst.baseAddress!
            let srcBase = src.baseAddress!
            parallelFor(height) { _, y in
                if interpolation == .bilinear {
                    // The taps and weights once per pixel, for every channel (the common case: flow
                    // warps and octave resizes); the same arithmetic as `sampleBilinear`.
                    for x in 0..<width {
                        let i = y * width + x
                        let xc = min(max(sourceX[i], 0), Float(w - 1)), yc = min(max(sourceY[i], 0), Float(h - 1))
                        let x0 = Int(xc), y0 = Int(yc)
                        let dx = x0 + 1 < w ? 1 : 0, dy = y0 + 1 < h ? w : 0
                        let fx = xc - Float(x0), fy = yc - Float(y0)
                        var p = srcBase + y0 * w + x0, q = dstBase + i
                        for _ in 0..<c {
                            let top = p[0] + (p[dx] - p[0]) * fx
                            let bottom = p[dy] + (p[dy + dx] - p[dy]) * fx
                            q.pointee = top + (bottom - top) * fy
                            p += h * w; q += height * width
                        }
                    }
                    return
                }
                for x in 0..<width {
                    let i = y * width + x
                    let u = sourceX[i], v = sourceY[i]
                    for ch in 0..<c {
                        let plane = UnsafeBufferPointer(rebasing: src[(ch * h * w)..<((ch + 1) * h * w)])
                        dstBase[ch * height * width + i] =
                            interpolation == .bicubic
                            ? sampleBicubic(plane, width: w, height: h, x: u, y: v)
                            : sampleLanczos3(plane, width: w, height: h, x: u, y: v)
                    }
                }
            }
        }
    }
    return Tensor(shape: [1, c, height, width], data: out)
}

@inline(__always)
func sampleBilinear(_ p: UnsafeBufferPointer<Float>, width w: Int, height h: Int, x: Float, y: Float) -> Float {
    let xc = min(max(x, 0), Float(w - 1)), yc = min(max(y, 0), Float(h - 1))
    let x0 = Int(xc), y0 = Int(yc)
    let x1 = min(x0 + 1, w - 1), y1 = min(y0 + 1, h - 1)
    let fx = xc - Float(x0), fy = yc - Float(y0)
    let top = p[y0 * w + x0] + (p[y0 * w + x1] - p[y0 * w + x0]) * fx
    let bottom = p[y1 * w + x0] + (p[y1 * w + x1] - p[y1 * w + x0]) * fx
    return top + (bottom - top) * fy
}

@inline(__always)
func cubicWeight(_ t: Float) -> Float {
    let a: Float = -0.5, t = abs(t)
    if t <= 1 { return ((a + 2) * t - (a + 3)) * t * t + 1 }
    if t < 2 { return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a }
    return 0
}

@inline(__always)
func sampleBicubic(_ p: UnsafeBufferPointer<Float>, width w: Int, height h: Int, x: Float, y: Float) -> Float {
    let xc = min(max(x, 0), Float(w - 1)), yc = min(max(y, 0), Float(h - 1))
    let x0 = Int(xc.rounded(.down)), y0 = Int(yc.rounded(.down))
    let fx = xc - Float(x0), fy = yc - Float(y0)
    var sum: Float = 0
    for j in -1...2 {
        let yy = min(max(y0 + j, 0), h - 1)
        let wy = cubicWeight(Float(j) - fy)
        var row: Float = 0
        for i in -1...2 {
            let xx = min(max(x0 + i, 0), w - 1)
            row += p[yy * w + xx] * cubicWeight(Float(i) - fx)
        }
        sum += row * wy
    }
    return sum
}

@inline(__always)
func lanczos3Weight(_ t: Float) -> Float {
    let t = abs(t)
    if t < 1e-6 { return 1 }
    if t >= 3 { return 0 }
    let pt = Float.pi * t
    return 3 * sin(pt) * sin(pt / 3) / (pt * pt)
}

@inline(__always)
func sampleLanczos3(_ p: UnsafeBufferPointer<Float>, width w: Int, height h: Int, x: Float, y: Float) -> Float {
    let xc = min(max(x, 0), Float(w - 1)), yc = min(max(y, 0), Float(h - 1))
    let x0 = Int(xc.rounded(.down)), y0 = Int(yc.rounded(.down))
    let fx = xc - Float(x0), fy = yc - Float(y0)
    var wx = SIMD8<Float>(repeating: 0), sumX: Float = 0  // 6 taps used; no heap allocation per sample
    for i in 0..<6 { wx[i] = lanczos3Weight(Float(i - 2) - fx); sumX += wx[i] }
    var sum: Float = 0, sumY: Float = 0
    for j in 0..<6 {
        let yy = min(max(y0 + j - 2, 0), h - 1)
        let wy = lanczos3Weight(Float(j - 2) - fy)
        var row: Float = 0
        for i in 0..<6 {
            let xx = min(max(x0 + i - 2, 0), w - 1)
            row += p[yy * w + xx] * wx[i]
        }
        sum += row * wy
        sumY += wy
    }
    // Normalised so a flat picture stays flat.
    return sum / (sumX * sumY)
}
