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

/// A 2-D convolution as ONNX Conv defines it, with its constant weights.
public struct ConvParams: Sendable, Equatable {
    /// Filters: O output channels, each over I / groups input channels, kh x kw taps.
    public var weight: Tensor  // (O, I / groups, kh, kw)
    /// One value per output channel; nil: no bias.
    public var bias: Tensor?  // (O)
    /// Window step in input pixels, vertical and horizontal.
    public var strides: (h: Int, w: Int)
    /// Spacing of the kernel taps in input pixels (1: adjacent).
    public var dilations: (h: Int, w: Int)
    /// How the input is padded.
    public var padding: Padding
    /// Channel groups: 1 for a dense conv, the channel count for a depthwise one; O must be a multiple.
    public var groups: Int

    /// A convolution as given; strides, dilations and groups default to 1.
    public init(
        weight: Tensor, bias: Tensor?, strides: (h: Int, w: Int) = (1, 1),
        dilations: (h: Int, w: Int) = (1, 1), padding: Padding, groups: Int = 1
    ) {
        self.weight = weight; self.bias = bias; self.strides = strides
        self.dilations = dilations; self.padding = padding; self.groups = groups
    }

    /// Field by field (tuples are not Equatable, so this is written out).
    public static func == (a: ConvParams, b: ConvParams) -> Bool {
        a.weight == b.weight && a.bias == b.bias && a.strides == b.strides
            && a.dilations == b.dilations && a.padding == b.padding && a.groups == b.groups
    }
}

/// A max or average pooling window as ONNX MaxPool / AveragePool define it.
public struct PoolParams: Sendable, Equatable {
    /// Window size in input pixels.
    public var kernel: (h: Int, w: Int)
    /// Window step in input pixels.
    public var strides: (h: Int, w: Int)
    /// How the input is padded.
    public var padding: Padding
    /// ONNX ceil_mode: the output size rounds up, so a last partial window still gives an output.
    public var ceilMode: Bool
    /// ONNX count_include_pad: padded cells count in the average's divisor.
    public var countIncludePad: Bool  // AveragePool only

    /// A window as given; by default the output size rounds down and padding is not counted.
    public init(
        kernel: (h: Int, w: Int), strides: (h: Int, w: Int), padding: Padding,
        ceilMode: Bool = false, countIncludePad: Bool = false
    ) {
        self.kernel = kernel; self.strides = strides; self.padding = padding
        self.ceilMode = ceilMode; self.countIncludePad = countIncludePad
    }

    /// Field by field (tuples are not Equatable, so this is written out).
    public static func == (a: PoolParams, b: PoolParams) -> Bool {
        a.kernel == b.kernel && a.strides == b.strides && a.padding == b.padding
            && a.ceilMode == b.ceilMode && a.countIncludePad == b.countIncludePad
    }
}

/// Inference BatchNorm: y = scale · (x − mean) / √(variance + epsilon) + bias per channel.
/// `Network` folds it into the conv before it.
public struct BatchNormParams: Sendable, Equatable {
    public var scale, bias, mean, variance: Tensor  // each (C)
    /// Added to the variance before the square root.
    public var epsilon: Float
    /// A BatchNorm of these per-channel tensors, each (C).
    public init(scale: Tensor, bias: Tensor, mean: Tensor, variance: Tensor, epsilon: Float) {
        self.scale = scale; self.bias = bias; self.mean = mean; self.variance = variance; self.epsilon = epsilon
    }
}

/// What one node computes, with its constant parameters; the node's `inputs` are the operands.
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

/// One operation of a graph: reads `inputs` (value names), writes the value `output`.
public struct Node: Sendable, Equatable {
    /// The node's own name (ONNX's), used in errors and profiles.
    public var name: String
    /// What it computes.
    public var op: Op
    /// Operands in order: the graph input, a constant or an earlier node's output.
    public var inputs: [String]  // value names; a constant operand is named in `Graph.constants`
    /// Name of the value it produces; unique in the graph.
    public var output: String

    /// A node as given.
    public init(name: String, op: Op, inputs: [String], output: String) {
        self.name = name; self.op = op; self.inputs = inputs; self.output = output
    }
}

/// A network as Reverie runs it (see the file comment), not yet checked or compiled: `Network` does that.
public struct Graph: Sendable {
    /// Name of the one runtime input: the image, (1, C, H, W).
    public var input: String  // the image, (1, C, H, W)
    /// C of the input; 0 when the model does not say (conformance tests with non-image inputs).
    public var inputChannels: Int
    /// Every operation, each after the nodes it reads from.
    public var nodes: [Node]  // topologically sorted
    /// Constant operands (of add, mul and concat) by value name.
    public var constants: [String: Tensor]  // constant operands of add/mul/concat
    /// Values the model returns (e.g. "logits"); they stay addressable when ops are fused.
    public var outputs: [String]
    /// `reverie.mean`, `reverie.std`, `reverie.layers`, `reverie.recommended` and any other keys.
    public var metadata: [String: String]  // ONNX metadata_props (preprocessing, recommended layers)

    /// The exporter's input prefix, removed from the graph and folded into preprocessing: model
    /// channel k = scale[k] · declared input channel source[k] + shift[k]; nil: none.
    public var inputAffine: InputAffine?
    /// Values of the ONNX file that Reverie cannot compute (after an op it does not run, in the
    /// classifier head), each with the one-line reason.
    public var unavailable: [String: String]
    /// The exporter that wrote the file (ONNX producer_name, e.g. "pytorch", "tf2onnx"); "" if unknown.
    public var producer: String

    /// A graph as given; constants, metadata and the rest default to none.
    public init(
        input: String, inputChannels: Int, nodes: [Node], constants: [String: Tensor] = [:],
        outputs: [String], metadata: [String: String] = [:], inputAffine: InputAffine? = nil,
        unavailable: [String: String] = [:], producer: String = ""
    ) {
        self.input = input; self.inputChannels = inputChannels; self.nodes = nodes
        self.constants = constants; self.outputs = outputs; self.metadata = metadata
        self.inputAffine = inputAffine; self.unavailable = unavailable; self.producer = producer
    }
}
