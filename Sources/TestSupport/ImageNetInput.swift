import Dream
import Foundation
import Video

/// The standard ImageNet evaluation crop for model tests: shorter side resized to 256
/// (bilinear), centre crop 224×224, then the model's own preprocessing.
public enum ImageNetInput {
    /// `samples/NAME` in the repository (nil when the samples were not fetched).
    public static func samplePath(_ name: String) -> String? {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("samples/\(name)").path
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    /// (1, 3, crop, crop) in model space: (rgb255 − mean) / std.
    public static func load(path: String, preprocessing: Preprocessing, shorterSide: Int = 256, crop: Int = 224) throws -> Tensor {
        let image = try ImageFile.read(path: path)
        let plane = image.width * image.height
        var rgb = [Float](repeating: 0, count: 3 * plane)
        for i in 0..<plane { for c in 0..<3 { rgb[c * plane + i] = Float(image.pixels[3 * i + c]) } }
        let scale = Double(shorterSide) / Double(min(image.width, image.height))
        let (h, w) = (max(crop, Int((Double(image.height) * scale).rounded())), max(crop, Int((Double(image.width) * scale).rounded())))
        let resized = resize(Tensor(shape: [1, 3, image.height, image.width], data: rgb), height: h, width: w)
        let (top, left) = ((h - crop) / 2, (w - crop) / 2)
        var out = [Float](repeating: 0, count: 3 * crop * crop)
        for c in 0..<3 {
            for y in 0..<crop {
                for x in 0..<crop {
                    out[(c * crop + y) * crop + x] = resized.data[(c * h + top + y) * w + left + x] / 255
                }
            }
        }
        return preprocessing.toModel(Tensor(shape: [1, 3, crop, crop], data: out))
    }
}
