import CFFmpeg

/// Owns one AVFrame.
final class Frame {
    let pointer: UnsafeMutablePointer<AVFrame>
    init(path: String) throws {
        pointer = try checkPointer(av_frame_alloc(), "av_frame_alloc", path: path)
    }
    deinit {
        var p: UnsafeMutablePointer<AVFrame>? = pointer
        av_frame_free(&p)
    }
}

/// Owns one AVPacket.
final class Packet {
    let pointer: UnsafeMutablePointer<AVPacket>
    init(path: String) throws {
        pointer = try checkPointer(av_packet_alloc(), "av_packet_alloc", path: path)
    }
    deinit {
        var p: UnsafeMutablePointer<AVPacket>? = pointer
        av_packet_free(&p)
    }
}

/// Owns one AVCodecContext.
final class CodecContext {
    let pointer: UnsafeMutablePointer<AVCodecContext>
    init(_ codec: UnsafePointer<AVCodec>?, path: String) throws {
        pointer = try checkPointer(avcodec_alloc_context3(codec), "avcodec_alloc_context3", path: path)
    }
    deinit {
        var p: UnsafeMutablePointer<AVCodecContext>? = pointer
        avcodec_free_context(&p)
    }
}

/// FFmpeg treats "a:b.mp4" as protocol "a"; naming the file protocol makes any local name safe.
func ffmpegURL(_ path: String) -> String { "file:" + path }

/// Largest picture we accept; refused before any pixel buffer is allocated.
enum SizeLimit {
    static let side = 16384
    static let pixels = 100_000_000

    static func check(width: Int, height: Int, path: String, operation: String) throws {
        guard width > 0, height > 0 else {
            throw VideoError(operation, path: path, message: "invalid picture size \(width)x\(height)")
        }
        guard width <= side, height <= side, width * height <= pixels else {
            throw VideoError(
                operation, path: path,
                message: "picture size \(width)x\(height) exceeds the limit (\(side) per side, \(pixels / 1_000_000)M pixels)")
        }
    }
}

/// Reads a C string (possibly null) as a Swift string.
func cString(_ p: UnsafePointer<CChar>?) -> String { p.map { String(cString: $0) } ?? "" }

/// Reads an AVDictionary into a Swift dictionary.
func dictionary(_ dict: OpaquePointer?) -> [String: String] {
    var out: [String: String] = [:]
    var entry: UnsafeMutablePointer<AVDictionaryEntry>? = nil
    while let e = av_dict_get(dict, "", entry, AV_DICT_IGNORE_SUFFIX) {
        out[cString(e.pointee.key)] = cString(e.pointee.value)
        entry = e
    }
    return out
}
