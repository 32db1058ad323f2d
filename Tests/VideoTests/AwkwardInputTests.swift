import Foundation
import TestSupport
import Video
import XCTest

/// Unusual but valid inputs are read correctly; broken ones are refused with a one-line VideoError.
final class AwkwardInputTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws { dir = try SyntheticMedia.temporaryDirectory("awkward") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func readAll(_ path: String) throws -> [VideoFrame] {
        let reader = try VideoReader(path: path)
        var frames: [VideoFrame] = []
        while let f = try reader.nextFrame() { frames.append(f) }
        return frames
    }

    /// The error is a VideoError naming the file, on one line.
    func assertRefused(_ path: String, mentioning words: String? = nil, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try readAll(path), file: file, line: line) { error in
            XCTAssertTrue(error is VideoError, "not a VideoError: \(error)", file: file, line: line)
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix(path), "does not start with the path: \(text)", file: file, line: line)
            XCTAssertFalse(text.contains("\n"), "more than one line: \(text)", file: file, line: line)
            if let words { XCTAssertTrue(text.contains(words), "'\(text)' lacks '\(words)'", file: file, line: line) }
        }
    }

    func write(_ bytes: [UInt8], _ name: String) -> String {
        let path = dir + "/" + name
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    func testRotationMetadataTurnsFramesUpright() throws {
        let plainPath = dir + "/plain.mp4", path = dir + "/rotated.mp4"
        try SyntheticMedia.writeClip(to: plainPath, width: 48, height: 32, count: 2, settings: EncoderSettings(preset: "ultrafast"))
        try SyntheticMedia.writeClip(
            to: path, width: 48, height: 32, count: 2,
            settings: EncoderSettings(preset: "ultrafast", rotation: 90))
        let reader = try VideoReader(path: path)
        XCTAssertEqual(reader.info.rotation, 90)
        XCTAssertEqual(reader.info.width, 32)
        XCTAssertEqual(reader.info.height, 48)
        let image = try XCTUnwrap(try reader.nextFrame()).image
        XCTAssertEqual(image.width, 32)
        XCTAssertEqual(image.height, 48)
        // Same bitstream as the unrotated clip (x264 is deterministic), shown turned: byte-identical.
        let plain = try XCTUnwrap(try VideoReader(path: plainPath).nextFrame()).image
        XCTAssertTrue(image == plain.rotated(clockwise: 90), "rotated frame differs from the plain frame turned 90°")
        // The red square (stored top-left) is now top-right.
        let (r, g, _) = image[32 - 2 - 4 - 2, 4 + 2]
        XCTAssertGreaterThan(Int(r), 180); XCTAssertLessThan(Int(g), 70)
    }

    func testSampleAspectRatioGivesSquarePixels() throws {
        let path = dir + "/anamorphic.mkv"
        try SyntheticMedia.writeClip(
            to: path, width: 32, height: 24, count: 2,
            settings: EncoderSettings(lossless: true, sampleAspectRatio: Rational(2, 1)))
        let reader = try VideoReader(path: path)
        XCTAssertEqual(reader.info.sampleAspectRatio, Rational(2, 1))
        XCTAssertEqual(reader.info.width, 64)
        XCTAssertEqual(try XCTUnwrap(try reader.nextFrame()).image.width, 64)
    }

    func testTenBitGrayAndOtherPixelFormats() throws {
        for format in ["yuv420p10le", "yuv422p", "yuv444p", "gray", "yuv444p16le"] {
            let path = dir + "/\(format).mkv"
            let written = try SyntheticMedia.writeClip(
                to: path, width: 96, height: 64, count: 3,
                settings: EncoderSettings(codec: "ffv1", pixelFormat: format))
            let reader = try VideoReader(path: path)
            XCTAssertEqual(reader.info.pixelFormat, format)
            let frames = try readAll(path)
            XCTAssertEqual(frames.count, 3, format)
            if format == "gray" {
                let p = frames[0].image[10, 10]
                XCTAssertTrue(p.0 == p.1 && p.1 == p.2, "gray decodes to equal channels: \(p)")
                let (r, g, b) = written[0][10, 10]
                let luma = 0.2126 * Double(r) + 0.7152 * Double(g) + 0.0722 * Double(b)
                XCTAssertEqual(Double(p.0), luma, accuracy: 4)
            } else {
                // Lossless codec: only RGB->YUV rounding, plus chroma subsampling at the squares' edges for 4:2:x.
                let mae = SyntheticMedia.meanAbsoluteError(frames[1].image, written[1])
                XCTAssertLessThan(mae, format.hasPrefix("yuv444") ? 0.6 : 3, "\(format): mean abs error \(mae)/255")
            }
        }
    }

    func testPaletteBMPAndFullRangeJPEG() throws {
        let palette: [(UInt8, UInt8, UInt8)] = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (250, 250, 250)]
        let indices = (0..<(6 * 5)).map { UInt8($0 % 4) }
        let path = write(SyntheticMedia.paletteBMP(width: 6, height: 5, palette: palette, indices: indices), "palette.bmp")
        XCTAssertEqual(try VideoReader(path: path).info.pixelFormat, "pal8")
        let image = try ImageFile.read(path: path)
        XCTAssertEqual(image.width, 6)
        for y in 0..<5 { for x in 0..<6 { XCTAssertTrue(image[x, y] == palette[Int(indices[y * 6 + x])], "pixel \(x),\(y)") } }
    }

    func testBrokenInputsAreRefusedWithOneLine() throws {
        assertRefused(write([], "empty.mp4"), mentioning: "empty")
        assertRefused(write(SyntheticMedia.randomBytes(100_000), "random.mp4"))
        assertRefused(write(Array("just some text, not a video\n".utf8), "text.mp4"))
        assertRefused(write(SyntheticMedia.wav(seconds: 0.5), "tone.wav"), mentioning: "no video stream")
        assertRefused(dir, mentioning: "directory")
        assertRefused(dir + "/missing.mp4", mentioning: "no such file")
        // A header claiming 20000x20000 (and 12000x12000, within the side limit): refused before any pixel buffer exists.
        assertRefused(
            write(SyntheticMedia.paletteBMP(width: 20000, height: 20000, palette: [], indices: []), "huge.bmp"),
            mentioning: "limit")
        assertRefused(
            write(SyntheticMedia.paletteBMP(width: 12000, height: 12000, palette: [], indices: []), "huge2.bmp"),
            mentioning: "limit")
    }

    func testTruncatedAndCorruptedCopiesDoNotCrash() throws {
        let good = dir + "/good.mp4"
        try SyntheticMedia.writeClip(to: good, width: 64, height: 48, count: 20, settings: EncoderSettings(preset: "ultrafast", keyframeInterval: 5))
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: good)))
        // Only the first 40 bytes: no moov atom.
        assertRefused(write(Array(bytes[0..<40]), "nomoov.mp4"))
        // Half the file (faststart puts moov first): fewer frames or a clear error, never a crash.
        let half = write(Array(bytes[0..<(bytes.count / 2)]), "truncated.mp4")
        do { let n = try readAll(half).count; XCTAssertLessThan(n, 20) } catch { XCTAssertTrue(error is VideoError, "\(error)") }
        let broken = write(SyntheticMedia.corrupted(bytes), "corrupted.mp4")
        do { let n = try readAll(broken).count; XCTAssertLessThanOrEqual(n, 20) } catch { XCTAssertTrue(error is VideoError, "\(error)") }
    }

    func testNamesWithSpacesUnicodeAndColon() throws {
        for name in ["with space.mkv", "ünïcødé 動画.mkv", "a:b.mkv", "file:c.mkv"] {
            let path = dir + "/" + name
            try SyntheticMedia.writeClip(to: path, width: 16, height: 16, count: 2, settings: EncoderSettings(lossless: true))
            XCTAssertTrue(FileManager.default.fileExists(atPath: path), name)
            XCTAssertEqual(try readAll(path).count, 2, name)
        }
    }

    func testRefusedAndAbandonedWritesLeaveNoFile() throws {
        let path = dir + "/out.mp4"
        XCTAssertThrowsError(try VideoWriter(path: path, width: 20000, height: 10, frameRate: Rational(25, 1))) {
            XCTAssertTrue("\($0)".contains("exceeds the limit"), "\($0)")
        }
        XCTAssertThrowsError(try VideoWriter(path: dir + "/out.avi", width: 16, height: 16, frameRate: Rational(25, 1)))
        XCTAssertThrowsError(try VideoWriter(path: dir + "/nodir/out.mp4", width: 16, height: 16, frameRate: Rational(25, 1)))
        struct Interrupted: Error {}
        XCTAssertThrowsError(
            try VideoWriter.with(path: path, width: 16, height: 16, frameRate: Rational(25, 1)) { w in
                try w.write(SyntheticMedia.frame(width: 16, height: 16, index: 0))
                throw Interrupted()
            })
        do {  // dropped without finish()
            let w = try VideoWriter(path: path, width: 16, height: 16, frameRate: Rational(25, 1))
            try w.write(SyntheticMedia.frame(width: 16, height: 16, index: 0))
        }
        do {  // interrupted: what a SIGINT handler does
            let w = try VideoWriter(path: path, width: 16, height: 16, frameRate: Rational(25, 1))
            try w.write(SyntheticMedia.frame(width: 16, height: 16, index: 0))
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).count, 1, "the hidden temp file")
            XCTAssertEqual(PartialFiles.removeAll(), 1)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [])
            XCTAssertThrowsError(try w.finish())
        }
        let empty = try VideoWriter(path: path, width: 16, height: 16, frameRate: Rational(25, 1))
        XCTAssertThrowsError(try empty.finish()) { XCTAssertTrue("\($0)".contains("no frames"), "\($0)") }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [], "leftover files")
    }
}
