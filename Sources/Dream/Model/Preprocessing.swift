/// Model-space preprocessing: model input = (rgb255 − mean[c]) / std[c]. Belongs to the model
/// (read from the graph's metadata), never to callers.
public struct Preprocessing: Sendable, Equatable {
    /// Per-channel value subtracted from the RGB level (0...255 units); empty: 0.
    public var mean: [Float]  // per channel, 0...255 units
    /// Per-channel divisor applied after the mean, in the same units; empty: 1.
    public var std: [Float]

    /// Preprocessing with these lists (channels past a list's end reuse it cyclically).
    public init(mean: [Float], std: [Float]) {
        self.mean = mean; self.std = std
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

    /// A picture (1, C, H, W) with values in [0, 1] → the model's input space.
    public func toModel(_ picture: Tensor) -> Tensor {
        var out = picture
        let plane = picture.shape[2] * picture.shape[3]
        for c in 0..<picture.shape[1] {
            for i in (c * plane)..<((c + 1) * plane) { out.data[i] = toModel(picture.data[i] * 255, channel: c) }
        }
        return out
    }

    /// The model's input space → a picture with values in [0, 1], clamped.
    public func fromModel(_ image: Tensor) -> Tensor {
        var out = image
        let plane = image.shape[2] * image.shape[3]
        for c in 0..<image.shape[1] {
            for i in (c * plane)..<((c + 1) * plane) { out.data[i] = min(max(fromModel(image.data[i], channel: c) / 255, 0), 1) }
        }
        return out
    }

    /// Reads `reverie.mean` / `reverie.std` ("127,127,127"); a single value applies to every channel.
    static func from(metadata: [String: String], channels: Int) throws -> Preprocessing {
        guard metadata["reverie.mean"] != nil || metadata["reverie.std"] != nil else { return .imageNet }
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
        let mean = try parse("reverie.mean", fallback: Preprocessing.imageNet.mean)
        let std = try parse("reverie.std", fallback: Preprocessing.imageNet.std)
        guard std.allSatisfy({ $0 > 0 }) else { throw NetworkError.metadata(key: "reverie.std", problem: "must be positive, got \(std)") }
        return Preprocessing(mean: mean, std: std)
    }
}

import Foundation
