import Foundation

/// Where a dream is, for progress reports.
public struct DreamProgress: Sendable {
    public var octave: Int, octaves: Int
    public var step: Int, steps: Int
    public var tile: Int, tiles: Int
    /// Share of the whole dream's work done, 0...1 (octaves weighted by their pixel count).
    public var fraction: Double
}

/// The façade: dreams a picture with a network and a set of parameters.
/// Pictures are (1, 3, H, W) RGB in [0, 1]; the dream itself runs in the model's input space.
public final class Dreamer {
    /// The network every dream runs on.
    public let model: Network
    /// Peak memory a dream may use; the tile size is chosen to fit it.
    public var memoryBudget: Int

    /// A dreamer on `model`; `memoryBudget` in bytes, 4 GiB by default.
    public init(model: Network, memoryBudget: Int = 4 << 30) {
        self.model = model
        self.memoryBudget = memoryBudget
    }

    /// A guide image, (1, 3, H, W) RGB in [0, 1], any size: while set, dreams whose parameters
    /// have a guide weight above 0 are pulled towards its features (see `GuideFeatures`); nil:
    /// none. Its features are computed once per layer, when a dream first needs them.
    public var guide: Tensor? {
        didSet { guideFeatures = [:] }
    }

    /// The guide's features by layer, each computed once for the current `guide`; and how many
    /// forward passes of the guide that took (tests check they are not repeated).
    private var guideFeatures: [String: GuideFeatures.Layer] = [:]
    private(set) var guidePasses = 0
    /// The shorter side the guide is resized to (tests make it small).
    var guideSide = GuideFeatures.side {
        didSet { guideFeatures = [:] }
    }

    /// The objective of the last parameters seen, parsed once (a video dreams every frame with the
    /// same layers), and the tile side chosen per picture size for those parameters.
    private var parsed: (layers: [String], kind: ObjectiveKind, objective: Objective)?
    private var tiles: [TileChoice: Int] = [:]
    private struct TileChoice: Hashable { let width: Int, height: Int, tile: Int, layers: [String], budget: Int }

    /// `parameters`' objective with its layer terms resolved against the model, parsed once; with
    /// the guide's features at its layers when there is a guide and the guide weight is above 0
    /// (at 0 the objective is the unguided one, and the guide is not even run).
    func objective(_ parameters: DreamParameters) throws -> Objective {
        var objective: Objective
        if let p = parsed, p.layers == parameters.layers, p.kind == parameters.objective {
            objective = p.objective
        } else {
            objective = try parameters.objective(layerNames: model.layerNames)
            parsed = (parameters.layers, parameters.objective, objective)
        }
        guard let guide, parameters.guideWeight > 0 else { return objective }
        let missing = objective.layerNames.filter { guideFeatures[$0] == nil }
        if !missing.isEmpty {
            let computed = try GuideFeatures(network: model, picture: guide, layers: missing, side: guideSide)
            guideFeatures.merge(computed.layers) { old, _ in old }
            guidePasses += 1
        }
        objective.guide = GuideFeatures(layers: guideFeatures.filter { objective.layerNames.contains($0.key) })
        objective.guideWeight = parameters.guideWeight
        return objective
    }

    /// Dreams `picture` over the given octaves with `steps` steps each (the parameters' own
    /// octaves and steps when nil). Same inputs and generator state give identical output.
    public func dream(
        _ picture: Tensor, parameters: DreamParameters, octaves: OctaveRange? = nil, steps: Int? = nil,
        rng: inout SeededGenerator, progress: ((DreamProgress) -> Void)? = nil
    ) throws -> Tensor {
        let objective = try objective(parameters)
        let (h, w) = (picture.shape[2], picture.shape[3])
        let pyramid = octaveSizes(width: w, height: h, range: octaves ?? parameters.octaves, scale: parameters.octaveScale)
        let largest = pyramid.max { $0.width * $0.height < $1.width * $1.height }!
        let tile = try tileSize(for: largest.width, largest.height, parameters: parameters)
        let stepCount = steps ?? parameters.steps
        let pre = model.preprocessing
        let step = GradientStep(
            model: model, objective: objective, tile: tile, stepSize: parameters.stepSize,
            smoothing: parameters.smoothing,
            bounds: (0..<3).map { (pre.lowerBound(channel: $0), pre.upperBound(channel: $0)) })

        let source = toModelSpace(picture)
        let totalWork = Double(pyramid.reduce(0) { $0 + $1.width * $1.height } * max(stepCount, 1))
        var doneWork = 0.0
        // Detail: what the dream has added so far, carried from one octave to the next
        // (google/deepdream's scheme), so every octave starts from the sharp source at its size.
        var detail = Tensor(zeros: [1, 3, pyramid[0].height, pyramid[0].width])
        var image = source
        for (o, octave) in pyramid.enumerated() {
            let base = resize(source, height: octave.height, width: octave.width)
            image = add(base, resize(detail, height: octave.height, width: octave.width))
            for s in 0..<stepCount {
                _ = try step.apply(to: &image, rng: &rng) { t, tiles in
                    progress?(
                        DreamProgress(
                            octave: o, octaves: pyramid.count, step: s, steps: stepCount,
                            tile: t, tiles: tiles, fraction: doneWork / totalWork))
                }
                doneWork += Double(octave.width * octave.height)
            }
            detail = subtract(image, base)
        }
        return fromModelSpace(resize(image, height: h, width: w))
    }

    /// The objective's value for a picture (no tiling or roll): for tests and diagnostics.
    public func objectiveValue(_ picture: Tensor, parameters: DreamParameters) throws -> Float {
        let objective = try objective(parameters)
        let (h, w) = (picture.shape[2], picture.shape[3])
        let step = GradientStep(model: model, objective: objective, tile: max(h, w), stepSize: 0, smoothing: 0, bounds: [])
        return try step.tiledGradient(toModelSpace(picture)).0
    }

    /// The gradient of the objective for a model-space image, tiled (tests compare it with the
    /// untiled one).
    public func gradient(modelSpace image: Tensor, parameters: DreamParameters, tile: Int) throws -> Tensor {
        let step = GradientStep(
            model: model, objective: try objective(parameters), tile: tile,
            stepSize: 0, smoothing: 0, bounds: [])
        return try step.tiledGradient(image).1
    }

    /// Peak bytes of a dream of a `width × height` picture with tiles of side `tile`.
    public func estimatedPeakBytes(width: Int, height: Int, tile: Int, layers: [String]) -> Int {
        let t = min(tile, max(width, height))
        let network = model.estimatedPeakBytes(height: min(t, height), width: min(t, width), layers: layers)
        // Source, base, detail, image, gradient, blur scratch, output: 7 images; a tile's input and gradient.
        let images = (7 * width * height + 2 * min(t, width) * min(t, height)) * 3 * MemoryLayout<Float>.size
        return network + images
    }

    /// The tile side: the parameters' own if it fits the budget, else the largest that does; chosen
    /// once per picture size.
    func tileSize(for width: Int, _ height: Int, parameters: DreamParameters) throws -> Int {
        let layers = try objective(parameters).layerNames
        let key = TileChoice(width: width, height: height, tile: parameters.tile, layers: layers, budget: memoryBudget)
        if let t = tiles[key] { return t }
        let t = try chooseTile(width, height, parameters: parameters, layers: layers)
        tiles[key] = t
        return t
    }

    private func chooseTile(_ width: Int, _ height: Int, parameters: DreamParameters, layers: [String]) throws -> Int {
        let fits = { (t: Int) in self.estimatedPeakBytes(width: width, height: height, tile: t, layers: layers) <= self.memoryBudget }
        if parameters.tile > 0 {
            guard fits(parameters.tile) else {
                let need = estimatedPeakBytes(width: width, height: height, tile: parameters.tile, layers: layers)
                throw DreamError.memory(width: width, height: height, tile: parameters.tile, neededMiB: need >> 20, budgetMiB: memoryBudget >> 20)
            }
            return parameters.tile
        }
        for t in stride(from: 1024, through: 128, by: -64) where fits(t) { return t }
        let need = estimatedPeakBytes(width: width, height: height, tile: 128, layers: layers)
        throw DreamError.memory(width: width, height: height, tile: nil, neededMiB: need >> 20, budgetMiB: memoryBudget >> 20)
    }

    /// [0, 1] RGB → the model's input space.
    public func toModelSpace(_ picture: Tensor) -> Tensor { model.preprocessing.toModel(picture) }

    /// The model's input space → [0, 1] RGB, clamped.
    public func fromModelSpace(_ image: Tensor) -> Tensor { model.preprocessing.fromModel(image) }
}

func add(_ a: Tensor, _ b: Tensor) -> Tensor {
    var out = a
    for i in out.data.indices { out.data[i] += b.data[i] }
    return out
}

func subtract(_ a: Tensor, _ b: Tensor) -> Tensor {
    var out = a
    for i in out.data.indices { out.data[i] -= b.data[i] }
    return out
}
