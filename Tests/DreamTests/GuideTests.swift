@testable import Dream
import TestSupport
import XCTest

/// Guide images (google/deepdream's `objective_guide`): the guided term's values and gradient,
/// how it mixes with the ordinary objective, tiles, schedules, and the features' cache.
final class GuideTests: XCTestCase {
    /// The guided term of `a` against `y` and the ordinary l2 term, in Double, by plain loops:
    /// ((1 − g) · 0.5 Σ a² + g · Σ_i max_j a_i · y_j) / n.
    func referenceLoss(_ a: [Float], channels c: Int, guide y: GuideFeatures.Layer, g: Double, n: Double) -> Double {
        let p = a.count / c, m = y.positions
        let ordinary = a.reduce(0.0) { $0 + 0.5 * Double($1) * Double($1) }
        var guided = 0.0
        for i in 0..<p {
            var best = -Double.infinity
            for j in 0..<m {
                var d = 0.0
                for ch in 0..<c { d += Double(a[ch * p + i]) * Double(y.values[ch * m + j]) }
                best = max(best, d)
            }
            guided += best
        }
        return ((1 - g) * ordinary + g * guided) / n
    }

    func objective(_ layer: String, guide: GuideFeatures.Layer, weight g: Float, term: LayerTerm? = nil) -> Objective {
        Objective(
            kind: .l2, terms: [term ?? LayerTerm(name: layer)], guide: GuideFeatures(layers: [layer: guide]), guideWeight: g)
    }

    /// Three positions, two channels, a guide of two positions: every value worked out by hand.
    /// Dot products x_i · y_j: position 0 → (3, −1), 1 → (2, 4), 2 → (4, 1): the best are y0, y1,
    /// y0, summing to 11; N = 6 elements.
    func testSeedOnAHandMadePairGivesTheExactValues() {
        // Channel-major: channel 0 = [1, 0, 1], channel 1 = [0, 2, 1]; y0 = (3, 1), y1 = (−1, 2).
        let x = Tensor(shape: [1, 2, 1, 3], data: [1, 0, 1, 0, 2, 1])
        let y = GuideFeatures.Layer(channels: 2, positions: 2, values: [3, -1, 1, 2])

        var (loss, grad) = objective("L", guide: y, weight: 1).seed(layer: "L", activation: x, normaliser: 6)
        XCTAssertEqual(loss, 11 / 6, accuracy: 1e-6)
        assertClose(grad.data, [3, -1, 3, 1, 2, 1].map { $0 / 6 }, rtol: 1e-6, atol: 1e-7, "g = 1: each position gets its best guide vector / N")

        // g = 0.25: 0.75 · (0.5 Σ x² = 3.5) / 6 + 0.25 · 11 / 6; gradient 0.75 x / 6 + 0.25 y* / 6.
        (loss, grad) = objective("L", guide: y, weight: 0.25).seed(layer: "L", activation: x, normaliser: 6)
        XCTAssertEqual(loss, (0.75 * 3.5 + 0.25 * 11) / 6, accuracy: 1e-6)
        assertClose(grad.data, [1.5, -0.25, 1.5, 0.25, 2, 1].map { $0 / 6 }, rtol: 1e-6, atol: 1e-7, "g = 0.25 mixes both")

        // A term on channel 1 with weight 2 compares channel 1 only: products (0, 0) (a tie: the first
        // guide position wins), (2, 4), (1, 2) → 0 + 4 + 2 = 6, over N · 1/2 = 3, times 2: loss 4;
        // channel 0's gradient stays 0.
        let one = objective("L", guide: y, weight: 1, term: LayerTerm(name: "L", weight: 2, channels: [1]))
        (loss, grad) = one.seed(layer: "L", activation: x, normaliser: 6)
        XCTAssertEqual(loss, 4, accuracy: 1e-6)
        assertClose(grad.data, [0, 0, 0, 2.0 / 3, 4.0 / 3, 4.0 / 3], rtol: 1e-6, atol: 1e-7, "channel 1 only, ties to the first")

        // Another layer's seed is untouched by the guide.
        XCTAssertEqual(objective("L", guide: y, weight: 1).seed(layer: "M", activation: x, normaliser: 6).loss, 0)
    }

    /// Many positions against a large guide: the dot products are taken in several sgemm blocks
    /// (GuideScratch.blockFloats); the result must match the plain loop.
    func testBlockedProductsMatchThePlainLoop() {
        let (c, p, m) = (4, 2500, 1200)
        XCTAssertGreaterThan(p * m, 2 * GuideScratch.blockFloats, "the case must take several blocks")
        let x = randomTensor([1, c, 50, 50], seed: 31)
        let y = GuideFeatures.Layer(channels: c, positions: m, values: randomTensor([c * m], seed: 32).data)
        let (loss, grad) = objective("L", guide: y, weight: 1).seed(layer: "L", activation: x, normaliser: x.count)
        let expected = referenceLoss(x.data, channels: c, guide: y, g: 1, n: Double(x.count))
        XCTAssertEqual(Double(loss), expected, accuracy: 1e-5 * abs(expected))
        // Every position's gradient is a guide column / N: the one with the largest dot product.
        for i in stride(from: 0, to: p, by: 7) {
            let dots = (0..<m).map { j in (0..<c).reduce(0.0) { $0 + Double(x.data[$1 * p + i]) * Double(y.values[$1 * m + j]) } }
            let best = dots.indices.max { dots[$0] < dots[$1] }!
            for ch in 0..<c { XCTAssertEqual(grad.data[ch * p + i], y.values[ch * m + best] / Float(x.count), accuracy: 1e-9) }
        }
    }

    /// The guided objective's input gradient through a tiny network against central differences,
    /// pure (g = 1) and mixed with l2 (g = 0.5). Random inputs and a random guide of a few
    /// positions keep the argmax away from ties, so the loss is linear around each point but for
    /// the network's own ReLU6 kinks. Those set ε: at 1e-2 some inputs straddle a kink (the
    /// unguided l2 objective misses by 4 % there too), at 3e-3 by about 1 %, at 1e-3 by 0.2 %.
    func testGuidedGradientMatchesFiniteDifferences() throws {
        let net = try Network(graph: tinyDreamGraph())
        let input = randomTensor([1, 3, 20, 24], seed: 21)
        let shape = try net.forward(input, outputs: ["block1"])["block1"]!.shape
        let c = shape[1], n = shape.reduce(1, *)
        let y = GuideFeatures.Layer(channels: c, positions: 5, values: randomTensor([c * 5], seed: 22).data)
        for g: Float in [1, 0.5] {
            let objective = objective("block1", guide: y, weight: g)
            let (_, analytic) = try net.gradient(of: input, layers: ["block1"]) { layer, a in
                objective.seed(layer: layer, activation: a, normaliser: n)
            }
            try compareWithCentralDifferences(
                analytic, input: input, label: "guided block1, g = \(g)", epsilon: 1e-3, tolerance: 1e-2,
                reason: "Float32 forward passes differenced at ε = 1e-3 (measured: 0.2 % at g = 1, 0.1 % at g = 0.5)"
            ) { x in
                referenceLoss(try net.forward(x, outputs: ["block1"])["block1"]!.data, channels: c, guide: y, g: Double(g), n: Double(n))
            }
        }
    }

    func smallPicture(width: Int, height: Int, seed: UInt64) -> Tensor { randomTensor([1, 3, height, width], seed: seed, range: 0...1) }

    func parameters(guideWeight: Float, layers: [String] = ["block1"]) throws -> DreamParameters {
        var p = DreamParameters.defaults
        p.layers = layers
        p.steps = 3
        p.octaves = try OctaveRange(parsing: "-1..0")
        p.stepSize = 0.02
        p.tile = 32  // several tiles
        p.guideWeight = guideWeight
        return p
    }

    /// Guide weight 0 is exactly the unguided dream (the guide is not even run), at the dream and
    /// at the objective (a guide attached with weight 0 seeds the same bits); any other weight
    /// changes the dream.
    func testGuideWeightZeroIsExactlyTheUnguidedDream() throws {
        let net = try Network(graph: tinyDreamGraph())
        let start = smallPicture(width: 64, height: 48, seed: 4)
        let plain = Dreamer(model: net), guided = Dreamer(model: net)
        guided.guide = smallPicture(width: 40, height: 30, seed: 5)
        guided.guideSide = 32
        var r1 = SeededGenerator(seed: 9), r2 = SeededGenerator(seed: 9), r3 = SeededGenerator(seed: 9)
        let unguided = try plain.dream(start, parameters: try parameters(guideWeight: 0), rng: &r1)
        let zero = try guided.dream(start, parameters: try parameters(guideWeight: 0), rng: &r2)
        XCTAssertEqual(zero.data, unguided.data, "weight 0: the unguided dream, bit for bit")
        XCTAssertEqual(guided.guidePasses, 0, "weight 0 needs no guide features")
        let half = try guided.dream(start, parameters: try parameters(guideWeight: 0.5), rng: &r3)
        XCTAssertNotEqual(half.data, unguided.data)

        let x = randomTensor([1, 12, 6, 8], seed: 6)
        let y = GuideFeatures.Layer(channels: 12, positions: 7, values: randomTensor([84], seed: 7).data)
        let bare = Objective(kind: .l2, terms: [LayerTerm(name: "L", weight: 0.7)])
        var attached = bare
        attached.guide = GuideFeatures(layers: ["L": y])
        attached.guideWeight = 0
        let a = bare.seed(layer: "L", activation: x, normaliser: 999), b = attached.seed(layer: "L", activation: x, normaliser: 999)
        XCTAssertEqual(a.loss, b.loss); XCTAssertEqual(a.grad.data, b.grad.data)
    }

    /// As for the ordinary objective (DreamerTests): with a one-pixel receptive field a tile's
    /// activations are the whole image's, so the guided gradient tiled, and rolled and tiled, must
    /// equal the untiled one (each position's best guide feature is found the same way in a tile).
    func testTiledGuidedGradientEqualsUntiled() throws {
        var b = TinyGraphBuilder(seed: 5)
        var x = b.conv("c1", "image", out: 6, in: 3, k: 1)
        x = b.relu6("block0", x)
        x = b.conv("block1", x, out: 5, in: 6, k: 1)
        let graph = Graph(
            input: "image", inputChannels: 3, nodes: b.nodes, outputs: ["block1"],
            metadata: ["reverie.mean": "127,127,127", "reverie.std": "128,128,128"])
        let dreamer = Dreamer(model: try Network(graph: graph))
        dreamer.guide = smallPicture(width: 30, height: 20, seed: 8)
        dreamer.guideSide = 16
        let image = dreamer.toModelSpace(smallPicture(width: 70, height: 50, seed: 9))
        for g: Float in [1, 0.6] {
            let p = try parameters(guideWeight: g, layers: ["block1", "block0:0.5"])
            let whole = try dreamer.gradient(modelSpace: image, parameters: p, tile: 512)
            let tiled = try dreamer.gradient(modelSpace: image, parameters: p, tile: 24)
            let rolledTiled = roll(try dreamer.gradient(modelSpace: roll(image, dx: 31, dy: 17), parameters: p, tile: 24), dx: -31, dy: -17)
            let scale = whole.data.map(abs).max()!
            XCTAssertGreaterThan(scale, 0)
            for i in whole.data.indices {
                XCTAssertEqual(tiled.data[i], whole.data[i], accuracy: 1e-5 * scale, "g = \(g), element \(i)")
                XCTAssertEqual(rolledTiled.data[i], whole.data[i], accuracy: 1e-5 * scale, "g = \(g), element \(i)")
            }
        }
        XCTAssertEqual(dreamer.guidePasses, 1, "one forward pass of the guide serves every tile, roll and weight")
    }

    /// A guided dream raises the guided objective, is byte-identical for the same inputs, and runs
    /// the guide once per layer set (not per step, octave or dream); a new guide starts over.
    func testGuidedDreamRaisesTheGuidedObjectiveDeterministicallyWithCachedFeatures() throws {
        let net = try Network(graph: tinyDreamGraph())
        let start = smallPicture(width: 64, height: 48, seed: 10)
        let guide = smallPicture(width: 48, height: 48, seed: 11)
        let one = Dreamer(model: net), two = Dreamer(model: net)
        for d in [one, two] { d.guide = guide; d.guideSide = 40 }
        let p = try parameters(guideWeight: 1)
        var r1 = SeededGenerator(seed: 3), r2 = SeededGenerator(seed: 3)
        let before = try one.objectiveValue(start, parameters: p)
        let a = try one.dream(start, parameters: p, rng: &r1)
        let b = try two.dream(start, parameters: p, rng: &r2)
        XCTAssertEqual(a.data, b.data, "same inputs, same bytes")
        XCTAssertGreaterThan(try one.objectiveValue(a, parameters: p), before, "the guided ascent raises the guided objective")
        XCTAssertEqual(one.guidePasses, 1, "two octaves × three steps × several tiles and two objective values: one guide pass")
        _ = try one.objectiveValue(start, parameters: try parameters(guideWeight: 1, layers: ["block1", "block2"]))
        XCTAssertEqual(one.guidePasses, 2, "a new layer: one more pass, for that layer")
        _ = try one.objectiveValue(start, parameters: try parameters(guideWeight: 0.3, layers: ["block2"]))
        XCTAssertEqual(one.guidePasses, 2, "both layers cached")
        one.guide = smallPicture(width: 48, height: 48, seed: 12)
        _ = try one.objectiveValue(start, parameters: p)
        XCTAssertEqual(one.guidePasses, 3, "another guide: computed again")
    }

    /// `guideWeight` is schedulable (a number or keyframes, on the command line or in a preset),
    /// `guide` is a preset field, and both are checked.
    func testGuideWeightSchedulesAndPresetFields() throws {
        var cli = ParameterOverrides()
        try cli.set("guideWeight", "0:(0), 48:(1)")
        var p = DreamParameters.defaults.applying(cli)
        try p.validate()
        XCTAssertEqual(try p.at(frame: 0, fps: 24).guideWeight, 0)
        XCTAssertEqual(try p.at(frame: 24, fps: 24).guideWeight, 0.5, accuracy: 1e-6)
        XCTAssertEqual(try p.at(frame: 60, fps: 24).guideWeight, 1)
        var plain = ParameterOverrides()
        try plain.set("guideWeight", "0.25")
        p = p.applying(plain)
        XCTAssertEqual(p.guideWeight, 0.25); XCTAssertNil(p.schedules?["guideWeight"], "a plain number replaces the schedule")

        let preset = try ParameterOverrides.decodePreset(
            Data(#"{"guide": "flowers.jpg", "guideWeight": "0:(1), 2s:(0.2)"}"#.utf8), file: "g.json")
        let q = DreamParameters.defaults.applying(preset)
        XCTAssertEqual(q.guide, "flowers.jpg")
        XCTAssertEqual(try q.at(frame: 24, fps: 24).guideWeight, 0.6, accuracy: 1e-6)
        XCTAssertEqual(DreamParameters.defaults.guideWeight, 1, "a guide alone unless told otherwise")
        XCTAssertNil(DreamParameters.defaults.guide)

        XCTAssertThrowsError(try ParameterOverrides.decodePreset(Data(#"{"guideWeight": 1.5}"#.utf8), file: "bad.json")) {
            XCTAssertTrue("\($0)".contains("bad.json: guideWeight: must be in [0, 1]"), "\($0)")
        }
        p.schedules = ["guideWeight": "0:(0), 10:(2)"]
        XCTAssertThrowsError(try p.at(frame: 10, fps: 24)) { XCTAssertTrue("\($0)".contains("at frame 10: guideWeight"), "\($0)") }
    }
}
