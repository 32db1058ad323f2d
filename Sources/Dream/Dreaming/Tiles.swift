/// Tiles and random roll (the TensorFlow tutorial's `TiledGradients` and `random_roll`).
/// Why: a large image's gradient is computed tile by tile so memory stays bounded; rolling the
/// image by a random offset each step moves the tile borders, so no seam builds up in one place.
/// `GradientStep` never builds the rolled image: it cuts tiles at rolled coordinates. `roll`, `crop`
/// and `paste` are the literal operations (the tests' reference for the step).

/// A rectangle of an image, in pixels.
public struct TileRect: Sendable, Equatable {
    public var x: Int, y: Int, width: Int, height: Int
}

/// Splits a `width × height` image into the fewest tiles of at most `tile` pixels a side, of
/// near-equal size (no sliver tiles: a 3-pixel strip gives the network nothing to see).
public func tileLayout(width: Int, height: Int, tile: Int) -> [TileRect] {
    let nx = max(1, (width + tile - 1) / tile), ny = max(1, (height + tile - 1) / tile)
    var rects: [TileRect] = []
    for j in 0..<ny {
        let y0 = j * height / ny, y1 = (j + 1) * height / ny
        for i in 0..<nx {
            let x0 = i * width / nx, x1 = (i + 1) * width / nx
            rects.append(TileRect(x: x0, y: y0, width: x1 - x0, height: y1 - y0))
        }
    }
    return rects
}

/// Cyclic shift of a (1, C, H, W) image: out[y][x] = in[(y - dy) mod H][(x - dx) mod W].
public func roll(_ image: Tensor, dx: Int, dy: Int) -> Tensor {
    let (c, h, w) = (image.shape[1], image.shape[2], image.shape[3])
    let sx = ((dx % w) + w) % w, sy = ((dy % h) + h) % h
    if sx == 0 && sy == 0 { return image }
    var out = [Float](repeating: 0, count: image.count)
    image.data.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBufferPointer { dst in
            for ch in 0..<c {
                let base = ch * h * w
                for y in 0..<h {
                    let srow = base + ((y - sy + h) % h) * w, drow = base + y * w
                    // Two contiguous runs per row.
                    for x in 0..<sx { dst[drow + x] = src[srow + w - sx + x] }
                    for x in sx..<w { dst[drow + x] = src[srow + x - sx] }
                }
            }
        }
    }
    return Tensor(shape: image.shape, data: out)
}

/// Copies a rectangle out of a (1, C, H, W) image.
public func crop(_ image: Tensor, _ r: TileRect) -> Tensor {
    let (c, h, w) = (image.shape[1], image.shape[2], image.shape[3])
    var out = [Float](repeating: 0, count: c * r.width * r.height)
    for ch in 0..<c {
        for y in 0..<r.height {
            let s = ch * h * w + (r.y + y) * w + r.x, d = (ch * r.height + y) * r.width
            for x in 0..<r.width { out[d + x] = image.data[s + x] }
        }
    }
    return Tensor(shape: [1, c, r.height, r.width], data: out)
}

/// Writes `tile` into `image` at the rectangle's place.
public func paste(_ tile: Tensor, into image: inout Tensor, at r: TileRect) {
    let (c, h, w) = (image.shape[1], image.shape[2], image.shape[3])
    for ch in 0..<c {
        for y in 0..<r.height {
            let d = ch * h * w + (r.y + y) * w + r.x, s = (ch * r.height + y) * r.width
            for x in 0..<r.width { image.data[d + x] = tile.data[s + x] }
        }
    }
}
