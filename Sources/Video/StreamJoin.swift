import CFFmpeg
import Foundation

/// Puts together video files that are consecutive pieces of one video, by stream copy (nothing is
/// re-encoded): the packets of each part in turn, with the part's own timestamps (the parts of a
/// chunked render are already on the whole render's time line), plus the audio of a source
/// trimmed to a range. The parts must share one stream layout (codec, size, time base and codec
/// header), which parts encoded with the same settings do; each part starts on a keyframe.
/// Written beside `path` and renamed into place, like every output.
public enum StreamJoin {
    /// Writes `parts`, in order, into one file at `path` (container by extension). With `audioFrom`, that
    /// file's audio comes along, trimmed to `audioRange` (seconds of its video time; nil: all of it) and
    /// shifted to start at 0; `metadata` becomes container tags. Throws `VideoError` when there are no
    /// parts, a part has no video stream, is encoded differently from the first, does not start on a
    /// keyframe or overlaps the part before; then nothing is left at `path`.
    public static func join(
        _ parts: [String], into path: String, audioFrom: String? = nil,
        audioRange: ClosedRange<Double>? = nil, metadata: [String: String] = [:]
    ) throws {
        guard let firstPath = parts.first else { throw VideoError("join", path: path, message: "no parts to join") }
        let first = try InputFile(path: firstPath)
        guard let firstIndex = first.bestStream(AVMEDIA_TYPE_VIDEO) else {
            throw VideoError("join", path: firstPath, message: "no video stream")
        }
        let reference = first.stream(firstIndex).pointee
        let kind = try OutputKind(path: path, settings: EncoderSettings())
        let output = try OutputFile(path: path, format: kind.format)
        do {
            let stream = try checkPointer(avformat_new_stream(output.context, nil), "add video stream", path: path)
            try check(avcodec_parameters_copy(stream.pointee.codecpar, reference.codecpar), "copy video parameters", path: path)
            stream.pointee.codecpar.pointee.codec_tag = 0
            stream.pointee.time_base = reference.time_base
            stream.pointee.avg_frame_rate = reference.avg_frame_rate
            stream.pointee.r_frame_rate = reference.r_frame_rate
            stream.pointee.sample_aspect_ratio = reference.sample_aspect_ratio
            for (k, v) in metadata { av_dict_set(&output.context.pointee.metadata, k, v, 0) }
            let audio = try audioFrom.flatMap { try AudioCarrier(source: $0, range: audioRange, output: output) }
            var header: [String: String] = [:]
            if kind.format == "mp4" || kind.format == "mov" {
                header["movflags"] = "+faststart" + (metadata.isEmpty ? "" : "+use_metadata_tags")
            }
            try output.open(headerOptions: header)
            let packet = try Packet(path: path)
            var lastDTS = Int64.min, end = 0.0
            for part in parts {
                let input = part == firstPath ? first : try InputFile(path: part)
                guard let index = input.bestStream(AVMEDIA_TYPE_VIDEO) else {
                    throw VideoError("join", path: part, message: "no video stream")
                }
                let st = input.stream(index).pointee
                try requireSameLayout(st.codecpar.pointee, reference.codecpar.pointee, part: part, first: firstPath)
                var firstPacket = true
                while true {
                    let r = av_read_frame(input.context, packet.pointer)
                    if r == errorEOF { break }
                    try check(r, "read packet", path: part)
                    defer { av_packet_unref(packet.pointer) }
                    guard Int(packet.pointer.pointee.stream_index) == index else { continue }
                    if firstPacket && packet.pointer.pointee.flags & AV_PKT_FLAG_KEY == 0 {
                        throw VideoError("join", path: part, message: "the part does not start on a keyframe")
                    }
                    firstPacket = false
                    av_packet_rescale_ts(packet.pointer, st.time_base, stream.pointee.time_base)
                    let p = packet.pointer.pointee
                    guard p.dts == noPTS || lastDTS == Int64.min || p.dts > lastDTS else {
                        throw VideoError("join", path: part, message: "its timestamps overlap the part before it")
                    }
                    if p.dts != noPTS { lastDTS = p.dts }
                    let tb = Rational(stream.pointee.time_base).value
                    if p.pts != noPTS { end = max(end, Double(p.pts + p.duration) * tb) }
                    packet.pointer.pointee.stream_index = stream.pointee.index
                    packet.pointer.pointee.pos = -1
                    if let audio, p.dts != noPTS { try audio.pump(until: Double(p.dts) * tb) }
                    try output.write(packet.pointer)
                }
            }
            try audio?.pump(until: end)
            try output.commit()
        } catch {
            output.discard()
            throw error
        }
    }

    private static func requireSameLayout(_ a: AVCodecParameters, _ b: AVCodecParameters, part: String, first: String) throws {
        let same =
            a.codec_id == b.codec_id && a.width == b.width && a.height == b.height && a.format == b.format
            && a.extradata_size == b.extradata_size
            && (a.extradata_size == 0 || memcmp(a.extradata, b.extradata, Int(a.extradata_size)) == 0)
        guard same else {
            throw VideoError(
                "join", path: part,
                message:
                    "encoded differently from \(URL(fileURLWithPath: first).lastPathComponent) (codec, size or codec header): parts must come from one render's settings"
            )
        }
    }
}
