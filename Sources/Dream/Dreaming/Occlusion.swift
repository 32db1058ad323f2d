import Foundation

// Occlusion by forward-backward consistency (Sundaram, Brox & Keutzer 2010): following the
// backward flow from frame t to t-1 and then the forward flow back should return to the start.
// Where it does not, the pixel was hidden in frame t-1 (newly revealed) or the flow is wrong;
// either way frame t-1 should not be carried into it.

/// Forward-backward consistency: true where the pixel of `backward`'s frame is reliable.
/// For p in frame t, q = p + f_b(p) in frame t-1 and the test is
///     |f_b(p) + f_f(q)|² <= 0.01 (|f_b(p)|² + |f_f(q)|²) + 0.5     (pixels² of the fields' size)
/// with f_f sampled bilinearly at q. A q outside frame t-1 is unreliable (it came from outside).
/// The mask has the backward field's size (row-major); a forward field of another size is resized.
/// The 0.5 px² tolerance is meant for the estimation scale: check at the size flow was estimated
/// (as `OpticalFlow.motion` does), not on fields upscaled to a large frame.
public func reliabilityMask(backward: FlowField, forward: FlowField) -> [Bool] {
    let (w, h) = (backward.width, backward.height)
    let f = forward.resized(width: w, height: h)
    var mask = [Bool](repeating: false, count: w * h)
    f.dx.withUnsafeBufferPointer { fdx in
        f.dy.withUnsafeBufferPointer { fdy in
            for y in 0..<h {
                for x in 0..<w {
                    let i = y * w + x
                    let bx = backward.dx[i], by = backward.dy[i]
                    let qx = Float(x) + bx, qy = Float(y) + by
                    if qx < 0 || qy < 0 || qx > Float(w - 1) || qy > Float(h - 1) { continue }
                    let fx = sampleBilinear(fdx, width: w, height: h, x: qx, y: qy)
                    let fy = sampleBilinear(fdy, width: w, height: h, x: qx, y: qy)
                    let sx = bx + fx, sy = by + fy
                    mask[i] = sx * sx + sy * sy <= 0.01 * (bx * bx + by * by + fx * fx + fy * fy) + 0.5
                }
            }
        }
    }
    return mask
}

/// What carrying frame t-1 into frame t needs: the backward flow t → t-1 and where it is reliable.
public struct FrameMotion: Sendable {
    /// Backward flow (current → previous) at the frames' full size.
    public var backward: FlowField
    /// Per pixel of the current frame (full size, row-major): true where previous(p + backward(p))
    /// really is the same scene point.
    public var reliable: [Bool]
}

extension OpticalFlow {
    /// Backward flow and its forward-backward reliability for consecutive frames `previous` → `current`
    /// ((1,C,H,W) in [0,1], same shape). Both flows and the check run at the reduced size; the
    /// results are returned at full size (mask by nearest neighbour).
    public static func motion(from previous: Tensor, to current: Tensor, settings: FlowSettings = .init()) -> FrameMotion {
        precondition(previous.shape == current.shape, "OpticalFlow: frames differ in shape \(previous.shape) vs \(current.shape)")
        let (h, w) = (current.shape[2], current.shape[3])
        let (rh, rw) = reducedSize(height: h, width: w, maxSide: settings.maxSide)
        let lp = resize(luma(previous), height: rh, width: rw), lc = resize(luma(current), height: rh, width: rw)
        let backward = estimateAtSize(lc, lp, settings: settings)
        let forward = estimateAtSize(lp, lc, settings: settings)
        let small = reliabilityMask(backward: backward, forward: forward)
        var mask = [Bool](repeating: false, count: w * h)
        for y in 0..<h {
            let sy = min(rh - 1, y * rh / h)
            for x in 0..<w { mask[y * w + x] = small[sy * rw + min(rw - 1, x * rw / w)] }
        }
        return FrameMotion(backward: backward.resized(width: w, height: h), reliable: mask)
    }
}
