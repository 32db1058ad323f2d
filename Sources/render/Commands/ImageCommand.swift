import ArgumentParser
import Dream
import Foundation
import Video

struct ImageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image",
        abstract: "Dream a still image, or preview exactly one frame of a video.",
        discussion: """
            IN is any image, or a video with --frame N or --at SECONDS: that frame is dreamed with the \
            same parameters a video render would use. OUT is PNG or JPEG by extension; the parameters \
            are recorded in its metadata (see `render probe OUT`).
            """)

    @Argument(help: "Input image, video, or numbered images (frames/%05d.png).") var input: String
    @Option(name: .shortAndLong, help: "Output PNG or JPEG.") var output: String
    @Option(help: "Video frame number to preview (0-based).") var frame: Int?
    @Option(help: "Video time in seconds to preview.") var at: Double?
    @Option(
        help:
            "Frame rate: of numbered image input (default 25, as FFmpeg's image2), or the rate a still's schedules are read at with --frame/--at (default 24)."
    )
    var fps: String?
    @OptionGroup var dream: DreamOptions

    func validate() throws {
        guard ["png", "jpg", "jpeg"].contains(URL(fileURLWithPath: output).pathExtension.lowercased()) else {
            throw ValidationError("\(output): the output must end in .png, .jpg or .jpeg")
        }
        if frame != nil && at != nil { throw ValidationError("give --frame or --at, not both") }
        if FrameSequence.isPattern(output) {
            throw ValidationError("\(output): render image writes one picture; numbered frames come from render video or render zoom")
        }
        if fps != nil && !FrameSequence.isPattern(input) && !isStillPath(input) {
            throw ValidationError("--fps applies to numbered image input (frames/%05d.png) or to a still's schedules; \(input) has its own rate")
        }
    }

    func run() throws {
        var parameters = try dream.resolve(defaultPreset: "classic")
        let progress = Progress(quiet: dream.quiet)
        // A still with --frame/--at previews a schedule's values there (a video's frame is also that frame).
        let rate = try fps.map { try parseRate($0, option: "--fps") }
        let sequence = FrameSequence.isPattern(input), still = isStillPath(input) && !sequence
        if still && (frame != nil || at != nil) && !parameters.isScheduled {
            throw RenderError.file(path: input, problem: "--frame and --at apply to videos, or to presets with schedules")
        }
        let picture = try readPicture(
            input, choice: still ? FrameChoice() : FrameChoice(frame: frame, at: at), sequenceRate: still ? nil : rate)
        let guide = try GuideImage.load(parameters)
        if parameters.isScheduled, frame != nil || at != nil {
            let fps =
                still ? rate?.value ?? 24 : try VideoReader(path: input, sequenceRate: rate).info.frameRate.value
            parameters = try parameters.at(frame: frame.map(Double.init) ?? (at! * fps).rounded(), fps: fps)
        }
        let network = try loadNetwork(modelPath: dream.model, input: dream.inputConvention(), quiet: dream.quiet)
        let dreamer = Dreamer(model: network)
        dreamer.guide = guide?.picture
        let size = workingSize(of: picture, width: parameters.width)
        let start = resize(tensor(from: picture), height: size.height, width: size.width, interpolation: .bicubic)
        var rng = SeededGenerator(seed: parameters.seed)
        let dreamed = try dreamer.dream(start, parameters: parameters, rng: &rng) { p in
            progress.update(
                fraction: p.fraction,
                "octave \(p.octave + 1)/\(p.octaves) step \(p.step + 1)/\(p.steps) tile \(p.tile + 1)/\(p.tiles)")
        }
        progress.finish()
        let record = RenderRecord(
            command: "image", preset: dream.presetName(default: "classic"), parameters: parameters,
            model: dream.modelLabel, source: input, guideSHA256: guide?.sha256)
        try ImageFile.write(rgbImage(from: dreamed), to: output, metadata: ["reverie": try record.json()])
        progress.say("wrote \(output) (\(size.width)x\(size.height), \(String(format: "%.1f", progress.elapsed)) s)")
    }
}
