import Foundation

// Polynomial expansion (Farnebäck 2003, "Two-frame motion estimation based on polynomial
// expansion"): around every pixel p the signal is approximated in the least-squares sense,
// weighted by a Gaussian applicability g(u)g(v), by
//     f(p + (u, v)) ≈ axx·u² + ayy·v² + axy·u·v + bx·u + by·v + c.
// Because the applicability and the basis {1, u, v, u², v², uv} are separable, the six
// correlations ⟨g·basis_k, f⟩ come from 3 horizontal and 6 vertical 1-D passes; the coefficients
// are then the inverse Gram matrix times those correlations.

/// The five coefficients per pixel as five stacked planes of `width × height` floats, in the
/// order bx, by, axx, ayy, axy.
struct PolynomialPlanes {
    var width: Int, height: Int
    var data: [Float]

    enum Coefficient: Int { case bx, by, axx, ayy, axy }
    subscript(_ c: Coefficient, _ i: Int) -> Float { data[c.rawValue * width * height + i] }
}

/// Gaussian taps g(-n ... n) with n = ceil(3σ).
func gaussianTaps(sigma: Float) -> [Float] {
    let n = max(1, Int((3 * sigma).rounded(.up)))
    return (-n...n).map { exp(-Float($0 * $0) / (2 * sigma * sigma)) }
}

/// Expands a (height × width) plane. Edges extend (clamped indices). Rows run in parallel.
func polynomialExpansion(_ f: [Float], width w: Int, height h: Int, sigma: Float) -> PolynomialPlanes {
    let g = gaussianTaps(sigma: sigma)
    let n = g.count / 2, taps = g.count
    let ginv = inverseGram(g)
    let count = w * h
    // Horizontal pass: r0 = Σ g(u) f, r1 = Σ u g(u) f, r2 = Σ u² g(u) f.
    var r = [Float](repeating: 0, count: 3 * count)
    f.withUnsafeBufferPointer { src in
        r.withUnsafeMutableBufferPointer { dst in
            let out = dst.baseAddress!, s = src.baseAddress!
            g.withUnsafeBufferPointer { g in
                parallelFor(h) { _, y in
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: w + 2 * n) { row in
                        for x in 0..<(w + 2 * n) { row[x] = s[y * w + min(max(x - n, 0), w - 1)] }
                        for x in 0..<w {
                            var s0: Float = 0, s1: Float = 0, s2: Float = 0
                            for k in 0..<taps {
                                let u = Float(k - n), v = g[k] * row[x + k]
                                s0 += v; s1 += u * v; s2 += u * u * v
                            }
                            out[y * w + x] = s0
                            out[count + y * w + x] = s1
                            out[2 * count + y * w + x] = s2
                        }
                    }
                }
            }
        }
    }
    // Vertical pass: the six correlations m = (1, u, v, u², v², uv), then coefficients = G⁻¹ m.
    var planes = [Float](repeating: 0, count: 5 * count)
    r.withUnsafeBufferPointer { src in
        planes.withUnsafeMutableBufferPointer { dst in
            let out = dst.baseAddress!, s = src.baseAddress!
            parallelFor(h) { _, y in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: 6 * w) { m in
                    let m = m.baseAddress!
                    m.initialize(repeating: 0, count: 6 * w)
                    for k in 0..<taps {
                        let yy = min(max(y + k - n, 0), h - 1), v = Float(k - n), gk = g[k]
                        let r0 = s + yy * w, r1 = s + count + yy * w, r2 = s + 2 * count + yy * w
                        for x in 0..<w {
                            m[x] += gk * r0[x]; m[w + x] += gk * r1[x]; m[2 * w + x] += gk * v * r0[x]
                            m[3 * w + x] += gk * r2[x]; m[4 * w + x] += gk * v * v * r0[x]; m[5 * w + x] += gk * v * r1[x]
                        }
                    }
                    // Rows 1...5 of G⁻¹ give bx, by, axx, ayy, axy (basis order 1, u, v, u², v², uv).
                    for plane in 0..<5 {
                        let k = (plane + 1) * 6
                        let (c0, c1, c2, c3, c4, c5) = (ginv[k], ginv[k + 1], ginv[k + 2], ginv[k + 3], ginv[k + 4], ginv[k + 5])
                        let o = out + plane * count + y * w
                        for x in 0..<w {
                            o[x] =
                                c0 * m[x] + c1 * m[w + x] + c2 * m[2 * w + x]
                                + c3 * m[3 * w + x] + c4 * m[4 * w + x] + c5 * m[5 * w + x]
                        }
                    }
                }
            }
        }
    }
    return PolynomialPlanes(width: w, height: h, data: planes)
}

/// Inverse of the 6×6 Gram matrix Σ g(u)g(v) b_k(u,v) b_l(u,v), basis (1, u, v, u², v², uv), row-major.
func inverseGram(_ g: [Float]) -> [Float] {
    let n = g.count / 2
    var a = [Double](repeating: 0, count: 36)
    for i in 0...(2 * n) {
        for j in 0...(2 * n) {
            let u = Double(i - n), v = Double(j - n), wgt = Double(g[i] * g[j])
            let b = [1, u, v, u * u, v * v, u * v]
            for k in 0..<6 { for l in 0..<6 { a[k * 6 + l] += wgt * b[k] * b[l] } }
        }
    }
    // Gauss–Jordan with partial pivoting on [a | I].
    var inv = [Double](repeating: 0, count: 36)
    for k in 0..<6 { inv[k * 6 + k] = 1 }
    for col in 0..<6 {
        let pivot = (col..<6).max { abs(a[$0 * 6 + col]) < abs(a[$1 * 6 + col]) }!
        for j in 0..<6 { a.swapAt(col * 6 + j, pivot * 6 + j); inv.swapAt(col * 6 + j, pivot * 6 + j) }
        let d = a[col * 6 + col]
        for j in 0..<6 { a[col * 6 + j] /= d; inv[col * 6 + j] /= d }
        for row in 0..<6 where row != col {
            let f = a[row * 6 + col]
            if f == 0 { continue }
            for j in 0..<6 { a[row * 6 + j] -= f * a[col * 6 + j]; inv[row * 6 + j] -= f * inv[col * 6 + j] }
        }
    }
    return inv.map { Float($0) }
}
