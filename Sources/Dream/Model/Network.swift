import COpenBLAS
import Foundation

/// A bad graph, an unknown layer, or an input that does not fit the model.
public struct NetworkError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A Graph ready to run: BatchNorms folded, values numbered, and a scratch arena per input size.
/// Not reentrant: one gradient at a time (it owns scratch memory; calls are serialised by a lock).
public final class Network: @unchecked Sendable {
    /// The graph as executed (BatchNorms folded into their convs).
    public let graph: Graph
    public let preprocessing: Preprocessing
    /// Dreamable value names in graph order (node outputs).
    public let layers: [String]
    /// `layers` as a set, for resolving layer terms (`LayerTerm(parsing:layerNames:)`).
    public var layerNames: Set<String> { Set(layers) }
    public let recommendedLayers: [String]

    /// Collect per-op-kind wall time in `profile` (for the benchmark; off by default).
    public var profiling = false
    /// Seconds per "<op kind> forward|backward" since the last `resetProfile()`.
    public private(set) var profile: [String: Double] = [:]
    /// Seconds per "<step name> forward|backward" since the last `resetProfile()`.
    public private(set) var nodeProfile: [String: Double] = [:]
    public func resetProfile() { profile = [:]; nodeProfile = [:] }
    /// Run expand → depthwise → project chains as one fused kernel (`InvertedResidual`); off only to
    /// measure or test the fusion against the op-by-op path.
    public var fusesInvertedResiduals = true

    private let program: Program
    private var plans: [[Int]: Plan] = [:]
    private var planOrder: [[Int]] = []
    private let lock = NSLock()
    /// Why 4: tiles come in a few sizes (full tiles, right/bottom edges, the corner).
    private static let maxPlans = 4
    /// Why 1.5 GB: a 1280x720 step to block10 alone needs ~1.4 GB; keep at most one more such arena.
    private static let maxArenaBytes = 1_500_000_000

    public init(graph: Graph) throws {
        Network.configureBLAS
        let folded = foldBatchNorms(graph)
        self.graph = folded
        var keep = Set(folded.outputs)
        if let listed = folded.metadata["reverie.layers"] { keep.formUnion(Network.list(listed)) }
        let program = try Program(graph: folded, keep: keep)
        self.program = program
        for o in folded.outputs where program.valueIndex[o] == nil {
            throw NetworkError("graph output \"\(o)\" is not produced by any node")
        }
        preprocessing = try Preprocessing.from(metadata: folded.metadata, channels: folded.inputChannels)
        let outputs = folded.nodes.map(\.output)
        if let listed = folded.metadata["reverie.layers"] {
            let names = Network.list(listed)
            for n in names where !outputs.contains(n) {
                throw NetworkError("metadata reverie.layers names \"\(n)\", which no node outputs")
            }
            layers = outputs.filter(names.contains)
        } else {
            // A depthwise pre-activation fused with its Clip is not addressable.
            layers = folded.nodes.filter { Network.isDreamable($0.op) }.map(\.output).filter { program.valueIndex[$0] != nil }
        }
        if let listed = folded.metadata["reverie.recommended"] {
            let names = Network.list(listed)
            for n in names where !layers.contains(n) {
                throw NetworkError("metadata reverie.recommended names \"\(n)\", which is not a layer")
            }
            recommendedLayers = names
        } else {
            // Why ~60 % depth: mid-depth layers dream object parts; shallow ones only texture.
            recommendedLayers = layers.isEmpty ? [] : [layers[min(layers.count - 1, layers.count * 6 / 10)]]
        }
    }

    /// Set the BLAS thread count once per process: both cores, and nothing nests around BLAS.
    private static let configureBLAS: Void = { openblas_set_num_threads(2) }()

    private static func list(_ s: String) -> [String] {
        s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    private static func isDreamable(_ op: Op) -> Bool {
        switch op {
        case .conv, .add, .relu, .clip, .concat, .maxPool, .averagePool, .globalAveragePool, .lrn: true
        default: false
        }
    }

    // MARK: Public API

    /// Shapes of every layer for a (1, C, height, width) input, in order. Layers that do not fit
    /// this size (e.g. a classifier after a fixed-size flatten) are left out.
    public func shapes(height: Int, width: Int) throws -> [(name: String, shape: [Int])] {
        try locked {
            let plan = try self.plan(for: inputShape(height: height, width: width))
            var result = [(name: String, shape: [Int])]()
            for layer in layers {
                let id = program.valueIndex[layer]!
                do { try plan.infer(program, steps: neededSteps(for: [id])) } catch { break }
                result.append((layer, plan.shapes[id]!))
            }
            if result.isEmpty, let first = layers.first {
                try plan.infer(program, steps: neededSteps(for: [program.valueIndex[first]!]))
            }
            return result
        }
    }

    /// Runs forward only as far as `outputs` need and returns them by name.
    public func forward(_ input: Tensor, outputs: [String]) throws -> [String: Tensor] {
        try locked {
            let ids = try valueIDs(outputs, allowAny: true)
            let (plan, _) = try input.data.withUnsafeBufferPointer {
                try forwardPass($0, shape: input.shape, ids: ids, keepIntermediates: false)
            }
            var result = [String: Tensor]()
            for (name, id) in zip(outputs, ids) { result[name] = plan.value(id).tensor(shape: plan.shapes[id]!) }
            return result
        }
    }

    /// One gradient evaluation: forward as far as `layers` need; `seed` maps each layer's activation
    /// to (loss term, d loss / d activation); backward from those layers to the input.
    public func gradient(of input: Tensor, layers: [String],
                         seed: (_ layer: String, _ activation: Tensor) -> (loss: Float, grad: Tensor)) throws
        -> (loss: Float, gradient: Tensor) {
        var dx = Tensor(zeros: input.shape)
        var mismatch: NetworkError?
        let loss = try input.data.withUnsafeBufferPointer { x in
            try dx.data.withUnsafeMutableBufferPointer { g in
                try gradient(of: x, shape: input.shape, layers: layers, into: g) { name, activation, shape, grad in
                    let (l, t) = seed(name, Tensor(shape: shape, data: Array(activation)))
                    guard t.count == grad.count else {
                        mismatch = NetworkError("seed for layer \(name) returned a gradient of shape \(t.shape), expected \(shape)")
                        return 0
                    }
                    t.data.withUnsafeBufferPointer { accumulate($0.baseAddress!, into: grad.baseAddress!, count: grad.count) }
                    return l
                }
            }
        }
        if let mismatch { throw mismatch }
        return (loss, dx)
    }

    /// The same without allocating tensors (for the step loop): the input is read from `input`
    /// (shape `shape`), `seed(layer, activation, shape, grad)` adds d loss / d activation into `grad`
    /// (zero before the first seed of a layer) and returns the layer's loss term, and the input
    /// gradient is written to `gradient` (one float per input value). Returns the summed loss.
    public func gradient(of input: UnsafeBufferPointer<Float>, shape: [Int], layers: [String],
                         into gradient: UnsafeMutableBufferPointer<Float>,
                         seed: (_ layer: String, _ activation: UnsafeBufferPointer<Float>, _ shape: [Int],
                                _ grad: UnsafeMutableBufferPointer<Float>) -> Float) throws -> Float {
        try locked {
            guard input.count == shape.reduce(1, *), gradient.count == input.count else {
                throw NetworkError("input of \(input.count) values and gradient of \(gradient.count) for shape \(shape)")
            }
            let ids = try valueIDs(layers, allowAny: false)
            let (plan, tape) = try forwardPass(input, shape: shape, ids: ids, keepIntermediates: true)
            let wanted = dependsOnInput(tape.steps)
            var seeded = [Bool](repeating: false, count: program.valueNames.count)
            var loss: Float = 0
            for (name, id) in zip(layers, ids) {
                let buf = plan.grad(id)
                if !seeded[id] { buf.zero(); seeded[id] = true }
                let value = plan.value(id)
                loss += seed(name, UnsafeBufferPointer(start: value.pointer, count: value.count), plan.shapes[id]!,
                             UnsafeMutableBufferPointer(start: buf.pointer, count: buf.count))
            }
            backward(plan, tape: tape, wanted: wanted, seeded: &seeded)
            let dx = plan.grad(0)
            if seeded[0] { gradient.baseAddress!.update(from: dx.pointer, count: dx.count) }
            else { gradient.baseAddress!.update(repeating: 0, count: gradient.count) }
            return loss
        }
    }

    /// Bytes a gradient step through `layers` holds at (1, C, height, width); 0 if the layers are unknown.
    public func estimatedPeakBytes(height: Int, width: Int, layers: [String]) -> Int {
        (try? locked {
            let (ids, plan, steps) = try unsharedPlan(height: height, width: width, layers: layers, allowAny: false)
            let fused = invertedResiduals(plan, steps: steps, ids: ids).values.map(\.block.scratchCount).max() ?? 0
            return plan.estimatedBytes(program, steps: steps, scratch: fused)
        }) ?? 0
    }

    // MARK: Execution

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock(); defer { lock.unlock() }
        return try body()
    }

    private func inputShape(height: Int, width: Int) -> [Int] { [1, max(graph.inputChannels, 1), height, width] }

    private func valueIDs(_ names: [String], allowAny: Bool) throws -> [Int] {
        try names.map { name in
            guard let id = program.valueIndex[name], allowAny || layers.contains(name) || program.producer[id] != nil else {
                let valid = allowAny ? program.valueNames.joined(separator: ", ") : layers.joined(separator: ", ")
                throw NetworkError("unknown layer \"\(name)\"; valid names: \(valid)")
            }
            return id
        }
    }

    /// A plan of its own (shapes and geometry; no buffers until something runs on it) for `layers` at
    /// (1, C, height, width), with the steps they need inferred: for the estimates and the benchmark.
    private func unsharedPlan(height: Int, width: Int, layers: [String], allowAny: Bool) throws -> (ids: [Int], plan: Plan, steps: [Int]) {
        let ids = try valueIDs(layers, allowAny: allowAny)
        let plan = Plan(program: program, inputShape: inputShape(height: height, width: width))
        let steps = neededSteps(for: ids)
        try plan.infer(program, steps: steps)
        return (ids, plan, steps)
    }

    /// Steps needed to compute `ids`, in graph order.
    private func neededSteps(for ids: [Int]) -> [Int] {
        var need = Set<Int>(), stack = ids
        while let v = stack.popLast() {
            guard let s = program.producer[v], !need.contains(s) else { continue }
            need.insert(s)
            stack.append(contentsOf: program.steps[s].inputs)
        }
        return need.sorted()
    }

    private func plan(for shape: [Int]) throws -> Plan {
        if let p = plans[shape] {
            planOrder.removeAll { $0 == shape }; planOrder.append(shape)
            return p
        }
        // Evict least recently used arenas: at most `maxPlans`, and at most `maxArenaBytes` held by the others.
        while let oldest = planOrder.first,
              plans.count >= Network.maxPlans || plans.values.reduce(0, { $0 + $1.allocatedBytes }) > Network.maxArenaBytes {
            plans[oldest] = nil; planOrder.removeFirst()
        }
        let p = Plan(program: program, inputShape: shape)
        plans[shape] = p; planOrder.append(shape)
        return p
    }

    private func forwardPass(_ input: UnsafeBufferPointer<Float>, shape: [Int], ids: [Int],
                             keepIntermediates: Bool) throws -> (Plan, Tape) {
        if shape.count == 4, graph.inputChannels > 0, shape[1] != graph.inputChannels {
            throw NetworkError("input has \(shape[1]) channels, the model expects \(graph.inputChannels) (input \(shape))")
        }
        guard shape.allSatisfy({ $0 > 0 }) else { throw NetworkError("input shape \(shape) is empty") }
        let plan = try plan(for: shape)
        let steps = neededSteps(for: ids)
        try plan.infer(program, steps: steps)
        plan.value(0).pointer.update(from: input.baseAddress!, count: plan.count(0))
        var tape = Tape(plan: plan)
        let chains = invertedResiduals(plan, steps: steps, ids: ids)
        var i = 0
        while i < steps.count {
            let s = steps[i]
            let t0 = profiling ? DispatchTime.now().uptimeNanoseconds : 0
            if let chain = chains[s] {
                // E and D are kept for the backward pass (its ReLU6 masks) or when asked for.
                let block = chain.block, x = plan.value(program.steps[s].inputs[0]).pointer
                let e = chain.expand.map { program.steps[$0].output }, d = program.steps[chain.depthwise].output
                let keep = { (v: Int?) in v.flatMap { keepIntermediates || ids.contains($0) ? plan.value($0).pointer : nil } }
                block.forward(x: x, e: keep(e), d: keep(d),
                              y: plan.value(program.steps[chain.add ?? chain.project].output).pointer,
                              residual: chain.add == nil ? nil : UnsafePointer(x), scratch: plan.colScratch(block.scratchCount)!)
                if profiling { record(s, plan, "forward", since: t0, kind: "Inverted residual (fused)") }
                for t in chain.steps { tape.record(t) }
                i += chain.steps.count
                continue
            }
            runForward(program, plan, step: s)
            if profiling { record(s, plan, "forward", since: t0) }
            tape.record(s)
            i += 1
        }
        return (plan, tape)
    }

    /// An inverted-residual block's steps that run as one fused kernel (`InvertedResidual`).
    private struct FusedChain {
        let block: InvertedResidual
        let expand: Int?, depthwise: Int, project: Int, add: Int?
        var steps: [Int] { [expand, depthwise, project, add].compactMap { $0 } }
    }

    /// Chains among `steps` (consecutive, in order) that run fused, by first step: [expand conv + clip]
    /// → depthwise conv + clip → 1x1 project conv → [Add of the block's input], where E and D feed
    /// only the next conv and the project output only the Add (and is not asked for).
    private func invertedResiduals(_ plan: Plan, steps: [Int], ids: [Int]) -> [Int: FusedChain] {
        var chains = [Int: FusedChain]()
        guard fusesInvertedResiduals else { return chains }
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
                      program.uses[dw.output] == 1 else { continue }
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
                   plan.shapes[blockInput]! == plan.shapes[pr.output]! {
                    add = steps[j + 2]
                }
                chain = FusedChain(block: InvertedResidual(expand: ex.map { layer($0.0, $0.1) }, depthwise: layer(dw, gd),
                                                           project: layer(pr, gp)),
                                   expand: hasExpand ? steps[i] : nil, depthwise: steps[j], project: steps[j + 1], add: add)
                break
            }
            if let chain { chains[steps[i]] = chain; i += chain.steps.count } else { i += 1 }
        }
        return chains
    }

    /// For each step, whether each input's gradient is wanted (the input depends on the image).
    private func dependsOnInput(_ steps: [Int]) -> [[Bool]] {
        var depends = [Bool](repeating: false, count: program.valueNames.count)
        depends[0] = true
        var wanted = [[Bool]](repeating: [], count: program.steps.count)
        for s in steps {
            let step = program.steps[s]
            wanted[s] = step.inputs.map { depends[$0] }
            depends[step.output] = wanted[s].contains(true)
        }
        return wanted
    }

    /// Gradient buffers are zeroed before their first writer adds into them, except where the first
    /// writer can store over the buffer instead (see `GradientStore`); a fused Clip's mask moves
    /// into its only consumer's pullback when that consumer can apply it as it stores.
    private func backward(_ plan: Plan, tape: Tape, wanted: [[Bool]], seeded: inout [Bool]) {
        var uses = [Int](repeating: 0, count: program.valueNames.count)
        for s in tape.steps { for v in program.steps[s].inputs { uses[v] += 1 } }
        var premasked = [Bool](repeating: false, count: program.valueNames.count)
        for s in tape.steps.reversed() {
            let step = program.steps[s]
            guard seeded[step.output], wanted[s].contains(true) else { continue }
            let overwrites = pullbackOverwrites(program, plan, step: s)
            var fresh = [Bool](repeating: false, count: step.inputs.count)
            for (i, v) in step.inputs.enumerated() where wanted[s][i] && !seeded[v] {
                if overwrites && step.inputs.count == 1 { fresh[i] = true } else { plan.grad(v).zero() }
                seeded[v] = true
            }
            var inputMask: ClipMask?
            if fresh[0], uses[step.inputs[0]] == 1, let p = program.producer[step.inputs[0]], let c = program.steps[p].clip,
               pullbackMasksInput(program, plan, step: s) {
                inputMask = ClipMask(values: plan.value(step.inputs[0]).pointer, lo: c.lo, hi: c.hi)
                premasked[step.inputs[0]] = true
            }
            let t0 = profiling ? DispatchTime.now().uptimeNanoseconds : 0
            runPullback(program, plan, step: s, wanted: wanted[s],
                        store: GradientStore(accumulate: !fresh[0], mask: inputMask), outputMasked: premasked[step.output])
            if profiling { record(s, plan, "backward", since: t0) }
        }
    }

    private func record(_ s: Int, _ plan: Plan, _ pass: String, since t0: UInt64, kind fusedKind: String? = nil) {
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        var kind = fusedKind ?? opName(program.steps[s].op)
        if fusedKind == nil, let g = plan.geometry[s], case .conv = program.steps[s].op {
            kind = g.isDepthwise ? "DepthwiseConv" : g.isPointwise ? "Conv 1x1 (sgemm)" : "Conv (im2col+sgemm)"
        }
        profile["\(kind) \(pass)", default: 0] += seconds
        nodeProfile["\(program.steps[s].name) \(pass)", default: 0] += seconds
    }

    /// Each depthwise conv needed for `layers` at (1, C, height, width) timed alone, as the step runs it:
    /// the forward with its fused clip, and the input gradient with dy masked by that clip and dx
    /// stored under its producer's (0 < x < 6, ReLU6). Minimum of `runs` milliseconds each, on random
    /// data; for the benchmark (`reverie-bench --kernels`).
    public func depthwiseKernelTimes(height: Int, width: Int, layers: [String], runs: Int) throws
        -> [(name: String, forward: Double, backward: Double)] {
        try locked {
            let (_, plan, steps) = try unsharedPlan(height: height, width: width, layers: layers, allowAny: true)
            var g = SeededGenerator(seed: 7)
            return steps.compactMap { s in
                let step = program.steps[s]
                guard case .conv = step.op, let geometry = plan.geometry[s], geometry.isDepthwise else { return nil }
                let x = Buffer(count: geometry.batch * geometry.inC * geometry.inPlane)
                let y = Buffer(count: geometry.batch * geometry.outC * geometry.outPlane), dy = Buffer(count: y.count)
                let dx = Buffer(count: x.count), scratch = Buffer(count: depthwiseScratchCount(geometry))
                for i in 0..<x.count { x.pointer[i] = Float.random(in: -1...7, using: &g) }
                for i in 0..<dy.count { dy.pointer[i] = Float.random(in: -1...1, using: &g) }
                func best(_ body: () -> Void) -> Double {
                    (0...runs).map { _ in
                        let t0 = DispatchTime.now().uptimeNanoseconds
                        body()
                        return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
                    }.dropFirst().min()!
                }
                let forward = best {
                    depthwiseConv2d(geometry, x: x.pointer, weight: step.weight!.pointer, bias: step.bias?.pointer, y: y.pointer,
                                    scratch: scratch.pointer, clip: step.clip)
                }
                let dyMask = step.clip.map { ClipMask(values: y.pointer, lo: $0.lo, hi: $0.hi) }
                let backward = best {
                    depthwiseConv2dBackward(geometry, dy: dy.pointer, weight: step.weight!.pointer, dx: dx.pointer,
                                            scratch: scratch.pointer, dyMask: dyMask,
                                            store: GradientStore(accumulate: false, mask: ClipMask(values: x.pointer, lo: 0, hi: 6)))
                }
                return (step.name, forward, backward)
            }
        }
    }

    /// The 1x1 convs (one group) needed for `layers` at (1, C, height, width), as sgemm shapes:
    /// y (outC × plane) = W (outC × inC) · x (inC × plane). For the benchmark's OpenBLAS bound.
    public func pointwiseConvShapes(height: Int, width: Int, layers: [String]) throws -> [(outC: Int, inC: Int, plane: Int)] {
        try locked {
            let (_, plan, steps) = try unsharedPlan(height: height, width: width, layers: layers, allowAny: true)
            return steps.compactMap { s in
                guard case .conv = program.steps[s].op, let g = plan.geometry[s], g.isPointwise, g.groups == 1 else { return nil }
                return (g.outC, g.inC, g.batch * g.outPlane)
            }
        }
    }

    /// Forward multiply-adds of the convs and dense ops needed for `layers` at (1, C, height, width).
    public func multiplyAdds(height: Int, width: Int, layers: [String]) throws -> Int {
        try locked {
            let (_, plan, steps) = try unsharedPlan(height: height, width: width, layers: layers, allowAny: true)
            var macs = 0
            for s in steps {
                let step = program.steps[s]
                switch step.op {
                case .conv:
                    let g = plan.geometry[s]!
                    macs += g.batch * g.outC * g.outPlane * g.colRows
                case let .gemm(b, _, _, _, _, _), let .matMul(b):
                    macs += plan.count(step.output) * b.count / (plan.shapes[step.output]!.last ?? 1)
                default: break
                }
            }
            return macs
        }
    }
}
