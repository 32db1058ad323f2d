/// 2-D convolution over NCHW, weights (O, C/groups, kh, kw), optional bias (O).
///   forward:  y (N, O, outH, outW)
///   backward: dx (N, C, H, W) += conv-transpose(dy)   (input gradient only; weights are frozen)
/// Fast path: im2col + one sgemm per group (a 1x1 stride-1 unpadded conv is a plain sgemm).
/// Depthwise convs go to DepthwiseConv2D.swift. Naive versions are the test oracles.

/// `col` scratch needs `convColumnCount(g)` floats (0 for pointwise).
func convColumnCount(_ g: ConvGeometry) -> Int { g.isPointwise ? 0 : g.inC * g.kH * g.kW * g.outPlane }

/// Columns per block of a pointwise conv: the block's output (outC × columns, ~1 MB) stays in the two
/// cores' L2 between the bias fill, the sgemm and the clip instead of three passes over memory.
func pointwiseBlockColumns(outC: Int) -> Int { max(1024, ((1 << 18) / max(outC, 1)) & ~63) }

/// `clip`: a fused Clip applied to the output (nil: none).
func conv2d(_ g: ConvGeometry, x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
            y: UnsafeMutablePointer<Float>, col: UnsafeMutablePointer<Float>?, clip: (lo: Float, hi: Float)? = nil) {
    let og = g.outC / g.groups, k = g.colRows, plane = g.outPlane
    for n in 0..<g.batch {
        let xn = x + n * g.inC * g.inPlane, yn = y + n * g.outC * plane
        // Blocks only pay for outputs far beyond L2 (> 4 MB); smaller ones stay in L3 between passes.
        if g.isPointwise && g.groups == 1 && (bias != nil || clip != nil) && g.outC * plane > 1 << 20 {
            pointwiseBlocked(g, x: xn, weight: weight, bias: bias, y: yn, clip: clip)
            continue
        }
        if let bias {
            for o in 0..<g.outC { (yn + o * plane).update(repeating: bias[o], count: plane) }
        }
        let b: UnsafePointer<Float>
        if g.isPointwise { b = xn } else { im2col(g, image: xn, col: col!); b = UnsafePointer(col!) }
        for grp in 0..<g.groups {
            gemm(transA: false, transB: false, m: og, n: plane, k: k,
                 a: weight + grp * og * k, lda: k, b: b + grp * k * plane, ldb: plane,
                 beta: bias == nil ? 0 : 1, c: yn + grp * og * plane, ldc: plane)
        }
        if let clip { Dream.clip(yn, yn, count: g.outC * plane, lo: clip.lo, hi: clip.hi) }
    }
}

/// One image of a pointwise conv, by column blocks: pass b clamps block b−1 and fills block b with the
/// bias (rows split over the 2 cores), then one sgemm (both cores) computes block b.
private func pointwiseBlocked(_ g: ConvGeometry, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                              bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>, clip: (lo: Float, hi: Float)?) {
    let plane = g.outPlane, cols = pointwiseBlockColumns(outC: g.outC)
    let blocks = (plane + cols - 1) / cols
    let lo = clip?.lo ?? -.infinity, hi = clip?.hi ?? .infinity
    for b in 0...blocks {
        let j0 = b * cols, width = min(cols, plane - j0), jp = j0 - cols, prevWidth = min(cols, plane - jp)
        parallelFor(2) { h in
            for o in (h * g.outC / 2)..<((h + 1) * g.outC / 2) {
                let row = y + o * plane
                if clip != nil && b > 0 {
                    let p = row + jp
                    for i in 0..<prevWidth { p[i] = min(max(p[i], lo), hi) }
                }
                if b < blocks, let bias { (row + j0).update(repeating: bias[o], count: width) }
            }
        }
        if b < blocks {
            gemm(transA: false, transB: false, m: g.outC, n: width, k: g.inC, a: weight, lda: g.inC, b: x + j0, ldb: plane,
                 beta: bias == nil ? 0 : 1, c: y + j0, ldc: plane)
        }
    }
}

func conv2dBackward(_ g: ConvGeometry, dy: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                    dx: UnsafeMutablePointer<Float>, col: UnsafeMutablePointer<Float>?) {
    let og = g.outC / g.groups, cg = g.inC / g.groups, k = g.colRows, plane = g.outPlane
    for n in 0..<g.batch {
        let dxn = dx + n * g.inC * g.inPlane, dyn = dy + n * g.outC * plane
        for grp in 0..<g.groups {
            let w = weight + grp * og * k, d = dyn + grp * og * plane
            if g.isPointwise {
                gemm(transA: true, transB: false, m: cg, n: plane, k: og, a: w, lda: k, b: d, ldb: plane,
                     beta: 1, c: dxn + grp * cg * g.inPlane, ldc: plane)
            } else {
                gemm(transA: true, transB: false, m: k, n: plane, k: og, a: w, lda: k, b: d, ldb: plane,
                     beta: 0, c: col! + grp * k * plane, ldc: plane)
            }
        }
        if !g.isPointwise { col2imAdd(g, col: col!, image: dxn) }
    }
}

/// Direct 7-loop convolution: the oracle.
func conv2dNaive(_ g: ConvGeometry, x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                 y: UnsafeMutablePointer<Float>) {
    let og = g.outC / g.groups, cg = g.inC / g.groups
    for n in 0..<g.batch {
        for o in 0..<g.outC {
            let grp = o / og
            for oy in 0..<g.outH {
                for ox in 0..<g.outW {
                    var s = Double(bias?[o] ?? 0)
                    for ci in 0..<cg {
                        let c = grp * cg + ci
                        for ky in 0..<g.kH {
                            let iy = oy * g.strideH - g.padTop + ky * g.dilH
                            if iy < 0 || iy >= g.inH { continue }
                            for kx in 0..<g.kW {
                                let ix = ox * g.strideW - g.padLeft + kx * g.dilW
                                if ix < 0 || ix >= g.inW { continue }
                                s += Double(x[((n * g.inC + c) * g.inH + iy) * g.inW + ix])
                                    * Double(weight[((o * cg + ci) * g.kH + ky) * g.kW + kx])
                            }
                        }
                    }
                    y[((n * g.outC + o) * g.outH + oy) * g.outW + ox] = Float(s)
                }
            }
        }
    }
}

/// Direct scatter of dy back through the taps: the oracle for the input gradient (adds into dx).
func conv2dBackwardNaive(_ g: ConvGeometry, dy: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                         dx: UnsafeMutablePointer<Float>) {
    let og = g.outC / g.groups, cg = g.inC / g.groups
    for n in 0..<g.batch {
        for o in 0..<g.outC {
            let grp = o / og
            for oy in 0..<g.outH {
                for ox in 0..<g.outW {
                    let d = dy[((n * g.outC + o) * g.outH + oy) * g.outW + ox]
                    for ci in 0..<cg {
                        let c = grp * cg + ci
                        for ky in 0..<g.kH {
                            let iy = oy * g.strideH - g.padTop + ky * g.dilH
                            if iy < 0 || iy >= g.inH { continue }
                            for kx in 0..<g.kW {
                                let ix = ox * g.strideW - g.padLeft + kx * g.dilW
                                if ix < 0 || ix >= g.inW { continue }
                                dx[((n * g.inC + c) * g.inH + iy) * g.inW + ix]
                                    += d * weight[((o * cg + ci) * g.kH + ky) * g.kW + kx]
                            }
                        }
                    }
                }
            }
        }
    }
}
