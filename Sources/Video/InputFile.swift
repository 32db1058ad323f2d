import CFFmpeg
import Foundation

/// Owns one opened AVFormatContext (a demuxer over a local file).
final class InputFile {
    let path: String
    private(set) var context: UnsafeMutablePointer<AVFormatContext>

    /// Opens `path`; with `probeStreams` also reads enough of the file to fill in codec parameters.
    init(path: String, probeStreams: Bool = true) throws {
        _ = quietFFmpeg
        self.path = path
        try InputFile.checkIsReadableFile(path)
        var ctx: UnsafeMutablePointer<AVFormatContext>? = nil
        try check(avformat_open_input(&ctx, ffmpegURL(path), nil, nil), "open", path: path)
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
