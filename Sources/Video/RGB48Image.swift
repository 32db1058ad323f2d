/// A 16-bit RGB picture: interleaved R, G, B values 0...65535 (native byte order, FFmpeg's RGB48),
/// rows tightly packed. For 16-bit PNG outputs, whose pictures are finer than 8 bits.
public struct RGB48Image: Sendable, Equatable {
    /// Width in pixels.
    public var width: Int
    /// Height in pixels.
    public var height: Int
    /// width × height × 3 values, row by row, R G B per pixel.
    public var pixels: [UInt16]

    /// A picture from its values; `pixels` must hold width × height × 3.
    public init(width: Int, height: Int, pixels: [UInt16]) {
        precondition(pixels.count == width * height * 3, "RGB48Image: pixels must hold width*height*3 values")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// An 8-bit picture widened exactly: v → v × 257 (255 → 65535), so `rgb8` gives it back.
    public init(_ image: RGBImage) {
        self.init(width: image.width, height: image.height, pixels: image.pixels.map { UInt16($0) &* 257 })
    }

    /// Rounded to 8 bits: round(v × 255 / 65535).
    public var rgb8: RGBImage {
        RGBImage(width: width, height: height, pixels: pixels.map { UInt8((UInt32($0) * 255 + 32767) / 65535) })
    }

    /// Grown to w x h (>= current size) by repeating the last column and row.
    func padded(toWidth w: Int, height h: Int) -> RGB48Image {
        if w == width && h == height { return self }
        var out = [UInt16](repeating: 0, count: w * h * 3)
        for y in 0..<h {
            for x in 0..<w {
                let s = (min(y, height - 1) * width + min(x, width - 1)) * 3, d = (y * w + x) * 3
                out[d] = pixels[s]; out[d + 1] = pixels[s + 1]; out[d + 2] = pixels[s + 2]
            }
        }
        return RGB48Image(width: w, height: h, pixels: out)
    }
}
