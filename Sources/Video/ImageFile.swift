import CFFmpeg
import Foundation

/// Stills through FFmpeg: read PNG, JPEG (EXIF orientation honoured), WebP, BMP, TIFF and the first
/// frame of a GIF; write PNG or JPEG (by extension) with text metadata, via a temp file and rename.
public enum ImageFile {
    /// The first picture of the file at `path` (a still, or a video's first frame), upright with square pixels.
    /// Throws `VideoError` when the file cannot be opened or no picture decodes.
    public static func read(path: String) throws -> RGBImage {
        let reader = try VideoReader(path: path)
        guard let frame = try reader.nextFrame() else {
            throw VideoError("decode", path: path, message: "no picture could be decoded")
        }
        return frame.image
    }

    /// Writes `image` as PNG or JPEG (chosen by `path`'s extension; JPEG at qscale 2, full-range BT.601
    /// 4:2:0), each `metadata` entry as a PNG tEXt chunk or a JPEG COM segment "key=value". The file
    /// appears at `path` only complete (temp file + rename). Throws `VideoError` for any other extension,
    /// a picture over the size limit, or an encoder or file failure.
    public static func write(_ image: RGBImage, to path: String, metadata: [String: String] = [:]) throws {
        let ext = (path as NSString).pathExtension.lowercased()
        var bytes: [UInt8]
        switch ext {
        case "png":
            bytes = try encode(image, codec: "png", format: AV_PIX_FMT_RGB24, path: path)
            for (k, v) in metadata.sorted(by: { $0.key < $1.key }) { bytes = try PNGText.insert(key: k, value: v, into: bytes, path: path) }
        case "jpg", "jpeg":
            bytes = try encode(image, codec: "mjpeg", format: AV_PIX_FMT_YUVJ420P, path: path)
            for (k, v) in metadata.sorted(by: { $0.key < $1.key }) { bytes = try JPEGComment.insert(key: k, value: v, into: bytes, path: path) }
        default:
            throw VideoError("write image", path: path, message: "unsupported image extension '.\(ext)' (use .png, .jpg or .jpeg)")
        }
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)  // temp file + rename
        } catch {
            throw VideoError("write image", path: path, message: error.localizedDescription)
        }
    }

    /// Text metadata stored in a PNG (tEXt chunks) or JPEG (COM segments "key=value"); empty for other files.
    public static func readMetadata(path: String) throws -> [String: String] {
        try InputFile.checkIsReadableFile(path)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw VideoError("read metadata", path: path, message: "cannot read the file")
        }
        let bytes = [UInt8](data)
        if PNGText.isPNG(bytes) { return PNGText.read(bytes) }
        if JPEGComment.isJPEG(bytes) { return JPEGComment.read(bytes) }
        return [:]
    }

    /// One picture through an image encoder: image W x H RGB24 -> the encoded file's bytes.
    private static func encode(_ image: RGBImage, codec name: String, format: AVPixelFormat, path: String) throws -> [UInt8] {
        _ = quietFFmpeg
        try SizeLimit.check(width: image.width, height: image.height, path: path, operation: "write image")
        guard let codec = avcodec_find_encoder_by_name(name) else {
            throw VideoError("write image", path: path, message: "encoder \(name) is not available")
        }
        let context = try CodecContext(codec, path: path)
        let e = context.pointer
        e.pointee.width = Int32(image.width)
        e.pointee.height = Int32(image.height)
        e.pointee.pix_fmt = format
        e.pointee.time_base = AVRational(num: 1, den: 1)
        let jpeg = format == AV_PIX_FMT_YUVJ420P
        if jpeg {
            e.pointee.flags |= AV_CODEC_FLAG_QSCALE
            e.pointee.global_quality = FF_QP2LAMBDA * 2  // qscale 2: high quality
            e.pointee.color_range = AVCOL_RANGE_JPEG
            e.pointee.colorspace = AVCOL_SPC_BT470BG
        }
        try check(avcodec_open2(e, codec, nil), "open encoder \(name)", path: path)
        let frame = try Frame(path: path)
        frame.pointer.pointee.format = format.rawValue
        frame.pointer.pointee.width = Int32(image.width)
        frame.pointer.pointee.height = Int32(image.height)
        frame.pointer.pointee.quality = e.pointee.global_quality
        frame.pointer.pointee.pts = 0
        try check(av_frame_get_buffer(frame.pointer, 0), "allocate frame", path: path)
        // JPEG is full-range BT.601 by definition.
        let colour = ColourDetails(space: Int32(AVCOL_SPC_BT470BG.rawValue), full: true)
        try RGBToFrame(width: image.width, height: image.height, format: format, colour: colour, path: path)
            .fill(frame.pointer, from: image, path: path)
        try check(avcodec_send_frame(e, frame.pointer), "encode image", path: path)
        try check(avcodec_send_frame(e, nil), "encode image", path: path)
        let packet = try Packet(path: path)
        var bytes: [UInt8] = []
        while true {
            let r = avcodec_receive_packet(e, packet.pointer)
            if r == errorEOF || r == errorAgain { break }
            try check(r, "encode image", path: path)
            bytes += UnsafeBufferPointer(start: packet.pointer.pointee.data, count: Int(packet.pointer.pointee.size))
            av_packet_unref(packet.pointer)
        }
        guard !bytes.isEmpty else { throw VideoError("encode image", path: path, message: "encoder produced no data") }
        return bytes
    }
}
