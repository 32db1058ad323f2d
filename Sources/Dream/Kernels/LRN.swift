import Foundation

/// Local response normalisation across channels (ONNX LRN), NCHW:
///   s[c] = bias + alpha/size · Σ_{c' ∈ [c − ⌊(size−1)/2⌋, c + ⌈(size−1)/2⌉]} x[c']²
///   y[c] = x[c] · s[c]^−beta
///   dx[j] += dy[j]·s[j]^−beta − 2·beta·alpha/size · x[j] · Σ_{c: j ∈ window(c)} dy[c]·x[c]·s[c]^(−beta−1)
/// The fast versions work on blocks of `lrnBlock` pixels of one image, all channels: each s[c] is
/// summed once per pixel (in the naive order, 8 pixels at a time) and raised to −beta once;
/// beta = 0.75 (every GoogLeNet and AlexNet) is 1/√s · √(1/√s) in SIMD, other betas `pow`. Blocks
/// are independent, so results do not depend on which core runs which. The naive versions are the
/// test oracles. Why 512 pixels: each channel's run is then 2 KB, long enough for the prefetchers
/// (the runs are a plane apart); measured on GoogLeNet at 1280x720, LRN forward + backward per
/// gradient step: 64 pixels 145 ms, 128: 128 ms, 256: 100 ms, 512: 89 ms.

private let lrnBlock = 512

/// Channel window of output channel c.
@inline(__always)
private func lrnWindow(_ c: Int, channels: Int, size: Int) -> ClosedRange<Int> {
    max(0, c - (size - 1) / 2)...min(channels - 1, c + size / 2)
}

/// Output channels whose window contains channel j: c − ⌊(size−1)/2⌋ ≤ j ≤ c + ⌈(size−1)/2⌉.
@inline(__always)
private func lrnContaining(_ j: Int, channels: Int, size: Int) -> ClosedRange<Int> {
    max(0, j - size / 2)...min(channels - 1, j + (size - 1) / 2)
}

/// For pixels i0..<i0+count of one image: scale[c·count + k] = s[c]^−beta at pixel i0 + k, and, when
/// `over` is given, over[c·count + k] = s[c]^(−beta−1).
private func lrnScales(
    _ x: UnsafePointer<Float>, channels: Int, plane: Int, i0: Int, count: Int, size: Int, alpha: Float, beta: Float,
    bias: Float, scale: UnsafeMutablePointer<Float>, over: UnsafeMutablePointer<Float>?
) {
    let a = alpha / Float(size)
    for c in 0..<channels {
        let window = lrnWindow(c, channels: channels, size: size)
        let sc = scale + c * count
        var k = 0
        while k + 8 <= count {
            var sq = SIMD8<Float>(repeating: 0)
            for j in window {
                let v = UnsafeRawPointer(x + j * plane + i0 + k).loadUnaligned(as: SIMD8<Float>.self)
                sq += v * v
            }
            let s = SIMD8<Float>(repeating: bias) + a * sq
            UnsafeMutableRawPointer(sc + k).storeBytes(of: s, as: SIMD8<Float>.self)
            k += 8
        }
        while k < count {
            var sq: Float = 0
            for j in window { let v = x[j * plane + i0 + k]; sq += v * v }
            sc[k] = bias + a * sq
            k += 1
        }
    }
    // s → s^−beta (and s^(−beta−1) = s^−beta / s).
    let n = channels * count
    if beta == 0.75 {
        var k = 0
        while k + 8 <= n {
            let s = UnsafeRawPointer(scale + k).loadUnaligned(as: SIMD8<Float>.self)
            let r = 1 / s.squareRoot()
            let p = r * r.squareRoot()
            UnsafeMutableRawPointer(scale + k).storeBytes(of: p, as: SIMD8<Float>.self)
            if let over { UnsafeMutableRawPointer(over + k).storeBytes(of: p / s, as: SIMD8<Float>.self) }
            k += 8
        }
        while k < n {
            let s = scale[k], r = 1 / s.squareRoot(), p = r * r.squareRoot()
            scale[k] = p
            over?[k] = p / s
            k += 1
        }
    } else {
        for k in 0..<n {
            let s = scale[k], p = pow(s, -beta)
            scale[k] = p
            over?[k] = p / s
        }
    }
}

/// Runs body(image, firstPixel, count, scratch) for every block of `lrnBlock` pixels, spread over the
/// cores; `scratch` holds `buffers` · channels · lrnBlock floats of the calling task.
private func lrnBlocks(
    batch: Int, channels: Int, plane: Int, buffers: Int,
    _ body: (_ n: Int, _ i0: Int, _ count: Int, _ scratch: UnsafeMutablePointer<Float>) -> Void
) {
    let blocks = (plane + lrnBlock - 1) / lrnBlock, per = buffers * channels * lrnBlock
    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: Parallel.tasks * per)
    defer { scratch.deallocate() }
    parallelFor(batch * blocks) { task, b in
        let n = b / blocks, i0 = (b % blocks) * lrnBlock
        body(n, i0, min(lrnBlock, plane - i0), scratch + task * per)
    }
}

func lrn(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, channels: Int, plane: Int,
    size: Int, alpha: Float, beta: Float, bias: Float
) {
    lrnBlocks(batch: batch, channels: channels, plane: plane, buffers: 1) { n, i0, count, scale in
        let xn = x + n * channels * plane, yn = y + n * channels * plane
        lrnScales(
            xn, channels: channels, plane: plane, i0: i0, count: count, size: size, alpha: alpha, beta: beta, bias: bias,
            scale: scale, over: nil)
        for c in 0..<channels {
            let o = c * plane + i0
            for k in 0..<count { yn[o + k] = xn[o + k] * scale[c * count + k] }
        }
    }
}

func lrnBackward(
    x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
    batch: Int, channels: Int, plane: Int, size: Int, alpha: Float, beta: Float, bias: Float
) {
    let k2 = 2 * beta * alpha / Float(size)
    lrnBlocks(batch: batch, channels: channels, plane: plane, buffers: 3) { n, i0, count, scratch in
        let xn = x + n * channels * plane, dyn = dy + n * channels * plane, dxn = dx + n * channels * plane
        let scale = scratch, t = scratch + channels * count
        lrnScales(
            xn, channels: channels, plane: plane, i0: i0, count: count, size: size, alpha: alpha, beta: beta, bias: bias,
            scale: scale, over: t)
        // t[c] = dy[c]·x[c]·s[c]^(−beta−1)
        for c in 0..<channels {
            let o = c * plane + i0, tc = t + c * count
            for k in 0..<count { tc[k] *= dyn[o + k] * xn[o + k] }
        }
        let acc = t + channels * count
        for j in 0..<channels {
            let o = j * plane + i0, sj = scale + j * count
            acc.update(repeating: 0, count: count)
            for c in lrnContaining(j, channels: channels, size: size) {
                let tc = t + c * count
                for k in 0..<count { acc[k] += tc[k] }
            }
            for k in 0..<count { dxn[o + k] += dyn[o + k] * sj[k] - k2 * xn[o + k] * acc[k] }
        }
    }
}

// MARK: Oracles

private func lrnScaleNaive(
    _ x: UnsafePointer<Float>, c: Int, channels: Int, plane: Int, i: Int,
    size: Int, alpha: Float, bias: Float
) -> Float {
    var sq: Float = 0
    for k in lrnWindow(c, channels: channels, size: size) { let v = x[k * plane + i]; sq += v * v }
    return bias + alpha / Float(size) * sq
}

func lrnNaive(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, channels: Int, plane: Int,
    size: Int, alpha: Float, beta: Float, bias: Float
) {
    for p in 0..<batch * channels {
        let n = p / channels, c = p % channels
        let xn = x + n * channels * plane
        for i in 0..<plane {
            let s = lrnScaleNaive(xn, c: c, channels: channels, plane: plane, i: i, size: size, alpha: alpha, bias: bias)
            y[p * plane + i] = xn[c * plane + i] * pow(s, -beta)
        }
    }
}

func lrnBackwardNaive(
    x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
    batch: Int, channels: Int, plane: Int, size: Int, alpha: Float, beta: Float, bias: Float
) {
    for p in 0..<batch * channels {
        let n = p / channels, j = p % channels
        let xn = x + n * channels * plane, dyn = dy + n * channels * plane
        for i in 0..<plane {
            let sj = lrnScaleNaive(xn, c: j, channels: channels, plane: plane, i: i, size: size, alpha: alpha, bias: bias)
            var acc: Float = 0
            for c in lrnContaining(j, channels: channels, size: size) {
                let sc = lrnScaleNaive(xn, c: c, channels: channels, plane: plane, i: i, size: size, alpha: alpha, bias: bias)
                acc += dyn[c * plane + i] * xn[c * plane + i] * pow(sc, -beta - 1)
            }
            dx[p * plane + i] +=
                dyn[j * plane + i] * pow(sj, -beta)
                - 2 * beta * alpha / Float(size) * xn[j * plane + i] * acc
        }
    }
}
