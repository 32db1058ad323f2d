import Foundation

/// Separable Gaussian blur of a (1, C, H, W) tensor, edges clamped.
/// Used on the gradient: it suppresses pixel-level noise so the dream grows smooth shapes.
public func gaussianBlur(_ t: Tensor, sigma: Float) -> Tensor {
    guard sigma > 0 else { return t }
    var out = t.data, temp = [Float](repeating: 0, count: t.count)
    out.withUnsafeMutableBufferPointer { o in
        temp.withUnsafeMutableBufferPointer { gaussianBlur(o.baseAddress!, shape: t.shape, sigma: sigma, temp: $0.baseAddress!) }
    }
    return Tensor(shape: t.shape, data: out)
}

/// In place over `out` (a (1, C, H, W) tensor), with `temp` (the same size) as the horizontal pass's output.
func gaussianBlur(_ out: UnsafeMutablePointer<Float>, shape: [Int], sigma: Float, temp tmp: UnsafeMutablePointer<Float>) {
    guard sigma > 0 else { return }
    let radius = max(1, Int((3 * sigma).rounded(.up)))
    var kernel = (-radius...radius).map { Float(exp(-Double($0 * $0) / (2 * Double(sigma * sigma)))) }
    let total = kernel.reduce(0, +)
    kernel = kernel.map { $0 / total }
    let (c, h, w) = (shape[1], shape[2], shape[3])
    for ch in 0..<c {
        let base = ch * h * w
        for y in 0..<h {
            for x in 0..<w {
                var s: Float = 0
                for k in -radius...radius { s += kernel[k + radius] * out[base + y * w + min(max(x + k, 0), w - 1)] }
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
}
