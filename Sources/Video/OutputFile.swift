import CFFmpeg
import Foundation

/// Owns one muxer writing to a temporary file beside `path`; `commit()` writes the trailer once
/// and renames the file into place. Until then (error, cancel, deinit) the temp file is removed.
final class OutputFile {
    let path: String
    let tempPath: String
    let context: UnsafeMutablePointer<AVFormatContext>
    private var ioOpen = false
    private var committed = false

    init(path: String, format: String) throws {
        _ = quietFFmpeg
        self.path = path
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw VideoError("create", path: path, message: "directory \(directory) does not exist")
        }
        tempPath = directory + "/." + url.lastPathComponent + ".partial-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        var ctx: UnsafeMutablePointer<AVFormatContext>? = nil
        try check(avformat_alloc_output_context2(&ctx, nil, format, ffmpegURL(tempPath)), "create \(format) muxer", path: path)
        context = try checkPointer(ctx, "create \(format) muxer", path: path)
    }

    deinit {
        discard()
        avformat_free_context(context)
    }

    var needsGlobalHeader: Bool { (context.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER) != 0 }

    func open(headerOptions: [String: String]) throws {
        try check(avio_open(&context.pointee.pb, ffmpegURL(tempPath), AVIO_FLAG_WRITE), "open for writing", path: path)
        ioOpen = true
        PartialFiles.register(tempPath)
        var options: OpaquePointer? = nil
        defer { av_dict_free(&options) }
        for (k, v) in headerOptions { av_dict_set(&options, k, v, 0) }
        try check(avformat_write_header(context, &options), "write header", path: path)
    }

    func write(_ packet: UnsafeMutablePointer<AVPacket>) throws {
        try check(av_interleaved_write_frame(context, packet), "write packet", path: path)
    }

    /// Writes the trailer (exactly once), closes the file and renames it into place.
    func commit() throws {
        guard !committed else { return }
        try check(av_write_trailer(context), "write trailer", path: path)
        avio_closep(&context.pointee.pb)
        ioOpen = false
        PartialFiles.unregister(tempPath)
        guard rename(tempPath, path) == 0 else {
            let message = String(cString: strerror(errno))
            discard()
            throw VideoError("rename into place", path: path, message: message)
        }
        committed = true
    }

    /// Closes and removes the temporary file (no-op after commit).
    func discard() {
        guard !committed else { return }
        if ioOpen {
            avio_closep(&context.pointee.pb)
            ioOpen = false
        }
        unlink(tempPath)
        PartialFiles.unregister(tempPath)
    }
}
