import Dream
import Foundation
import Video

/// What `render video` does: decode → carry → dream → checkpointed segments → final encode
/// with the source's timing and audio.
struct VideoJob {
    var input: String
    var output: String
    var parameters: DreamParameters
    var record: RenderRecord
    var guide: Tensor? = nil  // the guide image, RGB in [0, 1]; nil: none
    var start: Double = 0  // seconds
    var duration: Double?  // seconds; nil = to the end
    var inputRate: Rational? = nil  // the rate of an image sequence input (nil: 25, as FFmpeg's image2)
    var encoder = EncoderSettings()
    var resume = false
    var overwrite = false
    var checkpointEvery = ResumableOutput.defaultCheckpointEvery  // frames
    var stopAfter: Int? = nil  // testing: exit abruptly after this many frames (simulated kill)
    var fixedRoll = true  // every frame rolls its tiles by the same offsets
    /// One chunk of a render split for many machines (`output` is then the chunk's part file).
    var chunk: Chunk? = nil
}

struct VideoResult {
    var frames: Int
    var dreamedNow: Int  // frames dreamed by this run (fewer after --resume)
    var seconds: Double
    var score: CoherenceScore
}

func renderVideo(_ job: VideoJob, network: Network, progress: Progress) throws -> VideoResult {
    let reader = try VideoReader(path: job.input, sequenceRate: job.inputRate)
    let info = reader.info
    let end = job.duration.map { job.start + $0 } ?? Double.infinity
    guard job.start >= 0, job.start < info.duration else {
        throw RenderError.file(
            path: job.input, problem: "--start \(job.start) is outside the video (duration \(String(format: "%.3f", info.duration)) s)")
    }
    if let d = job.duration, d <= 0 { throw RenderError.option(name: "--duration", problem: "must be positive, got \(d)") }
    let size = workingSize(of: RGBImage(width: info.width, height: info.height), width: job.parameters.width)
    // Seconds of the range (from `start`) whose frames are written, and seconds before them that are
    // dreamed for the carry but not written: the whole range, or one chunk's part and its warm-up.
    let length = min(end, info.duration) - job.start
    let writtenRange = job.chunk?.written(ofRangeLength: length) ?? 0..<Double.infinity
    let warmup = job.chunk?.warmup ?? 0
    let expected = max(1, Int((min(length, writtenRange.upperBound) - writtenRange.lowerBound) * info.frameRate.value + 0.5))
    let fingerprint = try fingerprint(job, info: info)

    let output = try ResumableOutput(
        destination: job.output, fingerprint: fingerprint + (job.chunk.map { "|\($0.index)/\($0.count)|\($0.warmup)" } ?? ""),
        width: size.width, height: size.height, frameRate: info.frameRate,
        resume: job.resume, overwrite: job.overwrite, depth: job.encoder.depth)
    let dreamer = Dreamer(model: network)
    dreamer.guide = job.guide
    var rng = SeededGenerator(seed: job.parameters.seed)
    var previous: (source: Tensor, dream: Tensor)? = nil
    var meter = CoherenceMeter()
    let done = output.framesDone
    if done > 0 {
        let saved = try output.loadCarry()
        guard let s = saved["source"], let d = saved["dream"] else {
            throw RenderError.file(path: "\(job.output).reverie-resume", problem: "the checkpoint has no carried state")
        }
        previous = (s, d)
        rng = SeededGenerator(seed: output.state.rng)
        progress.say("resuming \(job.output) at frame \(done + 1)")
    }

    // Dreaming starts at the warm-up before the written part (the range's start without chunks).
    let dreamFrom = job.start + max(0, writtenRange.lowerBound - warmup)
    if dreamFrom > 0 { try reader.seek(toSeconds: dreamFrom) }
    var index = 0  // frames written (or replayed) so far
    let began = Date()
    let written = try output.writtenFrames()  // on resume: replayed into the coherence meter
    var lastSource: Tensor? = nil
    while let frame = try reader.nextFrame(), frame.seconds < min(end, job.start + writtenRange.upperBound) - 1e-9 {
        let writes = frame.seconds - job.start >= writtenRange.lowerBound - 1e-9
        let source = resize(tensor(from: frame.image), height: size.height, width: size.width, interpolation: .bicubic)
        if done > 0 && !writes {  // a warm-up frame whose effect the checkpoint's carry already holds
            lastSource = source
            continue
        }
        if writes && index < done {  // dreamed before the checkpoint
            guard let image = try written.next() else {
                throw RenderError.file(path: "\(job.output).reverie-resume", problem: "a segment is missing frames")
            }
            meter.add(source: source, output: tensor(from: image))
            lastSource = source
            index += 1
            continue
        }
        let dreamed: Tensor
        let report = { (p: DreamProgress) in
            let f = (Double(index - done) + p.fraction) / Double(max(expected - done, 1))
            progress.update(
                fraction: max(0, f),
                "\(writes ? "frame \(index + 1)/\(expected)" : "warm-up")\(rate(index - done, since: began))\(meter.score.frames > 1 ? String(format: " warp err %.5f", meter.score.excessWarpingError) : "")"
            )
        }
        // One flow estimate per frame pair serves the carry and the coherence meter.
        let motion = lastSource.map { OpticalFlow.motion(from: $0, to: source) }
        lastSource = source
        // This frame's values (scheduled fields at its frame number from the range's start; the
        // same in a chunk as in a sequential render).
        let fps = info.frameRate.value
        let parameters = try job.parameters.at(frame: ((frame.seconds - job.start) * fps).rounded(), fps: fps)
        let carry = TemporalCarry(blend: parameters.blend, useFlow: parameters.flow)
        if let previous {
            // Fixed roll: the tile offsets repeat frame after frame, so tile borders stay put.
            if job.fixedRoll { rng = SeededGenerator(seed: job.parameters.seed &+ 1) }
            let start = carry.start(source: source, previousSource: previous.source, previousDream: previous.dream, motion: motion)
            dreamed = try dreamer.dream(
                start, parameters: parameters, octaves: parameters.frameOctaves,
                steps: parameters.frameSteps, rng: &rng, progress: report)
        } else {
            dreamed = try dreamer.dream(source, parameters: parameters, rng: &rng, progress: report)
        }
        previous = (source, dreamed)
        guard writes else { continue }
        meter.add(source: source, output: dreamed, motion: motion)
        if output.depth == 16 {
            try output.append(rgb48Image(from: dreamed), seconds: max(0, frame.seconds - job.start))
        } else {
            try output.append(rgbImage(from: dreamed), seconds: max(0, frame.seconds - job.start))
        }
        index += 1
        let framesDone = index
        if framesDone % job.checkpointEvery == 0 || Interrupt.requested {
            try output.checkpoint(framesDone: framesDone, rng: rng, carry: ["source": source, "dream": dreamed])
        }
        if Interrupt.requested { throw Interrupted(destination: job.output) }
        if let stop = job.stopAfter, framesDone >= stop { _exit(137) }  // simulated SIGKILL: no cleanup
    }
    guard index > 0 else { throw RenderError.file(path: job.input, problem: "no frames in the chosen range") }
    try output.checkpoint(framesDone: index, rng: rng, carry: ["source": previous!.source, "dream": previous!.dream])
    progress.finish()

    // The final encode: every dreamed frame at its source time, the source's audio trimmed to the range.
    let lastTime = output.state.times.last ?? 0
    var settings = job.encoder
    settings.timeBase = info.timeBase  // exact source timestamps, variable frame rate included
    var metadata = ["reverie": try job.record.json()]
    if let chunk = job.chunk {  // a part gets its audio at the join
        let label = Chunk.Label(chunk: chunk, render: fingerprint, source: job.input, start: job.start, length: length)
        metadata[Chunk.metadataKey] = String(decoding: try JSONEncoder().encode(label), as: UTF8.self)
    }
    // PNG frames hold no audio: their timing file says where in the source it is.
    let sequence = FrameSequence.isPattern(job.output)
    try output.encode(
        settings: settings, audioFrom: info.audio.isEmpty || job.chunk != nil || sequence ? nil : job.input,
        audioRange: job.start...(job.start + lastTime + 1 / info.frameRate.value), metadata: metadata
    ) { writer in
        guard sequence else { return }
        try SequenceTiming(
            writer: writer, pattern: job.output, firstNumber: job.encoder.startNumber, source: job.input,
            sourceStart: job.start + (output.state.times.first ?? 0), sourceHasAudio: !info.audio.isEmpty, record: try job.record.json()
        ).attach(to: writer, pattern: job.output)
    }
    return VideoResult(frames: index, dreamedNow: index - done, seconds: lastTime, score: meter.score)
}

/// Identifies a render: the same inputs and parameters give the same fingerprint.
private func fingerprint(_ job: VideoJob, info: VideoInfo) throws -> String {
    // A sequence: its first file stands for it (with the frame count and the rate).
    let file =
        FrameSequence.isPattern(job.input)
        ? (try? FrameSequence(pattern: job.input)).flatMap { s in s.existingNumbers().first.map { s.path(number: $0) } } : nil
    let attributes = try? FileManager.default.attributesOfItem(atPath: file ?? job.input)
    let size = (attributes?[.size] as? NSNumber)?.intValue ?? 0
    let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
    var record = job.record
    record.version = ""
    return "\(try record.json())|\(size)|\(modified)|\(job.start)|\(job.duration ?? -1)|\(info.frameCount)"
        + (info.isSequence ? "|\(info.frameRate)" : "")
}

func rate(_ frames: Int, since start: Date) -> String {
    let minutes = Date().timeIntervalSince(start) / 60
    guard frames > 0, minutes > 0 else { return "" }
    return String(format: " %.1f frames/min", Double(frames) / minutes)
}
