import CFFmpeg

/// A stream of audio packets ready for the muxer: timestamps in `timeBase`, 0 = start of the range.
protocol AudioPackets: AnyObject {
    var timeBase: AVRational { get }
    /// Fills `packet` with the next packet; false at the end.
    func next(_ packet: UnsafeMutablePointer<AVPacket>) throws -> Bool
}

/// Carries the audio of a source file into an output file, trimmed to a range of the source's video
/// time and shifted so that the range starts at 0 (in sync with the new video). Stream copy when the
/// container accepts the codec (whole packets: the cut falls on the first packet at or after the range
/// start); otherwise re-encoded (AAC, Opus for WebM), cut to the sample.
final class AudioCarrier {
    private let source: AudioPackets
    private let outStream: UnsafeMutablePointer<AVStream>
    private let output: OutputFile
    private let packet: Packet
    private let rangeLength: Double?
    private var holding = false
    private var exhausted = false

    /// Nil when the source has no audio stream.
    init?(source path: String, range: ClosedRange<Double>?, output: OutputFile) throws {
        let input = try InputFile(path: path)
        guard let index = input.bestStream(AVMEDIA_TYPE_AUDIO) else { return nil }
        guard output.context.pointee.oformat.pointee.audio_codec != AV_CODEC_ID_NONE else {  // raw .h264/.hevc
            warn(output.path, "the audio of \(path) is left out: a raw video stream holds no audio")
            return nil
        }
        self.output = output
        // Source time 0 is the first video frame: audio keeps its offset to it.
        var videoStart = 0.0
        if let v = input.bestStream(AVMEDIA_TYPE_VIDEO), input.stream(v).pointee.start_time != noPTS {
            videoStart = Double(input.stream(v).pointee.start_time) * Rational(input.stream(v).pointee.time_base).value
        }
        let lower = max(0, range?.lowerBound ?? 0)
        rangeLength = range.map { $0.upperBound - lower }
        let inStream = input.stream(index)
        if lower > 0 {
            let ticks = Int64(((videoStart + lower) / Rational(inStream.pointee.time_base).value).rounded())
            try check(av_seek_frame(input.context, Int32(index), ticks, AVSEEK_FLAG_BACKWARD), "seek audio", path: path)
        }
        outStream = try checkPointer(avformat_new_stream(output.context, nil), "add audio stream", path: output.path)
        let codecID = inStream.pointee.codecpar.pointee.codec_id
        if avformat_query_codec(output.context.pointee.oformat, codecID, FF_COMPLIANCE_NORMAL) == 1 {
            source = try CopiedAudio(input: input, index: index, start: videoStart + lower)
            try check(avcodec_parameters_copy(outStream.pointee.codecpar, inStream.pointee.codecpar), "copy audio parameters", path: output.path)
            outStream.pointee.codecpar.pointee.codec_tag = 0
        } else {
            let encoderName = cString(output.context.pointee.oformat.pointee.name) == "webm" ? "libopus" : "aac"
            let transcoder = try TranscodedAudio(
                input: input, index: index, start: videoStart + lower,
                encoderName: encoderName, output: output)
            source = transcoder
            try check(avcodec_parameters_from_context(outStream.pointee.codecpar, transcoder.encoder.pointer), "add audio stream", path: output.path)
        }
        outStream.pointee.time_base = source.timeBase
        packet = try Packet(path: path)
    }

    /// Writes audio packets whose (output) start time is before `seconds`, within the range.
    func pump(until seconds: Double) throws {
        let limit = min(seconds, rangeLength ?? .infinity)
        let tb = Rational(source.timeBase).value
        while !exhausted {
            if !holding {
                guard try source.next(packet.pointer) else { exhausted = true; return }
                holding = true
            }
            let start = Double(packet.pointer.pointee.pts) * tb
            if let length = rangeLength, start >= length {
                exhausted = true
                av_packet_unref(packet.pointer)
                return
            }
            guard start < limit else { return }
            holding = false
            defer { av_packet_unref(packet.pointer) }
            av_packet_rescale_ts(packet.pointer, source.timeBase, outStream.pointee.time_base)
            packet.pointer.pointee.stream_index = outStream.pointee.index
            packet.pointer.pointee.pos = -1
            try output.write(packet.pointer)
        }
    }
}

/// Stream copy: the source's packets from the range start on, shifted to start at 0.
final class CopiedAudio: AudioPackets {
    private let input: InputFile
    private let index: Int
    private let startTicks: Int64
    let timeBase: AVRational

    init(input: InputFile, index: Int, start: Double) throws {
        self.input = input
        self.index = index
        timeBase = input.stream(index).pointee.time_base
        startTicks = Int64((start / Rational(timeBase).value).rounded())
    }

    func next(_ packet: UnsafeMutablePointer<AVPacket>) throws -> Bool {
        while true {
            let r = av_read_frame(input.context, packet)
            if r == errorEOF { return false }
            if r < 0 {
                warn(input.path, "audio reading stopped early: \(ffmpegMessage(r))")
                return false
            }
            let p = packet.pointee
            if Int(p.stream_index) != index || p.pts == noPTS || p.pts < startTicks {
                av_packet_unref(packet)
                continue
            }
            packet.pointee.pts -= startTicks
            if p.dts != noPTS { packet.pointee.dts -= startTicks }
            return true
        }
    }
}
