import ArgumentParser
import Foundation
import Video

/// The options every video-producing command shares: where the result goes, its quality, and
/// how a long render is checkpointed, resumed and protected from overwriting.
struct OutputOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "Output file (.mp4, .mov, .mkv, .webm; zoom also .gif, .webp).") var output: String
    @Option(help: "Quality: H.264/VP9 CRF, WebP quality 115 − crf (lower is better; 18 is visually lossless).") var crf: Int = EncoderSettings
        .defaultCRF
    @Flag(help: "Continue an interrupted render from its checkpoint.") var resume = false
    @Flag(help: "Replace an existing output.") var overwrite = false
    @Option(help: .hidden) var stopAfter: Int?  // tests: exit abruptly after N frames (a simulated kill)
    @Option(help: .hidden) var checkpointEvery: Int = ResumableOutput.defaultCheckpointEvery

    static let videoExtensions = ["mp4", "mov", "mkv", "webm"]

    func validate(extensions: [String] = videoExtensions) throws {
        guard extensions.contains(URL(fileURLWithPath: output).pathExtension.lowercased()) else {
            throw ValidationError("\(output): the output must end in " + extensions.map { "." + $0 }.joined(separator: ", "))
        }
        guard crf >= 0 && crf <= 63 else { throw ValidationError("--crf must be 0...63") }
        guard checkpointEvery >= 1 else { throw ValidationError("--checkpoint-every must be at least 1") }
    }

    var encoder: EncoderSettings {
        var e = EncoderSettings()
        e.crf = crf
        return e
    }
}
