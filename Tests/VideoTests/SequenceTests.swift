import Foundation
import TestSupport
import Video
import XCTest

/// Numbered image sequences (`frames/%05d.png`) through FFmpeg's image2 muxer and demuxer.
final class SequenceTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws { dir = try SyntheticMedia.temporaryDirectory("sequence") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    let ntsc = Rational(24000, 1001)

    func files(_ folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
    }

    /// A 16-bit picture whose values are not 8-bit ones widened (v × 257): odd, fine steps.
    func deepFrame(width: Int, height: Int, index: Int) -> RGB48Image {
        var pixels = [UInt16](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let i = (y * width + x) * 3
                pixels[i] = UInt16((x * 1021 + index * 77 + 1) % 65536)
                pixels[i + 1] = UInt16((y * 2039 + index * 5 + 3) % 65536)
                pixels[i + 2] = UInt16((x * y * 13 + index) % 65536)
            }
        }
        return RGB48Image(width: width, height: height, pixels: pixels)
    }

    func testEightBitPNGSequenceRoundTripsExactlyAtAnNTSCRate() throws {
        let pattern = dir + "/frames/%05d.png"
        let written = try SyntheticMedia.writeClip(to: pattern, width: 48, height: 32, count: 12, frameRate: ntsc)
        XCTAssertEqual(files(dir + "/frames"), (1...12).map { String(format: "%05d.png", $0) }, "numbered from 1, as FFmpeg's image2 muxer")
        XCTAssertEqual(files(dir), ["frames"], "no partial folder left beside it")

        let reader = try VideoReader(path: pattern, sequenceRate: ntsc)
        XCTAssertEqual(reader.info.container, "image2")
        XCTAssertTrue(reader.info.isSequence)
        XCTAssertFalse(reader.info.isStill)
        XCTAssertEqual(reader.info.videoCodec, "png")
        XCTAssertEqual(reader.info.pixelFormat, "rgb24")
        XCTAssertEqual(reader.info.frameCount, 12)
        XCTAssertEqual(reader.info.frameRate, ntsc)
        XCTAssertEqual(reader.info.timeBase, Rational(1001, 24000))
        XCTAssertEqual(reader.info.duration, 12 * 1001 / 24000, accuracy: 1e-12)
        var n = 0
        while let f = try reader.nextFrame() {
            XCTAssertEqual(f.index, n)
            XCTAssertEqual(f.pts, Int64(n), "frame i at pts i in 1001/24000")
            XCTAssertEqual(f.seconds, Double(n) * 1001 / 24000, accuracy: 1e-12)
            XCTAssertEqual(f.image, written[n], "frame \(n) is not exact")
            n += 1
        }
        XCTAssertEqual(n, 12)
        // Seeks land on exact frames, by number and by time.
        try reader.seek(toFrame: 7)
        XCTAssertEqual(try XCTUnwrap(reader.nextFrame()).image, written[7])
        try reader.seek(toSeconds: 5 * 1001 / 24000)
        let f5 = try XCTUnwrap(reader.nextFrame())
        XCTAssertEqual(f5.index, 5)
        XCTAssertEqual(f5.image, written[5])
        // The default rate is FFmpeg's image2 default, 25.
        XCTAssertEqual(try VideoReader(path: pattern).info.frameRate, Rational(25, 1))
    }

    func testSixteenBitPNGSequenceAndFFV1RoundTripExactly() throws {
        let frames = (0..<5).map { deepFrame(width: 40, height: 24, index: $0) }
        for path in [dir + "/deep/%03d.png", dir + "/deep.mkv"] {
            let settings = EncoderSettings(lossless: path.hasSuffix(".mkv"), depth: 16)
            try VideoWriter.with(path: path, width: 40, height: 24, frameRate: ntsc, settings: settings) { w in
                XCTAssertEqual(w.depth, 16)
                for f in frames { try w.write(f) }
            }
            let reader = try VideoReader(path: path, sequenceRate: ntsc, sixteenBit: true)
            XCTAssertEqual(reader.info.pixelFormat, path.hasSuffix(".mkv") ? "gbrp16le" : "rgb48be")
            XCTAssertEqual(reader.info.frameCount, 5)
            var n = 0
            while let f = try reader.nextFrame() {
                let deep = try XCTUnwrap(f.image16)
                XCTAssertEqual(deep, frames[n], "\(path): frame \(n) is not exact at 16 bits")
                XCTAssertLessThanOrEqual(
                    zip(f.image.pixels, frames[n].rgb8.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 0, 1, "the 8-bit picture is its rounding")
                n += 1
            }
            XCTAssertEqual(n, 5)
        }
        XCTAssertEqual(files(dir + "/deep"), ["001.png", "002.png", "003.png", "004.png", "005.png"])
        // 8-bit pictures written at 16 bits are widened exactly (v × 257) and read back as they were.
        let eight = SyntheticMedia.frame(width: 40, height: 24, index: 2)
        try VideoWriter.with(path: dir + "/wide/%d.png", width: 40, height: 24, frameRate: ntsc, settings: EncoderSettings(depth: 16)) {
            try $0.write(eight)
        }
        let f = try XCTUnwrap(try VideoReader(path: dir + "/wide/%d.png", sixteenBit: true).nextFrame())
        XCTAssertEqual(f.image16, RGB48Image(eight))
        // The 8-bit picture of a 16-bit file is swscale's, as before sequences (off by 1 in places).
        XCTAssertLessThanOrEqual(zip(f.image.pixels, eight.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 0, 1)
    }

    func testStartNumbersAreFollowedWhereverTheSequenceStarts() throws {
        for start in [0, 1001] {
            let pattern = dir + "/s\(start)/f%04d.png"
            let written = try SyntheticMedia.writeClip(
                to: pattern, width: 16, height: 16, count: 3, frameRate: Rational(24, 1),
                settings: EncoderSettings(startNumber: start))
            XCTAssertEqual(files(dir + "/s\(start)"), (start..<(start + 3)).map { String(format: "f%04d.png", $0) })
            let reader = try VideoReader(path: pattern, sequenceRate: Rational(24, 1))
            XCTAssertEqual(reader.info.frameCount, 3)
            XCTAssertEqual(try XCTUnwrap(reader.nextFrame()).image, written[0], "starts at its first file, \(start)")
        }
    }

    func testRefusedAndFailedWritesLeaveNothing() throws {
        let image = SyntheticMedia.frame(width: 16, height: 16, index: 0)
        func refuses(_ path: String, _ fragment: String, line: UInt = #line) {
            XCTAssertThrowsError(try VideoWriter(path: path, width: 16, height: 16, frameRate: Rational(25, 1)), line: line) {
                XCTAssertTrue("\($0)".contains(fragment), "\($0)", line: line)
            }
        }
        refuses(dir + "/frames/out.png", "no frame number")
        refuses(dir + "/frames/%d-%d.png", "more than one frame number")
        refuses(dir + "/no/such/%05d.png", "does not exist")
        refuses(dir + "/%05d%.png", "%")
        XCTAssertEqual(files(dir), [], "nothing created")

        // Cancelled: the partial folder goes, nothing appears.
        let w = try VideoWriter(path: dir + "/cancelled/%05d.png", width: 16, height: 16, frameRate: Rational(25, 1))
        try w.write(image)
        XCTAssertEqual(files(dir).filter { $0.contains(".partial-") }.count, 1, "frames go to a hidden folder first")
        w.cancel()
        XCTAssertEqual(files(dir), [])

        // A folder with other files in it is not replaced, and keeps them.
        try FileManager.default.createDirectory(atPath: dir + "/mine", withIntermediateDirectories: true)
        try Data("notes".utf8).write(to: URL(fileURLWithPath: dir + "/mine/notes.txt"))
        let m = try VideoWriter(path: dir + "/mine/%05d.png", width: 16, height: 16, frameRate: Rational(25, 1))
        try m.write(image)
        XCTAssertThrowsError(try m.finish()) { XCTAssertTrue("\($0)".contains("notes.txt"), "\($0)") }
        XCTAssertEqual(files(dir + "/mine"), ["notes.txt"])
        XCTAssertEqual(files(dir), ["mine"], "no partial folder left")

        // An empty folder (as FFmpeg needs one) takes the frames; an earlier sequence is replaced whole.
        try FileManager.default.createDirectory(atPath: dir + "/empty", withIntermediateDirectories: true)
        try SyntheticMedia.writeClip(to: dir + "/empty/%05d.png", width: 16, height: 16, count: 4)
        XCTAssertEqual(files(dir + "/empty").count, 4)
        try VideoWriter.with(path: dir + "/empty/%05d.png", width: 16, height: 16, frameRate: Rational(25, 1)) { w in
            try w.write(image)
            try w.attach(fileNamed: "timing.json", contents: Data("{}".utf8))
        }
        XCTAssertEqual(files(dir + "/empty"), ["00001.png", "timing.json"], "the old frames 2...4 are gone with the old folder")
        XCTAssertEqual(files(dir).sorted(), ["empty", "mine"])
    }

    func testMissingOrBrokenSequencesSayWhatIsWrong() throws {
        func fails(_ path: String, _ fragments: [String], line: UInt = #line) {
            XCTAssertThrowsError(try VideoReader(path: path), line: line) { error in
                for f in fragments { XCTAssertTrue("\(error)".contains(f), "\(error) should mention \(f)", line: line) }
                XCTAssertFalse("\(error)".contains("\n"), line: line)
            }
        }
        fails(dir + "/nowhere/%05d.png", ["nowhere/%05d.png", "no such folder"])
        try FileManager.default.createDirectory(atPath: dir + "/empty", withIntermediateDirectories: true)
        fails(dir + "/empty/%05d.png", ["empty/%05d.png", "no such file", "00001.png"])
        try SyntheticMedia.writeClip(to: dir + "/gap/%03d.png", width: 16, height: 16, count: 6)
        try FileManager.default.removeItem(atPath: dir + "/gap/004.png")
        fails(dir + "/gap/%03d.png", ["004.png is missing"])
        try Data("not a png".utf8).write(to: URL(fileURLWithPath: dir + "/gap/004.png"))
        let reader = try VideoReader(path: dir + "/gap/%03d.png")
        var decoded = 0
        while (try? reader.nextFrame()) != nil { decoded += 1 }
        XCTAssertEqual(decoded, 5, "a broken file is skipped like a corrupt packet")
    }

    func testPatternsAreParsedAsFFmpegDoes() throws {
        XCTAssertTrue(FrameSequence.isPattern("frames/%05d.png"))
        XCTAssertTrue(FrameSequence.isPattern("a/b_%d.jpg"))
        XCTAssertFalse(FrameSequence.isPattern("frames/00001.png"))
        XCTAssertFalse(FrameSequence.isPattern("clip%05d.mp4"), "videos are files, whatever their names")
        let s = try FrameSequence(pattern: "out/shot%%_%4d.png")
        XCTAssertEqual(s.folder, "out")
        XCTAssertEqual(s.name(number: 7), "shot%_0007.png")
        XCTAssertEqual(s.path(number: 12345), "out/shot%_12345.png")
        XCTAssertEqual(s.number(ofFileNamed: "shot%_0042.png"), 42)
        XCTAssertNil(s.number(ofFileNamed: "shot%_42.png"), "not as FFmpeg would name frame 42")
        XCTAssertEqual(try FrameSequence(pattern: "%d.png").folder, ".")
    }
}
