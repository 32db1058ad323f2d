import Dream
import TestSupport
import XCTest

/// The real converted VGG16, when `render model fetch vgg16` has cached it (these tests never
/// download: without the file they skip).
final class VGG16ModelTests: XCTestCase {
    func testTheCachedModelListsItsLayersAndDreams() throws {
        let path = VGG16Model.fetchable.cachedPath()
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("\(path) is not cached; run `render model fetch vgg16` first")
        }
        let network = try Network(onnxPath: path)
        XCTAssertEqual(network.layers, KerasVGG16.layers)
        XCTAssertEqual(network.recommendedLayers, ["block4_conv3", "block5_conv3"])
        let shapes = Dictionary(uniqueKeysWithValues: try network.shapes(height: 64, width: 64).map { ($0.name, $0.shape) })
        XCTAssertEqual(shapes["block1_conv1"], [1, 64, 64, 64])
        XCTAssertEqual(shapes["block4_conv3"], [1, 512, 8, 8])
        XCTAssertEqual(shapes["block5_pool"], [1, 512, 2, 2])

        var pixels = [Float](repeating: 0, count: 3 * 64 * 64)
        for c in 0..<3 {
            for y in 0..<64 {
                for x in 0..<64 { pixels[(c * 64 + y) * 64 + x] = 0.5 + 0.3 * sin(Float(x) * 0.2 + Float(c)) * cos(Float(y) * 0.15) }
            }
        }
        let picture = Tensor(shape: [1, 3, 64, 64], data: pixels)
        var parameters = DreamParameters.defaults
        parameters.layers = ["block4_conv3"]
        parameters.steps = 2
        parameters.octaves = try OctaveRange(parsing: "0..0")
        var rng = SeededGenerator(seed: 1)
        let dreamed = try Dreamer(model: network).dream(picture, parameters: parameters, rng: &rng)
        XCTAssertEqual(dreamed.shape, picture.shape)
        XCTAssertTrue(dreamed.data.allSatisfy(\.isFinite))
        let change = zip(dreamed.data, picture.data).map { abs($0 - $1) }.reduce(0, +) / Float(pixels.count)
        print("vgg16: two steps at block4_conv3 changed the 64x64 picture by \(change) on average (0...1 units)")
        XCTAssertGreaterThan(change, 1e-3, "two dream steps must change the picture")
    }
}
