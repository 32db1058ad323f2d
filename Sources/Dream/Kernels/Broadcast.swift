/// Add and Mul with NumPy broadcasting: out = a ∘ b, shapes right-aligned, size-1 dims repeat.
///   forward:  out (broadcast(aShape, bShape))
///   backward: da += reduce(dy [· b]) to aShape, db += reduce(dy [· a]) to bShape
/// Fast paths: equal shapes; b one value per channel of an NCHW a; b a scalar.

enum BinaryKind { case add, mul }

/// Broadcast output shape, or nil when the shapes are incompatible.
func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
    let r = max(a.count, b.count)
    let pa = [Int](repeating: 1, count: r - a.count) + a, pb = [Int](repeating: 1, count: r - b.count) + b
    var out = [Int]()
    for (x, y) in zip(pa, pb) {
        if x == y || y == 1 { out.append(x) } else if x == 1 { out.append(y) } else { return nil }
    }
    return out
}

/// Strides of `shape` seen through `out` (0 where the dim is broadcast).
func broadcastStrides(_ shape: [Int], to out: [Int]) -> [Int] {
    let p = [Int](repeating: 1, count: out.count - shape.count) + shape
    var strides = [Int](repeating: 0, count: out.count), s = 1
    for i in stride(from: out.count - 1, through: 0, by: -1) {
        strides[i] = p[i] == 1 ? 0 : s
        s *= p[i]
    }
    return strides
}

/// Calls body(outIndex, aIndex, bIndex) for every output element, in order.
@inline(__always)
func forEachBroadcast(out: [Int], aStrides: [Int], bStrides: [Int], _ body: (Int, Int, Int) -> Void) {
    let r = out.count, total = out.reduce(1, *)
    if total == 0 { return }
    var idx = [Int](repeating: 0, count: r)
    var ia = 0, ib = 0
    for o in 0..<total {
        body(o, ia, ib)
        var d = r - 1
        while d >= 0 {
            idx[d] += 1; ia += aStrides[d]; ib += bStrides[d]
            if idx[d] < out[d] { break }
            ia -= aStrides[d] * out[d]; ib -= bStrides[d] * out[d]; idx[d] = 0
            d -= 1
        }
    }
}

func binary(
    _ kind: BinaryKind, a: UnsafePointer<Float>, aShape: [Int], b: UnsafePointer<Float>, bShape: [Int],
    y: UnsafeMutablePointer<Float>, outShape: [Int]
) {
    let count = outShape.reduce(1, *)
    if aShape == bShape {
        switch kind {
        case .add: parallelChunks(count) { lo, hi in for i in lo..<hi { y[i] = a[i] + b[i] } }
        case .mul: parallelChunks(count) { lo, hi in for i in lo..<hi { y[i] = a[i] * b[i] } }
        }
        return
    }
    let sa = broadcastStrides(aShape, to: outShape), sb = broadcastStrides(bShape, to: outShape)
    switch kind {
    case .add: forEachBroadcast(out: outShape, aStrides: sa, bStrides: sb) { o, i, j in y[o] = a[i] + b[j] }
    case .mul: forEachBroadcast(out: outShape, aStrides: sa, bStrides: sb) { o, i, j in y[o] = a[i] * b[j] }
    }
}

/// Accumulates the gradient of one operand. `other` is the other operand (needed for mul).
func binaryBackward(
    _ kind: BinaryKind, dy: UnsafePointer<Float>, outShape: [Int],
    dself: UnsafeMutablePointer<Float>, selfShape: [Int],
    other: UnsafePointer<Float>, otherShape: [Int]
) {
    let count = outShape.reduce(1, *)
    if selfShape == outShape && otherShape == outShape {
        switch kind {
        case .add: accumulate(dy, into: dself, count: count)
        case .mul: parallelChunks(count) { lo, hi in for i in lo..<hi { dself[i] += dy[i] * other[i] } }
        }
        return
    }
    let ss = broadcastStrides(selfShape, to: outShape), so = broadcastStrides(otherShape, to: outShape)
    switch kind {
    case .add: forEachBroadcast(out: outShape, aStrides: ss, bStrides: so) { o, i, _ in dself[i] += dy[o] }
    case .mul: forEachBroadcast(out: outShape, aStrides: ss, bStrides: so) { o, i, j in dself[i] += dy[o] * other[j] }
    }
}
