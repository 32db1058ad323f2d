/// The register tile of the direct convolution (Sources/Dream/Kernels/DirectConv.swift), compiled for
/// AVX-512 (this module's flags in Package.swift): the Dream module calls it only when the CPU has
/// AVX-512 F, and keeps everything else (padding, weight packing, threads, bias and clip) on its side.
///
/// For 8 output channels and `tiles`·48 consecutive flat positions p of a padded image:
///   out[i·outputStride + p] = Σ_c Σ_t weights[(c·taps + t)·8 + i] · input[c·channelStride + offsets[t] + p]
/// (`accumulate`: out plus that sum, the sum starting from out's value).
/// 24 accumulators (8 channels × 3 vectors of 16 positions) stay in zmm registers across the sums;
/// each (channel, tap) loads 3 input vectors and broadcasts 8 weights into 24 FMAs. The sums run in
/// a fixed order (channel, then tap), so every output is the same whichever thread computes it.
/// Reads input[c·channelStride + offsets[t] + p] for p up to tiles·48 − 1: the caller pads for that.

/// Output channels per tile (the weights are packed in groups of this many).
public let directConvTileChannels = 8
/// Consecutive flat output positions per tile.
public let directConvTilePositions = 48

#if arch(x86_64)
    private typealias V = SIMD16<Float>

    @inline(__always) private func load(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
    @inline(__always) private func store(_ v: V, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
    }

    /// `tiles` tiles of 8 channels × 48 positions (see the top of the file); weights [channels][taps][8].
    public func directConvTiles(
        input: UnsafePointer<Float>, channelStride: Int, channels: Int,
        offsets: UnsafePointer<Int>, taps: Int, weights: UnsafePointer<Float>,
        output: UnsafeMutablePointer<Float>, outputStride: Int, tiles: Int, accumulate: Bool = false
    ) {
        for tile in 0..<tiles {
            let p0 = tile * 48
            var a00 = V(), a01 = V(), a02 = V(), a10 = V(), a11 = V(), a12 = V()
            var a20 = V(), a21 = V(), a22 = V(), a30 = V(), a31 = V(), a32 = V()
            var a40 = V(), a41 = V(), a42 = V(), a50 = V(), a51 = V(), a52 = V()
            var a60 = V(), a61 = V(), a62 = V(), a70 = V(), a71 = V(), a72 = V()
            if accumulate {
                let o = UnsafePointer(output + p0), s = outputStride
                a00 = load(o); a01 = load(o + 16); a02 = load(o + 32)
                a10 = load(o + s); a11 = load(o + s + 16); a12 = load(o + s + 32)
                a20 = load(o + 2 * s); a21 = load(o + 2 * s + 16); a22 = load(o + 2 * s + 32)
                a30 = load(o + 3 * s); a31 = load(o + 3 * s + 16); a32 = load(o + 3 * s + 32)
                a40 = load(o + 4 * s); a41 = load(o + 4 * s + 16); a42 = load(o + 4 * s + 32)
                a50 = load(o + 5 * s); a51 = load(o + 5 * s + 16); a52 = load(o + 5 * s + 32)
                a60 = load(o + 6 * s); a61 = load(o + 6 * s + 16); a62 = load(o + 6 * s + 32)
                a70 = load(o + 7 * s); a71 = load(o + 7 * s + 16); a72 = load(o + 7 * s + 32)
            }
            var w = weights
            for c in 0..<channels {
                let plane = input + c * channelStride + p0
                for t in 0..<taps {
                    let p = plane + offsets[t]
                    let x0 = load(p), x1 = load(p + 16), x2 = load(p + 32)
                    var b = V(repeating: w[0])
                    a00 = a00.addingProduct(b, x0); a01 = a01.addingProduct(b, x1); a02 = a02.addingProduct(b, x2)
                    b = V(repeating: w[1])
                    a10 = a10.addingProduct(b, x0); a11 = a11.addingProduct(b, x1); a12 = a12.addingProduct(b, x2)
                    b = V(repeating: w[2])
                    a20 = a20.addingProduct(b, x0); a21 = a21.addingProduct(b, x1); a22 = a22.addingProduct(b, x2)
                    b = V(repeating: w[3])
                    a30 = a30.addingProduct(b, x0); a31 = a31.addingProduct(b, x1); a32 = a32.addingProduct(b, x2)
                    b = V(repeating: w[4])
                    a40 = a40.addingProduct(b, x0); a41 = a41.addingProduct(b, x1); a42 = a42.addingProduct(b, x2)
                    b = V(repeating: w[5])
                    a50 = a50.addingProduct(b, x0); a51 = a51.addingProduct(b, x1); a52 = a52.addingProduct(b, x2)
                    b = V(repeating: w[6])
                    a60 = a60.addingProduct(b, x0); a61 = a61.addingProduct(b, x1); a62 = a62.addingProduct(b, x2)
                    b = V(repeating: w[7])
                    a70 = a70.addingProduct(b, x0); a71 = a71.addingProduct(b, x1); a72 = a72.addingProduct(b, x2)
                    w += 8
                }
            }
            let o = output + p0, s = outputStride
            store(a00, o); store(a01, o + 16); store(a02, o + 32)
            store(a10, o + s); store(a11, o + s + 16); store(a12, o + s + 32)
            store(a20, o + 2 * s); store(a21, o + 2 * s + 16); store(a22, o + 2 * s + 32)
            store(a30, o + 3 * s); store(a31, o + 3 * s + 16); store(a32, o + 3 * s + 32)
            store(a40, o + 4 * s); store(a41, o + 4 * s + 16); store(a42, o + 4 * s + 32)
            store(a50, o + 5 * s); store(a51, o + 5 * s + 16); store(a52, o + 5 * s + 32)
            store(a60, o + 6 * s); store(a61, o + 6 * s + 16); store(a62, o + 6 * s + 32)
            store(a70, o + 7 * s); store(a71, o + 7 * s + 16); store(a72, o + 7 * s + 32)
        }
    }
    /// `tiles` narrow tiles of 8 channels × 16 positions, for the end of a row of positions where
    /// a whole 48-position tile would compute mostly dropped positions (a 12x12 plane is 156 flat
    /// positions: 4 wide tiles, or 3 and one narrow). 8 accumulators; the same sums in the same order.
    public func directConvTiles16(
        input: UnsafePointer<Float>, channelStride: Int, channels: Int,
        offsets: UnsafePointer<Int>, taps: Int, weights: UnsafePointer<Float>,
        output: UnsafeMutablePointer<Float>, outputStride: Int, tiles: Int, accumulate: Bool = false
    ) {
        for tile in 0..<tiles {
            let p0 = tile * 16, o = output + p0, s = outputStride
            var a0 = V(), a1 = V(), a2 = V(), a3 = V(), a4 = V(), a5 = V(), a6 = V(), a7 = V()
            if accumulate {
                let r = UnsafePointer(o)
                a0 = load(r); a1 = load(r + s); a2 = load(r + 2 * s); a3 = load(r + 3 * s)
                a4 = load(r + 4 * s); a5 = load(r + 5 * s); a6 = load(r + 6 * s); a7 = load(r + 7 * s)
            }
            var w = weights
            for c in 0..<channels {
                let plane = input + c * channelStride + p0
                for t in 0..<taps {
                    let x = load(plane + offsets[t])
                    a0 = a0.addingProduct(V(repeating: w[0]), x); a1 = a1.addingProduct(V(repeating: w[1]), x)
                    a2 = a2.addingProduct(V(repeating: w[2]), x); a3 = a3.addingProduct(V(repeating: w[3]), x)
                    a4 = a4.addingProduct(V(repeating: w[4]), x); a5 = a5.addingProduct(V(repeating: w[5]), x)
                    a6 = a6.addingProduct(V(repeating: w[6]), x); a7 = a7.addingProduct(V(repeating: w[7]), x)
                    w += 8
                }
            }
            store(a0, o); store(a1, o + s); store(a2, o + 2 * s); store(a3, o + 3 * s)
            store(a4, o + 4 * s); store(a5, o + 5 * s); store(a6, o + 6 * s); store(a7, o + 7 * s)
        }
    }
#else
    /// Not built off x86-64: `DirectConv.available` is false there.
    public func directConvTiles(
        input: UnsafePointer<Float>, channelStride: Int, channels: Int,
        offsets: UnsafePointer<Int>, taps: Int, weights: UnsafePointer<Float>,
        output: UnsafeMutablePointer<Float>, outputStride: Int, tiles: Int, accumulate: Bool = false
    ) {
        fatalError("directConvTiles needs x86-64 with AVX-512")
    }

    /// Not built off x86-64: `DirectConv.available` is false there.
    public func directConvTiles16(
        input: UnsafePointer<Float>, channelStride: Int, channels: Int,
        offsets: UnsafePointer<Int>, taps: Int, weights: UnsafePointer<Float>,
        output: UnsafeMutablePointer<Float>, outputStride: Int, tiles: Int, accumulate: Bool = false
    ) {
        fatalError("directConvTiles16 needs x86-64 with AVX-512")
    }
#endif
