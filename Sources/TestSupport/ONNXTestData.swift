@_spi(ONNX) import Dream
import Foundation

/// ONNX's own node conformance data (Debian's libonnx-testdata): one folder per case holding
/// `model.onnx` and `test_data_set_0/{input_N.pb, output_0.pb}`.
public enum ONNXTestData {
    /// Where libonnx-testdata installs the node cases.
    public static let root = "/usr/share/libonnx-testdata/data/node"

    /// Whether `root` exists; the conformance tests skip without it.
    public static var isInstalled: Bool { FileManager.default.fileExists(atPath: root) }

    /// One conformance case: its folder and its parsed model.
    public struct Case {
        /// The folder's name, which is ONNX's name for the case.
        public let name: String  // folder name, e.g. "test_conv_with_strides_padding"
        /// Path of the case's folder.
        public let directory: String
        /// The case's model.onnx, parsed.
        @_spi(ONNX) public let model: Onnx_ModelProto
        /// Op type of the model's first node; "" when it has none.
        public var opType: String { model.graph.node.first?.opType ?? "" }
        /// `directory`/model.onnx.
        public var modelPath: String { directory + "/model.onnx" }
        /// `directory`/test_data_set_0, holding input_N.pb and output_N.pb.
        public var dataDirectory: String { directory + "/test_data_set_0" }
    }

    /// Every folder whose model is exactly one node with an op type in `ops`, sorted by name.
    public static func singleOpCases(ops: Set<String>) throws -> [Case] {
        try allCases(in: root).filter { c in
            c.model.graph.node.count == 1 && ops.contains(c.opType)
        }
    }

    /// Every folder with a model and test data under `directory` (node, pytorch-converted, ...).
    public static func allCases(in directory: String) throws -> [Case] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        var cases: [Case] = []
        for name in names where name.hasPrefix("test_") {
            let dir = directory + "/" + name
            guard FileManager.default.fileExists(atPath: dir + "/model.onnx"),
                FileManager.default.fileExists(atPath: dir + "/test_data_set_0/input_0.pb")
            else { continue }
            let model = try ONNXLoader.readModel(path: dir + "/model.onnx")
            cases.append(Case(name: name, directory: dir, model: model))
        }
        return cases
    }

    /// The graph inputs that are not initializers, in order: input_N.pb feeds the N-th.
    public static func runtimeInputs(_ c: Case) -> [String] {
        let initializers = Set(c.model.graph.initializer.map(\.name))
        return c.model.graph.input.map(\.name).filter { !initializers.contains($0) }
    }

    /// The model with every runtime input after the first turned into an initializer holding
    /// that input's test data. Reverie graphs have one runtime input (the image); the data's
    /// weights, shapes, pads and second operands are graph inputs, and freezing them exercises
    /// exactly the constant-operand path real models use. The frozen inputs stay listed as graph
    /// inputs, as in older ONNX files, which the loader must also accept.
    @_spi(ONNX) public static func frozenModel(_ c: Case) throws -> Onnx_ModelProto {
        var model = c.model
        for (i, name) in runtimeInputs(c).enumerated().dropFirst() {
            var t = try ONNXLoader.readTensorProto(path: c.dataDirectory + "/input_\(i).pb")
            t.name = name
            model.graph.initializer.append(t)
        }
        return model
    }

    /// The case's first runtime input, from input_0.pb. Throws `ONNXError` when it is unreadable or not float.
    public static func input(_ c: Case) throws -> Tensor {
        try ONNXLoader.readTensor(path: c.dataDirectory + "/input_0.pb")
    }

    /// The expected output number `index`, from output_N.pb. Throws `ONNXError` when it is unreadable or not float.
    public static func expectedOutput(_ c: Case, index: Int = 0) throws -> Tensor {
        try ONNXLoader.readTensor(path: c.dataDirectory + "/output_\(index).pb")
    }

    /// The largest of |a - e| / (atol + rtol·|e|) over all elements: ≤ 1 means "close".
    /// Shapes must match exactly (a mismatch returns +infinity).
    public static func closeness(_ actual: Tensor, _ expected: Tensor, rtol: Float, atol: Float) -> Float {
        guard actual.shape == expected.shape else { return .infinity }
        var worst: Float = 0
        for (a, e) in zip(actual.data, expected.data) {
            if a.isNaN || e.isNaN { if a.isNaN != e.isNaN { return .infinity } else { continue } }
            if a == e { continue }  // equal infinities
            worst = max(worst, abs(a - e) / (atol + rtol * abs(e)))
        }
        return worst
    }
}

/// Builders for small ONNX models in tests, with the generated protobuf types.
public enum ONNXBuild {
    /// A float initializer; `raw` stores it as little-endian raw_data instead of float_data.
    @_spi(ONNX) public static func tensor(_ name: String, _ dims: [Int], _ values: [Float], raw: Bool = false) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dims = dims.map { Int64($0) }
        t.dataType = 1
        if raw {
            var bytes = Data()
            for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
            t.rawData = bytes
        } else {
            t.floatData = values
        }
        return t
    }

    /// A 1-D int64 initializer holding `values` (for shapes, pads, axes).
    @_spi(ONNX) public static func int64Tensor(_ name: String, _ values: [Int]) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dims = [Int64(values.count)]
        t.dataType = 7
        t.int64Data = values.map { Int64($0) }
        return t
    }

    /// An INTS attribute.
    @_spi(ONNX) public static func attr(_ name: String, ints: [Int]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .ints; a.ints = ints.map { Int64($0) }; return a
    }
    /// An INT attribute.
    @_spi(ONNX) public static func attr(_ name: String, int: Int) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .int; a.i = Int64(int); return a
    }
    /// A FLOAT attribute.
    @_spi(ONNX) public static func attr(_ name: String, float: Float) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .float; a.f = float; return a
    }
    /// A STRING attribute (its UTF-8 bytes).
    @_spi(ONNX) public static func attr(_ name: String, string: String) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .string; a.s = Data(string.utf8); return a
    }
    /// A TENSOR attribute.
    @_spi(ONNX) public static func attr(_ name: String, tensor: Onnx_TensorProto) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .tensor; a.t = tensor; return a
    }

    /// A node `name` of op type `op`, reading `inputs` and writing `outputs`, with `attributes`.
    @_spi(ONNX) public static func node(
        _ op: String, _ inputs: [String], _ outputs: [String], name: String,
        _ attributes: [Onnx_AttributeProto] = []
    ) -> Onnx_NodeProto {
        var n = Onnx_NodeProto()
        n.opType = op; n.input = inputs; n.output = outputs; n.name = name; n.attribute = attributes
        return n
    }

    /// A float tensor value; each dim is an Int (fixed) or a String (symbolic).
    @_spi(ONNX) public static func value(_ name: String, _ dims: [Any]? = nil) -> Onnx_ValueInfoProto {
        var tt = Onnx_TypeProto.Tensor()
        tt.elemType = 1
        if let dims {
            var shape = Onnx_TensorShapeProto()
            shape.dim = dims.map { d in
                var dim = Onnx_TensorShapeProto.Dimension()
                if let i = d as? Int { dim.dimValue = Int64(i) } else { dim.dimParam = "\(d)" }
                return dim
            }
            tt.shape = shape
        }
        var type = Onnx_TypeProto()
        type.tensorType = tt
        var v = Onnx_ValueInfoProto()
        v.name = name; v.type = type
        return v
    }

    /// A model of one graph, "test": `nodes`, `initializers`, graph inputs `inputs`, float outputs of
    /// unknown shape named `outputs`; IR version 7, default-domain opset `opset`, `metadata` as
    /// metadata_props (sorted by key).
    @_spi(ONNX) public static func model(
        nodes: [Onnx_NodeProto], initializers: [Onnx_TensorProto] = [],
        inputs: [Onnx_ValueInfoProto], outputs: [String], opset: Int = 13,
        metadata: [String: String] = [:]
    ) -> Onnx_ModelProto {
        var g = Onnx_GraphProto()
        g.name = "test"
        g.node = nodes; g.initializer = initializers; g.input = inputs
        g.output = outputs.map { value($0) }
        var m = Onnx_ModelProto()
        m.irVersion = 7
        var o = Onnx_OperatorSetIdProto(); o.domain = ""; o.version = Int64(opset)
        m.opsetImport = [o]
        m.graph = g
        m.metadataProps = metadata.sorted { $0.key < $1.key }.map { k, v in
            var e = Onnx_StringStringEntryProto(); e.key = k; e.value = v; return e
        }
        return m
    }
}
