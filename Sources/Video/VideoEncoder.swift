import CFFmpeg

/// The opened video encoder of a `VideoWriter`: size (padded for chroma subsampling), pixel format,
/// time base, BT.709 colour tags and the codec's quality options.
struct VideoEncoder {
    let context: CodecContext
    let format: AVPixelFormat
    /// Encoded size: the picture size rounded up to whole chroma samples.
    let width: Int, height: Int
    let colour: ColourDetails

    init(
        kind: OutputKind, width: Int, height: Int, frameRate: Rational, timeBase: Rational,
        settings: EncoderSettings, globalHeader: Bool, path: String
    ) throws {
        guard let codec = avcodec_find_encoder_by_name(kind.codec) else {
            let hint = kind.codec == "libwebp_anim" ? " (animated WebP needs FFmpeg built with libwebp)" : ""
            throw VideoError("create", path: path, message: "encoder \(kind.codec) is not available\(hint)")
        }
        format = av_get_pix_fmt(kind.pixelFormat)
        guard format != AV_PIX_FMT_NONE else { throw VideoError("create", path: path, message: "unknown pixel format \(kind.pixelFormat)") }
        // 4:2:0 and 4:2:2 need even sizes: pad by one pixel (repeating the edge) rather than lose a row.
        (self.width, self.height) = VideoEncoder.chromaAlignedSize(width, height, format)
        if (self.width, self.height) != (width, height) {
            warn(path, "\(width)x\(height) is odd for \(kind.pixelFormat); padded to \(self.width)x\(self.height)")
        }
        // Video YUV is limited range; gray is stored full range, as FFmpeg's gray readers assume.
        let isGray = (av_pix_fmt_desc_get(format)?.pointee.nb_components ?? 3) <= 2
        colour = ColourDetails(space: Int32(AVCOL_SPC_BT709.rawValue), full: isGray)

        context = try CodecContext(codec, path: path)
        let e = context.pointer
        e.pointee.width = Int32(self.width)
        e.pointee.height = Int32(self.height)
        e.pointee.pix_fmt = format
        e.pointee.time_base = timeBase.av
        e.pointee.framerate = frameRate.av
        e.pointee.sample_aspect_ratio = (settings.sampleAspectRatio ?? Rational(1, 1)).av
        if let g = settings.keyframeInterval { e.pointee.gop_size = Int32(max(1, g)) }
        e.pointee.thread_count = Int32(settings.threads)
        // PNG frames stay untagged, like `ImageFile`'s PNGs: FFmpeg's PNG encoder turns BT.709 tags into
        // cHRM and gAMA chunks, which some viewers apply (a gamma shift); untagged RGB is shown as sRGB.
        if kind.codec != "png" {
            e.pointee.colorspace = AVCOL_SPC_BT709
            e.pointee.color_primaries = AVCOL_PRI_BT709
            e.pointee.color_trc = AVCOL_TRC_BT709
            e.pointee.color_range = colour.full ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG
        }
        if globalHeader { e.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER }
        var options: OpaquePointer? = nil
        defer { av_dict_free(&options) }
        for (k, v) in VideoEncoder.options(codec: kind.codec, settings: settings) { av_dict_set(&options, k, v, 0) }
        try check(avcodec_open2(e, codec, &options), "open encoder \(kind.codec)", path: path)
    }

    /// Quality options per encoder.
    static func options(codec: String, settings: EncoderSettings) -> [(String, String)] {
        switch codec {
        case "libx264":
            // Why mbtree=0: with macroblock-tree rate control, Debian's libx264 (and PyAV's) gave
            // different bitstreams for the same pictures from run to run on this AMD EPYC machine,
            // even single-threaded (5 distinct outputs in 6 encodes of 20 identical frames; with
            // asm=0 or mbtree=0, one). A render must be reproducible byte for byte; at CRF 18 the
            // size is the same within 1 % (58108 vs 58133–58410 bytes for a 20-frame 192x108 render).
            return [("crf", "\(settings.crf)"), ("preset", settings.preset), ("x264-params", "mbtree=0")]
        case "libx265":
            // x265 logs its banner and settings at info level on stderr by itself.
            return [("crf", "\(settings.crf)"), ("preset", settings.preset), ("x265-params", "log-level=error")]
        case "libvpx-vp9":
            // x264 preset names mapped onto VP9 speed: 4 is libvpx's usual quality/speed balance.
            let speed = settings.preset.contains("fast") ? "5" : settings.preset.contains("slow") ? "2" : "4"
            // VP9's CRF scale runs higher: 31 looks about like x264's 18.
            return [("crf", "\(settings.crf + 13)"), ("b", "0"), ("row-mt", "1"), ("cpu-used", speed)]
        case "ffv1":
            return [("level", "3")]
        case "libwebp_anim":
            // CRF onto libwebp's 0-100 quality: 18 -> 97, 40 -> 75 (libwebp's default). High on purpose:
            // between frames libwebp's animation encoder keeps pixels that changed by at most
            // round(31(1-√(q/100)) + √(q/100)) levels (1 at q >= 97, 3 at q = 90) from the previous
            // frame, so slow changes build up visibly at lower qualities.
            if settings.lossless { return [("lossless", "1")] }
            return [("quality", "\(max(0, min(100, 115 - settings.crf)))")]
        default:
            return []
        }
    }

    static func chromaAlignedSize(_ w: Int, _ h: Int, _ format: AVPixelFormat) -> (Int, Int) {
        guard let d = av_pix_fmt_desc_get(format) else { return (w, h) }
        let xs = 1 << Int(d.pointee.log2_chroma_w), ys = 1 << Int(d.pointee.log2_chroma_h)
        return ((w + xs - 1) / xs * xs, (h + ys - 1) / ys * ys)
    }
}
