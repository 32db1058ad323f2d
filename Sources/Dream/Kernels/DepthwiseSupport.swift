/// Shared by the depthwise forward and backward kernels (and the fused inverted-residual block):
/// the phase-split padded rows, the row ring, SIMD8 loads/stores/FMA, short-row fills and copies,
/// and the task split over planes.

/// Phase-split padded plane: `rows` rows of `strideW` phases, each `phaseWidth` long (+8 slack so a
/// SIMD8 load at the last output stays inside).
struct PhasePlane {
    let rows: Int, phases: Int, phaseWidth: Int
    init(_ g: ConvGeometry) {
        rows = g.inH + g.padTop + g.padBottom
        phases = g.strideW
        phaseWidth = (g.inW + g.padLeft + g.padRight + g.strideW - 1) / g.strideW + 8
    }
    var rowLength: Int { phases * phaseWidth }
    var count: Int { rows * rowLength }
    /// Offset of padded column `c` within a row. Strides 1 and 2 without an integer division: at
    /// ~25 cycles each, two per column made the scalar edges of a 14-wide plane cost more than its taps.
    @inline(__always) func column(_ c: Int) -> Int {
        switch phases {
        case 1: return c
        case 2: return (c & 1) * phaseWidth + c >> 1
        default: return (c % phases) * phaseWidth + c / phases
        }
    }

    /// Writes `count` values into padded columns padLeft..<padLeft+count of a row (no divisions);
    /// the general case behind the ring's 1- and 2-phase fills.
    @inline(__always) func scatterRow(_ from: UnsafePointer<Float>, count: Int, padLeft: Int, into row: UnsafeMutablePointer<Float>) {
        for q in 0..<phases {
            // Columns c ≡ q (mod phases), c in [padLeft, padLeft + count).
            var c = padLeft + ((q - padLeft % phases) + phases) % phases
            var dst = row + q * phaseWidth + c / phases
            while c < padLeft + count { dst.pointee = from[c - padLeft]; dst += 1; c += phases }
        }
    }
}

@inline(__always) func powerOfTwo(atLeast n: Int) -> Int { var p = 1; while p < n { p <<= 1 }; return p }

@inline(__always) func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

/// Lane indices 0...7, for masking the lanes of an overlapping last vector.
let lanes = SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7)

@inline(__always) func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}

/// a + b·c: one fused multiply-add when compiled with FMA (Package.swift), else mul + add
/// (`addingProduct` without FMA hardware is a libm call per lane).
@inline(__always) func fma8(_ a: SIMD8<Float>, _ b: SIMD8<Float>, _ c: SIMD8<Float>) -> SIMD8<Float> {
    #if REVERIE_FMA
        return a.addingProduct(b, c)
    #else
        return a + b * c
    #endif
}

/// A ring of padded input rows for one plane: padded row r lives in slot r & (slots − 1), split by column
/// phase like `PhasePlane`. Rows are filled in increasing order as the output rows advance, so each
/// input row is read from memory once and the kh·kw taps then read it from L1 (a whole padded
/// plane, ~1 MB at 640x360, does not stay in L2 between the copy and the taps).
struct RowRing {
    let slots: Int, layout: PhasePlane
    init(_ g: ConvGeometry) {
        layout = PhasePlane(g)
        slots = powerOfTwo(atLeast: RowRing.span(g))
    }
    /// Padded rows a block of `depthwiseRowBlock` output rows reads.
    static func span(_ g: ConvGeometry) -> Int { (depthwiseRowBlock - 1) * g.strideH + (g.kH - 1) * g.dilH + 1 }
    var count: Int { slots * layout.rowLength }
    @inline(__always) func row(_ ring: UnsafeMutablePointer<Float>, _ r: Int) -> UnsafeMutablePointer<Float> {
        ring + (r & (slots - 1)) * layout.rowLength
    }

    /// Writes padded row r (input row r − padTop, zeros outside the input) into its slot. Only the
    /// columns that hold input are written: the padding columns keep the zeros the ring got when the
    /// task started (`zeroFloats(ring, count)`), so short rows cost a copy and no zero fill.
    @inline(__always) func fill(_ ring: UnsafeMutablePointer<Float>, _ r: Int, plane src: UnsafePointer<Float>, _ g: ConvGeometry) {
        let row = self.row(ring, r), iy = r - g.padTop, n = layout.rowLength
        let inside = iy >= 0 && iy < g.inH, from = src + iy * g.inW
        switch layout.phases {
        case 1:
            if inside { copyFloats(from, row + g.padLeft, g.inW) } else { zeroFloats(row + g.padLeft, g.inW) }
        case 2:
            // Input column 2j goes to phase padLeft % 2 at padLeft/2 + j, 2j+1 to the other phase at
            // (padLeft+1)/2 + j: one 16-float load, evenHalf/oddHalf (two shuffles each) per 16 inputs.
            let w = layout.phaseWidth
            let even = row + (g.padLeft % 2) * w + g.padLeft / 2, odd = row + ((g.padLeft + 1) % 2) * w + (g.padLeft + 1) / 2
            guard inside else { zeroFloats(even, (g.inW + 1) / 2); zeroFloats(odd, g.inW / 2); return }
            var j = 0
            while 2 * j + 16 <= g.inW {
                let v = UnsafeRawPointer(from + 2 * j).loadUnaligned(as: SIMD16<Float>.self)
                store8(v.evenHalf, even + j); store8(v.oddHalf, odd + j)
                j += 8
            }
            while 2 * j < g.inW {
                even[j] = from[2 * j]
                if 2 * j + 1 < g.inW { odd[j] = from[2 * j + 1] }
                j += 1
            }
        default:
            row.update(repeating: 0, count: n)
            if inside { layout.scatterRow(from, count: g.inW, padLeft: g.padLeft, into: row) }
        }
    }
}

/// Inline zero fill and copy: rows here are short (a 14-wide plane's rows are 14 floats), where a
/// memset/memcpy call per row costs more than the row's taps.
/// From 8 floats on, the last vector overlaps the previous one instead of a scalar tail.
@inline(__always) func zeroFloats(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
    guard n >= 8 else { for i in 0..<max(n, 0) { p[i] = 0 }; return }
    var i = 0
    while i + 8 <= n { store8(SIMD8<Float>(), p + i); i += 8 }
    if i < n { store8(SIMD8<Float>(), p + n - 8) }
}

@inline(__always) func copyFloats(_ from: UnsafePointer<Float>, _ to: UnsafeMutablePointer<Float>, _ n: Int) {
    guard n >= 8 else { for i in 0..<max(n, 0) { to[i] = from[i] }; return }
    var i = 0
    while i + 8 <= n { store8(load8(from + i), to + i); i += 8 }
    if i < n { store8(load8(from + n - 8), to + n - 8) }
}

/// Slot pointers of padded rows first, first + d, …, first + (k−1)·d in a ring of `slots` rows
/// (a power of two: no integer division per row, which costs more than a narrow row's taps).
@inline(__always) func ringRows(
    _ rows: UnsafeMutableBufferPointer<UnsafePointer<Float>>, _ ring: UnsafeMutablePointer<Float>,
    first: Int, step: Int, count: Int, slots: Int, length: Int
) {
    for k in 0..<count { rows[k] = UnsafePointer(ring + ((first + k * step) & (slots - 1)) * length) }
}

/// The leftover vectors of a block of rows, in order: rows 0..<rows, 8-wide vectors from column
/// `from`, the last of a row moved back to end at `width` (`overlap`: its first lanes, which the
/// previous vector already covered). The forward and backward kernels take them four at a time.
struct LeftoverVectors {
    let rows: Int, from: Int, width: Int, vectors: Int
    private var r = 0, v = 0
    init(rows: Int, from: Int, width: Int) {
        self.rows = rows; self.from = from; self.width = width
        vectors = (width - from + 7) / 8
    }
    var remaining: Int { (rows - r) * vectors - v }
    @inline(__always) mutating func next() -> (row: Int, col: Int, overlap: Int) {
        let nominal = from + 8 * v, col = min(nominal, width - 8), item = (r, col, nominal - col)
        v += 1
        if v == vectors { v = 0; r += 1 }
        return item
    }
}
