import Dream
import Foundation

/// The one way commands get a network: `--model PATH.onnx`, or the default model (EfficientNet-Lite0),
/// fetched, verified and converted on first use with progress lines on stderr.
func loadNetwork(modelPath: String?, quiet: Bool) throws -> Network {
    if let modelPath {
        guard FileManager.default.fileExists(atPath: modelPath) else {
            throw DefaultModelError("\(modelPath): no such model file")
        }
        return try Network(onnxPath: modelPath)
    }
    let path = try DefaultModel.ensure(progress: { line in
        if !quiet { FileHandle.standardError.write(Data("default model: \(line)\n".utf8)) }
    })
    do {
        return try Network(onnxPath: path)
    } catch {
        // Only a damaged cache gets here (the file is written by rename); say how to redo it.
        throw DefaultModelError("\(error) (the cached default model looks damaged: run `render model fetch --force`)")
    }
}
