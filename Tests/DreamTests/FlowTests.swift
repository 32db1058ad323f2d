import XCTest
@testable import Dream

/// A smooth random texture defined at continuous coordinates, so moved frames are exact (no
/// resampling in the test data): a sum of sinusoids with wavelengths 7–30 px.
struct SmoothTexture {
    var waves: [(kx: Float, ky: Float, phase: Float, amplitude: Float)] = []

    init(seed: UInt64, count: Int = 14) {
        var state = seed
        func next() -> Float {  // SplitMix64 → [0, 1)
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Float((z ^ (z >> 31)) >> 40) / Float(1 << 24)
        }
        for _ in 0..<count {
            let angle = 2 * Float.pi * next(), wavelength = 7 + 23 * next()
            let k = 2 * Float.pi / wavelength
            waves.append((k * cos(angle), k * sin(angle), 2 * Float.pi * next(), 0.5 + next()))
        }
    }

    func value(_ x: Float, _ y: Float) -> Float {
        var s: Float = 0, total: Float = 0
        for w in waves { s += w.amplitude * sin(w.kx * x + w.ky * y + w.phase); total += w.amplitude }
        return 0.5 + 0.45 * s / total * 2.5  // roughly [0, 1]; clamped below
    }

    /// A (1,3,H,W) frame whose pixel p shows the texture at `source(p)`.
    func frame(width: Int, height: Int, source: (Float, Float) -> (Float, Float)) -> Tensor {
        let n = width * height
        var data = [Float](repeating: 0, count: 3 * n)
        for y in 0..<height {
            for x in 0..<width {
                let (u, v) = source(Float(x), Float(y))
                let t = min(max(value(u, v), 0), 1)
                data[y * width + x] = t
                data[n + y * width + x] = 0.8 * t + 0.1
                data[2 * n + y * width + x] = 1 - t
            }
        }
        return Tensor(shape: [1, 3, height, width], data: data)
    }
}

/// Mean endpoint error between `flow` and `truth(x, y)` over pixels at least `margin` from the edge.
func meanEndpointError(_ flow: FlowField, margin: Int, truth: (Float, Float) -> (Float, Float)) -> Float {
    var sum: Float = 0, count = 0
    for y in margin..<(flow.height - margin) {
        for x in margin..<(flow.width - margin) {
            let i = y * flow.width + x
            let (tx, ty) = truth(Float(x), Float(y))
            sum += ((flow.dx[i] - tx) * (flow.dx[i] - tx) + (flow.dy[i] - ty) * (flow.dy[i] - ty)).squareRoot()
            count += 1
        }
    }
    return sum / Float(count)
}

final class FlowTests: XCTestCase {
    let texture = SmoothTexture(seed: 7)

    /// b(p + d) = a(p) for a constant sub-pixel shift d; estimated at full size (no reduction).
    func testSubPixelTranslation() {
        let (w, h) = (128, 96), d: (Float, Float) = (2.3, -1.6)
        let a = texture.frame(width: w, height: h) { ($0, $1) }
        let b = texture.frame(width: w, height: h) { ($0 - d.0, $1 - d.1) }
        let flow = OpticalFlow.estimate(from: a, to: b)
        let epe = meanEndpointError(flow, margin: 8) { _, _ in d }
        XCTAssertLessThan(epe, 0.5, "translation (2.3, -1.6): mean endpoint error \(epe) px")
        // The threshold discriminates: no motion, the reversed motion or the transposed motion fail it.
        XCTAssertGreaterThan(meanEndpointError(FlowField(width: w, height: h), margin: 8) { _, _ in d }, 0.5)
        let reversed = FlowField(width: w, height: h, dx: flow.dx.map { -$0 }, dy: flow.dy.map { -$0 })
        XCTAssertGreaterThan(meanEndpointError(reversed, margin: 8) { _, _ in d }, 0.5)
        let transposed = FlowField(width: w, height: h, dx: flow.dy, dy: flow.dx)
        XCTAssertGreaterThan(meanEndpointError(transposed, margin: 8) { _, _ in d }, 0.5)
    }

    /// A small rotation (2°) and zoom (3%) about the centre: the flow varies over the frame.
    func testRotationAndZoom() {
        let (w, h) = (128, 96)
        let (cx, cy) = (Float(w) / 2, Float(h) / 2), angle: Float = 2 * .pi / 180, zoom: Float = 1.03
        let (c, s) = (zoom * cos(angle), zoom * sin(angle))
        // Point p of a moves to M(p - centre) + centre in b.
        let truth: (Float, Float) -> (Float, Float) = { x, y in
            let (u, v) = (x - cx, y - cy)
            return (c * u - s * v + cx - x, s * u + c * v + cy - y)
        }
        let a = texture.frame(width: w, height: h) { ($0, $1) }
        let b = texture.frame(width: w, height: h) { x, y in  // b(q) = a(M⁻¹(q - centre) + centre)
            let (u, v) = (x - cx, y - cy), det = c * c + s * s
            return ((c * u + s * v) / det + cx, (-s * u + c * v) / det + cy)
        }
        let flow = OpticalFlow.estimate(from: a, to: b)
        let epe = meanEndpointError(flow, margin: 8, truth: truth)
        XCTAssertLessThan(epe, 0.5, "rotation 2° + zoom 3%: mean endpoint error \(epe) px")
        // A single global translation (the best constant fit) cannot describe this motion.
        let mean = (flow.dx.reduce(0, +) / Float(w * h), flow.dy.reduce(0, +) / Float(w * h))
        XCTAssertGreaterThan(
            meanEndpointError(
                FlowField(
                    width: w, height: h,
                    dx: [Float](repeating: mean.0, count: w * h), dy: [Float](repeating: mean.1, count: w * h)),
                margin: 8, truth: truth), 0.5)
    }

    /// A larger frame goes through the reduced-size path (longest side 400 → 320) and comes back
    /// at full size with vectors scaled; a 6 px shift also needs the pyramid.
    func testReducedResolutionLargeShift() {
        let (w, h) = (400, 240), d: (Float, Float) = (-6.4, 3.7)
        let a = texture.frame(width: w, height: h) { ($0, $1) }
        let b = texture.frame(width: w, height: h) { ($0 - d.0, $1 - d.1) }
        let flow = OpticalFlow.estimate(from: a, to: b)
        XCTAssertEqual(flow.width, w); XCTAssertEqual(flow.height, h)
        let epe = meanEndpointError(flow, margin: 16) { _, _ in d }
        XCTAssertLessThan(epe, 0.5, "shift (-6.4, 3.7) at 400x240: mean endpoint error \(epe) px")
        // Without the pyramid (one level) the same motion is out of reach: the test tells them apart.
        var single = FlowSettings()
        single.levels = 1
        let flat = meanEndpointError(OpticalFlow.estimate(from: a, to: b, settings: single), margin: 16) { _, _ in d }
        XCTAssertGreaterThan(flat, 0.5, "single-level estimate should miss a 7 px motion, got \(flat) px")
    }

    /// warp(b, along: flow a → b) reproduces a: the documented direction convention of `warp`.
    func testWarpAlongFlowReproducesFirstFrame() {
        let (w, h) = (96, 64), d: (Float, Float) = (3.2, 1.1)
        let a = texture.frame(width: w, height: h) { ($0, $1) }
        let b = texture.frame(width: w, height: h) { ($0 - d.0, $1 - d.1) }
        let exact = FlowField(
            width: w, height: h, dx: [Float](repeating: d.0, count: w * h),
            dy: [Float](repeating: d.1, count: w * h))
        let interior = (0..<(w * h)).map { i in (i % w) >= 6 && (i % w) < w - 6 && (i / w) >= 6 && (i / w) < h - 6 }
        let warped = warp(b, along: exact)
        let unwarped = maskedMeanSquaredError(b, a, interior)
        let error = maskedMeanSquaredError(warped, a, interior)
        XCTAssertLessThan(error, unwarped / 50, "warped \(error) vs unwarped \(unwarped)")
        let estimated = maskedMeanSquaredError(warp(b, along: OpticalFlow.estimate(from: a, to: b)), a, interior)
        XCTAssertLessThan(estimated, unwarped / 20, "with estimated flow \(estimated) vs unwarped \(unwarped)")
    }

    func testResizedScalesVectors() {
        let f = FlowField(width: 4, height: 2, dx: [Float](repeating: 1.5, count: 8), dy: [Float](repeating: -2, count: 8))
        let g = f.resized(width: 8, height: 6)
        XCTAssertEqual(g.width, 8); XCTAssertEqual(g.height, 6)
        for v in g.dx { XCTAssertEqual(v, 3, accuracy: 1e-5) }
        for v in g.dy { XCTAssertEqual(v, -6, accuracy: 1e-5) }
    }

    /// The inverse Gram matrix really inverts: G · G⁻¹ = I (checked through polynomial expansion of
    /// an exact quadratic, whose coefficients must come back).
    func testPolynomialExpansionRecoversQuadratic() {
        let (w, h) = (32, 32)
        var f = [Float](repeating: 0, count: w * h)
        for y in 0..<h {
            for x in 0..<w {
                let (u, v) = (Float(x), Float(y))
                f[y * w + x] = 0.02 * u * u - 0.03 * v * v + 0.05 * u * v + 0.7 * u - 0.4 * v + 3
            }
        }
        let p = polynomialExpansion(f, width: w, height: h, sigma: 1.5)
        let i = 16 * w + 12, (u, v): (Float, Float) = (12, 16)
        XCTAssertEqual(p[.axx, i], 0.02, accuracy: 1e-3)
        XCTAssertEqual(p[.ayy, i], -0.03, accuracy: 1e-3)
        XCTAssertEqual(p[.axy, i], 0.05, accuracy: 1e-3)
        XCTAssertEqual(p[.bx, i], 0.04 * u + 0.05 * v + 0.7, accuracy: 1e-2)  // ∂f/∂x at p
        XCTAssertEqual(p[.by, i], -0.06 * v + 0.05 * u - 0.4, accuracy: 1e-2)  // ∂f/∂y at p
    }
}
