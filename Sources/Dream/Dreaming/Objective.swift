/// What the dream maximises: a weighted sum over layers of a per-layer term, each normalised by
/// the layer's size so a large layer does not drown a small one.
///   .l2   : 0.5 · mean(A²)  — the original DeepDream objective; right for signed block outputs
///           (EfficientNet-Lite's projections have no activation), d/dA = A / N.
///   .mean : mean(A)         — the TensorFlow tutorial's; for post-ReLU layers, d/dA = 1 / N.
public enum ObjectiveKind: String, Codable, Sendable, CaseIterable {
    case l2
    case mean
}

/// One layer of the objective, optionally restricted to some channels.
public struct LayerTerm: Codable, Sendable, Equatable {
    /// The layer, as `Network.layers` names it.
    public var name: String
    /// Factor on the term's loss and gradient.
    public var weight: Float
    /// Channels of the layer the term covers; nil: all of them.
    public var channels: [Int]?

    /// A term as given: by default the whole layer with weight 1.
    public init(name: String, weight: Float = 1, channels: [Int]? = nil) {
        self.name = name; self.weight = weight; self.channels = channels
    }

    /// Parses `block10`, `block10:0.5`, `block10[3,7]`, `block10[3]:2`. A name may contain `/` or
    /// `:` (`inception_4c/output`, `mixed4c:0`): text that is one of `layerNames` whole, before its
    /// channels or weight, is that name; otherwise what follows the last `:` is the weight.
    public init(parsing text: String, layerNames: Set<String> = []) throws {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        var weight: Float = 1
        if !layerNames.contains(String(rest)), let colon = rest.lastIndex(of: ":"),
            rest.lastIndex(of: "]").map({ $0 < colon }) ?? true
        {
            guard let w = Float(rest[rest.index(after: colon)...]), w.isFinite else {
                throw DreamError.layerTerm(text: text, problem: "the weight after ':' is not a number")
            }
            weight = w
            rest = rest[..<colon]
        }
        var channels: [Int]? = nil
        if !layerNames.contains(String(rest)), rest.hasSuffix("]"), let open = rest.lastIndex(of: "[") {
            let inner = rest[rest.index(after: open)..<rest.index(before: rest.endIndex)]
            let parsed = inner.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !parsed.isEmpty, parsed.allSatisfy({ $0 != nil && $0! >= 0 }) else {
                throw DreamError.layerTerm(text: text, problem: "channels must be a list of non-negative integers, like block10[3,7]")
            }
            channels = parsed.map { $0! }
            rest = rest[..<open]
        }
        guard !rest.isEmpty else { throw DreamError.layerTerm(text: text, problem: "empty layer name") }
        self.init(name: String(rest), weight: weight, channels: channels)
    }

    /// Splits a comma-separated list of layer terms, leaving commas inside `[...]` alone:
    /// `block10,block12:0.5,block8[3,7]` → `block10`, `block12:0.5`, `block8[3,7]`.
    public static func splitList(_ text: String) throws -> [String] {
        var terms: [String] = [], current = "", depth = 0
        for ch in text {
            switch ch {
            case "[": depth += 1
            case "]":
                depth -= 1
                if depth < 0 { throw DreamError.layerList(text: text, problem: "a ']' without its '['") }
            case "," where depth == 0:
                terms.append(current); current = ""
                continue
            default: break
            }
            current.append(ch)
        }
        guard depth == 0 else { throw DreamError.layerList(text: text, problem: "a '[' is not closed") }
        terms.append(current)
        let trimmed = terms.map { $0.trimmingCharacters(in: .whitespaces) }
        guard !trimmed.contains(where: \.isEmpty) else { throw DreamError.layerList(text: text, problem: "an empty entry between commas") }
        return trimmed
    }

    /// The term in the syntax `init(parsing:layerNames:)` reads: "block10", "block10[3,7]", "block10:0.5".
    public var text: String {
        var s = name
        if let channels { s += "[" + channels.map(String.init).joined(separator: ",") + "]" }
        if weight != 1 { s += ":\(weight)" }
        return s
    }
}

/// A parsed objective: the kind of term and the layers it sums over (see `ObjectiveKind`), and
/// optionally a guide image's features mixed in with weight `guideWeight` (see `GuideFeatures`).
public struct Objective: Sendable, Equatable {
    /// The per-layer term: `.l2` or `.mean`.
    public var kind: ObjectiveKind
    /// The weighted layers; terms naming the same layer add up.
    public var terms: [LayerTerm]
    /// The guide's features at the terms' layers; nil: no guide (the ordinary objective alone).
    public var guide: GuideFeatures?
    /// g in [0, 1]: each term is weight · ((1 − g) · ordinary + g · guided); ignored without `guide`.
    public var guideWeight: Float

    /// An objective as given (the names are not checked against a network here).
    public init(kind: ObjectiveKind, terms: [LayerTerm], guide: GuideFeatures? = nil, guideWeight: Float = 0) {
        self.kind = kind; self.terms = terms; self.guide = guide; self.guideWeight = guideWeight
    }

    /// The terms' layer names, in order, repeats kept.
    public var layerNames: [String] { terms.map(\.name) }

    /// The loss term of `layer` and its gradient with respect to the activation.
    /// `normaliser` is the element count the mean is taken over (the whole image's layer size,
    /// so tiles add up to the untiled objective).
    public func seed(layer: String, activation a: Tensor, normaliser: Int) -> (loss: Float, grad: Tensor) {
        var grad = Tensor(zeros: a.shape)
        let loss = a.data.withUnsafeBufferPointer { ap in
            grad.data.withUnsafeMutableBufferPointer { seed(layer: layer, activation: ap, shape: a.shape, normaliser: normaliser, into: $0) }
        }
        return (loss, grad)
    }

    /// The same, adding the gradient into `grad` (the activation's size); allocates only the guided
    /// term's scratch, if there is a guide.
    public func seed(
        layer: String, activation a: UnsafeBufferPointer<Float>, shape: [Int], normaliser: Int,
        into grad: UnsafeMutableBufferPointer<Float>
    ) -> Float {
        seed(layer: layer, activation: a, shape: shape, normaliser: normaliser, into: grad, scratch: GuideScratch())
    }

    /// The same with the guided term's scratch given (the step loop's, reused: no allocation).
    func seed(
        layer: String, activation a: UnsafeBufferPointer<Float>, shape: [Int], normaliser: Int,
        into grad: UnsafeMutableBufferPointer<Float>, scratch: GuideScratch
    ) -> Float {
        var loss: Float = 0
        // The guide's share; 0 without a guide, so 1 − g is exactly 1 and the ordinary term is unchanged.
        let g = guide == nil ? 0 : guideWeight
        let guided = g > 0 ? guide?.layers[layer] : nil
        for term in terms where term.name == layer {
            let channelCount = shape.count > 1 ? shape[1] : 1
            let planeSize = a.count / max(channelCount, 1)
            let n = Float(max(normaliser, 1)) * Float(term.channels?.count ?? channelCount) / Float(channelCount)
            let scale = term.weight / n
            if let guided {
                loss += guidedSeed(
                    activation: a, channelCount: channelCount, channels: term.channels, guide: guided,
                    scale: scale * g, into: grad, scratch: scratch)
                if g == 1 { continue }  // the pure guided objective: no ordinary part
            }
            let ordinary = scale * (1 - g)
            func add(channel c: Int) {
                guard c < channelCount else { return }
                let range = (c * planeSize)..<((c + 1) * planeSize)
                switch kind {
                case .l2:
                    for i in range {
                        loss += 0.5 * a[i] * a[i] * ordinary
                        grad[i] += a[i] * ordinary
                    }
                case .mean:
                    for i in range {
                        loss += a[i] * ordinary
                        grad[i] += ordinary
                    }
                }
            }
            if let channels = term.channels { for c in channels { add(channel: c) } } else { for c in 0..<channelCount { add(channel: c) } }
        }
        return loss
    }
}

/// Why a dream cannot be made as asked, by kind, with what it concerns. Every case prints as one
/// line naming that (the field, the layer text, the schedule, the preset file) and the problem.
public indirect enum DreamError: Error, CustomStringConvertible, Sendable, Equatable {
    /// A parameter out of its range or malformed: the field (`steps`, `octaves '-3..9'`) and why.
    case parameter(field: String, problem: String)
    /// A command-line value the library checks (`--zoom`, `--fps`, `--focus`) and why.
    case option(name: String, problem: String)
    /// A layer term (`block10:x`) that does not parse.
    case layerTerm(text: String, problem: String)
    /// A comma-separated layer list that does not split.
    case layerList(text: String, problem: String)
    /// A schedule that does not parse (the problem names the character) or whose keys do not increase.
    case schedule(text: String, problem: String)
    /// A preset file that is not a usable preset.
    case preset(file: String, problem: String)
    /// A dream of a `width × height` picture (with `tile`-pixel tiles; nil: even the smallest) that
    /// needs `neededMiB` over the `budgetMiB` budget.
    case memory(width: Int, height: Int, tile: Int?, neededMiB: Int, budgetMiB: Int)
    /// Another error in a context: a field holding a bad schedule, a frame of a schedule, a preset file.
    case within(context: String, DreamError)

    /// The one line this error prints as.
    public var description: String {
        switch self {
        case let .parameter(field, problem): "\(field): \(problem)"
        case let .option(name, problem): "\(name) \(problem)"
        case let .layerTerm(text, problem): "layer '\(text)': \(problem)"
        case let .layerList(text, problem): "layers '\(text)': \(problem)"
        case let .schedule(text, problem): "schedule '\(text)': \(problem)"
        case let .preset(file, problem): "\(file): \(problem)"
        case let .memory(width, height, tile?, needed, budget):
            "a \(width)x\(height) dream with \(tile)-px tiles needs about \(needed) MiB, over the \(budget) MiB budget: use a smaller --tile or --width"
        case let .memory(width, height, nil, needed, budget):
            "a \(width)x\(height) dream needs about \(needed) MiB even with 128-px tiles, over the \(budget) MiB budget: use a smaller --width"
        case let .within(context, error): "\(context): \(error.description)"
        }
    }
}

import Foundation
