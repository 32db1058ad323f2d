import XCTest
import Dream
import TestSupport

/// The default model through the real fetch + conversion path classifies chelsea.png (a tabby)
/// as a cat: proves the weights, the layout, the SAME padding, BN epsilon and preprocessing.
final class DefaultModelClassificationTests: XCTestCase {
    func testChelseaIsATigerCat() throws {
        guard let chelsea = ImageNetInput.samplePath("chelsea.png") else { throw XCTSkip("samples not fetched (run samples/fetch)") }
        let network = try Network(onnxPath: try DefaultModel.ensure())
        XCTAssertEqual(network.preprocessing, Preprocessing(mean: [127, 127, 127], std: [128, 128, 128]))
        XCTAssertEqual(network.layers, EfficientNetLite.layers)
        XCTAssertEqual(network.recommendedLayers, ["block10", "block12", "block8", "block14"])

        let x = try ImageNetInput.load(path: chelsea, preprocessing: network.preprocessing)
        let logits = try XCTUnwrap(try network.forward(x, outputs: ["logits"])["logits"])
        XCTAssertEqual(logits.shape, [1, 1000])
        let top = logits.data.max() ?? 0
        let exps = logits.data.map { exp(Double($0 - top)) }
        let p = exps.map { $0 / exps.reduce(0, +) }
        let ranked = p.indices.sorted { p[$0] > p[$1] }
        let cats = p[281...285].reduce(0, +)
        print("chelsea: top-5 \(ranked.prefix(5).map { "\($0) (\(String(format: "%.3f", p[$0])))" }), p(281–285) = \(String(format: "%.3f", cats))")
        XCTAssertEqual(ranked[0], 282, "tiger cat; the reference run gives 282 (p ≈ 0.38), then 285, 281")
        XCTAssertTrue(Set(ranked.prefix(3)).isSubset(of: Set(281...285)), "top-3 \(ranked.prefix(3)) should all be cats")
        XCTAssertGreaterThan(cats, 0.8, "the reference puts about 91 % on classes 281–285")
    }
}
