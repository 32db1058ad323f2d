import CFFmpeg

/// swscale quality: bicubic, accurate rounding, full chroma interpolation (no chroma blockiness).
private let swsFlags = SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT

/// Colour matrix and range of a YUV picture, as FFmpeg numbers them (AVColorSpace, full = JPEG range).
struct ColourDetails: Equatable {
    var space: Int32
    var full: Bool

    /// The frame's tags; untagged pictures use BT.601, because FFmpeg (which made most untagged
    /// files, e.g. the samples) converts RGB with BT.601 unless told otherwise, whatever the size.
    static func of(_ f: AVFrame) -> ColourDetails {
        var space = Int32(f.colorspace.rawValue)
        if space == Int32(AVCOL_SPC_UNSPECIFIED.rawValue) || space == Int32(AVCOL_SPC_RGB.rawValue) || space >= Int32(AVCOL_SPC_NB.rawValue) {
            space = Int32(AVCOL_SPC_SMPTE170M.rawValue)
        }
        let format = AVPixelFormat(rawValue: f.format)
        let jpegFormats: [AVPixelFormat] = [AV_PIX_FMT_YUVJ420P, AV_PIX_FMT_YUVJ422P, AV_PIX_FMT_YUVJ444P, AV_PIX_FMT_YUVJ440P, AV_PIX_FMT_YUVJ411P]
        let full = f.color_range == AVCOL_RANGE_JPEG || jpegFormats.contains(format)
        return ColourDetails(space: space, full: full)
    }
}

/// Converts decoded frames (any pixel format) to RGB24 with the frame's colour matrix and range,
/// stretching the width so pixels come out square. Rebuilds its swscale context when the input changes.
final class FrameToRGB {
    private struct Key: Equatable {
        var width: Int32, height: Int32, format: Int32, outWidth: Int32
        var colour: ColourDetails
    }
    private var sws: OpaquePointer?
    private var key: Key?
    let path: String

    init(path: String) { self.path = path }
    deinit { sws_freeContext(sws) }

    /// frame: W x H in its own format; result: W' x H RGB24 with W' = W * sample aspect ratio.
    func convert(_ frame: UnsafeMutablePointer<AVFrame>, sampleAspect streamSAR: Rational) throws -> RGBImage {
        let f = frame.pointee
        let width = Int(f.width), height = Int(f.height)
        try SizeLimit.check(width: width, height: height, path: path, operation: "decode")
        let frameSAR = Rational(f.sample_aspect_ratio)
        let sar = frameSAR.isValid ? frameSAR : streamSAR
        let outWidth = sar.isValid && sar.num != sar.den ? max(1, Int((Double(width) * sar.value).rounded())) : width
        try SizeLimit.check(width: outWidth, height: height, path: path, operation: "decode")

        let newKey = Key(width: f.width, height: f.height, format: f.format, outWidth: Int32(outWidth), colour: .of(f))
        if newKey != key {
            sws_freeContext(sws)
            sws = nil
            key = nil
            sws = try checkPointer(
                sws_getContext(
                    f.width, f.height, AVPixelFormat(rawValue: f.format), Int32(outWidth), f.height,
                    AV_PIX_FMT_RGB24, swsFlags, nil, nil, nil),
                "convert to RGB", path: path,
                message: "unsupported pixel format \(cString(av_get_pix_fmt_name(AVPixelFormat(rawValue: f.format))))")
            // Returns -1 for RGB/gray inputs, where there is no matrix to set: not an error.
            _ = reverie_sws_colorspace(sws, newKey.colour.space, newKey.colour.full ? 1 : 0, newKey.colour.space, 1)
            key = newKey
        }
        var pixels = [UInt8](repeating: 0, count: outWidth * height * 3)
        let rows = pixels.withUnsafeMutableBufferPointer {
            reverie_sws_frame_to_packed(sws, frame, $0.baseAddress, Int32(outWidth * 3))
        }
        try check(rows, "convert to RGB", path: path)
        return RGBImage(width: outWidth, height: height, pixels: pixels)
    }
}

/// Converts RGB24 pictures into frames of an encoder's pixel format (limited-range BT.709 for YUV).
final class RGBToFrame {
    private let sws: OpaquePointer
    let width: Int, height: Int

    init(width: Int, height: Int, format: AVPixelFormat, colour: ColourDetails, path: String) throws {
        self.width = width
        self.height = height
        sws = try checkPointer(
            sws_getContext(
                Int32(width), Int32(height), AV_PIX_FMT_RGB24, Int32(width), Int32(height), format,
                swsFlags, nil, nil, nil),
            "convert from RGB", path: path,
            message: "unsupported pixel format \(cString(av_get_pix_fmt_name(format)))")
        _ = reverie_sws_colorspace(sws, colour.space, 1, colour.space, colour.full ? 1 : 0)
    }
    deinit { sws_freeContext(sws) }

    /// image: width x height RGB24 (same size as this converter); frame: allocated, writable.
    func fill(_ frame: UnsafeMutablePointer<AVFrame>, from image: RGBImage, path: String) throws {
        let rows = image.pixels.withUnsafeBufferPointer {
            reverie_sws_packed_to_frame(sws, $0.baseAddress, Int32(width * 3), Int32(height), frame)
        }
        try check(rows, "convert from RGB", path: path)
    }
}
