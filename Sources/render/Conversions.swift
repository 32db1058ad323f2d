import Dream
import Video

// The one place where the two worlds meet: decoded 8-bit RGB pictures ↔ float tensors.

/// Interleaved RGB24 → (1, 3, H, W) in [0, 1].
func tensor(from image: RGBImage) -> Tensor {
    let plane = image.width * image.height
    var data = [Float](repeating: 0, count: 3 * plane)
    image.pixels.withUnsafeBufferPointer { px in
        for i in 0..<plane {
            data[i] = Float(px[3 * i]) / 255
            data[plane + i] = Float(px[3 * i + 1]) / 255
            data[2 * plane + i] = Float(px[3 * i + 2]) / 255
        }
    }
    return Tensor(shape: [1, 3, image.height, image.width], data: data)
}

/// (1, 3, H, W) in [0, 1] → interleaved RGB24, clamped and rounded.
func rgbImage(from t: Tensor) -> RGBImage {
    RGBImage(width: t.shape[3], height: t.shape[2], pixels: interleaved(t, as: UInt8.self))
}

/// (1, 3, H, W) in [0, 1] → interleaved 16-bit RGB, clamped and rounded (for 16-bit PNG frames).
func rgb48Image(from t: Tensor) -> RGB48Image {
    RGB48Image(width: t.shape[3], height: t.shape[2], pixels: interleaved(t, as: UInt16.self))
}

/// The planes of (1, 3, H, W) in [0, 1] interleaved as R, G, B values 0...T.max, clamped and rounded.
private func interleaved<T: FixedWidthInteger & UnsignedInteger>(_ t: Tensor, as: T.Type) -> [T] {
    let plane = t.shape[2] * t.shape[3], top = Float(T.max)
    var pixels = [T](repeating: 0, count: 3 * plane)
    t.data.withUnsafeBufferPointer { d in
        for i in 0..<plane {
            for c in 0..<3 { pixels[3 * i + c] = T(min(max(d[c * plane + i] * top, 0), top).rounded()) }
        }
    }
    return pixels
}
