import CFFmpeg

/// Carries the audio of a source file into an output file by stream copy, trimmed to a range of
/// the source's video time and shifted so that the range starts at 0 (in sync with the new video).
/// Packets are whole: the cut falls on the first packet that starts at or after the range start.
final class AudioCarrier {
    private let input: InputFile
    private let inIndex: Int
    private let inTimeBase: Rational
    private let outStream: UnsafeMutablePointer<AVStream>
    private let output: OutputFile
    private let packet: Packet
    /// Range start in source ticks, and range length in seconds (nil: to the end of the video).
    private let startTicks: Int64
    private let rangeLength: Double?
    private var holding = false
    private var exhausted = false

    /// Nil when the source has no audio, or its codec cannot be stored in this container (with a warning).
    init?(source: String, range: ClosedRange<Double>?, output: OutputFile) throws {
        let input = try InputFile(path: source)
        guard let index = input.bestStream(AVMEDIA_TYPE_AUDIO) else { return nil }
        let inStream = input.stream(index)
        let codecID = inStream.pointee.codecpar.pointee.codec_id
        guard avformat_query_codec(output.context.pointee.oformat, codecID, FF_COMPLIANCE_NORMAL) == 1 else {
            warn(output.path, "audio codec \(cString(avcodec_get_name(codecID))) cannot be stored in this container; audio dropped")
            return nil
        }
        self.input = input
        self.output = output
        inIndex = index
        inTimeBase = Rational(inStream.pointee.time_base)
        outStream = try checkPointer(avformat_new_stream(output.context, nil), "add audio stream", path: output.path)
        try check(avcodec_parameters_copy(outStream.pointee.codecpar, inStream.pointee.codecpar), "copy audio parameters", path: output.path)
        outStream.pointee.codecpar.pointee.codec_tag = 0
        outStream.pointee.time_base = inStream.pointee.time_base
        packet = try Packet(path: source)

        // Source time 0 is the first video frame: audio keeps its offset to it.
        var videoStart = 0.0
        if let v = input.bestStream(AVMEDIA_TYPE_VIDEO), input.stream(v).pointee.start_time != noPTS {
            videoStart = Double(input.stream(v).pointee.start_time) * Rational(input.stream(v).pointee.time_base).value
        }
        let lower = max(0, range?.lowerBound ?? 0)
        startTicks = Int64(((videoStart + lower) / inTimeBase.value).rounded())
        rangeLength = range.map { $0.upperBound - lower }
        if lower > 0 {
            try check(av_seek_frame(input.context, Int32(index), startTicks, AVSEEK_FLAG_BACKWARD), "seek audio", path: source)
        }
    }

    /// Writes audio packets whose (output) start time is before `seconds`, within the range.
    func pump(until seconds: Double) throws {
        let limit = min(seconds, rangeLength ?? .infinity)
        while !exhausted {
            if !holding {
                guard try readPacket() else { exhausted = true; return }
                holding = true
            }
            let start = Double(packet.pointer.pointee.pts) * inTimeBase.value
            if let length = rangeLength, start >= length {
                exhausted = true
                return
            }
            guard start < limit else { return }
            holding = false
            defer { av_packet_unref(packet.pointer) }
            av_packet_rescale_ts(packet.pointer, inTimeBase.av, outStream.pointee.time_base)
            packet.pointer.pointee.stream_index = outStream.pointee.index
            packet.pointer.pointee.pos = -1
            try output.write(packet.pointer)
        }
    }

    /// Next packet of the audio stream at or after the range start, its timestamps shifted to start at 0.
    private func readPacket() throws -> Bool {
        while true {
            let r = av_read_frame(input.context, packet.pointer)
            if r == errorEOF { return false }
            if r < 0 {
                warn(input.path, "audio reading stopped early: \(ffmpegMessage(r))")
                return false
            }
            let p = packet.pointer.pointee
            if Int(p.stream_index) != inIndex || p.pts == noPTS || p.pts < startTicks {
                av_packet_unref(packet.pointer)
                continue
            }
            packet.pointer.pointee.pts -= startTicks
            if p.dts != noPTS { packet.pointer.pointee.dts -= startTicks }
            return true
        }
    }
}
