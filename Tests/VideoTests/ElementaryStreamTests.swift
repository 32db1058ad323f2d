import Foundation
import TestSupport
import Video
import XCTest

/// Streams without container timing: raw H.264/HEVC elementary streams (no timestamps, no duration)
/// are timed by their rate; MPEG-TS (timestamps, an offset start, a duration FFmpeg only estimates)
/// by its timestamps. Both read, time and seek like any other video.
final class ElementaryStreamTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws { dir = try SyntheticMedia.temporaryDirectory("elementary") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    /// 12 pictures four synthetic frames apart (the red square moves 8 px, the gradient 12 px a frame),
    /// so that every decoded frame is clearly nearest to its own source picture.
    func writeStream(
        _ name: String, count: Int = 12, rate: Rational = Rational(24, 1), startSeconds: Double? = nil,
        settings: EncoderSettings = EncoderSettings(preset: "medium", keyframeInterval: 5)
    ) throws -> (String, [RGBImage]) {
        let path = dir + "/" + name
        let pictures = (0..<count).map { SyntheticMedia.frame(width: 64, height: 48, index: 4 * $0) }
        try VideoWriter.with(path: path, width: 64, height: 48, frameRate: rate, settings: settings) { w in
            for (i, p) in pictures.enumerated() { try w.write(p, seconds: startSeconds.map { $0 + Double(i) / rate.value }) }
        }
        return (path, pictures)
    }

    /// Reads the stream, checks frame count, times and pixels, then seeks by frame and by time.
    func checkStream(
        _ path: String, _ pictures: [RGBImage], rate: Rational, container: String, codec: String,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let n = pictures.count
        let reader = try VideoReader(path: path)
        let info = reader.info
        XCTAssertEqual(info.container, container, file: file, line: line)
        XCTAssertEqual(info.videoCodec, codec, file: file, line: line)
        XCTAssertEqual(info.frameRate, rate, file: file, line: line)
        XCTAssertEqual(info.frameCount, n, file: file, line: line)
        XCTAssertEqual(info.duration, Double(n) / rate.value, accuracy: 1e-9, "duration", file: file, line: line)
        XCTAssertEqual([info.width, info.height], [64, 48], file: file, line: line)

        var sequential: [VideoFrame] = []
        while let f = try reader.nextFrame() { sequential.append(f) }
        XCTAssertEqual(sequential.count, n, "frames decoded", file: file, line: line)
        for (i, f) in sequential.enumerated() {
            XCTAssertEqual(f.index, i, file: file, line: line)
            XCTAssertEqual(f.seconds, Double(i) / rate.value, accuracy: 1e-9, "time of frame \(i)", file: file, line: line)
            let errors = pictures.map { SyntheticMedia.meanAbsoluteError(f.image, $0) }
            XCTAssertLessThan(errors[i], 3.5, "frame \(i): mean abs error \(errors[i])/255", file: file, line: line)
            XCTAssertEqual(
                errors.firstIndex(of: errors.min()!), i, "frame \(i) is nearest to another picture: \(errors)",
                file: file, line: line)
        }
        guard sequential.count == n else { return }

        // Seeks land on the frame sequential decoding gives, byte for byte, and decoding goes on in order.
        for target in [7, 2, n - 1, 0, 7] {
            try reader.seek(toFrame: target)
            let f = try XCTUnwrap(try reader.nextFrame(), "frame \(target)", file: file, line: line)
            XCTAssertEqual(f.index, target, file: file, line: line)
            XCTAssertEqual(f.seconds, sequential[target].seconds, accuracy: 1e-9, file: file, line: line)
            XCTAssertTrue(f.image == sequential[target].image, "frame \(target) after a seek differs", file: file, line: line)
            if target + 1 < n {
                XCTAssertEqual(try reader.nextFrame()?.index, target + 1, file: file, line: line)
            }
        }
        // A time seek lands on the first frame at or after the time.
        for t in [0.25, 0.26, 0.0, 0.1, Double(n - 1) / rate.value] {
            let expected = try XCTUnwrap(sequential.firstIndex { $0.seconds >= t - 1e-9 }, file: file, line: line)
            try reader.seek(toSeconds: t)
            let f = try XCTUnwrap(try reader.nextFrame(), "time \(t)", file: file, line: line)
            XCTAssertEqual(f.index, expected, "time \(t)", file: file, line: line)
            XCTAssertTrue(f.image == sequential[expected].image, "time \(t)", file: file, line: line)
        }
        try reader.seek(toSeconds: 100)
        XCTAssertNil(try reader.nextFrame(), "past the end", file: file, line: line)
        XCTAssertThrowsError(try reader.seek(toFrame: n), file: file, line: line)
        try reader.seek(toFrame: 3)  // usable again after running off the end
        XCTAssertEqual(try reader.nextFrame()?.index, 3, file: file, line: line)
    }

    func testRawH264IsTimedByItsRateAndSeeks() throws {
        let (path, pictures) = try writeStream("clip.h264")
        try checkStream(path, pictures, rate: Rational(24, 1), container: "h264", codec: "h264")
        let reader = try VideoReader(path: path)
        XCTAssertEqual(reader.info.duration, 0.5)
        XCTAssertEqual(reader.info.timeBase, Rational(1, 24), "frame i has pts i")
        XCTAssertFalse(reader.info.isVariableFrameRate)
        try reader.seek(toSeconds: 0.25)
        XCTAssertEqual(try reader.nextFrame()?.index, 6)
        try reader.seek(toFrame: 7)
        let f = try XCTUnwrap(try reader.nextFrame())
        XCTAssertEqual(f.pts, 7)
        XCTAssertEqual(f.seconds, 7.0 / 24)
    }

    func testRawH264AtNTSCRateAndThe264Extension() throws {
        let rate = Rational(30000, 1001)
        let (path, pictures) = try writeStream("clip.264", rate: rate, settings: EncoderSettings(preset: "ultrafast"))
        try checkStream(path, pictures, rate: rate, container: "h264", codec: "h264")
    }

    func testRawHEVC() throws {
        guard VideoWriter.hasEncoder("libx265") else { throw XCTSkip("this FFmpeg has no libx265 encoder") }
        let (path, pictures) = try writeStream("clip.hevc", settings: EncoderSettings(preset: "fast", keyframeInterval: 5))
        try checkStream(path, pictures, rate: Rational(24, 1), container: "hevc", codec: "hevc")
    }

    func testMPEGTSWithAnOffsetStart() throws {
        // Live captures start anywhere: here the first frame is at 10 s of the broadcast's clock.
        let (path, pictures) = try writeStream("clip.ts", startSeconds: 10)
        try checkStream(path, pictures, rate: Rational(24, 1), container: "mpegts", codec: "h264")
        XCTAssertEqual(try VideoReader(path: path).info.timeBase, Rational(1, 90000))
    }

    func testMPEGTSAcrossTheClockWrap() throws {
        // MPEG-TS clocks wrap at 2^33 ticks of 90 kHz (26.5 h): this capture crosses the wrap at frame 5.
        let (path, pictures) = try writeStream("wrap.ts", startSeconds: 95443.5)
        try checkStream(path, pictures, rate: Rational(24, 1), container: "mpegts", codec: "h264")
    }

    func testMPEGTSWhoseDurationFFmpegCannotFind() throws {
        // FFmpeg looks for the last timestamps in the final 16 MB of a TS (and knows no duration when
        // they are not there, as in a capture that ends with stuffing): the frames' timestamps give it.
        let (path, pictures) = try writeStream("stuffed.ts", startSeconds: 3)
        var stuffing = [UInt8](repeating: 0xFF, count: 17_000_000 / 188 * 188)  // null packets (PID 0x1FFF)
        for at in stride(from: 0, to: stuffing.count, by: 188) { stuffing.replaceSubrange(at..<(at + 4), with: [0x47, 0x1F, 0xFF, 0x10]) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        handle.seekToEndOfFile()
        handle.write(Data(stuffing))
        try handle.close()
        try checkStream(path, pictures, rate: Rational(24, 1), container: "mpegts", codec: "h264")
    }

    func testRawStreamOutputLeavesTheAudioOut() throws {
        let wav = dir + "/tone.wav", path = dir + "/with-audio.h264"
        try Data(SyntheticMedia.wav(seconds: 0.5)).write(to: URL(fileURLWithPath: wav))
        try VideoWriter.with(
            path: path, width: 32, height: 32, frameRate: Rational(24, 1),
            settings: EncoderSettings(preset: "ultrafast"), audioFrom: wav
        ) { w in
            for i in 0..<3 { try w.write(SyntheticMedia.frame(width: 32, height: 32, index: i)) }
        }
        let reader = try VideoReader(path: path)
        XCTAssertEqual(reader.info.frameCount, 3)
        XCTAssertEqual(reader.info.audio, [], "a raw H.264 stream holds no audio")
    }

    func testBrokenRawStreamsAreRefusedWithOneLine() throws {
        func refused(_ bytes: [UInt8], _ name: String, file: StaticString = #filePath, line: UInt = #line) {
            let path = dir + "/" + name
            XCTAssertNoThrow(try Data(bytes).write(to: URL(fileURLWithPath: path)), file: file, line: line)
            XCTAssertThrowsError(try VideoReader(path: path), name, file: file, line: line) { error in
                XCTAssertTrue(error is VideoError, "not a VideoError: \(error)", file: file, line: line)
                let text = "\(error)"
                XCTAssertTrue(text.hasPrefix(path), "does not start with the path: \(text)", file: file, line: line)
                XCTAssertFalse(text.contains("\n"), "more than one line: \(text)", file: file, line: line)
            }
        }
        refused(SyntheticMedia.randomBytes(50_000), "random.h264")
        refused(Array("just some text, not a video\n".utf8), "text.h264")
        refused(SyntheticMedia.randomBytes(50_000, seed: 7), "random.ts")

        // A corrupted copy: fewer frames or a clear error, never a crash.
        let (good, _) = try writeStream("good.h264")
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: good)))
        let broken = dir + "/corrupted.h264"
        try Data(SyntheticMedia.corrupted(bytes)).write(to: URL(fileURLWithPath: broken))
        do {
            let reader = try VideoReader(path: broken)
            var count = 0
            while try reader.nextFrame() != nil { count += 1 }
            XCTAssertLessThanOrEqual(count, 12)
            if reader.info.frameCount > 7 { try reader.seek(toSeconds: 0.25) }
        } catch {
            XCTAssertTrue(error is VideoError, "\(error)")
            XCTAssertFalse("\(error)".contains("\n"), "\(error)")
        }
    }
}
