import ConvAVX512
import Foundation

/// Direct convolution for dense convs on AVX-512 CPUs, without im2col: stride-1 kxk convs (3x3, 5x5,
/// 1x7, 7x1, ...) and 1x1 convs, forward and input gradient, and the forward of stride-2 kxk convs:
/// the classic networks' inception branches, reductions and stems.
///
/// The input is copied once into a zero-padded image, each channel one flat row of Hp·Wp floats
/// (Wp = W + max(padLeft, padRight): one row's right pad is the next one's left pad). Output
/// position (oy, ox) is flat position p = oy·Wp + ox, and tap (ky, kx) reads padded flat position
/// p + ky·Wp + kx, so over flat positions the conv is a sum of
/// shifted rows: the register tile (`directConvTiles`, Sources/ConvAVX512) computes 8 output
/// channels × 48 consecutive positions at a time. Positions with ox ≥ outW (the pad columns) are
/// computed and dropped. Work items are (8 output channels, a run of flat positions), taken by the
/// cores as they are free; each item writes its outputs (bias, fused clip) from a per-core scratch.
///
/// Large images pad band by band instead, each core its own band in L2 (`Pass.bandLocal`). A
/// stride-2 conv splits the padded image into 4 phase planes, where the taps are again shifted rows.
/// A 1x1 conv needs no padding: the tile runs over the plane in place (`Pointwise`).
///
/// The input gradient of a stride-1 conv is the same sum over dy padded by k − 1 − pad on each side,
/// with weights transposed (output ↔ input channels) and flipped (ky, kx → k−1−ky, k−1−kx); it adds
/// into dx.
///
/// Why: im2col + sgemm ran these convs at 120–250 GFLOP/s on a 2-core AVX-512 Intel machine (the
/// copy is as large as the sgemm work when a conv has few channels), where onnxruntime's direct
/// kernels reach ~290. The tile alone ran at 145–170 GFLOP/s on one core (3x3 and 5x5, 32–192
/// channels). On a 2-core Zen 5 the kxk convs run at 360–480 GFLOP/s; OpenBLAS's 1x1 sgemms there
/// ran at 140–230, the tile over the plane at about twice that.
enum DirectConv {
    /// Whether the CPU runs the AVX-512 tile; `REVERIE_DIRECT_CONV=0` turns the path off (A/B runs).
    static let available: Bool = {
        #if arch(x86_64)
            if ProcessInfo.processInfo.environment["REVERIE_DIRECT_CONV"] == "0" { return false }
            return BLASThreads.cpuFlags()?.contains("avx512f") ?? false
        #else
            return false
        #endif
    }()

    /// Whether `direct` weights should be packed for a conv: dense, undilated, on a CPU that runs the
    /// tile; stride 1 (kxk or 1x1), or a kxk of stride 2 (forward by phase planes). The padding is
    /// known only with the input size (a padded 1x1 keeps im2col).
    /// Measured per conv, release, against im2col + sgemm (OpenBLAS), on a 2-core AMD EPYC (Zen 5)
    /// with AVX-512: InceptionV3's 1x1 convs, all of them, 63–67 → 35.5 ms at 1280x720 (1.6–1.9 ms
    /// against 3.2–3.3 at 224); the stride-2 288→384 29.1 → 22.3 ms at 1280x720, 8.0 → 4.4 ms at
    /// 512x512, 1.40 → 0.91 ms at 224; the 3x3 3→32 stem alike (4.2 ms). On an earlier Intel
    /// machine with 384-position items the stride-2 288→384 had gone 25 → 47 ms.
    static func suits(kernel: (h: Int, w: Int), strides: (h: Int, w: Int), dilations: (h: Int, w: Int), groups: Int) -> Bool {
        let pointwise = kernel.h * kernel.w == 1
        return available && groups == 1 && (strides == (1, 1) || (strides == (2, 2) && !pointwise)) && dilations == (1, 1)
    }

    /// Whether the forward of geometry `g` runs direct.
    static func runsForward(_ g: ConvGeometry) -> Bool {
        (g.kH * g.kW > 1 || g.isPointwise)
            && suits(
                kernel: (g.kH, g.kW), strides: (g.strideH, g.strideW), dilations: (g.dilH, g.dilW), groups: g.groups)
    }

    /// Whether the input gradient of `g` runs direct: stride 1, and no pad reaching past the kernel
    /// (it pads dy by k − 1 − pad). Stride 2 keeps im2col's col2im.
    static func runsBackward(_ g: ConvGeometry) -> Bool {
        runsForward(g) && g.strideH == 1 && max(g.padTop, g.padBottom) < g.kH && max(g.padLeft, g.padRight) < g.kW
    }

    /// Whether a conv with packed weights `direct` runs its forward (or input gradient) here: the
    /// one test that conv2d, conv2dBackward and the profiler share.
    static func runs(_ g: ConvGeometry, _ direct: DirectConvWeights?, backward: Bool) -> Bool {
        guard let direct else { return false }
        return backward ? direct.backward != nil && runsBackward(g) : runsForward(g)
    }

    /// Flat positions an item aims for: enough that the item's loop pays for its hand-over, few
    /// enough that a small plane still makes several items per core.
    static let itemPositions = 384
    /// Stride 2 reads 4 phase planes per channel: smaller items keep an item's input rows in L2.
    /// InceptionV3's 288→384 (im2col + sgemm: 29.1 ms at 1280x720, 8.0 at 512x512, 1.40 at 224),
    /// by item positions 96 / 160 / 384: 24.2 / 22.6–23.8 / 26.1 ms at 1280x720, 5.0–5.2 /
    /// 5.3–6.1 / 5.1–8.5 ms at 512x512 (noisy), 0.95 / 0.82 / 0.80–0.86 ms at 224 (measured on Zen 5
    /// when items were whole rows, as many as fit in these positions).
    static let stride2ItemPositions = 160
    /// Input bytes an item's channel chunk may read (`Pass.channelChunk`). VGG16 to block4_conv3 at
    /// 224x224, forward: 65–67 ms (256 KB), 65–66 (512 KB), 71.5–72 (no chunks); InceptionV3's
    /// stride-2 288→384 at 1280x720 17.5–18.5 / 17.7–19.7 / 20.7–21.2 ms.
    static let chunkBytes = 256 << 10

    /// Whether the forward and the input gradient of `g` pad band by band (`Pass.bandLocal`).
    static func padsByBands(_ g: ConvGeometry) -> (forward: Bool, backward: Bool) {
        if g.isPointwise { return (false, false) }
        return (runsForward(g) && Pass(forward: g).bandLocal, runsBackward(g) && Pass(backward: g).bandLocal)
    }

    /// Whether the forward of `g` sweeps its input channels in chunks (`Pass.channelChunk`; tests).
    static func sweepsChannelsInChunks(_ g: ConvGeometry) -> Bool {
        guard runsForward(g) && !g.isPointwise else { return false }
        let p = Pass(forward: g)
        return !p.bandLocal && p.channelChunk < p.channels
    }

    /// Floats of scratch a forward or input gradient of `g` needs (0 when neither runs direct).
    static func scratchCount(_ g: ConvGeometry) -> Int {
        if g.isPointwise {
            guard runsForward(g) else { return 0 }
            return max(Pointwise(g).scratchCount, Pointwise(backward: g).scratchCount)
        }
        return max(runsForward(g) ? Pass(forward: g).scratchCount : 0, runsBackward(g) ? Pass(backward: g).scratchCount : 0)
    }
}

/// A conv's weights packed for `directConvTiles`, once per network: forward [O/8][C][taps][8] and
/// input gradient [C/8][O][taps][8] (transposed, taps flipped), output channels padded with zeros
/// to a multiple of 8.
final class DirectConvWeights: @unchecked Sendable {
    let forward: Buffer, backward: Buffer?

    /// `backward`: whether to pack the input gradient's weights (stride 1).
    init(weight: UnsafePointer<Float>, outC: Int, inC: Int, kH: Int, kW: Int, backward: Bool = true) {
        let taps = kH * kW, n = directConvTileChannels
        func pack(rows: Int, cols: Int, at: (_ row: Int, _ col: Int, _ tap: Int) -> Float) -> Buffer {
            let blocks = (rows + n - 1) / n, b = Buffer(count: blocks * cols * taps * n)
            for blk in 0..<blocks {
                for c in 0..<cols {
                    for t in 0..<taps {
                        let dst = b.pointer + ((blk * cols + c) * taps + t) * n
                        for i in 0..<n where blk * n + i < rows { dst[i] = at(blk * n + i, c, t) }
                    }
                }
            }
            return b
        }
        forward = pack(rows: outC, cols: inC) { o, c, t in weight[(o * inC + c) * taps + t] }
        self.backward = backward ? pack(rows: inC, cols: outC) { c, o, t in weight[(o * inC + c) * taps + (taps - 1 - t)] } : nil
    }
}

/// One direct pass: `channels` input planes of inH×inW padded by `pads` into Hp×Wp, `outChannels`
/// output planes of outH×outW (forward: x → y; input gradient: dy → dx).
/// Stride 2 splits each padded plane into its 4 phases (even/odd rows × even/odd columns), each
/// ⌈Hp/2⌉×⌈Wp/2⌉: tap (ky, kx) of output (oy, ox) is phase (ky%2, kx%2) at (oy + ky/2, ox + kx/2), so
/// over flat positions oy·⌈Wp/2⌉ + ox the conv is again a sum of shifted rows.
private struct Pass {
    let channels: Int, inH: Int, inW: Int, outChannels: Int, outH: Int, outW: Int
    let kH: Int, kW: Int, stride: Int, padTop: Int, padLeft: Int
    /// Rows and columns of a (phase) plane; `rowStride` is also the flat stride of output rows.
    let planeH: Int, rowStride: Int

    init(forward g: ConvGeometry) {
        self.init(
            channels: g.inC, inH: g.inH, inW: g.inW, outChannels: g.outC, outH: g.outH, outW: g.outW,
            kH: g.kH, kW: g.kW, stride: g.strideH, padTop: g.padTop, padLeft: g.padLeft, padBottom: g.padBottom,
            padRight: g.padRight)
    }

    init(backward g: ConvGeometry) {
        self.init(
            channels: g.outC, inH: g.outH, inW: g.outW, outChannels: g.inC, outH: g.inH, outW: g.inW,
            kH: g.kH, kW: g.kW, stride: 1, padTop: g.kH - 1 - g.padTop, padLeft: g.kW - 1 - g.padLeft,
            padBottom: g.kH - 1 - g.padBottom, padRight: g.kW - 1 - g.padRight)
    }

    private init(
        channels: Int, inH: Int, inW: Int, outChannels: Int, outH: Int, outW: Int,
        kH: Int, kW: Int, stride: Int, padTop: Int, padLeft: Int, padBottom: Int, padRight: Int
    ) {
        (self.channels, self.inH, self.inW, self.outChannels, self.outH, self.outW) = (channels, inH, inW, outChannels, outH, outW)
        (self.kH, self.kW, self.stride, self.padTop, self.padLeft) = (kH, kW, stride, padTop, padLeft)
        planeH = (inH + padTop + padBottom + stride - 1) / stride
        // Stride 1: a row's right pad and the next row's left pad are the same zeros (a tap past
        // the row's end reads the next row's first min(padLeft, padRight) columns), which drops
        // min(padLeft, padRight) computed-and-dropped columns per row: a 1x7 conv at 12x12, 18 → 15.
        rowStride = stride == 1 ? inW + max(padLeft, padRight) : (inW + padLeft + padRight + stride - 1) / stride
    }

    var phases: Int { stride * stride }
    /// Where tap (ky, kx) reads, from an output position's flat index, within a channel.
    var offsets: [Int] {
        (0..<kH).flatMap { ky in
            (0..<kW).map { kx in
                ((ky % stride) * stride + kx % stride) * planeH * rowStride + (ky / stride) * rowStride + kx / stride
            }
        }
    }
    /// Flat output positions computed (whole rows, pad columns included).
    var positions: Int { outH * rowStride }
    /// Flat positions per item (the last item takes what is left; `itemCapacity`: the floats its
    /// tiles write). Items are runs of flat positions, not whole rows: rows of 158 positions made
    /// items of 2 rows, 316 positions in 7 tiles of 48 (6% computed and dropped). InceptionV3 to
    /// mixed5 forward at 1280x720 on a 2-core Zen 4: 487 → 462 ms (medians of 3 interleaved runs).
    var itemPositions: Int { min(positions, stride == 2 ? DirectConv.stride2ItemPositions : DirectConv.itemPositions) }
    var items: Int { (positions + itemPositions - 1) / itemPositions }
    var itemCapacity: Int {
        let t = directConvTilePositions
        return (itemPositions + t - 1) / t * t
    }
    /// Floats per padded channel: the (phase) planes, then zeros as far as the last tile reads.
    var channelStride: Int {
        (max(phases * planeH * rowStride, offsets.max()! + outH * rowStride + directConvTilePositions) + 15) & ~15
    }
    var blocks: Int { (outChannels + directConvTileChannels - 1) / directConvTileChannels }

    /// Large images (stride 1, padded input beyond the two L2s, 4+ bands per core): each core pads
    /// one band of input rows at a time into its own scratch, ~1 MB, and runs every output channel
    /// over it while it is in its L2. The whole padded copy went to memory and came back once per
    /// band: a 1280x720 InceptionV3 stem pads 30–58 MB.
    var localRows: Int { max(1, (1 << 20) / (4 * channels * rowStride) - (kH - 1)) }
    var bandLocal: Bool {
        stride == 1 && 4 * channels * planeH * rowStride > 4 << 20 && outH >= 4 * Parallel.tasks * localRows
    }
    /// Floats per channel of a local band: its input rows, then zeros as far as its last tile reads.
    var localStride: Int { ((localRows + kH - 1) * rowStride + directConvTilePositions + kW + 15) & ~15 }
    var localCapacity: Int {
        let t = directConvTilePositions
        return (localRows * rowStride + t - 1) / t * t
    }

    /// Input channels per sweep of an item's tiles: all of them, unless an item's input rows (every
    /// phase plane's) pass `DirectConv.chunkBytes`; then equal chunks that fit, each block's sums kept in the item's
    /// scratch between chunks (`accumulate`). InceptionV3's stride-2 288→384 at 1280x720 reads
    /// 1.1 MB of rows per item, beyond a core's L2, once per 8 output channels.
    var channelChunk: Int {
        let perChannel = phases * (itemPositions + ((kH - 1) / stride + 1) * rowStride) * 4
        let limit = DirectConv.chunkBytes
        if channels * perChannel <= limit { return channels }
        let parts = (channels * perChannel + limit - 1) / limit
        return (channels + parts - 1) / parts
    }
    /// Blocks per item when channels go in chunks (an item then sweeps several blocks per chunk).
    var blocksPerItem: Int {
        if channelChunk == channels { return 1 }
        let groups = min(blocks, max(1, (4 * Parallel.tasks + items - 1) / items))
        return (blocks + groups - 1) / groups
    }

    var scratchCount: Int {
        let n = directConvTileChannels
        if bandLocal { return Parallel.tasks * (channels * localStride + n * localCapacity) }
        return channels * channelStride + Parallel.tasks * blocksPerItem * n * itemCapacity
    }

    /// The output values among flat positions p0..<p0+count: `body(i, at, n)` for each run of n
    /// of them inside one output row, the first at flat position p0 + i and at `at` in the plane
    /// (the pad columns, ox ≥ outW, are skipped).
    @inline(__always)
    func forEachRun(_ p0: Int, _ count: Int, _ body: (_ i: Int, _ at: Int, _ n: Int) -> Void) {
        let end = p0 + count
        var oy = p0 / rowStride, ox = p0 - oy * rowStride
        while oy * rowStride + ox < end {
            let p = oy * rowStride + ox
            let n = min(outW - ox, end - p)
            if n > 0 { body(p - p0, oy * outW + ox, n) }
            oy += 1; ox = 0
        }
    }

    /// Stride 1: padded rows `rows` (of Hp) of channel c into `plane`, then zeros up to `count` floats.
    private func padRows(_ src: UnsafePointer<Float>, channel c: Int, _ rows: Range<Int>, into plane: UnsafeMutablePointer<Float>, count: Int) {
        let wp = rowStride, s = src + c * inH * inW
        for (i, pr) in rows.enumerated() {
            let row = plane + i * wp, y = pr - padTop
            guard y >= 0 && y < inH else { row.update(repeating: 0, count: wp); continue }
            row.update(repeating: 0, count: padLeft)
            (row + padLeft).update(from: s + y * inW, count: inW)
            (row + padLeft + inW).update(repeating: 0, count: wp - padLeft - inW)
        }
        (plane + rows.count * wp).update(repeating: 0, count: count - rows.count * wp)
    }

    /// Copies the planes into the padded scratch (zeros around them; stride 2: by phases), channels
    /// over the cores.
    private func pad(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>) {
        let cs = channelStride, wp = rowStride
        parallelFor(channels) { _, c in
            let plane = dst + c * cs, s = src + c * inH * inW
            if stride == 1 { padRows(src, channel: c, 0..<planeH, into: plane, count: cs); return }
            // Phase (a, b) row i, column j = padded (2i + a, 2j + b) = source (2i + a − padTop, 2j + b − padLeft).
            for a in 0..<stride {
                for b in 0..<stride {
                    let phase = plane + (a * stride + b) * planeH * wp
                    let j = validRange(outCount: wp, stride: stride, offset: b - padLeft, n: inW)
                    for i in 0..<planeH {
                        let row = phase + i * wp, y = stride * i + a - padTop
                        guard y >= 0 && y < inH else { row.update(repeating: 0, count: wp); continue }
                        let srow = s + y * inW + b - padLeft
                        row.update(repeating: 0, count: j.lo)
                        for x in j.lo..<j.hi { row[x] = srow[stride * x] }
                        (row + j.hi).update(repeating: 0, count: wp - j.hi)
                    }
                }
            }
            let used = phases * planeH * wp
            (plane + used).update(repeating: 0, count: cs - used)
        }
    }

    /// Runs the tiles over every item; `emit(channel, p0, count, values)` gets each output
    /// channel's computed flat positions p0..<p0+count (at values[p − p0]; see `forEachRun`).
    func run(
        source: UnsafePointer<Float>, weights: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
        emit: (_ channel: Int, _ p0: Int, _ count: Int, _ values: UnsafePointer<Float>) -> Void
    ) {
        let offsets = self.offsets, wp = rowStride, n = directConvTileChannels, blockWeights = channels * kH * kW * n
        if bandLocal {
            let rows = localRows, cs = localStride, cap = localCapacity, perTask = channels * cs + n * cap
            offsets.withUnsafeBufferPointer { offsets in
                parallelFor((outH + rows - 1) / rows) { task, b in
                    let band = (b * rows)..<min(outH, (b + 1) * rows)
                    let padded = scratch + task * perTask, out = padded + channels * cs
                    for c in 0..<channels {
                        padRows(source, channel: c, band.lowerBound..<(band.upperBound + kH - 1), into: padded + c * cs, count: cs)
                    }
                    for blk in 0..<blocks {
                        convTiles(
                            input: padded, channelStride: cs, channels: channels, offsets: offsets.baseAddress!,
                            taps: kH * kW, weights: weights + blk * blockWeights, output: out, outputStride: cap,
                            positions: band.count * wp)
                        for i in 0..<min(n, outChannels - blk * n) {
                            emit(blk * n + i, band.lowerBound * wp, band.count * wp, out + i * cap)
                        }
                    }
                }
            }
            return
        }
        pad(source, into: scratch)
        let padded = UnsafePointer(scratch), work = scratch + channels * channelStride
        let per = itemPositions, cap = itemCapacity, cs = channelStride
        let chunkC = channelChunk, group = blocksPerItem, groups = (blocks + group - 1) / group
        offsets.withUnsafeBufferPointer { offsets in
            parallelFor(groups * items) { task, item in
                // Position-major: the cores sweep the output channels over one run of input rows while
                // it is in their L2 (channel-major reread the whole input per 8 channels: at 1280x720
                // an InceptionV3 stem input is 30 MB).
                let grp = item % groups, p0 = (item / groups) * per
                let out = work + task * group * n * cap
                let positions = min(per, self.positions - p0), taps = kH * kW
                let first = grp * group, last = min(blocks, first + group)
                for c0 in Swift.stride(from: 0, to: channels, by: chunkC) {
                    for blk in first..<last {
                        convTiles(
                            input: padded + c0 * cs + p0, channelStride: cs, channels: min(chunkC, channels - c0),
                            offsets: offsets.baseAddress!, taps: taps, weights: weights + blk * blockWeights + c0 * taps * n,
                            output: out + (blk - first) * n * cap, outputStride: cap, positions: positions, accumulate: c0 > 0)
                    }
                }
                for blk in first..<last {
                    for i in 0..<min(n, outChannels - blk * n) {
                        emit(blk * n + i, p0, positions, out + ((blk - first) * n + i) * cap)
                    }
                }
            }
        }
    }
}

/// A 1x1 conv (stride 1, unpadded) as the tile over the plane itself: its flat positions are the
/// plane's own, so the tile reads the input in place, with no padded copy. Items are chunks of
/// positions (≤ 8 tiles, the chunk's input ≤ 512 KB so it stays in L2 while every 8-channel block
/// runs over it), cut further by blocks when a small plane gives too few chunks. Whole tiles of
/// whole blocks go straight into the destination (`inPlace`): the forward writes y, the gradient
/// adds into dx (`accumulate`, the tile's sums starting from dx). The last partial tile of the
/// plane is first copied, zero-padded, into the core's scratch (the tile reads 48 positions), and
/// its outputs, and those of a partial block, go through the scratch.
private struct Pointwise {
    let channels: Int, outChannels: Int, plane: Int

    init(channels: Int, outChannels: Int, plane: Int) {
        (self.channels, self.outChannels, self.plane) = (channels, outChannels, plane)
    }
    init(_ g: ConvGeometry) { self.init(channels: g.inC, outChannels: g.outC, plane: g.outPlane) }
    /// The input gradient's: dy's channels in, dx's out.
    init(backward g: ConvGeometry) { self.init(channels: g.outC, outChannels: g.inC, plane: g.outPlane) }

    var tilesPerChunk: Int { max(1, min(8, (1 << 17) / (channels * directConvTilePositions))) }
    var chunkPositions: Int { tilesPerChunk * directConvTilePositions }
    var blocks: Int { (outChannels + directConvTileChannels - 1) / directConvTileChannels }
    /// Per core: the zero-padded tail tile's input, then one chunk of 8 output rows.
    var perTask: Int { channels * directConvTilePositions + directConvTileChannels * chunkPositions }
    var scratchCount: Int { Parallel.tasks * perTask }

    /// `emit(channel, firstPosition, count, values)`: outputs p0..<p0+count of an output channel,
    /// at `values` (in y itself when the tile wrote there).
    func run(
        source: UnsafePointer<Float>, weights: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
        inPlace: UnsafeMutablePointer<Float>?, accumulate: Bool = false,
        emit: (_ channel: Int, _ p0: Int, _ count: Int, _ values: UnsafePointer<Float>) -> Void
    ) {
        let t = directConvTilePositions, n = directConvTileChannels, blockWeights = channels * n
        let chunk = chunkPositions, chunks = (plane + chunk - 1) / chunk, blocks = self.blocks
        let groups = min(blocks, max(1, (4 * Parallel.tasks + chunks - 1) / chunks))
        var zero = 0
        withUnsafePointer(to: &zero) { offset in
            parallelFor(chunks * groups) { task, item in
                let p0 = (item / groups) * chunk, grp = item % groups
                let positions = min(chunk, plane - p0)
                let whole = positions / t, tail = positions - whole * t
                let panel = scratch + task * perTask, out = panel + channels * t
                if tail > 0 {
                    let tp = p0 + whole * t
                    for c in 0..<channels {
                        let row = panel + c * t
                        row.update(from: source + c * plane + tp, count: tail)
                        (row + tail).update(repeating: 0, count: t - tail)
                    }
                }
                for blk in (grp * blocks / groups)..<((grp + 1) * blocks / groups) {
                    let w = weights + blk * blockWeights, live = min(n, outChannels - blk * n)
                    if whole > 0 {
                        if let y = inPlace, live == n {
                            let dst = y + blk * n * plane + p0
                            directConvTiles(
                                input: source + p0, channelStride: plane, channels: channels, offsets: offset, taps: 1,
                                weights: w, output: dst, outputStride: plane, tiles: whole, accumulate: accumulate)
                            if !accumulate { for i in 0..<n { emit(blk * n + i, p0, whole * t, dst + i * plane) } }
                        } else {
                            directConvTiles(
                                input: source + p0, channelStride: plane, channels: channels, offsets: offset, taps: 1,
                                weights: w, output: out, outputStride: chunk, tiles: whole)
                            for i in 0..<live { emit(blk * n + i, p0, whole * t, out + i * chunk) }
                        }
                    }
                    if tail > 0 {
                        convTiles(
                            input: panel, channelStride: t, channels: channels, offsets: offset, taps: 1,
                            weights: w, output: out, outputStride: chunk, positions: tail)
                        for i in 0..<live { emit(blk * n + i, p0 + whole * t, tail, out + i * chunk) }
                    }
                }
            }
        }
    }
}

/// The tiles over flat positions 0..<positions: wide tiles of 48, and a narrow one of 16 when at
/// most 16 positions are left (more than that, a wide one: the narrow tile's 8 accumulators wait on
/// its broadcasts). InceptionV3 to mixed5 at 224x224, forward 10.86–11.18 → 10.67–10.83 ms; with
/// narrow tiles for any remainder, 10.89–11.61.
@inline(__always)
private func convTiles(
    input: UnsafePointer<Float>, channelStride: Int, channels: Int, offsets: UnsafePointer<Int>, taps: Int,
    weights: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, outputStride: Int, positions: Int,
    accumulate: Bool = false
) {
    var wide = positions / directConvTilePositions
    if positions - wide * directConvTilePositions > 16 { wide += 1 }
    let done = min(positions, wide * directConvTilePositions)
    directConvTiles(
        input: input, channelStride: channelStride, channels: channels, offsets: offsets, taps: taps, weights: weights,
        output: output, outputStride: outputStride, tiles: wide, accumulate: accumulate)
    directConvTiles16(
        input: input + done, channelStride: channelStride, channels: channels, offsets: offsets, taps: taps,
        weights: weights, output: output + done, outputStride: outputStride, tiles: (positions - done + 15) / 16,
        accumulate: accumulate)
}

/// y = conv(x) + bias, then the fused clip, for one image (`DirectConv.runsForward(g)`).
func directConv2d(
    _ g: ConvGeometry, x: UnsafePointer<Float>, weights: DirectConvWeights, bias: UnsafePointer<Float>?,
    y: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>, clip: (lo: Float, hi: Float)?
) {
    let lo = clip?.lo ?? -.infinity, hi = clip?.hi ?? .infinity
    if g.isPointwise {
        Pointwise(g).run(source: x, weights: weights.forward.pointer, scratch: scratch, inPlace: y) { o, p0, n, v in
            biasClampRow(v, y + o * g.outPlane + p0, count: n, bias: bias?[o] ?? 0, lo: lo, hi: hi)
        }
        return
    }
    let p = Pass(forward: g)
    p.run(source: x, weights: weights.forward.pointer, scratch: scratch) { o, p0, count, v in
        let b = bias?[o] ?? 0, plane = y + o * g.outPlane
        p.forEachRun(p0, count) { i, at, n in biasClampRow(v + i, plane + at, count: n, bias: b, lo: lo, hi: hi) }
    }
}

/// dx += the input gradient of conv for dy, for one image (`DirectConv.runsBackward(g)`).
func directConv2dBackward(
    _ g: ConvGeometry, dy: UnsafePointer<Float>, weights: DirectConvWeights,
    dx: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>
) {
    if g.isPointwise {
        Pointwise(backward: g).run(source: dy, weights: weights.backward!.pointer, scratch: scratch, inPlace: dx, accumulate: true) { c, p0, n, v in
            addRow(v, dx + c * g.inPlane + p0, count: n)
        }
        return
    }
    let p = Pass(backward: g)
    p.run(source: dy, weights: weights.backward!.pointer, scratch: scratch) { c, p0, count, v in
        let plane = dx + c * g.inPlane
        p.forEachRun(p0, count) { i, at, n in addRow(v + i, plane + at, count: n) }
    }
}

// Row write-outs in SIMD8 (Swift's NaN-aware scalar min/max do not vectorise); load8/store8 are
// DepthwiseSupport.swift's.
private typealias V8 = SIMD8<Float>

/// dst = min(max(src + bias, lo), hi)
@inline(__always)
private func biasClampRow(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, count: Int, bias: Float, lo: Float, hi: Float) {
    let b = V8(repeating: bias), vlo = V8(repeating: lo), vhi = V8(repeating: hi)
    var i = 0
    while i + 8 <= count {
        var v = load8(src + i) + b
        v.replace(with: vlo, where: v .< vlo)
        v.replace(with: vhi, where: v .> vhi)
        store8(v, dst + i)
        i += 8
    }
    while i < count {
        let v = src[i] + bias
        dst[i] = v < lo ? lo : (v > hi ? hi : v)
        i += 1
    }
}

/// dst += src
@inline(__always)
private func addRow(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    while i + 8 <= count { store8(load8(dst + i) + load8(src + i), dst + i); i += 8 }
    while i < count { dst[i] += src[i]; i += 1 }
}
