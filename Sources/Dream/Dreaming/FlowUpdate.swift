import Foundation

// One Farnebäck iteration at one pyramid level. With the expansions of frame 1 at p and of frame 2
// at p + d̃ (d̃ the current flow), the displacement d satisfies  A·d = Δb  where
//     A  = (A1(p) + A2(p + d̃)) / 2,    Δb = -(b2(p + d̃) - b1(p)) / 2 + A·d̃.
// d is solved in the least-squares sense over a Gaussian neighbourhood:
//     (Σ w AᵀA) d = Σ w AᵀΔb,
// so each pixel contributes the five distinct entries (G11, G12, G22, h1, h2), which are blurred and
// then solved per pixel.

/// Normal-equation entries per pixel: 5 planes of `width × height` (G11, G12, G22, h1, h2).
/// `p1` at p, `p2` sampled bilinearly at p + (dx, dy). Pixels near the border, where the
/// expansion sees extended edges, and pixels whose target leaves frame 2 are down-weighted so
/// the neighbourhood decides their flow.
func farnebackMatrices(
    _ p1: PolynomialPlanes, _ p2: PolynomialPlanes, dx: [Float], dy: [Float], width w: Int, height h: Int
) -> [Float] {
    let count = w * h
    var m = [Float](repeating: 0, count: 5 * count)
    let border = 5
    p1.data.withUnsafeBufferPointer { a1 in
        p2.data.withUnsafeBufferPointer { a2 in
            dx.withUnsafeBufferPointer { dx in
                dy.withUnsafeBufferPointer { dy in
                    m.withUnsafeMutableBufferPointer { dst in
                        let out = dst.baseAddress!, a1 = a1.baseAddress!, a2 = a2.baseAddress!
                        parallelFor(h) { _, y in
                            for x in 0..<w {
                                let i = y * w + x
                                let fx = Float(x) + dx[i], fy = Float(y) + dy[i]
                                let outside = fx < 0 || fy < 0 || fx > Float(w - 1) || fy > Float(h - 1)
                                // Bilinear weights at p + d, clamped to the frame; the five planes share them.
                                let xc = min(max(fx, 0), Float(w - 1)), yc = min(max(fy, 0), Float(h - 1))
                                let x0 = Int(xc), y0 = Int(yc), x1 = min(x0 + 1, w - 1), y1 = min(y0 + 1, h - 1)
                                let tx = xc - Float(x0), ty = yc - Float(y0)
                                let w00 = (1 - tx) * (1 - ty), w01 = tx * (1 - ty), w10 = (1 - tx) * ty, w11 = tx * ty
                                let i00 = y0 * w + x0, i01 = y0 * w + x1, i10 = y1 * w + x0, i11 = y1 * w + x1
                                @inline(__always) func s2(_ k: Int) -> Float {
                                    let p = a2 + k * count
                                    return w00 * p[i00] + w01 * p[i01] + w10 * p[i10] + w11 * p[i11]
                                }
                                let b2x = s2(0), b2y = s2(1)
                                let a = 0.5 * (a1[2 * count + i] + s2(2))
                                let b = 0.5 * (a1[3 * count + i] + s2(3))
                                let c = 0.25 * (a1[4 * count + i] + s2(4))  // off-diagonal of A is axy / 2
                                let h1 = -0.5 * (b2x - a1[i]) + a * dx[i] + c * dy[i]
                                let h2 = -0.5 * (b2y - a1[count + i]) + c * dx[i] + b * dy[i]
                                // Why: near the border the expansion is built from replicated pixels; outside frame 2
                                // there is nothing to match. Small, non-zero weights keep the system well posed.
                                let edge = min(x, y, w - 1 - x, h - 1 - y)
                                var weight: Float = edge < border ? 0.02 + 0.98 * Float(edge * edge) / Float(border * border) : 1
                                if outside { weight *= 0.01 }
                                out[i] = weight * (a * a + c * c)
                                out[count + i] = weight * (a + b) * c
                                out[2 * count + i] = weight * (b * b + c * c)
                                out[3 * count + i] = weight * (a * h1 + c * h2)
                                out[4 * count + i] = weight * (c * h1 + b * h2)
                            }
                        }
                    }
                }
            }
        }
    }
    return m
}

/// Blurs the five planes over the Gaussian neighbourhood and solves the 2×2 system per pixel.
/// `regularisation` keeps the solve finite where the image has no texture (flow falls to 0 there).
func solveFlow(
    _ matrices: [Float], width w: Int, height h: Int, sigma: Float, regularisation: Float
) -> (dx: [Float], dy: [Float]) {
    let m = gaussianBlur(matrices, planes: 5, width: w, height: h, sigma: sigma)
    let count = w * h
    var dx = [Float](repeating: 0, count: count), dy = [Float](repeating: 0, count: count)
    m.withUnsafeBufferPointer { m in
        dx.withUnsafeMutableBufferPointer { dxp in
            dy.withUnsafeMutableBufferPointer { dyp in
                let m = m.baseAddress!, dx = dxp.baseAddress!, dy = dyp.baseAddress!
                parallelFor(h) { _, y in
                    for i in (y * w)..<((y + 1) * w) {
                        let g11 = m[i], g12 = m[count + i], g22 = m[2 * count + i], h1 = m[3 * count + i], h2 = m[4 * count + i]
                        let det = g11 * g22 - g12 * g12 + regularisation
                        dx[i] = (g22 * h1 - g12 * h2) / det
                        dy[i] = (g11 * h2 - g12 * h1) / det
                    }
                }
            }
        }
    }
    return (dx, dy)
}

/// Separable Gaussian blur of `planes` stacked (height × width) planes, edges extended.
func gaussianBlur(_ data: [Float], planes: Int, width w: Int, height h: Int, sigma: Float) -> [Float] {
    let g = gaussianTaps(sigma: sigma)
    let total = g.reduce(0, +)
    let taps = g.map { $0 / total }, n = taps.count / 2
    var tmp = [Float](repeating: 0, count: data.count)
    var out = [Float](repeating: 0, count: data.count)
    data.withUnsafeBufferPointer { src in
        tmp.withUnsafeMutableBufferPointer { dst in
            let t = dst.baseAddress!, s = src.baseAddress!
            parallelFor(planes * h) { _, row in
                let base = row * w
                withUnsafeTemporaryAllocation(of: Float.self, capacity: w + 2 * n) { padded in
                    for x in 0..<(w + 2 * n) { padded[x] = s[base + min(max(x - n, 0), w - 1)] }
                    for x in 0..<w {
                        var sum: Float = 0
                        for k in 0...(2 * n) { sum += taps[k] * padded[x + k] }
                        t[base + x] = sum
                    }
                }
            }
        }
    }
    tmp.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBufferPointer { dst in
            let o = dst.baseAddress!, s = src.baseAddress!
            parallelFor(planes * h) { _, row in
                let plane = row / h, y = row % h, base = plane * w * h
                let orow = o + base + y * w
                for k in 0...(2 * n) {
                    let yy = min(max(y + k - n, 0), h - 1), tk = taps[k], srow = s + base + yy * w
                    for x in 0..<w { orow[x] += tk * srow[x] }
                }
            }
        }
    }
    return out
}
