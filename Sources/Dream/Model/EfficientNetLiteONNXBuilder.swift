import Foundation

/// Writes ONNX (opset 13) nodes and initializers from a PyTorch state dict, checking every
/// weight's shape as it goes, so a wrong or damaged checkpoint fails with the key it tripped on.
struct EfficientNetLiteONNXBuilder {
    let weights: TorchStateDict
    private(set) var nodes: [Onnx_NodeProto] = []
    private(set) var initializers: [Onnx_TensorProto] = []
    private var initializerNames: Set<String> = []

    init(weights: TorchStateDict) { self.weights = weights }

    /// Adds `key` from the state dict as an initializer after checking its shape.
    mutating func weight(_ key: String, shape: [Int]) throws -> String {
        guard let t = weights[key] else { throw PickleError("checkpoint has no tensor \(key)") }
        guard t.shape == shape else { throw PickleError("checkpoint tensor \(key) has shape \(t.shape), expected \(shape)") }
        addInitializer(key, t)
        return key
    }

    mutating func addInitializer(_ name: String, _ t: Tensor) {
        guard initializerNames.insert(name).inserted else { return }
        var proto = Onnx_TensorProto()
        proto.name = name
        proto.dims = t.shape.map(Int64.init)
        proto.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        proto.rawData = t.data.withUnsafeBufferPointer { buf in
            Data(buffer: UnsafeBufferPointer(start: buf.baseAddress.map { UnsafePointer($0) }, count: buf.count))
        }
        initializers.append(proto)
    }

    private mutating func node(
        _ type: String, _ inputs: [String], _ output: String,
        _ attributes: [Onnx_AttributeProto] = []
    ) -> String {
        var n = Onnx_NodeProto()
        n.opType = type
        n.name = "\(output)/\(type)"
        n.input = inputs
        n.output = [output]
        n.attribute = attributes
        nodes.append(n)
        return output
    }

    /// Conv without bias, TensorFlow SAME padding (auto_pad SAME_UPPER). Weight (O, I/groups, k, k).
    mutating func conv(
        _ x: String, _ key: String, in cin: Int, out cout: Int, kernel k: Int,
        stride s: Int, groups: Int = 1, output: String
    ) throws -> String {
        let w = try weight(key, shape: [cout, cin / groups, k, k])
        return node(
            "Conv", [x, w], output,
            [
                .ints("kernel_shape", [k, k]), .ints("strides", [s, s]), .ints("dilations", [1, 1]),
                .int("group", groups), .string("auto_pad", "SAME_UPPER")
            ])
    }

    /// BatchNormalization with the checkpoint's epsilon 1e-3 (TensorFlow's default; some
    /// channels have zero running variance, so the exact value matters).
    mutating func batchNorm(_ x: String, _ prefix: String, channels c: Int, output: String) throws -> String {
        let inputs = try ["weight", "bias", "running_mean", "running_var"].map { try weight("\(prefix).\($0)", shape: [c]) }
        return node("BatchNormalization", [x] + inputs, output, [.float("epsilon", 1e-3)])
    }

    /// ReLU6 as Clip(0, 6); opset 13 takes the bounds as inputs.
    mutating func relu6(_ x: String, output: String) -> String {
        addInitializer("relu6.min", Tensor(shape: [], data: [0]))
        addInitializer("relu6.max", Tensor(shape: [], data: [6]))
        return node("Clip", [x, "relu6.min", "relu6.max"], output)
    }

    mutating func add(_ a: String, _ b: String, output: String) -> String {
        node("Add", [a, b], output)
    }

    mutating func globalAveragePool(_ x: String, output: String) -> String {
        node("GlobalAveragePool", [x], output)
    }

    mutating func flatten(_ x: String, output: String) -> String {
        node("Flatten", [x], output, [.int("axis", 1)])
    }

    /// y = x · Wᵀ + b, W (out, in) as PyTorch's Linear stores it.
    mutating func linear(_ x: String, _ prefix: String, in cin: Int, out cout: Int, output: String) throws -> String {
        let w = try weight("\(prefix).weight", shape: [cout, cin])
        let b = try weight("\(prefix).bias", shape: [cout])
        return node("Gemm", [x, w, b], output, [.float("alpha", 1), .float("beta", 1), .int("transB", 1)])
    }
}

extension Onnx_AttributeProto {
    static func int(_ name: String, _ v: Int) -> Self {
        var a = Self(); a.name = name; a.type = .int; a.i = Int64(v); return a
    }
    static func ints(_ name: String, _ v: [Int]) -> Self {
        var a = Self(); a.name = name; a.type = .ints; a.ints = v.map(Int64.init); return a
    }
    static func float(_ name: String, _ v: Float) -> Self {
        var a = Self(); a.name = name; a.type = .float; a.f = v; return a
    }
    static func string(_ name: String, _ v: String) -> Self {
        var a = Self(); a.name = name; a.type = .string; a.s = Data(v.utf8); return a
    }
}
