/// Output shape (and window geometry) of one step from its input shapes. Throws a message naming
/// the node when the shapes do not fit the op.
func inferShape(_ step: Step, inputs: [[Int]]) throws -> (shape: [Int], geometry: ConvGeometry?) {
    func fail(_ why: String) -> NetworkError { NetworkError.node(name: step.name, op: opName(step.op), problem: why) }
    let x = inputs[0]
    func axis(_ a: Int, rank: Int, inclusive: Bool = false) throws -> Int {
        let r = a < 0 ? a + rank : a
        guard r >= 0, r < rank + (inclusive ? 1 : 0) else { throw fail("axis \(a) out of range for rank \(rank)") }
        return r
    }
    switch step.op {
    case let .conv(p):
        guard x.count == 4 else { throw fail("expects a 4-D NCHW input, got \(x)") }
        guard x[1] == p.weight.shape[1] * p.groups else {
            throw fail("expects \(p.weight.shape[1] * p.groups) input channels, got \(x[1]) (input \(x))")
        }
        let g = convGeometry(
            input: x, weight: p.weight.shape, strides: p.strides, dilations: p.dilations,
            padding: p.padding, groups: p.groups)
        guard g.outH > 0, g.outW > 0 else { throw fail("input \(x) is smaller than the kernel") }
        return ([g.batch, g.outC, g.outH, g.outW], g)
    case let .batchNorm(bn):
        guard x.count >= 2, x[1] == bn.scale.count else { throw fail("expects \(bn.scale.count) channels, got \(x)") }
        return (x, nil)
    case .relu, .clip, .sigmoid, .identity:
        return (x, nil)
    case .add, .mul:
        guard let s = broadcastShape(x, inputs[1]) else { throw fail("shapes \(x) and \(inputs[1]) do not broadcast") }
        return (s, nil)
    case let .concat(a):
        let ax = try axis(a, rank: x.count)
        var out = x
        out[ax] = 0
        for s in inputs {
            guard s.count == x.count, (0..<x.count).allSatisfy({ $0 == ax || s[$0] == x[$0] }) else {
                throw fail("inputs \(inputs) differ outside axis \(ax)")
            }
            out[ax] += s[ax]
        }
        return (out, nil)
    case let .maxPool(p), let .averagePool(p):
        guard x.count == 4 else { throw fail("expects a 4-D NCHW input, got \(x)") }
        let g = convGeometry(
            input: x, weight: [x[1], 1, p.kernel.h, p.kernel.w], strides: p.strides,
            dilations: (1, 1), padding: p.padding, groups: x[1], ceilMode: p.ceilMode)
        guard g.outH > 0, g.outW > 0 else { throw fail("input \(x) is smaller than the window") }
        return ([g.batch, g.inC, g.outH, g.outW], g)
    case .globalAveragePool:
        guard x.count >= 3 else { throw fail("expects N, C and spatial dims, got \(x)") }
        return (Array(x[0..<2]) + [Int](repeating: 1, count: x.count - 2), nil)
    case .lrn:
        guard x.count >= 3 else { throw fail("expects N, C and spatial dims, got \(x)") }
        return (x, nil)
    case let .pad(pads, _):
        guard pads.count == 2 * x.count else { throw fail("\(pads.count) pads for a rank-\(x.count) input") }
        let out = (0..<x.count).map { x[$0] + pads[$0] + pads[x.count + $0] }
        guard out.allSatisfy({ $0 > 0 }) else { throw fail("padding \(pads) leaves an empty tensor from \(x)") }
        return (out, nil)
    case let .flatten(a):
        let ax = try axis(a, rank: x.count, inclusive: true)
        return ([x[..<ax].reduce(1, *), x[ax...].reduce(1, *)], nil)
    case let .reshape(target):
        var out = [Int](), infer = -1
        for (i, d) in target.enumerated() {
            if d == 0 {
                guard i < x.count else { throw fail("0 in shape \(target) past input rank") }; out.append(x[i])
            } else if d == -1 {
                guard infer < 0 else { throw fail("two -1 in shape \(target)") }; infer = i; out.append(1)
            } else if d > 0 {
                out.append(d)
            } else {
                throw fail("bad dimension \(d) in \(target)")
            }
        }
        let total = x.reduce(1, *), known = out.reduce(1, *)
        if infer >= 0 {
            guard known > 0, total % known == 0 else { throw fail("cannot reshape \(x) to \(target)") }
            out[infer] = total / known
        }
        guard out.reduce(1, *) == total else { throw fail("cannot reshape \(x) to \(target)") }
        return (out, nil)
    case let .gemm(b, c, _, _, transA, transB):
        guard x.count == 2 else { throw fail("expects a 2-D input, got \(x)") }
        let m = transA ? x[1] : x[0], k = transA ? x[0] : x[1]
        let bk = transB ? b.shape[1] : b.shape[0], n = transB ? b.shape[0] : b.shape[1]
        guard k == bk else { throw fail("input \(x) does not match B \(b.shape)") }
        if let c, broadcastShape([m, n], c.shape) != [m, n] { throw fail("C \(c.shape) does not broadcast to [\(m), \(n)]") }
        return ([m, n], nil)
    case let .matMul(b):
        guard let last = x.last, last == b.shape[0] else { throw fail("input \(x) does not match B \(b.shape)") }
        return (Array(x.dropLast()) + [b.shape[1]], nil)
    case let .softmax(a):
        _ = try axis(a, rank: x.count)
        return (x, nil)
    }
}
