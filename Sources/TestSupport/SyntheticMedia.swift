import Foundation
import Video

/// Test media made on the spot: frames with known content, clips written with `VideoWriter`,
/// and hand-built files (BMP, WAV, broken copies) for the awkward-input tests.
public enum SyntheticMedia {
    /// Side of the coloured squares of `squares` and `frame`, in pixels.
    public static let squareSize = 8

    /// Where the coloured squares of frame `index` sit: red moves right 2 px a frame, green and blue stay.
    public static func squares(width: Int, height: Int, index: Int) -> [(x: Int, y: Int, rgb: (UInt8, UInt8, UInt8))] {
        let s = squareSize
        return [
            ((2 + 2 * index) % max(1, width - s), 2, (230, 20, 20)),
            (width - s - 2, height - s - 2, (20, 220, 30)),
            (2, height - s - 2, (25, 30, 225))
        ]
    }

    /// Frame `index`: a smooth gradient sliding 3 px per frame (triangle wave: no hard edges) plus three squares.
    public static func frame(width: Int, height: Int, index: Int) -> RGBImage {
        var image = RGBImage(width: width, height: height)
        for y in 0..<height {
            for x in 0..<width {
                let t = (x + 3 * index) % 256
                let i = (y * width + x) * 3
                image.pixels[i] = UInt8(t < 128 ? 64 + t : 64 + 255 - t)
                image.pixels[i + 1] = UInt8(60 + 120 * y / max(1, height - 1))
                image.pixels[i + 2] = 128
            }
        }
        for square in squares(width: width, height: height, index: index) {
            for y in square.y..<min(height, square.y + squareSize) {
                for x in square.x..<min(width, square.x + squareSize) {
                    let i = (y * width + x) * 3
                    (image.pixels[i], image.pixels[i + 1], image.pixels[i + 2]) = square.rgb
                }
            }
        }
        return image
    }

    /// Writes `count` synthetic frames; `times` (seconds) makes them variable-rate.
    @discardableResult
    public static func writeClip(
        to path: String, width: Int, height: Int, count: Int, frameRate: Rational = Rational(25, 1),
        settings: EncoderSettings = EncoderSettings(preset: "ultrafast"), times: [Double]? = nil,
        metadata: [String: String] = [:]
    ) throws -> [RGBImage] {
        let frames = (0..<count).map { frame(width: width, height: height, index: $0) }
        try VideoWriter.with(path: path, width: width, height: height, frameRate: frameRate, settings: settings, metadata: metadata) { w in
            for (i, f) in frames.enumerated() { try w.write(f, seconds: times?[i]) }
        }
        return frames
    }

    /// Mean absolute difference per channel value (0...255) of two same-size pictures.
    public static func meanAbsoluteError(_ a: RGBImage, _ b: RGBImage) -> Double {
        precondition(a.width == b.width && a.height == b.height, "sizes differ: \(a.width)x\(a.height) vs \(b.width)x\(b.height)")
        var sum = 0
        for i in 0..<a.pixels.count { sum += abs(Int(a.pixels[i]) - Int(b.pixels[i])) }
        return Double(sum) / Double(a.pixels.count)
    }

    /// Largest channel difference at the centre of each square between the frame and its expected squares.
    public static func squareCentreError(_ image: RGBImage, index: Int) -> Int {
        squares(width: image.width, height: image.height, index: index).map { s in
            let (r, g, b) = image[s.x + squareSize / 2, s.y + squareSize / 2]
            return max(abs(Int(r) - Int(s.rgb.0)), abs(Int(g) - Int(s.rgb.1)), abs(Int(b) - Int(s.rgb.2)))
        }.max() ?? 0
    }

    /// A fresh empty directory under the system temp directory.
    public static func temporaryDirectory(_ name: String = "reverie-test") throws -> String {
        let dir = NSTemporaryDirectory() + "/\(name)-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// An uncompressed 8-bit palette BMP (bottom-up rows, 4-byte row padding), or a header claiming any size.
    public static func paletteBMP(width: Int, height: Int, palette: [(UInt8, UInt8, UInt8)], indices: [UInt8]) -> [UInt8] {
        let rowBytes = (width + 3) / 4 * 4
        let pixelBytes = indices.isEmpty ? 0 : rowBytes * height
        let offset = 14 + 40 + 256 * 4
        var b: [UInt8] = Array("BM".utf8) + le32(offset + pixelBytes) + le32(0) + le32(offset)
        b += le32(40) + le32(width) + le32(height) + le16(1) + le16(8) + le32(0) + le32(pixelBytes) + le32(2835) + le32(2835) + le32(256) + le32(0)
        for i in 0..<256 {
            let (r, g, bl) = i < palette.count ? palette[i] : (0, 0, 0)
            b += [bl, g, r, 0]
        }
        if !indices.isEmpty {
            for y in (0..<height).reversed() {
                b += indices[(y * width)..<(y * width + width)]
                b += [UInt8](repeating: 0, count: rowBytes - width)
            }
        }
        return b
    }

    /// A mono 16-bit PCM WAV file of a sine tone: audio only, no video.
    public static func wav(seconds: Double, sampleRate: Int = 8000) -> [UInt8] {
        let n = Int(seconds * Double(sampleRate))
        var b: [UInt8] = Array("RIFF".utf8) + le32(36 + 2 * n) + Array("WAVEfmt ".utf8)
        b += le32(16) + le16(1) + le16(1) + le32(sampleRate) + le32(2 * sampleRate) + le16(2) + le16(16)
        b += Array("data".utf8) + le32(2 * n)
        for i in 0..<n {
            let v = Int16(8000 * sin(2 * Double.pi * 440 * Double(i) / Double(sampleRate)))
            b += le16(Int(UInt16(bitPattern: v)))
        }
        return b
    }

    /// Deterministic pseudo-random bytes (xorshift64).
    public static func randomBytes(_ count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [UInt8] {
        var s = seed
        return (0..<count).map { _ in
            s ^= s << 13; s ^= s >> 7; s ^= s << 17
            return UInt8(truncatingIfNeeded: s)
        }
    }

    /// A copy of `bytes` with every 61st byte of the middle half inverted (a corrupted bitstream).
    public static func corrupted(_ bytes: [UInt8]) -> [UInt8] {
        var b = bytes
        for i in stride(from: b.count / 4, to: 3 * b.count / 4, by: 61) { b[i] ^= 0xFF }
        return b
    }

    static func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
    static func le16(_ v: Int) -> [UInt8] { (0..<2).map { UInt8((v >> (8 * $0)) & 0xFF) } }
}
