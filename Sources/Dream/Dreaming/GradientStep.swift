import Foundation

/// One step of gradient ascent on the image (model-input space), the TensorFlow tutorial's
/// loop body: roll → tiled gradient → unroll → (smooth) → normalise by std → update → clip.
/// The roll is never materialised: each tile is cut from the image at rolled coordinates and its
/// gradient written back unrolled, into buffers the step keeps (`StepWorkspace`), so once the
/// first step at an image size has run, steps allocate no image- or tile-sized memory.
struct GradientStep {
    let model: Network
    let objective: Objective
    let tile: Int
    let stepSize: Float
    let smoothing: Float
    let bounds: [(lower: Float, upper: Float)]
    let workspace = StepWorkspace()

    /// Returns the objective value before the step.
    func apply(to image: inout Tensor, rng: inout SeededGenerator, onTile: (Int, Int) -> Void) throws -> Float {
        let (h, w) = (image.shape[2], image.shape[3])
        // Random roll: tile borders fall somewhere new every step, so no seam can build up.
        let dx = Int(rng.next() % UInt64(w)), dy = Int(rng.next() % UInt64(h))
        let ws = workspace
        let loss = try tiledGradient(image, rollX: dx, rollY: dy, onTile: onTile)
        if smoothing > 0 { gaussianBlur(&ws.gradient, shape: image.shape, sigma: smoothing, temp: &ws.blurTemp) }
        // Normalising by the standard deviation makes the step size independent of the layer's scale.
        let scale = stepSize / (standardDeviation(ws.gradient) + 1e-8)
        let plane = h * w
        image.data.withUnsafeMutableBufferPointer { px in
            ws.gradient.withUnsafeBufferPointer { g in
                for c in 0..<image.shape[1] {
                    let (lo, hi) = bounds[c]
                    for i in (c * plane)..<((c + 1) * plane) { px[i] = min(max(px[i] + scale * g[i], lo), hi) }
                }
            }
        }
        return loss
    }

    /// The objective's gradient with respect to `image`, computed tile by tile.
    func tiledGradient(_ image: Tensor, onTile: (Int, Int) -> Void = { _, _ in }) throws -> (Float, Tensor) {
        let loss = try tiledGradient(image, rollX: 0, rollY: 0, onTile: onTile)
        return (loss, Tensor(shape: image.shape, data: workspace.gradient))
    }

    /// The objective and its gradient for `image` rolled by (dx, dy), tile by tile, with the
    /// gradient unrolled into `workspace.gradient` (the gradient of the objective at the rolled image,
    /// in the image's own coordinates).
    private func tiledGradient(_ image: Tensor, rollX dx: Int, rollY dy: Int, onTile: (Int, Int) -> Void) throws -> Float {
        let (c, h, w) = (image.shape[1], image.shape[2], image.shape[3])
        let ws = workspace
        try ws.prepare(model: model, objective: objective, channels: c, height: h, width: w, tile: tile)
        let sx = ((dx % w) + w) % w, sy = ((dy % h) + h) % h
        var loss: Float = 0
        for (i, r) in ws.rects.enumerated() {
            onTile(i, ws.rects.count)
            let n = c * r.width * r.height
            // Rolled pixel (y, x) is image pixel ((y − sy) mod h, (x − sx) mod w).
            try image.data.withUnsafeBufferPointer { src in
                try ws.tileInput.withUnsafeMutableBufferPointer { tin in
                    try ws.tileGradient.withUnsafeMutableBufferPointer { tg in
                        try ws.gradient.withUnsafeMutableBufferPointer { g in
                            copyRolledRect(from: UnsafeMutableBufferPointer(mutating: src), into: tin, c: c, h: h, w: w, r: r,
                                           sx: sx, sy: sy, toTile: true)
                            loss += try model.gradient(of: UnsafeBufferPointer(rebasing: tin[0..<n]),
                                                       shape: [1, c, r.height, r.width], layers: objective.layerNames,
                                                       into: UnsafeMutableBufferPointer(rebasing: tg[0..<n])) { layer, a, shape, grad in
                                objective.seed(layer: layer, activation: a, shape: shape,
                                               normaliser: ws.normalisers[layer] ?? a.count, into: grad)
                            }
                            copyRolledRect(from: g, into: tg, c: c, h: h, w: w, r: r, sx: sx, sy: sy, toTile: false)
                        }
                    }
                }
            }
        }
        return loss
    }
}

/// Copies rectangle `r` of the image rolled by (sx, sy) into a packed tile (`toTile`), or the tile
/// back into the image at the rolled rectangle's unrolled place.
private func copyRolledRect(from image: UnsafeMutableBufferPointer<Float>, into tile: UnsafeMutableBufferPointer<Float>,
                            c: Int, h: Int, w: Int, r: TileRect, sx: Int, sy: Int, toTile: Bool) {
    for ch in 0..<c {
        for y in 0..<r.height {
            let iy = (r.y + y - sy + h) % h, rowBase = ch * h * w + iy * w, t = (ch * r.height + y) * r.width
            for x in 0..<r.width {
                let ix = (r.x + x - sx + w) % w
                if toTile { tile[t + x] = image[rowBase + ix] } else { image[rowBase + ix] = tile[t + x] }
            }
        }
    }
}

/// Buffers a `GradientStep` reuses from step to step: the image's gradient, one tile's input and
/// gradient, the blur's scratch; the tile layout and per-layer normalisers for the current size.
final class StepWorkspace {
    var gradient: [Float] = [], blurTemp: [Float] = []
    var tileInput: [Float] = [], tileGradient: [Float] = []
    var rects: [TileRect] = []
    var normalisers: [String: Int] = [:]
    private var size: (c: Int, h: Int, w: Int) = (0, 0, 0)

    func prepare(model: Network, objective: Objective, channels c: Int, height h: Int, width w: Int, tile: Int) throws {
        guard size != (c, h, w) else { return }
        // Each layer's mean is over the whole image's layer, so tiles add up to the untiled objective.
        normalisers = [:]
        for (name, shape) in try model.shapes(height: h, width: w) where objective.layerNames.contains(name) {
            normalisers[name] = shape.reduce(1, *)
        }
        rects = tileLayout(width: w, height: h, tile: tile)
        let largest = rects.map { $0.width * $0.height }.max() ?? 0
        gradient = [Float](repeating: 0, count: c * h * w)
        blurTemp = gradient
        tileInput = [Float](repeating: 0, count: c * largest)
        tileGradient = tileInput
        size = (c, h, w)
    }
}

func standardDeviation(_ x: [Float]) -> Float {
    guard !x.isEmpty else { return 0 }
    var sum = 0.0, sumSq = 0.0
    for v in x { sum += Double(v); sumSq += Double(v) * Double(v) }
    let n = Double(x.count), mean = sum / n
    return Float(max(sumSq / n - mean * mean, 0).squareRoot())
}
