import XCTest
import Dream
@testable import render

/// `render layers` as a function: the default model's listing at 1280x720 against the reference
/// table's shapes, the recommended marks, size parsing and a missing model file.
final class LayersCommandTests: XCTestCase {
    func testDefaultModelListingMatchesReferenceShapes() throws {
        let network = try loadNetwork(modelPath: nil, quiet: true)
        var lines = try layerListing(network, width: 1280, height: 720).split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 1 + 18 + 1, lines.joined(separator: "\n"))
        XCTAssertEqual(lines.removeLast(), "input: RGB, mean 127,127,127, std 128,128,128 (the model's metadata)")
        let byName = Dictionary(
            uniqueKeysWithValues: lines.dropFirst().map { line in
                (String(line.split(separator: " ")[0]), line.split(separator: " ").dropFirst().joined(separator: " "))
            })
        XCTAssertEqual(lines.dropFirst().map { String($0.split(separator: " ")[0]) }, EfficientNetLite.layers, "in graph order")
        // The reference README's "output at 1280x720 input" column.
        let expected = [
            "stem": "32x360x640", "block0": "16x360x640", "block1": "24x180x320", "block3": "40x90x160",
            "block5": "80x45x80", "block8": "112x45x80", "block11": "192x23x40", "block15": "320x23x40",
            "head": "1280x23x40"
        ]
        for (name, shape) in expected { XCTAssertEqual(byName[name]?.split(separator: " ").first.map(String.init), shape, name) }
        XCTAssertEqual(byName["block10"], "112x45x80 * recommended #1")
        XCTAssertEqual(byName["block12"], "192x23x40 * recommended #2")
        XCTAssertEqual(byName["block9"], "112x45x80")
    }

    func testSizeParsing() {
        XCTAssertTrue(parseSize("640x360")! == (640, 360))
        XCTAssertTrue(parseSize("640X360")! == (640, 360))
        for bad in ["640", "x360", "640x", "0x10", "-5x5", "axb", "1x2x3"] { XCTAssertNil(parseSize(bad), bad) }
    }

    func testMissingModelFileIsOneClearError() {
        XCTAssertThrowsError(try loadNetwork(modelPath: "/nonexistent/net.onnx", quiet: true)) {
            XCTAssertEqual("\($0)", "/nonexistent/net.onnx: no such model file")
        }
    }
}
