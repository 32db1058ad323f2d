import Foundation

/// Folds each BatchNormalization that directly follows a conv (whose output feeds nothing else)
/// into that conv: w' = w·s, b' = (b − mean)·s + beta with s = gamma / √(var + ε) per output
/// channel. The conv takes over the BatchNorm's output name. Other BatchNorms stay (run as affine).
func foldBatchNorms(_ graph: Graph) -> Graph {
    var uses = [String: Int]()
    for node in graph.nodes { for i in node.inputs { uses[i, default: 0] += 1 } }
    for o in graph.outputs { uses[o, default: 0] += 1 }
    var producer = [String: Int]()
    var nodes = graph.nodes
    var removed = Set<Int>()
    for (i, node) in graph.nodes.enumerated() {
        producer[node.output] = i
        guard case let .batchNorm(bn) = node.op, node.inputs.count == 1,
            let p = producer[node.inputs[0]], !removed.contains(p),
            case var .conv(conv) = nodes[p].op, uses[node.inputs[0]] == 1,
            bn.scale.count == conv.weight.shape[0]
        else { continue }
        let outC = conv.weight.shape[0], per = conv.weight.count / max(outC, 1)
        var bias = conv.bias?.data ?? [Float](repeating: 0, count: outC)
        for o in 0..<outC {
            let s = bn.scale.data[o] / (bn.variance.data[o] + bn.epsilon).squareRoot()
            for j in o * per..<(o + 1) * per { conv.weight.data[j] *= s }
            bias[o] = (bias[o] - bn.mean.data[o]) * s + bn.bias.data[o]
        }
        conv.bias = Tensor(shape: [outC], data: bias)
        nodes[p].op = .conv(conv)
        nodes[p].output = node.output
        producer[node.output] = p
        removed.insert(i)
    }
    var folded = graph
    folded.nodes = nodes.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
    return folded
}

/// A standalone BatchNorm as a per-channel affine map: y = x·scale + shift.
func batchNormAffine(_ bn: BatchNormParams) -> (scale: [Float], shift: [Float]) {
    var scale = [Float](), shift = [Float]()
    for c in 0..<bn.scale.count {
        let s = bn.scale.data[c] / (bn.variance.data[c] + bn.epsilon).squareRoot()
        scale.append(s)
        shift.append(bn.bias.data[c] - bn.mean.data[c] * s)
    }
    return (scale, shift)
}
