@testable import Dream
import TestSupport
import XCTest

final class NetworkTests: XCTestCase {
    func testTinyNetworkLayersShapesAndPreprocessing() throws {
        let net = try Network(graph: tinyDreamGraph())
        XCTAssertEqual(net.layers, ["stem", "block0", "block1", "block2"])
        XCTAssertEqual(net.recommendedLayers, ["block1"])
        XCTAssertEqual(net.preprocessing, Preprocessing(mean: [127, 127, 127], std: [128, 128, 128]))
        XCTAssertEqual(net.preprocessing.lowerBound(channel: 0), -127 / 128)
        XCTAssertEqual(net.preprocessing.upperBound(channel: 2), 1)
        let shapes = try net.shapes(height: 15, width: 20)
        XCTAssertEqual(shapes.map(\.name), net.layers)
        XCTAssertEqual(shapes.map(\.shape), [[1, 8, 8, 10], [1, 8, 8, 10], [1, 12, 4, 5], [1, 12, 4, 5]])
        // BatchNorms after convs are folded away.
        XCTAssertFalse(net.graph.nodes.contains { if case .batchNorm = $0.op { true } else { false } })
    }

    func testFoldedNetworkMatchesUnfoldedNaiveEvaluation() throws {
        let graph = tinyDreamGraph()
        let net = try Network(graph: graph)
        let x = randomTensor([1, 3, 13, 17], seed: 3)
        let got = try net.forward(x, outputs: ["block2", "logits"])
        let want = try evaluateNaively(graph, input: x)
        assertClose(got["block2"]!.data, want["block2"]!.data, rtol: 1e-4, atol: 1e-5, "block2 vs naive unfolded graph")
        assertClose(got["logits"]!.data, want["logits"]!.data, rtol: 1e-4, atol: 1e-5, "logits vs naive unfolded graph")
    }

    func testUnknownLayerListsValidNames() throws {
        let net = try Network(graph: tinyDreamGraph())
        XCTAssertThrowsError(try net.gradient(of: randomTensor([1, 3, 8, 8], seed: 1), layers: ["block9"]) { _, a in (0, a) }) {
            let text = "\($0)"
            XCTAssertTrue(text.contains("block9") && text.contains("stem, block0, block1, block2"), text)
        }
    }

    func testWrongChannelCountIsAClearError() throws {
        let net = try Network(graph: tinyDreamGraph())
        XCTAssertThrowsError(try net.forward(randomTensor([1, 4, 8, 8], seed: 1), outputs: ["stem"])) {
            XCTAssertTrue("\($0)".contains("4 channels"), "\($0)")
        }
    }

    func testBadGraphIsAClearError() {
        let g = Graph(input: "x", inputChannels: 1, nodes: [Node(name: "r", op: .relu, inputs: ["nope"], output: "y")], outputs: ["y"])
        XCTAssertThrowsError(try Network(graph: g)) { XCTAssertTrue("\($0)".contains("nope"), "\($0)") }
    }

    func testGradientOfTinyNetworkEndToEnd() throws {
        let net = try Network(graph: tinyDreamGraph())
        try checkGradient(
            net, input: randomTensor([1, 3, 11, 14], seed: 5), layers: ["block2", "logits"],
            epsilon: 1e-3, tolerance: 2e-2,
            reason: "Float32 forward; ReLU6 kinks within ε of a few pre-activations")
    }

    func testRepeatedGradientsAreIdenticalAndReuseTheArena() throws {
        let net = try Network(graph: tinyDreamGraph())
        let x = randomTensor([1, 3, 16, 16], seed: 9)
        let seed: (String, Tensor) -> (loss: Float, grad: Tensor) = { _, a in
            (a.data.reduce(0) { $0 + $1 * $1 } / 2, a)
        }
        let first = try net.gradient(of: x, layers: ["block1"], seed: seed)
        _ = try net.gradient(of: randomTensor([1, 3, 9, 9], seed: 2), layers: ["block2"], seed: seed)
        let again = try net.gradient(of: x, layers: ["block1"], seed: seed)
        XCTAssertEqual(first.loss, again.loss)
        XCTAssertEqual(first.gradient, again.gradient)
        XCTAssertGreaterThan(
            net.estimatedPeakBytes(height: 16, width: 16, layers: ["block2"]),
            net.estimatedPeakBytes(height: 16, width: 16, layers: ["stem"]))
    }
}

/// Evaluates a graph with the naive kernels, BatchNorm unfolded: the oracle for Network.forward.
func evaluateNaively(_ graph: Graph, input: Tensor) throws -> [String: Tensor] {
    var env: [String: Tensor] = [graph.input: input]
    for node in graph.nodes {
        let x = env[node.inputs[0]]!
        var y: Tensor
        switch node.op {
        case let .conv(p):
            let g = convGeometry(
                input: x.shape, weight: p.weight.shape, strides: p.strides, dilations: p.dilations,
                padding: p.padding, groups: p.groups)
            y = Tensor(zeros: [g.batch, g.outC, g.outH, g.outW])
            x.data.withUnsafeBufferPointer { xp in
                p.weight.data.withUnsafeBufferPointer { wp in
                    y.data.withUnsafeMutableBufferPointer { yp in
                        if let b = p.bias {
                            b.data.withUnsafeBufferPointer {
                                conv2dNaive(g, x: xp.baseAddress!, weight: wp.baseAddress!, bias: $0.baseAddress!, y: yp.baseAddress!)
                            }
                        } else {
                            conv2dNaive(g, x: xp.baseAddress!, weight: wp.baseAddress!, bias: nil, y: yp.baseAddress!)
                        }
                    }
                }
            }
        case let .batchNorm(bn):
            y = x
            let plane = x.count / x.shape[1]
            for c in 0..<x.shape[1] {
                let s = bn.scale.data[c] / (bn.variance.data[c] + bn.epsilon).squareRoot()
                for i in c * plane..<(c + 1) * plane { y.data[i] = (x.data[i] - bn.mean.data[c]) * s + bn.bias.data[c] }
            }
        case let .clip(lo, hi): y = Tensor(shape: x.shape, data: x.data.map { min(max($0, lo), hi) })
        case .add: y = Tensor(shape: x.shape, data: zip(x.data, env[node.inputs[1]]!.data).map(+))
        case .globalAveragePool:
            let plane = x.shape[2] * x.shape[3]
            y = Tensor(
                shape: [x.shape[0], x.shape[1], 1, 1],
                data: (0..<x.shape[0] * x.shape[1]).map { p in x.data[p * plane..<(p + 1) * plane].reduce(0, +) / Float(plane) })
        case .flatten: y = Tensor(shape: [x.shape[0], x.count / x.shape[0]], data: x.data)
        case let .gemm(b, c, alpha, beta, false, true):
            let n = b.shape[0], k = b.shape[1]
            y = Tensor(zeros: [x.shape[0], n])
            for m in 0..<x.shape[0] {
                for j in 0..<n {
                    var s: Float = 0
                    for i in 0..<k { s += x.data[m * k + i] * b.data[j * k + i] }
                    y.data[m * n + j] = alpha * s + beta * (c?.data[j] ?? 0)
                }
            }
        default: throw OracleError(description: "evaluateNaively: op \(node.op) not supported by the oracle")
        }
        env[node.output] = y
    }
    return env
}

/// The naive oracle meets an op it does not implement.
struct OracleError: Error, CustomStringConvertible {
    let description: String
}
