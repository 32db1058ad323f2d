import ArgumentParser
import Foundation
import Video

struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe", abstract: "Show what Reverie sees in a video or image file.")

    @Argument(help: "A video or image file.") var file: String
    @Flag(help: "Print JSON (for scripts).") var json = false

    func run() throws {
        let report = try ProbeReport(path: file)
        print(json ? try jsonString(report) : report.text)
    }
}

/// What `render probe` prints, for videos and stills alike.
struct ProbeReport: Encodable {
    struct Audio: Encodable { var codec: String; var sampleRate: Int; var channels: Int; var duration: Double }

    var file: String
    var kind: String
    var container: String
    var codec: String
    var width: Int
    var height: Int
    var pixelFormat: String
    var rotation: Int
    var duration: Double?
    var frameRate: String?
    var frameCount: Int?
    var variableFrameRate: Bool?
    var timeBase: String?
    var audio: [Audio]
    var metadata: [String: String]

    init(path: String) throws {
        let reader = try VideoReader(path: path)
        let info = reader.info
        file = path
        container = info.container
        codec = info.videoCodec
        pixelFormat = info.pixelFormat
        rotation = info.rotation
        audio = info.audio.map { Audio(codec: $0.codec, sampleRate: $0.sampleRate, channels: $0.channels, duration: $0.duration) }
        if info.isStill {
            // A still's true orientation (EXIF) is known only once decoded.
            guard let picture = try reader.nextFrame() else {
                throw VideoError("decode", path: path, message: "no picture could be decoded")
            }
            kind = "image"
            (width, height) = (picture.image.width, picture.image.height)
            metadata = info.metadata.merging(try ImageFile.readMetadata(path: path)) { _, still in still }
        } else {
            kind = "video"
            (width, height) = (info.width, info.height)
            duration = info.duration
            frameRate = "\(info.frameRate.num)/\(info.frameRate.den)"
            frameCount = info.frameCount
            variableFrameRate = info.isVariableFrameRate
            timeBase = "\(info.timeBase.num)/\(info.timeBase.den)"
            metadata = info.metadata
        }
    }

    var text: String {
        var lines = [
            "file:         \(file)", "container:    \(container) (\(kind))", "codec:        \(codec), \(pixelFormat)",
            "size:         \(width)x\(height)" + (rotation != 0 ? " (turned \(rotation)° clockwise for display)" : "")
        ]
        if let duration, let frameRate, let frameCount {
            lines.append("duration:     \(String(format: "%.3f", duration)) s")
            lines.append("frame rate:   \(frameRate) fps" + (variableFrameRate == true ? " (variable; this is the average)" : ""))
            lines.append("frames:       \(frameCount)")
        }
        for (i, a) in audio.enumerated() {
            lines.append("audio \(i):      \(a.codec), \(a.sampleRate) Hz, \(a.channels) ch, \(String(format: "%.3f", a.duration)) s")
        }
        if audio.isEmpty && kind == "video" { lines.append("audio:        none") }
        if let r = metadata["reverie"] { lines.append("reverie:      \(r)") }
        return lines.joined(separator: "\n")
    }
}
