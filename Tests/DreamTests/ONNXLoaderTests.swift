@_spi(ONNX) import Dream
import Foundation
import SwiftProtobuf
@_spi(ONNX) import TestSupport
import XCTest

/// The loader on small models built here (no dependency on the test-data package).
final class ONNXLoaderTests: XCTestCase {
    typealias B = ONNXBuild

    /// conv(+bias, SAME_UPPER, stride 2) → BN → Clip(0, 6) from Constant nodes → depthwise conv,
    /// Add (runtime skip), Mul by a per-channel initializer, GAP, Flatten, Gemm. The nodes are
    /// listed out of order, and the conv weight is also listed as a graph input (old style).
    func tinyModel() -> Onnx_ModelProto {
        let w: [Float] = (0..<108).map { i in Self.weightValue(i) }
        let dw: [Float] = (0..<36).map { i in Float(i % 5) / 10 }
        let initializers = [
            B.tensor("w", [4, 3, 3, 3], w, raw: true), B.tensor("b", [4], [0.1, 0.2, 0.3, 0.4]),
            B.tensor("scale", [4], [1, 2, 3, 4]), B.tensor("shift", [4], [0, 0, 1, 1]),
            B.tensor("mean", [4], [0, 1, 0, 1]), B.tensor("var", [4], [1, 1, 2, 2], raw: true),
            B.tensor("dw", [4, 1, 3, 3], dw), B.tensor("gain", [1, 4, 1, 1], [1, 0.5, 2, 1]),
            B.tensor("fc", [2, 4], [1, 2, 3, 4, 5, 6, 7, 8]), B.tensor("fcb", [2], [0.5, -0.5])
        ]
        let nodes = [
            B.node("Gemm", ["flat", "fc", "fcb"], ["logits"], name: "fc", [B.attr("transB", int: 1)]),
            B.node(
                "Conv", ["image", "w", "b"], ["c1"], name: "stem_conv",
                [B.attr("strides", ints: [2, 2]), B.attr("auto_pad", string: "SAME_UPPER"), B.attr("kernel_shape", ints: [3, 3])]),
            B.node("BatchNormalization", ["c1", "scale", "shift", "mean", "var"], ["bn"], name: "stem_bn", [B.attr("epsilon", float: 1e-3)]),
            B.node("Constant", [], ["lo"], name: "lo", [B.attr("value", tensor: B.tensor("", [], [0]))]),
            B.node("Constant", [], ["hi"], name: "hi", [B.attr("value", tensor: B.tensor("", [], [6]))]),
            B.node("Clip", ["bn", "lo", "hi"], ["stem"], name: "stem_relu6"),
            B.node("Conv", ["stem", "dw"], ["d1"], name: "dw", [B.attr("group", int: 4), B.attr("pads", ints: [1, 1, 1, 1])]),
            B.node("Add", ["d1", "stem"], ["block0"], name: "skip"),
            B.node("Mul", ["gain", "block0"], ["scaled"], name: "gain"),
            B.node("GlobalAveragePool", ["scaled"], ["pooled"], name: "gap"),
            B.node("Flatten", ["pooled"], ["flat"], name: "flatten")
        ]
        return B.model(
            nodes: nodes, initializers: initializers, inputs: [B.value("image", [1, 3, "H", "W"]), B.value("w", [4, 3, 3, 3])],
            outputs: ["logits"], metadata: ["reverie.layers": "stem,block0", "reverie.mean": "127,127,127"])
    }

    static func weightValue(_ i: Int) -> Float { Float(i % 7) / 10 - 0.3 }

    func testTinyModelMapsEveryNode() throws {
        let g = try ONNXLoader.graph(from: tinyModel(), name: "tiny.onnx")
        XCTAssertEqual(g.input, "image")
        XCTAssertEqual(g.inputChannels, 3)
        XCTAssertEqual(g.outputs, ["logits"])
        XCTAssertEqual(g.metadata, ["reverie.layers": "stem,block0", "reverie.mean": "127,127,127"])
        // Topologically sorted; Constant nodes become constants, not nodes.
        XCTAssertEqual(g.nodes.map(\.name), ["stem_conv", "stem_bn", "stem_relu6", "dw", "skip", "gain", "gap", "flatten", "fc"])
        let byName = Dictionary(uniqueKeysWithValues: g.nodes.map { ($0.name, $0) })

        guard case .conv(let conv)? = byName["stem_conv"]?.op else { return XCTFail("stem_conv is not a conv") }
        XCTAssertEqual(conv.weight.shape, [4, 3, 3, 3])
        XCTAssertEqual(conv.weight.data[5], Self.weightValue(5))  // raw_data decoded
        XCTAssertEqual(conv.bias, Tensor(shape: [4], data: [0.1, 0.2, 0.3, 0.4]))
        XCTAssertTrue(conv.strides == (2, 2) && conv.dilations == (1, 1))
        XCTAssertEqual(conv.padding, .sameUpper)
        XCTAssertEqual(conv.groups, 1)

        guard case .batchNorm(let bn)? = byName["stem_bn"]?.op else { return XCTFail("stem_bn is not a batchnorm") }
        XCTAssertEqual(bn.epsilon, 1e-3)
        XCTAssertEqual(bn.variance.data, [1, 1, 2, 2])
        XCTAssertEqual(bn.scale.data, [1, 2, 3, 4])

        XCTAssertEqual(byName["stem_relu6"]?.op, .clip(min: 0, max: 6))
        XCTAssertEqual(byName["stem_relu6"]?.inputs, ["bn"])
        guard case .conv(let dw)? = byName["dw"]?.op else { return XCTFail("dw is not a conv") }
        XCTAssertEqual(dw.groups, 4)
        XCTAssertEqual(dw.padding, .explicit(top: 1, left: 1, bottom: 1, right: 1))
        XCTAssertEqual(byName["skip"]?.op, .add)
        XCTAssertEqual(byName["skip"]?.inputs, ["d1", "stem"])
        // The runtime operand goes first; the constant one is kept in graph.constants.
        XCTAssertEqual(byName["gain"]?.op, .mul)
        XCTAssertEqual(byName["gain"]?.inputs, ["block0", "gain"])
        XCTAssertEqual(g.constants, ["gain": Tensor(shape: [1, 4, 1, 1], data: [1, 0.5, 2, 1])])
        XCTAssertEqual(byName["gap"]?.op, .globalAveragePool)
        XCTAssertEqual(byName["flatten"]?.op, .flatten(axis: 1))
        XCTAssertEqual(
            byName["fc"]?.op,
            .gemm(
                b: Tensor(shape: [2, 4], data: [1, 2, 3, 4, 5, 6, 7, 8]),
                c: Tensor(shape: [2], data: [0.5, -0.5]),
                alpha: 1, beta: 1, transA: false, transB: true))
    }

    func testLoadFromFileMatchesInMemory() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("reverie-tiny-\(getpid()).onnx").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let bytes: Data = try tinyModel().serializedBytes()
        try bytes.write(to: URL(fileURLWithPath: path))
        let fromFile = try ONNXLoader.load(path: path)
        let inMemory = try ONNXLoader.graph(from: tinyModel(), name: path)
        XCTAssertEqual(fromFile.nodes, inMemory.nodes)
        XCTAssertEqual(fromFile.constants, inMemory.constants)
    }

    func testOlderOpsetsUseAttributes() throws {
        // Opset 10: Clip bounds and Pad pads/value are attributes; Softmax (< 13) must be on the last axis.
        let nodes = [
            B.node("Clip", ["x"], ["c"], name: "clip", [B.attr("min", float: 0), B.attr("max", float: 6)]),
            B.node("Pad", ["c"], ["p"], name: "pad", [B.attr("pads", ints: [0, 0, 1, 2, 0, 0, 3, 4]), B.attr("value", float: 0.5)]),
            B.node("Reshape", ["p", "shape"], ["r"], name: "reshape"),
            B.node("Softmax", ["r"], ["s"], name: "softmax")
        ]
        let m = B.model(
            nodes: nodes, initializers: [B.int64Tensor("shape", [1, -1])], inputs: [B.value("x", [1, 3, 8, 8])],
            outputs: ["s"], opset: 10)
        let g = try ONNXLoader.graph(from: m, name: "old.onnx")
        XCTAssertEqual(
            g.nodes.map(\.op),
            [
                .clip(min: 0, max: 6), .pad(pads: [0, 0, 1, 2, 0, 0, 3, 4], value: 0.5),
                .reshape(shape: [1, -1]), .softmax(axis: 1)
            ])

        // Opset 1: Reshape's shape is an attribute.
        let reshape1 = B.model(
            nodes: [B.node("Reshape", ["x"], ["y"], name: "r", [B.attr("shape", ints: [1, -1])])],
            inputs: [B.value("x", [1, 3, 8, 8])], outputs: ["y"], opset: 1)
        XCTAssertEqual(try ONNXLoader.graph(from: reshape1, name: "old.onnx").nodes.map(\.op), [.reshape(shape: [1, -1])])
    }

    func testNetworkFromONNXFileRuns() throws {
        // 1x1 conv (c0 - c1 + 0.5) → Relu → ×2 (a rank-0 initializer) → Dropout → Reshape to (1, 4)
        // with the shape from a Constant node listed after its consumer.
        let nodes = [
            B.node("Reshape", ["dropped", "shape"], ["y"], name: "reshape"),
            B.node("Conv", ["x", "w", "b"], ["c"], name: "conv"),
            B.node("Relu", ["c"], ["r"], name: "relu"),
            B.node("Mul", ["r", "two"], ["m"], name: "double"),
            B.node("Dropout", ["m"], ["dropped"], name: "dropout", [B.attr("ratio", float: 0.5)]),
            B.node("Constant", [], ["shape"], name: "shape", [B.attr("value_ints", ints: [1, 4])])
        ]
        let m = B.model(
            nodes: nodes,
            initializers: [
                B.tensor("w", [1, 2, 1, 1], [1, -1]), B.tensor("b", [1], [0.5]),
                B.tensor("two", [], [2])
            ],
            inputs: [B.value("x", [1, 2, "H", "W"])], outputs: ["y"])
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("reverie-run-\(getpid()).onnx").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try (m.serializedBytes() as Data).write(to: URL(fileURLWithPath: path))

        let network = try Network(onnxPath: path)
        XCTAssertEqual(network.graph.nodes.map(\.name), ["conv", "relu", "double", "dropout", "reshape"])
        let x = Tensor(shape: [1, 2, 2, 2], data: [1, 2, 3, 4, 4, 3, 2, 1])
        let y = try XCTUnwrap(network.forward(x, outputs: ["y"])["y"])
        XCTAssertEqual(y, Tensor(shape: [1, 4], data: [0, 0, 3, 7]))
    }

    func testNetworkErrorsNameTheFile() throws {
        // Loads fine, but the engine refuses the metadata: the error still names the file.
        let m = B.model(
            nodes: [B.node("Relu", ["x"], ["y"], name: "r")], inputs: [B.value("x", [1, 3, "H", "W"])],
            outputs: ["y"], metadata: ["reverie.layers": "nope"])
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("reverie-meta-\(getpid()).onnx").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try (m.serializedBytes() as Data).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try Network(onnxPath: path)) { error in
            XCTAssertTrue("\(error)".hasPrefix(path + ": "), "\(error)")
            XCTAssertTrue("\(error)".contains("nope"), "\(error)")
        }
    }

    func testInferenceOnlyVariantsAreRefused() {
        let mask = B.model(
            nodes: [B.node("Dropout", ["x"], ["y", "mask"], name: "d")], inputs: [B.value("x", [1, 3, 8, 8])],
            outputs: ["y"])
        assertError(mask, "model.onnx: node 'd' (Dropout): output 'mask' (output 1) is not supported")
        let stats = ["s", "b", "m", "v"].map { B.tensor($0, [3], [1, 1, 1]) }
        let oldBN = singleNode("BatchNormalization", [], extraInputs: ["s", "b", "m", "v"], initializers: stats, opset: 6)
        assertError(oldBN, "model.onnx: node 'n1' (BatchNormalization): training mode (is_test=0, opset 6) is not supported")
        let legacyAxis = B.model(
            nodes: [B.node("Add", ["x", "c"], ["y"], name: "a", [B.attr("broadcast", int: 1), B.attr("axis", int: 1)])],
            initializers: [B.tensor("c", [3], [1, 2, 3])], inputs: [B.value("x", [1, 3, 8, 8])],
            outputs: ["y"], opset: 6)
        assertError(legacyAxis, "model.onnx: node 'a' (Add): attribute axis is not supported")
    }

    // MARK: errors

    /// One conv node whose attributes or weight the caller varies.
    func convModel(_ attrs: [Onnx_AttributeProto], weightIsRuntime: Bool = false) -> Onnx_ModelProto {
        var nodes = [B.node("Conv", ["x", weightIsRuntime ? "wr" : "w"], ["y"], name: "conv3", attrs)]
        if weightIsRuntime { nodes.insert(B.node("Relu", ["x"], ["wr"], name: "relu"), at: 0) }
        return B.model(
            nodes: nodes, initializers: [B.tensor("w", [2, 3, 1, 1], [1, 2, 3, 4, 5, 6])],
            inputs: [B.value("x", [1, 3, "H", "W"])], outputs: ["y"])
    }

    func assertError(_ model: Onnx_ModelProto, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try ONNXLoader.graph(from: model, name: "model.onnx"), file: file, line: line) { error in
            XCTAssertEqual((error as? ONNXError)?.description, expected, file: file, line: line)
        }
    }

    func testUnsupportedAttributeValuesAreNamed() {
        assertError(
            convModel([B.attr("auto_pad", string: "FOO")]),
            "model.onnx: node 'conv3' (Conv): attribute auto_pad=FOO is not supported")
        assertError(convModel([B.attr("foo", int: 1)]), "model.onnx: node 'conv3' (Conv): attribute foo is not supported")
        assertError(
            convModel([B.attr("kernel_shape", ints: [3, 3])]),
            "model.onnx: node 'conv3' (Conv): attribute kernel_shape=[3, 3] does not match weight shape [2, 3, 1, 1]")
        assertError(
            convModel([B.attr("strides", int: 2)]),
            "model.onnx: node 'conv3' (Conv): attribute strides has type int, expected ints")
        assertError(
            convModel([], weightIsRuntime: true),
            "model.onnx: node 'conv3' (Conv): input W ('wr') is not a constant (initializer or Constant node); only constant W is supported")
    }

    func singleNode(
        _ op: String, _ attrs: [Onnx_AttributeProto], extraInputs: [String] = [],
        initializers: [Onnx_TensorProto] = [], opset: Int = 13
    ) -> Onnx_ModelProto {
        B.model(
            nodes: [B.node(op, ["x"] + extraInputs, ["y"], name: "n1", attrs)], initializers: initializers,
            inputs: [B.value("x", [1, 3, 8, 8])], outputs: ["y"], opset: opset)
    }

    func testUnsupportedOpsAndModesAreNamed() {
        assertError(singleNode("Upsample", []), "model.onnx: node 'n1' (Upsample): operator Upsample is not supported")
        assertError(
            singleNode("MaxPool", [B.attr("kernel_shape", ints: [2, 2]), B.attr("storage_order", int: 1)]),
            "model.onnx: node 'n1' (MaxPool): attribute storage_order=1 is not supported")
        assertError(
            singleNode("AveragePool", [B.attr("kernel_shape", ints: [2, 2]), B.attr("dilations", ints: [2, 2])]),
            "model.onnx: node 'n1' (AveragePool): attribute dilations is not supported")
        assertError(
            singleNode(
                "Pad", [B.attr("mode", string: "reflect")], extraInputs: ["p"],
                initializers: [B.int64Tensor("p", [0, 0, 1, 1, 0, 0, 1, 1])]),
            "model.onnx: node 'n1' (Pad): attribute mode=reflect is not supported (only constant)")
        assertError(
            singleNode("Softmax", [], opset: 11),
            "model.onnx: node 'n1' (Softmax): Softmax (opset 11) with axis=1 on a rank-4 input flattens the trailing axes; only the last axis is supported"
        )
        assertError(
            singleNode("BatchNormalization", [B.attr("training_mode", int: 1)]),
            "model.onnx: node 'n1' (BatchNormalization): attribute training_mode=1 is not supported (inference only)")
        var foreign = singleNode("Relu", [])
        foreign.graph.node[0].domain = "com.microsoft"
        assertError(foreign, "model.onnx: node 'n1' (Relu): operator domain 'com.microsoft' is not supported")
    }

    func testGraphLevelErrors() {
        var two = singleNode("Add", [], extraInputs: ["z"])
        two.graph.input.append(B.value("z", [1, 3, 8, 8]))
        assertError(two, "model.onnx: the graph has 2 runtime inputs ('x', 'z'); only one image input is supported")

        let cycle = B.model(
            nodes: [B.node("Relu", ["b"], ["a"], name: "r1"), B.node("Add", ["x", "a"], ["b"], name: "r2")],
            inputs: [B.value("x", [1, 3, 8, 8])], outputs: ["b"])
        assertError(cycle, "model.onnx: the graph has a cycle (through node 'r1')")

        let dangling = B.model(nodes: [B.node("Relu", ["nowhere"], ["y"], name: "r1")], inputs: [B.value("x", [1, 3, 8, 8])], outputs: ["y"])
        assertError(dangling, "model.onnx: node 'r1' (Relu): input 'nowhere' is not produced by any node")

        assertError(
            B.model(nodes: [B.node("Relu", ["x"], ["y"], name: "r")], inputs: [B.value("x", [3, 4, 5])], outputs: ["y"]),
            "model.onnx: input 'x' has shape (3, 4, 5); expected an image (1, C, H, W) or (1, H, W, C)")
        assertError(
            B.model(nodes: [B.node("Relu", ["x"], ["y"], name: "r")], inputs: [B.value("x", [1, "C", 4, 5])], outputs: ["y"]),
            "model.onnx: input 'x' has shape (1, ?, 4, 5); its channel count C must be fixed")
        assertError(singleNode("Relu", [], opset: 0), "model.onnx: opset 0 is not supported (1 or later)")

        var badRaw = B.tensor("w", [2, 3, 1, 1], [1, 2, 3, 4, 5, 6], raw: true)
        badRaw.rawData = badRaw.rawData.prefix(20)
        assertError(
            singleNode("Conv", [], extraInputs: ["w"], initializers: [badRaw]),
            "model.onnx: initializer 'w': raw data holds 20 bytes, shape [2, 3, 1, 1] of float needs 24")
    }

    func testSymbolicChannelsComeFromTheFirstConv() throws {
        let m = B.model(
            nodes: [B.node("Conv", ["x", "w"], ["y"], name: "c")],
            initializers: [B.tensor("w", [2, 3, 1, 1], [1, 2, 3, 4, 5, 6])],
            inputs: [B.value("x", ["N", "C", "H", "W"])], outputs: ["y"])
        XCTAssertEqual(try ONNXLoader.graph(from: m, name: "m.onnx").inputChannels, 3)
    }

    func testCorruptAndMissingFilesGiveOneLineErrors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("reverie-onnx-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let files: [(String, Data)] = [
            ("garbage.onnx", Data([0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x01, 0x02])),
            ("text.onnx", Data("this is not a model\n".utf8)),
            ("empty.onnx", Data()),
            ("truncated.onnx", try (tinyModel().serializedBytes() as Data).prefix(700))
        ]
        for (name, bytes) in files {
            let path = dir.appendingPathComponent(name).path
            try bytes.write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try ONNXLoader.load(path: path)) { error in
                let message = (error as? ONNXError)?.description ?? "\(error)"
                XCTAssertTrue(message.hasPrefix("\(path): not an ONNX model"), message)
                XCTAssertFalse(message.contains("\n"), message)
            }
        }
        let missing = dir.appendingPathComponent("missing.onnx").path
        XCTAssertThrowsError(try ONNXLoader.load(path: missing)) { error in
            XCTAssertTrue("\(error)".hasPrefix("\(missing): cannot read the file"), "\(error)")
        }
    }
}
