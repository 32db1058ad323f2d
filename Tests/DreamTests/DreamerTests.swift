@testable import Dream
import TestSupport
import XCTest

/// The dreaming algorithm on a tiny generated network (milliseconds per dream).
final class DreamerTests: XCTestCase {
    func picture(width: Int, height: Int, seed: UInt64 = 3) -> Tensor {
        // A smooth picture with some structure: gradients plus a few sines, in [0, 1].
        var data = [Float](repeating: 0, count: 3 * width * height)
        for c in 0..<3 {
            for y in 0..<height {
                for x in 0..<width {
                    let v = 0.5 + 0.25 * sin(Float(x) * 0.21 + Float(c)) * cos(Float(y) * 0.17 + Float(seed))
                    data[(c * height + y) * width + x] = v + 0.2 * Float(x) / Float(width) - 0.1
                }
            }
        }
        return Tensor(shape: [1, 3, height, width], data: data)
    }

    func parameters(_ layers: [String] = ["block1"], steps: Int = 4, octaves: String = "-1..0", tile: Int = 512) throws -> DreamParameters {
        var p = DreamParameters.defaults
        p.layers = layers
        p.steps = steps
        p.octaves = try OctaveRange(parsing: octaves)
        p.tile = tile
        p.stepSize = 0.02
        return p
    }

    func testAStepIncreasesTheObjective() throws {
        let dreamer = Dreamer(model: try Network(graph: tinyDreamGraph()))
        let start = picture(width: 48, height: 40)
        for kind in ObjectiveKind.allCases {
            var p = try parameters(steps: 1, octaves: "0..0")
            p.objective = kind
            var rng = SeededGenerator(seed: 1)
            let before = try dreamer.objectiveValue(start, parameters: p)
            let after = try dreamer.objectiveValue(try dreamer.dream(start, parameters: p, rng: &rng), parameters: p)
            XCTAssertGreaterThan(after, before, "\(kind): one gradient-ascent step must raise the objective")
        }
    }

    func testOctaveSizesFollowTheScale() throws {
        let sizes = octaveSizes(width: 640, height: 360, range: try OctaveRange(parsing: "-3..1"), scale: 1.3)
        XCTAssertEqual(sizes.map(\.exponent), [-3, -2, -1, 0, 1])
        for o in sizes {
            XCTAssertEqual(Double(o.width), 640 * pow(1.3, Double(o.exponent)), accuracy: 0.51)
            XCTAssertEqual(Double(o.height), 360 * pow(1.3, Double(o.exponent)), accuracy: 0.51)
        }
        // Octaves too small for the network are dropped, the working size never.
        XCTAssertEqual(octaveSizes(width: 40, height: 40, range: try OctaveRange(parsing: "-3..0"), scale: 2).map(\.exponent), [0])
    }

    func testTilesCoverEveryPixelOnce() {
        for (w, h, t) in [(100, 70, 32), (512, 512, 512), (513, 300, 512), (1280, 720, 512), (7, 5, 3)] {
            var hits = [Int](repeating: 0, count: w * h)
            for r in tileLayout(width: w, height: h, tile: t) {
                XCTAssertLessThanOrEqual(r.width, t); XCTAssertLessThanOrEqual(r.height, t)
                for y in r.y..<(r.y + r.height) { for x in r.x..<(r.x + r.width) { hits[y * w + x] += 1 } }
            }
            XCTAssertEqual(Set(hits), [1], "\(w)x\(h) tile \(t)")
        }
    }

    func testRollIsUndoneByTheOppositeRoll() {
        let p = picture(width: 23, height: 17)
        XCTAssertEqual(roll(roll(p, dx: 9, dy: -5), dx: -9, dy: 5), p)
        XCTAssertNotEqual(roll(p, dx: 9, dy: -5), p)
    }

    /// With a network whose receptive field is one pixel, every pixel's gradient depends on that
    /// pixel alone, so the rolled, tiled gradient must equal the untiled one exactly (up to float
    /// error); with the real receptive field it must agree away from tile borders.
    func testTiledGradientEqualsUntiledGradient() throws {
        var b = TinyGraphBuilder(seed: 5)
        var x = b.conv("c1", "image", out: 6, in: 3, k: 1)
        x = b.relu6("block0", x)
        x = b.conv("block1", x, out: 5, in: 6, k: 1)
        let graph = Graph(
            input: "image", inputChannels: 3, nodes: b.nodes, outputs: ["block1"],
            metadata: ["reverie.mean": "127,127,127", "reverie.std": "128,128,128"])
        let dreamer = Dreamer(model: try Network(graph: graph))
        let p = try parameters()
        let image = dreamer.toModelSpace(picture(width: 70, height: 50))
        let whole = try dreamer.gradient(modelSpace: image, parameters: p, tile: 512)
        let tiled = try dreamer.gradient(modelSpace: image, parameters: p, tile: 24)
        let rolledTiled = roll(try dreamer.gradient(modelSpace: roll(image, dx: 31, dy: 17), parameters: p, tile: 24), dx: -31, dy: -17)
        let scale = whole.data.map(abs).max()!
        XCTAssertGreaterThan(scale, 0)
        for i in whole.data.indices {
            XCTAssertEqual(tiled.data[i], whole.data[i], accuracy: 1e-5 * scale)
            XCTAssertEqual(rolledTiled.data[i], whole.data[i], accuracy: 1e-5 * scale)
        }
    }

    /// A step cuts tiles from the image at rolled coordinates and writes their gradient back unrolled:
    /// it must equal the tutorial's literal roll → crop → gradient → paste → unroll → blur → update,
    /// and a second step at the same size reuses the step's buffers.
    func testStepEqualsTheLiteralRollAndReusesItsBuffers() throws {
        let net = try Network(graph: tinyDreamGraph())
        let objective = Objective(kind: .l2, terms: [LayerTerm(name: "block1")])
        let (h, w) = (37, 45)
        let image = randomTensor([1, 3, h, w], seed: 12, range: -1...1)
        let bounds = [(lower: Float, upper: Float)](repeating: (-10, 10), count: 3)
        let step = GradientStep(model: net, objective: objective, tile: 16, stepSize: 0.05, smoothing: 0.8, bounds: bounds)
        var fast = image, rng = SeededGenerator(seed: 5)
        let loss = try step.apply(to: &fast, rng: &rng) { _, _ in }

        var rng2 = SeededGenerator(seed: 5)
        let dx = Int(rng2.next() % UInt64(w)), dy = Int(rng2.next() % UInt64(h))
        let normaliser = try net.shapes(height: h, width: w).first { $0.name == "block1" }!.shape.reduce(1, *)
        let rolled = roll(image, dx: dx, dy: dy)
        var rolledGradient = Tensor(zeros: image.shape), expectedLoss: Float = 0
        let rects = tileLayout(width: w, height: h, tile: 16)
        XCTAssertGreaterThan(rects.count, 4, "the case must span several tiles")
        for r in rects {
            let result = try net.gradient(of: crop(rolled, r), layers: ["block1"]) { layer, a in
                objective.seed(layer: layer, activation: a, normaliser: normaliser)
            }
            expectedLoss += result.loss
            paste(result.gradient, into: &rolledGradient, at: r)
        }
        let gradient = gaussianBlur(roll(rolledGradient, dx: -dx, dy: -dy), sigma: 0.8)
        let scale = 0.05 / (standardDeviation(gradient.data) + 1e-8)
        let expected = zip(image.data, gradient.data).map { min(max($0 + scale * $1, -10), 10) }
        XCTAssertEqual(loss, expectedLoss, accuracy: 1e-5 * max(abs(expectedLoss), 1))
        assertClose(fast.data, expected, rtol: 1e-5, atol: 1e-6, "step vs literal roll/crop/paste")

        let before = step.workspace.gradient.pointer
        _ = try step.apply(to: &fast, rng: &rng) { _, _ in }
        XCTAssertEqual(step.workspace.gradient.pointer, before, "the gradient buffer is reused")
    }

    func testSameSeedSameBytesOtherSeedOtherBytes() throws {
        let dreamer = Dreamer(model: try Network(graph: tinyDreamGraph()))
        let start = picture(width: 64, height: 48)
        let p = try parameters(tile: 32)  // several tiles, so the roll matters
        var a = SeededGenerator(seed: 42), b = SeededGenerator(seed: 42), c = SeededGenerator(seed: 43)
        let first = try dreamer.dream(start, parameters: p, rng: &a)
        let second = try dreamer.dream(start, parameters: p, rng: &b)
        let other = try dreamer.dream(start, parameters: p, rng: &c)
        XCTAssertEqual(first.data, second.data)
        XCTAssertNotEqual(first.data, other.data)
        XCTAssertNotEqual(first.data, start.data)
        XCTAssertEqual(first.shape, start.shape)
        XCTAssertTrue(first.data.allSatisfy { $0 >= 0 && $0 <= 1 })
    }

    func testUnknownLayerListsTheValidNames() throws {
        let dreamer = Dreamer(model: try Network(graph: tinyDreamGraph()))
        var rng = SeededGenerator(seed: 0)
        XCTAssertThrowsError(try dreamer.dream(picture(width: 32, height: 32), parameters: try parameters(["block99"]), rng: &rng)) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("block99") && text.contains("block1"), text)
        }
    }

    func testMemoryBudgetChoosesTheTileOrRefuses() throws {
        let dreamer = Dreamer(model: try Network(graph: tinyDreamGraph()), memoryBudget: 64 << 20)
        var p = try parameters(steps: 1, octaves: "0..0", tile: 0)
        var rng = SeededGenerator(seed: 0)
        // Auto tile: fits the budget.
        XCTAssertNoThrow(try dreamer.dream(picture(width: 96, height: 64), parameters: p, rng: &rng))
        // A picture whose buffers alone exceed the budget is refused up front, before allocating.
        p.tile = 512
        let tooBig = Tensor(zeros: [1, 3, 2000, 1500])
        XCTAssertThrowsError(try dreamer.dream(tooBig, parameters: p, rng: &rng)) { error in
            XCTAssertTrue(String(describing: error).contains("MiB"), String(describing: error))
        }
    }

    func testPresetErrorsNameTheFileAndTheField() {
        let bad = Data(#"{"steps": "many"}"#.utf8)
        XCTAssertThrowsError(try ParameterOverrides.decodePreset(bad, file: "mine.json")) { e in
            XCTAssertTrue("\(e)".contains("mine.json") && "\(e)".contains("steps"), "\(e)")
        }
        XCTAssertThrowsError(try ParameterOverrides.decodePreset(Data(#"{"stepz": 3}"#.utf8), file: "x.json")) { e in
            XCTAssertTrue("\(e)".contains("stepz"), "\(e)")
        }
        XCTAssertThrowsError(try ParameterOverrides.decodePreset(Data(#"{"blend": 2}"#.utf8), file: "y.json")) { e in
            XCTAssertTrue("\(e)".contains("blend"), "\(e)")
        }
        XCTAssertNoThrow(
            try ParameterOverrides.decodePreset(Data(#"{"steps": 3, "octaves": "-2..0", "layers": ["block1:0.5"]}"#.utf8), file: "ok.json"))
    }

    func testLayerTermSyntax() throws {
        let t = try LayerTerm(parsing: "block10[3,7]:0.5")
        XCTAssertEqual(t, LayerTerm(name: "block10", weight: 0.5, channels: [3, 7]))
        XCTAssertThrowsError(try LayerTerm(parsing: "block10:abc"))
        XCTAssertThrowsError(try LayerTerm(parsing: "block10[x]"))
    }
}

/// `--layers` as the README writes it: a bracket-aware list; names with `/` or `:` resolved
/// against the network's layers.
final class LayerSyntaxTests: XCTestCase {
    func testREADMEListSplitsOutsideBrackets() throws {
        let terms = try LayerTerm.splitList("block10,block12:0.5,block8[3,7]")
        XCTAssertEqual(terms, ["block10", "block12:0.5", "block8[3,7]"])
        XCTAssertEqual(
            try terms.map { try LayerTerm(parsing: $0) },
            [
                LayerTerm(name: "block10"), LayerTerm(name: "block12", weight: 0.5), LayerTerm(name: "block8", channels: [3, 7])
            ])
        XCTAssertEqual(try LayerTerm.splitList(" block8[3, 7]:2 , block10 "), ["block8[3, 7]:2", "block10"])
        XCTAssertEqual(try LayerTerm(parsing: "block8[3, 7]:2"), LayerTerm(name: "block8", weight: 2, channels: [3, 7]))
        for bad in ["block8[3,7", "block8]3[", "block10,,block12", "block10,"] {
            XCTAssertThrowsError(try LayerTerm.splitList(bad), bad)
        }
    }

    func testNamesWithSlashesAndColons() throws {
        let names: Set<String> = ["inception_4c/output", "mixed4c:0", "block10"]
        XCTAssertEqual(try LayerTerm(parsing: "inception_4c/output", layerNames: names), LayerTerm(name: "inception_4c/output"))
        XCTAssertEqual(
            try LayerTerm(parsing: "inception_4c/output:0.5", layerNames: names),
            LayerTerm(name: "inception_4c/output", weight: 0.5))
        XCTAssertEqual(try LayerTerm(parsing: "mixed4c:0", layerNames: names), LayerTerm(name: "mixed4c:0"))
        XCTAssertEqual(try LayerTerm(parsing: "mixed4c:0:2", layerNames: names), LayerTerm(name: "mixed4c:0", weight: 2))
        XCTAssertEqual(try LayerTerm(parsing: "mixed4c:0[1,2]", layerNames: names), LayerTerm(name: "mixed4c:0", channels: [1, 2]))
        XCTAssertEqual(try LayerTerm(parsing: "mixed4c:0[1]:3", layerNames: names), LayerTerm(name: "mixed4c:0", weight: 3, channels: [1]))
        XCTAssertEqual(try LayerTerm.splitList("inception_4c/output[1,2]:0.5,mixed4c:0"), ["inception_4c/output[1,2]:0.5", "mixed4c:0"])
    }
}
