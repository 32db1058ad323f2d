import CFFmpeg

/// Re-encoding for containers that cannot store the source's audio codec: decode, resample to the
/// encoder's format (swresample), regroup into encoder-sized frames (audio FIFO), encode.
/// Samples before `start` are dropped exactly; timestamps count samples from there.
final class TranscodedAudio: AudioPackets {
    let encoder: CodecContext
    private let input: InputFile
    private let index: Int
    private let decoder: CodecContext
    private var swr: OpaquePointer?
    private let fifo: OpaquePointer
    private let decoded: Frame
    private let converted: Frame
    private let packet: Packet
    private let start: Double
    private let frameSize: Int32
    private var samplesOut: Int64 = 0
    private var anyKept = false
    private var inputDone = false
    private var decoderFlushed = false
    private var encoderFlushed = false
    private var consecutiveErrors = 0

    init(input: InputFile, index: Int, start: Double, encoderName: String, output: OutputFile) throws {
        let path = input.path
        self.input = input
        self.index = index
        self.start = start
        let stream = input.stream(index)
        let par: UnsafeMutablePointer<AVCodecParameters> = stream.pointee.codecpar
        guard let dec = avcodec_find_decoder(par.pointee.codec_id) else {
            throw VideoError("decode audio", path: path, message: "no decoder for \(cString(avcodec_get_name(par.pointee.codec_id)))")
        }
        decoder = try CodecContext(dec, path: path)
        try check(avcodec_parameters_to_context(decoder.pointer, par), "open audio decoder", path: path)
        decoder.pointer.pointee.pkt_timebase = stream.pointee.time_base
        try check(avcodec_open2(decoder.pointer, dec, nil), "open audio decoder", path: path)
        if decoder.pointer.pointee.ch_layout.order == AV_CHANNEL_ORDER_UNSPEC {
            let n = decoder.pointer.pointee.ch_layout.nb_channels
            av_channel_layout_default(&decoder.pointer.pointee.ch_layout, n)
        }

        guard let enc = avcodec_find_encoder_by_name(encoderName) else {
            throw VideoError("encode audio", path: output.path, message: "encoder \(encoderName) is not available")
        }
        encoder = try CodecContext(enc, path: output.path)
        let e = encoder.pointer
        let inRate = decoder.pointer.pointee.sample_rate
        e.pointee.sample_rate = TranscodedAudio.supportedRate(enc, preferred: inRate)
        e.pointee.sample_fmt = enc.pointee.sample_fmts?.pointee ?? AV_SAMPLE_FMT_FLTP
        // Opus here is set up for mono/stereo; AAC keeps up to 8 channels.
        let channels = min(decoder.pointer.pointee.ch_layout.nb_channels, encoderName == "libopus" ? 2 : 8)
        av_channel_layout_default(&e.pointee.ch_layout, channels)
        e.pointee.bit_rate = Int64(channels) * 96_000
        e.pointee.time_base = AVRational(num: 1, den: e.pointee.sample_rate)
        if output.needsGlobalHeader { e.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER }
        try check(avcodec_open2(e, enc, nil), "open audio encoder \(encoderName)", path: output.path)
        frameSize = e.pointee.frame_size > 0 ? e.pointee.frame_size : 1024

        var s: OpaquePointer? = nil
        try check(
            swr_alloc_set_opts2(
                &s, &e.pointee.ch_layout, e.pointee.sample_fmt, e.pointee.sample_rate,
                &decoder.pointer.pointee.ch_layout, decoder.pointer.pointee.sample_fmt, inRate, 0, nil),
            "set up resampler", path: path)
        swr = s
        try check(swr_init(swr), "set up resampler", path: path)
        fifo = try checkPointer(av_audio_fifo_alloc(e.pointee.sample_fmt, channels, frameSize), "allocate audio FIFO", path: path)
        decoded = try Frame(path: path)
        converted = try Frame(path: path)
        packet = try Packet(path: path)
    }

    deinit {
        swr_free(&swr)
        av_audio_fifo_free(fifo)
    }

    var timeBase: AVRational { encoder.pointer.pointee.time_base }

    static func supportedRate(_ codec: UnsafePointer<AVCodec>, preferred: Int32) -> Int32 {
        guard var p = codec.pointee.supported_samplerates else { return preferred }
        var rates: [Int32] = []
        while p.pointee != 0 { rates.append(p.pointee); p += 1 }
        if rates.contains(preferred) { return preferred }
        return rates.contains(48000) ? 48000 : rates.first ?? preferred
    }

    func next(_ out: UnsafeMutablePointer<AVPacket>) throws -> Bool {
        let path = input.path
        while true {
            let r = avcodec_receive_packet(encoder.pointer, out)
            if r >= 0 { return true }
            if r == errorEOF { return false }
            if r != errorAgain { try check(r, "encode audio", path: path) }
            let buffered = av_audio_fifo_size(fifo)
            if buffered >= frameSize || (inputDone && buffered > 0) {
                try encodeFromFIFO(min(buffered, frameSize))
            } else if inputDone {
                guard !encoderFlushed else { return false }
                encoderFlushed = true
                try check(avcodec_send_frame(encoder.pointer, nil), "encode audio", path: path)
            } else {
                try decodeMore()
            }
        }
    }

    private func encodeFromFIFO(_ n: Int32) throws {
        let f = try Frame(path: input.path)
        f.pointer.pointee.nb_samples = n
        f.pointer.pointee.format = encoder.pointer.pointee.sample_fmt.rawValue
        f.pointer.pointee.sample_rate = encoder.pointer.pointee.sample_rate
        try check(av_channel_layout_copy(&f.pointer.pointee.ch_layout, &encoder.pointer.pointee.ch_layout), "encode audio", path: input.path)
        try check(av_frame_get_buffer(f.pointer, 0), "encode audio", path: input.path)
        try check(reverie_fifo_read(fifo, f.pointer, n), "encode audio", path: input.path)
        f.pointer.pointee.pts = samplesOut
        samplesOut += Int64(n)
        try check(avcodec_send_frame(encoder.pointer, f.pointer), "encode audio", path: input.path)
    }

    /// Decodes until some samples reach the FIFO, or the input ends (then flushes decoder and resampler).
    private func decodeMore() throws {
        while true {
            let r = avcodec_receive_frame(decoder.pointer, decoded.pointer)
            if r >= 0 {
                defer { av_frame_unref(decoded.pointer) }
                try resample(decoded.pointer)
                return
            }
            if r == errorEOF {
                try resample(nil)  // what the resampler still holds
                inputDone = true
                return
            }
            if r != errorAgain {  // a corrupt audio frame: skip it, as players do, unless it keeps happening
                consecutiveErrors += 1
                if consecutiveErrors > 100 { try check(r, "decode audio", path: input.path) }
                continue
            }
            consecutiveErrors = 0
            if decoderFlushed { inputDone = true; return }
            let rr = av_read_frame(input.context, packet.pointer)
            if rr < 0 {
                avcodec_send_packet(decoder.pointer, nil)
                decoderFlushed = true
                continue
            }
            defer { av_packet_unref(packet.pointer) }
            if Int(packet.pointer.pointee.stream_index) == index {
                _ = avcodec_send_packet(decoder.pointer, packet.pointer)  // corrupt packets are skipped
            }
        }
    }

    /// frame (decoder format, or nil to flush) -> FIFO (encoder format); drops what lies before `start`.
    private func resample(_ frame: UnsafeMutablePointer<AVFrame>?) throws {
        let path = input.path
        var drop: Int32 = 0
        if let frame {
            let inRate = Double(frame.pointee.sample_rate)
            let pts = frame.pointee.best_effort_timestamp
            if pts != noPTS && !anyKept {
                let t0 = Double(pts) * Rational(input.stream(index).pointee.time_base).value - start
                let duration = Double(frame.pointee.nb_samples) / inRate
                if t0 + duration <= 0 { return }
                if t0 < 0 { drop = Int32((-t0 * Double(encoder.pointer.pointee.sample_rate)).rounded()) }
            }
        }
        let capacity = swr_get_out_samples(swr, frame?.pointee.nb_samples ?? 0) + 32
        guard capacity > 0 else { return }
        av_frame_unref(converted.pointer)
        converted.pointer.pointee.nb_samples = capacity
        converted.pointer.pointee.format = encoder.pointer.pointee.sample_fmt.rawValue
        try check(av_channel_layout_copy(&converted.pointer.pointee.ch_layout, &encoder.pointer.pointee.ch_layout), "resample audio", path: path)
        try check(av_frame_get_buffer(converted.pointer, 0), "resample audio", path: path)
        let n = try check(reverie_swr_convert_frame_into(swr, converted.pointer, capacity, frame), "resample audio", path: path)
        guard n > 0 else { return }
        try check(reverie_fifo_write(fifo, converted.pointer, n), "buffer audio", path: path)
        if drop > 0 { av_audio_fifo_drain(fifo, min(drop, av_audio_fifo_size(fifo))) }
        anyKept = anyKept || av_audio_fifo_size(fifo) > 0
    }
}
