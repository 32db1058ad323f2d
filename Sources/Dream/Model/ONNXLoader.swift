import Foundation
import SwiftProtobuf

/// A model we cannot load, as one line naming the file (and the node) and the problem, e.g.
/// `model.onnx: node 'conv3' (Conv): attribute auto_pad=FOO is not supported`.
public struct ONNXError: Error, CustomStringConvertible, LocalizedError, Equatable {
    /// The line: the file, the node when there is one, and the problem.
    public let description: String
    /// An error with this line.
    public init(_ description: String) { self.description = description }
    /// `description`, so `localizedDescription` shows the same line.
    public var errorDescription: String? { description }
}

/// ONNX → `Graph` (opset 7 and later is the target; older opsets load where they mean the same). Graph-level work lives here (reading the file, opset,
/// initializers, the image input, topological order, outputs, metadata); the per-op mapping is in
/// ONNXNodes.swift. Anything we would not run exactly as ONNX specifies is an `ONNXError`.
public enum ONNXLoader {
    /// Opsets before 7 load too: their semantic differences are attributes (`broadcast`,
    /// `consumed_inputs`, `is_test`, `paddings`) that the per-op checks reject or require,
    /// so an old model either loads with today's meaning or fails with a clear error.
    public static let minimumOpset = 1

    /// Loads an ONNX file whose input is an image, (1, C, H, W) with fixed C.
    public static func load(path: String) throws -> Graph {
        try graph(from: readModel(path: path), name: path)
    }

    /// Reads and decodes an ONNX file without interpreting it.
    @_spi(ONNX) public static func readModel(path: String) throws -> Onnx_ModelProto {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ONNXError("\(path): cannot read the file (\(error.localizedDescription))")
        }
        let model: Onnx_ModelProto
        do { model = try Onnx_ModelProto(serializedBytes: data) } catch {
            throw ONNXError("\(path): not an ONNX model, or a damaged one (protobuf decoding failed: \(error))")
        }
        // Arbitrary bytes can parse as a protobuf of unknown fields; a real model has both.
        guard model.hasIrVersion, model.hasGraph else {
            throw ONNXError("\(path): not an ONNX model (no ir_version or graph)")
        }
        return model
    }

    /// Reads a serialized `TensorProto` file (the conformance data's input_N.pb / output_N.pb).
    @_spi(ONNX) public static func readTensorProto(path: String) throws -> Onnx_TensorProto {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ONNXError("\(path): cannot read the file (\(error.localizedDescription))")
        }
        do { return try Onnx_TensorProto(serializedBytes: data) } catch {
            throw ONNXError("\(path): not a serialized ONNX tensor (\(error))")
        }
    }

    /// Reads a serialized float `TensorProto` file as a `Tensor`.
    public static func readTensor(path: String) throws -> Tensor {
        let proto = try readTensorProto(path: path)
        do {
            let c = try decodeTensor(proto)
            guard c.isFloat else { throw ONNXProblem("holds \(ONNXType.name(c.dataType)), not float") }
            return c.tensor
        } catch let p as ONNXProblem {
            throw ONNXError("\(path): tensor: \(p.message)")
        }
    }

    /// Converts a decoded model. `name` (usually the path) prefixes every error. With
    /// `requireImageInput` false the single runtime input may have any float shape (the
    /// conformance tests feed (3, 4, 5) tensors); `inputChannels` is then dim 1 when known, else 0.
    @_spi(ONNX) public static func graph(from model: Onnx_ModelProto, name: String, requireImageInput: Bool = true) throws -> Graph {
        var builder = try GraphBuilder(model: model, path: name)
        return try builder.build(requireImageInput: requireImageInput)
    }
}

/// The state of one conversion: constants known so far and the rank of each runtime value.
struct GraphBuilder {
    let path: String
    let opset: Int
    let proto: Onnx_GraphProto
    let metadata: [String: String]
    var constants: [String: ONNXConstant] = [:]  // initializers and Constant-node outputs
    var ranks: [String: Int?] = [:]  // runtime values; nil = rank unknown
    var usedConstants: [String: Tensor] = [:]  // constant operands the graph's nodes name
    let producer: String  // the exporter, e.g. "pytorch", "tf2onnx"

    init(model: Onnx_ModelProto, path: String) throws {
        self.path = path
        var opset: Int?
        for o in model.opsetImport where o.domain == "" || o.domain == "ai.onnx" {
            opset = Int(o.version)
        }
        guard let opset else { throw ONNXError("\(path): the model imports no default-domain (ai.onnx) opset") }
        guard opset >= ONNXLoader.minimumOpset else {
            throw ONNXError("\(path): opset \(opset) is not supported (\(ONNXLoader.minimumOpset) or later)")
        }
        self.opset = opset
        self.proto = model.graph
        self.producer = model.producerName
        var metadata: [String: String] = [:]
        for entry in model.metadataProps { metadata[entry.key] = entry.value }
        self.metadata = metadata
    }

    func fail(_ message: String) -> ONNXError { ONNXError("\(path): \(message)") }

    mutating func build(requireImageInput: Bool) throws -> Graph {
        if !proto.sparseInitializer.isEmpty { throw fail("sparse initializers are not supported") }
        for t in proto.initializer {
            do { constants[t.name] = try decodeTensor(t) } catch let p as ONNXProblem {
                throw fail("initializer '\(t.name)': \(p.message)")
            }
        }
        let sorted = try topologicallySorted()
        // Constants first: Constant nodes, and nodes that read constants only (shape arithmetic).
        var done = Set<Int>()
        for (i, n) in sorted.enumerated() where n.opType == "Constant" || readsOnlyConstants(n) {
            try labelled(label(n)) {
                if n.opType == "Constant" { try defineConstant(n, ONNXAttributes(n)) } else { try foldConstants(n) }
            }
            done.insert(i)
        }
        let image = try imageInput(requireImage: requireImageInput, nodes: sorted)
        done.formUnion(image.consumed)
        var start = image.start, affine: InputAffine?
        if requireImageInput {
            let prefix = inputPrefix(image.start, channels: image.channels, nodes: sorted, skip: done)
            done.formUnion(prefix.consumed)
            start = prefix.start
            if !prefix.affine.isIdentity || image.consumed.count > 0 { affine = prefix.affine }
            ranks[start] = 4
        }

        // A node we cannot convert ends the graph there if only classifier-head ops (no image op)
        // depend on it: the layers before it dream as usual. Reaching an image op, it is the error.
        var nodes: [Node] = []
        var unavailable: [String: String] = [:]  // value → why it cannot be computed
        for (i, onnxNode) in sorted.enumerated() where !done.contains(i) {
            // Conformance graphs (no image input) are all head: every failure counts there.
            let imageOp = !requireImageInput || GraphBuilder.imageOps.contains(onnxNode.opType)
            if let cause = onnxNode.input.lazy.compactMap({ unavailable[$0] }).first {
                if imageOp { throw ONNXError(cause) }
                for o in onnxNode.output where !o.isEmpty { unavailable[o] = cause }
                continue
            }
            do {
                if let node = try labelled(label(onnxNode), { try convert(onnxNode) }) { nodes.append(node) }
            } catch let error as ONNXError {
                if imageOp || nodes.isEmpty { throw error }
                for o in onnxNode.output where !o.isEmpty { unavailable[o] = error.description }
            }
        }
        var outputs: [String] = []
        for o in proto.output where unavailable[o.name] == nil {
            guard ranks[o.name] != nil else {
                throw fail("graph output '\(o.name)' is \(constants[o.name] != nil ? "a constant" : "not produced by any node"); not supported")
            }
            outputs.append(o.name)
        }
        return Graph(
            input: start, inputChannels: image.channels, nodes: nodes, constants: usedConstants,
            outputs: outputs, metadata: metadata, inputAffine: affine, unavailable: unavailable,
            producer: producer)
    }

    /// Ops that read an image (N, C, H, W): a failure that reaches one breaks the network itself.
    static let imageOps: Set<String> = [
        "Conv", "ConvTranspose", "MaxPool", "AveragePool", "LRN", "BatchNormalization",
        "GlobalAveragePool", "GlobalMaxPool", "InstanceNormalization", "Resize", "Upsample"
    ]

    /// The prefix of a node's error lines: the file, the node's name and op.
    func label(_ n: Onnx_NodeProto) -> String { "\(path): node '\(nodeName(n))' (\(n.opType))" }

    /// The one runtime input: the first graph input that is not an initializer (older models list
    /// initializers as inputs too). A second runtime input is an error: Reverie feeds one image.
    /// An NHWC image (tf2onnx, Keras) whose only reader is a Transpose to NCHW starts at that
    /// Transpose's output instead (`consumed` holds it).
    mutating func imageInput(requireImage: Bool, nodes: [Onnx_NodeProto]) throws -> (name: String, start: String, channels: Int, consumed: Set<Int>) {
        let runtime = proto.input.filter { constants[$0.name] == nil }
        guard let first = runtime.first else { throw fail("the graph has no input that is not an initializer") }
        if runtime.count > 1 {
            throw fail(
                "the graph has \(runtime.count) runtime inputs (\(runtime.map { "'\($0.name)'" }.joined(separator: ", "))); only one image input is supported"
            )
        }
        guard case .tensorType(let t)? = first.type.value else {
            throw fail("input '\(first.name)' is not a tensor")
        }
        guard t.elemType == ONNXType.float else {
            throw fail("input '\(first.name)' has element type \(ONNXType.name(t.elemType)); only float is supported")
        }
        // Each dim: a fixed size, or nil when symbolic/unknown.
        var dims: [Int?]? =
            t.hasShape
            ? t.shape.dim.map { d in
                if case .dimValue(let v)? = d.value { return Int(v) } else { return nil }
            } : nil
        ranks[first.name] = dims?.count
        var start = first.name, consumed = Set<Int>()
        if requireImage, let d = dims, d.count == 4 {
            let readers = nodes.indices.filter { nodes[$0].input.contains(first.name) }
            if readers.count == 1, nodes[readers[0]].opType == "Transpose", nodes[readers[0]].output.count == 1,
                let perm = nodes[readers[0]].attribute.first(where: { $0.name == "perm" }), perm.ints == [0, 3, 1, 2]
            {
                start = nodes[readers[0]].output[0]
                consumed = [readers[0]]
                dims = [d[0], d[3], d[1], d[2]]
            }
        }
        var channels = (dims?.count ?? 0) >= 2 ? dims?[1] : nil
        if requireImage {
            let shape = dims.map { "(" + $0.map { $0.map(String.init) ?? "?" }.joined(separator: ", ") + ")" } ?? "unknown"
            if let dims, dims.count != 4 || (dims[0] ?? 1) != 1 {
                throw fail("input '\(first.name)' has shape \(shape); expected an image (1, C, H, W) or (1, H, W, C)")
            }
            ranks[start] = 4
            // Without a fixed C, take it from a convolution that reads the image directly.
            if channels == nil { channels = inputChannelsFromConsumer(start) }
            guard channels != nil else {
                throw fail("input '\(first.name)' has shape \(shape); its channel count C must be fixed")
            }
        }
        return (first.name, start, channels ?? 0, consumed)
    }

    private func inputChannelsFromConsumer(_ input: String) -> Int? {
        for n in proto.node where n.opType == "Conv" && n.input.first == input && n.input.count > 1 {
            if let w = constants[n.input[1]], w.dims.count == 4 {
                let group = n.attribute.first { $0.name == "group" }.map { Int($0.i) } ?? 1
                return w.dims[1] * group
            }
        }
        return nil
    }

    func nodeName(_ n: Onnx_NodeProto) -> String {
        n.name.isEmpty ? (n.output.first ?? "?") : n.name
    }

    /// Kahn's algorithm, keeping file order among ready nodes. ONNX requires sorted graphs but
    /// some exporters emit them out of order.
    func topologicallySorted() throws -> [Onnx_NodeProto] {
        let nodes = proto.node
        var producer: [String: Int] = [:]
        for (i, n) in nodes.enumerated() {
            for o in n.output where !o.isEmpty {
                if producer[o] != nil || constants[o] != nil || proto.input.contains(where: { $0.name == o }) {
                    throw fail("node '\(nodeName(n))' (\(n.opType)): output '\(o)' is defined twice")
                }
                producer[o] = i
            }
        }
        let available = Set(proto.input.map(\.name)).union(constants.keys)
        var waitingOn = [Int](repeating: 0, count: nodes.count)
        var consumers = [[Int]](repeating: [], count: nodes.count)
        for (i, n) in nodes.enumerated() {
            for name in Set(n.input) where !name.isEmpty && !available.contains(name) {
                guard let p = producer[name] else {
                    throw fail("node '\(nodeName(n))' (\(n.opType)): input '\(name)' is not produced by any node")
                }
                waitingOn[i] += 1
                consumers[p].append(i)
            }
        }
        var ready = (0..<nodes.count).filter { waitingOn[$0] == 0 }.reversed() as [Int]
        var order: [Int] = []
        while let i = ready.popLast() {
            order.append(i)
            var newlyReady: [Int] = []
            for c in consumers[i] {
                waitingOn[c] -= 1
                if waitingOn[c] == 0 { newlyReady.append(c) }
            }
            ready.append(contentsOf: newlyReady.sorted(by: >))
            ready.sort(by: >)
        }
        guard order.count == nodes.count else {
            let stuck = (0..<nodes.count).first { waitingOn[$0] > 0 }.map { nodeName(nodes[$0]) } ?? "?"
            throw fail("the graph has a cycle (through node '\(stuck)')")
        }
        return order.map { nodes[$0] }
    }
}

/// Runs `body`, turning its `ONNXProblem` into one `ONNXError` line starting with `label`.
func labelled<T>(_ label: String, _ body: () throws -> T) throws -> T {
    do { return try body() } catch let p as ONNXProblem { throw ONNXError("\(label): \(p.message)") }
}
