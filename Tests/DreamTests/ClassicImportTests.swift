@_spi(ONNX) import Dream
import Foundation
@_spi(ONNX) import TestSupport
import XCTest

/// The export styles classic networks arrive in (torchvision's transform_input prefix, tf2onnx's
/// NHWC Transpose and `:0` names, shape arithmetic on constants, classifier heads with ops Reverie
/// does not run), tiny widths and random weights; checked against the same network built clean.
final class ClassicImportTests: XCTestCase {
    var rng = SeededGenerator(seed: 5)

    func weights(_ name: String, _ dims: [Int], scale: Float = 0.4) -> Onnx_TensorProto {
        ONNXBuild.tensor(name, dims, (0..<dims.reduce(1, *)).map { _ in scale * Float.random(in: -1...1, using: &rng) })
    }

    func load(_ model: Onnx_ModelProto) throws -> Network {
        try Network(graph: ONNXLoader.graph(from: model, name: "model.onnx"))
    }

    func conv(_ x: String, _ w: String, _ out: String) -> Onnx_NodeProto {
        ONNXBuild.node("Conv", [x, w], [out], name: out, [ONNXBuild.attr("kernel_shape", ints: [3, 3]), ONNXBuild.attr("pads", ints: [1, 1, 1, 1])])
    }

    /// A picture (1, 3, h, w) in 0...1.
    func picture(_ h: Int, _ w: Int) -> Tensor {
        Tensor(shape: [1, 3, h, w], data: (0..<(3 * h * w)).map { _ in Float.random(in: 0...1, using: &rng) })
    }

    func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
        XCTAssertEqual(a.shape, b.shape)
        return zip(a.data, b.data).map { abs($0 - $1) }.max() ?? 0
    }

    /// torchvision's GoogLeNet/InceptionV3 with transform_input=True: Gather/Unsqueeze/Mul/Add per
    /// channel, Concat, then the network; the head runs Shape (not supported at run time).
    func testTorchvisionTransformInputBecomesPreprocessing() throws {
        let scale: [Float] = [0.229 / 0.5, 0.224 / 0.5, 0.225 / 0.5]
        let shift: [Float] = [(0.485 - 0.5) / 0.5, (0.456 - 0.5) / 0.5, (0.406 - 0.5) / 0.5]
        var nodes: [Onnx_NodeProto] = [], inits = [weights("w", [4, 3, 3, 3])]
        for c in 0..<3 {
            inits += [
                ONNXBuild.int64Tensor("idx\(c)", [c]).reshapedToScalar(), ONNXBuild.int64Tensor("axis1", [1]),
                ONNXBuild.tensor("a\(c)", [], [scale[c]]), ONNXBuild.tensor("b\(c)", [], [shift[c]])
            ]
            nodes += [
                ONNXBuild.node("Gather", ["x", "idx\(c)"], ["g\(c)"], name: "/Gather_\(c)", [ONNXBuild.attr("axis", int: 1)]),
                ONNXBuild.node("Unsqueeze", ["g\(c)", "axis1"], ["u\(c)"], name: "/Unsqueeze_\(c)"),
                ONNXBuild.node("Mul", ["u\(c)", "a\(c)"], ["m\(c)"], name: "/Mul_\(c)"),
                ONNXBuild.node("Add", ["m\(c)", "b\(c)"], ["t\(c)"], name: "/Add_\(c)")
            ]
        }
        nodes += [
            ONNXBuild.node("Concat", ["t0", "t1", "t2"], ["prefixed"], name: "/Concat", [ONNXBuild.attr("axis", int: 1)]),
            conv("prefixed", "w", "conv1"), ONNXBuild.node("Relu", ["conv1"], ["feat"], name: "relu1"),
            ONNXBuild.node("Shape", ["feat"], ["shape"], name: "/Shape"),
            ONNXBuild.node("Reshape", ["feat", "shape"], ["logits"], name: "/Reshape")
        ]
        let model = ONNXBuild.model(
            nodes: nodes, initializers: inits, inputs: [ONNXBuild.value("x", [1, 3, "h", "w"])], outputs: ["logits"], opset: 13)
        let network = try load(model)
        // ImageNet mean/std followed by the prefix is (rgb − 127.5) / 127.5 on every channel.
        for c in 0..<3 {
            XCTAssertEqual(network.preprocessing.toModel(0, channel: c), -1, accuracy: 1e-3)
            XCTAssertEqual(network.preprocessing.toModel(255, channel: c), 1, accuracy: 1e-3)
        }
        // Against the prefix computed by hand on the ImageNet-normalised picture, then the same conv.
        let p = picture(9, 11)
        var prefixed = Preprocessing.imageNet.toModel(p)
        let plane = 9 * 11
        for c in 0..<3 { for i in 0..<plane { prefixed.data[c * plane + i] = prefixed.data[c * plane + i] * scale[c] + shift[c] } }
        let clean = ONNXBuild.model(
            nodes: [conv("prefixed", "w", "conv1"), ONNXBuild.node("Relu", ["conv1"], ["feat"], name: "relu1")],
            initializers: [inits[0]], inputs: [ONNXBuild.value("prefixed", [1, 3, "h", "w"])], outputs: ["feat"])
        let expected = try load(clean).forward(prefixed, outputs: ["feat"])["feat"]!
        let got = try network.forward(network.preprocessing.toModel(p), outputs: ["feat"])["feat"]!
        XCTAssertLessThan(maxDifference(got, expected), 1e-4)
        // The head is cut off with the reason, not a failed load.
        XCTAssertThrowsError(try network.forward(p, outputs: ["logits"])) { error in
            XCTAssertTrue("\(error)".contains("operator Shape is not supported"), "\(error)")
        }
    }

    /// tf2onnx / Keras: NHWC input, a Transpose to NCHW, values named like `block1_conv1/Relu:0`,
    /// a Flatten built from constant shape arithmetic (Shape of a constant, Gather, Unsqueeze, Concat).
    func testTf2onnxNHWCInputColonNamesAndConstantShapeArithmetic() throws {
        let inits = [
            weights("w", [4, 3, 3, 3]), ONNXBuild.tensor("shape_source", [1, 2], [0, 0]),
            ONNXBuild.int64Tensor("zero", [0]).reshapedToScalar(), ONNXBuild.int64Tensor("axes0", [0]),
            ONNXBuild.int64Tensor("minus1", [-1])
        ]
        let nodes = [
            ONNXBuild.node("Transpose", ["input_1"], ["nchw"], name: "transpose", [ONNXBuild.attr("perm", ints: [0, 3, 1, 2])]),
            conv("nchw", "w", "block1_conv1/BiasAdd:0"),
            ONNXBuild.node("Relu", ["block1_conv1/BiasAdd:0"], ["block1_conv1/Relu:0"], name: "block1_conv1/Relu"),
            ONNXBuild.node("Shape", ["shape_source"], ["s"], name: "Shape__1"),
            ONNXBuild.node("Gather", ["s", "zero"], ["s0"], name: "Gather__2", [ONNXBuild.attr("axis", int: 0)]),
            ONNXBuild.node("Unsqueeze", ["s0", "axes0"], ["s0u"], name: "Unsqueeze__3"),
            ONNXBuild.node("Concat", ["s0u", "minus1"], ["flat_shape"], name: "Concat__4", [ONNXBuild.attr("axis", int: 0)]),
            ONNXBuild.node("Reshape", ["block1_conv1/Relu:0", "flat_shape"], ["flatten/Reshape:0"], name: "flatten/Reshape")
        ]
        let model = ONNXBuild.model(
            nodes: nodes, initializers: inits, inputs: [ONNXBuild.value("input_1", ["unk__1", "h", "w", 3])],
            outputs: ["flatten/Reshape:0"])
        let network = try load(model)
        XCTAssertEqual(network.graph.inputChannels, 3)
        let term = try LayerTerm(parsing: "block1_conv1/Relu:0", layerNames: network.layerNames)
        XCTAssertEqual(term.name, "block1_conv1/Relu:0")
        XCTAssertEqual(term.weight, 1)
        let weighted = try LayerTerm(parsing: "block1_conv1/Relu:0:0.5", layerNames: network.layerNames)
        XCTAssertEqual(weighted.name, "block1_conv1/Relu:0")
        XCTAssertEqual(weighted.weight, 0.5)
        let x = Preprocessing.imageNet.toModel(picture(6, 7))
        let out = try network.forward(x, outputs: ["block1_conv1/Relu:0", "flatten/Reshape:0"])
        XCTAssertEqual(out["flatten/Reshape:0"]!.shape, [1, 4 * 6 * 7])
        XCTAssertEqual(out["flatten/Reshape:0"]!.data, out["block1_conv1/Relu:0"]!.data)
        let clean = ONNXBuild.model(
            nodes: [conv("x", "w", "c"), ONNXBuild.node("Relu", ["c"], ["r"], name: "r")],
            initializers: [inits[0]], inputs: [ONNXBuild.value("x", [1, 3, "h", "w"])], outputs: ["r"])
        XCTAssertLessThan(maxDifference(out["block1_conv1/Relu:0"]!, try load(clean).forward(x, outputs: ["r"])["r"]!), 1e-5)
    }

    /// An op Reverie does not run inside the image trunk stays a load error naming the op and node.
    func testAnUnsupportedOpBeforeAConvIsStillALoadError() throws {
        let nodes = [
            ONNXBuild.node("Erf", ["x"], ["e"], name: "weird"),
            conv("e", "w", "c")
        ]
        let model = ONNXBuild.model(
            nodes: nodes, initializers: [weights("w", [4, 3, 3, 3])], inputs: [ONNXBuild.value("x", [1, 3, "h", "w"])], outputs: ["c"])
        XCTAssertThrowsError(try load(model)) { error in
            XCTAssertEqual("\(error)", "model.onnx: node 'weird' (Erf): operator Erf is not supported")
        }
    }

    /// A VGG-shaped stack (3x3 convs, five pools) is recognised with its block names and classic layers.
    func testVGGIsRecognisedByStructure() throws {
        var nodes: [Onnx_NodeProto] = [], inits: [Onnx_TensorProto] = [], x = "x", channels = 3, k = 0
        for (b, count) in [2, 2, 3, 3, 3].enumerated() {
            for _ in 0..<count {
                k += 1
                inits.append(weights("w\(k)", [4, channels, 3, 3]))
                nodes += [
                    conv(x, "w\(k)", "/features/\(2 * k)/Conv"),
                    ONNXBuild.node("Relu", ["/features/\(2 * k)/Conv"], ["/features/\(2 * k + 1)/Relu"], name: "r\(k)")
                ]
                x = "/features/\(2 * k + 1)/Relu"; channels = 4
            }
            nodes.append(
                ONNXBuild.node(
                    "MaxPool", [x], ["/pool\(b)"], name: "p\(b)",
                    [ONNXBuild.attr("kernel_shape", ints: [2, 2]), ONNXBuild.attr("strides", ints: [2, 2])]))
            x = "/pool\(b)"
        }
        let network = try load(ONNXBuild.model(nodes: nodes, initializers: inits, inputs: [ONNXBuild.value("x", [1, 3, "h", "w"])], outputs: [x]))
        XCTAssertEqual(network.family, .vgg)
        XCTAssertEqual(network.recommendedLayers, ["block4_conv3", "block5_conv3"])
        XCTAssertEqual(network.blockNames.first { $0.name == "block4_conv3" }?.value, "/features/\(2 * 10 + 1)/Relu")
        XCTAssertEqual(network.blockNames.first { $0.name == "block3_pool" }?.value, "/pool2")
        // A block name dreams like the value it stands for.
        let p = Preprocessing.imageNet.toModel(picture(64, 64))
        XCTAssertEqual(
            try network.forward(p, outputs: ["block4_conv3"])["block4_conv3"],
            try network.forward(p, outputs: ["/features/21/Relu"])["/features/21/Relu"])
        XCTAssertEqual(network.preprocessingSource, "torch (ImageNet mean/std), the default")
    }

    /// Nine four-branch concats with LRN: a Caffe GoogLeNet (the ONNX zoo's), BGR 0-255 input detected.
    func testGoogLeNetIsRecognisedAndGetsCaffePreprocessing() throws {
        var nodes = [
            conv("data_0", "stem", "conv1"),
            ONNXBuild.node("LRN", ["conv1"], ["norm1"], name: "norm1", [ONNXBuild.attr("size", int: 5)])
        ]
        var inits = [weights("stem", [4, 3, 3, 3])], x = "norm1"
        for m in 0..<9 {
            var branches: [String] = []
            for b in 0..<4 {
                inits.append(weights("w\(m)_\(b)", [2, 4, 3, 3]))
                nodes.append(conv(x, "w\(m)_\(b)", "m\(m)b\(b)"))
                branches.append("m\(m)b\(b)")
            }
            nodes.append(ONNXBuild.node("Concat", branches, ["inception_\(m)/output_0"], name: "concat\(m)", [ONNXBuild.attr("axis", int: 1)]))
            x = "inception_\(m)/output_0"
            inits.append(weights("sq\(m)", [4, 8, 3, 3]))
            nodes.append(conv(x, "sq\(m)", "squeeze\(m)"))
            x = "squeeze\(m)"
        }
        let network = try load(
            ONNXBuild.model(nodes: nodes, initializers: inits, inputs: [ONNXBuild.value("data_0", [1, 3, 224, 224])], outputs: [x]))
        XCTAssertEqual(network.family, .googlenet)
        XCTAssertEqual(network.recommendedLayers, ["inception_4c", "inception_4d", "inception_3b"])
        XCTAssertEqual(network.blockNames.first { $0.name == "inception_4c" }?.value, "inception_4/output_0")
        XCTAssertEqual(network.preprocessing, InputConvention.caffe.preprocessing)
        XCTAssertTrue(network.preprocessingSource.hasPrefix("caffe, detected"), network.preprocessingSource)
        // A fixed declared 224x224 still runs at other sizes.
        XCTAssertEqual(try network.forward(Tensor(zeros: [1, 3, 40, 56]), outputs: ["inception_4c"])["inception_4c"]?.shape, [1, 8, 40, 56])
    }

    /// Each convention maps grey to the right model value, and a short dream of a grey picture
    /// keeps its mean colour: a wrong mean or channel order would shift it.
    func testEachConventionKeepsAGreyDreamGrey() throws {
        let grey = Tensor(shape: [1, 3, 32, 32], data: [Float](repeating: 0.5, count: 3 * 32 * 32))
        let expectedGrey: [InputConvention: [Float]] = [
            .torch: [(127.5 - 123.675) / 58.395, (127.5 - 116.28) / 57.12, (127.5 - 103.53) / 57.375],
            .caffe: [127.5 - 103.939, 127.5 - 116.779, 127.5 - 123.68], .inception: [0, 0, 0],
            .unit: [0.5, 0.5, 0.5], .raw: [127.5, 127.5, 127.5]
        ]
        for convention in InputConvention.allCases {
            let network = try Network(graph: tinyDreamGraph(), input: convention)
            let model = network.preprocessing.toModel(grey)
            for c in 0..<3 { XCTAssertEqual(model.data[c * 1024], expectedGrey[convention]![c], accuracy: 1e-4, "\(convention) channel \(c)") }
            XCTAssertEqual(maxDifference(network.preprocessing.fromModel(model), grey), 0, accuracy: 1e-5)
            var p = DreamParameters.defaults
            p.layers = [network.recommendedLayers[0]]
            p.steps = 3; p.octaves = try OctaveRange(parsing: "0..0"); p.stepSize = 0.01 * network.preprocessing.std[0] / 58
            var rng = SeededGenerator(seed: 2)
            let dreamed = try Dreamer(model: network).dream(grey, parameters: p, rng: &rng)
            XCTAssertNotEqual(dreamed.data, grey.data, "\(convention): the dream did nothing")
            for c in 0..<3 {
                let mean = dreamed.data[(c * 1024)..<((c + 1) * 1024)].reduce(0, +) / 1024
                XCTAssertEqual(mean, 0.5, accuracy: 0.03, "\(convention): channel \(c) mean moved")
            }
        }
    }

    func testSidecarAndBadConventionNames() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("reverie-sidecar-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("m.onnx").path
        let model = ONNXBuild.model(
            nodes: [conv("x", "w", "c")], initializers: [weights("w", [4, 3, 3, 3])], inputs: [ONNXBuild.value("x", [1, 3, "h", "w"])], outputs: ["c"]
        )
        try model.serializedData().write(to: URL(fileURLWithPath: path))
        try Data(#"{"input": "caffe"}"#.utf8).write(to: URL(fileURLWithPath: path + ".json"))
        XCTAssertEqual(try Network(onnxPath: path).preprocessing, InputConvention.caffe.preprocessing)
        XCTAssertEqual(try Network(onnxPath: path, input: .inception).preprocessing, InputConvention.inception.preprocessing)
        try Data(#"{"input": "bgr255"}"#.utf8).write(to: URL(fileURLWithPath: path + ".json"))
        XCTAssertThrowsError(try Network(onnxPath: path)) { error in
            XCTAssertTrue("\(error)".hasPrefix("\(path): metadata reverie.input = \"bgr255\" is not one of"), "\(error)")
        }
        try Data(#"{"colour": 1}"#.utf8).write(to: URL(fileURLWithPath: path + ".json"))
        XCTAssertThrowsError(try Network(onnxPath: path)) { error in
            XCTAssertTrue("\(error)".hasPrefix("\(path).json: key \"colour\""), "\(error)")
        }
    }
}

extension Onnx_TensorProto {
    /// The same values with no dims (a scalar), as exporters write Gather indices.
    fileprivate func reshapedToScalar() -> Onnx_TensorProto {
        var t = self
        t.dims = []
        return t
    }
}
