/// One 256-colour palette for a whole GIF animation, built from the colours of all its frames:
/// exact colours when there are at most 256, otherwise variance-minimising median cut over a
/// 32768-bin histogram refined by a few k-means (Lloyd) passes. Colours are (r, g, b) bytes.
struct GIFPalette {
    var colours: [(r: UInt8, g: UInt8, b: UInt8)]

    /// Samples spread evenly over every frame; 2M keeps building fast yet sees every region of every frame.
    static let sampleBudget = 2_000_000
    /// Lloyd passes after median cut; the error stops falling noticeably after about three.
    static let refinementPasses = 4

    init(colours: [(r: UInt8, g: UInt8, b: UInt8)]) { self.colours = colours }

    /// frames: RGB24 pictures (any sizes); result: 1...maxColours colours.
    init(frames: [RGBImage], maxColours: Int = 256) {
        let total = frames.reduce(0) { $0 + $1.width * $1.height }
        let stride = max(1, total / GIFPalette.sampleBudget)
        var histogram = Histogram()
        var exact = Set<UInt32>()
        var exactFits = true
        var position = 0
        for frame in frames {
            frame.pixels.withUnsafeBufferPointer { p in
                let n = frame.width * frame.height
                // Continue the stride across frames so small frames still contribute samples.
                var i = (stride - position % stride) % stride
                while i < n {
                    let r = p[3 * i], g = p[3 * i + 1], b = p[3 * i + 2]
                    histogram.add(r, g, b)
                    if exactFits {
                        exact.insert(UInt32(r) << 16 | UInt32(g) << 8 | UInt32(b))
                        if exact.count > maxColours { exactFits = false; exact.removeAll() }
                    }
                    i += stride
                }
                position += n
            }
        }
        if exactFits && !exact.isEmpty {
            colours = exact.sorted().map { (UInt8($0 >> 16), UInt8(($0 >> 8) & 255), UInt8($0 & 255)) }
            return
        }
        let bins = histogram.bins()
        guard !bins.isEmpty else {
            colours = [(0, 0, 0)]
            return
        }
        var centres = GIFPalette.medianCut(bins, maxColours: maxColours)
        for _ in 0..<GIFPalette.refinementPasses { centres = GIFPalette.lloyd(bins, centres) }
        colours = centres.map { c in (GIFPalette.byte(c.0), GIFPalette.byte(c.1), GIFPalette.byte(c.2)) }
    }

    /// 256 entries as AVFrame data[1] wants them (0xAARRGGBB, opaque); unused entries are black.
    var argb: [UInt32] {
        var out = colours.map { 0xFF00_0000 | UInt32($0.r) << 16 | UInt32($0.g) << 8 | UInt32($0.b) }
        while out.count < 256 { out.append(0xFF00_0000) }
        return out
    }

    private static func byte(_ v: Double) -> UInt8 { UInt8(max(0, min(255, v.rounded()))) }

    // MARK: Histogram

    /// A non-empty histogram cell: how many samples fell in it and their mean colour.
    struct Bin {
        var weight: Double
        var mean: (Double, Double, Double)
        func axis(_ a: Int) -> Double { a == 0 ? mean.0 : a == 1 ? mean.1 : mean.2 }
    }

    /// 5 bits per channel; each cell keeps the sum of its colours, so bin means are exact averages.
    struct Histogram {
        var count = [Int](repeating: 0, count: 32768)
        var sums = [Int](repeating: 0, count: 32768 * 3)

        mutating func add(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
            let cell = Int(r >> 3) << 10 | Int(g >> 3) << 5 | Int(b >> 3)
            count[cell] += 1
            sums[3 * cell] += Int(r); sums[3 * cell + 1] += Int(g); sums[3 * cell + 2] += Int(b)
        }

        func bins() -> [Bin] {
            var out: [Bin] = []
            for cell in 0..<32768 where count[cell] > 0 {
                let n = Double(count[cell])
                out.append(Bin(weight: n, mean: (Double(sums[3 * cell]) / n, Double(sums[3 * cell + 1]) / n, Double(sums[3 * cell + 2]) / n)))
            }
            return out
        }
    }

    // MARK: Median cut

    /// Weighted sums of a set of bins, enough for its centroid and squared error.
    struct Moments {
        var w = 0.0, s = (0.0, 0.0, 0.0), q = 0.0
        mutating func add(_ b: Bin) {
            w += b.weight
            s.0 += b.weight * b.mean.0; s.1 += b.weight * b.mean.1; s.2 += b.weight * b.mean.2
            q += b.weight * (b.mean.0 * b.mean.0 + b.mean.1 * b.mean.1 + b.mean.2 * b.mean.2)
        }
        mutating func remove(_ b: Bin) {
            w -= b.weight
            s.0 -= b.weight * b.mean.0; s.1 -= b.weight * b.mean.1; s.2 -= b.weight * b.mean.2
            q -= b.weight * (b.mean.0 * b.mean.0 + b.mean.1 * b.mean.1 + b.mean.2 * b.mean.2)
        }
        /// Sum of weighted squared distances to the centroid.
        var error: Double { w > 0 ? max(0, q - (s.0 * s.0 + s.1 * s.1 + s.2 * s.2) / w) : 0 }
        var centroid: (Double, Double, Double) { (s.0 / w, s.1 / w, s.2 / w) }
    }

    /// Repeatedly splits the box with the largest squared error where the split lowers it most
    /// (trying each axis), until `maxColours` boxes; returns their centroids.
    static func medianCut(_ bins: [Bin], maxColours: Int) -> [(Double, Double, Double)] {
        var all = Moments()
        for b in bins { all.add(b) }
        var boxes: [(bins: [Bin], moments: Moments)] = [(bins, all)]
        while boxes.count < maxColours {
            guard let worst = boxes.indices.filter({ boxes[$0].bins.count > 1 }).max(by: { boxes[$0].moments.error < boxes[$1].moments.error }),
                boxes[worst].moments.error > 0
            else { break }
            let box = boxes[worst]
            var best: (error: Double, axis: Int, cut: Int) = (.infinity, 0, 1)
            for axis in 0..<3 {
                let sorted = box.bins.sorted { $0.axis(axis) < $1.axis(axis) }
                var left = Moments(), right = box.moments
                for k in 1..<sorted.count {
                    left.add(sorted[k - 1]); right.remove(sorted[k - 1])
                    let e = left.error + right.error
                    if e < best.error { best = (e, axis, k) }
                }
            }
            let sorted = box.bins.sorted { $0.axis(best.axis) < $1.axis(best.axis) }
            let lower = Array(sorted[..<best.cut]), upper = Array(sorted[best.cut...])
            var lm = Moments(), um = Moments()
            for b in lower { lm.add(b) }
            for b in upper { um.add(b) }
            boxes[worst] = (lower, lm)
            boxes.append((upper, um))
        }
        return boxes.map { $0.moments.centroid }
    }

    /// One k-means pass: each bin joins its nearest centre, centres move to their members' mean.
    static func lloyd(_ bins: [Bin], _ centres: [(Double, Double, Double)]) -> [(Double, Double, Double)] {
        var sums = [Moments](repeating: Moments(), count: centres.count)
        for b in bins {
            var bestIndex = 0, bestDistance = Double.infinity
            for (j, c) in centres.enumerated() {
                let dr = b.mean.0 - c.0, dg = b.mean.1 - c.1, db = b.mean.2 - c.2
                let d = dr * dr + dg * dg + db * db
                if d < bestDistance { bestDistance = d; bestIndex = j }
            }
            sums[bestIndex].add(b)
        }
        // A centre that lost all its members stays where it was.
        return centres.indices.map { sums[$0].w > 0 ? sums[$0].centroid : centres[$0] }
    }
}
