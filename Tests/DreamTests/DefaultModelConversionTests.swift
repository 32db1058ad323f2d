import XCTest
@_spi(ONNX) import Dream

/// The state dict → ONNX conversion on a synthetic EfficientNet-Lite0 state dict (right keys and
/// shapes, made-up values): graph structure, attributes, metadata, and errors for bad checkpoints.
final class DefaultModelConversionTests: XCTestCase {
    /// The reference table: (expand, kernel, stride, cin, cout) per block.
    static let blocks: [(Int, Int, Int, Int, Int)] = [
        (1, 3, 1, 32, 16), (6, 3, 2, 16, 24), (6, 3, 1, 24, 24), (6, 5, 2, 24, 40), (6, 5, 1, 40, 40),
        (6, 3, 2, 40, 80), (6, 3, 1, 80, 80), (6, 3, 1, 80, 80), (6, 5, 1, 80, 112), (6, 5, 1, 112, 112),
        (6, 5, 1, 112, 112), (6, 5, 2, 112, 192), (6, 5, 1, 192, 192), (6, 5, 1, 192, 192), (6, 5, 1, 192, 192),
        (6, 3, 1, 192, 320)
    ]

    static let synthetic = syntheticStateDict()  // 4.6 M values: build once per run

    static func syntheticStateDict() -> TorchStateDict {
        var entries: [(name: String, tensor: Tensor)] = []
        func add(_ name: String, _ shape: [Int]) {
            let n = shape.reduce(1, *)
            entries.append((name, Tensor(shape: shape, data: (0..<n).map { Float(($0 * 7919) % 13) / 13 })))
        }
        func bn(_ prefix: String, _ c: Int) {
            for p in ["weight", "bias", "running_mean", "running_var"] { add("\(prefix).\(p)", [c]) }
        }
        add("_conv_stem.weight", [32, 3, 3, 3]); bn("_bn0", 32)
        for (i, (e, k, _, cin, cout)) in blocks.enumerated() {
            if e != 1 { add("_blocks.\(i)._expand_conv.weight", [cin * e, cin, 1, 1]); bn("_blocks.\(i)._bn0", cin * e) }
            add("_blocks.\(i)._depthwise_conv.weight", [cin * e, 1, k, k]); bn("_blocks.\(i)._bn1", cin * e)
            add("_blocks.\(i)._project_conv.weight", [cout, cin * e, 1, 1]); bn("_blocks.\(i)._bn2", cout)
        }
        add("_conv_head.weight", [1280, 320, 1, 1]); bn("_bn1", 1280)
        add("_fc.weight", [1000, 1280]); add("_fc.bias", [1000])
        return TorchStateDict(entries: entries)
    }

    func testGraphStructure() throws {
        let model = try EfficientNetLite.lite0ONNX(from: Self.synthetic)
        XCTAssertEqual(model.opsetImport.map(\.version), [13])
        let g = model.graph
        XCTAssertEqual(g.input.map(\.name), ["image"])
        XCTAssertEqual(g.output.map(\.name), ["logits"])
        let count = { (type: String) in g.node.filter { $0.opType == type }.count }
        XCTAssertEqual(count("Conv"), 1 + 16 * 3 - 1 + 1, "stem, expand/depthwise/project (block 0 has no expand), head")
        XCTAssertEqual(count("BatchNormalization"), count("Conv"))
        XCTAssertEqual(count("Clip"), 1 + 15 * 2 + 1 + 1)
        XCTAssertEqual(count("Add"), Self.blocks.filter { $0.2 == 1 && $0.3 == $0.4 }.count)
        XCTAssertEqual(count("Gemm"), 1)

        let producer = Dictionary(g.node.map { ($0.output[0], $0) }, uniquingKeysWith: { a, _ in a })
        for layer in EfficientNetLite.layers { XCTAssertNotNil(producer[layer], "no node outputs \(layer)") }
        XCTAssertEqual(producer["stem"]?.opType, "Clip")
        XCTAssertEqual(producer["head"]?.opType, "Clip")
        XCTAssertEqual(producer["block1"]?.opType, "BatchNormalization", "stride 2: no skip")
        XCTAssertEqual(producer["block2"]?.opType, "Add", "stride 1, 24→24: skip")
        XCTAssertEqual(producer["block8"]?.opType, "BatchNormalization", "80→112: no skip")
        XCTAssertEqual(producer["block10"]?.opType, "Add")
        XCTAssertEqual(producer["block2"]?.input.last, "block1", "the skip adds the block's input")

        for n in g.node where n.opType == "BatchNormalization" {
            XCTAssertEqual(n.attribute.first { $0.name == "epsilon" }?.f, 1e-3)
        }
        let depthwise = g.node.first { $0.output[0] == "blocks.3.depthwise" }
        XCTAssertEqual(depthwise?.attribute.first { $0.name == "group" }?.i, 144)
        XCTAssertEqual(depthwise?.attribute.first { $0.name == "strides" }?.ints, [2, 2])
        XCTAssertEqual(depthwise?.attribute.first { $0.name == "kernel_shape" }?.ints, [5, 5])
        for n in g.node where n.opType == "Conv" {
            XCTAssertEqual(n.attribute.first { $0.name == "auto_pad" }.map { String(decoding: $0.s, as: UTF8.self) }, "SAME_UPPER")
        }
        let metadata = Dictionary(uniqueKeysWithValues: model.metadataProps.map { ($0.key, $0.value) })
        XCTAssertEqual(metadata["reverie.mean"], "127,127,127")
        XCTAssertEqual(metadata["reverie.std"], "128,128,128")
        XCTAssertEqual(metadata["reverie.layers"], "stem," + (0..<16).map { "block\($0)" }.joined(separator: ",") + ",head")
        XCTAssertEqual(metadata["reverie.recommended"], "block10,block12,block8,block14")

        // Every weight becomes an initializer holding the checkpoint's float32 bytes.
        let stem = try XCTUnwrap(g.initializer.first { $0.name == "_conv_stem.weight" })
        XCTAssertEqual(stem.dims, [32, 3, 3, 3])
        let expected = try XCTUnwrap(Self.synthetic["_conv_stem.weight"])
        let stored = stem.rawData.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        XCTAssertEqual(stored, expected.data)

        // The serialized model parses back identically.
        let bytes: Data = try model.serializedData()
        XCTAssertEqual(try Onnx_ModelProto(serializedBytes: bytes), model)
    }

    func testCutKeepsOnlyWhatALayerNeeds() throws {
        let model = try EfficientNetLite.lite0ONNX(from: Self.synthetic)
        let cut = try EfficientNetLite.cut(model, at: ["block10"])
        XCTAssertEqual(cut.graph.output.map(\.name), ["block10"])
        XCTAssertEqual(cut.graph.node.last?.output, ["block10"])
        let outputs = Set(cut.graph.node.flatMap(\.output))
        XCTAssertTrue(outputs.isSuperset(of: ["stem", "block0", "block9", "blocks.10.project"]))
        XCTAssertTrue(outputs.isDisjoint(with: ["block11", "head", "logits"]))
        let weights = Set(cut.graph.initializer.map(\.name))
        XCTAssertTrue(weights.contains("_blocks.10._project_conv.weight"))
        XCTAssertFalse(weights.contains("_blocks.11._expand_conv.weight"))
        XCTAssertFalse(weights.contains("_fc.weight"))
        XCTAssertThrowsError(try EfficientNetLite.cut(model, at: ["block99"])) { XCTAssertTrue("\($0)".contains("block99"), "\($0)") }
    }

    func testMissingOrMisshapenWeightsNameTheKey() {
        var missing = Self.synthetic
        missing.entries.removeAll { $0.name == "_blocks.7._bn1.running_var" }
        XCTAssertThrowsError(try EfficientNetLite.lite0ONNX(from: missing)) {
            XCTAssertTrue("\($0)".contains("_blocks.7._bn1.running_var"), "\($0)")
        }
        var misshapen = Self.synthetic
        let i = misshapen.entries.firstIndex { $0.name == "_blocks.3._depthwise_conv.weight" }!
        misshapen.entries[i].tensor = Tensor(shape: [144, 1, 3, 3], data: [Float](repeating: 0, count: 144 * 9))
        XCTAssertThrowsError(try EfficientNetLite.lite0ONNX(from: misshapen)) {
            XCTAssertTrue("\($0)".contains("_blocks.3._depthwise_conv.weight has shape [144, 1, 3, 3], expected [144, 1, 5, 5]"), "\($0)")
        }
    }

    func testCacheDirectoryFollowsXDG() {
        XCTAssertEqual(
            DefaultModel.cachedPath(environment: ["XDG_CACHE_HOME": "/x/cache", "HOME": "/home/u"]),
            "/x/cache/reverie/models/efficientnet-lite0.onnx")
        XCTAssertEqual(
            DefaultModel.cachedPath(environment: ["HOME": "/home/u"]),
            "/home/u/.cache/reverie/models/efficientnet-lite0.onnx")
        XCTAssertEqual(
            DefaultModel.cachedPath(environment: ["XDG_CACHE_HOME": "relative", "HOME": "/home/u"]),
            "/home/u/.cache/reverie/models/efficientnet-lite0.onnx", "relative XDG paths are ignored, per the spec")
    }

    func testConvertRefusesWrongChecksum() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("reverie-bad-\(UUID().uuidString).pth").path
        try Data(Self.checkpointLookalike()).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertThrowsError(try DefaultModel.convert(pthAt: path)) {
            XCTAssertTrue("\($0)".hasPrefix(path + ": SHA-256"), "\($0)")
            XCTAssertTrue("\($0)".contains("refusing"), "\($0)")
        }
    }

    static func checkpointLookalike() -> [UInt8] { Array("not the EfficientNet-Lite0 checkpoint".utf8) }
}
