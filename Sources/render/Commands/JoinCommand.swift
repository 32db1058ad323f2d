import ArgumentParser
import Dream
import Foundation
import Video

struct JoinCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "join",
        abstract: "Put the chunks of a chunked render (render video --chunk K/N) together into OUT.",
        discussion: """
            Reads OUT.parts/part-K-of-N.*, checks that every part is there, finished, and made by the \
            same render (source, range and parameters), and joins them by stream copy (nothing is \
            re-encoded) with the source's audio trimmed to the range. The parts are kept.
            """)

    @Argument(help: "The render's output, as given to render video -o with --chunk.") var output: String
    @Flag(help: "Replace an existing output.") var overwrite = false

    func run() throws {
        let result = try joinChunks(output: output, overwrite: overwrite)
        print("wrote \(output): \(result.frames) frames from \(result.parts) parts")
    }
}

/// What `render join` does; returns the frame and part counts.
func joinChunks(output: String, overwrite: Bool) throws -> (frames: Int, parts: Int) {
    let fm = FileManager.default
    let folder = Chunk.partsFolder(of: output)
    guard let names = try? fm.contentsOfDirectory(atPath: folder) else {
        throw RenderError.file(path: folder, problem: "no parts folder (render the chunks first: render video IN -o \(output) --chunk K/N)")
    }
    if fm.fileExists(atPath: output) && !overwrite { throw RenderError.file(path: output, problem: "already exists (use --overwrite to replace it)") }
    // part-K-of-N.EXT, finished parts only (a part appears under its name when its render is done).
    let ext = URL(fileURLWithPath: output).pathExtension
    var found: [(index: Int, count: Int, path: String)] = []
    for name in names where name.hasPrefix("part-") && name.hasSuffix("." + ext) {
        let fields = name.dropFirst(5).dropLast(ext.count + 1).split(separator: "-")
        guard fields.count == 3, fields[1] == "of", let k = Int(fields[0]), let n = Int(fields[2]) else { continue }
        found.append((k, n, folder + "/" + name))
    }
    guard let count = found.first?.count else { throw RenderError.file(path: folder, problem: "no finished parts") }
    guard found.allSatisfy({ $0.count == count }) else {
        throw RenderError.file(
            path: folder,
            problem:
                "parts of different chunkings (\(Set(found.map(\.count)).sorted().map { "of \($0)" }.joined(separator: ", "))); remove the stale ones"
        )
    }
    let present = Set(found.map(\.index))
    if let missing = (0..<count).first(where: { !present.contains($0) }) {
        let unfinished = fm.fileExists(atPath: Chunk.partPath(of: output, index: missing, count: count) + ".reverie-resume")
        throw RenderError.file(
            path: folder, problem: "part \(missing) of \(count) is \(unfinished ? "not finished (its render was interrupted: resume it)" : "missing")"
        )
    }
    let parts = found.sorted { $0.index < $1.index }
    var labels: [Chunk.Label] = []
    var frames = 0, record: String?
    for part in parts {
        let reader = try VideoReader(path: part.path)
        guard let text = reader.info.metadata[Chunk.metadataKey],
            let label = try? JSONDecoder().decode(Chunk.Label.self, from: Data(text.utf8))
        else {
            throw RenderError.file(path: part.path, problem: "not a part of a chunked render (no \(Chunk.metadataKey) metadata)")
        }
        guard label.chunk.index == part.index, label.chunk.count == count else {
            throw RenderError.file(
                path: part.path, problem: "its metadata says chunk \(label.chunk.index)/\(label.chunk.count), not \(part.index)/\(count)")
        }
        if let reference = labels.first, label.render != reference.render || label.chunk.warmup != reference.chunk.warmup {
            throw RenderError.file(
                path: part.path, problem: "made with other parameters or another source than \(parts[0].path); render it again with the same command")
        }
        labels.append(label)
        frames += reader.info.frameCount
        record = record ?? reader.info.metadata["reverie"]
    }
    let label = labels[0]
    let chunking = "\(count) chunks, \(label.chunk.warmup) s warm-up"
    let hasAudio = (try? VideoReader(path: label.source).info.audio.isEmpty == false) ?? false
    try StreamJoin.join(
        parts.map(\.path), into: output, audioFrom: hasAudio ? label.source : nil,
        audioRange: label.start...(label.start + label.length),
        metadata: ["reverie": record ?? "", Chunk.metadataKey + "s": chunking])
    return (frames, count)
}
