import Foundation

/// Softmax along one axis of a tensor viewed as (outer, n, inner):
///   y = exp(x − max) / Σ exp(x − max)       dx += y · (dy − Σ_axis dy·y)

func softmax(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, outer: Int, n: Int, inner: Int) {
    for o in 0..<outer {
        for i in 0..<inner {
            let base = o * n * inner + i
            var m = -Float.infinity
            for k in 0..<n { m = max(m, x[base + k * inner]) }
            var s: Float = 0
            for k in 0..<n { let e = exp(x[base + k * inner] - m); y[base + k * inner] = e; s += e }
            for k in 0..<n { y[base + k * inner] /= s }
        }
    }
}

func softmaxBackward(
    y: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
    outer: Int, n: Int, inner: Int
) {
    for o in 0..<outer {
        for i in 0..<inner {
            let base = o * n * inner + i
            var dot: Float = 0
            for k in 0..<n { dot += dy[base + k * inner] * y[base + k * inner] }
            for k in 0..<n { dx[base + k * inner] += y[base + k * inner] * (dy[base + k * inner] - dot) }
        }
    }
}
