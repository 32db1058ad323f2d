import CFFmpeg
import Foundation

/// Owns one muxer writing to a temporary file beside `path`; `commit()` writes the trailer once
/// and renames the file into place. Until then (error, cancel, deinit) the temp file is removed.
///
/// An image sequence (`frames/%05d.png`, muxer image2) is written the same way, one folder up:
/// its frames go into a hidden folder beside the sequence's folder (`.frames.partial-…/`), which
/// `commit()` renames into place as `frames/` — into an empty or missing folder, or over an earlier
/// sequence of the same pattern (a folder holding other files is never replaced).
final class OutputFile {
    let path: String
    /// The temporary file, or for a sequence the temporary folder.
    let tempPath: String
    let context: UnsafeMutablePointer<AVFormatContext>
    /// For an image sequence: its pattern, and files `commit()` adds to the folder (name → bytes).
    let sequence: FrameSequence?
    var attachments: [(name: String, data: Data)] = []
    private var ioOpen = false
    private var folderMade = false
    private var committed = false

    init(path: String, format: String) throws {
        _ = quietFFmpeg
        self.path = path
        sequence = format == "image2" ? try FrameSequence(pattern: path) : nil
        let url = URL(fileURLWithPath: sequence?.folder ?? path)
        if let sequence, url.standardized.path == URL(fileURLWithPath: ".").standardized.path || sequence.folder.hasSuffix("..") {
            throw VideoError("create", path: path, message: "a frame sequence needs a folder of its own, e.g. frames/\(sequence.fileName)")
        }
        let directory = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw VideoError("create", path: path, message: "directory \(directory) does not exist")
        }
        if let sequence, FileManager.default.fileExists(atPath: sequence.folder, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw VideoError("create", path: path, message: "\(sequence.folder) is a file, not a folder")
        }
        let temp = directory + "/." + url.lastPathComponent + ".partial-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        tempPath = temp
        let muxerURL = sequence.map { temp + "/" + $0.fileName } ?? temp
        var ctx: UnsafeMutablePointer<AVFormatContext>? = nil
        try check(avformat_alloc_output_context2(&ctx, nil, format, ffmpegURL(muxerURL)), "create \(format) muxer", path: path)
        context = try checkPointer(ctx, "create \(format) muxer", path: path)
    }

    deinit {
        discard()
        avformat_free_context(context)
    }

    var needsGlobalHeader: Bool { (context.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER) != 0 }

    func open(headerOptions: [String: String]) throws {
        if sequence != nil {
            do {
                try FileManager.default.createDirectory(atPath: tempPath, withIntermediateDirectories: false)
            } catch {
                throw VideoError("open for writing", path: path, message: "cannot create \(tempPath): \(error.localizedDescription)")
            }
            folderMade = true
        } else {
            try check(avio_open(&context.pointee.pb, ffmpegURL(tempPath), AVIO_FLAG_WRITE), "open for writing", path: path)
            ioOpen = true
        }
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
        if let sequence {
            for a in attachments {
                do {
                    try a.data.write(to: URL(fileURLWithPath: tempPath + "/" + a.name))
                } catch {
                    discard()
                    throw VideoError("write \(a.name)", path: path, message: error.localizedDescription)
                }
            }
            do {
                try placeFolder(sequence)
            } catch {
                discard()
                throw error
            }
            committed = true
            return
        }
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

    /// Renames the finished temporary folder to the sequence's folder. A missing or empty folder
    /// is replaced in one rename; an earlier sequence (only files of this pattern and of the
    /// attachments' names) is moved aside, replaced, then deleted.
    private func placeFolder(_ sequence: FrameSequence) throws {
        let fm = FileManager.default
        let destination = sequence.folder
        let existing = (try? fm.contentsOfDirectory(atPath: destination)) ?? []
        let names = Set(attachments.map(\.name))
        if !existing.isEmpty {
            let others = existing.filter { sequence.number(ofFileNamed: $0) == nil && !names.contains($0) }
            guard others.isEmpty else {
                throw VideoError(
                    "rename into place", path: path,
                    message:
                        "\(destination) holds other files than frames of \(sequence.fileName) (\(others.sorted().prefix(3).joined(separator: ", "))): not replaced"
                )
            }
            let aside = tempPath + "-old"
            guard rename(destination, aside) == 0 else {
                throw VideoError(
                    "rename into place", path: path, message: "cannot move the old \(destination) aside: \(String(cString: strerror(errno)))")
            }
            guard rename(tempPath, destination) == 0 else {
                let message = String(cString: strerror(errno))
                _ = rename(aside, destination)
                throw VideoError("rename into place", path: path, message: message)
            }
            PartialFiles.unregister(tempPath)
            try? fm.removeItem(atPath: aside)
            return
        }
        // rename(2) replaces an empty folder, and makes a missing one.
        guard rename(tempPath, destination) == 0 else {
            throw VideoError("rename into place", path: path, message: String(cString: strerror(errno)))
        }
        PartialFiles.unregister(tempPath)
    }

    /// Closes and removes the temporary file or folder (no-op after commit).
    func discard() {
        guard !committed else { return }
        if ioOpen {
            avio_closep(&context.pointee.pb)
            ioOpen = false
        }
        if folderMade {
            try? FileManager.default.removeItem(atPath: tempPath)
            folderMade = false
        } else {
            unlink(tempPath)
        }
        PartialFiles.unregister(tempPath)
    }
}
