/// The network as Reverie executes it: a topologically sorted list of single-output nodes over
/// named values. The ONNX loader builds it; the default-model converter writes ONNX that loads
/// into it; the engine runs it forwards and pulls gradients back through it.

/// How a window (conv or pool) pads its input. `sameUpper` is TensorFlow's SAME: output =
/// ceil(n / stride), the odd pixel of padding goes to the bottom/right.
public enum Padding: Sendable, Equatable {
    case explicit(top: Int, left: Int, bottom: Int, right: Int)
    case sameUpper
    case sameLower
    case valid
}

public struct ConvParams: Sendable, Equatable {
    public var weight: Tensor  // (O, I / groups, kh, kw)
    public var bias: Tensor?  // (O)
    public var strides: (h: Int, w: Int)
    public var dilations: (h: Int, w: Int)
    public var padding: Padding
    public var groups: Int

    public init(
        weight: Tensor, bias: Tensor?, strides: (h: Int, w: Int) = (1, 1),
        dilations: (h: Int, w: Int) = (1, 1), padding: Padding, groups: Int = 1
    ) {
        self.weight = weight; self.bias = bias; self.strides = strides
        self.dilations = dilations; self.padding = padding; self.groups = groups
    }

    public static func == (a: ConvParams, b: ConvParams) -> Bool {
        a.weight == b.weight && a.bias == b.bias && a.strides == b.strides
            && a.dilations == b.dilations && a.padding == b.padding && a.groups == b.groups
    }
}

public struct PoolParams: Sendable, Equatable {
    public var kernel: (h: Int, w: Int)
    public var strides: (h: Int, w: Int)
    public var padding: Padding
    public var ceilMode: Bool
    public var countIncludePad: Bool  // AveragePool only

    public init(
        kernel: (h: Int, w: Int), strides: (h: Int, w: Int), padding: Padding,
        ceilMode: Bool = false, countIncludePad: Bool = false
    ) {
        self.kernel = kernel; self.strides = strides; self.padding = padding
        self.ceilMode = ceilMode; self.countIncludePad = countIncludePad
    }

    public static func == (a: PoolParams, b: PoolParams) -> Bool {
        a.kernel == b.kernel && a.strides == b.strides && a.padding == b.padding
            && a.ceilMode == b.ceilMode && a.countIncludePad == b.countIncludePad
    }
}

public struct BatchNormParams: Sendable, Equatable {
    public var scale, bias, mean, variance: Tensor  // each (C)
    public var epsilon: Float
    public init(scale: Tensor, bias: Tensor, mean: Tensor, variance: Tensor, epsilon: Float) {
        self.scale = scale; self.bias = bias; self.mean = mean; self.variance = variance; self.epsilon = epsilon
    }
}

public enum Op: Sendable, Equatable {
    case conv(ConvParams)  // inputs: [x]
    case batchNorm(BatchNormParams)  // inputs: [x]; folded into the preceding conv at load
    case relu
    case clip(min: Float, max: Float)  // ReLU6 is clip(0, 6)
    case sigmoid
    case add  // inputs: two values (same shape, or one broadcast constant)
    case mul
    case concat(axis: Int)
    case maxPool(PoolParams)
    case averagePool(PoolParams)
    case globalAveragePool
    case lrn(size: Int, alpha: Float, beta: Float, bias: Float)
    case pad(pads: [Int], value: Float)  // ONNX order: [x1_begin, x2_begin, ..., x1_end, x2_end, ...]; constant mode
    case flatten(axis: Int)
    case reshape(shape: [Int])  // ONNX semantics: 0 copies the input dim, -1 is inferred
    case gemm(b: Tensor, c: Tensor?, alpha: Float, beta: Float, transA: Bool, transB: Bool)  // inputs: [A]
    case matMul(b: Tensor)  // inputs: [A]
    case softmax(axis: Int)
    case identity  // Dropout at inference
}

public struct Node: Sendable, Equatable {
    public var name: String
    public var op: Op
    public var inputs: [String]  // value names; a constant operand is named in `Graph.constants`
    public var output: String

    public init(name: String, op: Op, inputs: [String], output: String) {
        self.name = name; self.op = op; self.inputs = inputs; self.output = output
    }
}

public struct Graph: Sendable {
    public var input: String  // the image, (1, C, H, W)
    public var inputChannels: Int
    public var nodes: [Node]  // topologically sorted
    public var constants: [String: Tensor]  // constant operands of add/mul/concat
    public var outputs: [String]
    public var metadata: [String: String]  // ONNX metadata_props (preprocessing, recommended layers)

    public init(
        input: String, inputChannels: Int, nodes: [Node], constants: [String: Tensor] = [:],
        outputs: [String], metadata: [String: String] = [:]
    ) {
        self.input = input; self.inputChannels = inputChannels; self.nodes = nodes
        self.constants = constants; self.outputs = outputs; self.metadata = metadata
    }
}
