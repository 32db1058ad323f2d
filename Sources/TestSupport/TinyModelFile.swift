@_spi(ONNX) import Dream
import Foundation
import SwiftProtobuf

/// Writes a tiny random-weight ONNX model shaped like the default one (layers "stem", "block0",
/// "block1"; preprocessing mean 127, std 128), so command-line tests can dream in milliseconds
/// through the real `--model` loading path.
public func writeTinyDreamModel(to path: String, seed: UInt64 = 11) throws {
    var rng = SeededGenerator(seed: seed)
    func weights(_ shape: [Int], scale: Float) -> [Float] {
        (0..<shape.reduce(1, *)).map { _ in scale * Float.random(in: -1...1, using: &rng) }
    }
    let same = ONNXBuild.attr("auto_pad", string: "SAME_UPPER")
    let initializers = [
        ONNXBuild.tensor("w_stem", [8, 3, 3, 3], weights([8, 3, 3, 3], scale: 0.6)),
        ONNXBuild.tensor("b_stem", [8], weights([8], scale: 0.1)),
        ONNXBuild.tensor("w_block0", [8, 8, 3, 3], weights([8, 8, 3, 3], scale: 0.3)),
        ONNXBuild.tensor("w_block1", [12, 8, 3, 3], weights([12, 8, 3, 3], scale: 0.3)),
        ONNXBuild.tensor("zero", [], [0]), ONNXBuild.tensor("six", [], [6])
    ]
    let nodes = [
        ONNXBuild.node(
            "Conv", ["image", "w_stem", "b_stem"], ["stem_conv"], name: "stem_conv",
            [ONNXBuild.attr("kernel_shape", ints: [3, 3]), ONNXBuild.attr("strides", ints: [2, 2]), same]),
        ONNXBuild.node("Clip", ["stem_conv", "zero", "six"], ["stem"], name: "stem"),
        ONNXBuild.node(
            "Conv", ["stem", "w_block0"], ["block0"], name: "block0",
            [ONNXBuild.attr("kernel_shape", ints: [3, 3]), ONNXBuild.attr("pads", ints: [1, 1, 1, 1])]),
        ONNXBuild.node("Relu", ["block0"], ["block0_act"], name: "block0_act"),
        ONNXBuild.node(
            "Conv", ["block0_act", "w_block1"], ["block1"], name: "block1",
            [ONNXBuild.attr("kernel_shape", ints: [3, 3]), ONNXBuild.attr("strides", ints: [2, 2]), same])
    ]
    let model = ONNXBuild.model(
        nodes: nodes, initializers: initializers,
        inputs: [ONNXBuild.value("image", [1, 3, "height", "width"])], outputs: ["block1"],
        metadata: [
            "reverie.mean": "127,127,127", "reverie.std": "128,128,128",
            "reverie.layers": "stem,block0,block1", "reverie.recommended": "block1"
        ])
    let data: Data = try model.serializedData()
    try data.write(to: URL(fileURLWithPath: path))
}

/// The folder holding the built products (the `render` executable), found from the test bundle.
public func productsDirectory() -> URL {
    for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
        return bundle.bundleURL.deletingLastPathComponent()
    }
    return Bundle.main.bundleURL
}

/// The result of running the `render` executable.
public struct CommandResult {
    /// Exit status; 0 is success.
    public var status: Int32
    /// Everything it wrote to standard output, decoded as UTF-8.
    public var stdout: String
    /// Everything it wrote to standard error, decoded as UTF-8.
    public var stderr: String
}

/// Runs the built `render` executable (or `executable`, e.g. a copy of it) with `arguments`, in
/// `directory` when given, waiting for it to exit.
public func runRender(
    _ arguments: [String], environment: [String: String] = [:], executable: URL? = nil,
    directory: String? = nil
) throws -> CommandResult {
    let process = Process()
    process.executableURL = executable ?? productsDirectory().appendingPathComponent("render")
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    var env = ProcessInfo.processInfo.environment
    env.merge(environment) { $1 }
    process.environment = env
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Read both pipes while the process runs, so a full pipe cannot block it.
    nonisolated(unsafe) var errData = Data()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
        errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave()
    }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return CommandResult(
        status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData, as: UTF8.self))
}
