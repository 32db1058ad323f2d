import Foundation
import TestSupport
import Video
import XCTest

/// Animated GIF and WebP outputs of VideoWriter: written from synthetic frames, then read back.
final class AnimatedOutputTests: XCTestCase {
    let width = 64, height = 48, count = 12
    let rate = Rational(12, 1)
    var dir = ""
    override func setUpWithError() throws { dir = try SyntheticMedia.temporaryDirectory("animated") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func write(_ name: String, settings: EncoderSettings = .init()) throws -> (String, [RGBImage]) {
        let path = dir + "/" + name
        let frames = try SyntheticMedia.writeClip(
            to: path, width: width, height: height, count: count,
            frameRate: rate, settings: settings)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [name], "only the finished file is left")
        return (path, frames)
    }

    /// Error of the naive alternative: each channel rounded to the 6 levels of the 216-colour web palette, no dither.
    func webSafeError(_ image: RGBImage) -> Double {
        var sum = 0
        for v in image.pixels { sum += abs(Int(v) - (Int(v) + 25) / 51 * 51) }
        return Double(sum) / Double(image.pixels.count)
    }

    func testGIFHasAGoodGlobalPaletteTimingAndLoopsForever() throws {
        let (path, written) = try write("loop.gif")
        let reader = try VideoReader(path: path)
        XCTAssertEqual(reader.info.container, "gif")
        XCTAssertEqual(reader.info.width, width)
        XCTAssertEqual(reader.info.height, height)
        XCTAssertEqual(reader.info.frameCount, count)
        // GIF delays are whole centiseconds: 1/12 s becomes 8 or 9 cs, keeping the running time exact to 1 cs.
        XCTAssertEqual(reader.info.duration, 1.0, accuracy: 0.02)
        XCTAssertEqual(reader.info.frameRate.value, 12, accuracy: 0.1, "\(reader.info.frameRate)")
        var frames: [VideoFrame] = []
        while let f = try reader.nextFrame() { frames.append(f) }
        XCTAssertEqual(frames.count, count)
        var gifError = 0.0, naiveError = 0.0
        for (i, f) in frames.enumerated() {
            XCTAssertEqual(f.seconds, Double(i) / 12, accuracy: 0.0051, "frame \(i) time")
            XCTAssertEqual(f.image.width, width)
            let mae = SyntheticMedia.meanAbsoluteError(f.image, written[i])
            XCTAssertLessThan(SyntheticMedia.squareCentreError(f.image, index: i), 12, "frame \(i): square colours")
            gifError += mae / Double(count)
            naiveError += webSafeError(written[i]) / Double(count)
        }
        print("GIF mean abs error \(gifError)/255, web-safe palette \(naiveError)/255")
        // The frames hold ~2900 colours; 256 well-placed ones leave steps of a few levels, which
        // Floyd–Steinberg turns into noise of about half a step: 1.4/255 measured. 2.5 leaves room
        // yet fails a poor palette: the same quantiser limited to 32 colours gives 3.7.
        XCTAssertLessThan(gifError, 2.5)
        // The web palette's levels are 51 apart (mean error ~12/255 on these gradients).
        XCTAssertLessThan(gifError, naiveError / 2)

        // Loops forever: the NETSCAPE2.0 application extension with loop count 0.
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let marker = Array("NETSCAPE2.0".utf8)
        let at = (0..<(bytes.count - marker.count - 5)).first { Array(bytes[$0..<$0 + marker.count]) == marker }
        XCTAssertNotNil(at, "no looping extension")
        if let at { XCTAssertEqual(Array(bytes[(at + 11)..<(at + 15)]), [3, 1, 0, 0], "sub-block: loop count 0 = forever") }
    }

    func testGIFFailureLeavesNoFile() throws {
        let path = dir + "/broken.gif"
        XCTAssertThrowsError(
            try VideoWriter.with(path: path, width: width, height: height, frameRate: rate) { w in
                try w.write(SyntheticMedia.frame(width: width, height: height, index: 0))
                try w.write(SyntheticMedia.frame(width: width + 1, height: height, index: 1))  // wrong size
            }
        ) { XCTAssertTrue("\($0)".contains("broken.gif"), "\($0)") }
        let empty = try VideoWriter(path: dir + "/empty.gif", width: width, height: height, frameRate: rate)
        XCTAssertThrowsError(try empty.finish()) { XCTAssertTrue("\($0)".contains("no frames"), "\($0)") }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [])
    }

    func testVariableTimingAndOddSizesInBothFormats() throws {
        let times = [0, 0.1, 0.3, 0.35, 0.6]
        let settings = EncoderSettings(timeBase: Rational(1, 1000))
        for name in ["odd.gif", "odd.webp"] {
            let path = dir + "/" + name
            try SyntheticMedia.writeClip(
                to: path, width: 33, height: 21, count: times.count, frameRate: rate,
                settings: settings, times: times)
            if name.hasSuffix(".gif") {
                let reader = try VideoReader(path: path)
                XCTAssertEqual(reader.info.width, 33)
                XCTAssertEqual(reader.info.height, 21)
                var seconds: [Double] = []
                while let f = try reader.nextFrame() { seconds.append(f.seconds) }
                XCTAssertEqual(seconds.count, times.count)
                for (s, t) in zip(seconds, times) { XCTAssertEqual(s, t, accuracy: 0.006, name) }
            } else {
                let file = try WebPFile(bytes: [UInt8](Data(contentsOf: URL(fileURLWithPath: path))))
                XCTAssertEqual(file.canvas.width, 33)
                XCTAssertEqual(file.canvas.height, 21)
                XCTAssertEqual(file.frames.count, times.count)
                XCTAssertEqual(file.frames.prefix(4).map(\.duration), [100, 200, 50, 250], name)
            }
        }
    }

    /// FFmpeg 5.1 cannot decode animated WebP (its webp decoder skips ANIM/ANMF), so the file is
    /// checked by walking its RIFF chunks, and each frame's bitstream is decoded on its own.
    func testWebPIsAnAnimationOfTheRightFramesAndTiming() throws {
        let (path, written) = try write("loop.webp")
        let file = try WebPFile(bytes: [UInt8](Data(contentsOf: URL(fileURLWithPath: path))))
        XCTAssertEqual(file.canvas.width, width)
        XCTAssertEqual(file.canvas.height, height)
        XCTAssertEqual(file.loopCount, 0, "loops forever")
        XCTAssertEqual(file.frames.count, count)
        // Durations are whole milliseconds: 83 or 84, adding up to one second.
        XCTAssertEqual(file.frames.map(\.duration).reduce(0, +), 1000, accuracy: 2)
        for f in file.frames { XCTAssertEqual(Double(f.duration), 1000 / 12, accuracy: 1) }

        // Rebuild the pictures: libwebp may store only the changed rectangle of a frame.
        var canvas = RGBImage(width: width, height: height)
        var worst = 0.0
        for (i, f) in file.frames.enumerated() {
            XCTAssertFalse(f.hasAlpha, "frame \(i): opaque input should give opaque frames")
            let piecePath = dir + "/frame\(i).webp"
            try Data(f.standalone()).write(to: URL(fileURLWithPath: piecePath))
            let piece = try ImageFile.read(path: piecePath)
            XCTAssertEqual(piece.width, f.width)
            XCTAssertEqual(piece.height, f.height)
            for y in 0..<f.height {
                for x in 0..<f.width {
                    let s = (y * f.width + x) * 3, d = ((f.y + y) * width + f.x + x) * 3
                    canvas.pixels[d..<d + 3] = piece.pixels[s..<s + 3]
                }
            }
            // Quality 90 lossy WebP (4:2:0): a few levels off on gradients, more at the squares' edges.
            let mae = SyntheticMedia.meanAbsoluteError(canvas, written[i])
            XCTAssertLessThan(mae, 4, "frame \(i): mean abs error \(mae)/255")
            worst = max(worst, mae)
            XCTAssertLessThan(SyntheticMedia.squareCentreError(canvas, index: i), 24, "frame \(i): square colours")
        }
        print("WebP worst frame mean abs error \(worst)/255")
    }
}

/// The chunks of an animated WebP file that the test needs (RIFF, little-endian, even-padded chunks).
struct WebPFile {
    struct Frame {
        var x: Int, y: Int, width: Int, height: Int, duration: Int
        var chunks: [(tag: String, data: ArraySlice<UInt8>)]
        var hasAlpha: Bool { chunks.contains { $0.tag == "ALPH" } }

        /// The frame as a still WebP file (its VP8/VP8L chunk alone).
        func standalone() -> [UInt8] {
            var body = Array("WEBP".utf8)
            for c in chunks where c.tag == "VP8 " || c.tag == "VP8L" { body += WebPFile.chunk(c.tag, c.data) }
            return Array("RIFF".utf8) + le(body.count, 4) + body
        }
    }

    var canvas = (width: 0, height: 0)
    var loopCount = -1
    var frames: [Frame] = []

    struct Malformed: Error {}

    init(bytes: [UInt8]) throws {
        guard bytes.count >= 12, Array(bytes[0..<4]) == Array("RIFF".utf8), Array(bytes[8..<12]) == Array("WEBP".utf8) else {
            throw Malformed()
        }
        for (tag, data) in try WebPFile.chunks(bytes[12...]) {
            let d = Array(data)
            switch tag {
            case "VP8X": canvas = (u(d, 4, 3) + 1, u(d, 7, 3) + 1)
            case "ANIM": loopCount = u(d, 4, 2)
            case "ANMF":
                frames.append(
                    Frame(
                        x: 2 * u(d, 0, 3), y: 2 * u(d, 3, 3), width: u(d, 6, 3) + 1, height: u(d, 9, 3) + 1,
                        duration: u(d, 12, 3), chunks: try WebPFile.chunks(data.dropFirst(16))))
            default: break
            }
        }
    }

    static func chunks(_ bytes: ArraySlice<UInt8>) throws -> [(tag: String, data: ArraySlice<UInt8>)] {
        var out: [(String, ArraySlice<UInt8>)] = []
        var p = bytes.startIndex
        while p + 8 <= bytes.endIndex {
            let tag = String(decoding: bytes[p..<p + 4], as: UTF8.self)
            let size = Int(bytes[p + 4]) | Int(bytes[p + 5]) << 8 | Int(bytes[p + 6]) << 16 | Int(bytes[p + 7]) << 24
            guard p + 8 + size <= bytes.endIndex else { throw Malformed() }
            out.append((tag, bytes[(p + 8)..<(p + 8 + size)]))
            p += 8 + (size + 1) / 2 * 2
        }
        return out
    }

    static func chunk(_ tag: String, _ data: ArraySlice<UInt8>) -> [UInt8] {
        Array(tag.utf8) + le(data.count, 4) + data + (data.count % 2 == 1 ? [0] : [])
    }
}

private func u(_ d: [UInt8], _ at: Int, _ n: Int) -> Int {
    (0..<n).reduce(0) { $0 | Int(d[at + $1]) << (8 * $1) }
}

private func le(_ v: Int, _ n: Int) -> [UInt8] { (0..<n).map { UInt8((v >> (8 * $0)) & 0xFF) } }
