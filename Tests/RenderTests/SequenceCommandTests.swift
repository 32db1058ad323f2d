import Foundation
import TestSupport
import Video
import XCTest

/// `render video` and `render zoom` with numbered PNG frames in and out (`frames/%05d.png`).
final class SequenceCommandTests: XCTestCase {
    var dir = ""
    var model = ""
    var common: [String] { ["--model", model, "--layers", "block1", "--octaves", "1", "--steps", "2", "--frame-steps", "1", "--quiet"] }

    override func setUpWithError() throws {
        dir = try SyntheticMedia.temporaryDirectory("render-sequence")
        model = dir + "/tiny.onnx"
        try writeTinyDreamModel(to: model)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: dir)
    }

    func files(_ folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
    }

    func assertFails(_ args: [String], mentions: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try runRender(args)
        XCTAssertNotEqual(r.status, 0, "must fail: \(args)", file: file, line: line)
        let lines = r.stderr.split(separator: "\n").filter { !$0.isEmpty }
        XCTAssertEqual(lines.count, 1, "one-line error expected, got: \(r.stderr)", file: file, line: line)
        XCTAssertTrue(r.stderr.hasPrefix("error: "), r.stderr, file: file, line: line)
        for m in mentions { XCTAssertTrue(r.stderr.contains(m), "error should mention \(m): \(r.stderr)", file: file, line: line) }
    }

    struct Timing: Decodable {
        var pattern: String
        var first_number: Int
        var frames: Int
        var depth: Int
        var frame_rate: String
        var time_base: String
        var constant_rate: Bool
        var pts: [Int64]
        var seconds: [Double]
        var source: String?
        var source_start: Double?
        var source_has_audio: Bool
        var ffmpeg: String
        var reverie: String
    }

    func timing(_ folder: String) throws -> Timing {
        try JSONDecoder().decode(Timing.self, from: Data(contentsOf: URL(fileURLWithPath: folder + "/timing.json")))
    }

    func bytes(_ folder: String) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for f in files(folder) { out[f] = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + f)) }
        return out
    }

    func testVideoToPNGFramesWritesFramesAndTimingAndResumesIdentically() throws {
        let clip = dir + "/clip.mp4"
        try SyntheticMedia.writeClip(to: clip, width: 64, height: 48, count: 8, frameRate: Rational(24, 1))
        let folder = dir + "/frames", pattern = folder + "/%05d.png"
        var r = try runRender(["video", clip, "-o", pattern, "--start", "0.125"] + common)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("frames/00001.png ... ") && r.stdout.contains("frames/00005.png"), r.stdout)
        let pngs = (1...5).map { String(format: "%05d.png", $0) }
        XCTAssertEqual(files(folder), pngs + ["timing.ffconcat", "timing.json"], "frames 3...7 of the clip, numbered from 1")
        XCTAssertEqual(files(dir), ["clip.mp4", "frames", "tiny.onnx"], "no checkpoint and no partial folder left")
        for (i, name) in pngs.enumerated() {
            let image = try ImageFile.read(path: folder + "/" + name)
            XCTAssertEqual([image.width, image.height], [64, 48], name)
            let reader = try VideoReader(path: folder + "/" + name)
            XCTAssertEqual(reader.info.videoCodec, "png")
            XCTAssertEqual(reader.info.pixelFormat, "rgb24", "8-bit RGB by default")
            _ = i
        }
        let t = try timing(folder)
        XCTAssertEqual(t.pattern, "%05d.png")
        XCTAssertEqual(t.first_number, 1)
        XCTAssertEqual(t.frames, 5)
        XCTAssertEqual(t.depth, 8)
        XCTAssertEqual(t.frame_rate, "24/1")
        XCTAssertTrue(t.constant_rate)
        XCTAssertEqual(t.source, clip)
        XCTAssertEqual(t.source_start, 0.125)
        XCTAssertFalse(t.source_has_audio)
        // Exactly i/24 s: pts × tb = i / 24 in whole numbers.
        let tb = t.time_base.split(separator: "/").map { Int64($0)! }
        for i in 0..<5 {
            XCTAssertEqual(t.pts[i] * tb[0] * 24, Int64(i) * tb[1], "frame \(i) at \(t.pts[i]) × \(t.time_base)")
            XCTAssertEqual(t.seconds[i], Double(i) / 24, accuracy: 1e-9)
        }
        XCTAssertTrue(t.ffmpeg.hasPrefix("ffmpeg -framerate 24/1 -start_number 1 -i \(pattern)"), t.ffmpeg)
        XCTAssertTrue(t.reverie.contains("\"command\":\"video\""), t.reverie)
        let concat = try String(contentsOfFile: folder + "/timing.ffconcat", encoding: .utf8)
        XCTAssertTrue(concat.hasPrefix("ffconcat version 1.0\nfile 00001.png\nduration 0.041666667\n"), concat)

        // The folder is refused without --overwrite; the same render again gives the same bytes.
        try assertFails(["video", clip, "-o", pattern, "--start", "0.125"] + common, mentions: ["frames", "--overwrite"])
        let first = try bytes(folder)
        r = try runRender(["video", clip, "-o", pattern, "--start", "0.125", "--overwrite"] + common)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try bytes(folder), first, "reproducible byte for byte")

        // Killed after 3 frames (checkpoint at 2): nothing at the destination; --resume gives the same frames.
        let resumed = dir + "/resumed", resumedPattern = resumed + "/%05d.png"
        r = try runRender(["video", clip, "-o", resumedPattern, "--start", "0.125", "--checkpoint-every", "2", "--stop-after", "3"] + common)
        XCTAssertEqual(r.status, 137)
        XCTAssertFalse(FileManager.default.fileExists(atPath: resumed), "nothing at the destination after a kill")
        XCTAssertTrue(FileManager.default.fileExists(atPath: resumed + ".reverie-resume/state.json"))
        try assertFails(["video", clip, "-o", resumedPattern, "--start", "0.125"] + common, mentions: ["--resume"])
        r = try runRender(["video", clip, "-o", resumedPattern, "--start", "0.125", "--checkpoint-every", "2", "--resume"] + common)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: resumed + ".reverie-resume"))
        for name in pngs {
            XCTAssertEqual(try bytes(resumed)[name], first[name], "\(name) differs after resume")
        }
        XCTAssertEqual(try bytes(resumed)["timing.json"].map { String(decoding: $0, as: UTF8.self) }?.contains("resumed/%05d.png"), true)
    }

    func testSixteenBitFramesAreFinerThanEightBitOnes() throws {
        let clip = dir + "/clip.mp4"
        try SyntheticMedia.writeClip(to: clip, width: 64, height: 48, count: 3, frameRate: Rational(24, 1))
        let eight = dir + "/eight/%03d.png", deep = dir + "/deep/%03d.png"
        XCTAssertEqual(try runRender(["video", clip, "-o", eight, "--start-number", "0"] + common).status, 0)
        let r = try runRender(["video", clip, "-o", deep, "--png-depth", "16", "--start-number", "0", "--checkpoint-every", "2"] + common)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(files(dir + "/deep"), ["000.png", "001.png", "002.png", "timing.ffconcat", "timing.json"])
        XCTAssertEqual(try timing(dir + "/deep").depth, 16)
        let a = try VideoReader(path: eight), b = try VideoReader(path: deep, sixteenBit: true)
        XCTAssertEqual(b.info.pixelFormat, "rgb48be")
        var n = 0, notWidened = 0
        while let fa = try a.nextFrame() {
            let fb = try XCTUnwrap(b.nextFrame())
            let d = try XCTUnwrap(fb.image16)
            notWidened += d.pixels.filter { $0 % 257 != 0 }.count
            // The same dream: its 16-bit rounding rounded again to 8 bits is off by at most 1.
            XCTAssertLessThanOrEqual(zip(d.rgb8.pixels, fa.image.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 0, 1, "frame \(n)")
            n += 1
        }
        XCTAssertEqual(n, 3)
        XCTAssertGreaterThan(notWidened, 64 * 48 * 3 * 3 / 2, "most values are finer than 8 bits")
    }

    func testPNGFramesInWithAnExactRateAndARange() throws {
        let pattern = dir + "/in/%04d.png"
        try SyntheticMedia.writeClip(to: pattern, width: 64, height: 48, count: 10, frameRate: Rational(24000, 1001))
        let out = dir + "/out.mp4"
        var r = try runRender(["video", pattern, "--fps", "24000/1001", "-o", out] + common)
        XCTAssertEqual(r.status, 0, r.stderr)
        var reader = try VideoReader(path: out)
        XCTAssertEqual(reader.info.frameRate, Rational(24000, 1001))
        XCTAssertEqual(reader.info.frameCount, 10)
        var tb = reader.info.timeBase
        var n = 0
        while let f = try reader.nextFrame() {
            // Exactly n·1001/24000 s: pts·num·24000 == n·1001·den.
            XCTAssertEqual(f.pts * Int64(tb.num) * 24000, Int64(n) * 1001 * Int64(tb.den), "frame \(n) at pts \(f.pts) in \(tb)")
            n += 1
        }
        XCTAssertEqual(n, 10)
        // --start/--duration by the given rate: 0.1 s ... 0.3 s holds frames 3...7 (0.125 ... 0.292 s).
        let part = dir + "/part.mkv"
        r = try runRender(["video", pattern, "--fps", "24000/1001", "--start", "0.1", "--duration", "0.2", "-o", part] + common)
        XCTAssertEqual(r.status, 0, r.stderr)
        reader = try VideoReader(path: part)
        XCTAssertEqual(reader.info.frameCount, 5)
        n = 0
        while let f = try reader.nextFrame() {
            XCTAssertEqual(f.seconds, Double(n) * 1001 / 24000, accuracy: 1e-3, "Matroska keeps milliseconds")
            n += 1
        }
        XCTAssertEqual(n, 5)
        // Without --fps, FFmpeg's image2 default: 25.
        r = try runRender(["video", pattern, "-o", dir + "/at25.mp4", "--duration", "0.2"] + common)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try VideoReader(path: dir + "/at25.mp4").info.frameRate, Rational(25, 1))
        XCTAssertEqual(try VideoReader(path: dir + "/at25.mp4").info.frameCount, 5)
        // One frame of the sequence as a still, and a zoom from it into PNG frames.
        let still = dir + "/still.png"
        r = try runRender([
            "image", pattern, "--frame", "9", "-o", still, "--model", model, "--layers", "block1", "--octaves", "1", "--steps", "1", "--quiet"
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try ImageFile.read(path: still).width, 64)
        r = try runRender([
            "zoom", pattern, "--frame", "2", "-o", dir + "/zoom/%03d.png", "--frames", "4", "--fps", "12", "--zoom", "1.3",
            "--model", model, "--layers", "block1", "--octaves", "1", "--steps", "1", "--zoom-steps", "1", "--quiet"
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("loop seam ratio"), "the seam is measured on the frames as written: \(r.stdout)")
        XCTAssertEqual(files(dir + "/zoom"), ["001.png", "002.png", "003.png", "004.png", "timing.ffconcat", "timing.json"])
        let z = try timing(dir + "/zoom")
        XCTAssertEqual(z.frame_rate, "12/1")
        XCTAssertEqual(z.pts, [0, 1, 2, 3])
        XCTAssertNil(z.source)
    }

    func testRefusedSequencesLeaveNothingAndSayWhy() throws {
        let clip = dir + "/clip.mp4"
        try SyntheticMedia.writeClip(to: clip, width: 64, height: 48, count: 3)
        let before = files(dir)
        try assertFails(["video", clip, "-o", dir + "/frames/out.png"] + common, mentions: ["frames/out.png", "%05d"])
        try assertFails(["video", clip, "-o", dir + "/no/such/%05d.png"] + common, mentions: ["no/such"])
        try assertFails(["video", clip, "-o", "%05d.png"] + common, mentions: ["folder of their own"])
        try assertFails(["video", clip, "-o", dir + "/f/%05d.png", "--png-depth", "12"] + common, mentions: ["--png-depth", "8 or 16"])
        try assertFails(["video", clip, "-o", dir + "/out.mp4", "--png-depth", "16"] + common, mentions: ["--png-depth", "PNG"])
        try assertFails(["video", clip, "-o", dir + "/out.mp4", "--fps", "24"] + common, mentions: ["--fps", "clip.mp4"])
        try assertFails(["video", clip, "-o", dir + "/f/%05d.png", "--chunk", "0/2"] + common, mentions: ["--chunk"])
        try assertFails(["video", clip, "-o", dir + "/clip.mp4/%05d.png"] + common, mentions: ["clip.mp4", "is a file"])
        try assertFails(["image", clip, "--frame", "1", "-o", dir + "/f/%05d.png"] + common.prefix(2), mentions: ["one picture"])
        try assertFails(["video", dir + "/missing/%05d.png", "-o", dir + "/out.mp4"] + common, mentions: ["missing/%05d.png", "no such folder"])
        try FileManager.default.createDirectory(atPath: dir + "/empty", withIntermediateDirectories: true)
        try assertFails(["video", dir + "/empty/%05d.png", "-o", dir + "/out.mp4"] + common, mentions: ["empty/%05d.png", "no such file"])
        try assertFails(["video", dir + "/empty/%05d.png", "--fps", "fast", "-o", dir + "/out.mp4"] + common, mentions: ["--fps", "fast"])
        // A folder with the user's own files is never taken over, even with --overwrite.
        try Data("keep".utf8).write(to: URL(fileURLWithPath: dir + "/empty/notes.txt"))
        try assertFails(["video", clip, "-o", dir + "/empty/%05d.png", "--overwrite"] + common, mentions: ["notes.txt"])
        XCTAssertEqual(files(dir + "/empty"), ["notes.txt"])
        XCTAssertEqual(files(dir), (before + ["empty"]).sorted(), "nothing else was created")
    }
}
