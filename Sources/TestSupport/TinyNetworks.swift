import Dream

/// A tiny random-weight network shaped like EfficientNet-Lite0, for tests that need to dream in
/// milliseconds. Layers "stem", "block0", "block1", "block2" (block outputs, linear like the real
/// model's), a classifier head ending in "logits". Metadata: mean 127, std 128, recommended "block1".
///   stem:   conv 3x3 s2 SAME 3→8, BN, ReLU6
///   block0: depthwise 3x3, BN, ReLU6, project 1x1 8→8, BN, + skip
///   block1: expand 1x1 8→16, BN, ReLU6, depthwise 5x5 s2 SAME, BN, ReLU6, project 16→12, BN
///   block2: expand 12→24, ReLU6, depthwise 3x3, ReLU6, project 24→12, + skip
///   head:   conv 1x1 12→16, ReLU6, global average pool, flatten, gemm 16→10 ("logits")
public func tinyDreamGraph(seed: UInt64 = 7) -> Graph {
    var b = TinyGraphBuilder(seed: seed)
    var x = "image"
    x = b.conv("stem_conv", x, out: 8, in: 3, k: 3, stride: 2)
    x = b.batchNorm("stem_bn", x, channels: 8)
    x = b.relu6("stem", x)
    let stem = x
    x = b.conv("block0_dw", x, out: 8, in: 8, k: 3, groups: 8)
    x = b.batchNorm("block0_bn1", x, channels: 8)
    x = b.relu6("block0_act1", x)
    x = b.conv("block0_project", x, out: 8, in: 8, k: 1)
    x = b.batchNorm("block0_bn2", x, channels: 8)
    x = b.add("block0", x, stem)
    x = b.conv("block1_expand", x, out: 16, in: 8, k: 1)
    x = b.batchNorm("block1_bn0", x, channels: 16)
    x = b.relu6("block1_act0", x)
    x = b.conv("block1_dw", x, out: 16, in: 16, k: 5, stride: 2, groups: 16)
    x = b.batchNorm("block1_bn1", x, channels: 16)
    x = b.relu6("block1_act1", x)
    x = b.conv("block1_project", x, out: 12, in: 16, k: 1)
    x = b.batchNorm("block1", x, channels: 12)
    let block1 = x
    x = b.conv("block2_expand", x, out: 24, in: 12, k: 1)
    x = b.relu6("block2_act0", x)
    x = b.conv("block2_dw", x, out: 24, in: 24, k: 3, groups: 24)
    x = b.relu6("block2_act1", x)
    x = b.conv("block2_project", x, out: 12, in: 24, k: 1)
    x = b.add("block2", x, block1)
    x = b.conv("head_conv", x, out: 16, in: 12, k: 1)
    x = b.relu6("head", x)
    b.nodes.append(Node(name: "pool", op: .globalAveragePool, inputs: [x], output: "pool"))
    b.nodes.append(Node(name: "flatten", op: .flatten(axis: 1), inputs: ["pool"], output: "flatten"))
    b.nodes.append(
        Node(
            name: "fc",
            op: .gemm(
                b: b.random([10, 16], scale: 0.5), c: b.random([10], scale: 0.1),
                alpha: 1, beta: 1, transA: false, transB: true),
            inputs: ["flatten"], output: "logits"))
    return Graph(
        input: "image", inputChannels: 3, nodes: b.nodes, outputs: ["logits"],
        metadata: [
            "reverie.mean": "127,127,127", "reverie.std": "128,128,128",
            "reverie.layers": "stem,block0,block1,block2", "reverie.recommended": "block1"
        ])
}

/// Appends nodes with seeded random weights (He-like scale so activations stay O(1)).
public struct TinyGraphBuilder {
    /// The nodes appended so far, in order.
    public var nodes: [Node] = []
    /// Draws every weight, so the same seed builds the same network.
    public var generator: SeededGenerator

    /// An empty builder whose weights come from `seed`.
    public init(seed: UInt64) { generator = SeededGenerator(seed: seed) }

    /// A tensor of `shape` with values offset + scale · u, u uniform in [-1, 1].
    public mutating func random(_ shape: [Int], scale: Float, offset: Float = 0) -> Tensor {
        Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in offset + scale * Float.random(in: -1...1, using: &generator) })
    }

    /// Appends a k x k conv `name` of `x`, `c` → `out` channels in `groups` groups, the same stride both
    /// ways, weights uniform within ±√(3 / fan-in), bias optional; returns its output's name, `name`.
    public mutating func conv(
        _ name: String, _ x: String, out: Int, in c: Int, k: Int, stride: Int = 1, groups: Int = 1,
        padding: Padding = .sameUpper, bias: Bool = true
    ) -> String {
        let fanIn = Float(c / groups * k * k)
        let w = random([out, c / groups, k, k], scale: (3 / fanIn).squareRoot())
        let p = ConvParams(
            weight: w, bias: bias ? random([out], scale: 0.1) : nil, strides: (stride, stride),
            padding: padding, groups: groups)
        nodes.append(Node(name: name, op: .conv(p), inputs: [x], output: name))
        return name
    }

    /// Appends a BatchNorm `name` of `x` over `channels`, random statistics (scale and variance near 1,
    /// epsilon 1e-3); returns `name`.
    public mutating func batchNorm(_ name: String, _ x: String, channels: Int) -> String {
        let p = BatchNormParams(
            scale: random([channels], scale: 0.3, offset: 1), bias: random([channels], scale: 0.2),
            mean: random([channels], scale: 0.2), variance: random([channels], scale: 0.3, offset: 1),
            epsilon: 1e-3)
        nodes.append(Node(name: name, op: .batchNorm(p), inputs: [x], output: name))
        return name
    }

    /// Appends clip(0, 6) of `x` as `name`; returns `name`.
    public mutating func relu6(_ name: String, _ x: String) -> String {
        nodes.append(Node(name: name, op: .clip(min: 0, max: 6), inputs: [x], output: name))
        return name
    }

    /// Appends `a` + `b` as `name`; returns `name`.
    public mutating func add(_ name: String, _ a: String, _ b: String) -> String {
        nodes.append(Node(name: name, op: .add, inputs: [a, b], output: name))
        return name
    }
}
