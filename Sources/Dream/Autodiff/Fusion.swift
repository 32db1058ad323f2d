/// Fusion: which nodes and steps run together as one kernel. Two kinds, both decided here:
/// - a Clip or Relu that alone consumes a conv's output runs inside that conv (`fusableClips`, when
///   the program is built: it never becomes a step of its own; a Relu is the Clip 0...∞);
/// - an inverted-residual block (expand → depthwise → project [→ Add]) runs as one
///   `InvertedResidual` kernel (`fusedChains`, per plan: it needs the shapes).

extension Program {
    /// Conv node index → index of the Clip or Relu that alone consumes its output (fused).
    /// Why: depthwise convs clamp as they store (free); other convs clamp their output in place
    /// (one pass less, one activation buffer less); the pullback masks dy with the output. Measured
    /// on a GoogLeNet to inception_4c at 224x224, ReLU fused: the separate Relu steps took 1.1 ms
    /// forward and 1.2 ms backward of a 57 ms gradient step.
    static func fusableClips(_ graph: Graph, keep: Set<String>) -> [Int: Int] {
        var uses = [String: [Int]]()
        for (i, node) in graph.nodes.enumerated() { for x in node.inputs { uses[x, default: []].append(i) } }
        var fused = [Int: Int]()
        for (i, node) in graph.nodes.enumerated() {
            guard case .conv = node.op, !keep.contains(node.output), !graph.outputs.contains(node.output),
                let users = uses[node.output], users.count == 1, users[0] > i,
                graph.nodes[users[0]].fusedClipBounds != nil, graph.nodes[users[0]].inputs.count == 1
            else { continue }
            fused[i] = users[0]
        }
        return fused
    }
}

/// An inverted-residual block's steps that run as one fused kernel (`InvertedResidual`).
struct FusedChain {
    let block: InvertedResidual
    let expand: Int?, depthwise: Int, project: Int, add: Int?
    var steps: [Int] { [expand, depthwise, project, add].compactMap { $0 } }
}

/// Chains among `steps` (consecutive, in order) that run fused, by first step: [expand conv + clip]
/// → depthwise conv + clip → 1x1 project conv → [Add of the block's input], where E and D feed
/// only the next conv and the project output only the Add (and is not asked for: `ids`).
func fusedChains(_ program: Program, _ plan: Plan, steps: [Int], ids: [Int]) -> [Int: FusedChain] {
    var chains = [Int: FusedChain]()
    var i = 0
    func conv(_ j: Int) -> (Step, ConvGeometry)? {
        guard j < steps.count, case .conv = program.steps[steps[j]].op, let g = plan.geometry[steps[j]] else { return nil }
        return (program.steps[steps[j]], g)
    }
    func layer(_ st: Step, _ g: ConvGeometry) -> ConvLayer {
        ConvLayer(g: g, weight: st.weight!.pointer, bias: st.bias.map { UnsafePointer($0.pointer) }, clip: st.clip)
    }
    while i < steps.count {
        // With an expand conv at i, or the depthwise conv at i.
        var chain: FusedChain?
        for hasExpand in [true, false] {
            let j = hasExpand ? i + 1 : i
            guard let (dw, gd) = conv(j), let (pr, gp) = conv(j + 1), dw.clip != nil, pr.inputs == [dw.output],
                program.uses[dw.output] == 1
            else { continue }
            var ex: (Step, ConvGeometry)?
            if hasExpand {
                guard let e = conv(i), e.0.clip != nil, dw.inputs == [e.0.output], program.uses[e.0.output] == 1 else { continue }
                ex = e
            }
            guard InvertedResidual.fits(ex?.1, gd, gp) else { continue }
            let blockInput = ex?.0.inputs[0] ?? dw.inputs[0]
            var add: Int?
            if j + 2 < steps.count, program.steps[steps[j + 2]].op == .add, pr.clip == nil,
                program.uses[pr.output] == 1, !ids.contains(pr.output),
                Set(program.steps[steps[j + 2]].inputs) == [pr.output, blockInput],
                plan.shapes[blockInput]! == plan.shapes[pr.output]!
            {
                add = steps[j + 2]
            }
            chain = FusedChain(
                block: InvertedResidual(
                    expand: ex.map { layer($0.0, $0.1) }, depthwise: layer(dw, gd),
                    project: layer(pr, gp)),
                expand: hasExpand ? steps[i] : nil, depthwise: steps[j], project: steps[j + 1], add: add)
            break
        }
        if let chain { chains[steps[i]] = chain; i += chain.steps.count } else { i += 1 }
    }
    return chains
}

extension Node {
    /// The bounds this node clamps to when it runs inside the conv before it: Clip's, or 0...∞ for Relu.
    var fusedClipBounds: (lo: Float, hi: Float)? {
        switch op {
        case let .clip(lo, hi): (lo, hi)
        case .relu: (0, .infinity)
        default: nil
        }
    }
}
