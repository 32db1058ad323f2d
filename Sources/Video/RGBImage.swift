/// An 8-bit RGB picture, interleaved RGB24, rows tightly packed (stride = width*3). Square pixels, upright.
public struct RGBImage: Sendable, Equatable {
    /// Columns, in pixels.
    public var width: Int
    /// Rows, in pixels.
    public var height: Int
    /// width*height*3 bytes: R, G, B of each pixel, left to right, rows from the top.
    public var pixels: [UInt8]

    /// A picture holding `pixels`, which must be width*height*3 bytes (a precondition).
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 3, "RGBImage: pixels must hold width*height*3 bytes")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// A black picture.
    public init(width: Int, height: Int) {
        self.init(width: width, height: height, pixels: [UInt8](repeating: 0, count: width * height * 3))
    }

    /// The (r, g, b) at column x, row y.
    public subscript(x: Int, y: Int) -> (UInt8, UInt8, UInt8) {
        let i = (y * width + x) * 3
        return (pixels[i], pixels[i + 1], pixels[i + 2])
    }

    /// Pixel (x, y) of the result comes from source pixel `map(x, y)`; the result is w x h.
    func remapped(width w: Int, height h: Int, _ map: (Int, Int) -> (Int, Int)) -> RGBImage {
        var out = [UInt8](repeating: 0, count: w * h * 3)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<h {
                    for x in 0..<w {
                        let (sx, sy) = map(x, y)
                        let s = (sy * width + sx) * 3, d = (y * w + x) * 3
                        dst[d] = src[s]; dst[d + 1] = src[s + 1]; dst[d + 2] = src[s + 2]
                    }
                }
            }
        }
        return RGBImage(width: w, height: h, pixels: out)
    }

    /// Turned clockwise by `degrees` (a multiple of 90).
    public func rotated(clockwise degrees: Int) -> RGBImage {
        switch ((degrees % 360) + 360) % 360 {
        case 90: return remapped(width: height, height: width) { x, y in (y, height - 1 - x) }
        case 180: return remapped(width: width, height: height) { x, y in (width - 1 - x, height - 1 - y) }
        case 270: return remapped(width: height, height: width) { x, y in (width - 1 - y, x) }
        default: return self
        }
    }

    /// Mirrored left to right.
    public func flippedHorizontally() -> RGBImage {
        remapped(width: width, height: height) { x, y in (width - 1 - x, y) }
    }

    /// Grown to w x h (>= current size) by repeating the last column and row.
    public func padded(toWidth w: Int, height h: Int) -> RGBImage {
        if w == width && h == height { return self }
        return remapped(width: w, height: h) { x, y in (min(x, width - 1), min(y, height - 1)) }
    }
}
