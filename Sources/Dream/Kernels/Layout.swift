/// Ops that only move values.
///   concat along `axis`: inputs viewed as (outer, size_i·inner) → output (outer, Σ size_i·inner)
///   pad (constant): any rank, pads[d] / pads[rank+d] added before / after dim d (may be negative = crop)

/// Copies input `k` (row length `len`) into its slot of each concatenated row (`total` long, at `offset`).
func concatCopy(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, outer: Int, len: Int, offset: Int, total: Int) {
    for o in 0..<outer { (y + o * total + offset).update(from: x + o * len, count: len) }
}

func concatBackward(dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, outer: Int, len: Int, offset: Int, total: Int) {
    for o in 0..<outer {
        let s = dy + o * total + offset, d = dx + o * len
        for i in 0..<len { d[i] += s[i] }
    }
}

/// Calls body(outIndex, inIndex or −1) for each output element of a constant pad.
private func forEachPadded(inShape: [Int], pads: [Int], _ body: (Int, Int) -> Void) {
    let r = inShape.count
    let outShape = (0..<r).map { inShape[$0] + pads[$0] + pads[r + $0] }
    let total = outShape.reduce(1, *)
    if total <= 0 { return }
    var inStrides = [Int](repeating: 1, count: r)
    for d in stride(from: r - 2, through: 0, by: -1) { inStrides[d] = inStrides[d + 1] * inShape[d + 1] }
    var idx = [Int](repeating: 0, count: r)
    for o in 0..<total {
        var src = 0
        for d in 0..<r {
            let i = idx[d] - pads[d]
            if i < 0 || i >= inShape[d] { src = -1; break }
            src += i * inStrides[d]
        }
        body(o, src)
        var d = r - 1
        while d >= 0 { idx[d] += 1; if idx[d] < outShape[d] { break }; idx[d] = 0; d -= 1 }
    }
}

func pad(_ x: UnsafePointer<Float>, inShape: [Int], pads: [Int], value: Float, y: UnsafeMutablePointer<Float>) {
    forEachPadded(inShape: inShape, pads: pads) { o, i in y[o] = i >= 0 ? x[i] : value }
}

func padBackward(dy: UnsafePointer<Float>, inShape: [Int], pads: [Int], dx: UnsafeMutablePointer<Float>) {
    forEachPadded(inShape: inShape, pads: pads) { o, i in if i >= 0 { dx[i] += dy[o] } }
}
