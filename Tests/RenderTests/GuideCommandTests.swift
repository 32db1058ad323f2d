import Dream
import TestSupport
import Video
import XCTest

/// `--guide` and `--guide-weight` end to end, with the tiny generated model.
final class GuideCommandTests: XCTestCase {
    var dir = ""
    var model = ""

    override func setUpWithError() throws {
        dir = try SyntheticMedia.temporaryDirectory("render-guide")
        model = dir + "/tiny.onnx"
        try writeTinyDreamModel(to: model)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// A picture unlike the inputs: diagonal stripes in two colours.
    func writeGuide(_ name: String, period: Double = 5) throws -> String {
        let (w, h) = (60, 40)
        var pixels = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h {
            for x in 0..<w {
                let v = sin(Double(x + y) / period * 2 * .pi) > 0
                pixels[(y * w + x) * 3] = v ? 230 : 20
                pixels[(y * w + x) * 3 + 1] = v ? 40 : 200
                pixels[(y * w + x) * 3 + 2] = UInt8(x * 4)
            }
        }
        let path = dir + "/" + name
        try ImageFile.write(RGBImage(width: w, height: h, pixels: pixels), to: path)
        return path
    }

    func writePicture(_ name: String) throws -> String {
        let path = dir + "/" + name
        try ImageFile.write(SyntheticMedia.frame(width: 72, height: 48, index: 3), to: path)
        return path
    }

    var common: [String] { ["--model", model, "--layers", "block1", "--octaves", "2", "--steps", "3", "--quiet"] }

    func assertFails(_ args: [String], mentions: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try runRender(args)
        XCTAssertNotEqual(r.status, 0, "must fail: \(args)", file: file, line: line)
        let lines = r.stderr.split(separator: "\n").filter { !$0.isEmpty }
        XCTAssertEqual(lines.count, 1, "one-line error expected, got: \(r.stderr)", file: file, line: line)
        for m in mentions { XCTAssertTrue(r.stderr.contains(m), "error should mention \(m): \(r.stderr)", file: file, line: line) }
    }

    /// A guided still differs from the unguided one, is the same bytes when rendered again, and
    /// records the guide's path, weight and SHA-256; at weight 0 it is the unguided still exactly.
    func testGuidedImageDiffersFromTheUnguidedAndIsRecorded() throws {
        let input = try writePicture("in.png"), guide = try writeGuide("guide.png")
        let plain = dir + "/plain.png", guided = dir + "/guided.png", again = dir + "/again.png", zero = dir + "/zero.png"
        let runs = [(plain, []), (guided, ["--guide", guide]), (again, ["--guide", guide]), (zero, ["--guide", guide, "--guide-weight", "0"])]
        for (out, extra) in runs {
            let r = try runRender(["image", input, "-o", out] + common + extra)
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        let a = try ImageFile.read(path: plain), b = try ImageFile.read(path: guided)
        XCTAssertGreaterThan(SyntheticMedia.meanAbsoluteError(a, b), 0.5, "the guide must change the dream")
        XCTAssertEqual(b.pixels, try ImageFile.read(path: again).pixels, "same inputs and guide, same bytes")
        XCTAssertEqual(a.pixels, try ImageFile.read(path: zero).pixels, "guide weight 0 is the unguided dream")
        let probe = try runRender(["probe", guided])
        XCTAssertEqual(probe.status, 0, probe.stderr)
        let digest = SHA256.hex(try Data(contentsOf: URL(fileURLWithPath: guide)))
        for text in ["\"guide\":\"\(guide.replacingOccurrences(of: "/", with: "\\/"))\"", "\"guideWeight\":1", "\"guideSHA256\":\"\(digest)\""] {
            XCTAssertTrue(probe.stdout.contains(text), "\(text) in \(probe.stdout)")
        }
        XCTAssertFalse(try runRender(["probe", plain]).stdout.contains("guideSHA256"), "no guide, no digest")
    }

    /// A missing or unreadable guide, or a guide weight without a guide: one line naming the file
    /// or option, a non-zero exit, no output; for image, video and zoom alike.
    func testBadGuidesAreOneLineErrorsAndLeaveNothing() throws {
        let input = try writePicture("in.png")
        let out = dir + "/never.png"
        try assertFails(["image", input, "-o", out, "--guide", dir + "/nosuch.jpg"] + common, mentions: ["nosuch.jpg", "guide"])
        let broken = dir + "/broken.png"
        try Data("not a picture".utf8).write(to: URL(fileURLWithPath: broken))
        try assertFails(["image", input, "-o", out, "--guide", broken] + common, mentions: ["broken.png", "guide"])
        try assertFails(["image", input, "-o", out, "--guide-weight", "0.5"] + common, mentions: ["--guide-weight", "--guide"])
        try assertFails(
            ["image", input, "-o", out, "--guide", try writeGuide("g.png"), "--guide-weight", "2"] + common, mentions: ["guideWeight", "[0, 1]"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        let clip = dir + "/clip.mp4"
        try SyntheticMedia.writeClip(to: clip, width: 64, height: 48, count: 3)
        try assertFails(["video", clip, "-o", dir + "/never.mp4", "--guide", dir + "/nosuch.jpg"] + common, mentions: ["nosuch.jpg"])
        try assertFails(["zoom", input, "-o", dir + "/never.mp4", "--frames", "3", "--guide", dir + "/nosuch.jpg"] + common, mentions: ["nosuch.jpg"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/never.mp4"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/never.mp4.reverie-resume"))
    }

    /// The guide is part of a render's fingerprint: a zoom killed after two frames does not resume
    /// with another guide (or another file at the same path), and does with its own; a guided
    /// video renders with a scheduled guide weight.
    func testResumeWithAnotherGuideIsRefusedAndVideosTakeGuides() throws {
        let input = try writePicture("start.png")
        let guide = try writeGuide("guide.png"), other = try writeGuide("other.png", period: 9)
        let out = dir + "/zoom.mp4"
        let args = ["zoom", input, "-o", out, "--frames", "5", "--fps", "12", "--zoom-steps", "1", "--checkpoint-every", "1"] + common
        var r = try runRender(args + ["--guide", guide, "--stop-after", "2"])
        XCTAssertEqual(r.status, 137)
        try assertFails(args + ["--guide", other, "--resume"], mentions: ["other inputs or parameters"])
        // The same path holding another picture is another guide too.
        let saved = try Data(contentsOf: URL(fileURLWithPath: guide))
        try FileManager.default.removeItem(atPath: guide)
        try FileManager.default.copyItem(atPath: other, toPath: guide)
        try assertFails(args + ["--guide", guide, "--resume"], mentions: ["other inputs or parameters"])
        try saved.write(to: URL(fileURLWithPath: guide))
        r = try runRender(args + ["--guide", guide, "--resume"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try VideoReader(path: out).info.frameCount, 5)

        let clip = dir + "/clip.mp4"
        try SyntheticMedia.writeClip(to: clip, width: 64, height: 48, count: 4)
        r = try runRender(
            ["video", clip, "-o", dir + "/guided.mp4", "--frame-steps", "1", "--guide", guide, "--guide-weight", "0:(0), 3:(1)"] + common)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try VideoReader(path: dir + "/guided.mp4").info.frameCount, 4)
    }
}
