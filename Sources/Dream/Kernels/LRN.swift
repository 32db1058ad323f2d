import Foundation

/// Local response normalisation across channels (ONNX LRN), NCHW:
///   s[c] = bias + alpha/size · Σ_{c' ∈ [c − ⌊(size−1)/2⌋, c + ⌈(size−1)/2⌉]} x[c']²
///   y[c] = x[c] · s[c]^−beta
///   dx[j] += dy[j]·s[j]^−beta − 2·beta·alpha/size · x[j] · Σ_{c: j ∈ window(c)} dy[c]·x[c]·s[c]^(−beta−1)

private func lrnScale(
    _ x: UnsafePointer<Float>, c: Int, channels: Int, plane: Int, i: Int,
    size: Int, alpha: Float, bias: Float
) -> Float {
    let lo = max(0, c - (size - 1) / 2), hi = min(channels - 1, c + size / 2)
    var sq: Float = 0
    for k in lo...hi { let v = x[k * plane + i]; sq += v * v }
    return bias + alpha / Float(size) * sq
}

func lrn(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, channels: Int, plane: Int,
    size: Int, alpha: Float, beta: Float, bias: Float
) {
    parallelFor(batch * channels) { _, p in
        let n = p / channels, c = p % channels
        let xn = x + n * channels * plane
        for i in 0..<plane {
            let s = lrnScale(xn, c: c, channels: channels, plane: plane, i: i, size: size, alpha: alpha, bias: bias)
            y[p * plane + i] = xn[c * plane + i] * pow(s, -beta)
        }
    }
}

func lrnBackward(
    x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
    batch: Int, channels: Int, plane: Int, size: Int, alpha: Float, beta: Float, bias: Float
) {
    parallelFor(batch * channels) { _, p in
        let n = p / channels, j = p % channels
        let xn = x + n * channels * plane, dyn = dy + n * channels * plane
        // Channels c whose window contains j: c − ⌊(size−1)/2⌋ ≤ j ≤ c + ⌈(size−1)/2⌉.
        let cLo = max(0, j - size / 2), cHi = min(channels - 1, j + (size - 1) / 2)
        for i in 0..<plane {
            let sj = lrnScale(xn, c: j, channels: channels, plane: plane, i: i, size: size, alpha: alpha, bias: bias)
            var acc: Float = 0
            for c in cLo...cHi {
                let sc = lrnScale(xn, c: c, channels: channels, plane: plane, i: i, size: size, alpha: alpha, bias: bias)
                acc += dyn[c * plane + i] * xn[c * plane + i] * pow(sc, -beta - 1)
            }
            dx[p * plane + i] +=
                dyn[j * plane + i] * pow(sj, -beta)
                - 2 * beta * alpha / Float(size) * xn[j * plane + i] * acc
        }
    }
}
