import Foundation
import Video

/// An outside measure of a zoom loop's seam, written apart from the renderer's `SeamMeter`: the
/// decoded frames, each warped by the exact per-frame zoom about the centre (bilinear, in Double),
/// compared with the next over the centre 80 % (mean squared difference, RGB in [0, 1]); the
/// wrap compares the last frame with the first.
public enum LoopSeam {
    /// What `measure` finds: mean squared differences, RGB in [0, 1].
    public struct Result {
        /// One per step: frame i warped on by one frame, against frame i + 1.
        public var steps: [Double]
        /// The last frame warped on by one frame, against the first.
        public var wrap: Double
        /// The median step (the upper middle one for an even count); traps when there are no steps.
        public var median: Double { steps.sorted()[steps.count / 2] }
        /// `wrap` over the median step: 1 means the loop point looks like any other step.
        public var seamRatio: Double { wrap / median }
        /// The largest of all steps and the wrap, over the median step.
        public var largestRatio: Double { max(wrap, steps.max() ?? 0) / median }
    }

    /// Decodes the video at `path` and measures it for a zoom of `zoomPerSecond` per second at `fps`
    /// frames per second, about the centre (no rotation or drift). The video needs at least two frames.
    /// `rotatePerSecond`: degrees per second the picture turns about the centre, clockwise as
    /// seen on screen (y down; what `render zoom --rotate` does for positive values), besides the zoom.
    public static func measure(path: String, zoomPerSecond: Double, rotatePerSecond: Double = 0, fps: Double) throws -> Result {
        try measure(path: path, fps: fps) { _ in (zoomPerSecond, rotatePerSecond) }
    }

    /// The same for a motion that changes: `step(k)` is the zoom per second and turn per second of
    /// the step into frame k (k = 1 ..< count; the wrap is the step into frame `count`).
    public static func measure(path: String, fps: Double, step: (Int) -> (zoomPerSecond: Double, rotatePerSecond: Double)) throws
        -> Result
    {
        let reader = try VideoReader(path: path)
        var frames: [RGBImage] = []
        while let f = try reader.nextFrame() { frames.append(f.image) }
        func error(_ a: RGBImage, _ b: RGBImage, _ k: Int) -> Double {
            let (z, r) = step(k)
            return stepError(from: a, to: b, scale: pow(z, 1 / fps), degrees: r / fps)
        }
        let steps = (0..<(frames.count - 1)).map { error(frames[$0], frames[$0 + 1], $0 + 1) }
        return Result(steps: steps, wrap: error(frames[frames.count - 1], frames[0], frames.count))
    }

    /// The mean squared difference (RGB in [0, 1]) between `b` and `a` zoomed by `scale` and turned
    /// by `degrees` (clockwise on screen) about the centre (bilinear, in Double), over the
    /// centre 80 %.
    public static func stepError(from a: RGBImage, to b: RGBImage, scale s: Double, degrees: Double = 0) -> Double {
        let (w, h) = (a.width, a.height)
        let cx = Double(w) / 2 - 0.5, cy = Double(h) / 2 - 0.5
        let bx = Int((Double(w) * 0.1).rounded()), by = Int((Double(h) * 0.1).rounded())
        // On screen (y down) a counter-clockwise turn by φ maps (dx, dy) to (cos φ·dx + sin φ·dy,
        // −sin φ·dx + cos φ·dy); undoing it is the turn by −φ. A clockwise turn is φ = −degrees.
        let phi = -degrees * .pi / 180
        let cosine = cos(phi), sine = sin(phi)
        var sum = 0.0, n = 0
        for y in by..<(h - by) {
            for x in bx..<(w - bx) {
                // b's pixel (x, y) shows a's point turned back by the angle and shrunk back by the zoom.
                let (dx, dy) = (Double(x) - cx, Double(y) - cy)
                let u = cx + (cosine * dx - sine * dy) / s, v = cy + (sine * dx + cosine * dy) / s
                let x0 = min(max(Int(u.rounded(.down)), 0), w - 2), y0 = min(max(Int(v.rounded(.down)), 0), h - 2)
                let fx = u - Double(x0), fy = v - Double(y0)
                for c in 0..<3 {
                    func p(_ xx: Int, _ yy: Int) -> Double { Double(a.pixels[(yy * w + xx) * 3 + c]) / 255 }
                    let top = p(x0, y0) * (1 - fx) + p(x0 + 1, y0) * fx
                    let bottom = p(x0, y0 + 1) * (1 - fx) + p(x0 + 1, y0 + 1) * fx
                    let d = top * (1 - fy) + bottom * fy - Double(b.pixels[(y * w + x) * 3 + c]) / 255
                    sum += d * d; n += 1
                }
            }
        }
        return sum / Double(max(n, 1))
    }
}
