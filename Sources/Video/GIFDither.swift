/// Maps RGB pictures onto a fixed palette with Floyd–Steinberg error diffusion (serpentine rows,
/// which avoids the diagonal "worm" artefacts of always scanning left to right).
struct PaletteDitherer {
    let palette: [(r: Int32, g: Int32, b: Int32)]
    /// Nearest palette index for each 6-bit-per-channel cell (the cell centre), filled on first use:
    /// exact search over 256 colours per pixel would dominate the time; the cell's ±2 levels of
    /// approximation are far below palette spacing and the diffused error absorbs them anyway.
    private var nearestCache: [Int16]

    init(_ palette: GIFPalette) {
        self.palette = palette.colours.map { (Int32($0.r), Int32($0.g), Int32($0.b)) }
        nearestCache = [Int16](repeating: -1, count: 1 << 18)
    }

    /// Index of the palette colour closest (Euclidean RGB) to (r, g, b), each 0...255.
    mutating func nearest(_ r: Int32, _ g: Int32, _ b: Int32) -> Int {
        let cell = Int(r >> 2) << 12 | Int(g >> 2) << 6 | Int(b >> 2)
        let cached = nearestCache[cell]
        if cached >= 0 { return Int(cached) }
        let cr = (r & ~3) | 2, cg = (g & ~3) | 2, cb = (b & ~3) | 2
        var best = 0, bestDistance = Int32.max
        for (j, p) in palette.enumerated() {
            let dr = cr - p.r, dg = cg - p.g, db = cb - p.b
            let d = dr * dr + dg * dg + db * db
            if d < bestDistance { bestDistance = d; best = j }
        }
        nearestCache[cell] = Int16(best)
        return best
    }

    /// image: width x height RGB24; result: width x height palette indices, rows tightly packed.
    mutating func indices(for image: RGBImage) -> [UInt8] {
        let w = image.width, h = image.height
        var out = [UInt8](repeating: 0, count: w * h)
        // Errors carried to this row and the next, in 1/16 units, with one guard column each side.
        var current = [Int32](repeating: 0, count: (w + 2) * 3)
        var next = [Int32](repeating: 0, count: (w + 2) * 3)
        image.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<h {
                    current.withUnsafeMutableBufferPointer { cur in
                        next.withUnsafeMutableBufferPointer { nxt in
                            diffuseRow(y, width: w, src: src, dst: dst, cur: cur, nxt: nxt)
                        }
                    }
                    swap(&current, &next)
                    for i in next.indices { next[i] = 0 }
                }
            }
        }
        return out
    }

    /// One row of Floyd–Steinberg: src RGB24 (w*h*3), dst indices (w*h); cur/nxt: (w+2)*3 errors in
    /// 1/16 units for this row and the next, one guard column each side. Even rows run left to right.
    private mutating func diffuseRow(
        _ y: Int, width w: Int, src: UnsafeBufferPointer<UInt8>, dst: UnsafeMutableBufferPointer<UInt8>,
        cur: UnsafeMutableBufferPointer<Int32>, nxt: UnsafeMutableBufferPointer<Int32>
    ) {
        let step = y % 2 == 0 ? 1 : -1
        var x = step == 1 ? 0 : w - 1
        for _ in 0..<w {
            let s = (y * w + x) * 3, e = (x + 1) * 3
            let r = max(0, min(255, Int32(src[s]) + (cur[e] + 8) >> 4))
            let g = max(0, min(255, Int32(src[s + 1]) + (cur[e + 1] + 8) >> 4))
            let b = max(0, min(255, Int32(src[s + 2]) + (cur[e + 2] + 8) >> 4))
            let index = nearest(r, g, b)
            dst[y * w + x] = UInt8(index)
            let p = palette[index]
            // 7/16 ahead, 3/16 behind-below, 5/16 below, 1/16 ahead-below (relative to the scan direction).
            let ahead = e + 3 * step, behind = e - 3 * step
            let er = r - p.r, eg = g - p.g, eb = b - p.b
            cur[ahead] += 7 * er; cur[ahead + 1] += 7 * eg; cur[ahead + 2] += 7 * eb
            nxt[behind] += 3 * er; nxt[behind + 1] += 3 * eg; nxt[behind + 2] += 3 * eb
            nxt[e] += 5 * er; nxt[e + 1] += 5 * eg; nxt[e + 2] += 5 * eb
            nxt[ahead] += er; nxt[ahead + 1] += eg; nxt[ahead + 2] += eb
            x += step
        }
    }
}
