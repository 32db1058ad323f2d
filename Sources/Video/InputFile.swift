import CFFmpeg
import Foundation

/// Owns one opened AVFormatContext (a demuxer over a local file).
final class InputFile {
    let path: String
    private(set) var context: UnsafeMutablePointer<AVFormatContext>

    /// Opens `path`; with `probeStreams` also reads enough of the file to fill in codec parameters.
    /// A numbered image sequence (`frames/%05d.png`, see `FrameSequence`) is opened with FFmpeg's
    /// image2 demuxer at `sequenceRate` (default 25, as FFmpeg's): frame i at i/rate exactly.
    init(path: String, probeStreams: Bool = true, sequenceRate: Rational? = nil) throws {
        _ = quietFFmpeg
        self.path = path
        var format: UnsafePointer<AVInputFormat>? = nil
        var options: OpaquePointer? = nil
        defer { av_dict_free(&options) }
        if FrameSequence.isPattern(path) {
            let (_, first) = try InputFile.checkSequence(path)
            let rate = sequenceRate ?? FrameSequence.defaultFrameRate
            guard rate.isValid else { throw VideoError("open", path: path, message: "invalid frame rate \(rate)") }
            format = av_find_input_format("image2")
            guard format != nil else { throw VideoError("open", path: path, message: "this FFmpeg has no image2 demuxer") }
            // From exactly the first file found (image2 would look only at numbers 0...4), file by file.
            for (k, v) in [
                ("framerate", "\(rate.num)/\(rate.den)"), ("pattern_type", "sequence"),
                ("start_number", "\(first)"), ("start_number_range", "1")
            ] { av_dict_set(&options, k, v, 0) }
        } else {
            try InputFile.checkIsReadableFile(path)
        }
        var ctx: UnsafeMutablePointer<AVFormatContext>? = nil
        try check(avformat_open_input(&ctx, ffmpegURL(path), format, &options), "open", path: path)
        context = try checkPointer(ctx, "open", path: path)
        // Once `context` is set, a throw runs deinit, which closes it: no close here (that was a double close).
        if probeStreams {
            try check(InputFile.findStreamInfo(context), "read stream info", path: path)
        }
    }

    deinit {
        var ctx: UnsafeMutablePointer<AVFormatContext>? = context
        avformat_close_input(&ctx)
    }

    /// Directories and empty files give FFmpeg errors that do not say what is wrong; say it first.
    static func checkIsReadableFile(_ path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw VideoError("open", path: path, message: "no such file")
        }
        guard !isDirectory.boolValue else { throw VideoError("open", path: path, message: "is a directory") }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
        if size == 0 { throw VideoError("open", path: path, message: "empty file (0 bytes)") }
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw VideoError("open", path: path, message: "permission denied")
        }
    }

    /// A sequence to read must have its folder, a first file, and no gap (FFmpeg's image2 would
    /// stop at the gap, or skip over it); returns it and its first number.
    static func checkSequence(_ path: String) throws -> (FrameSequence, Int) {
        let sequence = try FrameSequence(pattern: path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: sequence.folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw VideoError("open", path: path, message: "no such folder \(sequence.folder)")
        }
        let numbers = sequence.existingNumbers()
        guard let first = numbers.first, let last = numbers.last else {
            throw VideoError(
                "open", path: path,
                message:
                    "no such file: no frame in \(sequence.folder) matches \(sequence.fileName) (e.g. \(sequence.name(number: FrameSequence.defaultStartNumber)))"
            )
        }
        if last - first + 1 != numbers.count {
            let missing = zip(numbers, numbers.dropFirst()).first { $1 != $0 + 1 }.map { $0.0 + 1 } ?? first
            throw VideoError(
                "open", path: path,
                message:
                    "frame \(sequence.name(number: missing)) is missing (\(numbers.count) files from \(sequence.name(number: first)) to \(sequence.name(number: last))): a sequence must be numbered without gaps"
            )
        }
        try checkIsReadableFile(sequence.path(number: first))
        return (sequence, first)
    }

    /// Probes the streams with decoders that refuse pictures over the size limit before allocating them.
    private static func findStreamInfo(_ context: UnsafeMutablePointer<AVFormatContext>) -> Int32 {
        let n = Int(context.pointee.nb_streams)
        var options = [OpaquePointer?](repeating: nil, count: max(n, 1))
        for i in 0..<n { av_dict_set(&options[i], "max_pixels", "\(SizeLimit.pixels)", 0) }
        defer { for i in 0..<n { av_dict_free(&options[i]) } }
        return options.withUnsafeMutableBufferPointer { avformat_find_stream_info(context, $0.baseAddress) }
    }

    var streamCount: Int { Int(context.pointee.nb_streams) }

    func stream(_ index: Int) -> UnsafeMutablePointer<AVStream> {
        context.pointee.streams[index]!
    }

    /// The stream FFmpeg ranks best for `type`, or nil. Cover art (an attached picture) is not video.
    func bestStream(_ type: AVMediaType) -> Int? {
        let i = av_find_best_stream(context, type, -1, -1, nil, 0)
        guard i >= 0 else { return nil }
        guard type == AVMEDIA_TYPE_VIDEO && isCoverArt(Int(i)) else { return Int(i) }
        return (0..<streamCount).first { stream($0).pointee.codecpar.pointee.codec_type == type && !isCoverArt($0) }
    }

    private func isCoverArt(_ index: Int) -> Bool { (stream(index).pointee.disposition & AV_DISPOSITION_ATTACHED_PIC) != 0 }

    var formatName: String { cString(context.pointee.iformat.pointee.name) }
    /// Container tags with lower-cased keys (Matroska stores them upper-case).
    var metadata: [String: String] {
        Dictionary(dictionary(context.pointee.metadata).map { ($0.key.lowercased(), $0.value) }) { a, _ in a }
    }

    /// Container duration in seconds, or nil when unknown.
    var duration: Double? {
        let d = context.pointee.duration
        return d == noPTS || d <= 0 ? nil : Double(d) / Double(reverie_time_base())
    }

    /// "HH:MM:SS.fraction" (Matroska's per-stream DURATION tag) in seconds.
    static func clockSeconds(_ text: String?) -> Double? {
        guard let parts = text?.split(separator: ":"), parts.count == 3,
            let h = Double(parts[0]), let m = Double(parts[1]), let s = Double(parts[2])
        else { return nil }
        return h * 3600 + m * 60 + s
    }

    /// Audio streams, in file order.
    func audioStreams() -> [AudioStreamInfo] {
        (0..<streamCount).compactMap { i in
            let st = stream(i).pointee
            let par = st.codecpar.pointee
            guard par.codec_type == AVMEDIA_TYPE_AUDIO else { return nil }
            let d =
                st.duration != noPTS
                ? Double(st.duration) * Rational(st.time_base).value
                : InputFile.clockSeconds(dictionary(st.metadata)["DURATION"]) ?? duration ?? 0
            return AudioStreamInfo(
                index: i, codec: cString(avcodec_get_name(par.codec_id)),
                sampleRate: Int(par.sample_rate), channels: Int(par.ch_layout.nb_channels),
                duration: d)
        }
    }
}
