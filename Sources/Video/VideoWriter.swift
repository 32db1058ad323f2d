import CFFmpeg
import Foundation

/// Encodes RGB pictures into a video file. Codec and container come from the extension:
/// .mp4/.mov (H.264 yuv420p, +faststart), .mkv (H.264, or FFV1 with `settings.lossless`), .webm (VP9),
/// .gif (one palette for the whole animation, dithered; frames are kept in memory until `finish()`)
/// and .webp (animated, libwebp); both of the last two loop forever. Also what cameras write: .ts
/// (H.264 in MPEG-TS) and raw elementary streams .h264/.264 and .hevc/.265 (libx265), which keep no
/// timestamps, no duration and no audio (the rate is only in the stream's VUI).
/// A PNG pattern (`frames/%05d.png`, see `FrameSequence`) writes one PNG per picture through
/// FFmpeg's image2 muxer, numbered from `settings.startNumber`, RGB24 or with `settings.depth` 16
/// rgb48be; no audio, no timestamps (`timestamps` has them, for a timing file: `attach`).
/// Writes to a temporary file beside `path` (a sequence: a temporary folder beside its folder),
/// renamed into place only by `finish()`.
public final class VideoWriter {
    /// Where the file appears once `finish()` succeeds.
    public let path: String
    /// Size of the pictures `write` accepts.
    public let width: Int, height: Int
    /// Frames per second; the i-th picture is shown at i/frameRate unless `write` is given its time.
    public let frameRate: Rational

    private let output: OutputFile
    private let encoder: CodecContext
    private let stream: UnsafeMutablePointer<AVStream>
    /// nil for GIF, whose pictures go through `gif` instead, and for formats filled by hand (`direct`).
    private let converter: RGBToFrame?
    /// The encoder takes packed RGB or 16-bit RGB as it is (PNG, 16-bit FFV1): copied, no swscale.
    private let direct: Bool
    /// Bits per channel of the encoded pictures (16: `write` of an `RGBImage` widens it exactly).
    public let depth: Int
    private let gif: GIFFrames?
    private let frame: Frame
    private let packet: Packet
    private let audio: AudioCarrier?
    private let encodedWidth: Int, encodedHeight: Int
    private var framesWritten = 0
    private var lastPTS = Int64.min
    /// Each picture's presentation time so far, in `timeBase`.
    public private(set) var timestamps: [Int64] = []
    private var done = false

    /// Creates the output for `width` x `height` pictures at `frameRate`, encoded as `settings` say. With
    /// `audioFrom`, the audio of that file comes along, trimmed to `audioRange` (seconds of its video time;
    /// nil: all of it) and shifted to start at 0; `metadata` becomes container tags. Throws `VideoError`
    /// for an unsupported extension, codec or pixel format, an invalid rate or time base, a size over
    /// the limit, or a file that cannot be created.
    public init(
        path: String, width: Int, height: Int, frameRate: Rational, settings: EncoderSettings = .init(),
        audioFrom: String? = nil, audioRange: ClosedRange<Double>? = nil, metadata: [String: String] = [:]
    ) throws {
        self.path = path
        self.width = width
        self.height = height
        self.frameRate = frameRate
        try SizeLimit.check(width: width, height: height, path: path, operation: "create")
        guard frameRate.isValid else { throw VideoError("create", path: path, message: "invalid frame rate \(frameRate)") }
        let kind = try OutputKind(path: path, settings: settings)
        output = try OutputFile(path: path, format: kind.format)

        let timeBase = settings.timeBase ?? Rational(frameRate.den, frameRate.num)
        guard timeBase.isValid else { throw VideoError("create", path: path, message: "invalid time base \(timeBase)") }
        let setup = try VideoEncoder(
            kind: kind, width: width, height: height, frameRate: frameRate, timeBase: timeBase,
            settings: settings, globalHeader: output.needsGlobalHeader, path: path)
        encoder = setup.context
        encodedWidth = setup.width
        encodedHeight = setup.height
        let format = setup.format
        direct = RGB48Copy.writes(format) && (kind.codec == "png" || RGB48Copy.isSixteenBit(format))
        depth = RGB48Copy.isSixteenBit(format) ? 16 : 8
        if audioFrom != nil && kind.format == "image2" {
            throw VideoError("create", path: path, message: "an image sequence holds no audio")
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
        if kind.format == "gif" || kind.format == "webp" { headerOptions["loop"] = "0" }  // 0: forever
        if kind.format == "image2" { headerOptions["start_number"] = "\(settings.startNumber)" }
        let output = self.output
        audio = try audioFrom.flatMap { try AudioCarrier(source: $0, range: audioRange, output: output) }

        gif = format == AV_PIX_FMT_PAL8 ? GIFFrames() : nil
        converter =
            gif != nil || direct
            ? nil
            : try RGBToFrame(width: encodedWidth, height: encodedHeight, format: format, colour: setup.colour, path: path)
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

    /// Adds one picture. `seconds` nil: the i-th picture is shown at i/frameRate; otherwise at that
    /// exact time (variable frame rate), rounded to the time base and kept strictly increasing.
    public func write(_ image: RGBImage, seconds: Double? = nil) throws {
        try checkWrite(width: image.width, height: image.height)
        if direct && depth == 16 { return try write(RGB48Image(image), seconds: seconds) }
        let pts = try nextPTS(seconds: seconds)
        if let gif {
            gif.append(image, pts: pts)  // encoded by finish(), once the palette can see every frame
        } else if let converter {
            try check(av_frame_make_writable(frame.pointer), "write", path: path)
            try converter.fill(frame.pointer, from: image.padded(toWidth: encodedWidth, height: encodedHeight), path: path)
            try send(pts: pts)
        } else {
            try check(av_frame_make_writable(frame.pointer), "write", path: path)
            RGB48Copy.fill(frame.pointer, from: image)
            try send(pts: pts)
        }
        written(pts)
    }

    /// Adds one 16-bit picture: kept whole by 16-bit outputs, rounded to 8 bits for the others.
    public func write(_ image: RGB48Image, seconds: Double? = nil) throws {
        try checkWrite(width: image.width, height: image.height)
        guard direct && depth == 16 else { return try write(image.rgb8, seconds: seconds) }
        let pts = try nextPTS(seconds: seconds)
        try check(av_frame_make_writable(frame.pointer), "write", path: path)
        RGB48Copy.fill(frame.pointer, from: image.padded(toWidth: encodedWidth, height: encodedHeight))
        try send(pts: pts)
        written(pts)
    }

    private func checkWrite(width w: Int, height h: Int) throws {
        guard !done else { throw VideoError("write", path: path, message: "writer already finished") }
        guard w == width && h == height else {
            throw VideoError("write", path: path, message: "picture is \(w)x\(h), writer expects \(width)x\(height)")
        }
    }

    private func written(_ pts: Int64) {
        lastPTS = pts
        timestamps.append(pts)
        framesWritten += 1
    }

    /// The next picture's time in the encoder's time base (see `write`).
    private func nextPTS(seconds: Double?) throws -> Int64 {
        let tb = Rational(encoder.pointer.pointee.time_base)
        var pts: Int64
        if let s = seconds {
            guard s.isFinite else { throw VideoError("write", path: path, message: "frame time \(s) is not a number") }
            pts = Int64((s / tb.value).rounded())
        } else {
            pts = av_rescale_q(Int64(framesWritten), AVRational(num: frameRate.den, den: frameRate.num), tb.av)
        }
        return max(pts, lastPTS &+ 1)
    }

    /// The unit of `timestamps`.
    public var timeBase: Rational { Rational(encoder.pointer.pointee.time_base) }

    /// Adds a file to an image sequence's folder (e.g. its timing), written by `finish()` before
    /// the folder is renamed into place; a later `attach` of the same name replaces it.
    public func attach(fileNamed name: String, contents: Data) throws {
        guard output.sequence != nil else {
            throw VideoError("attach \(name)", path: path, message: "only an image sequence's folder takes other files")
        }
        guard !name.contains("/"), !name.hasPrefix("."), output.sequence?.number(ofFileNamed: name) == nil else {
            throw VideoError("attach \(name)", path: path, message: "not a plain file name, or the name of a frame")
        }
        output.attachments.removeAll { $0.name == name }
        output.attachments.append((name, contents))
    }

    /// Encodes the picture in `frame` at `pts` and passes on what the encoder has ready.
    private func send(pts: Int64) throws {
        frame.pointer.pointee.pts = pts
        try check(avcodec_send_frame(encoder.pointer, frame.pointer), "encode", path: path)
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
            try gif?.encode(into: frame.pointer, path: path) { try send(pts: $0) }
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
    /// Whether this FFmpeg build has the encoder `name` (e.g. "libx265").
    public static func hasEncoder(_ name: String) -> Bool { avcodec_find_encoder_by_name(name) != nil }

    /// Runs `body` with a writer and finishes it; if `body` throws, the partial file is removed.
    public static func with<T>(
        path: String, width: Int, height: Int, frameRate: Rational, settings: EncoderSettings = .init(),
        audioFrom: String? = nil, audioRange: ClosedRange<Double>? = nil, metadata: [String: String] = [:],
        _ body: (VideoWriter) throws -> T
    ) throws -> T {
        let writer = try VideoWriter(
            path: path, width: width, height: height, frameRate: frameRate, settings: settings,
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
