import Foundation
import TestSupport
import Video
import XCTest

final class StillTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws { dir = try SyntheticMedia.temporaryDirectory("still") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    let json = #"{"preset":"deep","steps":10,"note":"ünïcode"}"#

    func testPNGRoundTripIsExactAndKeepsMetadata() throws {
        let image = SyntheticMedia.frame(width: 41, height: 23, index: 3)
        let path = dir + "/still.png"
        let ascii = #"{"preset":"deep"}"#
        try ImageFile.write(image, to: path, metadata: ["reverie": json, "Software": "Reverie", "plain": ascii])
        XCTAssertEqual(try ImageFile.read(path: path), image)
        let meta = try ImageFile.readMetadata(path: path)
        XCTAssertEqual(meta["reverie"], json)
        XCTAssertEqual(meta["Software"], "Reverie")
        XCTAssertEqual(meta["plain"], ascii)
        // Non-ASCII goes to iTXt (tEXt is Latin-1); FFmpeg's PNG reader must still accept the file.
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertNotNil(bytes.indices.first { Array(bytes[$0..<min($0 + 4, bytes.count)]) == Array("iTXt".utf8) })
        XCTAssertEqual(try VideoReader(path: path).info.isStill, true)
    }

    func testJPEGRoundTripIsCloseAndKeepsMetadata() throws {
        let image = SyntheticMedia.frame(width: 64, height: 48, index: 0)
        let path = dir + "/still.jpg"
        try ImageFile.write(image, to: path, metadata: ["reverie": json])
        let back = try ImageFile.read(path: path)
        // Quality 2 JPEG with 4:2:0 chroma: a wrong range or matrix would be off by 10+.
        XCTAssertLessThan(SyntheticMedia.meanAbsoluteError(back, image), 3)
        XCTAssertEqual(try ImageFile.readMetadata(path: path)["reverie"], json)
    }

    func testJPEGExifOrientationIsHonoured() throws {
        let image = SyntheticMedia.frame(width: 48, height: 32, index: 0)
        let plain = dir + "/plain.jpg"
        try ImageFile.write(image, to: plain)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: plain)))
        // APP1 Exif with one IFD0 entry: Orientation (0x0112, SHORT) = 6, "rotate 90° clockwise to view".
        let tiff: [UInt8] = [
            0x49, 0x49, 0x2A, 0x00, 0x08, 0, 0, 0, 0x01, 0x00,
            0x12, 0x01, 0x03, 0x00, 0x01, 0, 0, 0, 0x06, 0x00, 0, 0, 0, 0, 0, 0
        ]
        let payload = Array("Exif".utf8) + [0, 0] + tiff
        let length = payload.count + 2
        bytes.insert(contentsOf: [0xFF, 0xE1, UInt8(length >> 8), UInt8(length & 0xFF)] + payload, at: 2)
        let path = dir + "/exif6.jpg"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let back = try ImageFile.read(path: path)
        XCTAssertEqual(back.width, 32)
        XCTAssertEqual(back.height, 48)
        // Same decode as the plain file, turned: byte-identical.
        XCTAssertEqual(back, try ImageFile.read(path: plain).rotated(clockwise: 90))
    }

    func testSamplePNGs() throws {
        let chelsea = Samples.path("chelsea.png")
        guard FileManager.default.fileExists(atPath: chelsea) else { throw XCTSkip("samples not fetched") }
        let image = try ImageFile.read(path: chelsea)
        XCTAssertEqual(image.width, 451)
        XCTAssertEqual(image.height, 300)
        let astronaut = try ImageFile.read(path: Samples.path("astronaut.png"))
        XCTAssertEqual(astronaut.width, 512)
        XCTAssertEqual(astronaut.height, 512)
    }

    func testBadStillsAreRefused() throws {
        XCTAssertThrowsError(try ImageFile.write(RGBImage(width: 4, height: 4), to: dir + "/x.gif"))
        XCTAssertThrowsError(try ImageFile.write(RGBImage(width: 4, height: 4), to: dir + "/nodir/x.png"))
        let text = dir + "/text.png"
        FileManager.default.createFile(atPath: text, contents: Data("hello".utf8))
        XCTAssertThrowsError(try ImageFile.read(path: text)) { XCTAssertTrue($0 is VideoError, "\($0)") }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["text.png"])
    }
}

enum Samples {
    static func path(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("samples/\(name)").path
    }
}
