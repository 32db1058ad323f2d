import Foundation

/// How `VideoWriter` encodes. Defaults: H.264 CRF 18, preset medium, yuv420p.
public struct EncoderSettings: Sendable {
    /// The default quality (visually lossless H.264), also the command line's `--crf` default.
    public static let defaultCRF = 18
    /// Constant rate factor (x264, VP9 and WebP): lower is better quality; 18 is visually lossless.
    public var crf: Int
    /// x264 preset (ultrafast ... veryslow); for VP9 it picks the speed.
    public var preset: String
    /// Lossless FFV1 (Matroska outputs) or lossless WebP (.webp outputs).
    public var lossless: Bool
    /// An encoder name that overrides the choice by extension (e.g. "ffv1", "libx264").
    public var codec: String?
    /// A pixel format that overrides the encoder's default (e.g. "yuv420p10le", "gray").
    public var pixelFormat: String?
    /// The unit of timestamps; default 1/frameRate. Use the source's time base to keep variable timing exactly.
    public var timeBase: Rational?
    /// Degrees clockwise a player should turn the picture (stored as a display matrix).
    public var rotation: Int
    /// Encoder threads. Fixed rather than one per core because x264's bitstream depends on its
    /// thread count: the same render on a machine with more or fewer cores gives the same bytes.
    public var threads: Int
    /// Maximum frames between keyframes; nil: the encoder's default (250 for x264).
    public var keyframeInterval: Int?
    /// Stored pixel shape (players stretch the width by it); nil: square pixels.
    public var sampleAspectRatio: Rational?
    /// Bits per channel, 8 or 16. 16: PNG sequences as rgb48be, lossless Matroska as FFV1 gbrp16le
    /// (the only outputs that hold 16 bits); write them `RGB48Image`s.
    public var depth: Int
    /// The number of a PNG sequence's first file (FFmpeg's image2 muxer's `start_number`).
    public var startNumber: Int

    /// Defaults: CRF `defaultCRF`, preset medium, lossy, codec and pixel format by extension, time base
    /// 1/frameRate, no rotation, 4 threads, the encoder's keyframe interval, square pixels.
    public init(
        crf: Int = EncoderSettings.defaultCRF, preset: String = "medium", lossless: Bool = false, codec: String? = nil,
        pixelFormat: String? = nil, timeBase: Rational? = nil, rotation: Int = 0, threads: Int = 4,
        keyframeInterval: Int? = nil, sampleAspectRatio: Rational? = nil, depth: Int = 8,
        startNumber: Int = FrameSequence.defaultStartNumber
    ) {
        self.crf = crf
        self.preset = preset
        self.lossless = lossless
        self.codec = codec
        self.pixelFormat = pixelFormat
        self.timeBase = timeBase
        self.rotation = rotation
        self.threads = threads
        self.keyframeInterval = keyframeInterval
        self.sampleAspectRatio = sampleAspectRatio
        self.depth = depth
        self.startNumber = startNumber
    }
}

/// Container and default encoder for an output file name.
struct OutputKind {
    var format: String
    var codec: String
    var pixelFormat: String
    var fastStart: Bool

    init(path: String, settings: EncoderSettings) throws {
        let ext = (path as NSString).pathExtension.lowercased()
        guard settings.depth == 8 || settings.depth == 16 else {
            throw VideoError("create", path: path, message: "bit depth \(settings.depth) is not 8 or 16")
        }
        if ext == "png" {
            // A numbered PNG sequence through FFmpeg's image2 muxer, 8 or 16 bits per channel.
            _ = try FrameSequence(pattern: path)
            (format, codec, pixelFormat, fastStart) = ("image2", "png", settings.depth == 16 ? "rgb48be" : "rgb24", false)
            if let c = settings.codec { codec = c }
            if let p = settings.pixelFormat { pixelFormat = p }
            return
        }
        switch ext {
        case "mp4", "m4v": (format, codec, pixelFormat, fastStart) = ("mp4", "libx264", "yuv420p", true)
        case "mov": (format, codec, pixelFormat, fastStart) = ("mov", "libx264", "yuv420p", true)
        case "mkv": (format, codec, pixelFormat, fastStart) = ("matroska", "libx264", "yuv420p", false)
        case "webm": (format, codec, pixelFormat, fastStart) = ("webm", "libvpx-vp9", "yuv420p", false)
        // Elementary streams (no container: no timestamps, no duration) and MPEG-TS, as cameras write them.
        case "h264", "264": (format, codec, pixelFormat, fastStart) = ("h264", "libx264", "yuv420p", false)
        case "hevc", "265", "h265": (format, codec, pixelFormat, fastStart) = ("hevc", "libx265", "yuv420p", false)
        case "ts": (format, codec, pixelFormat, fastStart) = ("mpegts", "libx264", "yuv420p", false)
        // GIF: palette pictures, quantised by GIFFrames. WebP: libwebp converts RGB to its own YUV itself.
        case "gif": (format, codec, pixelFormat, fastStart) = ("gif", "gif", "pal8", false)
        case "webp": (format, codec, pixelFormat, fastStart) = ("webp", "libwebp_anim", "bgra", false)
        default:
            throw VideoError(
                "create", path: path,
                message: "unsupported video extension '.\(ext)' (use .mp4, .mov, .mkv, .webm, .gif, .webp, .ts, .h264 or .hevc)")
        }
        if settings.lossless && format != "webp" {  // WebP: the encoder's own lossless mode (VideoEncoder.options)
            guard format == "matroska" else {
                throw VideoError("create", path: path, message: "lossless output needs a .mkv or .webp file name")
            }
            (codec, pixelFormat) = ("ffv1", settings.depth == 16 ? "gbrp16le" : "bgr0")  // exact round trips of RGB24 / RGB48
        } else if settings.depth == 16 {
            throw VideoError("create", path: path, message: "16-bit output needs a PNG sequence (frames/%05d.png) or a lossless .mkv")
        }
        if let c = settings.codec { codec = c }
        if let p = settings.pixelFormat { pixelFormat = p }
    }
}
