import Foundation

/// One step of gradient ascent on the image (model-input space), the TensorFlow tutorial's
/// loop body: roll → tiled gradient → unroll → (smooth) → normalise by std → update → clip.
struct GradientStep {
    let model: Network
    let objective: Objective
    let tile: Int
    let stepSize: Float
    let smoothing: Float
    let bounds: [(lower: Float, upper: Float)]

    /// Returns the objective value before the step.
    func apply(to image: inout Tensor, rng: inout SeededGenerator, onTile: (Int, Int) -> Void) throws -> Float {
        let (h, w) = (image.shape[2], image.shape[3])
        // Random roll: tile borders fall somewhere new every step, so no seam can build up.
        let dx = Int(rng.next() % UInt64(w)), dy = Int(rng.next() % UInt64(h))
        let (loss, rolledGradient) = try tiledGradient(roll(image, dx: dx, dy: dy), onTile: onTile)
        var gradient = roll(rolledGradient, dx: -dx, dy: -dy)
        if smoothing > 0 { gradient = gaussianBlur(gradient, sigma: smoothing) }
        // Normalising by the standard deviation makes the step size independent of the layer's scale.
        let scale = stepSize / (standardDeviation(gradient.data) + 1e-8)
        let plane = h * w
        for c in 0..<image.shape[1] {
            let (lo, hi) = bounds[c]
            for i in (c * plane)..<((c + 1) * plane) {
                image.data[i] = min(max(image.data[i] + scale * gradient.data[i], lo), hi)
            }
        }
        return loss
    }

    /// The objective's gradient with respect to `image`, computed tile by tile.
    func tiledGradient(_ image: Tensor, onTile: (Int, Int) -> Void = { _, _ in }) throws -> (Float, Tensor) {
        let (h, w) = (image.shape[2], image.shape[3])
        // Each layer's mean is over the whole image's layer, so tiles add up to the untiled objective.
        let shapes = try model.shapes(height: h, width: w)
        var normalisers: [String: Int] = [:]
        for (name, shape) in shapes where objective.layerNames.contains(name) {
            normalisers[name] = shape.reduce(1, *)
        }
        var gradient = Tensor(zeros: image.shape)
        var loss: Float = 0
        let rects = tileLayout(width: w, height: h, tile: tile)
        for (i, r) in rects.enumerated() {
            onTile(i, rects.count)
            let result = try model.gradient(of: crop(image, r), layers: objective.layerNames) { layer, activation in
                objective.seed(layer: layer, activation: activation, normaliser: normalisers[layer] ?? activation.count)
            }
            loss += result.loss
            paste(result.gradient, into: &gradient, at: r)
        }
        return (loss, gradient)
    }
}

func standardDeviation(_ x: [Float]) -> Float {
    guard !x.isEmpty else { return 0 }
    var sum = 0.0, sumSq = 0.0
    for v in x { sum += Double(v); sumSq += Double(v) * Double(v) }
    let n = Double(x.count), mean = sum / n
    return Float(max(sumSq / n - mean * mean, 0).squareRoot())
}
