import Foundation

/// tf2onnx's export of a Keras VGG16 → a clean ONNX feature extractor to dream with.
///
/// In: `input` (N, H, W, 3), BGR → Transpose perm (0, 3, 1, 2) → 13 × (Conv 3x3, pads 1 → Relu),
/// a MaxPool 2x2 stride 2 closing each of the 5 blocks → `block5_pool` → the classifier head
/// (Transpose, Shape … Reshape, MatMul, …), whatever it is.
/// Out: `image` (1, 3, height, width), RGB → the same convs, conv1's input-channel axis reversed
/// (so RGB in computes what BGR in did) and its weights multiplied by `inputScale` (so input
/// divided by it computes the same) → `block5_pool`; the head and its initializers are gone.
/// Values carry the Keras layer names: `block1_conv1` is the Relu output (the Conv's own is
/// `block1_conv1_preact`), `block1_pool` the pool. Anything else is refused, naming the file.
public enum KerasVGG16 {
    /// Convolutions in each of VGG16's five blocks.
    static let blockConvs = [2, 2, 3, 3, 3]

    /// The dreamable layers in graph order: every conv's Relu output and every block's pool.
    public static let layers: [String] = blockConvs.enumerated().flatMap { b, convs in
        (1...convs).map { "block\(b + 1)_conv\($0)" } + ["block\(b + 1)_pool"]
    }
    /// Classic VGG DeepDream layers, best first.
    public static let recommended = ["block4_conv3", "block5_conv3"]
    /// Keras' "caffe" preprocessing (0…255, mean subtracted) in RGB order.
    public static let meanRGB = "123.68,116.779,103.939"
    /// The clean model's `reverie.std`. Keras feeds VGG16 unscaled levels; the clean model takes
    /// them divided by 58 (about ImageNet's pixel std) and conv1's weights are multiplied by 58,
    /// which computes the same. Why: dream step sizes are in model-input units, so with this
    /// a preset's step means about what it means for the default model (std 57–58 levels);
    /// with std 1 the classic preset's 0.01 moves pixels by a hundredth of a level.
    public static let inputScale: Float = 58
    /// Name of the image input of the clean model, (1, 3, height, width).
    public static let inputName = "image"
    /// Name of the clean model's output, the last pool.
    public static let outputName = "block5_pool"

    /// The clean model of `model` (see the type's comment). `name` (the file) starts every
    /// error; `metadata` (provenance) is recorded with the preprocessing and layer keys.
    @_spi(ONNX) public static func clean(_ model: Onnx_ModelProto, name: String, metadata: [String: String] = [:]) throws -> Onnx_ModelProto {
        let reader = Reader(graph: model.graph, name: name)
        var graph = Onnx_GraphProto()
        graph.name = "vgg16"
        graph.input = [onnxValueInfo(inputName, dims: [.fixed(1), .fixed(3), .named("height"), .named("width")])]

        var current = try reader.transposedInput()  // in the source graph
        var cleanCurrent = inputName
        var channels = 3
        for (b, convs) in blockConvs.enumerated() {
            for i in 1...convs {
                let layer = "block\(b + 1)_conv\(i)"
                let conv = try reader.conv(after: current, layer: layer, inputChannels: channels)
                var weight = conv.weight, bias = conv.bias
                weight.name = "\(layer).weight"
                bias.name = "\(layer).bias"
                if b == 0 && i == 1 { weight = try rgbFilters(weight, name: name) }
                graph.initializer += [weight, bias]
                channels = Int(weight.dims[0])
                graph.node.append(node(conv.node, inputs: [cleanCurrent, weight.name, bias.name], output: "\(layer)_preact"))
                let relu = try reader.only(consumerOf: conv.node.output[0], op: "Relu", layer: layer)
                graph.node.append(node(relu, inputs: ["\(layer)_preact"], output: layer))
                (current, cleanCurrent) = (relu.output[0], layer)
            }
            let layer = "block\(b + 1)_pool"
            let pool = try reader.pool(after: current, layer: layer)
            graph.node.append(node(pool, inputs: [cleanCurrent], output: layer))
            (current, cleanCurrent) = (pool.output[0], layer)
        }

        graph.output = [onnxValueInfo(outputName, dims: [.fixed(1), .fixed(channels), .unknown, .unknown])]

        var entries = metadata
        entries["reverie.mean"] = meanRGB
        entries["reverie.std"] = "\(Int(inputScale))"
        entries["reverie.layers"] = layers.joined(separator: ",")
        entries["reverie.recommended"] = recommended.joined(separator: ",")
        var out = Onnx_ModelProto()
        out.irVersion = model.irVersion
        out.opsetImport = model.opsetImport.filter { $0.domain == "" || $0.domain == "ai.onnx" }
        out.producerName = "reverie"
        // No temp path in it: every fetch writes the same file.
        out.docString = "VGG16 convolutions up to block5_pool (RGB in: (levels - Keras caffe mean) / \(Int(inputScale)))"
        out.graph = graph
        out.metadataProps = entries.sorted { $0.key < $1.key }.map { key, value in
            var e = Onnx_StringStringEntryProto()
            e.key = key; e.value = value
            return e
        }
        return out
    }

    /// A copy of `source` with new inputs and output, named after its output.
    private static func node(_ source: Onnx_NodeProto, inputs: [String], output: String) -> Onnx_NodeProto {
        var n = Onnx_NodeProto()
        n.opType = source.opType
        n.name = output
        n.input = inputs
        n.output = [output]
        n.attribute = source.attribute
        return n
    }

    /// The weight (O, C, kh, kw) with its C axis reversed (BGR filters become RGB filters) and
    /// multiplied by `inputScale`.
    private static func rgbFilters(_ weight: Onnx_TensorProto, name: String) throws -> Onnx_TensorProto {
        let values: [Float]
        do { values = try decodeTensor(weight).floats } catch let p as ONNXProblem {
            throw DefaultModelError("\(name): block1_conv1's weight: \(p.message)")
        }
        let dims = weight.dims.map(Int.init)
        let (o, c, plane) = (dims[0], dims[1], dims[2] * dims[3])
        var flipped = values
        for oi in 0..<o {
            for ci in 0..<c {
                let from = (oi * c + (c - 1 - ci)) * plane, to = (oi * c + ci) * plane
                for k in 0..<plane { flipped[to + k] = values[from + k] * inputScale }
            }
        }
        var t = Onnx_TensorProto()
        t.name = weight.name
        t.dims = weight.dims
        t.dataType = weight.dataType
        t.rawData = flipped.withUnsafeBufferPointer { Data(buffer: $0) }  // little-endian, as ONNX raw_data is
        return t
    }
}
