import Dream
import TestSupport
import Video
import XCTest
@testable import render

/// `render score` on small synthetic clips (lossless, so decoded frames are exact).
final class ScoreCommandTests: XCTestCase {
    var dir = ""
    let lossless = EncoderSettings(lossless: true)

    override func setUpWithError() throws { dir = try SyntheticMedia.temporaryDirectory("render-score") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func clip(_ name: String, width: Int = 64, height: Int = 48, count: Int) throws -> String {
        let path = dir + "/" + name
        try SyntheticMedia.writeClip(to: path, width: width, height: height, count: count, settings: lossless)
        return path
    }

    func testVideoAgainstItselfScoresZero() throws {
        let a = try clip("a.mkv", count: 4)
        let score = try scoreVideos(source: a, dreamed: a)
        XCTAssertEqual(score.frames, 4)
        XCTAssertEqual(score.dreamStrength, 0)
        XCTAssertEqual(score.excessWarpingError, 0, accuracy: 1e-12)
    }

    /// A dreamed video written at twice the size (each pixel doubled) is resized back: 2×2 averaging
    /// recovers the source exactly, so the strength is 0 and every frame is compared.
    func testLargerDreamedVideoIsResized() throws {
        let a = dir + "/a.mkv", b = dir + "/b.mkv"
        let frames = try SyntheticMedia.writeClip(to: a, width: 64, height: 48, count: 3, settings: lossless)
        try VideoWriter.with(path: b, width: 128, height: 96, frameRate: Rational(25, 1), settings: lossless) { w in
            for f in frames {
                var big = RGBImage(width: 128, height: 96)
                for y in 0..<96 {
                    for x in 0..<128 {
                        for c in 0..<3 {
                            big.pixels[(y * 128 + x) * 3 + c] = f.pixels[((y / 2) * 64 + x / 2) * 3 + c]
                        }
                    }
                }
                try w.write(big)
            }
        }
        let score = try scoreVideos(source: a, dreamed: b)
        XCTAssertEqual(score.frames, 3)
        XCTAssertLessThan(score.dreamStrength, 1e-3)
        XCTAssertEqual(score.excessWarpingError, 0, accuracy: 1e-6)
    }

    func testFrameCountMismatchIsAOneLineError() throws {
        let a = try clip("a.mkv", count: 5), b = try clip("b.mkv", count: 3)
        XCTAssertThrowsError(try scoreVideos(source: a, dreamed: b)) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains(b) && text.contains("3 frames") && text.contains("has 5"), text)
            XCTAssertFalse(text.contains("\n"))
        }
    }

    func testOtherAspectRatioIsRejected() throws {
        let a = try clip("a.mkv", count: 2), b = try clip("b.mkv", width: 64, height: 64, count: 2)
        XCTAssertThrowsError(try scoreVideos(source: a, dreamed: b)) { error in
            XCTAssertTrue(String(describing: error).contains("aspect ratio"), String(describing: error))
        }
    }

    func testMissingFileNamesIt() throws {
        let a = try clip("a.mkv", count: 2)
        XCTAssertThrowsError(try scoreVideos(source: a, dreamed: dir + "/missing.mp4")) { error in
            XCTAssertTrue(String(describing: error).contains("missing.mp4"), String(describing: error))
        }
    }
}
