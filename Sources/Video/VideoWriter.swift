import CFFmpeg
import Foundation

/// Encodes RGB pictures into a video file. Codec and container come from the extension:
/// .mp4/.mov (H.264 yuv420p, +faststart), .mkv (H.264, or FFV1 with `settings.lossless`), .webm (VP9).
/// Writes to a temporary file beside `path`, renamed into place only by `finish()`.
public final class VideoWriter {
    public let path: String
    /// Size of the pictures `write` accepts.
    public let width: Int, height: Int
    public let frameRate: Rational

    private let output: OutputFile
    private let encoder: CodecContext
    private let stream: UnsafeMutablePointer<AVStream>
    private let converter: RGBToFrame
    private let frame: Frame
    private let packet: Packet
    private let audio: AudioCarrier?
    private let encodedWidth: Int, encodedHeight: Int
    private var framesWritten = 0
    private var lastPTS = Int64.min
    private var done = false

    public init(path: String, width: Int, height: Int, frameRate: Rational, settings: EncoderSettings = .init(),
                audioFrom: String? = nil, audioRange: ClosedRange<Double>? = nil, metadata: [String: String] = [:]) throws {
        self.path = path
        self.width = width
        self.height = height
        self.frameRate = frameRate
        try SizeLimit.check(width: width, height: height, path: path, operation: "create")
        guard frameRate.isValid else { throw VideoError("create", path: path, message: "invalid frame rate \(frameRate)") }
        let kind = try OutputKind(path: path, settings: settings)
        output = try OutputFile(path: path, format: kind.format)

        guard let codec = avcodec_find_encoder_by_name(kind.codec) else {
            throw VideoError("create", path: path, message: "encoder \(kind.codec) is not available")
        }
        let format = av_get_pix_fmt(kind.pixelFormat)
        guard format != AV_PIX_FMT_NONE else { throw VideoError("create", path: path, message: "unknown pixel format \(kind.pixelFormat)") }
        // 4:2:0 and 4:2:2 need even sizes: pad by one pixel (repeating the edge) rather than lose a row.
        let (encodedWidth, encodedHeight) = VideoWriter.chromaAlignedSize(width, height, format)
        if (encodedWidth, encodedHeight) != (width, height) {
            warn(path, "\(width)x\(height) is odd for \(kind.pixelFormat); padded to \(encodedWidth)x\(encodedHeight)")
        }
        self.encodedWidth = encodedWidth
        self.encodedHeight = encodedHeight
        let timeBase = settings.timeBase ?? Rational(frameRate.den, frameRate.num)
        guard timeBase.isValid else { throw VideoError("create", path: path, message: "invalid time base \(timeBase)") }

        encoder = try CodecContext(codec, path: path)
        // Video YUV is limited range; gray is stored full range, as FFmpeg's gray readers assume.
        let isGray = (av_pix_fmt_desc_get(format)?.pointee.nb_components ?? 3) <= 2
        let colour = ColourDetails(space: Int32(AVCOL_SPC_BT709.rawValue), full: isGray)
        do {
            let e = encoder.pointer
            e.pointee.width = Int32(encodedWidth)
            e.pointee.height = Int32(encodedHeight)
            e.pointee.pix_fmt = format
            e.pointee.time_base = timeBase.av
            e.pointee.framerate = frameRate.av
            e.pointee.sample_aspect_ratio = (settings.sampleAspectRatio ?? Rational(1, 1)).av
            if let g = settings.keyframeInterval { e.pointee.gop_size = Int32(max(1, g)) }
            e.pointee.thread_count = Int32(settings.threads)
            e.pointee.colorspace = AVCOL_SPC_BT709
            e.pointee.color_primaries = AVCOL_PRI_BT709
            e.pointee.color_trc = AVCOL_TRC_BT709
            e.pointee.color_range = colour.full ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG
            if output.needsGlobalHeader { e.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER }
            var options: OpaquePointer? = nil
            defer { av_dict_free(&options) }
            switch kind.codec {
            case "libx264":
                av_dict_set(&options, "crf", "\(settings.crf)", 0)
                av_dict_set(&options, "preset", settings.preset, 0)
            case "libvpx-vp9":
                av_dict_set(&options, "crf", "\(settings.crf + 13)", 0)  // VP9's scale runs higher: 31 ~ x264's 18
                av_dict_set(&options, "b", "0", 0)
                av_dict_set(&options, "row-mt", "1", 0)
                // x264 preset names mapped onto VP9 speed: 4 is libvpx's usual quality/speed balance.
                let speed = settings.preset.contains("fast") ? "5" : settings.preset.contains("slow") ? "2" : "4"
                av_dict_set(&options, "cpu-used", speed, 0)
            case "ffv1":
                av_dict_set(&options, "level", "3", 0)
            default: break
            }
            try check(avcodec_open2(e, codec, &options), "open encoder \(kind.codec)", path: path)
        }

        stream = try checkPointer(avformat_new_stream(output.context, nil), "add video stream", path: path)
        try check(avcodec_parameters_from_context(stream.pointee.codecpar, encoder.pointer), "add video stream", path: path)
        stream.pointee.time_base = timeBase.av
        stream.pointee.sample_aspect_ratio = encoder.pointer.pointee.sample_aspect_ratio
        stream.pointee.avg_frame_rate = frameRate.av
        stream.pointee.r_frame_rate = frameRate.av
        if settings.rotation % 360 != 0 {
            let matrix = try checkPointer(av_stream_new_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, 36), "set rotation", path: path)
            // av_display_rotation_set takes clockwise degrees (av_display_rotation_get returns counter-clockwise).
            matrix.withMemoryRebound(to: Int32.self, capacity: 9) { av_display_rotation_set($0, Double(settings.rotation)) }
        }

        var headerOptions: [String: String] = [:]
        for (k, v) in metadata { av_dict_set(&output.context.pointee.metadata, k, v, 0) }
        if kind.format == "mp4" || kind.format == "mov" {
            headerOptions["movflags"] = (kind.fastStart ? "+faststart" : "") + (metadata.isEmpty ? "" : "+use_metadata_tags")
        }
        let output = self.output
        audio = try audioFrom.flatMap { try AudioCarrier(source: $0, range: audioRange, output: output) }

        converter = try RGBToFrame(width: encodedWidth, height: encodedHeight, format: format, colour: colour, path: path)
        frame = try Frame(path: path)
        packet = try Packet(path: path)
        frame.pointer.pointee.format = format.rawValue
        frame.pointer.pointee.width = Int32(encodedWidth)
        frame.pointer.pointee.height = Int32(encodedHeight)
        try check(av_frame_get_buffer(frame.pointer, 0), "allocate frame", path: path)
        try output.open(headerOptions: headerOptions)
    }

    deinit {
        output.discard()
    }

    static func chromaAlignedSize(_ w: Int, _ h: Int, _ format: AVPixelFormat) -> (Int, Int) {
        guard let d = av_pix_fmt_desc_get(format) else { return (w, h) }
        let xs = 1 << Int(d.pointee.log2_chroma_w), ys = 1 << Int(d.pointee.log2_chroma_h)
        return ((w + xs - 1) / xs * xs, (h + ys - 1) / ys * ys)
    }

    /// Adds one picture. `seconds` nil: the i-th picture is shown at i/frameRate; otherwise at that
    /// exact time (variable frame rate), rounded to the time base and kept strictly increasing.
    public func write(_ image: RGBImage, seconds: Double? = nil) throws {
        guard !done else { throw VideoError("write", path: path, message: "writer already finished") }
        guard image.width == width && image.height == height else {
            throw VideoError("write", path: path, message: "picture is \(image.width)x\(image.height), writer expects \(width)x\(height)")
        }
        let tb = Rational(encoder.pointer.pointee.time_base)
        var pts: Int64
        if let s = seconds {
            guard s.isFinite else { throw VideoError("write", path: path, message: "frame time \(s) is not a number") }
            pts = Int64((s / tb.value).rounded())
        } else {
            pts = av_rescale_q(Int64(framesWritten), AVRational(num: frameRate.den, den: frameRate.num), tb.av)
        }
        pts = max(pts, lastPTS &+ 1)
        try check(av_frame_make_writable(frame.pointer), "write", path: path)
        try converter.fill(frame.pointer, from: image.padded(toWidth: encodedWidth, height: encodedHeight), path: path)
        frame.pointer.pointee.pts = pts
        try check(avcodec_send_frame(encoder.pointer, frame.pointer), "encode", path: path)
        lastPTS = pts
        framesWritten += 1
        try drainEncoder()
    }

    /// Moves every finished packet from the encoder to the muxer, with audio up to the same time.
    private func drainEncoder() throws {
        while true {
            let r = avcodec_receive_packet(encoder.pointer, packet.pointer)
            if r == errorAgain || r == errorEOF { return }
            try check(r, "encode", path: path)
            defer { av_packet_unref(packet.pointer) }
            av_packet_rescale_ts(packet.pointer, encoder.pointer.pointee.time_base, stream.pointee.time_base)
            packet.pointer.pointee.stream_index = stream.pointee.index
            let dts = packet.pointer.pointee.dts
            if let audio, dts != noPTS {
                try audio.pump(until: Double(dts) * Rational(stream.pointee.time_base).value)
            }
            try output.write(packet.pointer)
        }
    }

    /// Seconds of video written: the last picture's time plus one frame.
    public var duration: Double {
        guard framesWritten > 0 else { return 0 }
        return Double(lastPTS) * Rational(encoder.pointer.pointee.time_base).value + 1 / frameRate.value
    }

    /// Flushes the encoder, adds the rest of the audio (up to the video's end), writes the trailer
    /// once and renames the file into place. On error nothing is left at `path`.
    public func finish() throws {
        guard !done else { return }
        done = true
        do {
            guard framesWritten > 0 else { throw VideoError("finish", path: path, message: "no frames were written") }
            try check(avcodec_send_frame(encoder.pointer, nil), "flush encoder", path: path)
            try drainEncoder()
            try audio?.pump(until: duration)
            try output.commit()
        } catch {
            output.discard()
            throw error
        }
    }

    /// Abandons the file: the temporary file is removed, nothing appears at `path`.
    public func cancel() {
        done = true
        output.discard()
    }
}

extension VideoWriter {
    /// Runs `body` with a writer and finishes it; if `body` throws, the partial file is removed.
    public static func with<T>(path: String, width: Int, height: Int, frameRate: Rational, settings: EncoderSettings = .init(),
                               audioFrom: String? = nil, audioRange: ClosedRange<Double>? = nil, metadata: [String: String] = [:],
                               _ body: (VideoWriter) throws -> T) throws -> T {
        let writer = try VideoWriter(path: path, width: width, height: height, frameRate: frameRate, settings: settings,
                                     audioFrom: audioFrom, audioRange: audioRange, metadata: metadata)
        do {
            let result = try body(writer)
            try writer.finish()
            return result
        } catch {
            writer.cancel()
            throw error
        }
    }
}
