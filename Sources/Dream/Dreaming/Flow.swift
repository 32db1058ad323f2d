import Foundation

// Dense optical flow between two frames: Farnebäck's polynomial-expansion method (Farnebäck 2003),
// coarse to fine over an image pyramid, on luma at a reduced resolution. The kernels are in
// FlowPolynomial.swift (expansion) and FlowUpdate.swift (one iteration: matrices, blur, solve).

/// A dense displacement per pixel, in pixels of this field's own size.
public struct FlowField: Sendable, Equatable {
    /// Columns of the field; the vectors are in pixels of this size.
    public var width: Int
    /// Rows of the field.
    public var height: Int
    /// Horizontal displacement per pixel (positive: right), row-major, width·height values.
    public var dx: [Float]
    /// Vertical displacement per pixel (positive: down), row-major, width·height values.
    public var dy: [Float]

    /// A field of these displacements; each array must hold width·height values (a precondition).
    public init(width: Int, height: Int, dx: [Float], dy: [Float]) {
        precondition(dx.count == width * height && dy.count == width * height, "FlowField: size mismatch")
        self.width = width; self.height = height; self.dx = dx; self.dy = dy
    }

    /// The zero field.
    public init(width: Int, height: Int) {
        self.init(
            width: width, height: height,
            dx: [Float](repeating: 0, count: width * height), dy: [Float](repeating: 0, count: width * height))
    }

    /// Resampled (bilinear, half-pixel centres) to another size; the vectors are rescaled with it.
    public func resized(width newWidth: Int, height newHeight: Int) -> FlowField {
        if newWidth == width && newHeight == height { return self }
        let field = Tensor(shape: [1, 2, height, width], data: dx + dy)
        let t: Tensor
        if width >= 2 * newWidth && height >= 2 * newHeight {
            t = resize(field, height: newHeight, width: newWidth)  // averages before it samples
        } else {
            // Why not resize(): its per-pixel coordinate closure runs serially; this is the same
            // half-pixel mapping, built in parallel (an upscale to 1280x720 is on every frame's path).
            let fx = Float(width) / Float(newWidth), fy = Float(height) / Float(newHeight)
            let (sx, sy) = sourceCoordinates(width: newWidth, height: newHeight) { x, y in
                ((x + 0.5) * fx - 0.5, (y + 0.5) * fy - 0.5)
            }
            t = warp(field, height: newHeight, width: newWidth, sourceX: sx, sourceY: sy)
        }
        let n = newWidth * newHeight
        let sx = Float(newWidth) / Float(width), sy = Float(newHeight) / Float(height)
        return FlowField(
            width: newWidth, height: newHeight,
            dx: t.data[0..<n].map { $0 * sx }, dy: t.data[n..<(2 * n)].map { $0 * sy })
    }
}

/// How `OpticalFlow` estimates motion. The defaults suit carrying a dream along video footage.
public struct FlowSettings: Sendable {
    /// Flow is estimated at a reduced size whose longest side is at most this (speed; motion
    /// detail finer than this is not needed to carry a dream).
    public var maxSide: Int = 320
    /// Most pyramid levels (each half the size); stops before a side drops below 16 pixels.
    public var levels: Int = 5
    /// Farnebäck iterations per level.
    public var iterations: Int = 4
    /// σ of the polynomial-expansion applicability, in pixels (1.1 and 1.5 are the usual choices; 1.1 warped the sample video best).
    public var polynomialSigma: Float = 1.1
    /// σ of the Gaussian neighbourhood over which each flow vector is solved, in pixels. Larger is
    /// smoother and more robust to noise, smaller follows motion boundaries more closely. Why 1.5:
    /// on cockatoo.mp4 it warps as well as 2–4 (MSE 4.2e-4 vs 4.1e-4) and flags revealed areas better.
    public var windowSigma: Float = 1.5

    /// The defaults.
    public init() {}
}

/// Dense optical flow between frames (Farnebäck, see the comment at the top of this file).
public enum OpticalFlow {
    /// Dense flow from `a` to `b`: for each pixel p of a, b(p + flow(p)) ≈ a(p).
    /// Inputs: (1,C,H,W) images in [0,1] of the same size (converted to luma inside). Estimated at
    /// a reduced size (longest side <= settings.maxSide), returned at full size.
    public static func estimate(from a: Tensor, to b: Tensor, settings: FlowSettings = .init()) -> FlowField {
        precondition(a.shape == b.shape, "OpticalFlow: frames differ in shape \(a.shape) vs \(b.shape)")
        let (h, w) = (a.shape[2], a.shape[3])
        let (rh, rw) = reducedSize(height: h, width: w, maxSide: settings.maxSide)
        let la = resize(luma(a), height: rh, width: rw), lb = resize(luma(b), height: rh, width: rw)
        return estimateAtSize(la, lb, settings: settings).resized(width: w, height: h)
    }

    /// Flow between two (1,1,H,W) luma images at their own size (no reduction).
    static func estimateAtSize(_ a: Tensor, _ b: Tensor, settings: FlowSettings) -> FlowField {
        let (h, w) = (a.shape[2], a.shape[3])
        // Level sizes, finest first.
        var sizes = [(h, w)]
        while sizes.count < max(1, settings.levels) {
            let (ph, pw) = sizes[sizes.count - 1]
            if min(ph, pw) / 2 < 16 { break }
            sizes.append((ph / 2, pw / 2))
        }
        var flow = FlowField(width: sizes.last!.1, height: sizes.last!.0)
        for (lh, lw) in sizes.reversed() {
            flow = flow.resized(width: lw, height: lh)
            // Why ×255: Farnebäck's regularisation constant is tuned for 8-bit intensities.
            let fa = resize(a, height: lh, width: lw).data.map { $0 * 255 }
            let fb = resize(b, height: lh, width: lw).data.map { $0 * 255 }
            let pa = polynomialExpansion(fa, width: lw, height: lh, sigma: settings.polynomialSigma)
            let pb = polynomialExpansion(fb, width: lw, height: lh, sigma: settings.polynomialSigma)
            for _ in 0..<settings.iterations {
                let m = farnebackMatrices(pa, pb, dx: flow.dx, dy: flow.dy, width: lw, height: lh)
                let (dx, dy) = solveFlow(m, width: lw, height: lh, sigma: settings.windowSigma, regularisation: 1e-3)
                flow = FlowField(width: lw, height: lh, dx: dx, dy: dy)
            }
        }
        return flow
    }

    /// The size whose longest side is at most `maxSide`, keeping the aspect ratio.
    static func reducedSize(height h: Int, width w: Int, maxSide: Int) -> (Int, Int) {
        let longest = max(h, w)
        if longest <= maxSide || maxSide < 1 { return (h, w) }
        let s = Double(maxSide) / Double(longest)
        return (max(1, Int((Double(h) * s).rounded())), max(1, Int((Double(w) * s).rounded())))
    }
}

/// Luma (Rec. 601 weights) of a (1,3,H,W) image as (1,1,H,W); other channel counts are averaged.
func luma(_ image: Tensor) -> Tensor {
    let (c, h, w) = (image.shape[1], image.shape[2], image.shape[3])
    if c == 1 { return image }
    let n = h * w
    let weights: [Float] = c == 3 ? [0.299, 0.587, 0.114] : [Float](repeating: 1 / Float(c), count: c)
    var out = [Float](repeating: 0, count: n)
    image.data.withUnsafeBufferPointer { src in
        for ch in 0..<c {
            let wt = weights[ch]
            for i in 0..<n { out[i] += wt * src[ch * n + i] }
        }
    }
    return Tensor(shape: [1, 1, h, w], data: out)
}

/// Warps `image` (frame t-1) into frame t's geometry with the backward flow t → t-1:
/// out(p) = image(p + backward(p)). Bilinear, edges extended. A field of another size is
/// resized to the image first.
public func warp(_ image: Tensor, along backward: FlowField) -> Tensor {
    let (h, w) = (image.shape[2], image.shape[3])
    let f = backward.resized(width: w, height: h)
    let (sx, sy) = f.dx.withUnsafeBufferPointer { dx in
        f.dy.withUnsafeBufferPointer { dy in
            sourceCoordinates(width: w, height: h) { x, y in
                let i = Int(y) * w + Int(x)
                return (x + dx[i], y + dy[i])
            }
        }
    }
    return warp(image, height: h, width: w, sourceX: sx, sourceY: sy)
}
