import Foundation

/// A Graph ready to run: BatchNorms folded, values numbered, and a scratch arena per input size.
/// Not reentrant: one gradient at a time (it owns scratch memory; calls are serialised by a lock).
public final class Network: @unchecked Sendable {
    /// The graph as executed (BatchNorms folded into their convs).
    public let graph: Graph
    /// How RGB maps to the model's input: the graph's `reverie.mean` / `reverie.std` metadata, else ImageNet's.
    public let preprocessing: Preprocessing
    /// Dreamable value names in graph order (node outputs).
    public let layers: [String]
    /// `layers` as a set, for resolving layer terms (`LayerTerm(parsing:layerNames:)`).
    public var layerNames: Set<String> { Set(layers).union(blockNames.map(\.name)) }
    /// Layers to dream by default, best first: the `reverie.recommended` metadata, else the layer at
    /// about 60 % depth.
    public let recommendedLayers: [String]
    /// The classic family the graph's structure was recognised as, if any (see `Architecture`).
    public let family: ModelFamily?
    /// Block names users know (inception_4c, mixed3, block4_conv3, layer3) → the graph's values.
    public let blockNames: [(name: String, value: String)]
    /// Where `preprocessing` came from: "--input caffe", "metadata", "detected: …" or "default (ImageNet)".
    public let preprocessingSource: String

    /// The compiled graph and the machinery that runs it (plans, tape, fusion, profiler).
    let executor: Executor
    var program: Program { executor.program }
    private let lock = NSLock()

    /// Prepares `graph` to run: folds its BatchNorms, numbers its values, checks every node. Throws
    /// `NetworkError` for a malformed graph (an input nothing produces, a value defined twice, bad op
    /// parameters, an output or listed layer no node produces) or bad preprocessing metadata.
    /// `input`, when given, overrides whatever the graph says about preprocessing.
    public init(graph: Graph, input: InputConvention? = nil) throws {
        BLASThreads.configure
        let folded = foldBatchNorms(graph)
        self.graph = folded
        var keep = Set(folded.outputs)
        if let listed = folded.metadata["reverie.layers"] { keep.formUnion(Network.list(listed)) }
        let program = try Program(graph: folded, keep: keep)
        executor = Executor(program: program)
        for o in folded.outputs where program.valueIndex[o] == nil {
            throw NetworkError.missingOutput(name: o)
        }
        let architecture = Architecture.recognise(folded)
        family = architecture.family
        let base: Preprocessing
        if let input {
            (base, preprocessingSource) = (input.preprocessing, "--input \(input.rawValue)")
        } else if let given = try Preprocessing.from(metadata: folded.metadata, channels: folded.inputChannels) {
            (base, preprocessingSource) = (given, "the model's metadata")
        } else if let (convention, why) = architecture.detectedConvention(
            producer: folded.producer, hasLRN: folded.nodes.contains { if case .lrn = $0.op { true } else { false } })
        {
            (base, preprocessingSource) = (convention.preprocessing, "\(convention.rawValue), detected: \(why)")
        } else {
            (base, preprocessingSource) = (.imageNet, "torch (ImageNet mean/std), the default")
        }
        preprocessing = folded.inputAffine.map { base.followed(by: $0) } ?? base
        let outputs = folded.nodes.map(\.output)
        if let listed = folded.metadata["reverie.layers"] {
            let names = Network.list(listed)
            for n in names where !outputs.contains(n) {
                throw NetworkError.metadata(key: "reverie.layers", problem: "names \"\(n)\", which no node outputs")
            }
            layers = outputs.filter(names.contains)
        } else {
            // A depthwise pre-activation fused with its Clip is not addressable.
            layers = folded.nodes.filter { Network.isDreamable($0.op) }.map(\.output).filter { program.valueIndex[$0] != nil }
        }
        let values = Set(folded.nodes.map(\.output))
        blockNames = architecture.blocks.filter { $0.name != $0.value && !values.contains($0.name) && program.valueIndex[$0.value] != nil }
        let known = Set(blockNames.map(\.name)).union(layers)
        if let listed = folded.metadata["reverie.recommended"] {
            let names = Network.list(listed)
            for n in names where !layers.contains(n) {
                throw NetworkError.metadata(key: "reverie.recommended", problem: "names \"\(n)\", which is not a layer")
            }
            recommendedLayers = names
        } else if let family = architecture.family,
            case let classic = family.classicLayers.filter(known.contains), !classic.isEmpty
        {
            recommendedLayers = classic
        } else {
            // Why ~60 % depth: mid-depth layers dream object parts; shallow ones only texture.
            recommendedLayers = layers.isEmpty ? [] : [layers[min(layers.count - 1, layers.count * 6 / 10)]]
        }
    }

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
            let plan = executor.plan(for: inputShape(height: height, width: width))
            var result = [(name: String, shape: [Int])]()
            for layer in layers {
                let id = program.valueIndex[layer]!
                do { try plan.infer(program, steps: executor.neededSteps(for: [id])) } catch { break }
                result.append((layer, plan.shapes[id]!))
            }
            if result.isEmpty, let first = layers.first {
                try plan.infer(program, steps: executor.neededSteps(for: [program.valueIndex[first]!]))
            }
            return result
        }
    }

    /// Runs forward only as far as `outputs` need and returns them by name.
    public func forward(_ input: Tensor, outputs: [String]) throws -> [String: Tensor] {
        try locked {
            let ids = try valueIDs(outputs, allowAny: true)
            try check(inputShape: input.shape)
            let plan = try input.data.withUnsafeBufferPointer {
                try executor.forward($0, shape: input.shape, ids: ids, forBackward: false)
            }.plan
            var result = [String: Tensor]()
            for (name, id) in zip(outputs, ids) { result[name] = plan.value(id).tensor(shape: plan.shapes[id]!) }
            return result
        }
    }

    /// One gradient evaluation: forward as far as `layers` need; `seed` maps each layer's activation
    /// to (loss term, d loss / d activation); backward from those layers to the input.
    public func gradient(
        of input: Tensor, layers: [String],
        seed: (_ layer: String, _ activation: Tensor) -> (loss: Float, grad: Tensor)
    ) throws
        -> (loss: Float, gradient: Tensor)
    {
        var dx = Tensor(zeros: input.shape)
        var mismatch: NetworkError?
        let loss = try input.data.withUnsafeBufferPointer { x in
            try dx.data.withUnsafeMutableBufferPointer { g in
                try gradient(of: x, shape: input.shape, layers: layers, into: g) { name, activation, shape, grad in
                    let (l, t) = seed(name, Tensor(shape: shape, data: Array(activation)))
                    guard t.count == grad.count else {
                        mismatch = NetworkError.seedShape(layer: name, got: t.shape, expected: shape)
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
    public func gradient(
        of input: UnsafeBufferPointer<Float>, shape: [Int], layers: [String],
        into gradient: UnsafeMutableBufferPointer<Float>,
        seed: (
            _ layer: String, _ activation: UnsafeBufferPointer<Float>, _ shape: [Int],
            _ grad: UnsafeMutableBufferPointer<Float>
        ) -> Float
    ) throws -> Float {
        try locked {
            guard input.count == shape.reduce(1, *), gradient.count == input.count else {
                throw NetworkError.input(problem: "input of \(input.count) values and gradient of \(gradient.count) for shape \(shape)")
            }
            let ids = try valueIDs(layers, allowAny: false)
            try check(inputShape: shape)
            let tape = try executor.forward(input, shape: shape, ids: ids, forBackward: true)
            let plan = tape.plan
            var seeded = [Bool](repeating: false, count: program.valueNames.count)
            var loss: Float = 0
            for (name, id) in zip(layers, ids) {
                let buf = plan.grad(id)
                if !seeded[id] { buf.zero(); seeded[id] = true }
                let value = plan.value(id)
                loss += seed(
                    name, UnsafeBufferPointer(start: value.pointer, count: value.count), plan.shapes[id]!,
                    UnsafeMutableBufferPointer(start: buf.pointer, count: buf.count))
            }
            executor.backward(tape, seeded: &seeded)
            let dx = plan.grad(0)
            if seeded[0] {
                gradient.baseAddress!.update(from: dx.pointer, count: dx.count)
            } else {
                gradient.baseAddress!.update(repeating: 0, count: gradient.count)
            }
            return loss
        }
    }

    /// Bytes a gradient step through `layers` holds at (1, C, height, width); 0 if the layers are unknown.
    public func estimatedPeakBytes(height: Int, width: Int, layers: [String]) -> Int {
        (try? locked {
            let (ids, plan, steps) = try unsharedPlan(height: height, width: width, layers: layers, allowAny: false)
            let fused = executor.chains(plan, steps: steps, ids: ids).values.map(\.block.scratchCount).max() ?? 0
            return plan.estimatedBytes(program, steps: steps, scratch: fused)
        }) ?? 0
    }

    // MARK: Execution

    func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock(); defer { lock.unlock() }
        return try body()
    }

    private func inputShape(height: Int, width: Int) -> [Int] { [1, max(graph.inputChannels, 1), height, width] }

    private func valueIDs(_ names: [String], allowAny: Bool) throws -> [Int] {
        try names.map { given in
            let name = blockNames.first { $0.name == given }?.value ?? given
            if program.valueIndex[name] == nil, let reason = graph.unavailable[name] {
                throw NetworkError.unavailableLayer(name: given, reason: reason)
            }
            guard let id = program.valueIndex[name], allowAny || layers.contains(name) || program.producer[id] != nil else {
                throw NetworkError.unknownLayer(name: name, valid: allowAny ? program.valueNames : layers)
            }
            return id
        }
    }

    /// A plan of its own for `layers` at (1, C, height, width), with the steps they need inferred.
    func unsharedPlan(height: Int, width: Int, layers: [String], allowAny: Bool) throws -> (ids: [Int], plan: Plan, steps: [Int]) {
        let ids = try valueIDs(layers, allowAny: allowAny)
        let (plan, steps) = try executor.unsharedPlan(inputShape: inputShape(height: height, width: width), ids: ids)
        return (ids, plan, steps)
    }

    private func check(inputShape shape: [Int]) throws {
        if shape.count == 4, graph.inputChannels > 0, shape[1] != graph.inputChannels {
            throw NetworkError.input(problem: "input has \(shape[1]) channels, the model expects \(graph.inputChannels) (input \(shape))")
        }
        guard shape.allSatisfy({ $0 > 0 }) else { throw NetworkError.input(problem: "input shape \(shape) is empty") }
    }
}
