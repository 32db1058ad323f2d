import Dream
import TestSupport
import Video
import XCTest

/// The `render` executable end to end, with a tiny generated model and tiny media.
final class RenderCommandTests: XCTestCase {
    var dir = ""
    var model = ""

    override func setUpWithError() throws {
        dir = try SyntheticMedia.temporaryDirectory("render-cli")
        model = dir + "/tiny.onnx"
        try writeTinyDreamModel(to: model)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: dir)
    }

    func writePicture(_ name: String, width: Int = 72, height: Int = 48) throws -> String {
        let path = dir + "/" + name
        try ImageFile.write(SyntheticMedia.frame(width: width, height: height, index: 3), to: path)
        return path
    }

    /// A 96x72 picture with detail everywhere, so the motion of every step can be measured.
    func writeTexturedPicture() throws -> String {
        var pixels = [UInt8](repeating: 0, count: 96 * 72 * 3)
        for y in 0..<72 {
            for x in 0..<96 {
                let i = (y * 96 + x) * 3
                pixels[i] = UInt8(128 + 100 * sin(Double(x) / 3) * cos(Double(y) / 4))
                pixels[i + 1] = UInt8(x * 2); pixels[i + 2] = UInt8(y * 3)
            }
        }
        let path = dir + "/textured.png"
        try ImageFile.write(RGBImage(width: 96, height: 72, pixels: pixels), to: path)
        return path
    }

    func assertFails(_ args: [String], mentions: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try runRender(args)
        XCTAssertNotEqual(r.status, 0, "must fail: \(args)", file: file, line: line)
        let lines = r.stderr.split(separator: "\n").filter { !$0.isEmpty }
        XCTAssertEqual(lines.count, 1, "one-line error expected, got: \(r.stderr)", file: file, line: line)
        for m in mentions { XCTAssertTrue(r.stderr.contains(m), "error should mention \(m): \(r.stderr)", file: file, line: line) }
    }

    func testImageDreamsAndRecordsItsParameters() throws {
        let input = try writePicture("in.png")
        let out = dir + "/out.png", again = dir + "/again.png", other = dir + "/other.png"
        let common = ["--model", model, "--layers", "block1", "--octaves", "2", "--steps", "3", "--quiet"]
        var r = try runRender(["image", input, "-o", out] + common)
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try runRender(["image", input, "-o", again] + common)
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try runRender(["image", input, "-o", other, "--seed", "5"] + common)
        XCTAssertEqual(r.status, 0, r.stderr)
        let a = try ImageFile.read(path: out), b = try ImageFile.read(path: again), c = try ImageFile.read(path: other)
        let source = try ImageFile.read(path: input)
        XCTAssertEqual([a.width, a.height], [72, 48])
        XCTAssertEqual(a.pixels, b.pixels, "same seed, same bytes")
        XCTAssertNotEqual(a.pixels, c.pixels, "another seed, another dream")
        XCTAssertGreaterThan(SyntheticMedia.meanAbsoluteError(a, source), 1, "the dream must change the picture")
        let probe = try runRender(["probe", out])
        XCTAssertEqual(probe.status, 0, probe.stderr)
        XCTAssertTrue(probe.stdout.contains("block1") && probe.stdout.contains("\"steps\":3"), probe.stdout)
    }

    /// The README's `--layers` example, in the tiny model's names: weights and a channel list.
    func testLayerListWithChannelsAndWeights() throws {
        let input = try writePicture("in.png")
        let out = dir + "/layers.png"
        let r = try runRender([
            "image", input, "-o", out, "--model", model, "--layers", "block0,block1:0.5,block1[3,7]",
            "--octaves", "1", "--steps", "2", "--quiet"
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out))
        try assertFails(
            ["image", input, "-o", dir + "/never.png", "--model", model, "--layers", "block1[3,7", "--quiet"],
            mentions: ["block1[3,7", "not closed"])
    }

    func testBadInputsGiveOneLineErrorsAndNoOutput() throws {
        let input = try writePicture("in.png")
        let out = dir + "/never.png"
        try assertFails(["image", dir + "/missing.png", "-o", out, "--model", model, "--quiet"], mentions: ["missing.png"])
        let broken = dir + "/broken.png"
        try Data("not a png at all".utf8).write(to: URL(fileURLWithPath: broken))
        try assertFails(["image", broken, "-o", out, "--model", model, "--quiet"], mentions: ["broken.png"])
        try assertFails(["image", input, "-o", out, "--model", model, "--layers", "block99", "--quiet"], mentions: ["block99", "block0", "block1"])
        try assertFails(["image", input, "-o", out, "--model", model, "--preset", "nosuch", "--quiet"], mentions: ["nosuch", "classic"])
        let clip = dir + "/clip.mp4"
        try SyntheticMedia.writeClip(to: clip, width: 64, height: 48, count: 5)
        try assertFails(["image", clip, "--frame", "5", "-o", out, "--model", model, "--quiet"], mentions: ["frame 5", "5 frames"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    func testVideoKeepsFramesTimingAndAudioAndResumesIdentically() throws {
        guard let sample = ImageNetInput.samplePath("cockatoo.mp4") else { throw XCTSkip("samples/cockatoo.mp4 is not fetched (run samples/fetch)") }
        let full = dir + "/full.mp4", resumed = dir + "/resumed.mp4"
        let common = [
            "--model", model, "--layers", "block1", "--octaves", "1", "--steps", "2", "--frame-steps", "1",
            "--width", "64", "--duration", "0.5", "--quiet", "--checkpoint-every", "3"
        ]
        var r = try runRender(["video", sample, "-o", full] + common)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("excess warping error"), r.stdout)
        // A kill after 7 frames: the checkpoint holds 6; the resumed render must match the full one.
        r = try runRender(["video", sample, "-o", resumed, "--stop-after", "7"] + common)
        XCTAssertEqual(r.status, 137)
        XCTAssertFalse(FileManager.default.fileExists(atPath: resumed), "nothing at the destination after a kill")
        r = try runRender(["video", sample, "-o", resumed] + common)
        XCTAssertNotEqual(r.status, 0, "an existing checkpoint needs --resume or --overwrite")
        r = try runRender(["video", sample, "-o", resumed, "--resume"] + common)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: resumed + ".reverie-resume"))

        let a = try VideoReader(path: full), b = try VideoReader(path: resumed)
        XCTAssertEqual(a.info.frameCount, 10, "0.5 s at 20 fps")
        XCTAssertEqual(a.info.frameRate, Rational(20, 1))
        XCTAssertEqual(a.info.audio.count, 1, "the source's audio is carried over")
        XCTAssertEqual(a.info.width, 64)
        var n = 0
        while let fa = try a.nextFrame() {
            let fb = try XCTUnwrap(b.nextFrame())
            XCTAssertEqual(fa.image.pixels, fb.image.pixels, "frame \(n) differs after resume")
            XCTAssertEqual(fa.seconds, Double(n) / 20, accuracy: 1e-3)
            n += 1
        }
        XCTAssertEqual(n, 10)
        // Refuses to overwrite without --overwrite.
        r = try runRender(["video", sample, "-o", full] + common)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("--overwrite"), r.stderr)
    }

    func testVideoFlowAndPlainBlendPathsBothRun() throws {
        let clip = dir + "/clip.mp4"
        try SyntheticMedia.writeClip(to: clip, width: 64, height: 48, count: 4)
        for flow in ["on", "off"] {
            let out = dir + "/flow-\(flow).mp4"
            let r = try runRender([
                "video", clip, "-o", out, "--model", model, "--layers", "block1", "--octaves", "1",
                "--steps", "2", "--frame-steps", "1", "--flow", flow, "--quiet"
            ])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(try VideoReader(path: out).info.frameCount, 4)
        }
    }

    /// A raw H.264 stream (no container: no timestamps, no duration) renders a range by its rate.
    func testRawH264VideoRendersARangeWithExactTimestamps() throws {
        let clip = dir + "/camera.h264"
        try SyntheticMedia.writeClip(to: clip, width: 64, height: 48, count: 12, frameRate: Rational(24, 1))
        let out = dir + "/dreamed.mp4"
        let common = ["--model", model, "--layers", "block1", "--octaves", "1", "--steps", "1", "--frame-steps", "1", "--quiet"]
        let r = try runRender(["video", clip, "-o", out, "--start", "0.25", "--duration", "0.2"] + common)
        XCTAssertEqual(r.status, 0, r.stderr)
        let reader = try VideoReader(path: out)
        XCTAssertEqual(reader.info.frameRate, Rational(24, 1))
        XCTAssertEqual(reader.info.frameCount, 5, "frames 6...10 of the source: 0.25 s up to 0.45 s")
        XCTAssertEqual(reader.info.duration, 5.0 / 24, accuracy: 1e-9)
        let tb = reader.info.timeBase
        var n = 0
        while let f = try reader.nextFrame() {
            // Exactly n/24 s: pts * num / den == n / 24 in whole numbers.
            XCTAssertEqual(f.pts * Int64(tb.num) * 24, Int64(n) * Int64(tb.den), "frame \(n) at pts \(f.pts) in \(tb)")
            n += 1
        }
        XCTAssertEqual(n, 5)
        // To the end (--duration past it), and a start past the end is refused in one line.
        let tail = dir + "/tail.mp4"
        XCTAssertEqual(try runRender(["video", clip, "-o", tail, "--start", "0.4", "--duration", "1"] + common).status, 0)
        XCTAssertEqual(try VideoReader(path: tail).info.frameCount, 2, "frames 10 and 11")
        try assertFails(["video", clip, "-o", dir + "/never.mp4", "--start", "0.5"] + common, mentions: ["duration 0.500 s"])
    }

    func testZoomLoopReportsTheSeamAndRefusesBadArguments() throws {
        let input = try writePicture("start.png", width: 64, height: 48)
        let out = dir + "/zoom.mp4"
        let r = try runRender([
            "zoom", input, "-o", out, "--frames", "12", "--fps", "12", "--zoom", "1.3", "--loop",
            "--model", model, "--layers", "block1", "--octaves", "1", "--steps", "2", "--zoom-steps", "1", "--quiet"
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("loop seam ratio"), r.stdout)
        XCTAssertEqual(try VideoReader(path: out).info.frameCount, 12)
        XCTAssertEqual(try VideoReader(path: out).info.frameRate, Rational(12, 1))
        for bad in [["--zoom", "0"], ["--zoom", "-2"], ["--frames", "0"], ["--focus", "1.5,0.5"]] {
            let args =
                ["zoom", input, "-o", dir + "/bad.mp4", "--model", model, "--quiet"] + (bad.contains("--frames") ? [] : ["--frames", "4"]) + bad
            let result = try runRender(args)
            XCTAssertNotEqual(result.status, 0, "\(bad) must be refused")
            XCTAssertFalse(result.stderr.isEmpty)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/bad.mp4"))
    }

    /// A scheduled zoom moves every frame by that frame's zoom: warping frame k−1 by the schedule's
    /// zoom at k matches frame k far better than by a constant zoom (no dream steps on the zoom
    /// frames, so only the motion and the colour anchor change a frame).
    func testScheduledZoomFollowsTheScheduleFrameByFrame() throws {
        let input = try writeTexturedPicture()
        let out = dir + "/scheduled.mp4"
        let fps = 12.0
        let r = try runRender([
            "zoom", input, "-o", out, "--frames", "12", "--fps", "12", "--zoom", "0:(1.0), 11:(2.5)",
            "--model", model, "--layers", "block1", "--octaves", "1", "--steps", "0", "--zoom-steps", "0", "--crf", "0", "--quiet"
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse(r.stdout.contains("seam"), "a scheduled motion has no loop seam to report: \(r.stdout)")
        let reader = try VideoReader(path: out)
        var frames: [RGBImage] = []
        while let f = try reader.nextFrame() { frames.append(f.image) }
        XCTAssertEqual(frames.count, 12)
        let zoom = try Schedule(parsing: "0:(1.0), 11:(2.5)")
        for k in 2..<12 {
            // The zoom that best maps frame k−1 onto frame k, searched in steps of 0.001 (the schedule moves it by 0.005–0.01 a frame).
            let candidates = stride(from: 0.99, through: 1.16, by: 0.001).map { $0 }
            let errors = candidates.map { LoopSeam.stepError(from: frames[k - 1], to: frames[k], scale: $0) }
            let best = candidates[errors.indices.min { errors[$0] < errors[$1] }!]
            let scheduled = pow(zoom.value(atFrame: Double(k), fps: fps), 1 / fps)
            XCTAssertEqual(best, scheduled, accuracy: 0.004, "frame \(k): best-fitting zoom \(best), scheduled \(scheduled)")
        }
        // A scheduled loop cannot drift; a bad schedule is one line naming the position.
        try assertFails(
            [
                "zoom", input, "-o", dir + "/never.mp4", "--frames", "4", "--zoom", "0:(1.1), 3:(1.3)", "--loop", "--drift", "0.1,0",
                "--model", model, "--quiet"
            ],
            mentions: ["needs --drift 0,0"])
        try assertFails(
            ["zoom", input, "-o", dir + "/never.mp4", "--frames", "4", "--zoom", "0:(1.1), 3:(1.3", "--model", model, "--quiet"],
            mentions: ["schedule '0:(1.1), 3:(1.3': at character 16"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/never.mp4"))
    }

    /// A scheduled pan moves every frame across by that frame's drift: the best-fitting horizontal
    /// shift of each step is the schedule's drift × width / fps. A scheduled pan cannot loop.
    func testScheduledPanFollowsTheSchedule() throws {
        let input = try writeTexturedPicture()
        let out = dir + "/pan.mp4"
        let r = try runRender([
            "zoom", input, "-o", out, "--frames", "12", "--fps", "12", "--zoom", "1", "--pan-x", "0:(0), 11:(0.5)", "--model", model,
            "--layers", "block1", "--octaves", "1", "--steps", "0", "--zoom-steps", "0", "--crf", "0", "--quiet"
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let reader = try VideoReader(path: out)
        var frames: [RGBImage] = []
        while let f = try reader.nextFrame() { frames.append(f.image) }
        XCTAssertEqual(frames.count, 12)
        /// Mean squared difference between b and a sampled `d` pixels to the right, over the centre 80 %.
        func shiftError(_ a: RGBImage, _ b: RGBImage, _ d: Double) -> Double {
            var sum = 0.0, n = 0
            for y in 7..<65 {
                for x in 10..<86 {
                    let u = Double(x) + d, x0 = Int(u.rounded(.down)), f = u - Double(x0)
                    for c in 0..<3 {
                        let v = Double(a.pixels[(y * 96 + x0) * 3 + c]) * (1 - f) + Double(a.pixels[(y * 96 + x0 + 1) * 3 + c]) * f
                        let e = (v - Double(b.pixels[(y * 96 + x) * 3 + c])) / 255
                        sum += e * e; n += 1
                    }
                }
            }
            return sum / Double(n)
        }
        for k in 2..<12 {
            let candidates = stride(from: 0.0, through: 5.0, by: 0.02).map { $0 }
            let errors = candidates.map { shiftError(frames[k - 1], frames[k], $0) }
            let best = candidates[errors.indices.min { errors[$0] < errors[$1] }!]
            let expected = 0.5 * Double(k) / 11 * 96 / 12
            XCTAssertEqual(best, expected, accuracy: 0.1, "frame \(k): best-fitting shift \(best) px, scheduled \(expected) px")
        }
        try assertFails(
            ["zoom", input, "-o", dir + "/never.mp4", "--frames", "4", "--pan-x", "0:(0), 3:(0.2)", "--loop", "--model", model, "--quiet"],
            mentions: ["cannot follow a scheduled panX"])
    }

    /// `render image --frame N` on a still previews frame N's values of a schedule (here the layer
    /// weights): frames 0 and 10 of a cross-fade dream different layers; without schedules
    /// --frame on a still is refused.
    func testImageFramePreviewsTheScheduleThere() throws {
        let input = try writePicture("still.png")
        let preset = dir + "/fade.json"
        try Data(#"{"layers": ["block0"], "octaves": 1, "steps": 2, "weights": {"block0": "0:(1), 10:(0)", "block1": "0:(0), 10:(1)"}}"#.utf8)
            .write(to: URL(fileURLWithPath: preset))
        var outputs: [[UInt8]] = []
        for n in ["0", "10"] {
            let out = dir + "/frame\(n).png"
            let r = try runRender(["image", input, "-o", out, "--frame", n, "--preset", preset, "--model", model, "--quiet"])
            XCTAssertEqual(r.status, 0, r.stderr)
            outputs.append(try ImageFile.read(path: out).pixels)
        }
        XCTAssertNotEqual(outputs[0], outputs[1], "frame 10 dreams block1, frame 0 block0")
        try assertFails(["image", input, "-o", dir + "/x.png", "--frame", "3", "--model", model, "--quiet"], mentions: ["presets with schedules"])
    }

    func testBadOutputPathLeavesNothing() throws {
        let clip = dir + "/clip.mp4"
        try SyntheticMedia.writeClip(to: clip, width: 64, height: 48, count: 3)
        try assertFails(["video", clip, "-o", dir + "/no/such/folder/out.mp4", "--model", model, "--quiet"], mentions: ["no/such/folder"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/no"))
        try assertFails(["video", dir + "/missing.mp4", "-o", dir + "/out.mp4", "--model", model, "--quiet"], mentions: ["missing.mp4"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/out.mp4"))
    }

    /// The real default model on the real sample, end to end (small and short, so it stays quick).
    func testDefaultModelDreamsChelsea() throws {
        guard let chelsea = ImageNetInput.samplePath("chelsea.png") else { throw XCTSkip("samples/chelsea.png is not fetched (run samples/fetch)") }
        let out = dir + "/chelsea.png"
        let r = try runRender(["image", chelsea, "-o", out, "--preset", "classic", "--width", "160", "--octaves", "2", "--steps", "3", "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let dreamed = try ImageFile.read(path: out)
        XCTAssertEqual([dreamed.width, dreamed.height], [160, 106])
        let source = try ImageFile.read(path: chelsea)
        XCTAssertGreaterThan(SyntheticMedia.meanAbsoluteError(dreamed, source.resizedNearest(width: 160, height: 106)), 2)
    }
}

private extension RGBImage {
    func resizedNearest(width w: Int, height h: Int) -> RGBImage {
        var out = RGBImage(width: w, height: h)
        for y in 0..<h {
            for x in 0..<w {
                let sx = x * width / w, sy = y * height / h
                for c in 0..<3 { out.pixels[3 * (y * w + x) + c] = pixels[3 * (sy * width + sx) + c] }
            }
        }
        return out
    }
}
