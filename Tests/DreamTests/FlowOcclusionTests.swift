import XCTest
@testable import Dream

final class FlowOcclusionTests: XCTestCase {
    /// A textured square moves 6 px right over a static textured background. In frame t the strip
    /// it uncovered ([x0, x0+6) over its rows) was hidden in frame t-1: the mask must flag it, and
    /// keep the background far from the square.
    func testRevealedStripIsUnreliable() {
        let (w, h) = (160, 120), (x0, y0, side, shift) = (50, 36, 48, 6)
        let background = SmoothTexture(seed: 3), object = SmoothTexture(seed: 11)
        func frame(objectX: Int) -> Tensor {
            let bg = background.frame(width: w, height: h) { ($0, $1) }
            let fg = object.frame(width: w, height: h) { ($0 - Float(objectX) + 200, $1 + 50) }
            var data = bg.data
            let n = w * h
            for y in y0..<(y0 + side) {
                for x in objectX..<(objectX + side) {
                    for c in 0..<3 {
                        data[c * n + y * w + x] = fg.data[c * n + y * w + x]
                    }
                }
            }
            return Tensor(shape: [1, 3, h, w], data: data)
        }
        let previous = frame(objectX: x0), current = frame(objectX: x0 + shift)
        var settings = FlowSettings()
        settings.maxSide = 1000  // estimate at full size so the strip is exactly known
        let motion = OpticalFlow.motion(from: previous, to: current, settings: settings)

        var stripUnreliable = 0, strip = 0, farReliable = 0, far = 0
        for y in 0..<h {
            for x in 0..<w {
                let i = y * w + x
                if y >= y0 + 4 && y < y0 + side - 4 && x >= x0 && x < x0 + shift {
                    strip += 1
                    if !motion.reliable[i] { stripUnreliable += 1 }
                }
                let gap = 16  // far from the square and from the frame edge
                let nearSquare = x >= x0 - gap && x < x0 + shift + side + gap && y >= y0 - gap && y < y0 + side + gap
                let nearEdge = x < 8 || y < 8 || x >= w - 8 || y >= h - 8
                if !nearSquare && !nearEdge {
                    far += 1
                    if motion.reliable[i] { farReliable += 1 }
                }
            }
        }
        let stripFraction = Float(stripUnreliable) / Float(strip), farFraction = Float(farReliable) / Float(far)
        XCTAssertGreaterThan(stripFraction, 0.55, "revealed strip flagged: \(stripFraction)")
        XCTAssertGreaterThan(farFraction, 0.95, "static background kept: \(farFraction)")
        // Inside the square (away from its edges) the motion is found and reliable.
        let centre = (y0 + side / 2) * w + x0 + shift + side / 2
        XCTAssertTrue(motion.reliable[centre])
        XCTAssertEqual(motion.backward.dx[centre], -Float(shift), accuracy: 0.5)
        XCTAssertEqual(motion.backward.dy[centre], 0, accuracy: 0.5)
    }

    /// The check itself, on hand-made fields: consistent pairs pass, inconsistent ones and
    /// pixels whose backward flow leaves the frame fail.
    func testReliabilityMaskRule() {
        let (w, h) = (8, 4)
        let b = FlowField(width: w, height: h, dx: [Float](repeating: -2, count: w * h), dy: [Float](repeating: 0, count: w * h))
        let consistent = FlowField(width: w, height: h, dx: [Float](repeating: 2, count: w * h), dy: [Float](repeating: 0, count: w * h))
        let mask = reliabilityMask(backward: b, forward: consistent)
        XCTAssertEqual(mask[1 * w + 1], false, "x = 1 - 2 leaves the frame")
        XCTAssertEqual(mask[1 * w + 4], true)
        let wrong = FlowField(width: w, height: h, dx: [Float](repeating: 0, count: w * h), dy: [Float](repeating: 1, count: w * h))
        XCTAssertEqual(reliabilityMask(backward: b, forward: wrong)[1 * w + 4], false)
    }
}
