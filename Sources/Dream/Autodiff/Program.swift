/// The graph compiled for execution: values numbered (0 = the input), constants held in buffers,
/// one `Step` per node. Built once per Network; per-size state lives in `Plan`.
struct Step {
    let name: String
    let op: Op
    let inputs: [Int]
    let output: Int
    /// Standalone BatchNorm, precomputed as y = x·scale[c] + shift[c].
    var affine: (scale: Buffer, shift: Buffer)?
    /// Constant operands (conv weight/bias, gemm B/C) copied once into buffers the kernels read.
    var weight: Buffer?
    var bias: Buffer?
    /// A dense conv's weights packed for the direct kernel, where it suits the conv (DirectConv.swift).
    var direct: DirectConvWeights?
    /// A Clip fused into this conv: applied to the output (as it is stored for depthwise); the
    /// pullback masks dy with lo < y < hi (the conv's pre-activation is never kept).
    var clip: (lo: Float, hi: Float)?
}

struct Program {
    var valueNames: [String]
    var valueIndex: [String: Int]
    var constants: [Int: (shape: [Int], buffer: Buffer)]
    var steps: [Step]
    var producer: [Int: Int]  // value → step index
    /// Steps reading each value.
    var uses: [Int]

    /// `keep`: value names that must stay addressable (listed layers, graph outputs): never fused away.
    init(graph: Graph, keep: Set<String> = []) throws {
        let fused = Program.fusableClips(graph, keep: keep)
        valueNames = [graph.input]
        valueIndex = [graph.input: 0]
        constants = [:]
        for (name, t) in graph.constants.sorted(by: { $0.key < $1.key }) where valueIndex[name] == nil {
            let id = valueNames.count
            valueNames.append(name); valueIndex[name] = id
            let b = Buffer(count: t.count); b.copy(from: t)
            constants[id] = (t.shape, b)
        }
        steps = []
        producer = [:]
        for (n, node) in graph.nodes.enumerated() where !fused.values.contains(n) {
            var ins = [Int]()
            for i in node.inputs {
                guard let id = valueIndex[i] else {
                    throw NetworkError.node(
                        name: node.name, op: nil, problem: "input \"\(i)\" is not the graph input, a constant or an earlier node's output")
                }
                ins.append(id)
            }
            try Program.check(node)
            guard valueIndex[node.output] == nil else {
                throw NetworkError.node(name: node.name, op: nil, problem: "output \"\(node.output)\" is defined twice")
            }
            let out = valueNames.count
            let clipNode = fused[n].map { graph.nodes[$0] }
            let outputName = clipNode?.output ?? node.output
            guard valueIndex[outputName] == nil else {
                throw NetworkError.node(name: clipNode?.name ?? node.name, op: nil, problem: "output \"\(outputName)\" is defined twice")
            }
            valueNames.append(outputName); valueIndex[outputName] = out
            var step = Step(name: node.name, op: node.op, inputs: ins, output: out)
            step.clip = clipNode?.fusedClipBounds
            switch node.op {
            case let .conv(p):
                step.weight = Program.buffer(p.weight)
                step.bias = p.bias.map(Program.buffer)
                let w = p.weight.shape
                if DirectConv.suits(kernel: (w[2], w[3]), strides: p.strides, dilations: p.dilations, groups: p.groups) {
                    step.direct = DirectConvWeights(
                        weight: step.weight!.pointer, outC: w[0], inC: w[1], kH: w[2], kW: w[3], backward: p.strides == (1, 1))
                }
            case let .batchNorm(bn):
                let a = batchNormAffine(bn)
                step.affine = (
                    Program.buffer(Tensor(shape: [a.scale.count], data: a.scale)),
                    Program.buffer(Tensor(shape: [a.shift.count], data: a.shift))
                )
            case let .gemm(b, c, _, _, _, _):
                step.weight = Program.buffer(b)
                step.bias = c.map(Program.buffer)
            case let .matMul(b):
                step.weight = Program.buffer(b)
            default: break
            }
            producer[out] = steps.count
            steps.append(step)
        }
        uses = [Int](repeating: 0, count: valueNames.count)
        for st in steps { for v in st.inputs { uses[v] += 1 } }
    }

    private static func buffer(_ t: Tensor) -> Buffer { let b = Buffer(count: t.count); b.copy(from: t); return b }

    /// Static checks of a node's parameters and operand count.
    static func check(_ node: Node) throws {
        func fail(_ why: String) -> NetworkError { NetworkError.node(name: node.name, op: opName(node.op), problem: why) }
        let arity: ClosedRange<Int>
        switch node.op {
        case .add, .mul: arity = 2...2
        case .concat: arity = 1...Int.max
        default: arity = 1...1
        }
        guard arity.contains(node.inputs.count) else { throw fail("takes \(arity) inputs, got \(node.inputs.count)") }
        switch node.op {
        case let .conv(p):
            let w = p.weight.shape
            guard w.count == 4, w.allSatisfy({ $0 > 0 }) else { throw fail("weight must be (O, C/groups, kh, kw), got \(w)") }
            guard p.groups >= 1, w[0] % p.groups == 0 else { throw fail("\(w[0]) output channels not divisible by groups \(p.groups)") }
            guard p.strides.h > 0, p.strides.w > 0, p.dilations.h > 0, p.dilations.w > 0 else { throw fail("strides and dilations must be positive") }
            if let b = p.bias, b.count != w[0] { throw fail("bias has \(b.count) values for \(w[0]) output channels") }
            if case let .explicit(t, l, b, r) = p.padding, min(t, l, b, r) < 0 { throw fail("negative padding") }
        case let .batchNorm(bn):
            let c = bn.scale.count
            guard bn.bias.count == c, bn.mean.count == c, bn.variance.count == c else { throw fail("scale/bias/mean/var sizes differ") }
        case let .maxPool(p), let .averagePool(p):
            guard p.kernel.h > 0, p.kernel.w > 0, p.strides.h > 0, p.strides.w > 0 else { throw fail("kernel and strides must be positive") }
        case let .lrn(size, _, _, _):
            guard size > 0 else { throw fail("size must be positive") }
        case let .gemm(b, _, _, _, _, _), let .matMul(b):
            guard b.shape.count == 2 else { throw fail("constant B must be 2-D, got \(b.shape)") }
        default: break
        }
    }
}

func opName(_ op: Op) -> String {
    switch op {
    case .conv: "Conv"
    case .batchNorm: "BatchNormalization"
    case .relu: "Relu"
    case .clip: "Clip"
    case .sigmoid: "Sigmoid"
    case .add: "Add"
    case .mul: "Mul"
    case .concat: "Concat"
    case .maxPool: "MaxPool"
    case .averagePool: "AveragePool"
    case .globalAveragePool: "GlobalAveragePool"
    case .lrn: "LRN"
    case .pad: "Pad"
    case .flatten: "Flatten"
    case .reshape: "Reshape"
    case .gemm: "Gemm"
    case .matMul: "MatMul"
    case .softmax: "Softmax"
    case .identity: "Identity"
    }
}
