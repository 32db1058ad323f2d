import Foundation
import TestSupport
import Video
import XCTest

/// A seek lands exactly on the frame sequential decoding gives, byte for byte.
final class SeekTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws { dir = try SyntheticMedia.temporaryDirectory("seek") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func checkSeeks(_ path: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let reader = try VideoReader(path: path)
        var sequential: [VideoFrame] = []
        while let f = try reader.nextFrame() { sequential.append(f) }
        XCTAssertEqual(sequential.count, reader.info.frameCount, file: file, line: line)
        for target in [17, 0, 29, 5, 6, 12, 29, 1] {
            try reader.seek(toFrame: target)
            let f = try XCTUnwrap(try reader.nextFrame(), file: file, line: line)
            XCTAssertEqual(f.index, target, file: file, line: line)
            XCTAssertEqual(f.pts, sequential[target].pts, file: file, line: line)
            XCTAssertTrue(f.image == sequential[target].image, "frame \(target) after seek differs", file: file, line: line)
            // Decoding continues in order after a seek.
            if target + 1 < sequential.count {
                XCTAssertTrue(try reader.nextFrame()?.image == sequential[target + 1].image, file: file, line: line)
            }
        }
        // Time seeks land on the first frame at or after the time.
        for t in [0.0, 0.5, 0.51, 1.13] {
            try reader.seek(toSeconds: t)
            let f = try XCTUnwrap(try reader.nextFrame(), file: file, line: line)
            let expected = try XCTUnwrap(sequential.first { $0.seconds >= t - 1e-9 })
            XCTAssertEqual(f.index, expected.index, "time \(t)", file: file, line: line)
            XCTAssertTrue(f.image == expected.image, "time \(t)", file: file, line: line)
        }
        try reader.seek(toSeconds: 100)
        XCTAssertNil(try reader.nextFrame(), file: file, line: line)
        XCTAssertThrowsError(try reader.seek(toFrame: 30), file: file, line: line)
    }

    func testSeekInH264WithBFramesAndShortGOPs() throws {
        let path = dir + "/gop.mp4"
        try SyntheticMedia.writeClip(
            to: path, width: 64, height: 48, count: 30,
            settings: EncoderSettings(preset: "medium", keyframeInterval: 8))
        try checkSeeks(path)
    }

    func testSeekInVP9WebM() throws {
        let path = dir + "/gop.webm"
        try SyntheticMedia.writeClip(
            to: path, width: 64, height: 48, count: 30,
            settings: EncoderSettings(preset: "fast", keyframeInterval: 10))
        try checkSeeks(path)
    }
}
