import Foundation

/// Model-space preprocessing: model input channel c = (rgb255[channels[c]] − mean[c]) / std[c].
/// Belongs to the model (its metadata, a sidecar file, the architecture, or `--input`), never to callers.
public struct Preprocessing: Sendable, Equatable {
    /// Per model channel value subtracted from the RGB level (0...255 units); empty: 0.
    public var mean: [Float]  // per model channel, 0...255 units
    /// Per model channel divisor applied after the mean, in the same units; empty: 1.
    public var std: [Float]
    /// Which picture channel (0 R, 1 G, 2 B) each model channel reads: [2, 1, 0] for a BGR model; empty: the same.
    public var channels: [Int]

    /// Preprocessing with these lists (channels past a list's end reuse it cyclically).
    public init(mean: [Float], std: [Float], channels: [Int] = []) {
        self.mean = mean; self.std = std; self.channels = channels
    }

    /// ImageNet statistics, used when a model carries no `reverie.mean` / `reverie.std`.
    public static let imageNet = Preprocessing(mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375])

    /// The model-space value of RGB 0: the dreamed image is clipped to [lower, upper].
    public func lowerBound(channel: Int) -> Float { toModel(0, channel: channel) }
    /// The model-space value of RGB 255.
    public func upperBound(channel: Int) -> Float { toModel(255, channel: channel) }

    /// (rgb255 − mean[c]) / std[c]; channels past the lists reuse them cyclically, empty lists mean identity.
    public func toModel(_ rgb255: Float, channel: Int) -> Float {
        let m = mean.isEmpty ? 0 : mean[channel % mean.count], s = std.isEmpty ? 1 : std[channel % std.count]
        return (rgb255 - m) / s
    }

    /// The model-space value of an RGB level (0...255).
    public func fromModel(_ value: Float, channel: Int) -> Float {
        let m = mean.isEmpty ? 0 : mean[channel % mean.count], s = std.isEmpty ? 1 : std[channel % std.count]
        return value * s + m
    }

    /// The picture channel model channel `c` reads.
    public func pictureChannel(_ c: Int) -> Int { c < channels.count ? channels[c] : c }

    /// A picture (1, C, H, W) with values in [0, 1] → the model's input space.
    public func toModel(_ picture: Tensor) -> Tensor {
        var out = picture
        let plane = picture.shape[2] * picture.shape[3]
        for c in 0..<picture.shape[1] {
            let src = pictureChannel(c) * plane
            for i in 0..<plane { out.data[c * plane + i] = toModel(picture.data[src + i] * 255, channel: c) }
        }
        return out
    }

    /// The model's input space → a picture with values in [0, 1], clamped.
    public func fromModel(_ image: Tensor) -> Tensor {
        var out = image
        let plane = image.shape[2] * image.shape[3]
        for c in 0..<image.shape[1] {
            let dst = pictureChannel(c) * plane
            for i in 0..<plane { out.data[dst + i] = min(max(fromModel(image.data[c * plane + i], channel: c) / 255, 0), 1) }
        }
        return out
    }

    /// This preprocessing followed by `affine` (an exporter's input prefix): model channel k then
    /// reads picture channel channels[source[k]] with mean − shift·std/scale and std/scale.
    public func followed(by affine: InputAffine) -> Preprocessing {
        let n = affine.source.count
        func m(_ j: Int) -> Float { mean.isEmpty ? 0 : mean[j % mean.count] }
        func s(_ j: Int) -> Float { std.isEmpty ? 1 : std[j % std.count] }
        return Preprocessing(
            mean: (0..<n).map { k in m(affine.source[k]) - affine.shift[k] * s(affine.source[k]) / affine.scale[k] },
            std: (0..<n).map { k in s(affine.source[k]) / affine.scale[k] },
            channels: (0..<n).map { k in pictureChannel(affine.source[k]) })
    }

    /// A one-line description: "RGB, mean 123.7,116.3,103.5, std 58.4,57.1,57.4".
    public var summary: String {
        func list(_ v: [Float]) -> String { v.map { String(format: "%g", $0) }.joined(separator: ",") }
        let order = (0..<max(mean.count, std.count, 3)).map { ["R", "G", "B"][pictureChannel($0) % 3] }.joined()
        return "\(order), mean \(list(mean.isEmpty ? [0] : mean)), std \(list(std.isEmpty ? [1] : std))"
    }

    /// Reads `reverie.input` (a convention name), `reverie.mean` / `reverie.std` ("127,127,127"; a
    /// single value applies to every channel, in model channel order) and `reverie.channels`
    /// ("rgb" or "bgr"); nil when the metadata says nothing about preprocessing.
    static func from(metadata: [String: String], channels: Int) throws -> Preprocessing? {
        let keys = ["reverie.input", "reverie.mean", "reverie.std", "reverie.channels"]
        guard keys.contains(where: { metadata[$0] != nil }) else { return nil }
        var base = Preprocessing.imageNet
        if let name = metadata["reverie.input"] {
            guard let convention = InputConvention(name: name) else {
                throw NetworkError.metadata(key: "reverie.input", problem: "= \"\(name)\" is not one of \(InputConvention.names)")
            }
            base = convention.preprocessing
        }
        func parse(_ key: String, fallback: [Float]) throws -> [Float] {
            guard let text = metadata[key] else { return fallback }
            let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let values = parts.compactMap(Float.init)
            guard !values.isEmpty, values.count == parts.count else {
                throw NetworkError.metadata(key: key, problem: "= \"\(text)\" is not a comma list of numbers")
            }
            if values.count == 1 { return [Float](repeating: values[0], count: max(channels, 1)) }
            guard channels <= 0 || values.count == channels else {
                throw NetworkError.metadata(key: key, problem: "has \(values.count) values for \(channels) input channels")
            }
            return values
        }
        let mean = try parse("reverie.mean", fallback: base.mean)
        let std = try parse("reverie.std", fallback: base.std)
        guard std.allSatisfy({ $0 > 0 }) else { throw NetworkError.metadata(key: "reverie.std", problem: "must be positive, got \(std)") }
        var order = base.channels
        if let text = metadata["reverie.channels"] {
            switch text.lowercased() {
            case "rgb": order = []
            case "bgr": order = [2, 1, 0]
            default: throw NetworkError.metadata(key: "reverie.channels", problem: "= \"\(text)\" must be rgb or bgr")
            }
        }
        return Preprocessing(mean: mean, std: std, channels: order)
    }
}

/// The input conventions classic networks are trained with (`--input NAME`, a sidecar's
/// `"input"`, or the `reverie.input` metadata key).
public enum InputConvention: String, Sendable, CaseIterable {
    /// torchvision: RGB, ImageNet mean/std on 0...1 (mean 123.675,116.28,103.53, std 58.395,57.12,57.375 in 0...255).
    case torch
    /// Caffe and Keras 'caffe' (VGG, ResNet, BVLC GoogLeNet): BGR, 0...255, minus 103.939,116.779,123.68.
    case caffe
    /// Keras 'inception' / TensorFlow (InceptionV3, the TF tutorial): RGB scaled to −1...1.
    case inception
    /// RGB in 0...1.
    case unit
    /// RGB in 0...255, as is.
    case raw

    /// The names `init(name:)` accepts, for error lines.
    public static var names: String { "torch (or imagenet), caffe, inception (or tf), unit, raw" }

    /// A convention by name: its raw value, or imagenet (torch) / tf (inception).
    public init?(name: String) {
        switch name.lowercased() {
        case "imagenet": self = .torch
        case "tf", "tensorflow": self = .inception
        default:
            guard let c = InputConvention(rawValue: name.lowercased()) else { return nil }
            self = c
        }
    }

    /// The preprocessing this convention means.
    public var preprocessing: Preprocessing {
        switch self {
        case .torch: .imageNet
        case .caffe: Preprocessing(mean: [103.939, 116.779, 123.68], std: [1, 1, 1], channels: [2, 1, 0])
        case .inception: Preprocessing(mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5])
        case .unit: Preprocessing(mean: [0, 0, 0], std: [255, 255, 255])
        case .raw: Preprocessing(mean: [0, 0, 0], std: [1, 1, 1])
        }
    }
}
