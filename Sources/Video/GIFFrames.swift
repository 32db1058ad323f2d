import CFFmpeg

/// The GIF side of `VideoWriter`. Pictures are kept in memory until `finish()`: one palette that
/// suits the whole animation needs every frame's colours first. That is acceptable because GIF
/// outputs are short loops (512x512 x 240 frames is 190 MB). At the end each frame is dithered
/// onto that palette and handed to FFmpeg's gif encoder as pal8 with the palette in data[1]; as the
/// palette never changes, the encoder stores it once (global colour table) and codes only the
/// rectangle that changed, with unchanged pixels transparent.
final class GIFFrames {
    private var pictures: [(image: RGBImage, pts: Int64)] = []

    var isEmpty: Bool { pictures.isEmpty }

    func append(_ image: RGBImage, pts: Int64) {
        pictures.append((image, pts))
    }

    /// Builds the palette, then for each picture in order fills `frame` (pal8, allocated, same size
    /// as the pictures) and calls `send(pts)`. Each picture is released once sent.
    func encode(into frame: UnsafeMutablePointer<AVFrame>, path: String, send: (Int64) throws -> Void) throws {
        let palette = GIFPalette(frames: pictures.map(\.image))
        let argb = palette.argb
        var ditherer = PaletteDitherer(palette)
        for i in pictures.indices {
            let (image, pts) = pictures[i]
            pictures[i].image = RGBImage(width: 0, height: 0)
            let indices = ditherer.indices(for: image)
            try check(av_frame_make_writable(frame), "write", path: path)
            let rows = try checkPointer(reverie_frame_data(frame, 0), "write", path: path)
            let stride = Int(reverie_frame_linesize(frame, 0))
            indices.withUnsafeBufferPointer { src in
                for y in 0..<image.height {
                    (rows + y * stride).update(from: src.baseAddress! + y * image.width, count: image.width)
                }
            }
            let table = try checkPointer(reverie_frame_data(frame, 1), "write", path: path)
            argb.withUnsafeBytes { table.update(from: $0.bindMemory(to: UInt8.self).baseAddress!, count: 1024) }
            try send(pts)
        }
        pictures.removeAll()
    }
}
