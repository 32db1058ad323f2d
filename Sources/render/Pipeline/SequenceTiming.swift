import Foundation
import Video

/// What a PNG sequence output writes beside its frames, so that they can be put back together at
/// the exact rate, with the source's audio:
///   timing.json      the rate (a ratio), each frame's timestamp (ticks of a time base, and seconds),
///                    the source and where in it the frames start, and an ffmpeg command to mux them
///   timing.ffconcat  the frames with their durations, for FFmpeg's concat demuxer (variable rates)
/// Reverie only writes these texts; it never runs ffmpeg.
struct SequenceTiming: Codable, Equatable {
    static let fileNames: Set<String> = ["timing.json", "timing.ffconcat"]

    /// The frames' file name pattern, relative to the folder (e.g. "%05d.png").
    var pattern: String
    var firstNumber: Int
    var frames: Int
    /// Bits per channel: 8 (RGB) or 16 (16-bit RGB).
    var depth: Int
    /// The nominal rate, exact: "24000/1001".
    var frameRate: String
    /// The unit of `pts`: "1/24000".
    var timeBase: String
    /// Every frame lasts one frame of `frameRate` (otherwise the times come from a variable-rate source).
    var constantRate: Bool
    /// Each frame's presentation time in `timeBase` ticks, from 0 at the first frame.
    var pts: [Int64]
    /// The same in seconds.
    var seconds: [Double]
    /// From the first frame to the end of the last.
    var duration: Double
    /// The video the frames were dreamed from (as given on the command line), if any.
    var source: String?
    /// Seconds into `source` of the first frame (where its audio starts).
    var sourceStart: Double?
    var sourceHasAudio: Bool
    /// A command line that encodes the frames (with the source's audio over the same span).
    var ffmpeg: String
    /// How the frames were made (as in the `reverie` metadata of video outputs).
    var reverie: String

    /// `writer`: the sequence's writer, all frames written; `pattern`: as given to -o.
    init(
        writer: VideoWriter, pattern: String, firstNumber: Int, source: String?, sourceStart: Double?,
        sourceHasAudio: Bool, record: String
    ) throws {
        let sequence = try FrameSequence(pattern: pattern)
        let rate = writer.frameRate, tb = writer.timeBase
        self.pattern = sequence.fileName
        self.firstNumber = firstNumber
        frames = writer.timestamps.count
        depth = writer.depth
        frameRate = "\(rate.num)/\(rate.den)"
        timeBase = "\(tb.num)/\(tb.den)"
        let first = writer.timestamps.first ?? 0
        pts = writer.timestamps.map { $0 - first }
        seconds = pts.map { Double($0) * tb.value }
        // One frame in ticks: den_rate * num_tb ... exactly when it is a whole number of ticks.
        let frameTicks = Double(rate.den) * Double(tb.den) / (Double(rate.num) * Double(tb.num))
        constantRate = zip(pts, pts.dropFirst()).allSatisfy { Double($1 - $0) == frameTicks }
        duration = (seconds.last ?? 0) + 1 / rate.value
        self.source = source
        self.sourceStart = sourceStart
        self.sourceHasAudio = sourceHasAudio
        reverie = record
        ffmpeg = ""
        ffmpeg = command(sequence: sequence)
    }

    /// ffmpeg reading the frames (at the exact rate, or by the concat list when the rate varies),
    /// the source's audio from the same time, into `<folder>.mp4`.
    private func command(sequence: FrameSequence) -> String {
        var c = ["ffmpeg"]
        if constantRate {
            c += ["-framerate", frameRate, "-start_number", "\(firstNumber)", "-i", shellQuoted(sequence.pattern)]
        } else {
            c += ["-f", "concat", "-safe", "0", "-i", shellQuoted(sequence.folder + "/timing.ffconcat")]
        }
        if let source, sourceHasAudio {
            c += ["-ss", decimal(sourceStart ?? 0), "-t", decimal(duration), "-i", shellQuoted(source), "-map", "0:v", "-map", "1:a"]
        }
        if !constantRate { c += ["-fps_mode", "vfr"] }
        c += ["-c:v", "libx264", "-crf", "18", "-pix_fmt", "yuv420p"]
        if source != nil && sourceHasAudio { c += ["-c:a", "aac", "-shortest"] }
        c.append(shellQuoted(sequence.folder + ".mp4"))
        return c.joined(separator: " ")
    }

    /// FFmpeg's concat list: every frame with its duration (the last one's: one frame).
    func ffconcat(sequence: FrameSequence) -> String {
        var lines = ["ffconcat version 1.0"]
        let tb = timeBaseValue
        for i in 0..<frames {
            let ticks = i + 1 < frames ? pts[i + 1] - pts[i] : nil
            let d = ticks.map { Double($0) * tb } ?? (duration - seconds[i])
            lines.append("file \(shellQuoted(sequence.name(number: firstNumber + i)))")
            lines.append("duration \(decimal(d))")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private var timeBaseValue: Double {
        let parts = timeBase.split(separator: "/").compactMap { Double($0) }
        return parts.count == 2 && parts[1] != 0 ? parts[0] / parts[1] : 0
    }

    func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return try encoder.encode(self) + Data("\n".utf8)
    }

    /// Attaches timing.json and timing.ffconcat to the sequence's folder.
    func attach(to writer: VideoWriter, pattern: String) throws {
        try writer.attach(fileNamed: "timing.json", contents: try json())
        try writer.attach(fileNamed: "timing.ffconcat", contents: Data(ffconcat(sequence: try FrameSequence(pattern: pattern)).utf8))
    }
}

/// Seconds with up to 9 decimals, no trailing zeros (no exponent: for command lines and lists).
private func decimal(_ x: Double) -> String {
    var s = String(format: "%.9f", x)
    while s.hasSuffix("0") { s.removeLast() }
    if s.hasSuffix(".") { s.removeLast() }
    return s
}
