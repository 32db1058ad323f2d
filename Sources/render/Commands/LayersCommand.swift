import ArgumentParser
import Dream
import Foundation

struct LayersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "layers",
        abstract: "List the layers a model can dream with, in order, with their shapes at an input size.")

    @Option(help: "An ONNX model (default: the built-in EfficientNet-Lite0).") var model: String?
    @Option(help: "Input size WIDTHxHEIGHT for the shapes.") var size = "224x224"
    @Flag(help: "No progress lines on stderr.") var quiet = false

    func validate() throws {
        guard parseSize(size) != nil else { throw ValidationError("--size must look like 640x360, got \"\(size)\"") }
    }

    func run() throws {
        try reportingErrors {
            let (width, height) = parseSize(size) ?? (224, 224)
            let network = try loadNetwork(modelPath: model, quiet: quiet)
            print(try layerListing(network, width: width, height: height), terminator: "")
        }
    }
}

/// "640x360" → (640, 360); nil unless both are positive integers.
func parseSize(_ text: String) -> (width: Int, height: Int)? {
    let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false)
    guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]), w > 0, h > 0 else { return nil }
    return (w, h)
}

/// One line per dreamable layer in graph order: name, C×H×W shape at the input size, and a
/// "recommended" mark with its rank (1 = best) for the model's recommended layers.
func layerListing(_ network: Network, width: Int, height: Int) throws -> String {
    let shapes = try network.shapes(height: height, width: width)
    let nameWidth = max(5, shapes.map(\.name.count).max() ?? 0)
    var out = "layer".padding(toLength: nameWidth, withPad: " ", startingAt: 0) + "  shape at \(width)x\(height)\n"
    for (name, shape) in shapes {
        let dims = shape.dropFirst(shape.first == 1 ? 1 : 0).map(String.init).joined(separator: "x")
        var line = name.padding(toLength: nameWidth, withPad: " ", startingAt: 0) + "  " + dims
        if let rank = network.recommendedLayers.firstIndex(of: name) {
            line = line.padding(toLength: max(line.count, nameWidth + 18), withPad: " ", startingAt: 0)
                + "  * recommended #\(rank + 1)"
        }
        out += line + "\n"
    }
    let missing = network.layers.count - shapes.count
    if missing > 0 { out += "(\(missing) later layer\(missing == 1 ? "" : "s") do not fit a \(width)x\(height) input)\n" }
    return out
}
