/// ONNX node → `Node`, one small function per op. Each checks its attributes (an attribute we do
/// not interpret is an error, never ignored), its constant inputs and, where a value's rank is
/// needed (negative axes, opset < 13 Softmax), the rank of its runtime input.

extension GraphBuilder {
    /// Returns nil for nodes that only define constants (Constant, or Identity of a constant).
    mutating func convert(_ n: Onnx_NodeProto) throws -> Node? {
        guard n.domain.isEmpty || n.domain == "ai.onnx" else {
            throw ONNXProblem("operator domain '\(n.domain)' is not supported")
        }
        let attrs = try ONNXAttributes(n)
        let op: Op
        var inputs: [String]
        var rank: Int?  // of the output
        switch n.opType {
        case "Constant":
            try defineConstant(n, attrs); return nil
        case "Identity", "Dropout":
            if n.opType == "Dropout" { try checkDropout(n, attrs) } else { try attrs.allowOnly([]) }
            try checkOutputs(n, max: 1)
            let x = try required(n, 0)
            if let c = constants[x] { constants[n.output[0]] = c; return nil }
            (op, inputs, rank) = (.identity, [x], try runtimeRank(x))
        case "Sub", "Div":
            // x − c and x / c with a constant c are an add and a mul of a transformed constant.
            try attrs.allowOnly(legacyBroadcast(attrs) ? ["broadcast"] : [])
            guard n.input.count == 2 else { throw ONNXProblem("expected 2 inputs, got \(n.input.count)") }
            let x = try required(n, 0)
            let c = try floatConstant(n, 1, what: "B (only a runtime value minus or over a constant is supported)")
            let name = n.input[1] + (n.opType == "Sub" ? "/negated" : "/reciprocal")
            usedConstants[name] = Tensor(shape: c.shape, data: c.data.map { n.opType == "Sub" ? -$0 : 1 / $0 })
            (op, inputs, rank) = (n.opType == "Sub" ? .add : .mul, [x, name], try runtimeRank(x).map { max($0, c.shape.count) })
        case "Relu", "Sigmoid":
            try attrs.allowOnly([])
            let x = try required(n, 0)
            (op, inputs, rank) = (n.opType == "Relu" ? .relu : .sigmoid, [x], try runtimeRank(x))
        case "Clip":
            let x = try required(n, 0)
            (op, inputs, rank) = (try clip(n, attrs), [x], try runtimeRank(x))
        case "Add", "Mul":
            try attrs.allowOnly(legacyBroadcast(attrs) ? ["broadcast"] : [])
            (inputs, rank) = try binaryOperands(n)
            op = n.opType == "Add" ? .add : .mul
        case "Concat":
            (op, inputs, rank) = try concat(n, attrs)
        case "Conv":
            let x = try required(n, 0)
            (op, inputs, rank) = (.conv(try conv(n, attrs)), [x], try imageRank(x))
        case "BatchNormalization":
            let x = try required(n, 0)
            (op, inputs, rank) = (.batchNorm(try batchNorm(n, attrs)), [x], try imageRank(x))
        case "MaxPool", "AveragePool":
            let x = try required(n, 0)
            let p = try pool(n, attrs)
            (op, inputs, rank) = (n.opType == "MaxPool" ? .maxPool(p) : .averagePool(p), [x], try imageRank(x))
        case "GlobalAveragePool":
            try attrs.allowOnly([])
            let x = try required(n, 0)
            (op, inputs, rank) = (.globalAveragePool, [x], try imageRank(x))
        case "LRN":
            let x = try required(n, 0)
            (op, inputs, rank) = (try lrn(attrs), [x], try imageRank(x))
        case "Pad":
            let x = try required(n, 0)
            (op, inputs, rank) = (try pad(n, attrs, rank: try runtimeRank(x)), [x], try runtimeRank(x))
        case "Flatten":
            try attrs.allowOnly(["axis"])
            let x = try required(n, 0)
            let axis = try normalizedAxis(attrs.int("axis") ?? 1, rank: runtimeRank(x), inclusiveEnd: true)
            (op, inputs, rank) = (.flatten(axis: axis), [x], 2)
        case "Reshape":
            let x = try required(n, 0)
            _ = try runtimeRank(x)
            let shape = try reshapeTarget(n, attrs)
            (op, inputs, rank) = (.reshape(shape: shape), [x], shape.count)
        case "Gemm":
            let x = try required(n, 0)
            if let r = try runtimeRank(x), r != 2 { throw ONNXProblem("input A has rank \(r); Gemm needs rank 2") }
            (op, inputs, rank) = (try gemm(n, attrs), [x], 2)
        case "MatMul":
            try attrs.allowOnly([])
            let x = try required(n, 0)
            let r = try runtimeRank(x)
            if let r, r < 2 { throw ONNXProblem("input A has rank \(r); MatMul with a 1-D A is not supported") }
            let b = try constant(n, 1, what: "B")
            guard b.isFloat, b.dims.count == 2 else {
                throw ONNXProblem("B has shape \(b.dims); only a constant 2-D float B is supported")
            }
            (op, inputs, rank) = (.matMul(b: b.tensor), [x], r)
        case "Softmax":
            let x = try required(n, 0)
            let r = try runtimeRank(x)
            (op, inputs, rank) = (.softmax(axis: try softmaxAxis(attrs, rank: r)), [x], r)
        default:
            throw ONNXProblem("operator \(n.opType) is not supported")
        }
        try checkOutputs(n, max: 1)
        guard inputs.contains(where: { ranks[$0] != nil }) else {
            throw ONNXProblem("every input is a constant; constant folding is not supported")
        }
        let output = n.output[0]
        ranks[output] = rank
        return Node(name: nodeName(n), op: op, inputs: inputs, output: output)
    }

    // MARK: inputs and outputs

    /// Input `i`, or nil when it is absent or named "" (ONNX's way to skip an optional input).
    func optional(_ n: Onnx_NodeProto, _ i: Int) -> String? {
        i < n.input.count && !n.input[i].isEmpty ? n.input[i] : nil
    }

    func required(_ n: Onnx_NodeProto, _ i: Int) throws -> String {
        guard let name = optional(n, i) else { throw ONNXProblem("input \(i) is missing") }
        return name
    }

    /// The rank of a runtime value (nil when unknown); an error if `name` is not a runtime value.
    func runtimeRank(_ name: String) throws -> Int? {
        if let r = ranks[name] { return r }
        if constants[name] != nil { throw ONNXProblem("input '\(name)' is a constant; only a runtime value is supported there") }
        throw ONNXProblem("input '\(name)' is not defined")
    }

    /// Image ops (conv, pools, LRN, BatchNorm) read NCHW tensors.
    func imageRank(_ name: String) throws -> Int? {
        let r = try runtimeRank(name)
        if let r, r != 4 { throw ONNXProblem("input '\(name)' has rank \(r); only 2-D images (N, C, H, W) are supported") }
        return 4
    }

    func constant(_ n: Onnx_NodeProto, _ i: Int, what: String) throws -> ONNXConstant {
        guard let name = optional(n, i) else { throw ONNXProblem("input \(what) is missing") }
        guard let c = constants[name] else {
            throw ONNXProblem("input \(what) ('\(name)') is not a constant (initializer or Constant node); only constant \(what) is supported")
        }
        return c
    }

    func floatConstant(_ n: Onnx_NodeProto, _ i: Int, what: String) throws -> Tensor {
        let c = try constant(n, i, what: what)
        guard c.isFloat else { throw ONNXProblem("input \(what) has element type \(ONNXType.name(c.dataType)); expected float") }
        return c.tensor
    }

    func intConstant(_ n: Onnx_NodeProto, _ i: Int, what: String) throws -> [Int] {
        let c = try constant(n, i, what: what)
        guard !c.isFloat else { throw ONNXProblem("input \(what) has element type \(ONNXType.name(c.dataType)); expected int64") }
        return try c.ints.map { v in
            guard abs(v) < Int64(Int32.max) else { throw ONNXProblem("input \(what) value \(v) is out of range") }
            return Int(v)
        }
    }

    func checkOutputs(_ n: Onnx_NodeProto, max: Int) throws {
        guard let first = n.output.first, !first.isEmpty else { throw ONNXProblem("the node has no output") }
        if let extra = n.output.dropFirst(max).first(where: { !$0.isEmpty }) {
            throw ONNXProblem("output '\(extra)' (output \(n.output.firstIndex(of: extra) ?? 0)) is not supported")
        }
    }

    /// Add/Mul operands, runtime value first (both ops commute). A constant operand is kept in
    /// `graph.constants` under its ONNX name.
    mutating func binaryOperands(_ n: Onnx_NodeProto) throws -> ([String], Int?) {
        guard n.input.count == 2 else { throw ONNXProblem("expected 2 inputs, got \(n.input.count)") }
        let a = try required(n, 0), b = try required(n, 1)
        let operands = ranks[a] == nil && ranks[b] != nil ? [b, a] : [a, b]
        var rank: Int? = 0
        for name in operands {
            let r = try operandRank(name)
            rank = rank.flatMap { old in r.map { Swift.max(old, $0) } }
        }
        return (operands, rank)
    }

    /// The rank of a runtime value or of a float constant (which becomes a graph constant).
    mutating func operandRank(_ name: String) throws -> Int? {
        if let r = ranks[name] { return r }
        guard let c = constants[name] else { throw ONNXProblem("input '\(name)' is not defined") }
        guard c.isFloat else { throw ONNXProblem("constant '\(name)' has element type \(ONNXType.name(c.dataType)); expected float") }
        usedConstants[name] = c.tensor
        return c.dims.count
    }

    mutating func concat(_ n: Onnx_NodeProto, _ attrs: ONNXAttributes) throws -> (Op, [String], Int?) {
        try attrs.allowOnly(["axis"])
        guard let axis = try attrs.int("axis") else { throw ONNXProblem("attribute axis is missing") }
        guard !n.input.isEmpty else { throw ONNXProblem("no inputs") }
        var rank: Int?
        for i in n.input.indices {
            let r = try operandRank(required(n, i))
            if let r, let known = rank, r != known { throw ONNXProblem("inputs have different ranks (\(known) and \(r))") }
            rank = rank ?? r
        }
        return (.concat(axis: try normalizedAxis(axis, rank: rank, inclusiveEnd: false)), Array(n.input), rank)
    }

    /// Maps a negative axis to its positive form; `inclusiveEnd` allows axis == rank (Flatten).
    func normalizedAxis(_ axis: Int, rank: Int?, inclusiveEnd: Bool) throws -> Int {
        guard let rank else {
            if axis < 0 { throw ONNXProblem("negative axis \(axis) on an input of unknown rank is not supported") }
            return axis
        }
        let limit = inclusiveEnd ? rank : rank - 1
        guard axis >= -rank, axis <= limit else { throw ONNXProblem("axis \(axis) is out of range for rank \(rank)") }
        return axis < 0 ? axis + rank : axis
    }

    // MARK: constants

    mutating func defineConstant(_ n: Onnx_NodeProto, _ attrs: ONNXAttributes) throws {
        try attrs.allowOnly(["value", "value_float", "value_floats", "value_int", "value_ints"])
        try checkOutputs(n, max: 1)
        guard attrs.names.count == 1 else { throw ONNXProblem("expected exactly one value attribute") }
        let c: ONNXConstant
        if let t = try attrs.tensor("value") {
            c = try decodeTensor(t)
        } else if let f = try attrs.float("value_float") {
            c = ONNXConstant(dims: [], dataType: ONNXType.float, floats: [f], ints: [])
        } else if let fs = try attrs.floats("value_floats") {
            c = ONNXConstant(dims: [fs.count], dataType: ONNXType.float, floats: fs, ints: [])
        } else if let i = try attrs.int("value_int") {
            c = ONNXConstant(dims: [], dataType: ONNXType.int64, floats: [], ints: [Int64(i)])
        } else if let ints = try attrs.ints("value_ints") {
            c = ONNXConstant(dims: [ints.count], dataType: ONNXType.int64, floats: [], ints: ints.map { Int64($0) })
        } else {
            throw ONNXProblem("no value attribute")
        }
        constants[n.output[0]] = c
    }

    /// Opsets < 7 spell numpy-style broadcasting `broadcast=1`; with `axis` it aligned B at that
    /// axis instead (not numpy), which stays refused. Without the attribute, shapes had to match,
    /// a case today's broadcasting computes identically.
    func legacyBroadcast(_ attrs: ONNXAttributes) -> Bool {
        opset < 7 && attrs.has("broadcast") && !attrs.has("axis")
    }
}
