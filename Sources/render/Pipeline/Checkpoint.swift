import Dream
import Foundation
import Video

/// A render's resumable state, kept in `<destination>.reverie-resume/` beside the destination
/// (for PNG frames `frames/%05d.png`, the destination is their folder: `frames.reverie-resume/`):
///   state.json      what was done: fingerprint, frames done, segment files, rng state
///   carry.bin       the carried float state (previous dreamed frame, ...), exact
///   segment-N.mkv   the dreamed frames so far, lossless (FFV1; 16-bit for 16-bit PNGs), one file per checkpoint
/// Frames after the last checkpoint are dreamed again on resume; since the carry, the rng and
/// the inputs are restored exactly, the finished video is the same as an uninterrupted one.
struct CheckpointState: Codable {
    var fingerprint: String
    var framesDone: Int
    var segments: [String]
    var rng: UInt64
    var times: [Double]  // presentation time of each frame done, seconds from the range start
}

final class ResumableOutput {
    /// Frames between checkpoints unless a test asks otherwise (`--checkpoint-every`).
    static let defaultCheckpointEvery = 10

    let destination: String
    /// What appears at the end: the destination file, or the folder of a PNG sequence.
    let location: String
    /// Bits per channel kept: 16 for 16-bit PNG frames (`append` them `RGB48Image`s), else 8.
    let depth: Int
    let directory: URL
    let fingerprint: String
    let width: Int, height: Int
    let frameRate: Rational
    private(set) var state: CheckpointState
    private var segment: VideoWriter?

    /// Refuses an existing destination without `overwrite`, and an existing checkpoint without
    /// `resume` (or with different parameters).
    init(
        destination: String, fingerprint: String, width: Int, height: Int, frameRate: Rational,
        resume: Bool, overwrite: Bool, depth: Int = 8
    ) throws {
        self.destination = destination
        let sequence = FrameSequence.isPattern(destination) ? try FrameSequence(pattern: destination) : nil
        location = sequence?.folder ?? destination
        self.depth = depth
        self.directory = URL(fileURLWithPath: location + ".reverie-resume")
        self.fingerprint = fingerprint + (depth == 8 ? "" : "|depth \(depth)")
        self.width = width; self.height = height; self.frameRate = frameRate
        let fm = FileManager.default
        var isFolder: ObjCBool = false
        if sequence != nil, fm.fileExists(atPath: location, isDirectory: &isFolder), !isFolder.boolValue {
            throw RenderError.file(path: location, problem: "is a file: PNG frames need a folder")
        }
        if let sequence {
            // An empty folder (made for FFmpeg, which needs one) takes the frames; one with files is
            // replaced only with --overwrite, and only when it holds nothing but a sequence of this pattern.
            let files = (try? fm.contentsOfDirectory(atPath: location)) ?? []
            if !files.isEmpty && !overwrite {
                throw RenderError.file(path: location, problem: "already holds files (use --overwrite to replace its frames)")
            }
            let others = files.filter { sequence.number(ofFileNamed: $0) == nil && !SequenceTiming.fileNames.contains($0) }
            if !others.isEmpty {
                throw RenderError.file(
                    path: location,
                    problem:
                        "holds other files than frames of \(sequence.fileName) (\(others.sorted().prefix(3).joined(separator: ", "))): choose another folder"
                )
            }
        } else if fm.fileExists(atPath: destination) && !overwrite {
            throw RenderError.file(path: destination, problem: "already exists (use --overwrite to replace it)")
        }
        let parent = URL(fileURLWithPath: location).deletingLastPathComponent().path
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: parent.isEmpty ? "." : parent, isDirectory: &isDir), isDir.boolValue else {
            throw RenderError.file(path: destination, problem: "the folder \(parent) does not exist")
        }
        let stateURL = directory.appendingPathComponent("state.json")
        if resume {
            guard let data = fm.contents(atPath: stateURL.path) else {
                throw RenderError.file(path: destination, problem: "nothing to resume (no checkpoint in \(directory.path))")
            }
            let saved = try JSONDecoder().decode(CheckpointState.self, from: data)
            guard saved.fingerprint == fingerprint else {
                throw RenderError.file(
                    path: directory.path,
                    problem: "the checkpoint was made with other inputs or parameters; run the same command as before, or start over with --overwrite"
                )
            }
            state = saved
        } else {
            if fm.fileExists(atPath: stateURL.path) && !overwrite {
                throw RenderError.file(
                    path: destination,
                    problem: "an interrupted render of it exists in \(directory.path): add --resume to continue it, or --overwrite to start over")
            }
            try? fm.removeItem(at: directory)
            state = CheckpointState(fingerprint: fingerprint, framesDone: 0, segments: [], rng: 0, times: [])
        }
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        // A run killed during its final encode leaves its hidden partial output beside the destination.
        let hidden = "." + URL(fileURLWithPath: location).lastPathComponent + ".partial-"
        for f in (try? fm.contentsOfDirectory(atPath: parent.isEmpty ? "." : parent)) ?? [] where f.hasPrefix(hidden) {
            try? fm.removeItem(atPath: (parent.isEmpty ? "." : parent) + "/" + f)
        }
        // Segments written after the last checkpoint belong to no state: drop them.
        for f in (try? fm.contentsOfDirectory(atPath: directory.path)) ?? [] where f.hasPrefix("segment-") && !state.segments.contains(f) {
            try? fm.removeItem(at: directory.appendingPathComponent(f))
        }
    }

    var framesDone: Int { state.framesDone }

    private var pendingTimes: [Double] = []

    func append(_ image: RGBImage, seconds: Double) throws {
        try openSegment().write(image)
        pendingTimes.append(seconds)
    }

    func append(_ image: RGB48Image, seconds: Double) throws {
        try openSegment().write(image)
        pendingTimes.append(seconds)
    }

    private func openSegment() throws -> VideoWriter {
        if let segment { return segment }
        let name = String(format: "segment-%05d.mkv", state.segments.count)
        let writer = try VideoWriter(
            path: directory.appendingPathComponent(name).path, width: width, height: height,
            frameRate: frameRate, settings: EncoderSettings(lossless: true, depth: depth))
        segment = writer
        return writer
    }

    /// Closes the open segment and records the carried state, atomically.
    func checkpoint(framesDone: Int, rng: SeededGenerator, carry: [String: Tensor]) throws {
        if let s = segment {
            try s.finish()
            state.segments.append(URL(fileURLWithPath: s.path).lastPathComponent)
            segment = nil
            state.times += pendingTimes
            pendingTimes = []
        }
        state.framesDone = framesDone
        state.rng = rng.state
        try writeAtomically(encodeTensors(carry), to: directory.appendingPathComponent("carry.bin"))
        try writeAtomically(JSONEncoder().encode(state), to: directory.appendingPathComponent("state.json"))
    }

    func loadCarry() throws -> [String: Tensor] {
        let url = directory.appendingPathComponent("carry.bin")
        guard let data = FileManager.default.contents(atPath: url.path) else { return [:] }
        return try decodeTensors(data, file: url.path)
    }

    /// The frames of the checkpointed segments, one at a time, in order.
    func writtenFrames() throws -> SegmentFrames {
        SegmentFrames(paths: state.segments.map { directory.appendingPathComponent($0).path }, sixteenBit: depth == 16)
    }

    /// Every frame written so far, in order (for the final encode); `image16` set at depth 16.
    func forEachFrame(_ body: (_ index: Int, _ seconds: Double, VideoFrame) throws -> Void) throws {
        let frames = try writtenFrames()
        var i = 0
        while let image = try frames.nextFrame() {
            guard i < state.times.count else {
                throw RenderError.file(path: directory.path, problem: "a segment holds more frames than the checkpoint records")
            }
            try body(i, state.times[i], image)
            i += 1
        }
    }

    /// The final encode: every frame at its recorded time into the destination (written beside it
    /// and renamed into place by the writer), then the checkpoint is removed. `beforeFinish` sees
    /// the writer once every frame is in (a PNG sequence attaches its timing there).
    func encode(
        settings: EncoderSettings, audioFrom: String?, audioRange: ClosedRange<Double>?,
        metadata: [String: String], beforeFinish: (VideoWriter) throws -> Void = { _ in }
    ) throws {
        let writer = try VideoWriter(
            path: destination, width: width, height: height, frameRate: frameRate,
            settings: settings, audioFrom: audioFrom, audioRange: audioRange, metadata: metadata)
        do {
            try forEachFrame { _, seconds, frame in
                if Interrupt.requested { throw Interrupted(destination: destination) }
                if let deep = frame.image16 {
                    try writer.write(deep, seconds: seconds)
                } else {
                    try writer.write(frame.image, seconds: seconds)
                }
            }
            try beforeFinish(writer)
            try writer.finish()
        } catch {
            writer.cancel()
            throw error
        }
        remove()
    }

    /// After the destination is written: the checkpoint is no longer needed.
    func remove() {
        segment?.cancel()
        try? FileManager.default.removeItem(at: directory)
    }
}

private func writeAtomically(_ data: Data, to url: URL) throws {
    let tmp = url.appendingPathExtension("tmp")
    try data.write(to: tmp)
    guard rename(tmp.path, url.path) == 0 else {
        throw RenderError.file(path: url.path, problem: "cannot write the checkpoint (\(String(cString: strerror(errno))))")
    }
}

/// name, rank, dims, float32 values, little-endian.
private func encodeTensors(_ tensors: [String: Tensor]) -> Data {
    var d = Data()
    func put(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
    put(UInt64(tensors.count))
    for (name, t) in tensors.sorted(by: { $0.key < $1.key }) {
        let n = Array(name.utf8)
        put(UInt64(n.count)); d.append(contentsOf: n)
        put(UInt64(t.shape.count)); t.shape.forEach { put(UInt64($0)) }
        t.data.withUnsafeBytes { d.append(contentsOf: $0) }
    }
    return d
}

private func decodeTensors(_ data: Data, file: String) throws -> [String: Tensor] {
    let bytes = [UInt8](data)
    var at = 0
    func get() throws -> Int {
        guard at + 8 <= bytes.count else { throw RenderError.file(path: file, problem: "truncated checkpoint") }
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(bytes[at + i]) << (8 * UInt64(i)) }
        at += 8
        guard v < 1 << 40 else { throw RenderError.file(path: file, problem: "corrupt checkpoint") }
        return Int(v)
    }
    var out: [String: Tensor] = [:]
    for _ in 0..<(try get()) {
        let n = try get()
        guard at + n <= bytes.count else { throw RenderError.file(path: file, problem: "truncated checkpoint") }
        let name = String(decoding: bytes[at..<(at + n)], as: UTF8.self); at += n
        let rank = try get()
        var shape: [Int] = []
        for _ in 0..<rank { shape.append(try get()) }
        let count = shape.reduce(1, *)
        guard at + 4 * count <= bytes.count else { throw RenderError.file(path: file, problem: "truncated checkpoint") }
        var values = [Float](repeating: 0, count: count)
        values.withUnsafeMutableBytes { $0.copyBytes(from: bytes[at..<(at + 4 * count)]) }
        at += 4 * count
        out[name] = Tensor(shape: shape, data: values)
    }
    return out
}

/// Streams the frames of a list of segment files.
final class SegmentFrames {
    private var paths: [String]
    private var reader: VideoReader?
    private let sixteenBit: Bool

    init(paths: [String], sixteenBit: Bool = false) {
        self.paths = paths
        self.sixteenBit = sixteenBit
    }

    func next() throws -> RGBImage? { try nextFrame()?.image }

    /// The next frame, with `image16` when reading 16-bit segments.
    func nextFrame() throws -> VideoFrame? {
        while true {
            if let r = reader, let f = try r.nextFrame() { return f }
            guard !paths.isEmpty else { return nil }
            reader = try VideoReader(path: paths.removeFirst(), sixteenBit: sixteenBit)
        }
    }
}
