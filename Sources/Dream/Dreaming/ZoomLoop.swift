import Foundation

/// The motion of an infinite zoom, defined per second so the same settings give the same motion
/// at any frame rate: per frame the picture is scaled by zoom^(1/fps) and turned by rotate/fps
/// degrees about the focus point, which itself drifts by `drift` (fractions of the frame per second).
public struct ZoomMotion: Sendable, Equatable {
    /// Scale factor per second; > 1 zooms in.
    public var zoom: Double  // factor per second; > 1 zooms in
    /// Turn per second, in degrees, clockwise on screen (measured: `LoopSeam` fits +20 only as clockwise).
    public var rotate: Double  // degrees per second, clockwise on screen
    /// The point zoomed into, as fractions of the frame's width and height ((0.5, 0.5): the centre).
    public var focus: (x: Double, y: Double)  // relative, 0...1
    /// How fast the focus moves: frame widths and heights per second.
    public var drift: (x: Double, y: Double)  // relative frame sizes per second
    /// Frames per second the motion is divided into.
    public var fps: Double

    /// Throws `DreamError` unless `zoom` is positive and finite, `fps` in (0, 1000] and `focus` inside
    /// the frame (`rotate` and `drift` are not checked).
    public init(
        zoom: Double, rotate: Double = 0, focus: (x: Double, y: Double) = (0.5, 0.5),
        drift: (x: Double, y: Double) = (0, 0), fps: Double
    ) throws {
        guard zoom > 0, zoom.isFinite else {
            throw DreamError.option(name: "--zoom", problem: "must be a positive factor per second (above 1 zooms in), got \(zoom)")
        }
        guard fps > 0, fps.isFinite, fps <= 1000 else { throw DreamError.option(name: "--fps", problem: "must be in (0, 1000], got \(fps)") }
        guard (0...1).contains(focus.x), (0...1).contains(focus.y) else {
            throw DreamError.option(name: "--focus", problem: "must be inside the frame: x,y between 0 and 1, got \(focus.x),\(focus.y)")
        }
        self.zoom = zoom; self.rotate = rotate; self.focus = focus; self.drift = drift; self.fps = fps
    }

    /// Field by field (tuples are not Equatable, so this is written out).
    public static func == (a: ZoomMotion, b: ZoomMotion) -> Bool {
        a.zoom == b.zoom && a.rotate == b.rotate && a.focus == b.focus && a.drift == b.drift && a.fps == b.fps
    }

    /// The scale reached after `frames` frames.
    public func scale(afterFrames frames: Double) -> Double { pow(zoom, frames / fps) }

    /// Where output pixel (x, y) samples the picture `frames` frames earlier (negative: later),
    /// for a `width × height` frame: p ↦ focus + R(−θ)(p − focus) / s − drift.
    public func sourcePoint(x: Double, y: Double, frames: Double, width: Int, height: Int) -> (Double, Double) {
        let s = scale(afterFrames: frames)
        let theta = -rotate * frames / fps * .pi / 180
        let (cx, cy) = (focus.x * Double(width) - 0.5, focus.y * Double(height) - 0.5)
        let (dx, dy) = (x - cx, y - cy)
        let rx = (cos(theta) * dx - sin(theta) * dy) / s, ry = (sin(theta) * dx + cos(theta) * dy) / s
        return (cx + rx + drift.x * Double(width) * frames / fps, cy + ry + drift.y * Double(height) * frames / fps)
    }

    /// The picture moved on by `frames` frames (Lanczos-3, so hundreds of steps stay sharp).
    public func advance(_ picture: Tensor, frames: Double = 1, interpolation: Interpolation = .lanczos3) -> Tensor {
        let (h, w) = (picture.shape[2], picture.shape[3])
        return warp(picture, height: h, width: w, interpolation: interpolation) { x, y in
            let (u, v) = sourcePoint(x: Double(x), y: Double(y), frames: frames, width: w, height: h)
            return (Float(u), Float(v))
        }
    }

    /// The first frame as it must look `frames` frames before it comes round again: the first
    /// frame moved back along the motion, with a weight per pixel that is 1 well inside the area
    /// it covers and falls to 0 at its border (a feathered edge, at most `feather` of the frame's size).
    public func pulledBack(_ first: Tensor, frames: Double, feather: Double = 0.06) -> (picture: Tensor, weight: [Float]) {
        let (h, w) = (first.shape[2], first.shape[3])
        var weight = [Float](repeating: 0, count: h * w)
        var sx = [Float](repeating: 0, count: h * w), sy = [Float](repeating: 0, count: h * w)
        // Pulled back, the first frame is shrunk by `shrink`. Sampled as it is, its fine detail would
        // alias, and aliasing does not move with the zoom: the steps where the shrunk frame fills
        // much of the view were up to 1.5x the median step. So it is low-passed first: halved
        // (2x2 means) while the shrink is 4 or more, then a Gaussian for the rest, σ growing
        // smoothly from 0 at no shrink.
        let shrink = scale(afterFrames: frames)
        var source = first, factor = 1.0
        while shrink / factor >= 4 && min(source.shape[2], source.shape[3]) >= 16 { source = halve(source); factor *= 2 }
        let rest = shrink / factor
        if rest > 1 { source = gaussianBlur(source, sigma: Float(0.5 * (rest * rest - 1).squareRoot())) }
        // The feather never reaches further in than the strip the motion uncovers in `frames`
        // frames: one frame before the loop point the pulled-back picture must cover all of what
        // stays in view, or the seam shows.
        let side = Double(min(w, h))
        let uncovered = (1 - 1 / max(shrink, 1)) * side / 2
        let margin = max(1, min(feather * side, uncovered))
        for y in 0..<h {
            for x in 0..<w {
                let (u, v) = sourcePoint(x: Double(x), y: Double(y), frames: -frames, width: w, height: h)
                sx[y * w + x] = Float((u + 0.5) / factor - 0.5); sy[y * w + x] = Float((v + 0.5) / factor - 0.5)
                let inside = min(u + 0.5, Double(w) - 0.5 - u, v + 0.5, Double(h) - 0.5 - v)
                let t = max(0, min(1, inside / margin))
                weight[y * w + x] = Float(t * t * (3 - 2 * t))
            }
        }
        return (warp(source, height: h, width: w, sourceX: sx, sourceY: sy, interpolation: .lanczos3), weight)
    }
}

/// Loop closure: over the last `length` frames, each emitted frame is blended towards the first
/// frame pulled back along the motion, with a weight that grows by 1/(length + 1) a frame, so
/// the last frame moved on by one step is nearly the first frame, and the wrap's step is no
/// larger than the others. Why linear over a long stretch: a cross-fade adds (Δweight)² · the
/// difference of the two pictures to every step; a smoothstep over the last 2 s made the steps
/// there 3.2x the median. `render zoom --loop` closes over the whole loop.
public struct LoopClosure: Sendable {
    /// The zoom the loop follows.
    public var motion: ZoomMotion
    /// Frames in the whole loop.
    public var frameCount: Int
    /// Frames blended at the end of the loop.
    public var length: Int
    /// For a scheduled motion: `steps[k]` is the motion of the step into frame k, k = 1...frameCount
    /// (the last is the wrap into the first frame); nil: `motion` every step.
    public var steps: [ZoomMotion]?

    /// A closure over the last `length` frames of `frameCount`; `length` is clamped to at most
    /// frameCount − 1 and at least 1.
    public init(motion: ZoomMotion, frameCount: Int, length: Int, steps: [ZoomMotion]? = nil) {
        self.motion = motion; self.frameCount = frameCount; self.length = max(1, min(length, frameCount - 1))
        self.steps = steps
    }

    /// The motion that takes frame `index` to the first frame in one go, over `frameCount − index`
    /// frames: with steps of their own, one zoom and turn about the same focus whose scale is the
    /// steps' product and whose angle their sum (zooms and turns about one point commute), spread
    /// evenly over those frames. Drift is not composed: a scheduled loop has none.
    func motionToFirst(from index: Int) -> ZoomMotion {
        guard let steps else { return motion }
        let j = Double(frameCount - index)
        var logScale = 0.0, degrees = 0.0
        for k in (index + 1)...frameCount {
            logScale += log(steps[k].zoom) / steps[k].fps
            degrees += steps[k].rotate / steps[k].fps
        }
        var m = motion
        m.zoom = exp(logScale * motion.fps / j); m.rotate = degrees * motion.fps / j
        return m
    }

    /// Whether frame `index` is blended.
    public func applies(to index: Int) -> Bool { index >= frameCount - length && index < frameCount }

    /// `frame`, number `index` of the loop, blended towards `first` pulled back to where it must be
    /// then; unchanged outside the last `length` frames. Pictures (1, C, H, W) in [0, 1].
    public func close(_ frame: Tensor, index: Int, first: Tensor) -> Tensor {
        guard applies(to: index) else { return frame }
        let j = frameCount - index  // frames until the first frame comes round
        let a = Float(length - j + 1) / Float(length + 1)  // rises by the same amount every frame
        let (pulled, weight) = motionToFirst(from: index).pulledBack(first, frames: Double(j))
        var out = frame
        let plane = weight.count
        for c in 0..<frame.shape[1] {
            for p in 0..<plane {
                let i = c * plane + p, wgt = a * weight[p]
                out.data[i] = (1 - wgt) * frame.data[i] + wgt * pulled.data[i]
            }
        }
        return out
    }
}

/// How well a zoom loop closes, by the measure one would take from the video itself: each frame
/// warped by the exact per-frame motion (bilinear) is compared with the next over the centre 80 %
/// of the frame (mean squared difference, RGB in [0, 1]; the outer strip is where zooming samples
/// outside the picture); the wrap compares the last frame, warped, with the first. `ratio` is the
/// wrap over the median step (1: the loop point is an ordinary step); `largestStepRatio` the
/// largest of all steps and the wrap over the median. Feed it the frames as written (`render zoom`
/// decodes its own output), so compression counts too.
public struct SeamMeter {
    /// The exact per-frame motion each frame is warped by before it is compared with the next.
    public let motion: ZoomMotion
    /// For a scheduled motion, the step into frame k (k ≥ 1; the wrap is the step into frame
    /// `steps.count − 1`, the loop's length): nil, `motion` every step.
    public let steps: [ZoomMotion]?
    /// One error per step so far: frame i warped on by one frame, against frame i + 1.
    public private(set) var stepErrors: [Double] = []
    private var previous: Tensor?
    private var first: Tensor?

    /// An empty meter for frames that move by `motion`.
    public init(motion: ZoomMotion, steps: [ZoomMotion]? = nil) { self.motion = motion; self.steps = steps }

    private func step(into k: Int) -> ZoomMotion { steps.map { $0[min(k, $0.count - 1)] } ?? motion }

    /// Adds the next frame, (1, 3, H, W) in [0, 1], every frame the same size.
    public mutating func add(_ frame: Tensor) {
        if let previous {
            stepErrors.append(centreSquaredError(step(into: stepErrors.count + 1).advance(previous, interpolation: .bilinear), frame))
        }
        if first == nil { first = frame }
        previous = frame
    }

    /// The wrap's error: the last frame warped on by one frame, against the first; nil before two frames.
    public var seamError: Double? {
        guard let first, let previous, stepErrors.count > 0 else { return nil }
        return centreSquaredError(step(into: stepErrors.count + 1).advance(previous, interpolation: .bilinear), first)
    }

    private var median: Double? {
        guard !stepErrors.isEmpty else { return nil }
        let sorted = stepErrors.sorted()
        return max(sorted[sorted.count / 2], 1e-12)
    }

    /// `seamError` over the median step (1: the loop point is an ordinary step); nil before two frames.
    public var ratio: Double? {
        guard let seam = seamError, let median else { return nil }
        return seam / median
    }

    /// The largest of all steps and the wrap, over the median step; nil before two frames.
    public var largestStepRatio: Double? {
        guard let seam = seamError, let median else { return nil }
        return max(seam, stepErrors.max()!) / median
    }
}

/// Mean squared difference of two pictures of the same shape over their centre `keep` share of
/// width and height.
public func centreSquaredError(_ a: Tensor, _ b: Tensor, keep: Double = 0.8) -> Double {
    let (c, h, w) = (a.shape[1], a.shape[2], a.shape[3])
    let bx = Int((Double(w) * (1 - keep) / 2).rounded()), by = Int((Double(h) * (1 - keep) / 2).rounded())
    var sum = 0.0, n = 0
    for ch in 0..<c {
        for y in by..<(h - by) {
            for x in bx..<(w - bx) {
                let i = (ch * h + y) * w + x
                let d = Double(a.data[i] - b.data[i])
                sum += d * d; n += 1
            }
        }
    }
    return n > 0 ? sum / Double(n) : 0
}

/// Keeps a long zoom from drifting: dreaming a few steps on every frame adds contrast and colour
/// that the next frame dreams on again, so after hundreds of frames the picture saturates. Each
/// frame's per-channel mean and standard deviation are pulled part of the way (`rate`) back to
/// the first frame's, which leaves the new detail in place but not the drift.
public struct ColourAnchor: Sendable {
    /// The reference's mean per channel.
    public var mean: [Float]
    /// The reference's standard deviation per channel.
    public var std: [Float]
    /// Share of the way each frame is pulled back per `apply`, 0...1 (0: not at all).
    public var rate: Float

    /// Anchored to the statistics of `reference`, (1, C, H, W) in [0, 1].
    public init(reference: Tensor, rate: Float = 0.2) {
        let stats = channelStatistics(reference)
        mean = stats.mean; std = stats.std; self.rate = rate
    }

    /// `picture` with each channel's mean and standard deviation moved `rate` of the way to the
    /// reference's, clamped to [0, 1]; same shape as the reference.
    public func apply(_ picture: Tensor) -> Tensor {
        let stats = channelStatistics(picture)
        var out = picture
        let plane = picture.shape[2] * picture.shape[3]
        for c in 0..<picture.shape[1] {
            let gain = 1 + rate * (std[c] / max(stats.std[c], 1e-6) - 1)
            let targetMean = stats.mean[c] + rate * (mean[c] - stats.mean[c])
            for i in (c * plane)..<((c + 1) * plane) {
                out.data[i] = min(max(targetMean + (picture.data[i] - stats.mean[c]) * gain, 0), 1)
            }
        }
        return out
    }
}

func channelStatistics(_ t: Tensor) -> (mean: [Float], std: [Float]) {
    let plane = t.shape[2] * t.shape[3]
    var mean: [Float] = [], std: [Float] = []
    for c in 0..<t.shape[1] {
        let values = Array(t.data[(c * plane)..<((c + 1) * plane)])
        var sum = 0.0
        for v in values { sum += Double(v) }
        mean.append(Float(sum / Double(plane)))
        std.append(standardDeviation(values))
    }
    return (mean, std)
}
