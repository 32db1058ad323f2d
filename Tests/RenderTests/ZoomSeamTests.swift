import Dream
import Foundation
import TestSupport
import Video
import XCTest

/// A `--loop` zoom closes without a bump, by a measure taken from the written video outside the
/// renderer (`LoopSeam`): the wrap within 1.2x the median step, no step over 1.5x, at 12, 24 and
/// 30 fps and 2–10 s loops; and the renderer prints the same measure.
final class ZoomSeamTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = try SyntheticMedia.temporaryDirectory("render-seam")
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// With the real model and picture: a tiny random network adds no lasting detail, so its zoom
    /// only ever softens and no loop of it is in a steady state to close.
    func testLoopSeamIsAnOrdinaryStepAtCommonRatesAndLengths() throws {
        guard let picture = ImageNetInput.samplePath("chelsea.png") else { throw XCTSkip("samples/chelsea.png is not fetched (run samples/fetch)") }
        for (fps, seconds) in [(12.0, 2.0), (24.0, 4.0), (12.0, 10.0), (30.0, 10.0)] {
            let out = dir + "/loop-\(Int(fps))-\(Int(seconds)).mp4"
            let r = try runRender([
                "zoom", picture, "-o", out, "--preset", "zoom", "--width", "160", "--duration", "\(seconds)",
                "--fps", "\(fps)", "--zoom", "1.5", "--loop", "--seed", "1", "--quiet"
            ])
            XCTAssertEqual(r.status, 0, r.stderr)
            let m = try LoopSeam.measure(path: out, zoomPerSecond: 1.5, fps: fps)
            let label = "\(fps) fps, \(seconds) s"
            print("\(label): seam \(m.seamRatio), largest step \(m.largestRatio) (median step \(m.median))")
            XCTAssertEqual(m.steps.count + 1, Int(fps * seconds), label)
            try assertCloses(m, printedBy: r, label: label, accuracy: 0.002)
        }
    }

    /// A turning zoom loop closes the same way, by the same outside measure with the turn in it
    /// (clockwise and counter-clockwise, two rates and lengths).
    func testRotatingLoopSeamIsAnOrdinaryStep() throws {
        guard let picture = ImageNetInput.samplePath("chelsea.png") else { throw XCTSkip("samples/chelsea.png is not fetched (run samples/fetch)") }
        for (fps, seconds, rotate) in [(12.0, 3.0, 20.0), (24.0, 4.0, -45.0)] {
            let out = dir + "/turn-\(Int(fps))-\(Int(seconds)).mp4"
            let r = try runRender([
                "zoom", picture, "-o", out, "--preset", "zoom", "--width", "160", "--duration", "\(seconds)",
                "--fps", "\(fps)", "--zoom", "1.5", "--rotate", "\(rotate)", "--loop", "--seed", "1", "--quiet"
            ])
            XCTAssertEqual(r.status, 0, r.stderr)
            let m = try LoopSeam.measure(path: out, zoomPerSecond: 1.5, rotatePerSecond: rotate, fps: fps)
            let label = "\(fps) fps, \(seconds) s, \(rotate)°/s"
            print("\(label): seam \(m.seamRatio), largest step \(m.largestRatio) (median step \(m.median))")
            // The turn is really in the frames: measured without it, the median step is far larger.
            let still = try LoopSeam.measure(path: out, zoomPerSecond: 1.5, fps: fps)
            XCTAssertGreaterThan(still.median, 3 * m.median, label)
            try assertCloses(m, printedBy: r, label: label, accuracy: 0.01)
        }
    }

    /// A loop whose zoom and turn follow periodic schedules (back to their first values at the loop's
    /// length) closes by the same outside measure, each step warped by its own scheduled motion.
    func testScheduledPeriodicMotionLoopCloses() throws {
        guard let picture = ImageNetInput.samplePath("chelsea.png") else { throw XCTSkip("samples/chelsea.png is not fetched (run samples/fetch)") }
        let fps = 12.0, frames = 36
        let zoom = "0:(1.3), 18:(1.8), 36:(1.3)", rotate = "0:(30*sin(2*pi*s/3))"
        let out = dir + "/scheduled-loop.mp4"
        let r = try runRender([
            "zoom", picture, "-o", out, "--preset", "zoom", "--width", "160", "--frames", "\(frames)", "--fps", "\(fps)",
            "--zoom", zoom, "--rotate", rotate, "--loop", "--seed", "1", "--quiet"
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let z = try Schedule(parsing: zoom), t = try Schedule(parsing: rotate)
        let m = try LoopSeam.measure(path: out, fps: fps) { k in
            (z.value(atFrame: Double(k), fps: fps), t.value(atFrame: Double(k), fps: fps))
        }
        print("scheduled loop: seam \(m.seamRatio), largest step \(m.largestRatio) (median step \(m.median))")
        // The schedule is really followed: a constant motion (its frame-0 values) fits far worse.
        let constant = try LoopSeam.measure(path: out, zoomPerSecond: 1.3, rotatePerSecond: 0, fps: fps)
        XCTAssertGreaterThan(constant.median, 2 * m.median)
        try assertCloses(m, printedBy: r, label: "scheduled loop", accuracy: 0.01)
    }

    /// The wrap within 1.2x the median step, no step over 1.5x, and the renderer's printed seam
    /// ratio equal to this outside measure.
    func assertCloses(
        _ m: LoopSeam.Result, printedBy r: CommandResult, label: String, accuracy: Double, file: StaticString = #filePath,
        line: UInt = #line
    ) throws {
        XCTAssertLessThanOrEqual(m.seamRatio, 1.2, "\(label): the wrap over the median step", file: file, line: line)
        XCTAssertLessThanOrEqual(m.largestRatio, 1.5, "\(label): the largest step over the median", file: file, line: line)
        let printed = r.stdout.split(separator: "\n").first { $0.hasPrefix("loop seam ratio") }
        let value = printed.flatMap { Double($0.split(separator: " ")[3]) }
        XCTAssertEqual(try XCTUnwrap(value, r.stdout), m.seamRatio, accuracy: accuracy, label, file: file, line: line)
    }
}
