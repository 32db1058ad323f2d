import Foundation

/// Guide images: google/deepdream's "controlling dreams" (the notebook's `objective_guide`).
/// Instead of amplifying whatever a layer already sees, each position of the dream is pulled
/// towards the feature of a guide image it already resembles most, so the dream takes on the
/// guide's textures and parts (its fur, faces, flowers, ...) rather than the layer's favourites.
///
/// For a layer with C channels, x_i the dream's activation vector at position i (C values) and
/// y_j the guide's at position j, the guided term is
///     G = Σ_i max_j (x_i · y_j) / N,    dG/dx_i = y_{j*(i)} / N,    j*(i) = argmax_j x_i · y_j
/// (piecewise linear: each position's gradient is the guide feature it matches best; on a tie the
/// lowest j wins). N is the element count of the whole image's layer (C × H × W, as for `.l2` and
/// `.mean`), so tiles add up to the untiled term. A term restricted to channels compares only
/// those channels, and N is scaled by their share, as the ordinary term's is.
///
/// Mixing (`Objective.seed`): per layer term, loss = weight · ((1 − g) · ordinary + g · G), g the
/// guide weight in [0, 1]. Why a convex mix rather than ordinary + g · G: g = 1 is the notebook's
/// pure guided objective, g = 0 is exactly the unguided dream, and a schedule from 0 to 1
/// cross-fades from a free dream to a guided one. Since every step divides the gradient by its
/// standard deviation, only the ratio of the two parts matters, and with `.l2` the two are in the
/// same units: d ordinary / dx_i = x_i / N ("more of itself") against y_{j*} / N ("towards the
/// guide"), so g = 0.5 weighs them evenly. (With `.mean` the ordinary gradient is 1 / N: the
/// guided part then weighs by the guide's activation size.)
///
/// The guide's features are computed once per layer by one forward pass of the guide image,
/// preprocessed like the dream's input, resized so its shorter side is `GuideFeatures.side`
/// (224 px, the size ImageNet networks are trained at, the notebook's guide size): at that size a
/// layer's features describe the guide's objects and parts; every octave and tile of the dream is
/// matched against the same features, so the small octaves lay out the guide's large parts and
/// the large ones its detail, as the ordinary dream does with the layer's own patterns.
public struct GuideFeatures: Sendable, Equatable {
    /// One layer's features: `positions` vectors of `channels` values.
    public struct Layer: Sendable, Equatable {
        /// C: the layer's channel count.
        public var channels: Int
        /// M: the guide's positions at the layer (its height × width there).
        public var positions: Int
        /// Channel-major, as the activations are: values[c · positions + j] is channel c at position j.
        public var values: [Float]

        /// Features as given; `values` must hold channels × positions values (a precondition).
        public init(channels: Int, positions: Int, values: [Float]) {
            precondition(values.count == channels * positions, "guide features: \(values.count) values for \(channels)x\(positions)")
            self.channels = channels; self.positions = positions; self.values = values
        }
    }

    /// The shorter side, in pixels, a guide image is resized to before its forward pass.
    public static let side = 224

    /// Features by layer name.
    public var layers: [String: Layer]

    /// Features as given.
    public init(layers: [String: Layer]) { self.layers = layers }

    /// The guide's size: shorter side `side`, aspect kept (at least 1 pixel each way).
    public static func size(width: Int, height: Int, side: Int = side) -> (width: Int, height: Int) {
        let f = Double(side) / Double(max(min(width, height), 1))
        return (max(1, Int((Double(width) * f).rounded())), max(1, Int((Double(height) * f).rounded())))
    }

    /// The features of `picture` ((1, C, H, W) RGB in [0, 1]) at `layers`: resized by `size` to
    /// shorter side `side`, preprocessed with the network's own preprocessing, one forward pass.
    public init(network: Network, picture: Tensor, layers names: [String], side: Int = side) throws {
        let s = GuideFeatures.size(width: picture.shape[3], height: picture.shape[2], side: side)
        let input = network.preprocessing.toModel(resize(picture, height: s.height, width: s.width))
        let unique = names.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        let outputs = try network.forward(input, outputs: unique)
        var layers = [String: Layer]()
        for name in unique {
            let a = outputs[name]!
            let c = a.shape.count > 1 ? a.shape[1] : 1
            layers[name] = Layer(channels: c, positions: a.count / max(c, 1), values: a.data)
        }
        self.init(layers: layers)
    }
}

/// The guided term of one layer for an activation `x` (channel-major, `channelCount` channels):
/// adds scale · y_{j*(i)} into `grad` at every position i and returns scale · Σ_i max_j x_i · y_j
/// (see `GuideFeatures`). `channels` restricts the dot products to those channels (nil: all);
/// the gradient of the others is left alone. The dot products x_i · y_j are one sgemm per block
/// of positions, in `scratch` (at most `GuideScratch.blockFloats` floats); every position's
/// maximum is taken over j in order, so the result does not depend on threads or tiles.
func guidedSeed(
    activation x: UnsafeBufferPointer<Float>, channelCount: Int, channels: [Int]?, guide y: GuideFeatures.Layer,
    scale: Float, into grad: UnsafeMutableBufferPointer<Float>, scratch: GuideScratch
) -> Float {
    let positions = x.count / max(channelCount, 1), m = y.positions
    guard positions > 0, m > 0, y.channels == channelCount else { return 0 }
    let chosen = (channels ?? Array(0..<channelCount)).filter { $0 < channelCount }
    guard !chosen.isEmpty else { return 0 }
    let k = chosen.count
    return y.values.withUnsafeBufferPointer { yAll in
        // The rows to compare: the activation and guide themselves, or copies of the chosen channels.
        var xs = x.baseAddress!, ys = yAll.baseAddress!
        if channels != nil {
            let xc = scratch.pointer(.x, count: k * positions), yc = scratch.pointer(.y, count: k * m)
            for (r, c) in chosen.enumerated() {
                (xc + r * positions).update(from: x.baseAddress! + c * positions, count: positions)
                (yc + r * m).update(from: yAll.baseAddress! + c * m, count: m)
            }
            xs = UnsafePointer(xc); ys = UnsafePointer(yc)
        }
        let block = max(1, min(positions, GuideScratch.blockFloats / m))
        let dots = scratch.pointer(.dots, count: block * m)
        var loss: Float = 0
        var p0 = 0
        while p0 < positions {
            let rows = min(block, positions - p0)
            // dots[r][j] = Σ_c x[c][p0 + r] · y[c][j]: (xᵀ)(rows × k) · y(k × m).
            gemm(transA: true, transB: false, m: rows, n: m, k: k, a: xs + p0, lda: positions, b: ys, ldb: m, c: dots, ldc: m)
            for r in 0..<rows {
                let row = dots + r * m
                var best = 0, value = row[0]
                for j in 1..<m where row[j] > value { best = j; value = row[j] }
                loss += value * scale
                let p = p0 + r
                for c in chosen { grad[c * positions + p] += scale * yAll[c * m + best] }
            }
            p0 += rows
        }
        return loss
    }
}

/// Scratch memory the guided term reuses from tile to tile and step to step (grown, never shrunk):
/// one block of dot products and, for a term restricted to channels, those channels' rows.
final class GuideScratch: @unchecked Sendable {
    /// The most dot products held at once (4 MiB): positions are taken in blocks of
    /// blockFloats / M rows, so a large tile against a large guide needs no more.
    static let blockFloats = 1 << 20

    enum Slot: Int, CaseIterable { case dots, x, y }
    private var buffers = [UnsafeMutablePointer<Float>?](repeating: nil, count: Slot.allCases.count)
    private var capacities = [Int](repeating: 0, count: Slot.allCases.count)

    /// `count` floats of `slot`, their contents undefined.
    func pointer(_ slot: Slot, count: Int) -> UnsafeMutablePointer<Float> {
        let i = slot.rawValue
        if capacities[i] < count {
            buffers[i]?.deallocate()
            buffers[i] = .allocate(capacity: count)
            capacities[i] = count
        }
        return buffers[i]!
    }

    deinit { for b in buffers { b?.deallocate() } }
}
