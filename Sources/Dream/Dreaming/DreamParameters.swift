import Foundation

/// The octaves to dream at, as exponents of the octave scale: size = working size · scale^k for
/// k in lowest...highest. `-3...0` dreams at four sizes ending at the working size; a positive
/// `highest` dreams above the working size (the TensorFlow tutorial's range(-2, 3)).
public struct OctaveRange: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Exponent of the smallest octave; at most `highest`.
    public var lowest: Int
    /// Exponent of the largest octave (0: the working size).
    public var highest: Int

    /// The range as given (not checked: `init(parsing:)` checks).
    public init(lowest: Int, highest: Int) { self.lowest = lowest; self.highest = highest }

    /// "-3..0" (a range), or "4" (four octaves ending at the working size: -3..0).
    public init(parsing text: String) throws {
        let t = text.trimmingCharacters(in: .whitespaces)
        if let r = t.range(of: "..") {
            guard let a = Int(t[..<r.lowerBound]), let b = Int(t[r.upperBound...]), a <= b, b - a < 16 else {
                throw DreamError.parameter(field: "octaves '\(text)'", problem: "expected LOW..HIGH with LOW <= HIGH, like -3..0")
            }
            self.init(lowest: a, highest: b)
        } else if let n = Int(t), n >= 1, n <= 16 {
            self.init(lowest: 1 - n, highest: 0)
        } else {
            throw DreamError.parameter(field: "octaves '\(text)'", problem: "expected a count from 1 to 16, or LOW..HIGH like -3..0")
        }
    }

    /// "-3..0": the form `init(parsing:)` reads back.
    public var description: String { "\(lowest)..\(highest)" }
    /// Number of octaves dreamed.
    public var count: Int { highest - lowest + 1 }

    /// Decodes a count (4) or a range ("-3..0"), as preset files write them; throws `DreamError` for others.
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let n = try? c.decode(Int.self) { try self.init(parsing: String(n)) } else { try self.init(parsing: c.decode(String.self)) }
    }
    /// Encodes the range as text, "-3..0".
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// Every knob of a render. Presets and command-line options are `ParameterOverrides` applied on
/// top of `DreamParameters.defaults`, in that order.
public struct DreamParameters: Sendable, Equatable, Codable {
    // The dream of one picture.
    /// The objective's layer terms in `LayerTerm` syntax: name, name[c1,c2], name:weight.
    public var layers: [String]  // LayerTerm syntax: name[:weight], name[c1,c2]
    /// The per-layer term: `.l2` or `.mean`.
    public var objective: ObjectiveKind
    /// Octaves a still, a video's first frame and a zoom's first frame are dreamed at.
    public var octaves: OctaveRange
    /// Size ratio between neighbouring octaves, in (1, 4].
    public var octaveScale: Float
    /// Gradient steps per octave, 0...10000.
    public var steps: Int  // gradient steps per octave
    /// Step length in model-input units: each step adds stepSize · gradient / std(gradient); in (0, 10).
    public var stepSize: Float  // in model-input units, per step, after std normalisation
    /// Tile side in pixels, 32...8192; 0: chosen from the memory budget.
    public var tile: Int  // tile side in pixels; 0 = choose from the memory budget
    /// σ in pixels of the Gaussian blur applied to the gradient, 0...20; 0: none.
    public var smoothing: Float  // Gaussian blur sigma (px) of the gradient; 0 = off
    /// Seeds the random tile offsets of every step: the same seed gives the same dream.
    public var seed: UInt64
    /// Working width in pixels, 16...16384, the height following the aspect ratio; nil: the input's
    /// (`render zoom`: at most 640).
    public var width: Int?  // working width (aspect kept); nil = the input's
    /// A guide image's path (relative to the current directory): the dream is pulled towards the
    /// guide's features (see `GuideFeatures`); nil: no guide.
    public var guide: String?
    /// g in [0, 1], the guide's share of the objective: each layer term is
    /// weight · ((1 − g) · ordinary + g · guided); 1: the guide alone. Used only with a `guide`.
    public var guideWeight: Float

    // Videos: frames after the first.
    /// Octaves of a video's frames after the first.
    public var frameOctaves: OctaveRange
    /// Gradient steps per octave on those frames, 0...10000.
    public var frameSteps: Int
    /// Share of the previous frame's dream carried into the next, [0, 1] (see `TemporalCarry`).
    public var blend: Float  // share of the previous frame's dream carried into the next
    /// Carry the dream along the footage's optical flow; false: in place.
    public var flow: Bool  // carry the dream along the footage's optical flow

    // Zoom loops.
    /// Zoom factor per second of `render zoom`; > 1 zooms in.
    public var zoom: Float  // zoom factor per second (> 1 zooms in)
    /// Degrees per second the zoom turns, clockwise on screen, within ±3600.
    public var rotate: Float  // degrees per second
    /// Gradient steps per octave on each zoom frame after the first, 0...10000.
    public var zoomSteps: Int  // gradient steps per zoom frame
    /// Octaves of each zoom frame after the first.
    public var zoomOctaves: OctaveRange

    // Animation: keyframed values over the frames (see ScheduledParameters.swift).
    /// Schedules of numeric fields by field name, e.g. "zoom": "0:(1.1), 48:(1.3)"; nil: none.
    public var schedules: [String: String]?
    /// Schedules of layer weights by layer name (cross-fades between layers); nil: none.
    public var weights: [String: String]?
    /// How schedules run between numeric keys: linear (nil) or smooth.
    public var curve: ScheduleCurve?

    /// The starting point under every preset: block10, l2, octaves -3..0 at scale 1.3, 25 steps of
    /// 0.01, 512-pixel tiles, seed 0, no guide (guide weight 1 when one is given: the guide alone);
    /// later video frames -1..0 with 8 steps, blend 0.85 along the flow; zoom 1.15 per second, 6
    /// steps at the working size only.
    public static let defaults = DreamParameters(
        layers: ["block10"], objective: .l2, octaves: OctaveRange(lowest: -3, highest: 0),
        octaveScale: 1.3, steps: 25, stepSize: 0.01, tile: 512, smoothing: 0, seed: 0, width: nil,
        guide: nil, guideWeight: 1,
        frameOctaves: OctaveRange(lowest: -1, highest: 0), frameSteps: 8, blend: 0.85, flow: true,
        zoom: 1.15, rotate: 0, zoomSteps: 6, zoomOctaves: OctaveRange(lowest: 0, highest: 0),
        schedules: nil, weights: nil, curve: nil)

    /// The objective parsed without a network's layer names (to check the syntax, and for display);
    /// a name holding ':' may parse otherwise against a model. Throws `DreamError` for a malformed term.
    public var objectiveDescription: Objective {
        get throws { try objective(layerNames: []) }
    }

    /// The objective with each term's name resolved against a network's layers (names may hold `:`).
    public func objective(layerNames: Set<String>) throws -> Objective {
        Objective(kind: objective, terms: try layers.map { try LayerTerm(parsing: $0, layerNames: layerNames) })
    }

    /// Checks ranges; names the field.
    public func validate() throws {
        guard !layers.isEmpty else { throw DreamError.parameter(field: "layers", problem: "at least one layer is needed") }
        _ = try objectiveDescription
        guard octaveScale > 1, octaveScale <= 4 else {
            throw DreamError.parameter(field: "octaveScale", problem: "must be in (1, 4], got \(octaveScale)")
        }
        guard steps >= 0, steps <= 10_000 else { throw DreamError.parameter(field: "steps", problem: "must be 0...10000, got \(steps)") }
        guard stepSize > 0, stepSize < 10 else { throw DreamError.parameter(field: "stepSize", problem: "must be in (0, 10), got \(stepSize)") }
        guard tile == 0 || (tile >= 32 && tile <= 8192) else {
            throw DreamError.parameter(field: "tile", problem: "must be 0 (auto) or 32...8192, got \(tile)")
        }
        guard smoothing >= 0, smoothing <= 20 else { throw DreamError.parameter(field: "smoothing", problem: "must be 0...20, got \(smoothing)") }
        if let width {
            guard width >= 16, width <= 16384 else { throw DreamError.parameter(field: "width", problem: "must be 16...16384, got \(width)") }
        }
        if let guide, guide.isEmpty { throw DreamError.parameter(field: "guide", problem: "an empty path") }
        guard guideWeight >= 0, guideWeight <= 1 else {
            throw DreamError.parameter(field: "guideWeight", problem: "must be in [0, 1], got \(guideWeight)")
        }
        guard frameSteps >= 0, frameSteps <= 10_000 else {
            throw DreamError.parameter(field: "frameSteps", problem: "must be 0...10000, got \(frameSteps)")
        }
        guard blend >= 0, blend <= 1 else { throw DreamError.parameter(field: "blend", problem: "must be in [0, 1], got \(blend)") }
        guard zoom > 0, zoom.isFinite else { throw DreamError.parameter(field: "zoom", problem: "must be a positive factor per second, got \(zoom)") }
        guard rotate.isFinite, abs(rotate) <= 3600 else {
            throw DreamError.parameter(field: "rotate", problem: "must be within ±3600 degrees per second")
        }
        guard zoomSteps >= 0, zoomSteps <= 10_000 else {
            throw DreamError.parameter(field: "zoomSteps", problem: "must be 0...10000, got \(zoomSteps)")
        }
        try validateSchedules()
    }

    /// `validate()`, and the overrides' own checks that leave no trace in the result (a layer cycle).
    public static func validate(_ o: ParameterOverrides) throws { try o.layerCycle?.validate() }

    /// These parameters with every field `o` sets replaced; the fields it leaves nil are kept.
    public func applying(_ o: ParameterOverrides) -> DreamParameters {
        var p = self
        if let v = o.layers { p.layers = v }
        if let v = o.objective { p.objective = v }
        if let v = o.octaves { p.octaves = v }
        if let v = o.octaveScale { p.octaveScale = v }
        if let v = o.steps { p.steps = v }
        if let v = o.stepSize { p.stepSize = v }
        if let v = o.tile { p.tile = v }
        if let v = o.smoothing { p.smoothing = v }
        if let v = o.seed { p.seed = v }
        if let v = o.width { p.width = v }
        if let v = o.guide { p.guide = v }
        if let v = o.guideWeight { p.guideWeight = v }
        if let v = o.frameOctaves { p.frameOctaves = v }
        if let v = o.frameSteps { p.frameSteps = v }
        if let v = o.blend { p.blend = v }
        if let v = o.flow { p.flow = v }
        if let v = o.zoom { p.zoom = v }
        if let v = o.rotate { p.rotate = v }
        if let v = o.zoomSteps { p.zoomSteps = v }
        if let v = o.zoomOctaves { p.zoomOctaves = v }
        p.applySchedules(of: o)
        return p
    }
}

/// A preset file's fields, or the command line's: every field optional.
public struct ParameterOverrides: Sendable, Equatable, Codable {
    /// The preset's one-line summary for `render presets`; not a parameter.
    public var description: String?
    /// Replaces `DreamParameters.layers` when set.
    public var layers: [String]?
    /// Replaces `DreamParameters.objective` when set.
    public var objective: ObjectiveKind?
    /// Replaces `DreamParameters.octaves` when set.
    public var octaves: OctaveRange?
    /// Replaces `DreamParameters.octaveScale` when set.
    public var octaveScale: Float?
    /// Replaces `DreamParameters.steps` when set.
    public var steps: Int?
    /// Replaces `DreamParameters.stepSize` when set.
    public var stepSize: Float?
    /// Replaces `DreamParameters.tile` when set.
    public var tile: Int?
    /// Replaces `DreamParameters.smoothing` when set.
    public var smoothing: Float?
    /// Replaces `DreamParameters.seed` when set.
    public var seed: UInt64?
    /// Replaces `DreamParameters.width` when set.
    public var width: Int?
    /// Replaces `DreamParameters.guide` when set.
    public var guide: String?
    /// Replaces `DreamParameters.guideWeight` when set.
    public var guideWeight: Float?
    /// Replaces `DreamParameters.frameOctaves` when set.
    public var frameOctaves: OctaveRange?
    /// Replaces `DreamParameters.frameSteps` when set.
    public var frameSteps: Int?
    /// Replaces `DreamParameters.blend` when set.
    public var blend: Float?
    /// Replaces `DreamParameters.flow` when set.
    public var flow: Bool?
    /// Replaces `DreamParameters.zoom` when set.
    public var zoom: Float?
    /// Replaces `DreamParameters.rotate` when set.
    public var rotate: Float?
    /// Replaces `DreamParameters.zoomSteps` when set.
    public var zoomSteps: Int?
    /// Replaces `DreamParameters.zoomOctaves` when set.
    public var zoomOctaves: OctaveRange?
    /// Schedules merged into `DreamParameters.schedules`; a field set to a plain value here drops its schedule.
    public var schedules: [String: String]?
    /// Layer-weight schedules merged into `DreamParameters.weights`.
    public var weights: [String: String]?
    /// Replaces `DreamParameters.curve` when set.
    public var curve: ScheduleCurve?
    /// A layer cycle: the layers take turns, each `frames` frames, cross-fading into the next and
    /// from the last back to the first (DeepDreamVideo's customloop); expands into `weights`.
    public var layerCycle: LayerCycle?

    /// No overrides: every field nil.
    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case description, layers, objective, octaves, octaveScale, steps, stepSize, tile, smoothing
        case seed, width, guide, guideWeight, frameOctaves, frameSteps, blend, flow, zoom, rotate, zoomSteps, zoomOctaves
        case schedules, weights, curve, layerCycle
    }

    /// Decodes a preset file strictly: an unknown field or a wrong type is an error naming the
    /// file and the field.
    public static func decodePreset(_ data: Data, file: String) throws -> ParameterOverrides {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw DreamError.preset(file: file, problem: "not valid JSON (\(error.localizedDescription))")
        }
        guard let dict = object as? [String: Any] else { throw DreamError.preset(file: file, problem: "a preset must be a JSON object") }
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        if let unknown = dict.keys.sorted().first(where: { !known.contains($0) }) {
            throw DreamError.preset(file: file, problem: "unknown field '\(unknown)' (known: \(known.sorted().joined(separator: ", ")))")
        }
        do {
            // A schedule in a numeric field ("zoom": "0:(1.1), 48:(1.3)") moves to `schedules`.
            let (plain, schedules) = ParameterOverrides.separatingSchedules(dict)
            var o = try JSONDecoder().decode(
                ParameterOverrides.self, from: schedules.isEmpty ? data : JSONSerialization.data(withJSONObject: plain))
            if !schedules.isEmpty { o.schedules = (o.schedules ?? [:]).merging(schedules) { _, new in new } }
            try DreamParameters.validate(o)
            try DreamParameters.defaults.applying(o).validate()
            return o
        } catch let error as DecodingError {
            throw DreamError.preset(file: file, problem: "field '\(fieldName(error))': \(problem(error))")
        } catch let error as DreamError {
            throw DreamError.within(context: file, error)
        }
    }
}

private func fieldName(_ e: DecodingError) -> String {
    let path: [CodingKey]
    switch e {
    case .typeMismatch(_, let c), .valueNotFound(_, let c), .keyNotFound(_, let c), .dataCorrupted(let c): path = c.codingPath
    @unknown default: path = []
    }
    return path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
}

private func problem(_ e: DecodingError) -> String {
    switch e {
    case .typeMismatch(let t, _): return "expected \(t)"
    case .valueNotFound(let t, _): return "missing \(t)"
    case .keyNotFound(let k, _): return "missing \(k.stringValue)"
    case .dataCorrupted(let c): return (c.underlyingError as? DreamError)?.description ?? c.debugDescription
    @unknown default: return "invalid"
    }
}
