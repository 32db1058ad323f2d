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
        let loss = try tiledGradient(image, rollX: dx, rollY: dy, onTile: onTile)
        let ws = workspace, g = ws.gradient.pointer
        if smoothing > 0 { gaussianBlur(g, shape: image.shape, sigma: smoothing, temp: ws.blurTemp.pointer) }
        // Normalising by the standard deviation makes the step size independent of the layer's scale.
        let scale = stepSize / (standardDeviation(UnsafeBufferPointer(start: g, count: ws.gradient.count)) + 1e-8)
        let plane = h * w
        image.data.withUnsafeMutableBufferPointer { px in
            for c in 0..<image.shape[1] {
                let (lo, hi) = bounds[c]
                for i in (c * plane)..<((c + 1) * plane) { px[i] = min(max(px[i] + scale * g[i], lo), hi) }
            }
        }
        return loss
    }

    /// The objective's gradient with respect to `image`, computed tile by tile.
    func tiledGradient(_ image: Tensor, onTile: (Int, Int) -> Void = { _, _ in }) throws -> (Float, Tensor) {
        let loss = try tiledGradient(image, rollX: 0, rollY: 0, onTile: onTile)
        return (loss, workspace.gradient.tensor(shape: image.shape))
    }

    /// The objective and its gradient for `image` rolled by (dx, dy), tile by tile, with the
    /// gradient unrolled into `workspace.gradient` (the gradient of the objective at the rolled image,
    /// in the image's own coordinates).
    private func tiledGradient(_ image: Tensor, rollX dx: Int, rollY dy: Int, onTile: (Int, Int) -> Void) throws -> Float {
        let (c, h, w) = (image.shape[1], image.shape[2], image.shape[3])
        let ws = workspace
        try ws.prepare(model: model, objective: objective, channels: c, height: h, width: w, tile: tile)
        let sx = ((dx % w) + w) % w, sy = ((dy % h) + h) % h
        let tileInput = ws.tileInput.pointer, tileGradient = ws.tileGradient.pointer, gradient = ws.gradient.pointer
        var loss: Float = 0
        for (i, r) in ws.rects.enumerated() {
            onTile(i, ws.rects.count)
            let n = c * r.width * r.height
            image.data.withUnsafeBufferPointer { src in
                forEachRolledRun(c: c, h: h, w: w, r, sx: sx, sy: sy) { at, t, count in
                    (tileInput + t).update(from: src.baseAddress! + at, count: count)
                }
            }
            loss += try model.gradient(
                of: UnsafeBufferPointer(start: tileInput, count: n), shape: [1, c, r.height, r.width],
                layers: objective.layerNames,
                into: UnsafeMutableBufferPointer(start: tileGradient, count: n)
            ) { layer, a, shape, grad in
                objective.seed(
                    layer: layer, activation: a, shape: shape, normaliser: ws.normalisers[layer] ?? a.count, into: grad,
                    scratch: ws.guideScratch)
            }
            forEachRolledRun(c: c, h: h, w: w, r, sx: sx, sy: sy) { at, t, count in
                (gradient + at).update(from: tileGradient + t, count: count)
            }
        }
        return loss
    }
}

/// The runs of rectangle `r` of a (1, c, h, w) image rolled by (sx, sy): `body(imageOffset, tileOffset,
/// count)` for each stretch that is contiguous in both the image and the packed tile (a row wraps
/// at most once). Rolled pixel (y, x) is image pixel ((y − sy) mod h, (x − sx) mod w).
private func forEachRolledRun(c: Int, h: Int, w: Int, _ r: TileRect, sx: Int, sy: Int, _ body: (Int, Int, Int) -> Void) {
    for ch in 0..<c {
        for y in 0..<r.height {
            let row = ch * h * w + ((r.y + y - sy + h) % h) * w, tileRow = (ch * r.height + y) * r.width
            var x = 0
            while x < r.width {
                let ix = (r.x + x - sx + w) % w, count = min(r.width - x, w - ix)
                body(row + ix, tileRow + x, count)
                x += count
            }
        }
    }
}

/// Buffers a `GradientStep` reuses from step to step: the image's gradient, one tile's input and
/// gradient, the blur's scratch, the guided term's dot products; the tile layout and per-layer
/// normalisers for the current size.
final class StepWorkspace {
    private(set) var gradient = Buffer(count: 0), blurTemp = Buffer(count: 0)
    let guideScratch = GuideScratch()
    private(set) var tileInput = Buffer(count: 0), tileGradient = Buffer(count: 0)
    private(set) var rects: [TileRect] = []
    private(set) var normalisers: [String: Int] = [:]
    private var size: (c: Int, h: Int, w: Int) = (0, 0, 0)

    func prepare(model: Network, objective: Objective, channels c: Int, height h: Int, width w: Int, tile: Int) throws {
        guard size != (c, h, w) else { return }
        // Each layer's mean is over the whole image's layer, so tiles add up to the untiled objective.
        normalisers = [:]
        for (name, shape) in try model.shapes(height: h, width: w) where objective.layerNames.contains(name) {
            normalisers[name] = shape.reduce(1, *)
        }
        rects = tileLayout(width: w, height: h, tile: tile)
        let largest = c * (rects.map { $0.width * $0.height }.max() ?? 0)
        gradient = Buffer(count: c * h * w); blurTemp = Buffer(count: c * h * w)
        tileInput = Buffer(count: largest); tileGradient = Buffer(count: largest)
        size = (c, h, w)
    }
}

func standardDeviation<C: Collection>(_ x: C) -> Float where C.Element == Float {
    guard !x.isEmpty else { return 0 }
    var sum = 0.0, sumSq = 0.0
    for v in x { sum += Double(v); sumSq += Double(v) * Double(v) }
    let n = Double(x.count), mean = sum / n
    return Float(max(sumSq / n - mean * mean, 0).squareRoot())
}
