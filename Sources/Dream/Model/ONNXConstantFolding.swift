/// Constant folding: a node whose inputs are all constants is evaluated at load, so the shape
/// arithmetic exporters write (Shape of a constant, Gather, Unsqueeze, Concat, Cast, Slice,
/// Reshape, Add/Sub/Mul/Div, Neg, Sqrt) never runs. The result becomes a constant like an
/// initializer. Ops outside this list on constants stay an error naming the op.

extension GraphBuilder {
    /// Ops `foldConstants` evaluates.
    static let foldableOps: Set<String> = [
        "Cast", "Shape", "Unsqueeze", "Squeeze", "Gather", "Concat", "Slice", "Reshape", "Flatten",
        "Add", "Sub", "Mul", "Div", "Neg", "Sqrt", "Identity", "Dropout"
    ]

    /// True when `n` reads only constants (and at least one); such a node is folded or refused.
    func readsOnlyConstants(_ n: Onnx_NodeProto) -> Bool {
        let named = n.input.filter { !$0.isEmpty }
        return !named.isEmpty && named.allSatisfy { constants[$0] != nil }
    }

    /// Evaluates `n` on its constant inputs and defines its output as a constant.
    mutating func foldConstants(_ n: Onnx_NodeProto) throws {
        guard GraphBuilder.foldableOps.contains(n.opType) else {
            throw ONNXProblem(
                "operator \(n.opType) on constant inputs is not supported (constant folding covers \(GraphBuilder.foldableOps.sorted().joined(separator: ", ")))"
            )
        }
        let attrs = try ONNXAttributes(n)
        try checkOutputs(n, max: 1)
        let x = try constant(n, 0, what: "input")
        let result: ONNXConstant
        switch n.opType {
        case "Identity":
            try attrs.allowOnly([]); result = x
        case "Dropout":
            try checkDropout(n, attrs); result = x
        case "Cast":
            try attrs.allowOnly(["to", "saturate"])
            guard let to = try attrs.int("to") else { throw ONNXProblem("attribute to is missing") }
            result = try cast(x, to: Int32(to))
        case "Shape":
            try attrs.allowOnly(["start", "end"])
            let r = x.dims.count
            func clampAxis(_ a: Int) -> Int { min(max(a < 0 ? a + r : a, 0), r) }
            let s = clampAxis(try attrs.int("start") ?? 0), e = clampAxis(try attrs.int("end") ?? r)
            let dims = s < e ? Array(x.dims[s..<e]) : []
            result = ONNXConstant(dims: [dims.count], dataType: ONNXType.int64, floats: [], ints: dims.map(Int64.init))
        case "Unsqueeze", "Squeeze":
            var axes = try attrs.ints("axes")
            if opset >= 13 {
                try attrs.allowOnly([])
                if optional(n, 1) != nil { axes = try intConstant(n, 1, what: "axes") }
            } else {
                try attrs.allowOnly(["axes"])
            }
            result = try n.opType == "Unsqueeze" ? unsqueeze(x, axes: axes ?? []) : squeeze(x, axes: axes)
        case "Gather":
            try attrs.allowOnly(["axis"])
            let indices = try constant(n, 1, what: "indices")
            result = try gather(x, indices: indices, axis: attrs.int("axis") ?? 0)
        case "Concat":
            try attrs.allowOnly(["axis"])
            guard let axis = try attrs.int("axis") else { throw ONNXProblem("attribute axis is missing") }
            let parts = try n.input.indices.map { try constant(n, $0, what: "input \($0)") }
            result = try concatenate(parts, axis: axis)
        case "Slice":
            result = try slice(n, x, attrs)
        case "Reshape":
            try attrs.allowOnly(["allowzero"])
            let target = try intConstant(n, 1, what: "shape")
            result = try reshaped(x, to: target, allowZero: (try attrs.int("allowzero") ?? 0) != 0)
        case "Flatten":
            try attrs.allowOnly(["axis"])
            let axis = try normalizedAxis(attrs.int("axis") ?? 1, rank: x.dims.count, inclusiveEnd: true)
            let outer = x.dims[..<axis].reduce(1, *)
            result = ONNXConstant(dims: [outer, x.count / max(outer, 1)], dataType: x.dataType, floats: x.floats, ints: x.ints)
        case "Neg", "Sqrt":
            try attrs.allowOnly([])
            result = map(x) { n.opType == "Neg" ? -$0 : $0.squareRoot() }
        default:  // Add, Sub, Mul, Div
            try attrs.allowOnly(legacyBroadcast(attrs) ? ["broadcast"] : [])
            let y = try constant(n, 1, what: "B")
            result = try broadcast(x, y, op: n.opType)
        }
        constants[n.output[0]] = result
    }

    // MARK: the evaluators (small tensors: shapes, per-channel statistics)

    private func values(_ c: ONNXConstant) -> [Double] {
        c.isFloat ? c.floats.map(Double.init) : c.ints.map(Double.init)
    }

    private func make(_ dims: [Int], _ v: [Double], like c: ONNXConstant) -> ONNXConstant {
        c.isFloat
            ? ONNXConstant(dims: dims, dataType: c.dataType, floats: v.map(Float.init), ints: [])
            : ONNXConstant(dims: dims, dataType: c.dataType, floats: [], ints: v.map { Int64($0.rounded(.towardZero)) })
    }

    private func map(_ c: ONNXConstant, _ f: (Double) -> Double) -> ONNXConstant {
        make(c.dims, values(c).map(f), like: c)
    }

    private func cast(_ x: ONNXConstant, to type: Int32) throws -> ONNXConstant {
        let v = values(x)
        switch type {
        case ONNXType.float, ONNXType.double:
            return ONNXConstant(dims: x.dims, dataType: type, floats: v.map(Float.init), ints: [])
        case ONNXType.int64, ONNXType.int32:
            return ONNXConstant(dims: x.dims, dataType: type, floats: [], ints: v.map { Int64($0.rounded(.towardZero)) })
        case ONNXType.bool:
            return ONNXConstant(dims: x.dims, dataType: type, floats: [], ints: v.map { $0 != 0 ? 1 : 0 })
        default:
            throw ONNXProblem("Cast to \(ONNXType.name(type)) is not supported")
        }
    }

    private func unsqueeze(_ x: ONNXConstant, axes: [Int]) throws -> ONNXConstant {
        let rank = x.dims.count + axes.count
        let normalized = try axes.map { try normalizedAxis($0, rank: rank, inclusiveEnd: false) }.sorted()
        guard Set(normalized).count == normalized.count else { throw ONNXProblem("axes \(axes) repeat") }
        var dims = x.dims
        for a in normalized { dims.insert(1, at: a) }
        return ONNXConstant(dims: dims, dataType: x.dataType, floats: x.floats, ints: x.ints)
    }

    private func squeeze(_ x: ONNXConstant, axes: [Int]?) throws -> ONNXConstant {
        let r = x.dims.count
        let drop =
            try axes.map { try Set($0.map { try normalizedAxis($0, rank: r, inclusiveEnd: false) }) }
            ?? Set(x.dims.indices.filter { x.dims[$0] == 1 })
        for a in drop where x.dims[a] != 1 { throw ONNXProblem("cannot squeeze axis \(a) of size \(x.dims[a])") }
        let dims = x.dims.indices.filter { !drop.contains($0) }.map { x.dims[$0] }
        return ONNXConstant(dims: dims, dataType: x.dataType, floats: x.floats, ints: x.ints)
    }

    /// Row-major strides of `dims`.
    private func strides(_ dims: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: dims.count)
        for i in stride(from: dims.count - 2, through: 0, by: -1) { s[i] = s[i + 1] * dims[i + 1] }
        return s
    }

    private func gather(_ x: ONNXConstant, indices: ONNXConstant, axis: Int) throws -> ONNXConstant {
        guard !indices.isFloat else { throw ONNXProblem("Gather indices must be integers") }
        let a = try normalizedAxis(axis, rank: x.dims.count, inclusiveEnd: false)
        let n = x.dims[a]
        let idx = try indices.ints.map { i -> Int in
            let j = Int(i) < 0 ? Int(i) + n : Int(i)
            guard j >= 0, j < n else { throw ONNXProblem("Gather index \(i) is out of range for axis \(a) of size \(n)") }
            return j
        }
        let outer = x.dims[..<a].reduce(1, *), inner = x.dims[(a + 1)...].reduce(1, *)
        let v = values(x)
        var out: [Double] = []
        out.reserveCapacity(outer * idx.count * inner)
        for o in 0..<outer {
            for j in idx { out.append(contentsOf: v[(o * n + j) * inner..<(o * n + j + 1) * inner]) }
        }
        let dims = Array(x.dims[..<a]) + indices.dims + Array(x.dims[(a + 1)...])
        return make(dims, out, like: x)
    }

    private func concatenate(_ parts: [ONNXConstant], axis: Int) throws -> ONNXConstant {
        let first = parts[0]
        let a = try normalizedAxis(axis, rank: first.dims.count, inclusiveEnd: false)
        for p in parts
        where p.dims.count != first.dims.count || p.isFloat != first.isFloat
            || p.dims.indices.contains(where: { $0 != a && p.dims[$0] != first.dims[$0] })
        {
            throw ONNXProblem("Concat inputs \(parts.map(\.dims)) do not match along axis \(a)")
        }
        let outer = first.dims[..<a].reduce(1, *)
        let partValues = parts.map(values), chunks = parts.map { $0.dims[a...].reduce(1, *) }
        var out: [Double] = []
        for o in 0..<outer {
            for (v, chunk) in zip(partValues, chunks) { out.append(contentsOf: v[o * chunk..<(o + 1) * chunk]) }
        }
        var dims = first.dims
        dims[a] = parts.map { $0.dims[a] }.reduce(0, +)
        return make(dims, out, like: first)
    }

    private func slice(_ n: Onnx_NodeProto, _ x: ONNXConstant, _ attrs: ONNXAttributes) throws -> ONNXConstant {
        var starts: [Int], ends: [Int], axes: [Int]?, steps: [Int]?
        if opset < 10 {
            try attrs.allowOnly(["starts", "ends", "axes"])
            guard let s = try attrs.ints("starts"), let e = try attrs.ints("ends") else { throw ONNXProblem("attributes starts and ends are needed") }
            (starts, ends, axes, steps) = (s, e, try attrs.ints("axes"), nil)
        } else {
            try attrs.allowOnly([])
            func bigInts(_ i: Int, _ what: String) throws -> [Int] {
                let c = try constant(n, i, what: what)
                return c.ints.map { Int(clamping: $0) }
            }
            starts = try bigInts(1, "starts"); ends = try bigInts(2, "ends")
            axes = optional(n, 3) != nil ? try bigInts(3, "axes") : nil
            steps = optional(n, 4) != nil ? try bigInts(4, "steps") : nil
        }
        let r = x.dims.count
        let axisList = try (axes ?? Array(0..<starts.count)).map { try normalizedAxis($0, rank: r, inclusiveEnd: false) }
        guard starts.count == ends.count, axisList.count == starts.count, (steps?.count ?? starts.count) == starts.count else {
            throw ONNXProblem("starts, ends, axes and steps have different lengths")
        }
        // Per axis: the selected indices.
        var picks = x.dims.map { Array(0..<$0) }
        for (k, a) in axisList.enumerated() {
            let d = x.dims[a], step = steps?[k] ?? 1
            guard step != 0 else { throw ONNXProblem("Slice step 0") }
            func clamp(_ v: Int, _ lo: Int, _ hi: Int) -> Int { min(max(v, lo), hi) }
            var s = starts[k] < 0 ? starts[k] + d : starts[k], e = ends[k] < 0 ? ends[k] + d : ends[k]
            if step > 0 {
                s = clamp(s, 0, d); e = clamp(e, 0, d)
                picks[a] = Array(stride(from: s, to: e, by: step))
            } else {
                s = clamp(s, 0, d - 1); e = clamp(e, -1, d - 1)
                picks[a] = Array(stride(from: s, to: e, by: step))
            }
        }
        let st = strides(x.dims), v = values(x)
        var out: [Double] = []
        func walk(_ axis: Int, _ offset: Int) {
            if axis == r { out.append(v[offset]); return }
            for i in picks[axis] { walk(axis + 1, offset + i * st[axis]) }
        }
        if picks.allSatisfy({ !$0.isEmpty }) { walk(0, 0) }
        return make(picks.map(\.count), out, like: x)
    }

    private func reshaped(_ x: ONNXConstant, to target: [Int], allowZero: Bool) throws -> ONNXConstant {
        var dims = target.enumerated().map { i, d in d == 0 && !allowZero && i < x.dims.count ? x.dims[i] : d }
        if let unknown = dims.firstIndex(of: -1) {
            let known = dims.enumerated().filter { $0.offset != unknown }.map(\.element).reduce(1, *)
            guard known > 0, x.count % known == 0 else { throw ONNXProblem("cannot reshape \(x.dims) to \(target)") }
            dims[unknown] = x.count / known
        }
        guard dims.allSatisfy({ $0 >= 0 }), dims.reduce(1, *) == x.count else { throw ONNXProblem("cannot reshape \(x.dims) to \(target)") }
        return ONNXConstant(dims: dims, dataType: x.dataType, floats: x.floats, ints: x.ints)
    }

    /// numpy broadcasting of two constants.
    private func broadcast(_ x: ONNXConstant, _ y: ONNXConstant, op: String) throws -> ONNXConstant {
        let r = max(x.dims.count, y.dims.count)
        let xd = [Int](repeating: 1, count: r - x.dims.count) + x.dims
        let yd = [Int](repeating: 1, count: r - y.dims.count) + y.dims
        var dims: [Int] = []
        for (a, b) in zip(xd, yd) {
            guard a == b || a == 1 || b == 1 else { throw ONNXProblem("shapes \(x.dims) and \(y.dims) do not broadcast") }
            dims.append(a == 1 ? b : a)
        }
        let xs = strides(xd), ys = strides(yd), os = strides(dims)
        let xv = values(x), yv = values(y)
        let integer = !x.isFloat && !y.isFloat
        var out = [Double](repeating: 0, count: dims.reduce(1, *))
        for i in out.indices {
            var xi = 0, yi = 0, rest = i
            for a in 0..<r {
                let c = rest / os[a]; rest %= os[a]
                if xd[a] != 1 { xi += c * xs[a] }
                if yd[a] != 1 { yi += c * ys[a] }
            }
            let p = xv[xi], q = yv[yi]
            switch op {
            case "Add": out[i] = p + q
            case "Sub": out[i] = p - q
            case "Mul": out[i] = p * q
            default:
                if integer && q == 0 { throw ONNXProblem("integer division by zero") }
                out[i] = integer ? (p / q).rounded(.towardZero) : p / q
            }
        }
        return make(dims, out, like: x.isFloat || !y.isFloat ? x : y)
    }
}
