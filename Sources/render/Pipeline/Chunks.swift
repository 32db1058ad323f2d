import Dream
import Foundation

/// One part of a render split into `count` chunks for many machines (`render video --chunk K/N`):
/// chunk K writes the frames whose times fall in the K-th of N equal stretches of the range, into
/// `OUT.parts/part-K-of-N.EXT`; `render join OUT` puts the parts together.
///
/// Coherence across a cut: each frame is seeded from the previous dream, so a chunk first dreams
/// `warmup` seconds of the frames before its stretch, feeding the carry but writing nothing. The
/// carried dream decays by `blend` a frame (0.85 in the video preset: 0.85^40 ≈ 0.002 after 2 s at
/// 20 fps), so after the warm-up the carry no longer remembers where it started and the chunk's
/// first written frame is seeded almost as in a sequential render. The cost: each chunk but the
/// first dreams `warmup` seconds more.
struct Chunk: Codable, Equatable {
    var index: Int
    var count: Int
    var warmup: Double

    static let defaultWarmup = 2.0

    /// Parses "K/N" (K from 0, as Slurm's array task ids and Kubernetes' completion indexes are).
    init(parsing text: String, warmup: Double = Chunk.defaultWarmup) throws {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]), n >= 1, n <= 10_000, k >= 0, k < n else {
            throw RenderError.option(name: "--chunk", problem: "expects K/N with 0 <= K < N, like 2/8, got '\(text)'")
        }
        guard warmup >= 0, warmup.isFinite else { throw RenderError.option(name: "--warmup", problem: "must be 0 or more seconds, got \(warmup)") }
        self.init(index: k, count: n, warmup: warmup)
    }

    init(index: Int, count: Int, warmup: Double) {
        self.index = index; self.count = count; self.warmup = warmup
    }

    /// The seconds (from the range's start) whose frames this chunk writes, of a range `length` long.
    /// The last chunk is open-ended, so no frame falls between chunks or off the end.
    func written(ofRangeLength length: Double) -> Range<Double> {
        let lower = length * Double(index) / Double(count)
        return lower..<(index == count - 1 ? .infinity : length * Double(index + 1) / Double(count))
    }

    static func partsFolder(of output: String) -> String { output + ".parts" }

    static func partPath(of output: String, index: Int, count: Int) -> String {
        let ext = URL(fileURLWithPath: output).pathExtension
        return partsFolder(of: output) + "/part-\(index)-of-\(count)" + (ext.isEmpty ? "" : "." + ext)
    }

    /// The container metadata key of a part: this chunk and the whole render it belongs to.
    static let metadataKey = "reverie-chunk"

    struct Label: Codable, Equatable {
        var chunk: Chunk
        var render: String  // the whole render's fingerprint: the same for every part of it
        var source: String
        var start: Double
        var length: Double  // seconds of the whole range
    }
}
