import Foundation
import TestSupport
import Video
import XCTest

/// The real demo media: exact frame counts, and a rewrite that keeps frames, audio and duration.
final class SampleTests: XCTestCase {
    func sample(_ name: String) throws -> String {
        let path = Samples.path(name)
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("\(name) not fetched (run samples/fetch)") }
        return path
    }

    /// cockatoo.mp4's second keyframe (3.8 s) is not a clean entry point: decoding from it gives
    /// damaged frames (ffmpeg -ss does too) unless the decoder has seen the x264 version SEI of the
    /// first packet. A seek must still return exactly frame N.
    func testCockatooSeeksPastADamagingKeyframeExactly() throws {
        let path = try sample("cockatoo.mp4")
        let targets: Set<Int> = [60, 100, 150, 200]
        var sequential: [Int: [UInt8]] = [:]
        let reader = try VideoReader(path: path)
        while let f = try reader.nextFrame(), f.index <= targets.max()! {
            if targets.contains(f.index) { sequential[f.index] = f.image.pixels }
        }
        for n in targets.sorted() {
            let r = try VideoReader(path: path)
            try r.seek(toFrame: n)
            let f = try XCTUnwrap(r.nextFrame())
            XCTAssertEqual(f.index, n)
            XCTAssertTrue(f.image.pixels == sequential[n], "frame \(n) after a seek differs from sequential decoding")
        }
    }

    func testCockatooDecodesTo280FramesAndRewriteKeepsAudio() throws {
        let source = try sample("cockatoo.mp4")
        let reader = try VideoReader(path: source)
        XCTAssertEqual(reader.info.width, 1280)
        XCTAssertEqual(reader.info.height, 720)
        XCTAssertEqual(reader.info.frameRate, Rational(20, 1))
        XCTAssertEqual(reader.info.frameCount, 280)
        XCTAssertEqual(reader.info.audio.first?.codec, "mp3")

        let dir = try SyntheticMedia.temporaryDirectory("cockatoo")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/rewrite.mp4"
        // ultrafast: this test checks frames, timing and audio, not compression.
        let writer = try VideoWriter(
            path: out, width: 1280, height: 720, frameRate: reader.info.frameRate,
            settings: EncoderSettings(preset: "ultrafast"), audioFrom: source)
        var count = 0
        while let f = try reader.nextFrame() {
            XCTAssertEqual(f.index, count)
            try writer.write(f.image)
            count += 1
        }
        XCTAssertEqual(count, 280, "all frames, including those held in the decoder at the end")
        try writer.finish()

        let back = try VideoReader(path: out)
        XCTAssertEqual(back.info.frameCount, 280)
        XCTAssertEqual(back.info.frameRate, Rational(20, 1))
        XCTAssertEqual(back.info.duration, reader.info.duration, accuracy: 1.0 / 20)
        let audio = try XCTUnwrap(back.info.audio.first, "audio carried over")
        XCTAssertEqual(audio.codec, "mp3")
        XCTAssertEqual(audio.duration, reader.info.audio[0].duration, accuracy: 1.0 / 20)
    }

    func testTrimmedRewriteCarriesOnlyTheRangeOfAudio() throws {
        let source = try sample("cockatoo.mp4")
        let reader = try VideoReader(path: source)
        let dir = try SyntheticMedia.temporaryDirectory("trim")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/trim.mkv"
        // Frames 40..<100 = 2.0 s ..< 5.0 s of video; audio only for 2.0 ... 4.0 s.
        try reader.seek(toFrame: 40)
        let writer = try VideoWriter(
            path: out, width: 320, height: 180, frameRate: Rational(20, 1),
            settings: EncoderSettings(preset: "ultrafast"), audioFrom: source, audioRange: 2.0...4.0)
        for _ in 40..<100 {
            let f = try XCTUnwrap(try reader.nextFrame())
            try writer.write(RGBImage(width: 320, height: 180, pixels: Array(f.image.pixels[0..<(320 * 180 * 3)])))
        }
        try writer.finish()
        let back = try VideoReader(path: out)
        XCTAssertEqual(back.info.frameCount, 60)
        let audio = try XCTUnwrap(back.info.audio.first)
        // Whole MP3 packets (1152 samples = 72 ms at 16 kHz) bound the cut.
        XCTAssertEqual(audio.duration, 2.0, accuracy: 0.08)  // the range ends the audio before the 3 s of video
    }

    func testRealshortMatchesFFprobeFacts() throws {
        let reader = try VideoReader(path: try sample("realshort.mp4"))
        var n = 0
        while try reader.nextFrame() != nil { n += 1 }
        XCTAssertEqual(n, reader.info.frameCount)
        XCTAssertGreaterThan(n, 0)
    }
}
