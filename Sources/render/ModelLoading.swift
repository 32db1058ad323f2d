import Dream
import Foundation

/// The one way commands get a network: `--model PATH.onnx`, `--model NAME` (a model known by
/// name, e.g. vgg16), or the default model (EfficientNet-Lite0); a named model is fetched,
/// verified and converted on first use with progress lines on stderr.
func loadNetwork(modelPath: String?, input: InputConvention? = nil, quiet: Bool) throws -> Network {
    if let modelPath, FileManager.default.fileExists(atPath: modelPath) {
        return try Network(onnxPath: modelPath, input: input)
    }
    let model = try modelPath.map(namedModel) ?? DefaultModel.fetchable
    let label = modelPath == nil ? "default model" : "model \(model.name)"
    let path = try model.ensure(progress: { line in
        if !quiet { FileHandle.standardError.write(Data("\(label): \(line)\n".utf8)) }
    })
    do {
        return try Network(onnxPath: path, input: input)
    } catch {
        // Only a damaged cache gets here (the file is written by rename); say how to redo it.
        let fetch = modelPath == nil ? "render model fetch" : "render model fetch \(model.name)"
        throw DefaultModelError("\(error) (the cached \(label) looks damaged: run `\(fetch) --force`)")
    }
}

/// The model known by `name`; anything else is neither a file nor a name, in one line.
private func namedModel(_ name: String) throws -> FetchableModel {
    if let model = FetchableModel.named(name) { return model }
    if name.contains("/") || name.hasSuffix(".onnx") { throw DefaultModelError("\(name): no such model file") }
    let known = FetchableModel.known.map(\.name).joined(separator: ", ")
    throw DefaultModelError("\(name): no such model file, and not a model name (known: \(known))")
}
