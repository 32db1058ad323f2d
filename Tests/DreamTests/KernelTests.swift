@testable import Dream
import TestSupport
import XCTest

/// Fast kernels against their naive oracles on random shapes, and the padding rules.
final class KernelTests: XCTestCase {
    func testSamePaddingMatchesTensorFlow() {
        // Even input, stride 2: k3 pads (0, 1), k5 pads (1, 2); odd input: (1, 1) and (2, 2).
        XCTAssertEqual(resolveWindow(.sameUpper, axis: 0, n: 224, k: 3, s: 2, d: 1, ceilMode: false), AxisWindow(padBegin: 0, padEnd: 1, output: 112))
        XCTAssertEqual(resolveWindow(.sameUpper, axis: 0, n: 224, k: 5, s: 2, d: 1, ceilMode: false), AxisWindow(padBegin: 1, padEnd: 2, output: 112))
        XCTAssertEqual(resolveWindow(.sameUpper, axis: 1, n: 45, k: 5, s: 2, d: 1, ceilMode: false), AxisWindow(padBegin: 2, padEnd: 2, output: 23))
        XCTAssertEqual(resolveWindow(.sameLower, axis: 1, n: 224, k: 3, s: 2, d: 1, ceilMode: false), AxisWindow(padBegin: 1, padEnd: 0, output: 112))
        XCTAssertEqual(resolveWindow(.valid, axis: 0, n: 8, k: 3, s: 2, d: 1, ceilMode: true).output, 4)
        XCTAssertEqual(resolveWindow(.valid, axis: 0, n: 8, k: 3, s: 2, d: 1, ceilMode: false).output, 3)
    }

    private struct Case { var n, c, h, w, o, kh, kw, s, d, groups: Int; var padding: Padding }

    private let cases: [Case] = [
        Case(n: 1, c: 3, h: 17, w: 23, o: 8, kh: 3, kw: 3, s: 2, d: 1, groups: 1, padding: .sameUpper),
        Case(n: 2, c: 6, h: 9, w: 11, o: 4, kh: 3, kw: 5, s: 1, d: 2, groups: 2, padding: .explicit(top: 0, left: 3, bottom: 2, right: 1)),
        Case(n: 1, c: 16, h: 12, w: 10, o: 24, kh: 1, kw: 1, s: 1, d: 1, groups: 1, padding: .valid),
        Case(n: 2, c: 8, h: 13, w: 14, o: 8, kh: 5, kw: 5, s: 2, d: 1, groups: 8, padding: .sameUpper),
        Case(n: 1, c: 12, h: 20, w: 33, o: 12, kh: 3, kw: 3, s: 1, d: 1, groups: 12, padding: .sameUpper),
        Case(n: 1, c: 4, h: 10, w: 10, o: 4, kh: 3, kw: 3, s: 3, d: 2, groups: 4, padding: .explicit(top: 1, left: 2, bottom: 0, right: 3)),
        Case(n: 1, c: 5, h: 6, w: 7, o: 3, kh: 2, kw: 2, s: 2, d: 1, groups: 1, padding: .sameLower),
        // Depthwise rows wide enough for the SIMD8 path plus a scalar tail.
        Case(n: 1, c: 3, h: 11, w: 37, o: 3, kh: 5, kw: 5, s: 2, d: 1, groups: 3, padding: .sameUpper),
        Case(n: 2, c: 2, h: 9, w: 29, o: 2, kh: 3, kw: 3, s: 1, d: 2, groups: 2, padding: .explicit(top: 2, left: 1, bottom: 0, right: 3)),
        Case(n: 1, c: 4, h: 8, w: 40, o: 4, kh: 3, kw: 3, s: 3, d: 1, groups: 4, padding: .explicit(top: 1, left: 1, bottom: 1, right: 1)),
        // Rows of 32+ outputs: the four-accumulator SIMD path, strided and not.
        Case(n: 1, c: 2, h: 4, w: 75, o: 2, kh: 5, kw: 5, s: 2, d: 1, groups: 2, padding: .sameUpper),
        Case(n: 1, c: 3, h: 5, w: 70, o: 3, kh: 3, kw: 3, s: 1, d: 1, groups: 3, padding: .sameUpper),
        // Narrow planes and short row blocks: the remainder vectors grouped four at a time across
        // rows (14 wide: 4+4+4+2 rows; 80 wide: 32+32+16 columns over 3 rows; 28→14 strided; 9 wide).
        Case(n: 1, c: 5, h: 14, w: 14, o: 5, kh: 5, kw: 5, s: 1, d: 1, groups: 5, padding: .sameUpper),
        Case(n: 1, c: 3, h: 7, w: 80, o: 3, kh: 5, kw: 5, s: 1, d: 1, groups: 3, padding: .sameUpper),
        Case(n: 1, c: 4, h: 28, w: 28, o: 4, kh: 3, kw: 3, s: 2, d: 1, groups: 4, padding: .sameUpper),
        Case(n: 1, c: 2, h: 6, w: 9, o: 2, kh: 3, kw: 3, s: 1, d: 1, groups: 2, padding: .sameUpper),
        // Stride 2 with an odd left pad over rows of 16+ inputs: the SIMD deinterleave of the forward
        // row ring and the interleaving store of the backward pass, with their scalar tails.
        Case(n: 1, c: 3, h: 9, w: 53, o: 3, kh: 3, kw: 3, s: 2, d: 1, groups: 3, padding: .explicit(top: 1, left: 1, bottom: 1, right: 1)),
        Case(n: 2, c: 2, h: 12, w: 68, o: 2, kh: 3, kw: 3, s: 2, d: 1, groups: 2, padding: .sameUpper),
        Case(n: 1, c: 2, h: 11, w: 80, o: 2, kh: 5, kw: 5, s: 2, d: 2, groups: 2, padding: .sameLower),
        // Stride 2 down, 1 across: the backward scatter fallback, over wide rows.
        Case(n: 1, c: 2, h: 9, w: 41, o: 2, kh: 3, kw: 3, s: 1, d: 1, groups: 2, padding: .explicit(top: 3, left: 0, bottom: 1, right: 2)),
        // Stride 1 with more padding than the kernel reaches: the scatter fallback of the backward pass.
        Case(n: 1, c: 3, h: 5, w: 20, o: 3, kh: 1, kw: 1, s: 1, d: 1, groups: 3, padding: .explicit(top: 1, left: 2, bottom: 1, right: 0))
    ]

    func testFastConvMatchesNaiveForwardAndBackward() {
        for (i, t) in cases.enumerated() {
            let weight = randomTensor([t.o, t.c / t.groups, t.kh, t.kw], seed: UInt64(10 + i))
            let bias = randomTensor([t.o], seed: UInt64(20 + i))
            let g = convGeometry(
                input: [t.n, t.c, t.h, t.w], weight: weight.shape, strides: (t.s, t.s),
                dilations: (t.d, t.d), padding: t.padding, groups: t.groups)
            let x = randomTensor([t.n, t.c, t.h, t.w], seed: UInt64(30 + i))
            let dy = randomTensor([t.n, t.o, g.outH, g.outW], seed: UInt64(40 + i))
            let outCount = dy.count
            var fast = [Float](repeating: 0, count: outCount), slow = fast
            var dxFast = [Float](repeating: 0.5, count: x.count), dxSlow = dxFast  // backward adds into dx
            // NaN: kernels must not read scratch they did not write.
            var col = [Float](repeating: .nan, count: max(convColumnCount(g), depthwiseScratchCount(g), 1))
            x.data.withUnsafeBufferPointer { xp in
                weight.data.withUnsafeBufferPointer { wp in
                    bias.data.withUnsafeBufferPointer { bp in
                        dy.data.withUnsafeBufferPointer { dp in
                            col.withUnsafeMutableBufferPointer { cp in
                                let xb = xp.baseAddress!, wb = wp.baseAddress!, bb = bp.baseAddress!, db = dp.baseAddress!, cb = cp.baseAddress!
                                fast.withUnsafeMutableBufferPointer {
                                    if g.isDepthwise {
                                        depthwiseConv2d(g, x: xb, weight: wb, bias: bb, y: $0.baseAddress!, scratch: cb)
                                    } else {
                                        conv2d(g, x: xb, weight: wb, bias: bb, y: $0.baseAddress!, col: cb)
                                    }
                                }
                                slow.withUnsafeMutableBufferPointer { conv2dNaive(g, x: xb, weight: wb, bias: bb, y: $0.baseAddress!) }
                                dxFast.withUnsafeMutableBufferPointer {
                                    if g.isDepthwise {
                                        depthwiseConv2dBackward(g, dy: db, weight: wb, dx: $0.baseAddress!, scratch: cb)
                                    } else {
                                        conv2dBackward(g, dy: db, weight: wb, dx: $0.baseAddress!, col: cb)
                                    }
                                }
                                dxSlow.withUnsafeMutableBufferPointer { conv2dBackwardNaive(g, dy: db, weight: wb, dx: $0.baseAddress!) }
                            }
                        }
                    }
                }
            }
            assertClose(fast, slow, rtol: 1e-4, atol: 1e-4, "conv forward case \(i) \(g)")
            assertClose(dxFast, dxSlow, rtol: 1e-4, atol: 1e-4, "conv input gradient case \(i) \(g)")
        }
    }

    /// Depthwise input gradients with dy masked by the conv's own clip, dx masked by its producer's
    /// clip, and dx stored over garbage instead of added, on every backward path, against the naive
    /// gradient with the masks applied by hand.
    func testDepthwiseBackwardMasksAndStoreModes() {
        let geometries: [(h: Int, w: Int, k: Int, s: (Int, Int), padding: Padding)] = [
            (13, 45, 3, (1, 1), .sameUpper),  // stride-1 ring
            (14, 70, 5, (2, 2), .sameUpper),  // strided ring, 2 phases
            (10, 40, 3, (3, 3), .explicit(top: 1, left: 2, bottom: 0, right: 3)),  // strided, 3 phases
            (9, 41, 3, (2, 1), .explicit(top: 3, left: 0, bottom: 1, right: 2))  // scatter fallback
        ]
        for (i, t) in geometries.enumerated() {
            let c = 3
            let weight = randomTensor([c, 1, t.k, t.k], seed: UInt64(60 + i))
            let g = convGeometry(input: [1, c, t.h, t.w], weight: weight.shape, strides: t.s, dilations: (1, 1), padding: t.padding, groups: c)
            let dy = randomTensor([1, c, g.outH, g.outW], seed: UInt64(70 + i))
            let y = randomTensor([1, c, g.outH, g.outW], seed: UInt64(80 + i), range: -0.5...1.5)  // this conv's output
            let x = randomTensor([1, c, t.h, t.w], seed: UInt64(90 + i), range: -0.5...1.5)  // its producer's output
            let maskedDy = zip(dy.data, y.data).map { $0.1 > 0 && $0.1 < 1 ? $0.0 : 0 }
            var expected = [Float](repeating: 0, count: x.count)
            weight.data.withUnsafeBufferPointer { wp in
                maskedDy.withUnsafeBufferPointer { dp in
                    expected.withUnsafeMutableBufferPointer {
                        conv2dBackwardNaive(g, dy: dp.baseAddress!, weight: wp.baseAddress!, dx: $0.baseAddress!)
                    }
                }
            }
            let maskedExpected = zip(expected, x.data).map { $0.1 > 0 && $0.1 < 1 ? $0.0 : 0 }
            for (accumulate, masked) in [(true, false), (false, false), (false, true), (true, true)] {
                let start: Float = accumulate ? 0.25 : .nan
                var dx = [Float](repeating: start, count: x.count)
                var scratch = [Float](repeating: .nan, count: depthwiseScratchCount(g))
                weight.data.withUnsafeBufferPointer { wp in
                    dy.data.withUnsafeBufferPointer { dp in
                        y.data.withUnsafeBufferPointer { yp in
                            x.data.withUnsafeBufferPointer { xp in
                                scratch.withUnsafeMutableBufferPointer { sp in
                                    dx.withUnsafeMutableBufferPointer {
                                        let store = GradientStore(
                                            accumulate: accumulate, mask: masked ? ClipMask(values: xp.baseAddress!, lo: 0, hi: 1) : nil)
                                        depthwiseConv2dBackward(
                                            g, dy: dp.baseAddress!, weight: wp.baseAddress!, dx: $0.baseAddress!, scratch: sp.baseAddress!,
                                            dyMask: ClipMask(values: yp.baseAddress!, lo: 0, hi: 1), store: store)
                                    }
                                }
                            }
                        }
                    }
                }
                let want = (masked ? maskedExpected : expected).map { $0 + (accumulate ? 0.25 : 0) }
                assertClose(dx, want, rtol: 1e-4, atol: 1e-4, "depthwise backward case \(i) accumulate \(accumulate) masked \(masked) \(g)")
            }
        }
    }

    /// Pointwise convs wider than one column block (2 images, 3 blocks, the last partial), with and
    /// without bias and fused clip, against the naive conv followed by a clamp.
    func testBlockedPointwiseConvWithFusedClipMatchesNaive() {
        let c = 5, o = 300, h = 60, w = 61
        XCTAssertGreaterThan(h * w, 2 * pointwiseBlockColumns(outC: o), "the case must span several column blocks")
        XCTAssertGreaterThan(o * h * w, 1 << 20, "the case must be large enough to be blocked")
        let weight = randomTensor([o, c, 1, 1], seed: 7), bias = randomTensor([o], seed: 8)
        let x = randomTensor([2, c, h, w], seed: 9)
        let g = convGeometry(input: x.shape, weight: weight.shape, strides: (1, 1), dilations: (1, 1), padding: .valid, groups: 1)
        assertForwardMatchesNaive(
            g, x: x, weight: weight, bias: bias,
            variants: [(true, (lo: -0.3, hi: 0.4)), (false, (lo: 0, hi: 6)), (true, nil)], "blocked pointwise conv")
    }

    /// The banded im2col path (single-group, non-pointwise convs): several bands, a partial last band,
    /// stride 1 and 2 (the vectorised stride-2 im2col/col2im with rows long enough for SIMD and a tail),
    /// padding on either side, dilation and a kernel taller than a band's stride; forward with and
    /// without bias and fused clip, backward adding into dx.
    func testBandedConvMatchesNaive() {
        let cases: [Case] = [
            Case(n: 1, c: 3, h: 142, w: 150, o: 32, kh: 3, kw: 3, s: 2, d: 1, groups: 1, padding: .sameUpper),  // stem-like
            Case(n: 2, c: 3, h: 560, w: 61, o: 5, kh: 3, kw: 3, s: 2, d: 1, groups: 1, padding: .sameLower),
            Case(n: 1, c: 2, h: 300, w: 70, o: 4, kh: 5, kw: 5, s: 2, d: 2, groups: 1, padding: .explicit(top: 3, left: 1, bottom: 0, right: 4)),
            Case(n: 1, c: 4, h: 95, w: 37, o: 6, kh: 7, kw: 3, s: 1, d: 1, groups: 1, padding: .sameUpper),
            Case(n: 1, c: 3, h: 1750, w: 45, o: 4, kh: 3, kw: 3, s: 3, d: 1, groups: 1, padding: .explicit(top: 1, left: 1, bottom: 1, right: 1))
        ]
        for (i, t) in cases.enumerated() {
            let weight = randomTensor([t.o, t.c, t.kh, t.kw], seed: UInt64(50 + i)), bias = randomTensor([t.o], seed: UInt64(60 + i))
            let g = convGeometry(
                input: [t.n, t.c, t.h, t.w], weight: weight.shape, strides: (t.s, t.s),
                dilations: (t.d, t.d), padding: t.padding, groups: 1)
            XCTAssertGreaterThanOrEqual(g.outH, 2 * convBandRows(g) + 1, "case \(i) must span several bands, the last partial")
            XCTAssertNotEqual(g.outH % convBandRows(g), 0, "case \(i) must end in a partial band")
            let x = randomTensor([t.n, t.c, t.h, t.w], seed: UInt64(70 + i))
            let dy = randomTensor([t.n, t.o, g.outH, g.outW], seed: UInt64(80 + i))
            assertForwardMatchesNaive(
                g, x: x, weight: weight, bias: bias,
                variants: [(true, (lo: 0, hi: 0.5)), (false, nil), (true, nil)], "banded conv case \(i) \(g)")
            assertBackwardMatchesNaive(g, dy: dy, weight: weight, inputCount: x.count, "banded conv input gradient case \(i) \(g)")
        }
    }

    /// Pointwise convs that run as two single-threaded sgemms on column halves (few output rows, a deep
    /// inner dimension, many columns — an odd count, so the halves differ), forward with and without
    /// bias and clip, and the input gradient of the mirrored shape.
    func testSplitPointwiseConvMatchesNaive() {
        let h = 181, w = 183
        for (c, o) in [(144, 24), (24, 144)] {
            let weight = randomTensor([o, c, 1, 1], seed: 17), bias = randomTensor([o], seed: 18)
            let x = randomTensor([1, c, h, w], seed: 19), dy = randomTensor([1, o, h, w], seed: 20)
            let g = convGeometry(input: x.shape, weight: weight.shape, strides: (1, 1), dilations: (1, 1), padding: .valid, groups: 1)
            if c == 144 {
                XCTAssertTrue(pointwiseSplitPays(m: o, n: h * w, k: c), "the forward case must take the split path")
                assertForwardMatchesNaive(
                    g, x: x, weight: weight, bias: bias, variants: [(true, (lo: -0.3, hi: 0.4)), (false, nil)],
                    "split pointwise conv")
            } else {
                XCTAssertTrue(pointwiseSplitPays(m: c, n: h * w, k: o), "the backward case must take the split path")
                assertBackwardMatchesNaive(g, dy: dy, weight: weight, inputCount: x.count, "split pointwise conv input gradient")
            }
        }
    }

    /// The fused inverted-residual forward (expand + ReLU6 → depthwise + ReLU6 → project [+ residual])
    /// against the kernels run one after another: one and several stripes, one- and many-row bands (a
    /// small budget) so the window keeps and shifts rows, strides 1 and 2, 3x3 and 5x5, SAME and
    /// explicit padding, a single output row, no expand conv, and the residual add where shapes allow.
    /// Each case runs split by rows and split by channels (the small-plane strategy).
    /// With E and D kept they must match too; without, they stay untouched (NaN).
    func testInvertedResidualMatchesTheUnfusedConvs() {
        struct IRCase { let cin, ce, cout, h, w, k, s: Int; let padding: Padding; let budget: Int; var expand = true }
        let big = InvertedResidual.workerBudget
        let cases = [
            IRCase(cin: 3, ce: 8, cout: 3, h: 13, w: 11, k: 3, s: 1, padding: .sameUpper, budget: 1),
            IRCase(cin: 4, ce: 6, cout: 3, h: 17, w: 16, k: 3, s: 2, padding: .sameUpper, budget: 6 * 120),
            IRCase(cin: 2, ce: 5, cout: 4, h: 70, w: 19, k: 5, s: 2, padding: .sameUpper, budget: 5 * 200),
            IRCase(cin: 3, ce: 4, cout: 3, h: 40, w: 9, k: 5, s: 1, padding: .explicit(top: 2, left: 2, bottom: 2, right: 2), budget: 4 * 60),
            IRCase(cin: 3, ce: 4, cout: 2, h: 1, w: 7, k: 3, s: 1, padding: .sameUpper, budget: big),
            IRCase(cin: 16, ce: 96, cout: 24, h: 37, w: 64, k: 3, s: 2, padding: .sameUpper, budget: big),
            IRCase(cin: 24, ce: 144, cout: 40, h: 150, w: 200, k: 5, s: 2, padding: .sameUpper, budget: big),
            IRCase(cin: 6, ce: 6, cout: 4, h: 45, w: 21, k: 3, s: 1, padding: .sameUpper, budget: 6 * 50, expand: false),
            IRCase(cin: 5, ce: 5, cout: 5, h: 9, w: 33, k: 5, s: 1, padding: .sameUpper, budget: big, expand: false)
        ]
        var sawManyBands = false, sawFourStripes = false, sawResidual = (false, false)
        for (i, t) in cases.enumerated() {
            let x = randomTensor([1, t.cin, t.h, t.w], seed: UInt64(200 + i), range: -8...8)
            let we = randomTensor([t.ce, t.cin, 1, 1], seed: UInt64(210 + i)), be = randomTensor([t.ce], seed: UInt64(220 + i))
            let wd = randomTensor([t.ce, 1, t.k, t.k], seed: UInt64(230 + i)), bd = randomTensor([t.ce], seed: UInt64(240 + i))
            let wp = randomTensor([t.cout, t.ce, 1, 1], seed: UInt64(250 + i)), bp = randomTensor([t.cout], seed: UInt64(260 + i))
            let ge = convGeometry(input: x.shape, weight: we.shape, strides: (1, 1), dilations: (1, 1), padding: .valid, groups: 1)
            let gd = convGeometry(
                input: [1, t.ce, t.h, t.w], weight: wd.shape, strides: (t.s, t.s), dilations: (1, 1),
                padding: t.padding, groups: t.ce)
            let gp = convGeometry(
                input: [1, t.ce, gd.outH, gd.outW], weight: wp.shape, strides: (1, 1), dilations: (1, 1),
                padding: .valid, groups: 1)
            XCTAssertTrue(InvertedResidual.fits(t.expand ? ge : nil, gd, gp), "case \(i) must be a fusable block")
            let relu6: (lo: Float, hi: Float) = (0, 6)
            var e = t.expand ? [Float](repeating: .nan, count: t.ce * t.h * t.w) : x.data
            var d = [Float](repeating: .nan, count: t.ce * gd.outPlane), y = [Float](repeating: .nan, count: t.cout * gp.outPlane)
            var scratch = [Float](repeating: .nan, count: max(depthwiseScratchCount(gd), 1))
            [x, we, be, wd, bd, wp, bp].withUnsafePointers { p in
                e.withUnsafeMutableBufferPointer { ep in
                    d.withUnsafeMutableBufferPointer { dp in
                        y.withUnsafeMutableBufferPointer { yp in
                            scratch.withUnsafeMutableBufferPointer { sp in
                                if t.expand { conv2d(ge, x: p[0], weight: p[1], bias: p[2], y: ep.baseAddress!, col: nil, clip: relu6) }
                                depthwiseConv2d(
                                    gd, x: ep.baseAddress!, weight: p[3], bias: p[4], y: dp.baseAddress!, scratch: sp.baseAddress!, clip: relu6)
                                conv2d(gp, x: dp.baseAddress!, weight: p[5], bias: p[6], y: yp.baseAddress!, col: nil)
                            }
                        }
                    }
                }
            }
            if t.expand { XCTAssertTrue(e.contains(0) && e.contains(6), "case \(i): the expand clip must be hit at both bounds") }
            let residualFits = t.cin == t.cout && t.s == 1
            for keep in [true, false] {
                for (residual, byChannels) in (residualFits ? [false, true] : [false]).flatMap({ r in [(r, false), (r, true)] }) {
                    var fe = [Float](repeating: .nan, count: t.ce * t.h * t.w), fd = [Float](repeating: .nan, count: d.count)
                    var fy = [Float](repeating: .nan, count: y.count)
                    let block = [x, we, be, wd, bd, wp, bp].withUnsafePointers { p in
                        let b = InvertedResidual(
                            expand: t.expand ? ConvLayer(g: ge, weight: p[1], bias: p[2], clip: relu6) : nil,
                            depthwise: ConvLayer(g: gd, weight: p[3], bias: p[4], clip: relu6),
                            project: ConvLayer(g: gp, weight: p[5], bias: p[6], clip: nil), budget: t.budget,
                            channelSplitLimit: byChannels ? .max : 0)
                        XCTAssertEqual(b.splitsChannels, byChannels)
                        var fs = [Float](repeating: .nan, count: b.scratchCount)
                        fe.withUnsafeMutableBufferPointer { ep in
                            fd.withUnsafeMutableBufferPointer { dp in
                                fy.withUnsafeMutableBufferPointer { yp in
                                    fs.withUnsafeMutableBufferPointer { sp in
                                        b.forward(
                                            x: p[0], e: keep ? ep.baseAddress! : nil, d: keep ? dp.baseAddress! : nil,
                                            y: yp.baseAddress!, residual: residual ? p[0] : nil, scratch: sp.baseAddress!)
                                    }
                                }
                            }
                        }
                        return (stripes: b.stripes, bandRows: b.bandRows)
                    }
                    if !byChannels && block.bandRows < (gd.outH + block.stripes - 1) / block.stripes { sawManyBands = true }
                    if block.stripes == 4 { sawFourStripes = true }
                    if residual { if t.expand { sawResidual.0 = true } else { sawResidual.1 = true } }
                    let what =
                        "case \(i) keep \(keep) residual \(residual) "
                        + (byChannels ? "(channel split)" : "(\(block.stripes) stripes of \(block.bandRows)-row bands)")
                    let expected = residual ? zip(y, x.data).map { $0 + $1 } : y
                    assertClose(fy, expected, rtol: 1e-4, atol: 1e-4, "\(what): block output")
                    if keep {
                        if t.expand { assertClose(fe, e, rtol: 1e-5, atol: 1e-5, "\(what): E") }
                        assertClose(fd, d, rtol: 1e-5, atol: 1e-5, "\(what): D")
                    } else {
                        XCTAssertTrue(fe.allSatisfy(\.isNaN) && fd.allSatisfy(\.isNaN), "\(what): E and D must not be written")
                    }
                    if !t.expand { XCTAssertTrue(fe.allSatisfy(\.isNaN), "\(what): no E without an expand conv") }
                }
            }
        }
        XCTAssertTrue(
            sawManyBands && sawFourStripes && sawResidual.0 && sawResidual.1,
            "the cases must cover multi-band stripes, 4 stripes, and residuals with and without expand")
    }

    /// `conv2d` (non-depthwise) against `conv2dNaive` followed by the clamp, for each (bias, fused
    /// clip) variant; output and `col` scratch start as NaN.
    private func assertForwardMatchesNaive(
        _ g: ConvGeometry, x: Tensor, weight: Tensor, bias: Tensor,
        variants: [(useBias: Bool, clip: (lo: Float, hi: Float)?)], _ reason: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        var col = [Float](repeating: .nan, count: max(convColumnCount(g), 1))
        for (useBias, clip) in variants {
            var fast = [Float](repeating: .nan, count: g.batch * g.outC * g.outPlane), slow = fast
            x.data.withUnsafeBufferPointer { xp in
                weight.data.withUnsafeBufferPointer { wp in
                    bias.data.withUnsafeBufferPointer { bp in
                        let b = useBias ? bp.baseAddress! : nil
                        fast.withUnsafeMutableBufferPointer { f in
                            col.withUnsafeMutableBufferPointer { c in
                                conv2d(
                                    g, x: xp.baseAddress!, weight: wp.baseAddress!, bias: b, y: f.baseAddress!,
                                    col: convColumnCount(g) > 0 ? c.baseAddress! : nil, clip: clip)
                            }
                        }
                        slow.withUnsafeMutableBufferPointer {
                            conv2dNaive(g, x: xp.baseAddress!, weight: wp.baseAddress!, bias: b, y: $0.baseAddress!)
                        }
                    }
                }
            }
            if let clip { slow = slow.map { min(max($0, clip.lo), clip.hi) } }
            assertClose(
                fast, slow, rtol: 1e-4, atol: 1e-4, "\(reason): bias \(useBias) clip \(String(describing: clip))",
                file: file, line: line)
        }
    }

    /// `conv2dBackward` (non-depthwise) against `conv2dBackwardNaive`, both adding into dx = 0.5.
    private func assertBackwardMatchesNaive(
        _ g: ConvGeometry, dy: Tensor, weight: Tensor, inputCount: Int, _ reason: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        var col = [Float](repeating: .nan, count: max(convColumnCount(g), 1))
        var dxFast = [Float](repeating: 0.5, count: inputCount), dxSlow = dxFast
        dy.data.withUnsafeBufferPointer { dp in
            weight.data.withUnsafeBufferPointer { wp in
                dxFast.withUnsafeMutableBufferPointer { d in
                    col.withUnsafeMutableBufferPointer { c in
                        conv2dBackward(
                            g, dy: dp.baseAddress!, weight: wp.baseAddress!, dx: d.baseAddress!,
                            col: convColumnCount(g) > 0 ? c.baseAddress! : nil)
                    }
                }
                dxSlow.withUnsafeMutableBufferPointer { conv2dBackwardNaive(g, dy: dp.baseAddress!, weight: wp.baseAddress!, dx: $0.baseAddress!) }
            }
        }
        assertClose(dxFast, dxSlow, rtol: 1e-4, atol: 1e-4, reason, file: file, line: line)
    }

    /// The bilinear warp (taps once per pixel, shared by the channels) against `sampleBilinear` per
    /// channel, with source points inside, on and beyond every edge.
    func testBilinearWarpMatchesPerChannelSampling() {
        let (c, h, w, oh, ow) = (3, 7, 11, 9, 13)
        let image = randomTensor([1, c, h, w], seed: 5)
        var g = SeededGenerator(seed: 6)
        let sx = (0..<(oh * ow)).map { _ in Float.random(in: -2...Float(w + 1), using: &g) }
        var sy = (0..<(oh * ow)).map { _ in Float.random(in: -2...Float(h + 1), using: &g) }
        sy[0] = Float(h - 1); sy[1] = 0
        let warped = warp(image, height: oh, width: ow, sourceX: sx, sourceY: sy)
        image.data.withUnsafeBufferPointer { p in
            for ch in 0..<c {
                let plane = UnsafeBufferPointer(rebasing: p[(ch * h * w)..<((ch + 1) * h * w)])
                for i in 0..<(oh * ow) {
                    XCTAssertEqual(
                        warped.data[ch * oh * ow + i], sampleBilinear(plane, width: w, height: h, x: sx[i], y: sy[i]),
                        "channel \(ch) pixel \(i)")
                }
            }
        }
    }

    func testBroadcastAddMatchesExplicitLoop() {
        let a = randomTensor([2, 3, 4, 5], seed: 1), b = randomTensor([3, 1, 1], seed: 2)
        var y = [Float](repeating: 0, count: a.count)
        a.data.withUnsafeBufferPointer { ap in
            b.data.withUnsafeBufferPointer { bp in
                y.withUnsafeMutableBufferPointer {
                    binary(.add, a: ap.baseAddress!, aShape: a.shape, b: bp.baseAddress!, bShape: b.shape, y: $0.baseAddress!, outShape: a.shape)
                }
            }
        }
        let want = (0..<a.count).map { a.data[$0] + b.data[($0 / 20) % 3] }
        assertClose(y, want, rtol: 0, atol: 0, "per-channel broadcast add")
        XCTAssertNil(broadcastShape([2, 3], [4]))
        XCTAssertEqual(broadcastShape([2, 1, 5], [3, 1]), [2, 3, 5])
    }

    func testMaxPoolPicksWindowMaximumAndRoutesGradient() throws {
        let x = Tensor(shape: [1, 1, 2, 4], data: [1, 5, 2, 0, 3, 4, 9, 8])
        let net = try Network(
            graph: Graph(
                input: "x", inputChannels: 1,
                nodes: [
                    Node(name: "p", op: .maxPool(PoolParams(kernel: (2, 2), strides: (2, 2), padding: .valid)), inputs: ["x"], output: "y")
                ],
                outputs: ["y"]))
        XCTAssertEqual(try net.forward(x, outputs: ["y"])["y"]!.data, [5, 9])
        let g = try net.gradient(of: x, layers: ["y"]) { _, a in (0, Tensor(shape: a.shape, data: [1, 2])) }
        XCTAssertEqual(g.gradient.data, [0, 1, 0, 0, 0, 0, 2, 0])
    }

    func testFastMaxPoolMatchesNaiveValuesAndArgmax() {
        // Ties (values on a coarse grid) check that the SIMD rows keep the first largest tap.
        for (i, c) in poolCases(shapes: [[2, 3, 29, 53]]).enumerated() {
            let (shape, p) = (c.shape, c.pool)
            var x = randomTensor(shape, seed: UInt64(60 + i))
            for j in 0..<x.count { x.data[j] = (x.data[j] * 4).rounded() }
            let g = convGeometry(
                input: shape, weight: [3, 1, p.k, p.k], strides: (p.s, p.s), dilations: (1, 1), padding: p.padding,
                groups: shape[1], ceilMode: p.ceil)
            let n = g.batch * g.inC * g.outPlane
            var y = [Float](repeating: 0, count: n), want = y, values = y
            var arg = [Int32](repeating: 0, count: n), wantArg = arg
            x.data.withUnsafeBufferPointer { xp in
                maxPool(g, x: xp.baseAddress!, y: &y, argmax: &arg)
                maxPool(g, x: xp.baseAddress!, y: &values, argmax: nil)
                maxPoolNaive(g, x: xp.baseAddress!, y: &want, argmax: &wantArg)
            }
            XCTAssertEqual(y, want, "pool \(i) \(shape) values")
            XCTAssertEqual(arg, wantArg, "pool \(i) \(shape) argmax")
            XCTAssertEqual(values, want, "pool \(i) \(shape) values without argmax")
        }
    }

    /// The pools the fast paths take: `odd` (row by row), then stride-1 windows whose output plane
    /// is the input plane (`SameWindows`, whole planes) on `shapes` and on small planes (12x12 and
    /// 25x25 are InceptionV3's at 224x224; 2x3 is narrower than the windows).
    private func poolCases(shapes: [[Int]]) -> [(shape: [Int], pool: (k: Int, s: Int, padding: Padding, ceil: Bool))] {
        typealias Pool = (k: Int, s: Int, padding: Padding, ceil: Bool)
        let odd: [Pool] = [
            (3, 2, .explicit(top: 0, left: 0, bottom: 1, right: 1), false),  // zoo GoogLeNet
            (3, 2, .valid, true), (2, 2, .valid, false), (3, 3, .explicit(top: 1, left: 2, bottom: 0, right: 1), false),
            (5, 2, .sameUpper, false), (5, 1, .explicit(top: 2, left: 1, bottom: 0, right: 3), false),
            (3, 1, .valid, false), (4, 1, .explicit(top: 3, left: 0, bottom: 1, right: 2), false)
        ]
        let same: [Pool] = [
            (3, 1, .explicit(top: 1, left: 1, bottom: 1, right: 1), false),  // inception pool branch
            (5, 1, .explicit(top: 2, left: 2, bottom: 2, right: 2), false), (4, 1, .explicit(top: 1, left: 2, bottom: 2, right: 1), false),
            (1, 1, .valid, false)
        ]
        let small = [[1, 5, 12, 12], [1, 2, 25, 25], [2, 3, 2, 3]]
        return shapes.flatMap { shape in odd.map { (shape, $0) } } + (shapes + small).flatMap { shape in same.map { (shape, $0) } }
    }

    func testFastAveragePoolMatchesNaiveForwardAndBackward() {
        // Both divisors (valid taps; taps inside input + padding) for every pool.
        let cases = poolCases(shapes: [[2, 3, 29, 53]]).flatMap { [($0.shape, $0.pool, false), ($0.shape, $0.pool, true)] }
        for (i, (shape, p, include)) in cases.enumerated() {
            let x = randomTensor(shape, seed: UInt64(100 + 3 * i))
            let g = convGeometry(
                input: shape, weight: [3, 1, p.k, p.k], strides: (p.s, p.s), dilations: (1, 1), padding: p.padding,
                groups: shape[1], ceilMode: p.ceil)
            let dy = randomTensor([shape[0], shape[1], g.outH, g.outW], seed: UInt64(101 + 3 * i))
            let start = randomTensor(shape, seed: UInt64(102 + 3 * i))
            var y = [Float](repeating: 0, count: dy.count), want = y
            var dx = start.data, wantDx = start.data
            x.data.withUnsafeBufferPointer { xp in
                dy.data.withUnsafeBufferPointer { dp in
                    averagePool(g, x: xp.baseAddress!, y: &y, countIncludePad: include)
                    averagePoolNaive(g, x: xp.baseAddress!, y: &want, countIncludePad: include)
                    averagePoolBackward(g, dy: dp.baseAddress!, dx: &dx, countIncludePad: include)
                    averagePoolBackwardNaive(g, dy: dp.baseAddress!, dx: &wantDx, countIncludePad: include)
                }
            }
            assertClose(y, want, rtol: 1e-6, atol: 1e-6, "pool \(i) \(shape) forward")  // summed down, then across
            assertClose(dx, wantDx, rtol: 1e-5, atol: 1e-6, "pool \(i) \(shape) backward")
        }
    }

    func testFastLRNMatchesNaiveForwardAndBackward() {
        // 13x11 pixels: two 64-pixel blocks and a tail of 15 (one SIMD8 and 7 scalars).
        let params: [(size: Int, alpha: Float, beta: Float, bias: Float)] = [(5, 1e-2, 0.75, 1), (4, 0.5, 0.6, 2)]
        for (i, p) in params.enumerated() {
            let batch = 2, channels = 7, plane = 13 * 11
            let x = randomTensor([batch, channels, 13, 11], seed: UInt64(70 + i), range: -3...3)
            let dy = randomTensor(x.shape, seed: UInt64(80 + i))
            let start = randomTensor(x.shape, seed: UInt64(90 + i))
            var y = [Float](repeating: 0, count: x.count), want = y
            var dx = start.data, wantDx = start.data
            x.data.withUnsafeBufferPointer { xp in
                dy.data.withUnsafeBufferPointer { dp in
                    let (xb, db) = (xp.baseAddress!, dp.baseAddress!)
                    lrn(xb, &y, batch: batch, channels: channels, plane: plane, size: p.size, alpha: p.alpha, beta: p.beta, bias: p.bias)
                    lrnNaive(xb, &want, batch: batch, channels: channels, plane: plane, size: p.size, alpha: p.alpha, beta: p.beta, bias: p.bias)
                    lrnBackward(
                        x: xb, dy: db, dx: &dx, batch: batch, channels: channels, plane: plane, size: p.size, alpha: p.alpha,
                        beta: p.beta, bias: p.bias)
                    lrnBackwardNaive(
                        x: xb, dy: db, dx: &wantDx, batch: batch, channels: channels, plane: plane, size: p.size, alpha: p.alpha,
                        beta: p.beta, bias: p.bias)
                }
            }
            assertClose(y, want, rtol: 1e-5, atol: 1e-6, "LRN \(i) forward")
            assertClose(dx, wantDx, rtol: 1e-5, atol: 1e-6, "LRN \(i) backward")
        }
    }

    func testAveragePoolDivisors() throws {
        // 3x3 window, stride 1, pad 1 on a 2x2 input of ones: exclude-pad gives 1, include-pad 4/9.
        let x = Tensor(shape: [1, 1, 2, 2], data: [1, 1, 1, 1])
        for (include, want) in [(false, Float(1)), (true, Float(4) / 9)] {
            let p = PoolParams(kernel: (3, 3), strides: (1, 1), padding: .explicit(top: 1, left: 1, bottom: 1, right: 1), countIncludePad: include)
            let net = try Network(
                graph: Graph(
                    input: "x", inputChannels: 1,
                    nodes: [Node(name: "p", op: .averagePool(p), inputs: ["x"], output: "y")], outputs: ["y"]))
            assertClose(try net.forward(x, outputs: ["y"])["y"]!.data, [want, want, want, want], "countIncludePad \(include)")
        }
    }
}

private extension Array where Element == Tensor {
    /// Base pointers of each tensor's data, valid inside `body`.
    func withUnsafePointers<R>(_ body: ([UnsafePointer<Float>]) -> R) -> R {
        func go(_ i: Int, _ acc: [UnsafePointer<Float>]) -> R {
            if i == count { return body(acc) }
            return self[i].data.withUnsafeBufferPointer { go(i + 1, acc + [$0.baseAddress!]) }
        }
        return go(0, [])
    }
}
