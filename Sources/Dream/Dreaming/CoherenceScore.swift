import Foundation

// The coherence score of a dreamed video (issue 5). Motion and occlusion come from the SOURCE
// frames; the output's frame t-1 is warped along that motion to frame t and compared with output
// frame t over the reliable pixels. The same warp applied to the source itself gives the error
// the flow makes anyway (lighting, blur, flow mistakes); the difference is the flicker and
// swimming the dream adds: the excess warping error. Lower at equal dream strength is better.

/// A dreamed video's temporal coherence, as the comment above defines it (the errors are mean squared
/// differences of RGB in [0, 1]).
public struct CoherenceScore: Sendable, Equatable, Codable {
    /// outputWarpingError - sourceWarpingError.
    public var excessWarpingError: Double
    /// Mean |output - source| over all pixels, channels and frames (RGB in [0,1]).
    public var dreamStrength: Double
    /// Frames added.
    public var frames: Int
    /// Mean over frame pairs of the mean squared difference over reliable pixels, output frames.
    public var outputWarpingError: Double
    /// The same for the source frames warped along their own motion.
    public var sourceWarpingError: Double
}

/// Accumulates the score frame by frame (so a long render can report it live, without holding all frames).
public struct CoherenceMeter {
    /// How the source frames' motion is estimated.
    public var settings: FlowSettings
    private var previousSource: Tensor?
    private var previousOutput: Tensor?
    private var outputErrorSum = 0.0, sourceErrorSum = 0.0, pairs = 0
    private var strengthSum = 0.0, frames = 0

    /// An empty meter that estimates motion with `settings`.
    public init(settings: FlowSettings = .init()) { self.settings = settings }

    /// Adds the next frame: `source` and `output` are (1,3,H,W) in [0,1]; an output of another
    /// size is resized (bilinear) to the source's size.
    public mutating func add(source: Tensor, output: Tensor) {
        add(source: source, output: output, motion: nil)
    }

    /// As `add(source:output:)`, reusing `motion` = `OpticalFlow.motion(from: previous source, to: source,
    /// settings: settings)` when the caller has already computed it (a render carrying its dream
    /// along the flow does), instead of estimating it again.
    public mutating func add(source: Tensor, output: Tensor, motion known: FrameMotion?) {
        let (h, w) = (source.shape[2], source.shape[3])
        let out = resize(output, height: h, width: w)
        precondition(out.shape == source.shape, "CoherenceMeter: output \(output.shape) vs source \(source.shape)")
        strengthSum += meanAbsoluteDifference(out.data, source.data)
        frames += 1
        if let ps = previousSource, let po = previousOutput, ps.shape == source.shape {
            let motion = known ?? OpticalFlow.motion(from: ps, to: source, settings: settings)
            precondition(motion.backward.width == w && motion.backward.height == h, "CoherenceMeter: motion of another size")
            if motion.reliable.contains(true) {
                outputErrorSum += maskedMeanSquaredError(warp(po, along: motion.backward), out, motion.reliable)
                sourceErrorSum += maskedMeanSquaredError(warp(ps, along: motion.backward), source, motion.reliable)
                pairs += 1  // Why only pairs with reliable pixels: an all-occluded pair has no error to measure.
            }
        }
        previousSource = source
        previousOutput = out
    }

    /// The score of the frames added so far; the warping errors are 0 until a pair has reliable pixels.
    public var score: CoherenceScore {
        let o = pairs > 0 ? outputErrorSum / Double(pairs) : 0
        let s = pairs > 0 ? sourceErrorSum / Double(pairs) : 0
        return CoherenceScore(
            excessWarpingError: o - s, dreamStrength: frames > 0 ? strengthSum / Double(frames) : 0,
            frames: frames, outputWarpingError: o, sourceWarpingError: s)
    }
}

/// Mean of |a - b| over all values.
func meanAbsoluteDifference(_ a: [Float], _ b: [Float]) -> Double {
    var sum = 0.0
    for i in 0..<a.count { sum += Double(abs(a[i] - b[i])) }
    return a.isEmpty ? 0 : sum / Double(a.count)
}

/// Mean over the pixels where `mask` is true, and over channels, of (a - b)². Shapes (1,C,H,W);
/// the mask is per pixel (H·W).
func maskedMeanSquaredError(_ a: Tensor, _ b: Tensor, _ mask: [Bool]) -> Double {
    let c = a.shape[1], n = a.shape[2] * a.shape[3]
    var sum = 0.0, count = 0
    for i in 0..<n where mask[i] {
        for ch in 0..<c {
            let d = Double(a.data[ch * n + i] - b.data[ch * n + i])
            sum += d * d
        }
        count += c
    }
    return count > 0 ? sum / Double(count) : 0
}
