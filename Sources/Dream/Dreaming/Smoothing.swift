import Foundation

/// Separable Gaussian blur of a (1, C, H, W) tensor, edges clamped.
/// Used on the gradient: it suppresses pixel-level noise so the dream grows smooth shapes.
public func gaussianBlur(_ t: Tensor, sigma: Float) -> Tensor {
    guard sigma > 0 else { return t }
    let radius = max(1, Int((3 * sigma).rounded(.up)))
    var kernel = (-radius...radius).map { Float(exp(-Double($0 * $0) / (2 * Double(sigma * sigma)))) }
    let total = kernel.reduce(0, +)
    kernel = kernel.map { $0 / total }
    let (c, h, w) = (t.shape[1], t.shape[2], t.shape[3])
    var tmp = [Float](repeating: 0, count: t.count)
    var out = [Float](repeating: 0, count: t.count)
    for ch in 0..<c {
        let base = ch * h * w
        for y in 0..<h {
            for x in 0..<w {
                var s: Float = 0
                for k in -radius...radius { s += kernel[k + radius] * t.data[base + y * w + min(max(x + k, 0), w - 1)] }
                tmp[base + y * w + x] = s
            }
        }
        for y in 0..<h {
            for x in 0..<w {
                var s: Float = 0
                for k in -radius...radius { s += kernel[k + radius] * tmp[base + min(max(y + k, 0), h - 1) * w + x] }
                out[base + y * w + x] = s
            }
        }
    }
    return Tensor(shape: t.shape, data: out)
}
