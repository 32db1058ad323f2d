import Dream
import Foundation

/// ONNX's own node conformance data (Debian's libonnx-testdata): one folder per case holding
/// `model.onnx` and `test_data_set_0/{input_N.pb, output_0.pb}`.
public enum ONNXTestData {
    public static let root = "/usr/share/libonnx-testdata/data/node"

    public static var isInstalled: Bool { FileManager.default.fileExists(atPath: root) }

    public struct Case {
        public let name: String          // folder name, e.g. "test_conv_with_strides_padding"
        public let directory: String
        public let model: Onnx_ModelProto
        public var opType: String { model.graph.node.first?.opType ?? "" }
        public var modelPath: String { directory + "/model.onnx" }
        public var dataDirectory: String { directory + "/test_data_set_0" }
    }

    /// Every folder whose model is exactly one node with an op type in `ops`, sorted by name.
    public static func singleOpCases(ops: Set<String>) throws -> [Case] {
        let names = try FileManager.default.contentsOfDirectory(atPath: root).sorted()
        var cases: [Case] = []
        for name in names where name.hasPrefix("test_") {
            let dir = root + "/" + name
            guard FileManager.default.fileExists(atPath: dir + "/model.onnx") else { continue }
            let model = try ONNXLoader.readModel(path: dir + "/model.onnx")
            guard model.graph.node.count == 1, let op = model.graph.node.first?.opType, ops.contains(op) else { continue }
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
    public static func frozenModel(_ c: Case) throws -> Onnx_ModelProto {
        var model = c.model
        for (i, name) in runtimeInputs(c).enumerated().dropFirst() {
            var t = try ONNXLoader.readTensorProto(path: c.dataDirectory + "/input_\(i).pb")
            t.name = name
            model.graph.initializer.append(t)
        }
        return model
    }

    public static func input(_ c: Case) throws -> Tensor {
        try ONNXLoader.readTensor(path: c.dataDirectory + "/input_0.pb")
    }

    public static func expectedOutput(_ c: Case) throws -> Tensor {
        try ONNXLoader.readTensor(path: c.dataDirectory + "/output_0.pb")
    }

    /// The largest of |a - e| / (atol + rtol·|e|) over all elements: ≤ 1 means "close".
    /// Shapes must match exactly (a mismatch returns +infinity).
    public static func closeness(_ actual: Tensor, _ expected: Tensor, rtol: Float, atol: Float) -> Float {
        guard actual.shape == expected.shape else { return .infinity }
        var worst: Float = 0
        for (a, e) in zip(actual.data, expected.data) {
            if a.isNaN || e.isNaN { if a.isNaN != e.isNaN { return .infinity } else { continue } }
            if a == e { continue }   // equal infinities
            worst = max(worst, abs(a - e) / (atol + rtol * abs(e)))
        }
        return worst
    }
}
