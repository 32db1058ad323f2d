/// The input prefix exporters put before the first real layer, recognised and removed so it
/// becomes preprocessing (`Graph.inputAffine`) instead of ops: an NHWC → NCHW Transpose (tf2onnx,
/// Keras), per-channel arithmetic with constants (Sub/Div/Mul/Add, e.g. a normalisation layer),
/// and torchvision's `transform_input` (each channel Gathered or Sliced out, Unsqueezed, scaled,
/// shifted, and Concatenated back, possibly in another order). Only a prefix that is exactly
/// "pick channel, multiply, add" is removed; anything else stays in the graph, where an op we do
/// not run is the usual clear error.

/// Per model channel k: model_in[k] = scale[k] · original_in[source[k]] + shift[k], where
/// `original_in` is the graph's declared input (after an NHWC transpose, if any).
public struct InputAffine: Sendable, Equatable {
    /// Which channel of the declared input each model channel reads.
    public var source: [Int]
    /// Per model channel multiplier (positive).
    public var scale: [Float]
    /// Per model channel offset, added after the multiplier.
    public var shift: [Float]

    /// The identity on `channels` channels.
    public init(channels: Int) {
        source = Array(0..<channels); scale = [Float](repeating: 1, count: channels); shift = [Float](repeating: 0, count: channels)
    }

    /// True when it changes nothing.
    public var isIdentity: Bool {
        source == Array(0..<source.count) && scale.allSatisfy { $0 == 1 } && shift.allSatisfy { $0 == 0 }
    }
}

/// What the prefix scan found: the value the network really starts from, and the nodes it replaces.
struct InputPrefix {
    var start: String
    var affine: InputAffine
    var consumed: Set<Int>  // indices into the sorted node list
}

extension GraphBuilder {
    /// Scans from the image input `input` (NCHW, `channels` channels) over `nodes` (sorted; those
    /// in `skip` are already folded) for removable prefix ops.
    func inputPrefix(_ input: String, channels: Int, nodes: [Onnx_NodeProto], skip: Set<Int>) -> InputPrefix {
        var consumers: [String: [Int]] = [:]
        for (i, n) in nodes.enumerated() where !skip.contains(i) {
            for name in Set(n.input) where !name.isEmpty { consumers[name, default: []].append(i) }
        }
        var prefix = InputPrefix(start: input, affine: InputAffine(channels: channels), consumed: [])
        let outputs = Set(proto.output.map(\.name))  // a prefix never swallows a graph output
        var progressed = true
        while progressed {
            progressed = false
            let users = consumers[prefix.start] ?? []
            guard !users.isEmpty, !outputs.contains(prefix.start) else { break }
            var next = prefix
            if users.count == 1, let (a, b) = channelAffine(nodes[users[0]], on: prefix.start, channels: prefix.affine.source.count) {
                for k in next.affine.source.indices {
                    next.affine.scale[k] *= a[k]
                    next.affine.shift[k] = next.affine.shift[k] * a[k] + b[k]
                }
                next.consumed.insert(users[0])
                next.start = nodes[users[0]].output[0]
            } else if let split = channelSplit(from: prefix.start, users: users, nodes: nodes, consumers: consumers),
                split.picks.allSatisfy({ $0.channel < prefix.affine.source.count })
            {
                let before = prefix.affine
                next.affine = InputAffine(channels: split.picks.count)
                for (k, pick) in split.picks.enumerated() {
                    next.affine.source[k] = before.source[pick.channel]
                    next.affine.scale[k] = before.scale[pick.channel] * pick.scale
                    next.affine.shift[k] = before.shift[pick.channel] * pick.scale + pick.shift
                }
                next.consumed.formUnion(split.nodes)
                next.start = split.output
            } else {
                break
            }
            // A flip of sign (or a zero) would turn the picture's bounds around: leave it to the graph.
            guard next.affine.scale.allSatisfy({ $0 > 0 && $0.isFinite }) else { break }
            prefix = next
            progressed = true
        }
        return prefix
    }

    /// `n` as value ↦ a[c] · value + b[c] when it is Add/Sub/Mul/Div of `value` and a constant
    /// that is a scalar or per-channel (C, 1, 1) / (1, C, 1, 1); nil otherwise.
    func channelAffine(_ n: Onnx_NodeProto, on value: String, channels: Int) -> ([Float], [Float])? {
        guard ["Add", "Sub", "Mul", "Div"].contains(n.opType), n.input.count == 2, n.output.count == 1,
            n.attribute.isEmpty
        else { return nil }
        let valueFirst = n.input[0] == value
        guard let other = constants[valueFirst ? n.input[1] : n.input[0]], other.isFloat,
            n.input[valueFirst ? 0 : 1] == value
        else { return nil }
        var dims = other.dims
        while dims.first == 1 && dims.count > 3 { dims.removeFirst() }
        let k: [Float]
        if other.count == 1 {
            k = [Float](repeating: other.floats[0], count: channels)
        } else if dims.count == 3, dims[0] == channels, dims[1] == 1, dims[2] == 1 {
            k = other.floats
        } else {
            return nil
        }
        let ones = [Float](repeating: 1, count: channels), zeros = [Float](repeating: 0, count: channels)
        switch (n.opType, valueFirst) {
        case ("Add", _): return (ones, k)
        case ("Mul", _): return (k, zeros)
        case ("Sub", true): return (ones, k.map { -$0 })
        case ("Sub", false): return (ones.map { -$0 }, k)
        case ("Div", true): return k.contains(0) ? nil : (k.map { 1 / $0 }, zeros)
        default: return nil  // constant / value is not affine
        }
    }

    /// torchvision's transform_input: every user of `value` picks one channel (Gather on axis 1 with a
    /// scalar index then Unsqueeze on axis 1, Gather with a 1-element index, or a one-channel Slice on
    /// axis 1), each branch then runs scalar arithmetic, and all branches meet in one Concat on axis 1.
    func channelSplit(
        from value: String, users: [Int], nodes: [Onnx_NodeProto], consumers: [String: [Int]]
    ) -> (picks: [(channel: Int, scale: Float, shift: Float)], nodes: Set<Int>, output: String)? {
        var branchEnds: [String: (channel: Int, scale: Float, shift: Float)] = [:]
        var used = Set<Int>()
        for u in users {
            guard let (channel, picked) = pickedChannel(nodes[u], from: value) else { return nil }
            var end = picked
            used.insert(u)
            if nodes[u].opType == "Gather", constants[nodes[u].input[1]]?.dims == [] {
                guard let next = consumers[end], next.count == 1, isUnsqueezeAxis1(nodes[next[0]]) else { return nil }
                used.insert(next[0]); end = nodes[next[0]].output[0]
            }
            var scale: Float = 1, shift: Float = 0
            while let next = consumers[end], next.count == 1, let (a, b) = channelAffine(nodes[next[0]], on: end, channels: 1) {
                scale *= a[0]; shift = shift * a[0] + b[0]
                used.insert(next[0]); end = nodes[next[0]].output[0]
            }
            branchEnds[end] = (channel, scale, shift)
        }
        // The one Concat that takes every branch end, and nothing else.
        guard let first = branchEnds.keys.first, let next = consumers[first], next.count == 1 else { return nil }
        let concat = nodes[next[0]]
        guard concat.opType == "Concat", concat.attribute.count == 1, concat.attribute[0].name == "axis",
            concat.attribute[0].i == 1, concat.output.count == 1, Set(concat.input) == Set(branchEnds.keys),
            concat.input.count == branchEnds.count
        else { return nil }
        for end in branchEnds.keys where consumers[end]?.count != 1 { return nil }
        used.insert(next[0])
        return (concat.input.map { branchEnds[$0]! }, used, concat.output[0])
    }

    /// The channel a Gather (axis 1) or Slice (axis 1, one channel) picks from `value`, and its output.
    private func pickedChannel(_ n: Onnx_NodeProto, from value: String) -> (Int, String)? {
        guard n.input.first == value, n.output.count == 1 else { return nil }
        switch n.opType {
        case "Gather":
            guard n.input.count == 2, n.attribute.count == 1, n.attribute[0].name == "axis", n.attribute[0].i == 1,
                let idx = constants[n.input[1]], !idx.isFloat, idx.count == 1, idx.dims.count <= 1, idx.ints[0] >= 0
            else { return nil }
            return (Int(idx.ints[0]), n.output[0])
        case "Slice":
            guard opset >= 10, n.attribute.isEmpty, n.input.count >= 4,
                let starts = constants[n.input[1]], let ends = constants[n.input[2]], let axes = constants[n.input[3]],
                starts.ints.count == 1, ends.ints.count == 1, axes.ints == [1]
            else { return nil }
            if n.input.count > 4, let steps = constants[n.input[4]], steps.ints != [1] { return nil }
            let s = starts.ints[0], e = ends.ints[0]
            guard s >= 0, e == s + 1 else { return nil }
            return (Int(s), n.output[0])
        default:
            return nil
        }
    }

    private func isUnsqueezeAxis1(_ n: Onnx_NodeProto) -> Bool {
        guard n.opType == "Unsqueeze", n.output.count == 1 else { return false }
        if let a = n.attribute.first(where: { $0.name == "axes" }) { return a.ints == [1] && n.input.count == 1 }
        return n.input.count == 2 && constants[n.input[1]]?.ints == [1] && n.attribute.isEmpty
    }
}
