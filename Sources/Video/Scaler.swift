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

/// Converts decoded frames (any pixel format) to RGB24 (or RGB48) with the frame's colour matrix and
/// range, stretching the width so pixels come out square. Rebuilds its swscale context when the input changes.
final class FrameToRGB {
    private struct Key: Equatable {
        var width: Int32, height: Int32, format: Int32, outWidth: Int32
        var colour: ColourDetails
    }
    private var sws: OpaquePointer?
    private var key: Key?
    let path: String
    /// AV_PIX_FMT_RGB24 (`convert`) or `nativeRGB48` (`convert48`).
    let output: AVPixelFormat

    init(path: String, output: AVPixelFormat = AV_PIX_FMT_RGB24) {
        self.path = path
        self.output = output
    }
    deinit { sws_freeContext(sws) }

    /// frame: W x H in its own format; result: W' x H RGB24 with W' = W * sample aspect ratio.
    func convert(_ frame: UnsafeMutablePointer<AVFrame>, sampleAspect streamSAR: Rational) throws -> RGBImage {
        precondition(output == AV_PIX_FMT_RGB24, "FrameToRGB: an RGB48 converter gives convert48")
        let (width, height, pixels) = try convertBytes(frame, sampleAspect: streamSAR, bytesPerPixel: 3)
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// As `convert`, to 16 bits per channel; exact copies for the 16-bit RGB formats FFmpeg's PNG and
    /// FFV1 decoders give (rgb48be, gbrp16le) when the pixels are square.
    func convert48(_ frame: UnsafeMutablePointer<AVFrame>, sampleAspect streamSAR: Rational) throws -> RGB48Image {
        precondition(output == nativeRGB48, "FrameToRGB: an RGB24 converter gives convert")
        let f = frame.pointee
        let frameSAR = Rational(f.sample_aspect_ratio)
        let sar = frameSAR.isValid ? frameSAR : streamSAR
        let format = AVPixelFormat(rawValue: f.format)
        if !(sar.isValid && sar.num != sar.den), let image = try RGB48Copy.read(frame, format: format, path: path) { return image }
        let (width, height, bytes) = try convertBytes(frame, sampleAspect: streamSAR, bytesPerPixel: 6)
        var pixels = [UInt16](repeating: 0, count: width * height * 3)
        pixels.withUnsafeMutableBytes { $0.copyBytes(from: bytes) }
        return RGB48Image(width: width, height: height, pixels: pixels)
    }

    private func convertBytes(
        _ frame: UnsafeMutablePointer<AVFrame>, sampleAspect streamSAR: Rational, bytesPerPixel: Int
    ) throws -> (Int, Int, [UInt8]) {
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
                    output, swsFlags, nil, nil, nil),
                "convert to RGB", path: path,
                message: "unsupported pixel format \(cString(av_get_pix_fmt_name(AVPixelFormat(rawValue: f.format))))")
            // Returns -1 for RGB/gray inputs, where there is no matrix to set: not an error.
            _ = reverie_sws_colorspace(sws, newKey.colour.space, newKey.colour.full ? 1 : 0, newKey.colour.space, 1)
            key = newKey
        }
        var pixels = [UInt8](repeating: 0, count: outWidth * height * bytesPerPixel)
        let rows = pixels.withUnsafeMutableBufferPointer {
            reverie_sws_frame_to_packed(sws, frame, $0.baseAddress, Int32(outWidth * bytesPerPixel))
        }
        try check(rows, "convert to RGB", path: path)
        return (outWidth, height, pixels)
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

/// RGB48 in this machine's byte order (FFmpeg's AV_PIX_FMT_RGB48, a macro Swift cannot import).
let nativeRGB48 = 1.littleEndian == 1 ? AV_PIX_FMT_RGB48LE : AV_PIX_FMT_RGB48BE

/// Exact hand copies between packed RGB pictures and the frames of the pixel formats that store
/// them as they are: PNG's rgb24 and rgb48be, FFV1's 16-bit planar gbrp16le. (No swscale: nothing
/// to scale or convert, and so no rounding to wonder about.)
enum RGB48Copy {
    /// Whether `fill` writes frames of `format`.
    static func writes(_ format: AVPixelFormat) -> Bool {
        [AV_PIX_FMT_RGB24, AV_PIX_FMT_RGB48BE, AV_PIX_FMT_RGB48LE, AV_PIX_FMT_GBRP16LE].contains(format)
    }

    /// Whether `format` holds 16 bits per channel.
    static func isSixteenBit(_ format: AVPixelFormat) -> Bool { writes(format) && format != AV_PIX_FMT_RGB24 }

    /// frame: allocated, writable, of a format `writes` accepts, the image's size.
    static func fill(_ frame: UnsafeMutablePointer<AVFrame>, from image: RGB48Image) {
        let format = AVPixelFormat(rawValue: frame.pointee.format)
        let w = image.width
        image.pixels.withUnsafeBufferPointer { px in
            for y in 0..<image.height {
                let row = px.baseAddress! + y * w * 3
                switch format {
                case AV_PIX_FMT_RGB24:
                    let d = reverie_frame_data(frame, 0)! + y * Int(reverie_frame_linesize(frame, 0))
                    for i in 0..<(w * 3) { d[i] = UInt8((UInt32(row[i]) * 255 + 32767) / 65535) }
                case AV_PIX_FMT_RGB48BE, AV_PIX_FMT_RGB48LE:
                    let d = reverie_frame_data(frame, 0)! + y * Int(reverie_frame_linesize(frame, 0))
                    let big = format == AV_PIX_FMT_RGB48BE
                    for i in 0..<(w * 3) {
                        let v = big ? row[i].bigEndian : row[i].littleEndian
                        withUnsafeBytes(of: v) {
                            d[2 * i] = $0[0]; d[2 * i + 1] = $0[1]
                        }
                    }
                default:  // gbrp16le: planes G, B, R
                    for (plane, channel) in [(0, 1), (1, 2), (2, 0)] {
                        let d = reverie_frame_data(frame, Int32(plane))! + y * Int(reverie_frame_linesize(frame, Int32(plane)))
                        for x in 0..<w {
                            let v = row[3 * x + channel]
                            d[2 * x] = UInt8(v & 0xFF); d[2 * x + 1] = UInt8(v >> 8)
                        }
                    }
                }
            }
        }
    }

    /// The 8-bit picture into an rgb24 frame, byte for byte.
    static func fill(_ frame: UnsafeMutablePointer<AVFrame>, from image: RGBImage) {
        let rowBytes = image.width * 3
        image.pixels.withUnsafeBufferPointer { px in
            for y in 0..<image.height {
                let d = reverie_frame_data(frame, 0)! + y * Int(reverie_frame_linesize(frame, 0))
                d.update(from: px.baseAddress! + y * rowBytes, count: rowBytes)
            }
        }
    }

    /// A decoded 16-bit RGB frame as it is; nil for other formats.
    static func read(_ frame: UnsafeMutablePointer<AVFrame>, format: AVPixelFormat, path: String) throws -> RGB48Image? {
        guard isSixteenBit(format) || format == AV_PIX_FMT_GBRP16BE else { return nil }
        let w = Int(frame.pointee.width), h = Int(frame.pointee.height)
        try SizeLimit.check(width: w, height: h, path: path, operation: "decode")
        var pixels = [UInt16](repeating: 0, count: w * h * 3)
        func value(_ p: UnsafeMutablePointer<UInt8>, _ big: Bool) -> UInt16 {
            big ? UInt16(p[0]) << 8 | UInt16(p[1]) : UInt16(p[1]) << 8 | UInt16(p[0])
        }
        for y in 0..<h {
            if format == AV_PIX_FMT_RGB48BE || format == AV_PIX_FMT_RGB48LE {
                let s = reverie_frame_data(frame, 0)! + y * Int(reverie_frame_linesize(frame, 0))
                for i in 0..<(w * 3) { pixels[y * w * 3 + i] = value(s + 2 * i, format == AV_PIX_FMT_RGB48BE) }
            } else {
                for (plane, channel) in [(0, 1), (1, 2), (2, 0)] {
                    let s = reverie_frame_data(frame, Int32(plane))! + y * Int(reverie_frame_linesize(frame, Int32(plane)))
                    for x in 0..<w { pixels[(y * w + x) * 3 + channel] = value(s + 2 * x, format == AV_PIX_FMT_GBRP16BE) }
                }
            }
        }
        return RGB48Image(width: w, height: h, pixels: pixels)
    }
}
