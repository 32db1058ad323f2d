import Foundation
import TestSupport
import Video
import XCTest

/// Synthetic clips written with VideoWriter and read back with VideoReader.
final class RoundTripTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws { dir = try SyntheticMedia.temporaryDirectory("roundtrip") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func readAll(_ path: String) throws -> (VideoReader, [VideoFrame]) {
        let reader = try VideoReader(path: path)
        var frames: [VideoFrame] = []
        while let f = try reader.nextFrame() { frames.append(f) }
        return (reader, frames)
    }

    func testLosslessFFV1IsExact() throws {
        let path = dir + "/lossless.mkv"
        let written = try SyntheticMedia.writeClip(
            to: path, width: 48, height: 32, count: 10,
            settings: EncoderSettings(lossless: true))
        let (reader, frames) = try readAll(path)
        XCTAssertEqual(reader.info.videoCodec, "ffv1")
        XCTAssertEqual(reader.info.frameCount, 10)
        XCTAssertEqual(frames.count, 10)
        XCTAssertEqual(reader.info.frameRate, Rational(25, 1))
        for (i, f) in frames.enumerated() {
            XCTAssertEqual(f.index, i)
            XCTAssertEqual(f.seconds, Double(i) / 25, accuracy: 1e-3)  // Matroska stores milliseconds
            XCTAssertEqual(f.image, written[i], "frame \(i) differs after a lossless round trip")
        }
    }

    func testH264MP4KeepsRationalRateTimestampsAndPixels() throws {
        let path = dir + "/clip.mp4"
        let rate = Rational(30000, 1001)
        let written = try SyntheticMedia.writeClip(
            to: path, width: 64, height: 48, count: 12, frameRate: rate,
            settings: EncoderSettings(crf: 18, preset: "fast"))
        let (reader, frames) = try readAll(path)
        XCTAssertEqual(reader.info.container, "mov,mp4,m4a,3gp,3g2,mj2")
        XCTAssertEqual(reader.info.frameRate, rate)
        XCTAssertEqual(reader.info.frameCount, 12)
        XCTAssertEqual(frames.count, 12)
        XCTAssertEqual(reader.info.duration, 12 * 1001 / 30000, accuracy: 1e-3)
        for (i, f) in frames.enumerated() {
            XCTAssertEqual(f.seconds, Double(i) * 1001 / 30000, accuracy: 1e-4)
            // CRF 18 plus 4:2:0 chroma halving: small everywhere, larger only at square edges.
            let mae = SyntheticMedia.meanAbsoluteError(f.image, written[i])
            XCTAssertLessThan(mae, 3.5, "frame \(i): mean abs error \(mae)/255")
            XCTAssertLessThan(SyntheticMedia.squareCentreError(f.image, index: i), 24, "frame \(i): square colours")
        }
    }

    func testWebMVP9AndMOVAndMKVContainers() throws {
        for (name, codec) in [("clip.webm", "vp9"), ("clip.mov", "h264"), ("clip.mkv", "h264")] {
            let path = dir + "/" + name
            let written = try SyntheticMedia.writeClip(to: path, width: 64, height: 48, count: 8, frameRate: Rational(24, 1))
            let (reader, frames) = try readAll(path)
            XCTAssertEqual(reader.info.videoCodec, codec, name)
            XCTAssertEqual(frames.count, 8, name)
            XCTAssertEqual(reader.info.frameCount, 8, name)
            XCTAssertEqual(reader.info.frameRate, Rational(24, 1), name)
            XCTAssertEqual(frames.last?.seconds ?? 0, 7.0 / 24, accuracy: 1e-3, name)
            let mae = SyntheticMedia.meanAbsoluteError(frames[3].image, written[3])
            XCTAssertLessThan(mae, 4, "\(name): mean abs error \(mae)/255")
        }
    }

    func testOddSizeIsPaddedByOnePixel() throws {
        let path = dir + "/odd.mp4"
        let written = try SyntheticMedia.writeClip(to: path, width: 97, height: 65, count: 3)
        let (reader, frames) = try readAll(path)
        XCTAssertEqual(reader.info.width, 98)
        XCTAssertEqual(reader.info.height, 66)
        XCTAssertEqual(frames.count, 3)
        // The original region is intact; the added column repeats the last one.
        let back = frames[1].image
        var cropped = RGBImage(width: 97, height: 65)
        for y in 0..<65 {
            for x in 0..<97 { let p = back[x, y]; let i = (y * 97 + x) * 3; (cropped.pixels[i], cropped.pixels[i + 1], cropped.pixels[i + 2]) = p }
        }
        XCTAssertLessThan(SyntheticMedia.meanAbsoluteError(cropped, written[1]), 3.5)
        XCTAssertLessThan(abs(Int(back[97, 30].0) - Int(back[96, 30].0)), 8)
    }

    func testVariableFrameRateTimesSurvive() throws {
        let times = [0, 0.04, 0.1, 0.13, 0.3, 0.31]
        for (name, settings) in [
            ("vfr.mkv", EncoderSettings(lossless: true, timeBase: Rational(1, 1000))),
            ("vfr.mp4", EncoderSettings(preset: "ultrafast", timeBase: Rational(1, 90000)))
        ] {
            let path = dir + "/" + name
            try SyntheticMedia.writeClip(to: path, width: 32, height: 32, count: times.count, settings: settings, times: times)
            let (reader, frames) = try readAll(path)
            XCTAssertEqual(frames.map(\.seconds).count, times.count, name)
            for (f, t) in zip(frames, times) { XCTAssertEqual(f.seconds, t, accuracy: 1e-3, name) }
            XCTAssertTrue(reader.info.isVariableFrameRate, name)
            XCTAssertEqual(reader.info.frameCount, times.count, name)
        }
    }

    func testContainerMetadataIsWrittenAndRead() throws {
        let json = #"{"preset":"deep","octaves":4}"#
        for name in ["meta.mp4", "meta.mkv", "meta.mov"] {
            let path = dir + "/" + name
            try SyntheticMedia.writeClip(to: path, width: 32, height: 32, count: 2, metadata: ["reverie": json])
            XCTAssertEqual(try VideoReader(path: path).info.metadata["reverie"], json, name)
        }
    }

    func testFrameRateAndSizeMismatchesAreRefused() throws {
        let path = dir + "/bad.mp4"
        let w = try VideoWriter(path: path, width: 32, height: 32, frameRate: Rational(25, 1))
        XCTAssertThrowsError(try w.write(RGBImage(width: 16, height: 16))) { XCTAssertTrue("\($0)".contains("writer expects 32x32"), "\($0)") }
        w.cancel()
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        XCTAssertThrowsError(try VideoWriter(path: path, width: 32, height: 32, frameRate: Rational(0, 1)))
    }
}
