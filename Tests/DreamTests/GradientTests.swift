@_spi(Benchmarks) @testable import Dream
import TestSupport
import XCTest

/// Every op's input gradient against central finite differences (the shared checker).
final class GradientTests: XCTestCase {
    /// Builds a graph over input "x" (1, c, h, w) from `nodes`, then checks d(Σ r·out)/dx.
    private func check(
        _ nodes: [Node], channels c: Int = 3, h: Int = 7, w: Int = 8, output: String? = nil,
        constants: [String: Tensor] = [:], seed: UInt64 = 11, tolerance: Double = 1e-2,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let out = output ?? nodes.last!.output
        let graph = Graph(input: "x", inputChannels: c, nodes: nodes, constants: constants, outputs: [out])
        let net = try Network(graph: graph)
        try checkGradient(
            net, input: randomTensor([1, c, h, w], seed: seed), layers: [out], epsilon: 1e-3,
            tolerance: tolerance, reason: "Float32 forward differenced over ε = 1e-3", file: file, line: line)
    }

    private func conv(
        _ out: Int, _ inPerGroup: Int, k: (Int, Int), stride: (Int, Int) = (1, 1), dil: (Int, Int) = (1, 1),
        padding: Padding, groups: Int = 1, bias: Bool = true, seed: UInt64 = 3
    ) -> Node {
        let p = ConvParams(
            weight: randomTensor([out, inPerGroup, k.0, k.1], seed: seed),
            bias: bias ? randomTensor([out], seed: seed + 1) : nil,
            strides: (stride.0, stride.1), dilations: (dil.0, dil.1), padding: padding, groups: groups)
        return Node(name: "conv", op: .conv(p), inputs: ["x"], output: "y")
    }

    private func unary(_ op: Op) -> [Node] { [Node(name: "op", op: op, inputs: ["x"], output: "y")] }

    // MARK: Conv

    func testConv3x3AsymmetricExplicitPadding() throws {
        try check([conv(4, 3, k: (3, 3), padding: .explicit(top: 1, left: 0, bottom: 2, right: 1))])
    }
    func testConvStride2SameUpper() throws { try check([conv(4, 3, k: (3, 3), stride: (2, 2), padding: .sameUpper)]) }
    func testConvStride2SameLowerOddInput() throws {
        try check([conv(4, 3, k: (5, 5), stride: (2, 2), padding: .sameLower)], h: 9, w: 7)
    }
    func testConvDilation() throws { try check([conv(2, 3, k: (3, 3), dil: (2, 2), padding: .explicit(top: 2, left: 2, bottom: 2, right: 2))]) }
    func testConvGroups() throws { try check([conv(4, 2, k: (3, 3), padding: .valid, groups: 2)], channels: 4) }
    func testConvPointwiseNoBias() throws { try check([conv(5, 3, k: (1, 1), padding: .valid, bias: false)]) }
    func testConvStridedNonSquare() throws {
        try check([conv(3, 3, k: (3, 2), stride: (2, 3), padding: .explicit(top: 0, left: 1, bottom: 1, right: 0))], h: 9, w: 10)
    }
    func testDepthwise5x5Stride2Same() throws {
        try check([conv(4, 1, k: (5, 5), stride: (2, 2), padding: .sameUpper, groups: 4)], channels: 4, h: 9, w: 10)
    }
    func testDepthwise3x3Stride1() throws { try check([conv(5, 1, k: (3, 3), padding: .sameUpper, groups: 5)], channels: 5) }
    func testDepthwiseMultiplier2() throws { try check([conv(6, 1, k: (3, 3), padding: .sameUpper, groups: 3)]) }

    // MARK: BatchNorm and pointwise

    func testStandaloneBatchNorm() throws {
        let bn = BatchNormParams(
            scale: randomTensor([3], seed: 1), bias: randomTensor([3], seed: 2),
            mean: randomTensor([3], seed: 3), variance: randomTensor([3], seed: 4, range: 0.5...2), epsilon: 1e-3)
        try check(unary(.batchNorm(bn)))
    }
    func testRelu() throws { try check(unary(.relu)) }
    func testClipRelu6() throws {
        try check(
            [
                Node(name: "s", op: .mul, inputs: ["x", "k"], output: "s"),
                Node(name: "c", op: .clip(min: 0, max: 6), inputs: ["s"], output: "y")
            ],
            constants: ["k": Tensor(shape: [], data: [8])])
    }
    func testSigmoid() throws { try check(unary(.sigmoid)) }
    func testIdentity() throws { try check(unary(.identity)) }

    // MARK: Binary and layout

    func testAddOfTwoBranches() throws {
        try check([
            Node(name: "r", op: .sigmoid, inputs: ["x"], output: "r"),
            Node(name: "a", op: .add, inputs: ["x", "r"], output: "y")
        ])
    }
    /// Two pointwise convs and a depthwise conv read x: the first pullback to reach x's gradient
    /// stores it, the others must add.
    func testConvBranchesShareAnInputGradient() throws {
        func renamed(_ n: Node, _ name: String) -> Node { Node(name: name, op: n.op, inputs: n.inputs, output: name) }
        let a = renamed(conv(3, 3, k: (1, 1), padding: .valid, seed: 5), "a")
        let b = renamed(conv(3, 3, k: (1, 1), padding: .valid, seed: 7), "b")
        let d = renamed(conv(3, 1, k: (3, 3), padding: .sameUpper, groups: 3, seed: 9), "d")
        try check([
            a, b, d, Node(name: "ab", op: .add, inputs: ["a", "b"], output: "ab"),
            Node(name: "y", op: .add, inputs: ["ab", "d"], output: "y")
        ])
    }
    func testMulOfTwoBranches() throws {
        try check([
            Node(name: "r", op: .sigmoid, inputs: ["x"], output: "r"),
            Node(name: "m", op: .mul, inputs: ["r", "x"], output: "y")
        ])
    }
    func testAddPerChannelConstantAndMulScalar() throws {
        try check(
            [
                Node(name: "a", op: .add, inputs: ["x", "b"], output: "a"),
                Node(name: "m", op: .mul, inputs: ["s", "a"], output: "y")
            ],
            constants: ["b": randomTensor([3, 1, 1], seed: 4), "s": Tensor(shape: [1], data: [1.7])])
    }
    func testConcatChannels() throws {
        try check([
            Node(name: "r", op: .sigmoid, inputs: ["x"], output: "r"),
            Node(name: "c", op: .concat(axis: 1), inputs: ["r", "x", "r"], output: "y")
        ])
    }
    func testPadConstant() throws { try check(unary(.pad(pads: [0, 0, 1, 2, 0, 0, 2, 1], value: 0.5))) }
    func testFlattenReshape() throws {
        try check([
            Node(name: "f", op: .flatten(axis: 2), inputs: ["x"], output: "f"),
            Node(name: "r", op: .reshape(shape: [0, -1, 4]), inputs: ["f"], output: "r"),
            Node(name: "s", op: .sigmoid, inputs: ["r"], output: "y")
        ])
    }

    // MARK: Pooling and LRN

    func testMaxPool3x3Stride2Padded() throws {
        try check(unary(.maxPool(PoolParams(kernel: (3, 3), strides: (2, 2), padding: .explicit(top: 1, left: 1, bottom: 1, right: 1)))))
    }
    func testMaxPoolCeilMode() throws {
        try check(unary(.maxPool(PoolParams(kernel: (3, 3), strides: (2, 2), padding: .valid, ceilMode: true))), h: 8, w: 8)
    }
    func testAveragePoolExcludePad() throws {
        try check(unary(.averagePool(PoolParams(kernel: (3, 3), strides: (2, 2), padding: .explicit(top: 1, left: 1, bottom: 1, right: 1)))))
    }
    func testAveragePoolIncludePadCeilSame() throws {
        try check(
            unary(
                .averagePool(
                    PoolParams(
                        kernel: (3, 2), strides: (2, 2), padding: .explicit(top: 1, left: 0, bottom: 1, right: 1),
                        ceilMode: true, countIncludePad: true))))
        try check(unary(.averagePool(PoolParams(kernel: (3, 3), strides: (2, 2), padding: .sameUpper))))
    }
    func testGlobalAveragePool() throws { try check(unary(.globalAveragePool)) }
    func testLRN() throws { try check(unary(.lrn(size: 3, alpha: 0.5, beta: 0.75, bias: 1)), channels: 5) }
    func testLRNEvenSize() throws { try check(unary(.lrn(size: 4, alpha: 1e-2, beta: 0.6, bias: 2)), channels: 6) }

    // MARK: Dense and softmax

    func testGemmTransBWithBias() throws {
        try check([
            Node(name: "f", op: .flatten(axis: 1), inputs: ["x"], output: "f"),
            Node(
                name: "g",
                op: .gemm(
                    b: randomTensor([5, 3 * 7 * 8], seed: 8), c: randomTensor([5], seed: 9),
                    alpha: 0.7, beta: 1.3, transA: false, transB: true), inputs: ["f"], output: "y")
        ])
    }
    func testGemmTransA() throws {
        try check([
            Node(name: "r", op: .reshape(shape: [4, -1]), inputs: ["x"], output: "r"),
            Node(
                name: "g",
                op: .gemm(
                    b: randomTensor([4, 3], seed: 8), c: nil, alpha: 1, beta: 0,
                    transA: true, transB: false), inputs: ["r"], output: "y")
        ])
    }
    func testMatMul() throws {
        try check([Node(name: "m", op: .matMul(b: randomTensor([8, 5], seed: 8)), inputs: ["x"], output: "y")])
    }
    func testSoftmax() throws {
        try check(
            [
                Node(name: "f", op: .flatten(axis: 1), inputs: ["x"], output: "f"),
                Node(name: "s", op: .softmax(axis: -1), inputs: ["f"], output: "y")
            ], h: 3, w: 4)
        try check(unary(.softmax(axis: 1)))
    }
}

/// A depthwise conv followed by ReLU6 runs fused (clip applied in the kernel, masked in the pullback).
final class FusedClipTests: XCTestCase {
    func testDepthwiseClipFusionMatchesUnfusedAndGradientChecks() throws { try checkFusion(groups: 4, stride: 1) }
    func testStridedDepthwiseClipFusion() throws { try checkFusion(groups: 4, stride: 2) }
    func testConvClipFusion() throws { try checkFusion(groups: 1, stride: 1) }

    /// An inverted-residual chain (1x1 + ReLU6 → depthwise + ReLU6 → 1x1): the expand conv's mask
    /// moves into the depthwise pullback, which stores its gradient without a zeroing pass. Its
    /// input gradient equals the unfused network's (every value listed as a layer, each op checked
    /// against finite differences above; this input hits the clips too often for differences here).
    /// Inverted-residual blocks run fused (Kernels/InvertedResidual.swift): a block without an expand
    /// conv, one with a residual Add, one strided 5x5. Forward, a requested block output and the input
    /// gradient must match the op-by-op network, and the gradient its finite differences.
    func testFusedInvertedResidualsMatchOpByOp() throws {
        var b = TinyGraphBuilder(seed: 21)
        var x = b.relu6("stem_act", b.conv("stem", "x", out: 6, in: 3, k: 3, stride: 2))
        x = b.relu6("b0_dw_act", b.conv("b0_dw", x, out: 6, in: 6, k: 3, groups: 6))
        let b0 = b.conv("block0", x, out: 4, in: 6, k: 1)
        x = b.relu6("b1_e_act", b.conv("b1_e", b0, out: 12, in: 4, k: 1))
        x = b.relu6("b1_dw_act", b.conv("b1_dw", x, out: 12, in: 12, k: 3, groups: 12))
        let b1 = b.add("block1", b.conv("b1_p", x, out: 4, in: 12, k: 1), b0)
        x = b.relu6("b2_e_act", b.conv("b2_e", b1, out: 16, in: 4, k: 1))
        x = b.relu6("b2_dw_act", b.conv("b2_dw", x, out: 16, in: 16, k: 5, stride: 2, groups: 16))
        _ = b.conv("block2", x, out: 5, in: 16, k: 1)
        let graph = Graph(
            input: "x", inputChannels: 3, nodes: b.nodes, outputs: ["block2"],
            metadata: ["reverie.layers": "block0,block1,block2"])
        let fused = try Network(graph: graph), plain = try Network(graph: graph)
        plain.fusesInvertedResiduals = false
        let input = randomTensor([1, 3, 41, 38], seed: 6, range: -3...3)
        let layers = ["block1", "block2"]
        let ff = try fused.forward(input, outputs: layers), fp = try plain.forward(input, outputs: layers)
        for l in layers { assertClose(ff[l]!.data, fp[l]!.data, rtol: 1e-5, atol: 1e-5, "forward \(l)") }
        let seed: (String, Tensor) -> (loss: Float, grad: Tensor) = { name, t in
            (0, randomTensor(t.shape, seed: name == "block1" ? 7 : 8))
        }
        fused.profiling = true
        let gf = try fused.gradient(of: input, layers: layers, seed: seed).gradient
        fused.profiling = false
        XCTAssertEqual(fused.profile["Inverted residual (fused) forward"].map { _ in true }, true, "the blocks must run fused")
        XCTAssertNil(fused.profile["DepthwiseConv forward"], "every depthwise conv here belongs to a fused block")
        let gp = try plain.gradient(of: input, layers: layers, seed: seed).gradient
        assertClose(gf.data, gp.data, rtol: 1e-5, atol: 1e-6, "fused vs op-by-op input gradient")
        try checkGradient(
            fused, input: input, layers: layers, epsilon: 1e-3, tolerance: 1e-2,
            reason: "Float32 forward differenced over ε = 1e-3")
    }

    func testExpandClipMaskAppliedByTheDepthwiseConsumer() throws {
        for stride in [1, 2] {
            var b = TinyGraphBuilder(seed: 9)
            let e = b.relu6("expand_act", b.conv("expand", "x", out: 8, in: 3, k: 1))
            let d = b.relu6("dw_act", b.conv("dw", e, out: 8, in: 8, k: 3, stride: stride, groups: 8))
            _ = b.conv("project", d, out: 4, in: 8, k: 1)
            let graph = Graph(input: "x", inputChannels: 3, nodes: b.nodes, outputs: ["project"])
            let fused = try Network(graph: graph)
            var kept = graph
            kept.metadata["reverie.layers"] = "expand,expand_act,dw,dw_act,project"
            let unfused = try Network(graph: kept)
            let x = randomTensor([1, 3, 11, 37], seed: 3, range: -6...6)
            let act = try unfused.forward(x, outputs: ["expand_act"])["expand_act"]!
            XCTAssertTrue(act.data.contains(0) && act.data.contains(6), "the expand clip must be hit at both bounds")
            let seed: (String, Tensor) -> (loss: Float, grad: Tensor) = { _, t in (0, randomTensor(t.shape, seed: 5)) }
            let gf = try fused.gradient(of: x, layers: ["project"], seed: seed).gradient
            let gu = try unfused.gradient(of: x, layers: ["project"], seed: seed).gradient
            assertClose(gf.data, gu.data, rtol: 1e-5, atol: 1e-6, "stride \(stride): fused vs unfused input gradient")
        }
    }

    private func checkFusion(groups: Int, stride: Int) throws {
        var b = TinyGraphBuilder(seed: 4)
        let dw = b.conv("dw", "x", out: 4, in: 4, k: 3, stride: stride, groups: groups)
        _ = b.relu6("act", dw)
        let fusedGraph = Graph(input: "x", inputChannels: 4, nodes: b.nodes, outputs: ["act"])
        let fused = try Network(graph: fusedGraph)
        XCTAssertEqual(fused.layers, ["act"], "the fused pre-activation is not addressable")
        // Listing the pre-activation as a layer keeps it (no fusion).
        var kept = fusedGraph
        kept.metadata["reverie.layers"] = "dw,act"
        let unfused = try Network(graph: kept)
        XCTAssertEqual(unfused.layers, ["dw", "act"])
        let x = randomTensor([1, 4, 9, 19], seed: 2, range: -8...8)
        let a = try fused.forward(x, outputs: ["act"])["act"]!, u = try unfused.forward(x, outputs: ["act"])["act"]!
        assertClose(a.data, u.data, rtol: 1e-6, atol: 1e-6, "fused vs unfused ReLU6")
        XCTAssertTrue(a.data.contains(0) && a.data.contains(6), "the test input must reach both clip bounds")
        let seed: (String, Tensor) -> (loss: Float, grad: Tensor) = { _, t in (0, randomTensor(t.shape, seed: 5)) }
        let ga = try fused.gradient(of: x, layers: ["act"], seed: seed).gradient
        let gu = try unfused.gradient(of: x, layers: ["act"], seed: seed).gradient
        assertClose(ga.data, gu.data, rtol: 1e-5, atol: 1e-6, "fused vs unfused input gradient")
        try checkGradient(
            fused, input: x, layers: ["act"], epsilon: 1e-3, tolerance: 1e-2,
            reason: "Float32 forward differenced over ε = 1e-3")
    }
}
