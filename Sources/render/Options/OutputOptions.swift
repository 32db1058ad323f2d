import ArgumentParser
import Foundation
import Video

/// The options every video-producing command shares: where the result goes, its quality, and
/// how a long render is checkpointed, resumed and protected from overwriting.
struct OutputOptions: ParsableArguments {
    @Option(
        name: .shortAndLong,
        help: "Output file (.mp4, .mov, .mkv, .webm; zoom also .gif, .webp), or numbered PNG frames in a folder of their own: frames/%05d.png.")
    var output: String
    @Option(help: "Quality: H.264/VP9 CRF, WebP quality 115 − crf (lower is better; 18 is visually lossless).") var crf: Int = EncoderSettings
        .defaultCRF
    @Flag(help: "Continue an interrupted render from its checkpoint.") var resume = false
    @Flag(help: "Replace an existing output.") var overwrite = false
    @Option(name: .customLong("png-depth"), help: "Bits per channel of PNG frames: 8 (RGB) or 16 (16-bit RGB).") var pngDepth: Int = 8
    @Option(help: "Number of the first PNG frame (default \(FrameSequence.defaultStartNumber), as FFmpeg numbers them).") var startNumber: Int?
    @Option(help: .hidden) var stopAfter: Int?  // tests: exit abruptly after N frames (a simulated kill)
    @Option(help: .hidden) var checkpointEvery: Int = ResumableOutput.defaultCheckpointEvery

    static let videoExtensions = ["mp4", "mov", "mkv", "webm"]

    /// Numbered PNG frames (`frames/%05d.png`) rather than one file.
    var isSequence: Bool { URL(fileURLWithPath: output).pathExtension.lowercased() == "png" }

    func validate(extensions: [String] = videoExtensions) throws {
        if isSequence {
            do {
                let sequence = try FrameSequence(pattern: output)
                guard URL(fileURLWithPath: sequence.folder).standardized.path != URL(fileURLWithPath: ".").standardized.path else {
                    throw ValidationError("\(output): PNG frames need a folder of their own, e.g. frames/\(sequence.fileName)")
                }
            } catch let error as VideoError {
                throw ValidationError("\(output): \(error.message)")
            }
        } else if pngDepth != 8 || startNumber != nil {
            throw ValidationError(
                "\(pngDepth != 8 ? "--png-depth" : "--start-number") applies to PNG frame outputs (frames/%05d.png), not to \(output)")
        }
        guard pngDepth == 8 || pngDepth == 16 else { throw ValidationError("--png-depth must be 8 or 16, got \(pngDepth)") }
        if let startNumber { guard startNumber >= 0 else { throw ValidationError("--start-number must be 0 or more, got \(startNumber)") } }
        guard isSequence || extensions.contains(URL(fileURLWithPath: output).pathExtension.lowercased()) else {
            throw ValidationError(
                "\(output): the output must end in " + extensions.map { "." + $0 }.joined(separator: ", ") + ", or be PNG frames like frames/%05d.png"
            )
        }
        guard crf >= 0 && crf <= 63 else { throw ValidationError("--crf must be 0...63") }
        guard checkpointEvery >= 1 else { throw ValidationError("--checkpoint-every must be at least 1") }
    }

    /// How `wrote …` names the output: the file, or the folder and file range of PNG frames.
    func wroteWhat(_ destination: String, frames: Int) -> String {
        guard isSequence, let s = try? FrameSequence(pattern: destination) else { return destination }
        let first = startNumber ?? FrameSequence.defaultStartNumber
        return "\(s.path(number: first)) ... \(s.path(number: first + frames - 1)) (\(pngDepth)-bit PNG; timing in \(s.folder)/timing.json)"
    }

    var encoder: EncoderSettings {
        var e = EncoderSettings()
        e.crf = crf
        e.depth = isSequence ? pngDepth : 8
        e.startNumber = startNumber ?? FrameSequence.defaultStartNumber
        return e
    }
}
