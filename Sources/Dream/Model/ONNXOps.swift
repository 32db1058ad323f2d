/// The attribute-heavy ops: Conv, BatchNormalization, pools, LRN, Clip, Pad, Reshape, Gemm,
/// Softmax, Dropout. Each returns the `Op` (or parameters) or throws an `ONNXProblem` naming the
/// attribute or input it cannot honour exactly.

extension GraphBuilder {
    /// `auto_pad` plus `pads` → `Padding`; `pads` is [top, left, bottom, right] for 2-D.
    func padding(_ attrs: ONNXAttributes) throws -> Padding {
        let autoPad = try attrs.string("auto_pad") ?? "NOTSET"
        switch autoPad {
        case "NOTSET":
            let pads = try attrs.ints("pads") ?? [0, 0, 0, 0]
            guard pads.count == 4 else { throw ONNXProblem("attribute pads has \(pads.count) values; expected 4") }
            guard pads.allSatisfy({ $0 >= 0 }) else { throw ONNXProblem("negative pads \(pads) are not supported") }
            return .explicit(top: pads[0], left: pads[1], bottom: pads[2], right: pads[3])
        case "SAME_UPPER": return .sameUpper
        case "SAME_LOWER": return .sameLower
        case "VALID": return .valid
        default: throw ONNXProblem("attribute auto_pad=\(autoPad) is not supported")
        }
    }

    /// A 2-element spatial attribute (strides, dilations, kernel_shape), with a default.
    func pair(_ attrs: ONNXAttributes, _ name: String, default value: (h: Int, w: Int)?) throws -> (h: Int, w: Int) {
        guard let v = try attrs.ints(name) else {
            guard let value else { throw ONNXProblem("attribute \(name) is missing") }
            return value
        }
        guard v.count == 2 else { throw ONNXProblem("attribute \(name) has \(v.count) values; only 2-D (2 values) is supported") }
        guard v.allSatisfy({ $0 >= 1 }) else { throw ONNXProblem("attribute \(name)=\(v) must be positive") }
        return (v[0], v[1])
    }

    func conv(_ n: Onnx_NodeProto, _ attrs: ONNXAttributes) throws -> ConvParams {
        try attrs.allowOnly(["auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"])
        let weight = try floatConstant(n, 1, what: "W")
        guard weight.shape.count == 4 else {
            throw ONNXProblem("weight W has shape \(weight.shape); only 2-D convolution (4-D weight) is supported")
        }
        let bias = try optional(n, 2).map { _ in try floatConstant(n, 2, what: "B") }
        if let bias, bias.shape != [weight.shape[0]] {
            throw ONNXProblem("bias B has shape \(bias.shape); expected [\(weight.shape[0])]")
        }
        if let k = try attrs.ints("kernel_shape"), k != Array(weight.shape[2...]) {
            throw ONNXProblem("attribute kernel_shape=\(k) does not match weight shape \(weight.shape)")
        }
        let group = try attrs.int("group") ?? 1
        guard group >= 1, weight.shape[0] % group == 0 else {
            throw ONNXProblem("attribute group=\(group) does not divide the \(weight.shape[0]) output channels")
        }
        return ConvParams(
            weight: weight, bias: bias, strides: try pair(attrs, "strides", default: (1, 1)),
            dilations: try pair(attrs, "dilations", default: (1, 1)),
            padding: try padding(attrs), groups: group)
    }

    func batchNorm(_ n: Onnx_NodeProto, _ attrs: ONNXAttributes) throws -> BatchNormParams {
        try attrs.allowOnly(["epsilon", "momentum", "spatial", "training_mode", "is_test"])
        try requireTestModeBefore7(attrs)
        if let spatial = try attrs.int("spatial"), spatial != 1 { throw ONNXProblem("attribute spatial=\(spatial) is not supported") }
        if let t = try attrs.int("training_mode"), t != 0 { throw ONNXProblem("attribute training_mode=\(t) is not supported (inference only)") }
        try checkOutputs(n, max: 1)  // the extra outputs exist only in training mode
        let names = ["scale", "B", "mean", "var"]
        let params = try (1...4).map { try floatConstant(n, $0, what: names[$0 - 1]) }
        let channels = params[0].count
        for (p, name) in zip(params, names) where p.shape.count != 1 || p.count != channels {
            throw ONNXProblem("input \(name) has shape \(p.shape); expected [\(channels)]")
        }
        return BatchNormParams(
            scale: params[0], bias: params[1], mean: params[2], variance: params[3],
            epsilon: try attrs.float("epsilon") ?? 1e-5)
    }

    func pool(_ n: Onnx_NodeProto, _ attrs: ONNXAttributes) throws -> PoolParams {
        let isMax = n.opType == "MaxPool"
        try attrs.allowOnly(
            isMax
                ? ["auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides"]
                : ["auto_pad", "ceil_mode", "count_include_pad", "kernel_shape", "pads", "strides"])
        if let order = try attrs.int("storage_order"), order != 0 {
            throw ONNXProblem("attribute storage_order=\(order) is not supported")
        }
        if let d = try attrs.ints("dilations"), d.contains(where: { $0 != 1 }) {
            throw ONNXProblem("attribute dilations=\(d) is not supported on pools")
        }
        try checkOutputs(n, max: 1)  // MaxPool's Indices output
        let ceil = try attrs.int("ceil_mode") ?? 0
        let include = try attrs.int("count_include_pad") ?? 0
        guard ceil == 0 || ceil == 1, include == 0 || include == 1 else {
            throw ONNXProblem("attributes ceil_mode=\(ceil), count_include_pad=\(include) must be 0 or 1")
        }
        let kernel = try pair(attrs, "kernel_shape", default: nil)
        return PoolParams(
            kernel: kernel, strides: try pair(attrs, "strides", default: (1, 1)),
            padding: try padding(attrs), ceilMode: ceil == 1, countIncludePad: include == 1)
    }

    func lrn(_ attrs: ONNXAttributes) throws -> Op {
        try attrs.allowOnly(["alpha", "beta", "bias", "size"])
        guard let size = try attrs.int("size"), size >= 1 else { throw ONNXProblem("attribute size is missing or not positive") }
        return .lrn(
            size: size, alpha: try attrs.float("alpha") ?? 1e-4, beta: try attrs.float("beta") ?? 0.75,
            bias: try attrs.float("bias") ?? 1)
    }

    /// Opset < 11: min/max attributes; later: optional constant scalar inputs. Absent = unbounded.
    func clip(_ n: Onnx_NodeProto, _ attrs: ONNXAttributes) throws -> Op {
        var bounds: [Float] = [-.infinity, .infinity]
        if opset < 11 {
            try attrs.allowOnly(["min", "max"])
            bounds = [try attrs.float("min") ?? bounds[0], try attrs.float("max") ?? bounds[1]]
        } else {
            try attrs.allowOnly([])
            for (i, what) in [(1, "min"), (2, "max")] where optional(n, i) != nil {
                let t = try floatConstant(n, i, what: what)
                guard t.count == 1 else { throw ONNXProblem("input \(what) has shape \(t.shape); expected a scalar") }
                bounds[i - 1] = t.data[0]
            }
        }
        return .clip(min: bounds[0], max: bounds[1])
    }

    func pad(_ n: Onnx_NodeProto, _ attrs: ONNXAttributes, rank: Int?) throws -> Op {
        let mode = try attrs.string("mode") ?? "constant"
        guard mode == "constant" else { throw ONNXProblem("attribute mode=\(mode) is not supported (only constant)") }
        var pads: [Int], value: Float = 0
        if opset < 11 {
            try attrs.allowOnly(["mode", "pads", "value"])
            guard let p = try attrs.ints("pads") else { throw ONNXProblem("attribute pads is missing") }
            pads = p
            value = try attrs.float("value") ?? 0
        } else {
            try attrs.allowOnly(["mode"])
            if optional(n, 3) != nil { throw ONNXProblem("input axes is not supported") }
            pads = try intConstant(n, 1, what: "pads")
            if optional(n, 2) != nil {
                let v = try floatConstant(n, 2, what: "constant_value")
                guard v.count == 1 else { throw ONNXProblem("input constant_value has shape \(v.shape); expected a scalar") }
                value = v.data[0]
            }
        }
        if let rank, pads.count != 2 * rank { throw ONNXProblem("pads has \(pads.count) values; expected \(2 * rank) for rank \(rank)") }
        guard pads.count % 2 == 0 else { throw ONNXProblem("pads has an odd number of values (\(pads.count))") }
        guard pads.allSatisfy({ $0 >= 0 }) else { throw ONNXProblem("negative pads \(pads) (cropping) are not supported") }
        return .pad(pads: pads, value: value)
    }

    func reshapeTarget(_ n: Onnx_NodeProto, _ attrs: ONNXAttributes) throws -> [Int] {
        let shape: [Int]
        if opset < 5, let attribute = try attrs.ints("shape") {  // Reshape-1: shape was an attribute
            try attrs.allowOnly(["shape"])
            shape = attribute
        } else {
            try attrs.allowOnly(["allowzero"])
            shape = try intConstant(n, 1, what: "shape")
        }
        if let allowZero = try attrs.int("allowzero"), allowZero != 0, shape.contains(0) {
            throw ONNXProblem("attribute allowzero=\(allowZero) with a 0 in shape \(shape) is not supported")
        }
        guard shape.filter({ $0 == -1 }).count <= 1, shape.allSatisfy({ $0 >= -1 }) else {
            throw ONNXProblem("shape \(shape) is invalid (at most one -1, no other negatives)")
        }
        return shape
    }

    func gemm(_ n: Onnx_NodeProto, _ attrs: ONNXAttributes) throws -> Op {
        try attrs.allowOnly(
            legacyBroadcast(attrs)
                ? ["alpha", "beta", "transA", "transB", "broadcast"]
                : ["alpha", "beta", "transA", "transB"])
        let b = try floatConstant(n, 1, what: "B")
        guard b.shape.count == 2 else { throw ONNXProblem("B has shape \(b.shape); expected 2-D") }
        let c = try optional(n, 2).map { _ in try floatConstant(n, 2, what: "C") }
        if let c, c.shape.count > 2 { throw ONNXProblem("C has shape \(c.shape); expected at most 2-D") }
        let transA = try attrs.int("transA") ?? 0, transB = try attrs.int("transB") ?? 0
        guard [0, 1].contains(transA), [0, 1].contains(transB) else {
            throw ONNXProblem("attributes transA=\(transA), transB=\(transB) must be 0 or 1")
        }
        if let c, c.shape.count == 2 {
            let cols = transB == 1 ? b.shape[0] : b.shape[1]
            guard c.shape[1] == cols || c.shape[1] == 1 else { throw ONNXProblem("C has shape \(c.shape); B gives \(cols) columns") }
        }
        return .gemm(
            b: b, c: c, alpha: try attrs.float("alpha") ?? 1, beta: try attrs.float("beta") ?? 1,
            transA: transA == 1, transB: transB == 1)
    }

    /// Opset 13 made Softmax act on one axis (default -1). Before, it flattened the input to 2-D
    /// at `axis` (default 1), which equals the one-axis form only when `axis` is the last one.
    func softmaxAxis(_ attrs: ONNXAttributes, rank: Int?) throws -> Int {
        try attrs.allowOnly(["axis"])
        if opset >= 13 { return try normalizedAxis(try attrs.int("axis") ?? -1, rank: rank, inclusiveEnd: false) }
        let axis = try attrs.int("axis") ?? 1
        guard let rank else { throw ONNXProblem("Softmax (opset \(opset)) on an input of unknown rank is not supported") }
        let a = try normalizedAxis(axis, rank: rank, inclusiveEnd: false)
        guard a == rank - 1 else {
            throw ONNXProblem(
                "Softmax (opset \(opset)) with axis=\(axis) on a rank-\(rank) input flattens the trailing axes; only the last axis is supported")
        }
        return a
    }

    /// Dropout is the identity at inference. Opset 12 added `ratio` and `training_mode` inputs;
    /// training mode (random masking) is refused, as is the mask output.
    func checkDropout(_ n: Onnx_NodeProto, _ attrs: ONNXAttributes) throws {
        try attrs.allowOnly(["ratio", "seed", "is_test"])
        try requireTestModeBefore7(attrs)
        if optional(n, 2) != nil {
            let c = try constant(n, 2, what: "training_mode")
            guard c.ints.allSatisfy({ $0 == 0 }) && c.floats.allSatisfy({ $0 == 0 }) else {
                throw ONNXProblem("training_mode=true is not supported (inference only)")
            }
        }
        try checkOutputs(n, max: 1)
    }

    /// Before opset 7, BatchNormalization and Dropout default to training mode (is_test=0).
    func requireTestModeBefore7(_ attrs: ONNXAttributes) throws {
        let isTest = try attrs.int("is_test")
        if opset < 7 && isTest != 1 { throw ONNXProblem("training mode (is_test=\(isTest ?? 0), opset \(opset)) is not supported") }
        if opset >= 7 && isTest != nil { throw ONNXProblem("attribute is_test is not supported") }
    }
}
