import XCTest
@testable import Dream

final class CoherenceScoreTests: XCTestCase {
    let (w, h) = (96, 72)
    let texture = SmoothTexture(seed: 5)

    /// Source clip: the texture drifting by (1.5, 0.7) px per frame.
    func sourceFrame(_ t: Int) -> Tensor {
        texture.frame(width: w, height: h) { ($0 - 1.5 * Float(t), $1 - 0.7 * Float(t)) }
    }

    /// Deterministic noise image in [-a, a], (1,3,H,W) values at continuous coordinates.
    func noise(seed: Int, amplitude: Float, at source: (Float, Float) -> (Float, Float)) -> [Float] {
        let n = SmoothTexture(seed: UInt64(1000 + seed), count: 24)
        let noise = n.frame(width: w, height: h, source: source)
        return noise.data.map { ($0 - 0.5) * 2 * amplitude }
    }

    func testIdenticalOutputScoresZero() {
        var meter = CoherenceMeter()
        for t in 0..<4 { meter.add(source: sourceFrame(t), output: sourceFrame(t)) }
        let s = meter.score
        XCTAssertEqual(s.frames, 4)
        XCTAssertEqual(s.dreamStrength, 0)
        XCTAssertEqual(s.excessWarpingError, 0, accuracy: 1e-12)
        XCTAssertGreaterThan(s.sourceWarpingError, 0, "a real warp of the source is never exact")
    }

    /// Per-frame independent "dream" noise flickers; the same noise moved with the footage does
    /// not. At the same strength the flickering output must score a clearly higher excess error.
    func testIndependentNoiseScoresWorseThanCarriedNoise() {
        var independent = CoherenceMeter(), carried = CoherenceMeter()
        for t in 0..<5 {
            let src = sourceFrame(t)
            let shift: (Float, Float) -> (Float, Float) = { ($0 - 1.5 * Float(t), $1 - 0.7 * Float(t)) }
            let fresh = noise(seed: t, amplitude: 0.15) { ($0, $1) }
            let moving = noise(seed: 0, amplitude: 0.15, at: shift)
            independent.add(source: src, output: Tensor(shape: src.shape, data: zip(src.data, fresh).map { $0 + $1 }))
            carried.add(source: src, output: Tensor(shape: src.shape, data: zip(src.data, moving).map { $0 + $1 }))
        }
        let i = independent.score, c = carried.score
        XCTAssertEqual(i.dreamStrength, c.dreamStrength, accuracy: 0.3 * c.dreamStrength, "matched strength")
        XCTAssertGreaterThan(c.dreamStrength, 0.02)
        XCTAssertGreaterThan(
            i.excessWarpingError, 5 * max(c.excessWarpingError, 1e-5),
            "independent \(i.excessWarpingError) vs carried \(c.excessWarpingError)")
    }

    /// Passing the motion a render already computed gives the same score as estimating it inside.
    func testKnownMotionGivesTheSameScore() {
        var inside = CoherenceMeter(), given = CoherenceMeter()
        for t in 0..<3 {
            let src = sourceFrame(t)
            let out = Tensor(shape: src.shape, data: zip(src.data, noise(seed: t, amplitude: 0.1) { ($0, $1) }).map { $0 + $1 })
            inside.add(source: src, output: out)
            given.add(source: src, output: out, motion: t == 0 ? nil : OpticalFlow.motion(from: sourceFrame(t - 1), to: src))
        }
        XCTAssertEqual(inside.score, given.score)
        XCTAssertGreaterThan(given.score.excessWarpingError, 0)
    }

    /// An output at another size is resized to the source's size, not rejected.
    func testOutputOfAnotherSizeIsResized() {
        var meter = CoherenceMeter()
        for t in 0..<2 {
            let src = sourceFrame(t)
            meter.add(source: src, output: resize(src, height: h * 2, width: w * 2))
        }
        XCTAssertEqual(meter.score.frames, 2)
        XCTAssertLessThan(meter.score.dreamStrength, 0.02)
    }
}
