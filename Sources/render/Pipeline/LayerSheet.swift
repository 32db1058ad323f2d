import Dream
import Foundation
import Video

/// A contact sheet: the same picture dreamed once per layer (or per channel of one layer),
/// each tile labelled with what made it, so a user sees which layer gives eyes, fur or ornaments.
func layerSheet(
    picture: RGBImage, terms: [String], parameters: DreamParameters, network: Network,
    tileWidth: Int, guide: Tensor? = nil, progress: Progress
) throws -> RGBImage {
    let size = workingSize(of: picture, width: tileWidth)
    let start = resize(tensor(from: picture), height: size.height, width: size.width, interpolation: .bicubic)
    let dreamer = Dreamer(model: network)
    dreamer.guide = guide
    let columns = Int(Double(terms.count).squareRoot().rounded(.up))
    let rows = (terms.count + columns - 1) / columns
    let gap = 4
    var sheet = RGBImage(width: columns * (size.width + gap) + gap, height: rows * (size.height + gap) + gap)
    for i in sheet.pixels.indices { sheet.pixels[i] = 24 }
    let scale = max(1, size.width / 160)
    for (n, term) in terms.enumerated() {
        var p = parameters
        p.layers = [term]
        var rng = SeededGenerator(seed: parameters.seed)
        let dreamed = try dreamer.dream(start, parameters: p, rng: &rng) { d in
            progress.update(fraction: (Double(n) + d.fraction) / Double(terms.count), "\(term) (\(n + 1)/\(terms.count))")
        }
        var tile = rgbImage(from: dreamed)
        BitmapFont.draw(term, into: &tile, x: 0, y: 0, scale: scale)
        let (ox, oy) = (gap + (n % columns) * (size.width + gap), gap + (n / columns) * (size.height + gap))
        for y in 0..<tile.height {
            let s = 3 * y * tile.width, d = 3 * ((oy + y) * sheet.width + ox)
            sheet.pixels.replaceSubrange(d..<(d + 3 * tile.width), with: tile.pixels[s..<(s + 3 * tile.width)])
        }
    }
    progress.finish()
    return sheet
}
