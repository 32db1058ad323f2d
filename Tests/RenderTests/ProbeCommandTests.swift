import Foundation
import TestSupport
import Video
import XCTest

/// `render probe` through the built binary: what it prints for clips and stills, and one-line errors.
final class ProbeCommandTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws { dir = try SyntheticMedia.temporaryDirectory("render-probe") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    let params = #"{"preset":"deep"}"#

    func testClipFactsAndParametersAsTextAndJSON() throws {
        let clip = dir + "/clip one.mkv"
        try SyntheticMedia.writeClip(
            to: clip, width: 40, height: 30, count: 7, frameRate: Rational(30000, 1001),
            settings: EncoderSettings(lossless: true), metadata: ["reverie": params])
        let text = try runRender(["probe", clip])
        XCTAssertEqual(text.status, 0, text.stderr)
        for fact in ["40x30", "30000/1001 fps", "frames:       7", "reverie:      \(params)", "audio:        none"] {
            XCTAssertTrue(text.stdout.contains(fact), "missing '\(fact)' in:\n\(text.stdout)")
        }
        let json = try runRender(["probe", "--json", clip])
        XCTAssertEqual(json.status, 0, json.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["frameCount"] as? Int, 7)
        XCTAssertEqual(object["width"] as? Int, 40)
        XCTAssertEqual(object["frameRate"] as? String, "30000/1001")
        XCTAssertEqual((object["metadata"] as? [String: String])?["reverie"], params)
    }

    func testStillShowsSizeAndParameters() throws {
        let png = dir + "/still.png"
        try ImageFile.write(SyntheticMedia.frame(width: 21, height: 13, index: 0), to: png, metadata: ["reverie": params])
        let r = try runRender(["probe", png])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("21x13") && r.stdout.contains("(image)") && r.stdout.contains(params), r.stdout)
        XCTAssertFalse(r.stdout.contains("frames:"), r.stdout)
    }

    func testBadInputsFailWithOneLine() throws {
        let text = dir + "/text.mp4"
        FileManager.default.createFile(atPath: text, contents: Data("not a video".utf8))
        for (path, words) in [(dir + "/missing.mp4", "no such file"), (dir, "is a directory"), (text, "text.mp4")] {
            let r = try runRender(["probe", path])
            XCTAssertNotEqual(r.status, 0, path)
            let lines = r.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, r.stderr)
            XCTAssertTrue(r.stderr.hasPrefix("error: ") && r.stderr.contains(words), r.stderr)
        }
    }
}
