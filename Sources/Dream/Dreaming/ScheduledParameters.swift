import Foundation

/// How a schedule runs between two keys whose values are numbers.
public enum ScheduleCurve: String, Codable, Sendable, CaseIterable {
    /// Straight lines between the keys (Deforum's default).
    case linear
    /// A cubic through the keys: the value's rate of change has no jumps at them.
    case smooth
}

/// Keyframed parameters: `schedules` maps a numeric field to a `Schedule`, `weights` a layer to the
/// schedule of its weight; `at(frame:fps:)` gives the parameters one frame renders with.
extension DreamParameters {
    /// The numeric fields a schedule can drive, and how a scheduled value sets each (counts are
    /// rounded; an octave count n means the n octaves ending at the working size, -(n-1)..0).
    static let schedulable: [String: @Sendable (inout DreamParameters, Double) -> Void] = [
        "steps": { $0.steps = Int($1.rounded()) },
        "stepSize": { $0.stepSize = Float($1) },
        "octaveScale": { $0.octaveScale = Float($1) },
        "smoothing": { $0.smoothing = Float($1) },
        "guideWeight": { $0.guideWeight = Float($1) },
        "octaves": { $0.octaves = octaveCount($1) },
        "frameSteps": { $0.frameSteps = Int($1.rounded()) },
        "frameOctaves": { $0.frameOctaves = octaveCount($1) },
        "blend": { $0.blend = Float($1) },
        "zoom": { $0.zoom = Float($1) },
        "rotate": { $0.rotate = Float($1) },
        "zoomSteps": { $0.zoomSteps = Int($1.rounded()) },
        "zoomOctaves": { $0.zoomOctaves = octaveCount($1) },
        // The zoom's camera, read by `render zoom` from the schedules themselves (no field here):
        // the drift of the focus per second and the focus point, each axis on its own.
        "panX": { _, _ in }, "panY": { _, _ in }, "focusX": { _, _ in }, "focusY": { _, _ in }
    ]

    /// The names `schedules` may use, sorted (for messages).
    public static var schedulableFields: [String] { schedulable.keys.sorted() }

    private static func octaveCount(_ v: Double) -> OctaveRange {
        let n = max(1, min(16, Int(v.rounded())))
        return OctaveRange(lowest: 1 - n, highest: 0)
    }

    /// The schedulable fields that exist only as schedules: `render zoom`'s pan and focus.
    public static let cameraFields: Set<String> = ["panX", "panY", "focusX", "focusY"]

    /// The value of schedule `field` at `frame`, or nil when it has none.
    public func scheduled(_ field: String, atFrame frame: Double, fps: Double) throws -> Double? {
        guard let text = schedules?[field] else { return nil }
        return try Schedule(parsing: text).value(atFrame: frame, fps: fps, smooth: curve == .smooth)
    }

    /// Whether any value changes over the frames.
    public var isScheduled: Bool { !(schedules ?? [:]).isEmpty || !(weights ?? [:]).isEmpty }

    /// The parameters frame `frame` renders with (frames counted from the render's start at `fps`
    /// frames per second; fractional frames are fine): every scheduled field set to its value there,
    /// layer weights set from `weights` (a layer not in `layers` joins with its weight; a layer
    /// whose weight is 0 there drops out, unless it is the last one). Throws, naming the frame,
    /// where a value falls outside its field's range.
    public func at(frame: Double, fps: Double) throws -> DreamParameters {
        guard isScheduled else { return self }
        var p = self
        let smooth = curve == .smooth
        for (field, text) in (schedules ?? [:]).sorted(by: { $0.key < $1.key }) {
            let value = try Schedule(parsing: text).value(atFrame: frame, fps: fps, smooth: smooth)
            DreamParameters.schedulable[field]?(&p, value)
        }
        if let weights, !weights.isEmpty {
            var terms = try layers.map { try LayerTerm(parsing: $0) }
            for (name, text) in weights.sorted(by: { $0.key < $1.key }) {
                let w = Float(try Schedule(parsing: text).value(atFrame: frame, fps: fps, smooth: smooth))
                if let i = terms.firstIndex(where: { $0.name == name }) {
                    terms[i].weight = w
                } else {
                    terms.append(LayerTerm(name: name, weight: w))
                }
            }
            let live = terms.filter { $0.weight != 0 }
            p.layers = (live.isEmpty ? Array(terms.prefix(1)) : live).map(\.text)
        }
        p.schedules = nil; p.weights = nil
        do { try p.validate() } catch let e as DreamError {
            throw DreamError.within(context: "at frame \(String(format: "%g", frame))", e)
        }
        p.schedules = schedules; p.weights = weights
        return p
    }

    /// Each schedule parses and names a schedulable field (or a layer, for weights).
    func validateSchedules() throws {
        for (field, text) in (schedules ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard DreamParameters.schedulable[field] != nil else {
                throw DreamError.parameter(
                    field: "schedules",
                    problem: "'\(field)' cannot be scheduled (these can: \(DreamParameters.schedulableFields.joined(separator: ", ")))")
            }
            do { _ = try Schedule(parsing: text) } catch let e as DreamError { throw DreamError.within(context: field, e) }
        }
        for (name, text) in (weights ?? [:]).sorted(by: { $0.key < $1.key }) {
            do { _ = try Schedule(parsing: text) } catch let e as DreamError { throw DreamError.within(context: "weights.\(name)", e) }
        }
    }

    /// Merges the overrides' schedules, and drops the schedule of every field the overrides set to
    /// a plain value (`--zoom 1.2` replaces a preset's zoom schedule).
    mutating func applySchedules(of o: ParameterOverrides) {
        var s = schedules ?? [:]
        for field in o.plainFields where DreamParameters.schedulable[field] != nil { s[field] = nil }
        if let new = o.schedules { s.merge(new) { _, n in n } }
        schedules = s.isEmpty ? nil : s
        if let w = o.weights { weights = (weights ?? [:]).merging(w) { _, n in n } }
        if let cycle = o.layerCycle {
            weights = (weights ?? [:]).merging(cycle.weights) { _, n in n }
            layers = [cycle.layers[0]]
        }
        if let c = o.curve { curve = c }
    }
}

/// Layers that take turns over the frames: layer i has weight 1 at frames i·frames, i·frames +
/// n·frames, ..., falling linearly to 0 one turn before and after, so each cross-fades into the
/// next and the last back into the first (a triangle wave of period n·frames per layer).
public struct LayerCycle: Sendable, Equatable, Codable {
    /// The layers in turn order (at least two).
    public var layers: [String]
    /// Frames per turn.
    public var frames: Double

    /// A cycle of `layers`, `frames` frames each.
    public init(layers: [String], frames: Double) { self.layers = layers; self.frames = frames }

    /// At least two layers, and a positive turn length.
    public func validate() throws {
        guard layers.count >= 2 else { throw DreamError.parameter(field: "layerCycle", problem: "needs at least two layers, got \(layers.count)") }
        guard frames > 0, frames.isFinite else { throw DreamError.parameter(field: "layerCycle", problem: "frames must be positive, got \(frames)") }
    }

    /// Each layer's weight schedule: max(0, 1 − circular distance, in turns, from its own turn).
    public var weights: [String: String] {
        let n = Double(layers.count), f = String(format: "%g", frames)
        var out = [String: String]()
        for (i, name) in layers.enumerated() {
            out[name] =
                "max(0, 1 - abs(((t/\(f) - \(i)) % \(String(format: "%g", n)) + \(String(format: "%g", 1.5 * n))) % \(String(format: "%g", n)) - \(String(format: "%g", n / 2))))"
        }
        return out
    }
}

extension ParameterOverrides {
    /// The fields set to a value (not nil), by name.
    var plainFields: [String] {
        Mirror(reflecting: self).children.compactMap { child in
            guard let label = child.label, Mirror(reflecting: child.value).children.first != nil else { return nil }
            return label
        }
    }

    /// Splits a preset's fields: a schedulable field holding a string that is not a plain number
    /// is a schedule (returned by field name); a string that is a number becomes that number.
    static func separatingSchedules(_ dict: [String: Any]) -> (plain: [String: Any], schedules: [String: String]) {
        var plain = dict, schedules = [String: String]()
        for (key, value) in dict where DreamParameters.schedulable[key] != nil {
            guard let text = value as? String, !key.hasSuffix("ctaves") || text.contains(":") || text.contains("t") else { continue }
            if let number = Schedule.number(text) { plain[key] = number } else { schedules[key] = text; plain[key] = nil }
        }
        return (plain, schedules)
    }

    /// Sets a numeric field from the command line: a plain number (parsed as the field's type, as
    /// a plain option would be), or a schedule.
    public mutating func set(_ field: String, _ text: String?) throws {
        guard let text else { return }
        guard DreamParameters.schedulable[field] != nil else { throw DreamError.parameter(field: field, problem: "cannot be scheduled") }
        let t = text.trimmingCharacters(in: .whitespaces)
        if Schedule.number(t) != nil && !DreamParameters.cameraFields.contains(field) {
            let int = { () throws -> Int in
                guard let v = Int(t) else { throw DreamError.parameter(field: field, problem: "expected a whole number, got '\(text)'") }
                return v
            }
            switch field {
            case "steps": steps = try int()
            case "frameSteps": frameSteps = try int()
            case "zoomSteps": zoomSteps = try int()
            case "stepSize": stepSize = Float(t)
            case "octaveScale": octaveScale = Float(t)
            case "smoothing": smoothing = Float(t)
            case "guideWeight": guideWeight = Float(t)
            case "blend": blend = Float(t)
            case "zoom": zoom = Float(t)
            case "rotate": rotate = Float(t)
            default: throw DreamError.parameter(field: field, problem: "give a count or a range like -3..0, or a schedule")
            }
        } else {
            _ = try Schedule(parsing: text)
            schedules = (schedules ?? [:]).merging([field: text]) { _, n in n }
        }
    }
}
