import Foundation

extension KerasVGG16 {
    /// Walks the source graph from its input, one expected node at a time, checking each against
    /// what tf2onnx writes for a Keras VGG16; the first mismatch is one `DefaultModelError`.
    struct Reader {
        let name: String
        let graph: Onnx_GraphProto
        let initializers: [String: Onnx_TensorProto]
        let consumers: [String: [Onnx_NodeProto]]

        init(graph: Onnx_GraphProto, name: String) {
            self.graph = graph
            self.name = name
            var initializers: [String: Onnx_TensorProto] = [:]
            for t in graph.initializer { initializers[t.name] = t }
            self.initializers = initializers
            var consumers: [String: [Onnx_NodeProto]] = [:]
            for n in graph.node {
                for i in Set(n.input) where !i.isEmpty { consumers[i, default: []].append(n) }
            }
            self.consumers = consumers
        }

        func fail(_ problem: String) -> DefaultModelError {
            DefaultModelError("\(name): not the tf2onnx Keras VGG16 graph Reverie converts: \(problem)")
        }

        /// The NHWC image input and the Transpose to NCHW right after it; returns the Transpose's output.
        func transposedInput() throws -> String {
            let runtime = graph.input.filter { initializers[$0.name] == nil }
            guard runtime.count == 1, let input = runtime.first else {
                throw fail("expected one image input, found \(runtime.count)")
            }
            let dims = input.type.tensorType.shape.dim
            guard input.type.tensorType.elemType == ONNXType.float, dims.count == 4, dims[3].dimValue == 3 else {
                throw fail("input '\(input.name)' is not a float (N, H, W, 3) image")
            }
            let transpose = try only(consumerOf: input.name, op: "Transpose", layer: nil)
            guard ints(transpose, "perm") == [0, 3, 1, 2] else {
                throw fail("node '\(transpose.name)' (Transpose) has perm \(ints(transpose, "perm") ?? []), expected [0, 3, 1, 2]")
            }
            return transpose.output[0]
        }

        /// The one Conv reading `value`, named like `layer`: 3x3, stride 1, pads 1, one group, with
        /// a float weight (O, inputChannels, 3, 3) and bias (O) among the initializers.
        func conv(
            after value: String, layer: String, inputChannels: Int
        ) throws -> (node: Onnx_NodeProto, weight: Onnx_TensorProto, bias: Onnx_TensorProto) {
            let n = try only(consumerOf: value, op: "Conv", layer: layer)
            guard n.input.count == 3, let weight = initializers[n.input[1]], let bias = initializers[n.input[2]] else {
                throw fail("node '\(n.name)' (Conv) does not take a constant weight and bias")
            }
            let o = weight.dims.first ?? 0
            guard weight.dims == [o, Int64(inputChannels), 3, 3], bias.dims == [o], isFloat(weight), isFloat(bias) else {
                throw fail(
                    "node '\(n.name)' (Conv) has weight \(weight.dims) and bias \(bias.dims), expected float (O, \(inputChannels), 3, 3) and (O)")
            }
            guard ints(n, "kernel_shape") ?? [3, 3] == [3, 3], ints(n, "pads") == [1, 1, 1, 1], ints(n, "strides") ?? [1, 1] == [1, 1],
                ints(n, "dilations") ?? [1, 1] == [1, 1], int(n, "group") ?? 1 == 1, string(n, "auto_pad") ?? "NOTSET" == "NOTSET"
            else { throw fail("node '\(n.name)' (Conv) is not a 3x3 stride-1 convolution with pads 1") }
            return (n, weight, bias)
        }

        /// The one MaxPool reading `value`, named like `layer`: 2x2, stride 2, no padding.
        func pool(after value: String, layer: String) throws -> Onnx_NodeProto {
            let n = try only(consumerOf: value, op: "MaxPool", layer: layer)
            guard ints(n, "kernel_shape") == [2, 2], ints(n, "strides") == [2, 2], (ints(n, "pads") ?? [0, 0, 0, 0]) == [0, 0, 0, 0],
                string(n, "auto_pad") ?? "NOTSET" == "NOTSET", int(n, "ceil_mode") ?? 0 == 0
            else { throw fail("node '\(n.name)' (MaxPool) is not a 2x2 stride-2 pool without padding") }
            return n
        }

        /// The single node reading `value`, which must be an `op` named like Keras' `layer`.
        func only(consumerOf value: String, op: String, layer: String?) throws -> Onnx_NodeProto {
            let users = consumers[value] ?? []
            let wanted = layer.map { "\(op) \($0)" } ?? op
            guard users.count == 1, let n = users.first, n.opType == op else {
                let found = users.isEmpty ? "nothing" : users.map { "'\($0.name)' (\($0.opType))" }.joined(separator: ", ")
                throw fail("'\(value)' should feed one \(wanted), it feeds \(found)")
            }
            if let layer, !n.name.split(separator: "/").contains(where: { $0 == layer || $0.hasPrefix(layer + "_") }) {
                throw fail("node '\(n.name)' (\(op)) should be Keras layer \(layer)")
            }
            return n
        }

        private func isFloat(_ t: Onnx_TensorProto) -> Bool {
            let count = t.dims.reduce(1, *)
            return t.dataType == ONNXType.float && (t.rawData.count == count * 4 || t.floatData.count == count)
        }

        private func attribute(_ n: Onnx_NodeProto, _ key: String) -> Onnx_AttributeProto? {
            n.attribute.first { $0.name == key }
        }
        private func ints(_ n: Onnx_NodeProto, _ key: String) -> [Int]? { attribute(n, key).map { $0.ints.map(Int.init) } }
        private func int(_ n: Onnx_NodeProto, _ key: String) -> Int? { attribute(n, key).map { Int($0.i) } }
        private func string(_ n: Onnx_NodeProto, _ key: String) -> String? { attribute(n, key).map { String(decoding: $0.s, as: UTF8.self) } }
    }
}
