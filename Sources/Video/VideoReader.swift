import CFFmpeg

/// One decoded picture with its place in the stream.
public struct VideoFrame: Sendable {
    /// The picture, upright with square pixels: `VideoInfo.width` x `VideoInfo.height`.
    public var image: RGBImage
    /// 0-based position in display order.
    public var index: Int
    /// Presentation timestamp in `VideoInfo.timeBase` (the stream's; for a stream without timestamps
    /// 1/rate, so frame i has pts i).
    public var pts: Int64
    /// Seconds since the first frame.
    public var seconds: Double
    /// The picture at 16 bits per channel, from a reader opened with `sixteenBit` (else nil):
    /// exact for 16-bit pictures (PNG, FFV1), finer than `image` for 9- to 15-bit ones, and
    /// `image` widened (v × 257) for 8-bit ones.
    public var image16: RGB48Image? = nil
}

/// Decodes the best video stream of a file into upright, square-pixel RGB frames.
///
/// Streams without usable timestamps (raw H.264/HEVC elementary streams: no container, packets
/// without pts) are timed by their rate: frame i is at i/rate, the time base is 1/rate, the duration
/// is the frame count over the rate, and seeks decode forward from the start.
///
/// A numbered image sequence (`frames/%05d.png`, see `FrameSequence`) is read with FFmpeg's image2
/// demuxer from its first file: frame i is at pts i in the time base 1/rate, i/rate seconds.
public final class VideoReader {
    /// The file being decoded.
    public let path: String
    /// What the file holds, measured once when it is opened.
    public let info: VideoInfo

    private let input: InputFile
    private let streamIndex: Int
    private let decoder: CodecContext
    /// A single-threaded twin of `decoder`, fed the same packets while a seek decodes its path, to
    /// judge that path's damage; nil when `decoder` does not use frame threading. With frame
    /// threads FFmpeg (5.1) copies a picture's decode_error_flags into the output frame while another
    /// thread may still be concealing that picture's errors, so `decoder` reports damage only
    /// sometimes: seeks accepted damaged pictures at random.
    private let checker: CodecContext?
    private let packet: Packet
    private let frame: Frame
    private let checkerFrame: Frame
    private let converter: FrameToRGB
    private let converter48: FrameToRGB?
    private let table: FrameTable
    private let streamOrientation: Orientation
    private let startPTS: Int64
    /// No usable timestamps: frames are numbered and timed by decoding order (see the class comment).
    private let untimed: Bool
    private var nextIndex = 0
    private var draining = false
    private var pending: VideoFrame?
    private var consecutiveErrors = 0
    private var warnedReadError = false
    /// While a seek decodes its path: frames up to this timestamp count for `checkerSawDamage`.
    private var checkTarget: Int64?
    private var checkerSawDamage = false
    /// Whether the decoders have seen the stream's first packet (see `seek(toPTS:index:)`).
    private var primed = false

    /// Consecutive undecodable packets after which the file counts as broken rather than glitched.
    private let maxConsecutiveErrors = 100

    /// Opens `path`, picks the best video stream, counts its frames; refuses absurd sizes.
    /// `sequenceRate`: the rate of an image sequence (default 25, as FFmpeg's image2); files ignore
    /// it. `sixteenBit`: frames carry `image16` as well.
    public init(path: String, sequenceRate: Rational? = nil, sixteenBit: Bool = false) throws {
        self.path = path
        input = try InputFile(path: path, sequenceRate: sequenceRate)
        guard let index = input.bestStream(AVMEDIA_TYPE_VIDEO) else {
            throw VideoError("open", path: path, message: "no video stream (audio-only or not a video file)")
        }
        streamIndex = index
        let stream = input.stream(index)
        let par = stream.pointee.codecpar.pointee
        guard par.width > 0 && par.height > 0 else {
            throw VideoError(
                "open", path: path,
                message: "picture size unknown: the file is broken, or larger than the limit (\(SizeLimit.pixels / 1_000_000)M pixels)")
        }
        try SizeLimit.check(width: Int(par.width), height: Int(par.height), path: path, operation: "open")
        guard let codec = avcodec_find_decoder(par.codec_id) else {
            throw VideoError("open decoder", path: path, message: "no decoder for codec \(cString(avcodec_get_name(par.codec_id)))")
        }
        decoder = try VideoReader.openDecoder(codec, stream: stream, threads: 0, path: path)  // one thread per core
        let frameThreaded = decoder.pointer.pointee.active_thread_type & FF_THREAD_FRAME != 0
        checker = frameThreaded ? try VideoReader.openDecoder(codec, stream: stream, threads: 1, path: path) : nil
        packet = try Packet(path: path)
        frame = try Frame(path: path)
        checkerFrame = try Frame(path: path)
        converter = FrameToRGB(path: path)
        converter48 = sixteenBit ? FrameToRGB(path: path, output: nativeRGB48) : nil
        let isSequence = input.formatName == "image2" && FrameSequence.isPattern(path)
        // A sequence has one packet per file, from the first to the last (its stream duration):
        // no need to read every file once more to count them.
        table = isSequence ? FrameTable.numbered(count: Int(stream.pointee.duration)) : try FrameTable.scan(path: path, streamIndex: index)
        streamOrientation = Orientation.of(stream: stream)
        let st = stream.pointee
        untimed = VideoReader.lacksTimestamps(table, stream: stream, input: input)
        startPTS = untimed ? 0 : table.pts.first ?? (st.start_time != noPTS ? st.start_time : 0)
        var info = VideoReader.describe(
            input: input, stream: stream, table: table, orientation: streamOrientation,
            startPTS: startPTS, untimed: untimed)
        info.isSequence = isSequence
        self.info = info
    }

    /// No packet has a timestamp (raw elementary streams), packets share timestamps, or some lack
    /// one while nothing else tells the length: the timestamps cannot time the frames.
    private static func lacksTimestamps(_ table: FrameTable, stream: UnsafeMutablePointer<AVStream>, input: InputFile) -> Bool {
        guard table.count > 0 else { return false }
        if table.pts.isEmpty || table.hasRepeatedTimestamps { return true }
        let st = stream.pointee
        return !table.complete && (st.duration == noPTS || st.duration <= 0) && input.duration == nil
    }

    private static func openDecoder(
        _ codec: UnsafePointer<AVCodec>, stream: UnsafeMutablePointer<AVStream>,
        threads: Int32, path: String
    ) throws -> CodecContext {
        let d = try CodecContext(codec, path: path)
        try check(avcodec_parameters_to_context(d.pointer, stream.pointee.codecpar), "open decoder", path: path)
        d.pointer.pointee.thread_count = threads  // 0: one per core
        d.pointer.pointee.thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE
        d.pointer.pointee.pkt_timebase = stream.pointee.time_base
        d.pointer.pointee.max_pixels = Int64(SizeLimit.pixels)  // refuse oversized pictures before allocating
        try check(avcodec_open2(d.pointer, codec, nil), "open decoder", path: path)
        return d
    }

    private static func describe(
        input: InputFile, stream: UnsafeMutablePointer<AVStream>, table: FrameTable,
        orientation: Orientation, startPTS: Int64, untimed: Bool
    ) -> VideoInfo {
        let st = stream.pointee
        let par = st.codecpar.pointee
        var timeBase = Rational(st.time_base)
        let sar = Rational(av_guess_sample_aspect_ratio(input.context, stream, nil))
        var width = Int(par.width), height = Int(par.height)
        if sar.isValid && sar.num != sar.den { width = max(1, Int((Double(width) * sar.value).rounded())) }
        if orientation.swapsSides { swap(&width, &height) }
        // r_frame_rate is the clean base rate of constant-rate streams; avg_frame_rate suits variable ones.
        var rate = table.isVariable ? Rational(st.avg_frame_rate) : Rational(st.r_frame_rate)
        if !rate.isValid { rate = Rational(av_guess_frame_rate(input.context, stream, nil)) }
        var duration = input.duration ?? 0
        // FFmpeg's duration is an estimate for formats with timestamp discontinuities (MPEG-TS, PS: from
        // timestamps it finds near the end of the file) and for files that state none (from the
        // bitrate): the frames' own timestamps say it exactly.
        let formatFlags = input.context.pointee.iformat.pointee.flags
        let guessed =
            input.context.pointee.duration_estimation_method == AVFMT_DURATION_FROM_BITRATE
            || formatFlags & AVFMT_TS_DISCONT != 0
        if untimed {
            // The stream's own rate (the rate in a raw stream's VUI), else FFmpeg's default of 25.
            rate =
                [Rational(st.avg_frame_rate), Rational(st.r_frame_rate), Rational(av_guess_frame_rate(input.context, stream, nil))]
                .first { $0.isValid } ?? Rational(25, 1)
            timeBase = Rational(rate.den, rate.num)
            duration = Double(table.count) / rate.value
        } else if st.duration != noPTS && st.duration > 0 && !(guessed && table.complete) {
            duration = Double(st.duration) * timeBase.value
        } else if table.complete, let last = table.pts.last, rate.isValid {
            duration = Double(last - startPTS) * timeBase.value + 1 / rate.value
        }
        return VideoInfo(
            container: input.formatName, videoCodec: cString(avcodec_get_name(par.codec_id)), duration: duration,
            width: width, height: height, codedWidth: Int(par.width), codedHeight: Int(par.height),
            pixelFormat: cString(av_get_pix_fmt_name(AVPixelFormat(rawValue: par.format))),
            frameRate: rate, timeBase: timeBase, sampleAspectRatio: sar.isValid ? sar : Rational(1, 1),
            frameCount: table.count, rotation: orientation.rotation, isVariableFrameRate: table.isVariable,
            audio: input.audioStreams(), metadata: input.metadata)
    }

    // MARK: Sequential decoding

    /// The next frame in display order, or nil after the last one (the decoder is flushed: all frames).
    public func nextFrame() throws -> VideoFrame? {
        if let p = pending {
            pending = nil
            return p
        }
        guard try decodeRaw() else { return nil }
        return try deliver()
    }

    /// Decodes into `frame`; true when it holds a picture (caller unrefs), false at the end.
    private func decodeRaw() throws -> Bool {
        while true {
            let r = avcodec_receive_frame(decoder.pointer, frame.pointer)
            if r >= 0 {
                consecutiveErrors = 0
                return true
            }
            if r == errorEOF { return false }
            if r != errorAgain {
                try countError(r, "decode")
                continue
            }
            if draining { return false }
            try feed()
        }
    }

    /// Sends the next packet of our stream to the decoder, or the flush signal at the end of the file.
    private func feed() throws {
        while true {
            let r = av_read_frame(input.context, packet.pointer)
            if r < 0 {
                if r != errorEOF && !warnedReadError {
                    warn(path, "reading stopped early: \(ffmpegMessage(r))")
                    warnedReadError = true
                }
                draining = true
                avcodec_send_packet(decoder.pointer, nil)
                feedChecker(nil)
                return
            }
            defer { av_packet_unref(packet.pointer) }
            guard Int(packet.pointer.pointee.stream_index) == streamIndex else { continue }
            let s = avcodec_send_packet(decoder.pointer, packet.pointer)
            feedChecker(packet.pointer)
            if s >= 0 { return }
            try countError(s, "decode")
        }
    }

    /// During a seek, decodes the same packet (nil: the end) on `checker`, noting damaged frames up to the target.
    private func feedChecker(_ p: UnsafeMutablePointer<AVPacket>?) {
        guard let checker, let target = checkTarget else { return }
        avcodec_send_packet(checker.pointer, p)
        let f = checkerFrame.pointer
        while avcodec_receive_frame(checker.pointer, f) >= 0 {
            if f.pointee.best_effort_timestamp <= target && VideoReader.isDamaged(f) { checkerSawDamage = true }
            av_frame_unref(f)
        }
    }

    /// Corrupt packets are skipped (as players do) until too many come in a row.
    private func countError(_ code: Int32, _ operation: String) throws {
        consecutiveErrors += 1
        if consecutiveErrors > maxConsecutiveErrors { try check(code, operation, path: path) }
    }

    private var framePTS: Int64 { frame.pointer.pointee.best_effort_timestamp }

    /// The decoder flagged the frame as damaged (missing references, bitstream errors).
    private static func isDamaged(_ f: UnsafeMutablePointer<AVFrame>) -> Bool {
        f.pointee.flags & AV_FRAME_FLAG_CORRUPT != 0 || f.pointee.decode_error_flags != 0
    }

    /// Converts the decoded `frame` to an upright RGB frame numbered `nextIndex`, and releases it.
    private func deliver() throws -> VideoFrame {
        defer { av_frame_unref(frame.pointer) }
        let sar = Rational(input.stream(streamIndex).pointee.sample_aspect_ratio)
        let orientation = Orientation.of(frame: frame.pointer) ?? streamOrientation
        let image = orientation.apply(try converter.convert(frame.pointer, sampleAspect: sar))
        var image16: RGB48Image? = nil
        if let converter48 {
            let depth = Int(av_pix_fmt_desc_get(AVPixelFormat(rawValue: frame.pointer.pointee.format))?.pointee.comp.0.depth ?? 8)
            // Turned pictures (camera video) are widened from 8 bits: their orientation is applied to RGB24.
            image16 =
                depth <= 8 || orientation != .identity
                ? RGB48Image(image) : try converter48.convert48(frame.pointer, sampleAspect: sar)
        }
        let index = nextIndex
        nextIndex += 1
        return VideoFrame(
            image: image, index: index, pts: untimed ? Int64(index) : framePTS, seconds: seconds(index: index), image16: image16)
    }

    /// The time of the decoded `frame`, frame number `index` of the stream.
    private func seconds(index: Int) -> Double {
        let pts = framePTS
        guard !untimed && pts != noPTS else { return Double(index) / max(info.frameRate.value, 1e-9) }
        return Double(pts - startPTS) * info.timeBase.value
    }

    // MARK: Accurate seeking

    /// After this, `nextFrame()` returns exactly frame `index` (as sequential decoding numbers it).
    public func seek(toFrame index: Int) throws {
        guard index >= 0 && index < info.frameCount else {
            throw VideoError("seek", path: path, message: "frame \(index) is out of range 0..<\(info.frameCount)")
        }
        if table.complete && !untimed {
            try seek(toPTS: table.pts[index], index: index)
        } else if try !decodeFromStart(until: { frameIndex, _ in frameIndex >= index }) {
            throw VideoError("seek", path: path, message: "frame \(index) could not be decoded")
        }
    }

    /// After this, `nextFrame()` returns the first frame whose time is >= `t` seconds (nil past the end).
    public func seek(toSeconds t: Double) throws {
        guard t.isFinite else { throw VideoError("seek", path: path, message: "time \(t) is not a number") }
        if table.complete && !untimed {
            let ticks = Int64((max(0, t) / info.timeBase.value - 1e-6).rounded(.up))
            let index = table.firstIndex(atOrAfter: startPTS + ticks)
            if index >= table.pts.count, let last = table.pts.last {
                try seek(toPTS: last, index: table.pts.count - 1)  // past the end: after the last frame
                pending = nil
            } else {
                try seek(toPTS: table.pts[index], index: index)
            }
        } else {
            try decodeFromStart { _, seconds in seconds >= t - 1e-9 }  // none past the end: nextFrame() gives nil
        }
    }

    /// Seeks to the keyframe before `target`, decodes forward to it; backs off further when the
    /// demuxer's keyframe lies after the target (decode-order timestamps), finally from the start.
    private func seek(toPTS target: Int64, index: Int) throws {
        // A decoder can need what only the start of the stream says: FFmpeg's H.264 decoder reads
        // the x264 build from an SEI in the first packet and works around old x264 bugs. Decoded
        // from a later keyframe without it, cockatoo.mp4 (x264 core 142, 4:4:4) comes out damaged
        // although its keyframes are IDR pictures. So the decoders see the first packet once; they
        // keep such state across the flushes of later seeks.
        defer { checkTarget = nil }
        if !primed {
            try rawSeek(to: startPTS)
            checkTarget = startPTS  // so that the checker decodes it too
            try feed()
            primed = true
        }
        let tb = info.timeBase.value
        let margins: [Int64?] = [0, Int64(1 / tb), Int64(10 / tb), nil]
        for margin in margins {
            try rawSeek(to: margin.map { target - $0 } ?? startPTS)
            checkTarget = margin != nil ? target : nil  // from the start there is nothing to back off to
            checkerSawDamage = false
            guard try decodeRaw() else { continue }
            if framePTS > target && margin != nil {
                av_frame_unref(frame.pointer)
                continue
            }
            // Files can mark keyframes that are not clean entry points: frames decoded from there
            // come out damaged, so back off further.
            var damaged = VideoReader.isDamaged(frame.pointer)
            while framePTS < target {
                av_frame_unref(frame.pointer)
                guard try decodeRaw() else {
                    throw VideoError("seek", path: path, message: "frame \(index) could not be decoded")
                }
                damaged = damaged || VideoReader.isDamaged(frame.pointer)
            }
            feedChecker(nil)  // the checker's last frames up to the target
            damaged = damaged || checkerSawDamage
            if damaged && margin != nil {
                av_frame_unref(frame.pointer)
                continue
            }
            nextIndex = index
            pending = try deliver()
            return
        }
        throw VideoError("seek", path: path, message: "frame \(index) could not be reached")
    }

    /// For streams without timestamps: rewinds and decodes until `isTarget(index, seconds)`; false
    /// when no frame is (the decoder is then at the end).
    @discardableResult
    private func decodeFromStart(until isTarget: (Int, Double) -> Bool) throws -> Bool {
        try rewind()
        nextIndex = 0
        while try decodeRaw() {
            if isTarget(nextIndex, seconds(index: nextIndex)) {
                pending = try deliver()
                return true
            }
            av_frame_unref(frame.pointer)
            nextIndex += 1
        }
        return false
    }

    /// Back to the first packet. A stream without timestamps cannot be sought by time (FFmpeg's
    /// generic index has none to search): it is sought by byte, to where its first packet began.
    private func rewind() throws {
        let byteSeekable = input.context.pointee.iformat.pointee.flags & AVFMT_NO_BYTE_SEEK == 0
        guard untimed, byteSeekable, let position = table.firstPosition else { return try rawSeek(to: startPTS) }
        try rawSeek { av_seek_frame(self.input.context, -1, position, AVSEEK_FLAG_BYTE) }
    }

    private func rawSeek(to ts: Int64) throws {
        try rawSeek {
            let r = av_seek_frame(self.input.context, Int32(self.streamIndex), ts, AVSEEK_FLAG_BACKWARD)
            return r >= 0 ? r : avformat_seek_file(self.input.context, Int32(self.streamIndex), Int64.min, ts, ts, 0)
        }
    }

    /// Flushes the decoders and forgets what was read ahead, then seeks the demuxer with `seek`.
    private func rawSeek(_ seek: () -> Int32) throws {
        avcodec_flush_buffers(decoder.pointer)
        if let checker { avcodec_flush_buffers(checker.pointer) }
        pending = nil
        draining = false
        try check(seek(), "seek", path: path)
    }
}
