import Foundation

/// Pointwise activations over `count` floats. Backward kernels ADD into dx (gradients accumulate).
///   relu: y = max(x, 0)            dx += dy·[x > 0]
///   clip: y = min(max(x, lo), hi)  dx += dy·[lo < x < hi]
///   sigmoid: y = 1/(1+e^−x)        dx += dy·y·(1−y)
///   affine (standalone BatchNorm), NC…: y = x·a[c] + b[c]   dx += dy·a[c]

func relu(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
    parallelChunks(count) { lo, hi in for i in lo..<hi { y[i] = max(x[i], 0) } }
}

func reluBackward(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, count: Int) {
    clipBackward(x: x, dy: dy, dx: dx, count: count, lo: 0, hi: .infinity)
}

func clip(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, lo: Float, hi: Float) {
    parallelChunks(count) { a, b in clamp(x + a, y + a, count: b - a, lo: lo, hi: hi) }
}

/// y = min(max(x, lo), hi) on one thread, in SIMD8 selects (Swift's NaN-aware min/max on Float do
/// not vectorise: the scalar loop was 3 % of a 224x224 gradient step). x may be y.
@inline(__always)
func clamp(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, lo: Float, hi: Float) {
    var i = 0
    let vlo = SIMD8<Float>(repeating: lo), vhi = SIMD8<Float>(repeating: hi)
    while i + 8 <= count {
        var v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
        v = v.replacing(with: vlo, where: v .< vlo).replacing(with: vhi, where: v .> vhi)
        UnsafeMutableRawPointer(y + i).storeBytes(of: v, as: SIMD8<Float>.self)
        i += 8
    }
    while i < count { y[i] = min(max(x[i], lo), hi); i += 1 }
}

func clipBackward(
    x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, count: Int,
    lo: Float, hi: Float
) {
    // Branch-free SIMD masks: activations sit on both sides of the kinks at random, so a branch
    // per element mispredicts half the time (10x slower than the forward pass).
    parallelChunks(count) { a, b in
        var i = a
        let vlo = SIMD8<Float>(repeating: lo), vhi = SIMD8<Float>(repeating: hi), zero = SIMD8<Float>()
        while i + 8 <= b {
            let xv = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
            let gv = UnsafeRawPointer(dy + i).loadUnaligned(as: SIMD8<Float>.self)
            let dv = UnsafeRawPointer(dx + i).loadUnaligned(as: SIMD8<Float>.self)
            let pass = (xv .> vlo) .& (xv .< vhi)
            UnsafeMutableRawPointer(dx + i).storeBytes(of: dv + zero.replacing(with: gv, where: pass), as: SIMD8<Float>.self)
            i += 8
        }
        while i < b { if x[i] > lo && x[i] < hi { dx[i] += dy[i] }; i += 1 }
    }
}

/// dy[i] = lo < y[i] < hi ? dy[i] : 0, in place (the pullback of a Clip fused into its producer).
func clipMaskInPlace(y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>, count: Int, lo: Float, hi: Float) {
    parallelChunks(count) { a, b in
        var i = a
        let vlo = SIMD8<Float>(repeating: lo), vhi = SIMD8<Float>(repeating: hi)
        while i + 8 <= b {
            let yv = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD8<Float>.self)
            let gv = UnsafeRawPointer(dy + i).loadUnaligned(as: SIMD8<Float>.self)
            let pass = (yv .> vlo) .& (yv .< vhi)
            UnsafeMutableRawPointer(dy + i).storeBytes(of: SIMD8<Float>().replacing(with: gv, where: pass), as: SIMD8<Float>.self)
            i += 8
        }
        while i < b { if !(y[i] > lo && y[i] < hi) { dy[i] = 0 }; i += 1 }
    }
}

func sigmoid(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
    parallelChunks(count) { a, b in for i in a..<b { y[i] = 1 / (1 + exp(-x[i])) } }
}

func sigmoidBackward(y: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, count: Int) {
    parallelChunks(count) { a, b in for i in a..<b { dx[i] += dy[i] * y[i] * (1 - y[i]) } }
}

/// x, y: (outer, C, inner) with outer = N, inner = spatial size.
func affine(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, outer: Int, channels: Int, inner: Int,
    scale: UnsafePointer<Float>, shift: UnsafePointer<Float>
) {
    parallelFor(outer * channels) { _, p in
        let c = p % channels, a = scale[c], b = shift[c]
        for i in p * inner..<(p + 1) * inner { y[i] = x[i] * a + b }
    }
}

func affineBackward(
    dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, outer: Int, channels: Int, inner: Int,
    scale: UnsafePointer<Float>
) {
    parallelFor(outer * channels) { _, p in
        let a = scale[p % channels]
        for i in p * inner..<(p + 1) * inner { dx[i] += dy[i] * a }
    }
}

/// dst += src over `count` floats.
func accumulate(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, count: Int) {
    parallelChunks(count) { a, b in for i in a..<b { dst[i] += src[i] } }
}
