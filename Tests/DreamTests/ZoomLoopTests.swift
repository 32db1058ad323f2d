import Dream
import TestSupport
import XCTest

final class ZoomLoopTests: XCTestCase {
    func testMotionIsPerSecond() throws {
        let slow = try ZoomMotion(zoom: 1.5, rotate: 10, fps: 12)
        let fast = try ZoomMotion(zoom: 1.5, rotate: 10, fps: 24)
        XCTAssertEqual(slow.scale(afterFrames: 12), 1.5, accuracy: 1e-12)
        XCTAssertEqual(fast.scale(afterFrames: 24), 1.5, accuracy: 1e-12)
        // A point maps to the same place after one second at either rate, step by step.
        var a = (x: 10.0, y: 80.0), b = a
        for _ in 0..<12 { a = slow.sourcePoint(x: a.x, y: a.y, frames: 1, width: 200, height: 100) }
        for _ in 0..<24 { b = fast.sourcePoint(x: b.x, y: b.y, frames: 1, width: 200, height: 100) }
        XCTAssertEqual(a.x, b.x, accuracy: 1e-9); XCTAssertEqual(a.y, b.y, accuracy: 1e-9)
        let once = slow.sourcePoint(x: 10, y: 80, frames: 12, width: 200, height: 100)
        XCTAssertEqual(a.x, once.0, accuracy: 1e-9); XCTAssertEqual(a.y, once.1, accuracy: 1e-9)
    }

    func testBadMotionIsRefused() {
        XCTAssertThrowsError(try ZoomMotion(zoom: 0, fps: 24))
        XCTAssertThrowsError(try ZoomMotion(zoom: -1.2, fps: 24))
        XCTAssertThrowsError(try ZoomMotion(zoom: 1.2, focus: (1.5, 0.5), fps: 24))
        XCTAssertThrowsError(try ZoomMotion(zoom: 1.2, fps: 0))
    }

    /// A zoom made with plain motion (no dreaming) closes with a seam ratio near 1 when closed,
    /// and far above it when not; closure changes only the last frames.
    func testLoopClosureMakesTheSeamAnOrdinaryStep() throws {
        let motion = try ZoomMotion(zoom: 1.3, rotate: 5, fps: 8)
        let (w, h, n) = (64, 48, 24)
        var base = [Float](repeating: 0, count: 3 * w * h)
        var rng = SeededGenerator(seed: 9)
        for i in base.indices { base[i] = Float.random(in: 0...1, using: &rng) }
        let first = gaussianBlur(Tensor(shape: [1, 3, h, w], data: base), sigma: 1.5)
        let closure = LoopClosure(motion: motion, frameCount: n, length: 8)
        var open = SeamMeter(motion: motion), closed = SeamMeter(motion: motion)
        var a = first, b = first
        for i in 0..<n {
            if i > 0 {
                // Fresh detail each frame, as dreaming adds: the same small noise in both chains.
                let noise = (0..<a.count).map { _ in Float.random(in: -0.03...0.03, using: &rng) }
                a = motion.advance(a)
                b = motion.advance(b)
                for j in a.data.indices {
                    a.data[j] = min(1, max(0, a.data[j] + noise[j]))
                    b.data[j] = min(1, max(0, b.data[j] + noise[j]))
                }
                b = closure.close(b, index: i, first: first)
            }
            XCTAssertEqual(closure.applies(to: i), i >= n - 8)
            if !closure.applies(to: i) { XCTAssertEqual(a.data, b.data, "frame \(i) must be untouched by the closure") }
            open.add(a); closed.add(b)
        }
        let ratioOpen = try XCTUnwrap(open.ratio), ratioClosed = try XCTUnwrap(closed.ratio)
        XCTAssertLessThan(ratioClosed, 1.5, "closed loop seam ratio")
        XCTAssertGreaterThan(ratioOpen, ratioClosed * 2, "an open loop must have a visible seam")
    }
}
