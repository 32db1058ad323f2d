import CFFmpeg
import Foundation

/// Every failure of the media layer: the operation, the file, and FFmpeg's own message.
public struct VideoError: Error, CustomStringConvertible, Sendable {
    /// What was being done, e.g. "open", "decode", "write image".
    public let operation: String
    /// The file it was being done to.
    public let path: String
    /// Why it failed: FFmpeg's message for its error code, or Reverie's own explanation.
    public let message: String

    /// A failure of `operation` on the file at `path`, explained by `message`.
    public init(_ operation: String, path: String, message: String) {
        self.operation = operation
        self.path = path
        self.message = message
    }

    /// "path: operation: message".
    public var description: String { "\(path): \(operation): \(message)" }
}

/// The one funnel for FFmpeg return codes: a negative code throws, naming the call and the file.
@discardableResult
func check(_ code: Int32, _ operation: String, path: String) throws -> Int32 {
    guard code < 0 else { return code }
    throw VideoError(operation, path: path, message: ffmpegMessage(code))
}

/// The funnel for FFmpeg calls that signal failure with a null pointer.
func checkPointer<T>(_ pointer: T?, _ operation: String, path: String, message: String = "out of memory or unsupported") throws -> T {
    guard let pointer else { throw VideoError(operation, path: path, message: message) }
    return pointer
}

func ffmpegMessage(_ code: Int32) -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    reverie_err2str(code, &buffer, buffer.count)
    return String(cString: buffer)
}

let errorEOF = reverie_averror_eof()
let errorAgain = reverie_averror_eagain()
let noPTS = reverie_nopts_value()

/// FFmpeg's log stays quiet (our errors carry the call, the file and FFmpeg's message; corrupt input
/// would otherwise spray decoder complaints); REVERIE_FFMPEG_LOG=1 shows its warnings for debugging.
let quietFFmpeg: Void = {
    av_log_set_level(ProcessInfo.processInfo.environment["REVERIE_FFMPEG_LOG"] == "1" ? AV_LOG_WARNING : AV_LOG_FATAL)
}()

/// Warnings the library prints once per cause (odd sizes padded, audio dropped, ...).
func warn(_ path: String, _ message: String) {
    FileHandle.standardErrorWrite("reverie: warning: \(path): \(message)\n")
}

extension FileHandle {
    static func standardErrorWrite(_ text: String) {
        FileHandle.standardError.write(text.data(using: .utf8) ?? Data())
    }
}
