import ArgumentParser
import Dream
import Foundation
import Video

struct VideoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "video",
        abstract: "Dream a video: each frame seeded from the previous dream, carried along the motion.",
        discussion: """
            The first frame is dreamed fully (the preset's octaves and steps). Every later frame starts \
            from the current source frame plus the previous frame's dream carried along the optical flow \
            of the footage, then gets a shorter dream (--frame-octaves, --frame-steps).

            Blend: start = source + blend × (previous dream − previous source), warped along the motion. \
            --blend 0.0 dreams every frame independently (it flickers); --blend 1.0 carries the whole \
            previous dream. Values below 1 let carried hallucination decay instead of piling up. Areas \
            the flow check marks as occluded or newly revealed start from the fresh frame. --flow off \
            carries the dream in place, without motion.

            The output keeps the source's frame rate, timestamps and audio, trimmed to the range. A render \
            checkpoints every few frames into OUT.reverie-resume/; after a crash or Ctrl-C, run the same \
            command with --resume. After the render, the excess warping error and the dream strength are \
            printed (see `render score`).
            """)

    @Argument(help: "Input video, or numbered images: frames/%05d.png (read from the first number found).") var input: String
    @Option(help: "Frame rate of numbered image input, e.g. 24, 24000/1001 (default 25, as FFmpeg's image2).") var fps: String?
    @Option(help: "Start time in seconds.") var start: Double = 0
    @Option(help: "Duration in seconds (default: to the end).") var duration: Double?
    @Option(name: .customLong("frame-octaves"), parsing: .unconditional, help: "Octaves for frames after the first, e.g. -1..0.") var frameOctaves:
        String?
    @Option(name: .customLong("frame-steps"), help: "Steps per octave for frames after the first (a number or a schedule).") var frameSteps: String?
    @Option(help: "Share of the previous dream carried into the next frame, 0...1 (see above; a number or a schedule).")
    var blend: String?
    @Option(help: "Carry the dream along the optical flow: on or off.") var flow: Toggle?
    @Option(help: "Tile roll per frame: fixed (the same offsets every frame; measured to flicker less) or varying.")
    var roll: RollMode = .fixed
    @Option(help: "Render only chunk K of N (K from 0) into OUT.parts/, for `render join OUT` (see `render farm`).")
    var chunk: String?
    @Option(help: "Seconds dreamed before a chunk's first frame to build up the carried dream (not written).")
    var warmup: Double = Chunk.defaultWarmup
    @OptionGroup var out: OutputOptions
    @OptionGroup var dream: DreamOptions

    func validate() throws {
        try out.validate()
        if let chunk { _ = try Chunk(parsing: chunk, warmup: warmup) }
        if chunk != nil && out.isSequence {
            throw ValidationError("--chunk needs a video file output (.mp4, .mov, .mkv, .webm): PNG frames are rendered in one run")
        }
        if fps != nil && !FrameSequence.isPattern(input) {
            throw ValidationError("--fps applies to numbered image input (frames/%05d.png); \(input) has its own rate")
        }
    }

    func run() throws {
        var extra = ParameterOverrides()
        if let frameOctaves { extra.frameOctaves = try OctaveRange(parsing: frameOctaves) }
        try extra.set("frameSteps", frameSteps)
        try extra.set("blend", blend)
        extra.flow = flow.map { $0 == .on }
        let parameters = try dream.resolve(defaultPreset: "video", extra: extra)
        let guide = try GuideImage.load(parameters)
        let progress = Progress(quiet: dream.quiet)
        let network = try loadNetwork(modelPath: dream.model, input: dream.inputConvention(), quiet: dream.quiet)
        let part = try chunk.map { try Chunk(parsing: $0, warmup: warmup) }
        let destination = part.map { Chunk.partPath(of: out.output, index: $0.index, count: $0.count) } ?? out.output
        if let part {
            try FileManager.default.createDirectory(atPath: Chunk.partsFolder(of: out.output), withIntermediateDirectories: true)
            // A requeued task whose part is already written has nothing to do.
            if !out.overwrite, FileManager.default.fileExists(atPath: destination) {
                print("\(destination): chunk \(part.index)/\(part.count) is already rendered (--overwrite renders it again)")
                return
            }
        }
        var job = VideoJob(
            input: input, output: destination, parameters: parameters,
            record: RenderRecord(
                command: "video", preset: dream.presetName(default: "video"), parameters: parameters,
                model: dream.modelLabel, source: input, guideSHA256: guide?.sha256))
        job.guide = guide?.picture
        job.start = start
        job.duration = duration
        job.inputRate = try fps.map { try parseRate($0, option: "--fps") }
        job.encoder = out.encoder
        job.resume = out.resume
        job.overwrite = out.overwrite
        job.stopAfter = out.stopAfter
        job.checkpointEvery = out.checkpointEvery
        job.fixedRoll = roll == .fixed
        job.chunk = part
        Interrupt.install()
        let result = try renderVideo(job, network: network, progress: progress)
        let minutes = progress.elapsed / 60
        print(
            "wrote \(out.wroteWhat(destination, frames: result.frames)): \(result.frames) frames, \(String(format: "%.2f", result.seconds)) s, \(String(format: "%.1f", Double(result.dreamedNow) / max(minutes, 1e-9))) frames/min"
        )
        print(String(format: "excess warping error %.6f, dream strength %.4f", result.score.excessWarpingError, result.score.dreamStrength))
    }
}

enum Toggle: String, ExpressibleByArgument, CaseIterable { case on, off }
enum RollMode: String, ExpressibleByArgument, CaseIterable { case fixed, varying }
