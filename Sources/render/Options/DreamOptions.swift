import ArgumentParser
import Dream
import Foundation

/// The dream parameters every dreaming command takes. Each option overrides the preset's field.
struct DreamOptions: ParsableArguments {
    @Option(
        help:
            "Preset name (see `render presets`) or path to a preset JSON file (default: video for `render video`, zoom for `render zoom`, classic otherwise)."
    )
    var preset: String?

    @Option(help: "Layers to dream with, comma-separated: name, name:weight, name[channels] (see `render layers`).")
    var layers: String?

    @Option(help: "Objective: l2 (0.5·mean(A²), for signed layers) or mean (mean(A), for post-ReLU layers).")
    var objective: ObjectiveKind?

    // .unconditional: a range like -3..0 starts with a dash and must still be taken as the value.
    @Option(parsing: .unconditional, help: "Octaves: a count (4 = -3..0) or a range of scale exponents like -3..0.")
    var octaves: String?

    @Option(name: .customLong("octave-scale"), help: "Size ratio between octaves (a number or a schedule).")
    var octaveScale: String?

    @Option(help: "Gradient steps per octave (a number or a schedule).")
    var steps: String?

    @Option(
        name: .customLong("step-size"),
        help: "Step size in model-input units (the gradient is normalised by its std; a number or a schedule).")
    var stepSize: String?

    @Option(help: "Tile side in pixels (0 = largest that fits the memory budget).")
    var tile: Int?

    @Option(help: "Gaussian sigma (px) to smooth the gradient with; 0 = off (a number or a schedule).")
    var smoothing: String?

    @Option(help: "How schedules run between numeric keys: linear or smooth.")
    var curve: ScheduleCurve?

    @Option(name: .customLong("layer-cycle"), help: "Layers that take turns, cross-fading, e.g. block8,block10,block12 (replaces --layers).")
    var layerCycle: String?

    @Option(name: .customLong("cycle-frames"), help: "Frames per turn of --layer-cycle.")
    var cycleFrames: Double = 24

    @Option(help: "A guide image: each part of the dream is pulled towards the guide's feature it resembles most.")
    var guide: String?

    @Option(
        name: .customLong("guide-weight"),
        help: "The guide's share of the objective, 0...1: 1 the guide alone, 0 none (a number or a schedule).")
    var guideWeight: String?

    @Option(help: "Seed of the random roll; the same seed and inputs give identical output.")
    var seed: UInt64?

    @Option(help: "Working width in pixels (height follows the aspect ratio).")
    var width: Int?

    @Option(help: "An ONNX file, or a model name (vgg16, efficientnet-lite0), to dream with instead of the default EfficientNet-Lite0.")
    var model: String?
    @Option(
        help: ArgumentHelp(
            "How the model expects its input: torch (ImageNet mean/std), caffe (BGR 0-255 minus the mean), inception (-1...1), unit (0...1) or raw (0...255).",
            discussion: "Overrides a sidecar MODEL.onnx.json, the model's metadata and what its architecture suggests."))
    var input: String?

    /// `--input` as a convention; a bad name is one line listing the good ones.
    func inputConvention() throws -> InputConvention? {
        guard let input else { return nil }
        guard let c = InputConvention(name: input) else {
            throw ValidationError("--input \(input): not one of \(InputConvention.names)")
        }
        return c
    }

    /// How renders record the model they used (provenance, checkpoints, chunk labels).
    var modelLabel: String { (model ?? "default:efficientnet-lite0") + (input.map { " --input \($0)" } ?? "") }

    @Flag(help: "No progress output.")
    var quiet = false

    /// The command line's overrides (preset fields excluded).
    func overrides() throws -> ParameterOverrides {
        var o = ParameterOverrides()
        if let layers { o.layers = try LayerTerm.splitList(layers) }
        o.objective = objective
        if let octaves { o.octaves = try OctaveRange(parsing: octaves) }
        try o.set("octaveScale", octaveScale)
        try o.set("steps", steps)
        try o.set("stepSize", stepSize)
        o.tile = tile
        try o.set("smoothing", smoothing)
        o.curve = curve
        if let layerCycle {
            o.layerCycle = LayerCycle(layers: try LayerTerm.splitList(layerCycle), frames: cycleFrames)
            try DreamParameters.validate(o)
        }
        o.guide = guide
        try o.set("guideWeight", guideWeight)
        o.seed = seed
        o.width = width
        return o
    }

    /// The preset in use: the one given, or the command's own default.
    func presetName(default name: String) -> String { preset ?? name }

    /// Defaults ← preset ← command line, validated.
    func resolve(defaultPreset: String, extra: ParameterOverrides = ParameterOverrides()) throws -> DreamParameters {
        let preset = presetName(default: defaultPreset)
        let p = DreamParameters.defaults
            .applying(try Presets.load(preset))
            .applying(try overrides())
            .applying(extra)
        try p.validate()
        if guideWeight != nil && p.guide == nil {
            throw RenderError.option(name: "--guide-weight", problem: "needs a guide image (--guide IMAGE, or a preset's \"guide\")")
        }
        return p
    }
}

extension ObjectiveKind: ExpressibleByArgument {}
extension ScheduleCurve: ExpressibleByArgument {}
