/// im2col / col2im for one image of an NCHW batch.
///   image: (C, H, W)   col: (C·kh·kw, outH·outW), row r = (c·kh + ky)·kw + kx
/// col2im adds into the image (gradients accumulate).

func im2col(_ g: ConvGeometry, image: UnsafePointer<Float>, col: UnsafeMutablePointer<Float>) {
    let rows = g.inC * g.kH * g.kW, plane = g.outPlane
    parallelFor(rows) { r in
        let kx = r % g.kW, ky = (r / g.kW) % g.kH, c = r / (g.kW * g.kH)
        let src = image + c * g.inPlane
        let dst = col + r * plane
        let xs = validRange(outCount: g.outW, stride: g.strideW, offset: kx * g.dilW - g.padLeft, n: g.inW)
        for oy in 0..<g.outH {
            let row = dst + oy * g.outW
            let iy = oy * g.strideH - g.padTop + ky * g.dilH
            if iy < 0 || iy >= g.inH { row.update(repeating: 0, count: g.outW); continue }
            let srow = src + iy * g.inW + kx * g.dilW - g.padLeft
            if xs.lo > 0 { row.update(repeating: 0, count: xs.lo) }
            if g.strideW == 1 {
                (row + xs.lo).update(from: srow + xs.lo, count: xs.hi - xs.lo)
            } else {
                for ox in xs.lo..<xs.hi { row[ox] = srow[ox * g.strideW] }
            }
            if xs.hi < g.outW { (row + xs.hi).update(repeating: 0, count: g.outW - xs.hi) }
        }
    }
}

func col2imAdd(_ g: ConvGeometry, col: UnsafePointer<Float>, image: UnsafeMutablePointer<Float>) {
    let plane = g.outPlane
    // One task per channel: all rows of a channel write to the same image plane.
    parallelFor(g.inC) { c in
        let dstPlane = image + c * g.inPlane
        for ky in 0..<g.kH {
            for kx in 0..<g.kW {
                let src = col + ((c * g.kH + ky) * g.kW + kx) * plane
                let xs = validRange(outCount: g.outW, stride: g.strideW, offset: kx * g.dilW - g.padLeft, n: g.inW)
                for oy in 0..<g.outH {
                    let iy = oy * g.strideH - g.padTop + ky * g.dilH
                    if iy < 0 || iy >= g.inH { continue }
                    let drow = dstPlane + iy * g.inW + kx * g.dilW - g.padLeft
                    let srow = src + oy * g.outW
                    if g.strideW == 1 {
                        for ox in xs.lo..<xs.hi { drow[ox] += srow[ox] }
                    } else {
                        for ox in xs.lo..<xs.hi { drow[ox * g.strideW] += srow[ox] }
                    }
                }
            }
        }
    }
}
