import TestSupport
import XCTest

/// `render model list`, `render model fetch NAME` and `--model NAME`, run as the built binary
/// against an empty cache (nothing here downloads).
final class ModelCommandTests: XCTestCase {
    func emptyCache() throws -> [String: String] {
        let dir = NSTemporaryDirectory() + "reverie-model-cache-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return ["XDG_CACHE_HOME": dir]
    }

    func testListShowsTheKnownNamesAndWhetherEachIsCached() throws {
        let env = try emptyCache()
        let result = try runRender(["model", "list"], environment: env)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("efficientnet-lite0: not cached (render model fetch efficientnet-lite0)"), result.stdout)
        XCTAssertTrue(result.stdout.contains("vgg16: not cached (render model fetch vgg16)"), result.stdout)

        // A file in the cache counts as cached (its presence is the cache hit).
        let cached = env["XDG_CACHE_HOME"]! + "/reverie/models/vgg16.onnx"
        try FileManager.default.createDirectory(atPath: env["XDG_CACHE_HOME"]! + "/reverie/models", withIntermediateDirectories: true)
        try Data().write(to: URL(fileURLWithPath: cached))
        XCTAssertTrue(try runRender(["model", "list"], environment: env).stdout.contains("vgg16: cached at \(cached)"))
    }

    func testAnUnknownModelNameIsOneLineAndAFailure() throws {
        let env = try emptyCache()
        let result = try runRender(["layers", "--model", "googlenet"], environment: env)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertEqual(
            result.stderr.trimmingCharacters(in: .whitespacesAndNewlines),
            "error: googlenet: no such model file, and not a model name (known: efficientnet-lite0, vgg16)")

        let fetch = try runRender(["model", "fetch", "googlenet"], environment: env)
        XCTAssertNotEqual(fetch.status, 0)
        XCTAssertEqual(fetch.stderr.split(separator: "\n").count, 1, fetch.stderr)
        XCTAssertTrue(fetch.stderr.contains("unknown model 'googlenet' (known: efficientnet-lite0, vgg16)"), fetch.stderr)
    }
}
