@testable import Dream
import TestSupport
import XCTest

/// The direct convolution (DirectConv.swift) against the naive oracles, forward with bias and clip
/// and input gradient, over the shapes it takes: kxk, 1xk and kx1 kernels, pads from none to k − 1
/// and uneven, output channel counts off the tile's 8, planes from a single tile to many items, the
/// whole padded image and band-by-band padding.
/// Runs where the CPU has AVX-512 F (the path is off elsewhere).
final class DirectConvTests: XCTestCase {
    private struct Case { var n, c, h, w, o, kh, kw: Int; var s = 1; var padding: Padding }

    private static let bandRows = 4 * Parallel.tasks * 30 + 2
    private let cases: [Case] = [
        Case(n: 1, c: 8, h: 12, w: 12, o: 16, kh: 3, kw: 3, padding: .explicit(top: 1, left: 1, bottom: 1, right: 1)),
        Case(n: 2, c: 5, h: 9, w: 13, o: 12, kh: 3, kw: 3, padding: .valid),
        Case(n: 1, c: 6, h: 25, w: 25, o: 8, kh: 5, kw: 5, padding: .sameUpper),
        Case(n: 1, c: 9, h: 12, w: 12, o: 10, kh: 1, kw: 7, padding: .explicit(top: 0, left: 3, bottom: 0, right: 3)),
        Case(n: 1, c: 7, h: 12, w: 12, o: 9, kh: 7, kw: 1, padding: .explicit(top: 3, left: 0, bottom: 3, right: 0)),
        Case(n: 1, c: 3, h: 40, w: 61, o: 24, kh: 3, kw: 3, padding: .explicit(top: 2, left: 0, bottom: 1, right: 2)),
        Case(n: 1, c: 16, h: 3, w: 200, o: 8, kh: 3, kw: 2, padding: .explicit(top: 0, left: 1, bottom: 2, right: 0)),
        Case(n: 1, c: 4, h: 5, w: 5, o: 3, kh: 5, kw: 5, padding: .explicit(top: 4, left: 4, bottom: 4, right: 4)),
        // Just large enough that the forward (64 channels in), then the input gradient (64 out), pads
        // band by band: 4 bands of 30 rows of 128 (1 MB) per core.
        Case(n: 1, c: 64, h: DirectConvTests.bandRows, w: 128, o: 8, kh: 3, kw: 1, padding: .explicit(top: 1, left: 0, bottom: 1, right: 0)),
        Case(n: 1, c: 8, h: DirectConvTests.bandRows, w: 128, o: 64, kh: 3, kw: 1, padding: .explicit(top: 2, left: 0, bottom: 0, right: 0)),
        // Stride 2 (forward direct by phases; the input gradient stays im2col): odd and even
        // sizes and pads, the 7x7 GoogLeNet stem shape, an even kernel width, many channels.
        Case(n: 1, c: 3, h: 17, w: 23, o: 8, kh: 5, kw: 5, s: 2, padding: .valid),
        Case(n: 2, c: 4, h: 16, w: 30, o: 12, kh: 5, kw: 5, s: 2, padding: .sameUpper),
        Case(n: 1, c: 3, h: 31, w: 28, o: 16, kh: 7, kw: 7, s: 2, padding: .explicit(top: 3, left: 3, bottom: 3, right: 3)),
        Case(n: 1, c: 2, h: 19, w: 12, o: 8, kh: 5, kw: 6, s: 2, padding: .explicit(top: 0, left: 1, bottom: 2, right: 3)),
        Case(n: 1, c: 40, h: 25, w: 27, o: 24, kh: 3, kw: 3, s: 2, padding: .valid),
        // Items whose input rows pass 256 KB sweep the channels in chunks, adding up in scratch.
        Case(n: 1, c: 200, h: 40, w: 60, o: 20, kh: 3, kw: 3, s: 2, padding: .sameUpper),
        Case(n: 1, c: 300, h: 12, w: 30, o: 8, kh: 3, kw: 3, padding: .explicit(top: 1, left: 1, bottom: 1, right: 1)),
        // 1x1 (in place over the plane): whole tiles only; a partial last tile and a partial block;
        // many channels (8-tile chunks, two of them, and a tail); a plane smaller than one tile.
        Case(n: 1, c: 8, h: 12, w: 12, o: 16, kh: 1, kw: 1, padding: .valid),
        Case(n: 2, c: 5, h: 7, w: 9, o: 12, kh: 1, kw: 1, padding: .valid),
        Case(n: 1, c: 300, h: 20, w: 33, o: 24, kh: 1, kw: 1, padding: .valid),
        Case(n: 1, c: 40, h: 3, w: 5, o: 8, kh: 1, kw: 1, padding: .valid),
        // An expanding 1x1 over many items: its input gradient (64 channels in) needs more scratch
        // per core than its forward (4 in).
        Case(n: 1, c: 4, h: 60, w: 61, o: 64, kh: 1, kw: 1, padding: .valid)
    ]

    func testDirectConvMatchesNaiveForwardAndInputGradient() throws {
        try XCTSkipUnless(DirectConv.available, "the direct conv runs on AVX-512 CPUs only")
        let relu6: (lo: Float, hi: Float) = (0, 6)
        for (i, t) in cases.enumerated() {
            // Many taps: smaller weights, so that most outputs stay inside the clip (where they are compared).
            let taps = t.c * t.kh * t.kw, scale: Float = taps > 500 ? 3.2 / Float(taps).squareRoot() : 1
            let weight = randomTensor([t.o, t.c, t.kh, t.kw], seed: UInt64(110 + i), range: -scale...scale)
            let bias = randomTensor([t.o], seed: UInt64(120 + i))
            let g = convGeometry(
                input: [t.n, t.c, t.h, t.w], weight: weight.shape, strides: (t.s, t.s), dilations: (1, 1),
                padding: t.padding, groups: 1)
            XCTAssertTrue(DirectConv.runsForward(g), "case \(i) should run direct: \(g)")
            XCTAssertEqual(DirectConv.sweepsChannelsInChunks(g), t.c >= 200 && t.kh > 1, "case \(i): channel chunks")
            let padsInside = max(g.padTop, g.padBottom) < g.kH && max(g.padLeft, g.padRight) < g.kW
            XCTAssertEqual(DirectConv.runsBackward(g), t.s == 1 && padsInside, "case \(i): \(g)")
            let byBands = DirectConv.padsByBands(g)
            XCTAssertEqual(byBands.forward, t.h == Self.bandRows && t.c == 64, "case \(i): forward pads by bands")
            XCTAssertEqual(byBands.backward, t.h == Self.bandRows && t.o == 64, "case \(i): input gradient pads by bands")
            let x = randomTensor([t.n, t.c, t.h, t.w], seed: UInt64(130 + i), range: -2...3)
            let dy = randomTensor([t.n, t.o, g.outH, g.outW], seed: UInt64(140 + i))
            var fast = [Float](repeating: 0, count: dy.count), slow = fast
            var dxFast = [Float](repeating: 0.5, count: x.count), dxSlow = dxFast  // the gradient adds into dx
            // NaN: the kernel must not read scratch it did not write.
            // And a guard past the end: it must not write beyond the scratch it asked for.
            let guardValue: Float = 7.25e30, scratchCount = convColumnCount(g)
            var col = [Float](repeating: .nan, count: scratchCount) + [Float](repeating: guardValue, count: 256)
            x.data.withUnsafeBufferPointer { xp in
                weight.data.withUnsafeBufferPointer { wp in
                    bias.data.withUnsafeBufferPointer { bp in
                        dy.data.withUnsafeBufferPointer { dp in
                            col.withUnsafeMutableBufferPointer { cp in
                                let xb = xp.baseAddress!, wb = wp.baseAddress!, bb = bp.baseAddress!, db = dp.baseAddress!
                                let packed = DirectConvWeights(weight: wb, outC: t.o, inC: t.c, kH: t.kh, kW: t.kw, backward: t.s == 1)
                                fast.withUnsafeMutableBufferPointer {
                                    conv2d(g, x: xb, weight: wb, bias: bb, y: $0.baseAddress!, col: cp.baseAddress!, clip: relu6, direct: packed)
                                }
                                slow.withUnsafeMutableBufferPointer { conv2dNaive(g, x: xb, weight: wb, bias: bb, y: $0.baseAddress!) }
                                dxFast.withUnsafeMutableBufferPointer {
                                    conv2dBackward(g, dy: db, weight: wb, dx: $0.baseAddress!, col: cp.baseAddress!, direct: packed)
                                }
                                dxSlow.withUnsafeMutableBufferPointer { conv2dBackwardNaive(g, dy: db, weight: wb, dx: $0.baseAddress!) }
                            }
                        }
                    }
                }
            }
            XCTAssertEqual(col[scratchCount...].filter { $0 != guardValue }.count, 0, "case \(i): wrote past its scratch")
            assertClose(fast, slow.map { min(max($0, relu6.lo), relu6.hi) }, rtol: 1e-4, atol: 1e-4, "direct conv forward case \(i) \(g)")
            assertClose(dxFast, dxSlow, rtol: 1e-4, atol: 1e-4, "direct conv input gradient case \(i) \(g)")
            XCTAssertGreaterThan(fast.filter { $0 > 0 && $0 < 6 }.count, fast.count / 10, "case \(i): many outputs should be inside the clip")
        }
    }

    /// Which convs take the direct path: dense, undilated kxk; forward at stride 1 or 2, input
    /// gradient at stride 1 with pads inside the kernel; 1x1 at stride 1 unpadded.
    func testDirectConvTakesDenseKernelsOfStrideOneOrTwo() throws {
        try XCTSkipUnless(DirectConv.available, "the direct conv runs on AVX-512 CPUs only")
        func geometry(k: Int, stride: Int = 1, dilation: Int = 1, pad: Int = 1, groups: Int = 1, channels: Int = 8) -> ConvGeometry {
            convGeometry(
                input: [1, channels, 20, 20], weight: [8, channels / groups, k, k], strides: (stride, stride), dilations: (dilation, dilation),
                padding: .explicit(top: pad, left: pad, bottom: pad, right: pad), groups: groups)
        }
        XCTAssertTrue(DirectConv.runsForward(geometry(k: 3)) && DirectConv.runsBackward(geometry(k: 3)))
        XCTAssertTrue(DirectConv.runsForward(geometry(k: 3, stride: 2)))
        XCTAssertFalse(DirectConv.runsBackward(geometry(k: 3, stride: 2)))
        XCTAssertTrue(DirectConv.runsForward(geometry(k: 7, stride: 2, pad: 3, channels: 3)))
        XCTAssertFalse(DirectConv.runsBackward(geometry(k: 7, stride: 2, pad: 3, channels: 3)))
        XCTAssertFalse(DirectConv.runsForward(geometry(k: 3, stride: 3)))
        XCTAssertFalse(DirectConv.runsForward(geometry(k: 3, dilation: 2)))
        XCTAssertFalse(DirectConv.runsForward(geometry(k: 3, groups: 2)))
        XCTAssertTrue(DirectConv.runsForward(geometry(k: 1, pad: 0)) && DirectConv.runsBackward(geometry(k: 1, pad: 0)))
        XCTAssertFalse(DirectConv.runsForward(geometry(k: 1, pad: 1)))
        XCTAssertFalse(DirectConv.runsForward(geometry(k: 1, stride: 2, pad: 0)))
        XCTAssertFalse(DirectConv.runsForward(geometry(k: 1, stride: 2, pad: 0, channels: 3)))
        XCTAssertTrue(DirectConv.runsForward(geometry(k: 3, pad: 3)))
        XCTAssertFalse(DirectConv.runsBackward(geometry(k: 3, pad: 3)))
    }
}
