/// Recognises the classic DeepDream networks from their structure (not from file or node names,
/// which every exporter spells differently), names their blocks the way users know them, and
/// picks the layers DeepDream is known for:
///
/// | family      | recognised by                                   | block names                  | classic layers               |
/// |-------------|-------------------------------------------------|------------------------------|------------------------------|
/// | GoogLeNet   | 9 channel concats of 3+ branches (inception)    | inception_3a … inception_5b  | inception_4c, 4d, 3b         |
/// | InceptionV3 | 11 such concats                                 | mixed0 … mixed10             | mixed3, mixed5               |
/// | VGG         | only 3x3 convs and 5 max-pools, no branches     | block1_conv1 …, block1_pool … | block4_conv3, block5_conv3  |
/// | ResNet      | residual adds in 4 stages of growing width      | layer1 … layer4, layer3.0 …  | layer3                       |
///
/// A block name is an alias: it resolves to the graph's own value (e.g. `inception_4c` →
/// `/inception4c/Concat_output_0`), which stays addressable too.

/// A classic network family `Architecture` recognises.
public enum ModelFamily: String, Sendable, CaseIterable {
    /// GoogLeNet / Inception v1 (BVLC Caffe, ONNX zoo, torchvision).
    case googlenet = "GoogLeNet"
    /// Inception v3 (Keras applications, torchvision).
    case inceptionV3 = "InceptionV3"
    /// VGG 11/13/16/19.
    case vgg = "VGG"
    /// ResNet 18/34/50/101/152.
    case resnet = "ResNet"

    /// The layers DeepDream is known for on this family, best first (block names).
    public var classicLayers: [String] {
        switch self {
        case .googlenet: ["inception_4c", "inception_4d", "inception_3b"]
        case .inceptionV3: ["mixed3", "mixed5"]
        case .vgg: ["block4_conv3", "block5_conv3"]
        case .resnet: ["layer3"]
        }
    }
}

/// What `recognise` found: the family, and block names in graph order with the values they stand for.
struct Architecture {
    var family: ModelFamily?
    var blocks: [(name: String, value: String)] = []

    /// Recognises `graph` (BatchNorms already folded), or returns no family.
    static func recognise(_ graph: Graph) -> Architecture {
        let runtime = runtimeValues(graph)
        let concats = graph.nodes.filter { n in
            if case .concat(axis: 1) = n.op { return n.inputs.count >= 3 && n.inputs.allSatisfy(runtime.contains) }
            return false
        }
        if concats.count == 9 {
            let names = ["3a", "3b", "4a", "4b", "4c", "4d", "4e", "5a", "5b"].map { "inception_\($0)" }
            return Architecture(family: .googlenet, blocks: zip(names, concats.map(\.output)).map { ($0, $1) })
        }
        if concats.count == 11 {
            return Architecture(family: .inceptionV3, blocks: concats.enumerated().map { ("mixed\($0.offset)", $0.element.output) })
        }
        if concats.isEmpty, let vgg = vggBlocks(graph) { return Architecture(family: .vgg, blocks: vgg) }
        if let resnet = resnetBlocks(graph, runtime: runtime) { return Architecture(family: .resnet, blocks: resnet) }
        return Architecture(family: nil)
    }

    /// Values computed at run time (the input and node outputs), as opposed to constants.
    private static func runtimeValues(_ graph: Graph) -> Set<String> {
        Set([graph.input] + graph.nodes.map(\.output))
    }

    /// The activation that directly follows `value` (a ReLU or clip reading it), else `value`.
    private static func activation(after value: String, in graph: Graph) -> String {
        for n in graph.nodes where n.inputs == [value] {
            switch n.op {
            case .relu, .clip: return n.output
            default: continue
            }
        }
        return value
    }

    /// VGG: dense 3x3 convolutions between exactly five max-pools, at least two per block, and no
    /// residual adds; block b's convs are block{b}_conv1…, its pool block{b}_pool.
    private static func vggBlocks(_ graph: Graph) -> [(name: String, value: String)]? {
        var blocks: [(name: String, value: String)] = [], block = 1, conv = 0
        for n in graph.nodes {
            switch n.op {
            case .conv(let p):
                guard p.groups == 1, p.weight.shape[2] == 3, p.weight.shape[3] == 3, block <= 5 else { return nil }
                conv += 1
                blocks.append(("block\(block)_conv\(conv)", activation(after: n.output, in: graph)))
            case .maxPool:
                guard conv >= 1, block <= 5 else { return nil }
                blocks.append(("block\(block)_pool", n.output))
                block += 1; conv = 0
            case .add where n.inputs.count == 2 && graph.constants[n.inputs[1]] == nil:
                return nil
            default: continue
            }
        }
        let convs = blocks.filter { $0.name.contains("_conv") }.count
        return block == 6 && convs >= 8 ? blocks : nil
    }

    /// ResNet: adds of two runtime values (the residual joins), grouped into stages by the width
    /// of the convolution feeding them; four stages, each wider than the last. Stage s's output
    /// (after the last join's ReLU) is layer{s}, its blocks layer{s}.0, layer{s}.1, …
    private static func resnetBlocks(_ graph: Graph, runtime: Set<String>) -> [(name: String, value: String)]? {
        var producer: [String: Node] = [:]
        for n in graph.nodes { producer[n.output] = n }
        func width(_ value: String) -> Int? {
            var v = value
            for _ in 0..<3 {  // through a ReLU or identity to the conv that made it
                guard let n = producer[v] else { return nil }
                if case .conv(let p) = n.op { return p.weight.shape[0] }
                guard n.inputs.count == 1 else { return nil }
                v = n.inputs[0]
            }
            return nil
        }
        var stages: [(width: Int, joins: [String])] = []
        for n in graph.nodes {
            guard case .add = n.op, n.inputs.count == 2, n.inputs.allSatisfy(runtime.contains),
                let w = n.inputs.lazy.compactMap(width).first
            else { continue }
            let out = activation(after: n.output, in: graph)
            if let last = stages.last, last.width == w {
                stages[stages.count - 1].joins.append(out)
            } else {
                if let last = stages.last, w <= last.width { return nil }
                stages.append((w, [out]))
            }
        }
        guard stages.count == 4, stages.allSatisfy({ $0.joins.count >= 2 }) else { return nil }
        var blocks: [(name: String, value: String)] = []
        for (s, stage) in stages.enumerated() {
            for (b, join) in stage.joins.enumerated() { blocks.append(("layer\(s + 1).\(b)", join)) }
            blocks.append(("layer\(s + 1)", stage.joins.last!))
        }
        return blocks
    }

    /// The input convention a file from `producer` with this family most likely expects, and why;
    /// nil: no evidence (ImageNet mean/std, torchvision's convention, stays the default).
    func detectedConvention(producer: String, hasLRN: Bool) -> (InputConvention, String)? {
        let keras = ["tf2onnx", "keras2onnx"].contains(producer)
        switch (family, keras) {
        case (.vgg?, true), (.resnet?, true): return (.caffe, "a Keras \(family!.rawValue) (\(producer)): keras 'caffe' preprocessing")
        case (_?, true): return (.inception, "a Keras \(family!.rawValue) (\(producer)): keras 'inception' preprocessing")
        case (.googlenet?, false) where hasLRN: return (.caffe, "a Caffe-trained GoogLeNet (LRN layers, as in BVLC / the ONNX zoo)")
        default: return nil
        }
    }
}
