import Dream
import Foundation
import Video

/// What `render zoom` does: dream the start picture fully, then for every frame move the last
/// dreamed frame on along the zoom, dream a few steps, emit; optionally close the loop.
struct ZoomJob {
    var picture: RGBImage
    var output: String
    var parameters: DreamParameters
    var record: RenderRecord
    var guide: Tensor? = nil  // the guide image, RGB in [0, 1]; nil: none
    var motion: ZoomMotion
    var frames: Int
    var loop: Bool
    var encoder = EncoderSettings()
    var resume = false
    var overwrite = false
    var checkpointEvery = ResumableOutput.defaultCheckpointEvery  // frames
    var stopAfter: Int? = nil

    /// Zoom frames dreamed before a loop's first frame (not written): two seconds' worth. Why: the
    /// fully dreamed start picture has more fine detail than the zoom frames keep (each frame's
    /// resampling softens, its few dream steps add coarser detail), so for a second or two the
    /// frames soften; a loop whose first frame came from before that point ends, where it turns
    /// back into its first frame, with steps up to 1.5x the median (measured at 96–160 px, 30 fps,
    /// 10 s: largest step 1.56x after a 1 s lead-in, 1.34x after 2 s).
    static func loopLeadIn(fps: Double) -> Int { max(1, Int((2 * fps).rounded())) }

    /// Whether a schedule drives the zoom or the turn.
    var scheduledMotion: Bool {
        parameters.schedules?.keys.contains { $0 == "zoom" || $0 == "rotate" || DreamParameters.cameraFields.contains($0) } ?? false
    }

    /// The motion of the step into frame `k`: the zoom, turn, pan and focus scheduled there.
    func motion(atFrame k: Int) throws -> ZoomMotion {
        guard scheduledMotion else { return motion }
        let p = try parameters.at(frame: Double(k), fps: motion.fps)
        var m = motion
        m.zoom = Double(p.zoom); m.rotate = Double(p.rotate)
        let t = Double(k), fps = motion.fps
        if let v = try p.scheduled("panX", atFrame: t, fps: fps) { m.drift.x = v }
        if let v = try p.scheduled("panY", atFrame: t, fps: fps) { m.drift.y = v }
        if let v = try p.scheduled("focusX", atFrame: t, fps: fps) { m.focus.x = v }
        if let v = try p.scheduled("focusY", atFrame: t, fps: fps) { m.focus.y = v }
        guard (0...1).contains(m.focus.x), (0...1).contains(m.focus.y), m.drift.x.isFinite, m.drift.y.isFinite else {
            throw RenderError.option(
                name: "--focus-x/--focus-y", problem: "must stay inside the frame (0...1); at frame \(k) the focus is \(m.focus.x),\(m.focus.y)")
        }
        return m
    }
}

struct ZoomResult {
    var frames: Int
    var dreamedNow: Int  // frames dreamed by this run (fewer after --resume)
    var seamRatio: Double?  // the wrap over the median step, measured on the written video
    var largestStep: Double?  // the largest step (wrap included) over the median
}

func renderZoom(_ job: ZoomJob, network: Network, progress: Progress) throws -> ZoomResult {
    let size = workingSize(of: job.picture, width: job.parameters.width ?? min(job.picture.width, 640))
    let fps = job.motion.fps
    let frameRate = Rational(approximating: fps)
    var fingerprint = job.record
    fingerprint.version = ""
    let output = try ResumableOutput(
        destination: job.output,
        fingerprint:
            "\(try fingerprint.json())|\(job.frames)|\(job.loop)|\(job.motion.zoom)|\(job.motion.rotate)|\(job.motion.focus)|\(job.motion.drift)|\(fps)",
        width: size.width, height: size.height, frameRate: frameRate, resume: job.resume, overwrite: job.overwrite,
        depth: job.encoder.depth)
    let dreamer = Dreamer(model: network)
    dreamer.guide = job.guide
    // Closing over the whole loop: the blend towards the first frame grows by the same amount every
    // frame, so no step is larger than the others (closing over the last 2 s made those steps up
    // to 3.2x the median step).
    // A scheduled zoom or turn: the motion of the step into each frame k = 1...frames (the last
    // is the wrap into the first frame, at the schedule's frame `frames`).
    let stepMotions = try job.scheduledMotion ? (0...job.frames).map { k in try job.motion(atFrame: k) } : nil
    let closure = LoopClosure(motion: job.motion, frameCount: job.frames, length: job.frames - 1, steps: stepMotions)
    var rng = SeededGenerator(seed: job.parameters.seed)
    var previous: Tensor? = nil
    var first: Tensor? = nil
    var anchor: ColourAnchor? = nil  // the first frame's colour statistics, against drift
    let done = output.framesDone
    if done > 0 {
        let saved = try output.loadCarry()
        guard let p = saved["previous"], let f = saved["first"] else {
            throw RenderError.file(path: "\(job.output).reverie-resume", problem: "the checkpoint has no carried state")
        }
        previous = p; first = f
        anchor = ColourAnchor(reference: f)
        rng = SeededGenerator(seed: output.state.rng)
        progress.say("resuming \(job.output) at frame \(done + 1)")
    }
    let began = Date()
    for index in done..<job.frames {
        let report = { (p: DreamProgress) in
            let f = (Double(index - done) + p.fraction) / Double(max(job.frames - done, 1))
            progress.update(fraction: f, "frame \(index + 1)/\(job.frames)\(rate(index - done, since: began))")
        }
        // This frame's values: scheduled fields at frame `index` (the lead-in uses frame 0's).
        let parameters = try job.parameters.at(frame: Double(index), fps: fps)
        let motion = stepMotions?[index] ?? job.motion
        /// One zoom frame: the last one moved on and dreamed a few steps.
        func zoomFrame(after prev: Tensor) throws -> Tensor {
            let frame = try dreamer.dream(
                motion.advance(prev), parameters: parameters, octaves: parameters.zoomOctaves,
                steps: parameters.zoomSteps, rng: &rng, progress: report)
            return anchor.map { $0.apply(frame) } ?? frame
        }
        var frame: Tensor
        if let prev = previous {
            frame = try zoomFrame(after: prev)
        } else {
            let start = resize(tensor(from: job.picture), height: size.height, width: size.width, interpolation: .bicubic)
            frame = try dreamer.dream(start, parameters: parameters, rng: &rng, progress: report)
            anchor = ColourAnchor(reference: frame)
            // A loop starts from an ordinary zoom frame: the fully dreamed start picture is sharper
            // than any frame after it, and the loop comes back to its first frame.
            if job.loop {
                for _ in 0..<ZoomJob.loopLeadIn(fps: fps) { frame = try zoomFrame(after: frame) }
                anchor = ColourAnchor(reference: frame)  // the colours of the frame the loop returns to (as on resume)
            }
            first = frame
        }
        if job.loop { frame = closure.close(frame, index: index, first: first!) }
        previous = frame
        if output.depth == 16 {
            try output.append(rgb48Image(from: frame), seconds: Double(index) / fps)
        } else {
            try output.append(rgbImage(from: frame), seconds: Double(index) / fps)
        }
        if (index + 1) % job.checkpointEvery == 0 || Interrupt.requested {
            try output.checkpoint(framesDone: index + 1, rng: rng, carry: ["previous": frame, "first": first!])
        }
        if Interrupt.requested { throw Interrupted(destination: job.output) }
        if let stop = job.stopAfter, index + 1 >= stop { _exit(137) }
    }
    try output.checkpoint(framesDone: job.frames, rng: rng, carry: ["previous": previous!, "first": first!])
    progress.finish()
    var settings = job.encoder
    // A loop is all keyframes: the wrap goes from the last frame to a keyframe, so with predicted
    // frames in between its compression error alone made the seam 1.8x an ordinary step (measured
    // at CRF 18, 256 px); all-intra makes every step alike, for ~1.8x the file size.
    if job.loop { settings.keyframeInterval = 1 }
    let sequence = FrameSequence.isPattern(job.output)
    try output.encode(settings: settings, audioFrom: nil, audioRange: nil, metadata: ["reverie": try job.record.json()]) { writer in
        guard sequence else { return }
        try SequenceTiming(
            writer: writer, pattern: job.output, firstNumber: job.encoder.startNumber, source: nil, sourceStart: nil,
            sourceHasAudio: false, record: try job.record.json()
        ).attach(to: writer, pattern: job.output)
    }
    // The seam, measured on the video as written (nil where FFmpeg cannot read the format back:
    // animated WebP).
    var seam = SeamMeter(motion: job.motion, steps: stepMotions)
    if let written = try? VideoReader(path: job.output, sequenceRate: frameRate) {
        while let f = try? written.nextFrame() { seam.add(tensor(from: f.image)) }
    }
    return ZoomResult(frames: job.frames, dreamedNow: job.frames - done, seamRatio: seam.ratio, largestStep: seam.largestStepRatio)
}
