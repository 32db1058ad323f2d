import Foundation

/// The motion of an infinite zoom, defined per second so the same settings give the same motion
/// at any frame rate: per frame the picture is scaled by zoom^(1/fps) and turned by rotate/fps
/// degrees about the focus point, which itself drifts by `drift` (fractions of the frame per second).
public struct ZoomMotion: Sendable, Equatable {
    public var zoom: Double              // factor per second; > 1 zooms in
    public var rotate: Double            // degrees per second, counter-clockwise
    public var focus: (x: Double, y: Double)   // relative, 0...1
    public var drift: (x: Double, y: Double)   // relative frame sizes per second
    public var fps: Double

    public init(zoom: Double, rotate: Double = 0, focus: (x: Double, y: Double) = (0.5, 0.5),
                drift: (x: Double, y: Double) = (0, 0), fps: Double) throws {
        guard zoom > 0, zoom.isFinite else { throw DreamError("--zoom must be a positive factor per second (above 1 zooms in), got \(zoom)") }
        guard fps > 0, fps.isFinite, fps <= 1000 else { throw DreamError("--fps must be in (0, 1000], got \(fps)") }
        guard (0...1).contains(focus.x), (0...1).contains(focus.y) else {
            throw DreamError("--focus must be inside the frame: x,y between 0 and 1, got \(focus.x),\(focus.y)")
        }
        self.zoom = zoom; self.rotate = rotate; self.focus = focus; self.drift = drift; self.fps = fps
    }

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
        // The feather never reaches further in than the strip the motion uncovers in `frames`
        // frames: one frame before the loop point the pulled-back picture must cover all of what
        // stays in view, or the seam shows.
        let side = Double(min(w, h))
        let uncovered = (1 - 1 / max(scale(afterFrames: frames), 1)) * side / 2
        let margin = max(1, min(feather * side, uncovered))
        for y in 0..<h {
            for x in 0..<w {
                let (u, v) = sourcePoint(x: Double(x), y: Double(y), frames: -frames, width: w, height: h)
                sx[y * w + x] = Float(u); sy[y * w + x] = Float(v)
                let inside = min(u + 0.5, Double(w) - 0.5 - u, v + 0.5, Double(h) - 0.5 - v)
                let t = max(0, min(1, inside / margin))
                weight[y * w + x] = Float(t * t * (3 - 2 * t))
            }
        }
        return (warp(first, height: h, width: w, sourceX: sx, sourceY: sy, interpolation: .lanczos3), weight)
    }
}

/// Loop closure: over the last `length` frames, each emitted frame is blended towards the first
/// frame pulled back along the motion, with a weight rising smoothly to 1 at the last frame, so
/// the last frame moved on by one step is the first frame again.
public struct LoopClosure: Sendable {
    public var motion: ZoomMotion
    public var frameCount: Int
    public var length: Int

    public init(motion: ZoomMotion, frameCount: Int, length: Int) {
        self.motion = motion; self.frameCount = frameCount; self.length = max(1, min(length, frameCount - 1))
    }

    /// Whether frame `index` is blended.
    public func applies(to index: Int) -> Bool { index >= frameCount - length && index < frameCount }

    public func close(_ frame: Tensor, index: Int, first: Tensor) -> Tensor {
        guard applies(to: index) else { return frame }
        let j = frameCount - index                      // frames until the first frame comes round
        let t = Float(length - j + 1) / Float(length)   // 1/length ... 1
        let a = t * t * (3 - 2 * t)
        let (pulled, weight) = motion.pulledBack(first, frames: Double(j))
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

/// How well a zoom loop closes: the error between the first frame and the last frame moved on
/// by one step, over the median of the same error between consecutive frames. 1 means the jump
/// at the loop point is an ordinary step. Frames are (1, 3, H, W) in [0, 1].
public struct SeamMeter {
    public let motion: ZoomMotion
    public private(set) var stepErrors: [Double] = []
    private var previous: Tensor?
    private var first: Tensor?
    private var last: Tensor?

    public init(motion: ZoomMotion) { self.motion = motion }

    public mutating func add(_ frame: Tensor) {
        if let previous { stepErrors.append(meanSquaredError(motion.advance(previous), frame)) }
        if first == nil { first = frame }
        previous = frame
        last = frame
    }

    public var seamError: Double? {
        guard let first, let last, stepErrors.count > 0 else { return nil }
        return meanSquaredError(motion.advance(last), first)
    }

    public var ratio: Double? {
        guard let seam = seamError else { return nil }
        let sorted = stepErrors.sorted()
        let median = sorted[sorted.count / 2]
        return seam / max(median, 1e-12)
    }
}

/// Mean squared difference of two pictures of the same shape, ignoring a border of 2% where
/// zooming and rotation sample outside the frame.
public func meanSquaredError(_ a: Tensor, _ b: Tensor) -> Double {
    let (c, h, w) = (a.shape[1], a.shape[2], a.shape[3])
    let bx = w / 50, by = h / 50
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
    public var mean: [Float]
    public var std: [Float]
    public var rate: Float

    public init(reference: Tensor, rate: Float = 0.2) {
        let stats = channelStatistics(reference)
        mean = stats.mean; std = stats.std; self.rate = rate
    }

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
