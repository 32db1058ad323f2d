import Foundation

/// The octaves to dream at, as exponents of the octave scale: size = working size · scale^k for
/// k in lowest...highest. `-3...0` dreams at four sizes ending at the working size; a positive
/// `highest` dreams above the working size (the TensorFlow tutorial's range(-2, 3)).
public struct OctaveRange: Sendable, Equatable, Codable, CustomStringConvertible {
    public var lowest: Int
    public var highest: Int

    public init(lowest: Int, highest: Int) { self.lowest = lowest; self.highest = highest }

    /// "-3..0" (a range), or "4" (four octaves ending at the working size: -3..0).
    public init(parsing text: String) throws {
        let t = text.trimmingCharacters(in: .whitespaces)
        if let r = t.range(of: "..") {
            guard let a = Int(t[..<r.lowerBound]), let b = Int(t[r.upperBound...]), a <= b, b - a < 16 else {
                throw DreamError("octaves '\(text)': expected LOW..HIGH with LOW <= HIGH, like -3..0")
            }
            self.init(lowest: a, highest: b)
        } else if let n = Int(t), n >= 1, n <= 16 {
            self.init(lowest: 1 - n, highest: 0)
        } else {
            throw DreamError("octaves '\(text)': expected a count from 1 to 16, or LOW..HIGH like -3..0")
        }
    }

    public var description: String { "\(lowest)..\(highest)" }
    public var count: Int { highest - lowest + 1 }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let n = try? c.decode(Int.self) { try self.init(parsing: String(n)) } else { try self.init(parsing: c.decode(String.self)) }
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// Every knob of a render. Presets and command-line options are `ParameterOverrides` applied on
/// top of `DreamParameters.defaults`, in that order.
public struct DreamParameters: Sendable, Equatable, Codable {
    // The dream of one picture.
    public var layers: [String]  // LayerTerm syntax: name[:weight], name[c1,c2]
    public var objective: ObjectiveKind
    public var octaves: OctaveRange
    public var octaveScale: Float
    public var steps: Int  // gradient steps per octave
    public var stepSize: Float  // in model-input units, per step, after std normalisation
    public var tile: Int  // tile side in pixels; 0 = choose from the memory budget
    public var smoothing: Float  // Gaussian blur sigma (px) of the gradient; 0 = off
    public var seed: UInt64
    public var width: Int?  // working width (aspect kept); nil = the input's

    // Videos: frames after the first.
    public var frameOctaves: OctaveRange
    public var frameSteps: Int
    public var blend: Float  // share of the previous frame's dream carried into the next
    public var flow: Bool  // carry the dream along the footage's optical flow

    // Zoom loops.
    public var zoom: Float  // zoom factor per second (> 1 zooms in)
    public var rotate: Float  // degrees per second
    public var zoomSteps: Int  // gradient steps per zoom frame
    public var zoomOctaves: OctaveRange

    // Animation: keyframed values over the frames (see ScheduledParameters.swift).
    public var schedules: [String: String]?  // field name → schedule, e.g. "zoom": "0:(1.1), 48:(1.3)"
    public var weights: [String: String]?  // layer name → schedule of its weight (cross-fades)
    public var curve: ScheduleCurve?  // between numeric keys: linear (nil) or smooth

    public static let defaults = DreamParameters(
        layers: ["block10"], objective: .l2, octaves: OctaveRange(lowest: -3, highest: 0),
        octaveScale: 1.3, steps: 25, stepSize: 0.01, tile: 512, smoothing: 0, seed: 0, width: nil,
        frameOctaves: OctaveRange(lowest: -1, highest: 0), frameSteps: 8, blend: 0.85, flow: true,
        zoom: 1.15, rotate: 0, zoomSteps: 6, zoomOctaves: OctaveRange(lowest: 0, highest: 0),
        schedules: nil, weights: nil, curve: nil)

    public var objectiveDescription: Objective {
        get throws { try objective(layerNames: []) }
    }

    /// The objective with each term's name resolved against a network's layers (names may hold `:`).
    public func objective(layerNames: Set<String>) throws -> Objective {
        Objective(kind: objective, terms: try layers.map { try LayerTerm(parsing: $0, layerNames: layerNames) })
    }

    /// Checks ranges; names the field.
    public func validate() throws {
        guard !layers.isEmpty else { throw DreamError("layers: at least one layer is needed") }
        _ = try objectiveDescription
        guard octaveScale > 1, octaveScale <= 4 else { throw DreamError("octaveScale: must be in (1, 4], got \(octaveScale)") }
        guard steps >= 0, steps <= 10_000 else { throw DreamError("steps: must be 0...10000, got \(steps)") }
        guard stepSize > 0, stepSize < 10 else { throw DreamError("stepSize: must be in (0, 10), got \(stepSize)") }
        guard tile == 0 || (tile >= 32 && tile <= 8192) else { throw DreamError("tile: must be 0 (auto) or 32...8192, got \(tile)") }
        guard smoothing >= 0, smoothing <= 20 else { throw DreamError("smoothing: must be 0...20, got \(smoothing)") }
        if let width { guard width >= 16, width <= 16384 else { throw DreamError("width: must be 16...16384, got \(width)") } }
        guard frameSteps >= 0, frameSteps <= 10_000 else { throw DreamError("frameSteps: must be 0...10000, got \(frameSteps)") }
        guard blend >= 0, blend <= 1 else { throw DreamError("blend: must be in [0, 1], got \(blend)") }
        guard zoom > 0, zoom.isFinite else { throw DreamError("zoom: must be a positive factor per second, got \(zoom)") }
        guard rotate.isFinite, abs(rotate) <= 3600 else { throw DreamError("rotate: must be within ±3600 degrees per second") }
        guard zoomSteps >= 0, zoomSteps <= 10_000 else { throw DreamError("zoomSteps: must be 0...10000, got \(zoomSteps)") }
        try validateSchedules()
    }

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
    public var description: String?
    public var layers: [String]?
    public var objective: ObjectiveKind?
    public var octaves: OctaveRange?
    public var octaveScale: Float?
    public var steps: Int?
    public var stepSize: Float?
    public var tile: Int?
    public var smoothing: Float?
    public var seed: UInt64?
    public var width: Int?
    public var frameOctaves: OctaveRange?
    public var frameSteps: Int?
    public var blend: Float?
    public var flow: Bool?
    public var zoom: Float?
    public var rotate: Float?
    public var zoomSteps: Int?
    public var zoomOctaves: OctaveRange?

    public var schedules: [String: String]?
    public var weights: [String: String]?
    public var curve: ScheduleCurve?

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case description, layers, objective, octaves, octaveScale, steps, stepSize, tile, smoothing
        case seed, width, frameOctaves, frameSteps, blend, flow, zoom, rotate, zoomSteps, zoomOctaves
        case schedules, weights, curve
    }

    /// Decodes a preset file strictly: an unknown field or a wrong type is an error naming the
    /// file and the field.
    public static func decodePreset(_ data: Data, file: String) throws -> ParameterOverrides {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw DreamError("\(file): not valid JSON (\(error.localizedDescription))")
        }
        guard let dict = object as? [String: Any] else { throw DreamError("\(file): a preset must be a JSON object") }
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        if let unknown = dict.keys.sorted().first(where: { !known.contains($0) }) {
            throw DreamError("\(file): unknown field '\(unknown)' (known: \(known.sorted().joined(separator: ", ")))")
        }
        do {
            // A schedule in a numeric field ("zoom": "0:(1.1), 48:(1.3)") moves to `schedules`.
            let (plain, schedules) = ParameterOverrides.separatingSchedules(dict)
            var o = try JSONDecoder().decode(
                ParameterOverrides.self, from: schedules.isEmpty ? data : JSONSerialization.data(withJSONObject: plain))
            if !schedules.isEmpty { o.schedules = (o.schedules ?? [:]).merging(schedules) { _, new in new } }
            try DreamParameters.defaults.applying(o).validate()
            return o
        } catch let error as DecodingError {
            throw DreamError("\(file): field '\(fieldName(error))': \(problem(error))")
        } catch let error as DreamError {
            throw DreamError("\(file): \(error.description)")
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
