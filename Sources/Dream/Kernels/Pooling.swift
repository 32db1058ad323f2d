/// Pooling over NCHW planes (geometry from `convGeometry` with outC = C, groups = 1).
///   maxPool:  y (N, C, outH, outW), argmax (same count, index into the input plane; −1 = all padding)
///             backward: dx[argmax] += dy
///   avgPool:  y = Σ window / divisor (divisor: valid taps, or taps inside input + explicit padding
///             when countIncludePad); backward spreads dy/divisor over the window
///   globalAveragePool: (N, C, H, W) → (N, C, 1, 1); backward dx += dy / (H·W)

/// The forwards of undilated pools run separably, row by row (`PoolRows`): max values and argmax
/// identical to the naive window loop, average sums in another order. Without `argmax` (a forward
/// no backward follows) a max pool computes the values only, and a stride-1 one whose output plane
/// is the input plane (pads k − 1 in all: the inception pool branches) over the whole plane's flat
/// positions (`SameWindows`). Such an average pool's input gradient is a `SameWindows` box sum
/// too. Otherwise the average pool's input gradient takes 8 outputs of a row at a time where every
/// tap of the window's rows inside the input is inside the row too (`interiorColumns`); the borders
/// run the naive window loop.

/// Output columns whose windows lie inside the input row: every kx tap valid.
@inline(__always)
private func interiorColumns(_ g: ConvGeometry) -> Range<Int> {
    let first = validRange(outCount: g.outW, stride: g.strideW, offset: -g.padLeft, n: g.inW)
    let last = validRange(outCount: g.outW, stride: g.strideW, offset: (g.kW - 1) * g.dilW - g.padLeft, n: g.inW)
    return max(first.lo, last.lo)..<max(max(first.lo, last.lo), min(first.hi, last.hi))
}

/// The window rows of output row oy inside the input (the padding rows are skipped).
@inline(__always)
private func windowRows(_ g: ConvGeometry, _ oy: Int) -> Range<Int> {
    let iy0 = oy * g.strideH - g.padTop
    var lo = 0, hi = g.kH
    while lo < hi && iy0 + lo * g.dilH < 0 { lo += 1 }
    while hi > lo && iy0 + (hi - 1) * g.dilH >= g.inH { hi -= 1 }
    return lo..<hi
}

/// Runs a stride-1 pass (the average pool's input gradient) over one plane's output rows:
/// `interior(oy, rows, from, to)` over row oy's interior columns from..<to (the window rows `rows`
/// inside the input; it returns where it stopped), `window(oy, ox)` for every other output (all of
/// them at another stride across).
@inline(__always)
private func forEachPoolRow(
    _ g: ConvGeometry, window: (_ oy: Int, _ ox: Int) -> Void,
    interior: (_ oy: Int, _ rows: Range<Int>, _ from: Int, _ to: Int) -> Int
) {
    let inner = interiorColumns(g)
    for oy in 0..<g.outH {
        let rows = windowRows(g, oy)
        var ox = 0
        if !rows.isEmpty && g.strideW == 1 && !inner.isEmpty {
            while ox < inner.lowerBound { window(oy, ox); ox += 1 }
            ox = interior(oy, rows, ox, inner.upperBound)
        }
        while ox < g.outW { window(oy, ox); ox += 1 }
    }
}

/// 8 taps, `stride` (1 or 2) apart, from `p`.
@inline(__always)
private func taps8(_ p: UnsafePointer<Float>, stride: Int) -> SIMD8<Float> {
    stride == 1
        ? UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
        : UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self).evenHalf
}

/// `argmax`: where the backward finds each output's tap; nil when no backward follows (values only:
/// InceptionV3 at 224x224, its 3 stride-2 pools 0.25/0.40/0.39 → 0.10/0.25/0.20 ms, per-node
/// minimums on an Emerald Rapids Xeon).
func maxPool(_ g: ConvGeometry, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>?) {
    if g.dilH != 1 || g.dilW != 1 {
        if let argmax {
            maxPoolNaive(g, x: x, y: y, argmax: argmax)
        } else {
            withUnsafeTemporaryAllocation(of: Int32.self, capacity: g.batch * g.inC * g.outPlane) {
                maxPoolNaive(g, x: x, y: y, argmax: $0.baseAddress!)
            }
        }
        return
    }
    if argmax == nil, let same = SameWindows(g) {
        same.forEachPlane(WindowMax.self, x, y)
        return
    }
    let rows = PoolRows(g)
    parallelFor(g.batch * g.inC) { _, p in
        withUnsafeTemporaryAllocation(of: Float.self, capacity: rows.width) { vb in
            guard let argmax else {
                rows.maxValuesPlane(x + p * g.inPlane, y + p * g.outPlane, v: vb.baseAddress!)
                return
            }
            withUnsafeTemporaryAllocation(of: Int32.self, capacity: rows.width) { kb in
                rows.maxPlane(x + p * g.inPlane, y + p * g.outPlane, argmax + p * g.outPlane, v: vb.baseAddress!, ky: kb.baseAddress!)
            }
        }
    }
}

/// One output of a max pool: the first largest tap in (ky, kx) order, and its index in the plane.
@inline(__always)
private func maxWindow(
    _ g: ConvGeometry, _ src: UnsafePointer<Float>, _ oy: Int, _ ox: Int, _ dst: UnsafeMutablePointer<Float>,
    _ arg: UnsafeMutablePointer<Int32>
) {
    var best = -Float.infinity, at: Int32 = -1
    for ky in 0..<g.kH {
        let iy = oy * g.strideH - g.padTop + ky * g.dilH
        if iy < 0 || iy >= g.inH { continue }
        for kx in 0..<g.kW {
            let ix = ox * g.strideW - g.padLeft + kx * g.dilW
            if ix < 0 || ix >= g.inW { continue }
            let v = src[iy * g.inW + ix]
            if v > best || at < 0 { best = v; at = Int32(iy * g.inW + ix) }
        }
    }
    dst[oy * g.outW + ox] = best
    arg[oy * g.outW + ox] = at
}

/// The forward of an undilated pool, row by row and separably: the window rows of output row oy
/// are reduced down the columns into one padded row `v` (padded column c = input column c − padLeft;
/// the columns outside the input hold the reduction's identity), then each output reduces kW
/// columns of `v` across, 8 outputs at a time. A window of 3x3 costs 3 + 3 vector operations per
/// 8 outputs instead of 9, with no per-tap bounds checks at the borders.
/// Max: `v` keeps each column's first largest row (`ky`), and across, a column wins over the best
/// so far when larger, or equal from an earlier row, which is the naive window loop's first largest
/// tap in (ky, kx) order (for inputs without NaN): the same values and argmax.
/// Average: sums down, then across, so the sums differ from the naive tap order in rounding only;
/// the divisor (valid or padded taps) is a row count times a column count, as in the naive loop.
private struct PoolRows {
    let g: ConvGeometry
    /// Floats of `v`: every column a window reads, and the 16 a stride-2 vector load reads.
    let width: Int

    init(_ g: ConvGeometry) {
        self.g = g
        width = (g.outW - 1) * g.strideW + g.kW + 16
    }

    /// Padded columns of `v` that are input columns.
    private var inputColumns: Range<Int> { min(g.padLeft, width)..<min(g.padLeft + g.inW, width) }

    /// Output columns whose window holds an input column.
    private var outputsWithInputColumns: Range<Int> {
        let s = g.strideW
        var lo = 0, hi = g.outW
        while lo < hi && lo * s - g.padLeft + g.kW - 1 < 0 { lo += 1 }
        while hi > lo && (hi - 1) * s - g.padLeft > g.inW - 1 { hi -= 1 }
        return lo..<hi
    }

    func maxPlane(
        _ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ arg: UnsafeMutablePointer<Int32>,
        v: UnsafeMutablePointer<Float>, ky kyRow: UnsafeMutablePointer<Int32>
    ) {
        let cols = inputColumns, s = g.strideW, none = Int32.max, windowColumns = outputsWithInputColumns
        v.initialize(repeating: -.infinity, count: width)
        kyRow.initialize(repeating: none, count: width)
        let lanes = SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7) &* Int32(s)
        for oy in 0..<g.outH {
            let iy0 = oy * g.strideH - g.padTop, rows = windowRows(g, oy)
            // Down: v[c] = the first largest of the window rows at column c.
            if rows.isEmpty {
                (v + cols.lowerBound).update(repeating: -.infinity, count: cols.count)
                (kyRow + cols.lowerBound).update(repeating: none, count: cols.count)
            } else {
                let first = src + (iy0 + rows.lowerBound) * g.inW - g.padLeft
                (v + cols.lowerBound).update(from: first + cols.lowerBound, count: cols.count)
                (kyRow + cols.lowerBound).update(repeating: Int32(rows.lowerBound), count: cols.count)
                for ky in rows.dropFirst() {
                    let row = src + (iy0 + ky) * g.inW - g.padLeft, k = SIMD8<Int32>(repeating: Int32(ky))
                    // Overlapping vectors are harmless: a second pass of the same row changes nothing.
                    var c =
                        cols.lowerBound
                        + eights(cols.count) { i in
                            let c = cols.lowerBound + i, a = load8(row + c), b = load8(v + c), more = a .> b
                            store8(b.replacing(with: a, where: more), v + c)
                            storeInt8(loadInt8(kyRow + c).replacing(with: k, where: more), kyRow + c)
                        }
                    while c < cols.upperBound {
                        if row[c] > v[c] { v[c] = row[c]; kyRow[c] = Int32(ky) }
                        c += 1
                    }
                }
            }
            // Across: the first largest of kW columns, an earlier row winning ties.
            let out = dst + oy * g.outW, at = arg + oy * g.outW
            var ox = 0
            if s <= 2 {
                ox = eights(g.outW) { ox in
                    var best = taps8(v + ox * s, stride: s), bk = tapsInt8(kyRow + ox * s, stride: s)
                    var bx = SIMD8<Int32>(repeating: 0)
                    for kx in 1..<max(g.kW, 1) {
                        let a = taps8(v + ox * s + kx, stride: s), k = tapsInt8(kyRow + ox * s + kx, stride: s)
                        let wins = (a .> best) .| ((a .== best) .& (k .< bk))
                        best.replace(with: a, where: wins)
                        bk.replace(with: k, where: wins)
                        bx.replace(with: SIMD8<Int32>(repeating: Int32(kx)), where: wins)
                    }
                    store8(best, out + ox)
                    let rowBase = (bk &+ Int32(iy0)) &* Int32(g.inW)
                    storeInt8(rowBase &+ SIMD8<Int32>(repeating: Int32(ox * s - g.padLeft)) &+ lanes &+ bx, at + ox)
                }
                // Windows with no input tap (a padding row, or columns all padding) hold −∞ and −1.
                if rows.isEmpty {
                    at.update(repeating: -1, count: ox)
                } else {
                    for o in 0..<min(windowColumns.lowerBound, ox) { at[o] = -1 }
                    for o in min(windowColumns.upperBound, ox)..<ox { at[o] = -1 }
                }
            }
            while ox < g.outW {
                var best = v[ox * s], bk = kyRow[ox * s], bx = 0
                for kx in 1..<max(g.kW, 1) {
                    let a = v[ox * s + kx], k = kyRow[ox * s + kx]
                    if a > best || (a == best && k < bk) { best = a; bk = k; bx = kx }
                }
                out[ox] = best
                at[ox] = bk == none ? -1 : (Int32(iy0) + bk) * Int32(g.inW) + Int32(ox * s - g.padLeft + bx)
                ox += 1
            }
        }
    }

    /// `maxPlane`'s values without the argmax.
    func maxValuesPlane(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>) {
        let cols = inputColumns, s = g.strideW
        v.initialize(repeating: -.infinity, count: width)
        for oy in 0..<g.outH {
            let iy0 = oy * g.strideH - g.padTop, rows = windowRows(g, oy)
            // Down: v[c] = the largest of the window rows at column c.
            if rows.isEmpty {
                (v + cols.lowerBound).update(repeating: -.infinity, count: cols.count)
            } else {
                let base = src + iy0 * g.inW - g.padLeft, r0 = rows.lowerBound, c0 = cols.lowerBound
                var c =
                    c0
                    + eights(cols.count) { i in
                        var m = load8(base + r0 * g.inW + c0 + i)
                        for ky in rows.dropFirst() { m = larger(m, load8(base + ky * g.inW + c0 + i)) }
                        store8(m, v + c0 + i)
                    }
                while c < cols.upperBound {
                    var m = base[r0 * g.inW + c]
                    for ky in rows.dropFirst() where base[ky * g.inW + c] > m { m = base[ky * g.inW + c] }
                    v[c] = m
                    c += 1
                }
            }
            // Across: the largest of kW columns.
            let out = dst + oy * g.outW
            var ox = 0
            if s <= 2 {
                ox = eights(g.outW) { ox in
                    var m = taps8(v + ox * s, stride: s)
                    for kx in 1..<max(g.kW, 1) { m = larger(m, taps8(v + ox * s + kx, stride: s)) }
                    store8(m, out + ox)
                }
            }
            while ox < g.outW {
                var m = v[ox * s]
                for kx in 1..<max(g.kW, 1) where v[ox * s + kx] > m { m = v[ox * s + kx] }
                out[ox] = m
                ox += 1
            }
        }
    }

    func averagePlane(
        _ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>,
        columnCounts: UnsafePointer<Float>, countIncludePad: Bool
    ) {
        let cols = inputColumns, s = g.strideW
        v.initialize(repeating: 0, count: width)
        for oy in 0..<g.outH {
            let iy0 = oy * g.strideH - g.padTop, rows = windowRows(g, oy)
            // Down: v[c] = the sum of the window rows at column c.
            if rows.isEmpty {
                (v + cols.lowerBound).update(repeating: 0, count: cols.count)
            } else {
                let base = src + iy0 * g.inW - g.padLeft, r0 = rows.lowerBound, c0 = cols.lowerBound
                var c =
                    c0
                    + eights(cols.count) { i in
                        var sum = load8(base + r0 * g.inW + c0 + i)
                        for ky in rows.dropFirst() { sum += load8(base + ky * g.inW + c0 + i) }
                        store8(sum, v + c0 + i)
                    }
                while c < cols.upperBound {
                    var sum = base[r0 * g.inW + c]
                    for ky in rows.dropFirst() { sum += base[ky * g.inW + c] }
                    v[c] = sum
                    c += 1
                }
            }
            let rowCount = windowCount(start: iy0, k: g.kH, pad: g.padTop, padEnd: g.padBottom, n: g.inH, includePad: countIncludePad)
            let out = dst + oy * g.outW
            var ox = 0
            if s <= 2 {
                let h = SIMD8<Float>(repeating: rowCount)
                ox = eights(g.outW) { ox in
                    var sum = taps8(v + ox * s, stride: s)
                    for kx in 1..<max(g.kW, 1) { sum += taps8(v + ox * s + kx, stride: s) }
                    let n = h * load8(columnCounts + ox)
                    store8(sum / n.replacing(with: 1, where: n .< 1), out + ox)
                }
            }
            while ox < g.outW {
                var sum = v[ox * s]
                for kx in 1..<max(g.kW, 1) { sum += v[ox * s + kx] }
                out[ox] = sum / max(rowCount * columnCounts[ox], 1)
                ox += 1
            }
        }
    }

    /// Per output column, the divisor's column count (valid taps, or taps inside input + padding).
    func columnCounts(countIncludePad: Bool) -> [Float] {
        (0..<g.outW).map {
            windowCount(
                start: $0 * g.strideW - g.padLeft, k: g.kW, pad: g.padLeft, padEnd: g.padRight, n: g.inW, includePad: countIncludePad)
        }
    }
}

/// Stride-1 undilated windows whose output plane is the input plane (padTop + padBottom = kH − 1,
/// padLeft + padRight = kW − 1: the inception pool branches, 3x3 with pad 1), reduced over the
/// plane's flat positions in whole-plane vector passes, with no per-row work but at the borders.
/// Down: each row reduces its window rows inside the plane into `v` (margins of the identity,
/// padLeft floats before the plane, padRight after); the rows whose window is whole are one flat
/// pass. Across: position p reduces v[p − padLeft + kx] over kx, which in a row's first padLeft and
/// last padRight columns reaches into the row before or after; those are recomputed from their own
/// row. Why: row by row, a 12x12 or 25x25 plane pays per-row set-up on 2–4 vectors. InceptionV3 at
/// 224x224, its five 3x3 average pools' input gradients took 0.45–0.68 ms each by the gather, 0.16–0.30
/// as box sums (per-node minimums, Xeon). Their forwards stay on `PoolRows`: as box sums they measured
/// 0.17–0.28 ms against 0.15–0.26, no better.
private struct SameWindows {
    let h: Int, w: Int, kH: Int, kW: Int, padTop: Int, padLeft: Int, planes: Int

    init?(_ g: ConvGeometry) {
        guard
            g.strideH == 1 && g.strideW == 1 && g.dilH == 1 && g.dilW == 1 && g.padTop >= 0 && g.padLeft >= 0
                && g.padBottom >= 0 && g.padRight >= 0 && g.padTop + g.padBottom == g.kH - 1
                && g.padLeft + g.padRight == g.kW - 1 && g.outH == g.inH && g.outW == g.inW
        else { return nil }
        (h, w, kH, kW, padTop, padLeft, planes) = (g.inH, g.inW, g.kH, g.kW, g.padTop, g.padLeft, g.batch * g.inC)
    }

    private init(h: Int, w: Int, kH: Int, kW: Int, padTop: Int, padLeft: Int, planes: Int) {
        (self.h, self.w, self.kH, self.kW, self.padTop, self.padLeft, self.planes) = (h, w, kH, kW, padTop, padLeft, planes)
    }

    var plane: Int { h * w }
    private var padBottom: Int { kH - 1 - padTop }
    private var padRight: Int { kW - 1 - padLeft }
    /// The windows that hold each position: the input gradient's (pads k − 1 − pad).
    var transposed: SameWindows { SameWindows(h: h, w: w, kH: kH, kW: kW, padTop: padBottom, padLeft: padRight, planes: planes) }
    /// Floats of `v`: the margins, the plane, and the 8 an overlapping last vector may read.
    var marginCount: Int { kW - 1 + plane + 8 }

    /// Taps of row r's window inside the plane (never empty: row r itself is one).
    private func rows(_ r: Int) -> Range<Int> { max(0, padTop - r)..<min(kH, h + padTop - r) }

    /// t[p] = the reduction of position p's window taps inside the plane, for p in 0..<plane.
    func reduce<R: WindowReduction>(
        _: R.Type, _ src: UnsafePointer<Float>, into t: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>
    ) {
        v.initialize(repeating: R.identity, count: padLeft)
        (v + padLeft + plane).initialize(repeating: R.identity, count: padRight)
        let body = v + padLeft
        // Down, over flat positions lo..<hi of whole rows sharing window taps `taps`.
        func down(_ lo: Int, _ hi: Int, _ taps: Range<Int>) {
            if hi <= lo { return }
            let first = src + (taps.lowerBound - padTop) * w
            var i =
                lo
                + eights(hi - lo) { j in
                    var a = load8(first + lo + j)
                    for ky in taps.dropFirst() { a = R.combine(a, load8(src + lo + j + (ky - padTop) * w)) }
                    store8(a, body + lo + j)
                }
            while i < hi {
                var a = first[i]
                for ky in taps.dropFirst() { a = R.combine(a, src[i + (ky - padTop) * w]) }
                body[i] = a
                i += 1
            }
        }
        let top = min(padTop, h), bottom = max(top, h - padBottom)
        for r in 0..<top { down(r * w, (r + 1) * w, rows(r)) }
        down(top * w, bottom * w, 0..<kH)
        for r in bottom..<h { down(r * w, (r + 1) * w, rows(r)) }
        // Across, then the border columns of every row from their own row's taps.
        var p =
            eights(plane) { p in
                var a = load8(v + p)
                for kx in 1..<kW { a = R.combine(a, load8(v + p + kx)) }
                store8(a, t + p)
            }
        while p < plane {
            var a = v[p]
            for kx in 1..<kW { a = R.combine(a, v[p + kx]) }
            t[p] = a
            p += 1
        }
        if kW == 1 { return }
        func border(_ r: Int, _ ox: Int) {
            let taps = max(0, padLeft - ox)..<min(kW, w + padLeft - ox), row = body + r * w + ox - padLeft
            var a = row[taps.lowerBound]
            for kx in taps.dropFirst() { a = R.combine(a, row[kx]) }
            t[r * w + ox] = a
        }
        let left = min(padLeft, w), right = max(left, w - padRight)
        for r in 0..<h {
            for ox in 0..<left { border(r, ox) }
            for ox in right..<w { border(r, ox) }
        }
    }

    /// `reduce` of every plane of `src` into the same plane of `dst`, planes over the cores.
    func forEachPlane<R: WindowReduction>(_: R.Type, _ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>) {
        parallelFor(planes) { _, i in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: marginCount) { v in
                reduce(R.self, src + i * plane, into: dst + i * plane, v: v.baseAddress!)
            }
        }
    }
}

/// How `SameWindows` reduces a window: sums (average pools) or maxima (max pools' values).
private protocol WindowReduction {
    static var identity: Float { get }
    static func combine(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float>
    static func combine(_ a: Float, _ b: Float) -> Float
}
private enum WindowSum: WindowReduction {
    static var identity: Float { 0 }
    @inline(__always) static func combine(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> { a + b }
    @inline(__always) static func combine(_ a: Float, _ b: Float) -> Float { a + b }
}
private enum WindowMax: WindowReduction {
    static var identity: Float { -.infinity }
    @inline(__always) static func combine(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> { larger(a, b) }
    @inline(__always) static func combine(_ a: Float, _ b: Float) -> Float { b > a ? b : a }
}

/// The lanes of b larger than a's replace them (a's first largest, as the naive window loop keeps).
@inline(__always) private func larger(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> { a.replacing(with: b, where: b .> a) }

/// 1 / the average pool's divisor for every output position (`windowCount`'s row count times its
/// column count).
private func reciprocalDivisors(_ g: ConvGeometry, countIncludePad: Bool) -> [Float] {
    let rows = (0..<g.outH).map {
        windowCount(start: $0 * g.strideH - g.padTop, k: g.kH, pad: g.padTop, padEnd: g.padBottom, n: g.inH, includePad: countIncludePad)
    }
    let cols = (0..<g.outW).map {
        windowCount(start: $0 * g.strideW - g.padLeft, k: g.kW, pad: g.padLeft, padEnd: g.padRight, n: g.inW, includePad: countIncludePad)
    }
    return rows.flatMap { r in cols.map { 1 / max(r * $0, 1) } }
}

/// dst[i] = a[i] · b[i]
@inline(__always) private func multiply(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    while i + 8 <= count { store8(load8(a + i) * load8(b + i), dst + i); i += 8 }
    while i < count { dst[i] = a[i] * b[i]; i += 1 }
}

/// Along one axis, the taps of a window starting at `start` that an average pool's divisor counts
/// (the divisor is the row count times the column count): those inside the input, or with
/// `includePad` those inside input + explicit padding (not ceil mode's phantom taps past it).
private func windowCount(start: Int, k: Int, pad: Int, padEnd: Int, n: Int, includePad: Bool) -> Float {
    let end = start + k
    return Float(includePad ? min(end, n + padEnd) - max(start, -pad) : max(0, min(end, n) - max(start, 0)))
}

/// `body(i)` for 8-wide vectors i..<i+8 covering 0..<n, the last one overlapping the one before
/// (for bodies that may run twice on the same values); returns how many it covered (0 when n < 8).
@inline(__always) private func eights(_ n: Int, _ body: (_ i: Int) -> Void) -> Int {
    if n < 8 { return 0 }
    var i = 0
    while i + 8 <= n { body(i); i += 8 }
    if i < n { body(n - 8) }
    return n
}

@inline(__always) private func loadInt8(_ p: UnsafePointer<Int32>) -> SIMD8<Int32> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Int32>.self)
}
@inline(__always) private func storeInt8(_ v: SIMD8<Int32>, _ p: UnsafeMutablePointer<Int32>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Int32>.self)
}
/// 8 Int32 taps, `stride` (1 or 2) apart, from `p`.
@inline(__always) private func tapsInt8(_ p: UnsafePointer<Int32>, stride: Int) -> SIMD8<Int32> {
    stride == 1 ? loadInt8(p) : UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Int32>.self).evenHalf
}

/// Window by window, the oracle for `maxPool`.
func maxPoolNaive(_ g: ConvGeometry, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>) {
    for p in 0..<g.batch * g.inC {
        for oy in 0..<g.outH {
            for ox in 0..<g.outW { maxWindow(g, x + p * g.inPlane, oy, ox, y + p * g.outPlane, argmax + p * g.outPlane) }
        }
    }
}

func maxPoolBackward(_ g: ConvGeometry, dy: UnsafePointer<Float>, argmax: UnsafePointer<Int32>, dx: UnsafeMutablePointer<Float>) {
    parallelFor(g.batch * g.inC) { _, p in
        let d = dy + p * g.outPlane, arg = argmax + p * g.outPlane, dst = dx + p * g.inPlane
        for i in 0..<g.outPlane where arg[i] >= 0 { dst[Int(arg[i])] += d[i] }
    }
}

/// Window bounds clipped to the input, and the divisor for that window.
@inline(__always)
private func avgWindow(_ g: ConvGeometry, _ oy: Int, _ ox: Int, includePad: Bool) -> (y0: Int, y1: Int, x0: Int, x1: Int, div: Float) {
    let sy = oy * g.strideH - g.padTop, sx = ox * g.strideW - g.padLeft
    let ey = sy + g.kH, ex = sx + g.kW
    let y0 = max(sy, 0), y1 = min(ey, g.inH), x0 = max(sx, 0), x1 = min(ex, g.inW)
    let div: Int
    if includePad {
        // Count padding taps, but not the phantom taps past the padding that ceil mode adds.
        div = (min(ey, g.inH + g.padBottom) - max(sy, -g.padTop)) * (min(ex, g.inW + g.padRight) - max(sx, -g.padLeft))
    } else {
        div = (y1 - y0) * (x1 - x0)
    }
    return (y0, y1, x0, x1, Float(max(div, 1)))
}

func averagePool(_ g: ConvGeometry, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, countIncludePad: Bool) {
    if g.dilH != 1 || g.dilW != 1 {
        averagePoolNaive(g, x: x, y: y, countIncludePad: countIncludePad)
        return
    }
    let rows = PoolRows(g), counts = rows.columnCounts(countIncludePad: countIncludePad)
    counts.withUnsafeBufferPointer { counts in
        parallelFor(g.batch * g.inC) { _, p in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: rows.width) { vb in
                rows.averagePlane(
                    x + p * g.inPlane, y + p * g.outPlane, v: vb.baseAddress!, columnCounts: counts.baseAddress!,
                    countIncludePad: countIncludePad)
            }
        }
    }
}

/// The tap sums of the 8 windows of output row oy from column ox (window rows `rows`; every column
/// inside the input).
@inline(__always)
private func windowSums8(_ g: ConvGeometry, _ src: UnsafePointer<Float>, _ oy: Int, rows: Range<Int>, _ ox: Int) -> SIMD8<Float> {
    var sum = SIMD8<Float>(repeating: 0)
    for ky in rows {
        let row = src + (oy * g.strideH - g.padTop + ky) * g.inW + ox * g.strideW - g.padLeft
        for kx in 0..<g.kW { sum += taps8(row + kx, stride: g.strideW) }
    }
    return sum
}

/// The sum of one window's taps inside the input.
@inline(__always)
private func windowSum(_ g: ConvGeometry, _ src: UnsafePointer<Float>, _ oy: Int, _ ox: Int) -> Float {
    let w = avgWindow(g, oy, ox, includePad: false)
    var s: Float = 0
    for iy in w.y0..<max(w.y1, w.y0) { for ix in w.x0..<max(w.x1, w.x0) { s += src[iy * g.inW + ix] } }
    return s
}

@inline(__always)
private func averageWindow(
    _ g: ConvGeometry, _ src: UnsafePointer<Float>, _ oy: Int, _ ox: Int, _ dst: UnsafeMutablePointer<Float>,
    _ countIncludePad: Bool
) {
    dst[oy * g.outW + ox] = windowSum(g, src, oy, ox) / avgWindow(g, oy, ox, includePad: countIncludePad).div
}

/// The input gradient (the same contributions as `averagePoolBackwardNaive`, added in another order).
/// At stride 1 with the pads inside the window, as a gather (`averagePoolBackwardGather`); else by
/// scattering each dy/div over its window.
func averagePoolBackward(_ g: ConvGeometry, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, countIncludePad: Bool) {
    if let same = SameWindows(g) {
        // dx += the box sums of dy / div over the windows holding each position.
        let holding = same.transposed, n = same.plane
        reciprocalDivisors(g, countIncludePad: countIncludePad).withUnsafeBufferPointer { r in
            parallelFor(same.planes) { _, i in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * n + holding.marginCount) { b in
                    let q = b.baseAddress!, sums = q + n, d = dx + i * n
                    multiply(dy + i * n, r.baseAddress!, into: q, count: n)
                    holding.reduce(WindowSum.self, q, into: sums, v: sums + n)
                    var j = 0
                    while j + 8 <= n { store8(load8(d + j) + load8(sums + j), d + j); j += 8 }
                    while j < n { d[j] += sums[j]; j += 1 }
                }
            }
        }
        return
    }
    if g.strideH == 1 && g.strideW == 1 && g.dilH == 1 && g.dilW == 1 && max(g.padTop, g.padBottom) < g.kH
        && max(g.padLeft, g.padRight) < g.kW
    {
        averagePoolBackwardGather(g, dy: dy, dx: dx, countIncludePad: countIncludePad)
        return
    }
    parallelFor(g.batch * g.inC) { _, p in
        let d = dy + p * g.outPlane, dst = dx + p * g.inPlane
        forEachPoolRow(
            g, window: { averageWindowBackward(g, d, $0, $1, dst, countIncludePad) },
            interior: { oy, rows, start, end in
                let div = avgWindow(g, oy, start, includePad: countIncludePad).div
                var ox = start
                while ox + 8 <= end {
                    let v = UnsafeRawPointer(d + oy * g.outW + ox).loadUnaligned(as: SIMD8<Float>.self) / div
                    for ky in rows {
                        let row = dst + (oy * g.strideH - g.padTop + ky) * g.inW + ox - g.padLeft
                        for kx in 0..<g.kW {
                            let q = UnsafeMutableRawPointer(row + kx)
                            q.storeBytes(of: q.loadUnaligned(as: SIMD8<Float>.self) + v, as: SIMD8<Float>.self)
                        }
                    }
                    ox += 8
                }
                return ox
            })
    }
}

/// Stride 1: dx(iy, ix) is the sum of dy/div over the windows holding (iy, ix), which is a box sum
/// of the plane dy/div, so the pool's own row loop runs on the transposed geometry (dy's plane in,
/// dx's out, pads k − 1 − pad) and adds 8 sums at a time. The scatter it replaces read and wrote
/// overlapping vectors kh·kw times per 8 outputs and stalled on store forwarding: InceptionV3 to
/// mixed5 at 1280x720, AveragePool backward 51.4 ms a step against 12.8 ms forward.
/// div(oy, ox) is a row count times a column count (`avgWindow`), so dy/div is one vector division.
private func averagePoolBackwardGather(
    _ g: ConvGeometry, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, countIncludePad: Bool
) {
    var t = g
    (t.inH, t.inW, t.outH, t.outW) = (g.outH, g.outW, g.inH, g.inW)
    (t.padTop, t.padLeft) = (g.kH - 1 - g.padTop, g.kW - 1 - g.padLeft)
    (t.padBottom, t.padRight) = (g.kH - 1 - g.padBottom, g.kW - 1 - g.padRight)
    let rowCount = (0..<g.outH).map {
        windowCount(start: $0 - g.padTop, k: g.kH, pad: g.padTop, padEnd: g.padBottom, n: g.inH, includePad: countIncludePad)
    }
    let colCount = (0..<g.outW).map {
        windowCount(start: $0 - g.padLeft, k: g.kW, pad: g.padLeft, padEnd: g.padRight, n: g.inW, includePad: countIncludePad)
    }
    parallelFor(g.batch * g.inC) { _, p in
        let d = dy + p * g.outPlane, dst = dx + p * g.inPlane
        withUnsafeTemporaryAllocation(of: Float.self, capacity: g.outPlane) { buffer in
            let q = buffer.baseAddress!
            for oy in 0..<g.outH {
                let row = oy * g.outW, h = SIMD8<Float>(repeating: rowCount[oy])
                var ox = 0
                colCount.withUnsafeBufferPointer { cols in
                    while ox + 8 <= g.outW {
                        let n = h * load8(cols.baseAddress! + ox), div = n.replacing(with: 1, where: n .< 1)
                        store8(load8(d + row + ox) / div, q + row + ox)
                        ox += 8
                    }
                }
                while ox < g.outW { q[row + ox] = d[row + ox] / max(rowCount[oy] * colCount[ox], 1); ox += 1 }
            }
            forEachPoolRow(
                t,
                window: { iy, ix in dst[iy * t.outW + ix] += windowSum(t, q, iy, ix) },
                interior: { iy, rows, start, end in
                    var ix = start
                    while ix + 8 <= end {
                        store8(load8(dst + iy * t.outW + ix) + windowSums8(t, q, iy, rows: rows, ix), dst + iy * t.outW + ix)
                        ix += 8
                    }
                    return ix
                })
        }
    }
}

@inline(__always)
private func averageWindowBackward(
    _ g: ConvGeometry, _ d: UnsafePointer<Float>, _ oy: Int, _ ox: Int, _ dst: UnsafeMutablePointer<Float>,
    _ countIncludePad: Bool
) {
    let w = avgWindow(g, oy, ox, includePad: countIncludePad)
    let v = d[oy * g.outW + ox] / w.div
    for iy in w.y0..<max(w.y1, w.y0) { for ix in w.x0..<max(w.x1, w.x0) { dst[iy * g.inW + ix] += v } }
}

/// Window by window, the oracles for `averagePool` and `averagePoolBackward`.
func averagePoolNaive(_ g: ConvGeometry, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, countIncludePad: Bool) {
    for p in 0..<g.batch * g.inC {
        for oy in 0..<g.outH {
            for ox in 0..<g.outW { averageWindow(g, x + p * g.inPlane, oy, ox, y + p * g.outPlane, countIncludePad) }
        }
    }
}

func averagePoolBackwardNaive(_ g: ConvGeometry, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, countIncludePad: Bool) {
    for p in 0..<g.batch * g.inC {
        for oy in 0..<g.outH {
            for ox in 0..<g.outW { averageWindowBackward(g, dy + p * g.outPlane, oy, ox, dx + p * g.inPlane, countIncludePad) }
        }
    }
}

/// planes = N·C, plane = H·W (any trailing spatial dims).
func globalAveragePool(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, planes: Int, plane: Int) {
    parallelFor(planes) { _, p in
        var s: Float = 0
        let src = x + p * plane
        for i in 0..<plane { s += src[i] }
        y[p] = s / Float(plane)
    }
}

func globalAveragePoolBackward(dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, planes: Int, plane: Int) {
    parallelFor(planes) { _, p in
        let v = dy[p] / Float(plane), dst = dx + p * plane
        for i in 0..<plane { dst[i] += v }
    }
}
