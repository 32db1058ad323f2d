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
    var motion: ZoomMotion
    var frames: Int
    var loop: Bool
    var encoder = EncoderSettings()
    var resume = false
    var overwrite = false
    var checkpointEvery = 10
    var stopAfter: Int? = nil
}

struct ZoomResult {
    var frames: Int
    var dreamedNow: Int          // frames dreamed by this run (fewer after --resume)
    var seamRatio: Double?
}

func renderZoom(_ job: ZoomJob, network: Network, progress: Progress) throws -> ZoomResult {
    let size = workingSize(of: job.picture, width: job.parameters.width ?? min(job.picture.width, 640))
    let fps = job.motion.fps
    let frameRate = Rational(approximating: fps)
    var fingerprint = job.record
    fingerprint.version = ""
    let output = try ResumableOutput(
        destination: job.output,
        fingerprint: "\(try fingerprint.json())|\(job.frames)|\(job.loop)|\(job.motion.zoom)|\(job.motion.rotate)|\(job.motion.focus)|\(job.motion.drift)|\(fps)",
        width: size.width, height: size.height, frameRate: frameRate, resume: job.resume, overwrite: job.overwrite)
    let dreamer = Dreamer(model: network)
    // Closing over the last 2 seconds (at most a third of the loop) keeps the cross-fade gentle.
    let closure = LoopClosure(motion: job.motion, frameCount: job.frames, length: min(job.frames / 3, Int(2 * fps)))
    var rng = SeededGenerator(seed: job.parameters.seed)
    var previous: Tensor? = nil
    var first: Tensor? = nil
    var anchor: ColourAnchor? = nil    // the first frame's colour statistics, against drift
    var seam = SeamMeter(motion: job.motion)
    let done = output.framesDone
    if done > 0 {
        let saved = try output.loadCarry()
        guard let p = saved["previous"], let f = saved["first"] else {
            throw DreamError("\(job.output).reverie-resume: the checkpoint has no carried state")
        }
        previous = p; first = f
        anchor = ColourAnchor(reference: f)
        rng = SeededGenerator(seed: output.state.rng)
        // The seam meter is rebuilt from the frames already written.
        try output.forEachFrame { _, _, image in seam.add(tensor(from: image)) }
        progress.say("resuming \(job.output) at frame \(done + 1)")
    }
    let began = Date()
    for index in done..<job.frames {
        let report = { (p: DreamProgress) in
            let f = (Double(index - done) + p.fraction) / Double(max(job.frames - done, 1))
            progress.update(fraction: f, "frame \(index + 1)/\(job.frames)\(rate(index - done, since: began))")
        }
        var frame: Tensor
        if let prev = previous {
            frame = try dreamer.dream(job.motion.advance(prev), parameters: job.parameters, octaves: job.parameters.zoomOctaves,
                                      steps: job.parameters.zoomSteps, rng: &rng, progress: report)
            if let anchor { frame = anchor.apply(frame) }
        } else {
            let start = resize(tensor(from: job.picture), height: size.height, width: size.width, interpolation: .bicubic)
            frame = try dreamer.dream(start, parameters: job.parameters, rng: &rng, progress: report)
            first = frame
            anchor = ColourAnchor(reference: frame)
        }
        if job.loop { frame = closure.close(frame, index: index, first: first!) }
        previous = frame
        seam.add(frame)
        try output.append(rgbImage(from: frame), seconds: Double(index) / fps)
        if (index + 1) % job.checkpointEvery == 0 || Interrupt.requested {
            try output.checkpoint(framesDone: index + 1, rng: rng, carry: ["previous": frame, "first": first!])
        }
        if Interrupt.requested { throw Interrupted(destination: job.output) }
        if let stop = job.stopAfter, index + 1 >= stop { _exit(137) }
    }
    try output.checkpoint(framesDone: job.frames, rng: rng, carry: ["previous": previous!, "first": first!])
    progress.finish()
    try output.encode(settings: job.encoder, audioFrom: nil, audioRange: nil, metadata: ["reverie": try job.record.json()])
    return ZoomResult(frames: job.frames, dreamedNow: job.frames - done, seamRatio: seam.ratio)
}
