import CFFmpeg

/// Every failure of the media layer: the operation, the file, and FFmpeg's own message.
public struct VideoError: Error, CustomStringConvertible, Sendable {
    public let operation: String
    public let path: String
    public let message: String

    public init(_ operation: String, path: String, message: String) {
        self.operation = operation
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(operation): \(message)" }
}

/// The one funnel for FFmpeg return codes: a negative code throws, naming the call and the file.
@discardableResult
func check(_ code: Int32, _ operation: String, path: String) throws -> Int32 {
    guard code < 0 else { return code }
    throw VideoError(operation, path: path, message: ffmpegMessage(code))
}

func ffmpegMessage(_ code: Int32) -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    reverie_err2str(code, &buffer, buffer.count)
    return String(cString: buffer)
}
