/// Depthwise convolution (groups = C = O), NCHW, weights (C, 1, kh, kw), optional bias (C).
///   forward:  y (N, C, outH, outW)      backward: dx (N, C, H, W) += Σ taps w·dy
/// Direct kernel, parallel over (batch, channel) planes on both cores; each tap is a row sweep
/// (contiguous for stride 1, so the compiler vectorises it).

func depthwiseConv2d(_ g: ConvGeometry, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                     bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>) {
    let taps = g.kH * g.kW
    parallelFor(g.batch * g.inC) { p in
        let c = p % g.inC
        let src = x + p * g.inPlane, dst = y + p * g.outPlane, w = weight + c * taps
        dst.update(repeating: bias?[c] ?? 0, count: g.outPlane)
        for kx in 0..<g.kW {
            let off = kx * g.dilW - g.padLeft
            let xs = validRange(outCount: g.outW, stride: g.strideW, offset: off, n: g.inW)
            if xs.lo >= xs.hi { continue }
            for oy in 0..<g.outH {
                let out = dst + oy * g.outW
                for ky in 0..<g.kH {
                    let iy = oy * g.strideH - g.padTop + ky * g.dilH
                    if iy < 0 || iy >= g.inH { continue }
                    let wv = w[ky * g.kW + kx]
                    let inp = src + iy * g.inW + off
                    if g.strideW == 1 {
                        for ox in xs.lo..<xs.hi { out[ox] += wv * inp[ox] }
                    } else {
                        let s = g.strideW
                        for ox in xs.lo..<xs.hi { out[ox] += wv * inp[ox * s] }
                    }
                }
            }
        }
    }
}

func depthwiseConv2dBackward(_ g: ConvGeometry, dy: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                             dx: UnsafeMutablePointer<Float>) {
    let taps = g.kH * g.kW
    parallelFor(g.batch * g.inC) { p in
        let c = p % g.inC
        let d = dy + p * g.outPlane, dst = dx + p * g.inPlane, w = weight + c * taps
        for kx in 0..<g.kW {
            let off = kx * g.dilW - g.padLeft
            let xs = validRange(outCount: g.outW, stride: g.strideW, offset: off, n: g.inW)
            if xs.lo >= xs.hi { continue }
            for oy in 0..<g.outH {
                let grow = d + oy * g.outW
                for ky in 0..<g.kH {
                    let iy = oy * g.strideH - g.padTop + ky * g.dilH
                    if iy < 0 || iy >= g.inH { continue }
                    let wv = w[ky * g.kW + kx]
                    let out = dst + iy * g.inW + off
                    if g.strideW == 1 {
                        for ox in xs.lo..<xs.hi { out[ox] += wv * grow[ox] }
                    } else {
                        let s = g.strideW
                        for ox in xs.lo..<xs.hi { out[ox * s] += wv * grow[ox] }
                    }
                }
            }
        }
    }
}
