import ArgumentParser
import Dream
import Foundation
import Video

struct ZoomCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zoom",
        abstract: "Make an infinite zoom into a dreamed picture, optionally as a seamless loop.",
        discussion: """
            Motion is per second, so the same command gives the same motion at any --fps: --zoom is the \
            zoom factor per second (above 1 zooms in; per frame it is zoom^(1/fps)), --rotate degrees per \
            second, --drift x,y fractions of the frame per second, about the --focus point (relative \
            x,y; default the centre). Each frame moves the last dreamed frame on and dreams a few steps \
            (--zoom-steps). --loop closes the loop: every frame is blended a little more than the one \
            before towards the first frame moved back along the motion, and the loop is written with \
            keyframes only. The seam ratio is measured on the written video: each frame warped by \
            the exact motion against the next, over the centre 80 %; the wrap (last to first) over \
            the median step, 1 = seamless.
            """)

    @Argument(help: "Start picture: an image, or a video or numbered images (frames/%05d.png) with --frame/--at.") var input: String
    @Option(help: "Length in seconds.") var duration: Double?
    @Option(help: "Length in frames.") var frames: Int?
    @Option(help: "Frames per second.") var fps: Double = 24
    @Option(help: "Zoom factor per second (above 1 zooms in; a number or a schedule).") var zoom: String?
    @Option(parsing: .unconditional, help: "Rotation in degrees per second, clockwise (a number or a schedule).") var rotate: String?
    @Option(help: "Focus point, relative x,y in 0...1.") var focus: String = "0.5,0.5"
    @Option(help: "Drift of the focus, relative x,y per second.") var drift: String = "0,0"
    @Option(
        name: .customLong("pan-x"), parsing: .unconditional,
        help: "Drift across, frame widths per second (a number or a schedule; replaces --drift's x).")
    var panX: String?
    @Option(
        name: .customLong("pan-y"), parsing: .unconditional,
        help: "Drift down, frame heights per second (a number or a schedule; replaces --drift's y).")
    var panY: String?
    @Option(name: .customLong("focus-x"), help: "Focus across, 0...1 (a number or a schedule; replaces --focus's x).") var focusX: String?
    @Option(name: .customLong("focus-y"), help: "Focus down, 0...1 (a number or a schedule; replaces --focus's y).") var focusY: String?
    @Option(name: .customLong("zoom-steps"), help: "Gradient steps per frame (a number or a schedule).") var zoomSteps: String?
    @Flag(help: "Make the video loop seamlessly.") var loop = false
    @Option(help: "Video frame number of the start picture.") var frame: Int?
    @Option(help: "Video time in seconds of the start picture.") var at: Double?
    @OptionGroup var out: OutputOptions
    @OptionGroup var dream: DreamOptions

    func validate() throws {
        try out.validate(extensions: OutputOptions.videoExtensions + ["gif", "webp"])
        guard (duration == nil) != (frames == nil) else { throw ValidationError("give exactly one of --duration or --frames") }
        if let duration { guard duration > 0, duration.isFinite else { throw ValidationError("--duration must be positive, got \(duration)") } }
        if let frames { guard frames >= 2 else { throw ValidationError("--frames must be at least 2, got \(frames)") } }
        guard fps > 0, fps <= 240 else { throw ValidationError("--fps must be in (0, 240], got \(fps)") }
        if let zoom, let z = Schedule.number(zoom) {
            guard z > 0 else { throw ValidationError("--zoom must be a positive factor per second, got \(zoom)") }
        }
        _ = try pair(focus, "--focus"); _ = try pair(drift, "--drift")
        if frame != nil && at != nil { throw ValidationError("give --frame or --at, not both") }
    }

    func run() throws {
        var extra = ParameterOverrides()
        try extra.set("zoom", zoom)
        try extra.set("rotate", rotate)
        try extra.set("zoomSteps", zoomSteps)
        try extra.set("panX", panX); try extra.set("panY", panY)
        try extra.set("focusX", focusX); try extra.set("focusY", focusY)
        let parameters = try dream.resolve(defaultPreset: "zoom", extra: extra)
        let movesOverTime = parameters.schedules?.keys.contains { $0 == "zoom" || $0 == "rotate" } ?? false
        let d0 = try pair(drift, "--drift")
        if loop, let camera = parameters.schedules?.keys.filter({ DreamParameters.cameraFields.contains($0) }).sorted().first {
            throw RenderError.option(
                name: "--loop", problem: "cannot follow a scheduled \(camera) (a moving focus or pan does not compose into one closing motion)")
        }
        if loop && movesOverTime && (d0.0 != 0 || d0.1 != 0) {
            throw RenderError.option(
                name: "--loop", problem: "with a scheduled zoom or rotation needs --drift 0,0 (a drift does not compose with a changing zoom)")
        }
        let f = try pair(focus, "--focus"), d = try pair(drift, "--drift")
        let motion = try ZoomMotion(
            zoom: Double(parameters.zoom), rotate: Double(parameters.rotate),
            focus: (f.0, f.1), drift: (d.0, d.1), fps: fps)
        let count = frames ?? max(2, Int((duration! * fps).rounded()))
        let progress = Progress(quiet: dream.quiet)
        let picture = try readPicture(input, choice: FrameChoice(frame: frame, at: at))
        let guide = try GuideImage.load(parameters)
        let network = try loadNetwork(modelPath: dream.model, input: dream.inputConvention(), quiet: dream.quiet)
        var job = ZoomJob(
            picture: picture, output: out.output, parameters: parameters,
            record: RenderRecord(
                command: "zoom", preset: dream.presetName(default: "zoom"), parameters: parameters,
                model: dream.modelLabel, source: input, guideSHA256: guide?.sha256),
            motion: motion, frames: count, loop: loop)
        job.guide = guide?.picture
        job.encoder = out.encoder
        job.resume = out.resume
        job.overwrite = out.overwrite
        job.stopAfter = out.stopAfter
        job.checkpointEvery = out.checkpointEvery
        Interrupt.install()
        let result = try renderZoom(job, network: network, progress: progress)
        let minutes = progress.elapsed / 60
        print(
            "wrote \(out.wroteWhat(out.output, frames: result.frames)): \(result.frames) frames at \(fps) fps, \(String(format: "%.1f", Double(result.dreamedNow) / max(minutes, 1e-9))) frames/min"
        )
        if loop || !job.scheduledMotion, let r = result.seamRatio, let largest = result.largestStep {
            print(
                String(
                    format: "loop seam ratio %.3f (the wrap over the median step, 1 = an ordinary step; largest step %.3fx the median%@)",
                    r, largest, loop ? "" : "; add --loop to close the loop"))
        }
    }
}

private func pair(_ text: String, _ name: String) throws -> (Double, Double) {
    let parts = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
    guard parts.count == 2, let a = parts[0], let b = parts[1], a.isFinite, b.isFinite else {
        throw ValidationError("\(name) expects two numbers x,y, got '\(text)'")
    }
    return (a, b)
}
