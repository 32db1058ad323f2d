import ArgumentParser
import Dream
import Foundation
import Video

struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score", abstract: "Measure how coherently a dreamed video moves with its source.",
        discussion: """
            Excess warping error: optical flow and an occlusion mask are estimated on the SOURCE \
            frames (forward and backward flow, forward-backward check); dreamed frame t-1 is warped \
            along that motion to frame t and compared with dreamed frame t (mean squared RGB \
            difference in [0,1] over reliable pixels, averaged over frames), minus the same error of \
            the source frames warped the same way. Near 0: the dream moves with the footage; larger: \
            it flickers or swims.
            Dream strength: mean |dreamed - source| over all pixels and frames (RGB in [0,1]).
            Lower error at equal strength is better. The videos must have the same frame count; a \
            dreamed video of another size (same aspect ratio) is resized to the source's size.
            """)

    @Argument(help: "The source video.") var source: String
    @Argument(help: "The dreamed video made from it.") var dreamed: String
    @Option(help: "Longest side, in pixels, at which the flow is estimated.") var flowSize = 320
    @Flag(help: "Print JSON (for scripts).") var json = false

    func validate() throws {
        guard flowSize >= 16 else { throw ValidationError("--flow-size must be at least 16, got \(flowSize)") }
    }

    func run() throws {
        var settings = FlowSettings()
        settings.maxSide = flowSize
        let score = try scoreVideos(source: source, dreamed: dreamed, settings: settings)
        print(json ? try scoreJSON(score) : scoreText(score))
    }

    func scoreJSON(_ score: CoherenceScore) throws -> String {
        struct Report: Encodable { var source: String; var dreamed: String; var score: CoherenceScore }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(Report(source: source, dreamed: dreamed, score: score)), as: UTF8.self)
    }
}

func scoreText(_ s: CoherenceScore) -> String {
    func f(_ v: Double) -> String { String(format: "%.6f", v) }
    return """
        excess warping error  \(f(s.excessWarpingError))  (dreamed \(f(s.outputWarpingError)) - source \(f(s.sourceWarpingError)))
        dream strength        \(f(s.dreamStrength))
        frames                \(s.frames)
        """
}

struct ScoreError: Error, CustomStringConvertible {
    var description: String
}

/// Streams both videos frame by frame through a `CoherenceMeter`. Throws a one-line error naming
/// the file when either is not a video, when their frame counts differ or their shapes do.
func scoreVideos(
    source: String, dreamed: String, settings: FlowSettings = .init(),
    progress: ((Int) -> Void)? = nil
) throws -> CoherenceScore {
    let a = try VideoReader(path: source), b = try VideoReader(path: dreamed)
    for (reader, path) in [(a, source), (b, dreamed)] where reader.info.isStill {
        throw ScoreError(description: "\(path): is a still image, not a video")
    }
    var meter = CoherenceMeter(settings: settings)
    var count = 0
    while true {
        let fa = try a.nextFrame(), fb = try b.nextFrame()
        guard let fa, let fb else {
            if fa == nil && fb == nil { break }
            // Count the rest of the longer one so the error can give both frame counts.
            var rest = 1
            let longer = fa == nil ? b : a
            while try longer.nextFrame() != nil { rest += 1 }
            let (na, nb) = fa == nil ? (count, count + rest) : (count + rest, count)
            throw ScoreError(description: "\(dreamed): has \(nb) frames but \(source) has \(na); the score compares them frame by frame")
        }
        if count == 0 { try checkAspect(fa.image, fb.image, source: source, dreamed: dreamed) }
        meter.add(source: tensor(from: fa.image), output: tensor(from: fb.image))
        count += 1
        progress?(count)
    }
    if count == 0 { throw ScoreError(description: "\(source): no frames could be decoded") }
    return meter.score
}

/// Why 2%: --width keeps the aspect ratio up to even-size rounding; more means another picture.
private func checkAspect(_ a: RGBImage, _ b: RGBImage, source: String, dreamed: String) throws {
    let ratio = (Double(a.width) / Double(a.height)) / (Double(b.width) / Double(b.height))
    if abs(ratio - 1) > 0.02 {
        throw ScoreError(description: "\(dreamed): \(b.width)x\(b.height) does not have the aspect ratio of \(source) (\(a.width)x\(a.height))")
    }
}
