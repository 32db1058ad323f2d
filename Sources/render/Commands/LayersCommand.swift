import ArgumentParser
import Dream
import Foundation
import Video

struct LayersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "layers",
        abstract: "List the layers a model can dream with, or show what each does on a contact sheet.",
        discussion: """
            Without IN: one line per dreamable layer, in order, with its shape at --size; recommended \
            layers are marked. With IN and -o SHEET.png: IN dreamed once per layer (all dreamable layers, \
            or --layers), or once per channel of one layer (--channels LAYER), each tile labelled.
            """)

    @Argument(help: "A picture to dream on a contact sheet (optional).") var input: String?
    @Option(name: .shortAndLong, help: "The contact sheet to write (PNG or JPEG).") var output: String?
    @Option(help: "Input size WIDTHxHEIGHT for the listed shapes.") var size = "224x224"
    @Option(help: "One sheet tile per channel of this layer (the first --count channels).") var channels: String?
    @Option(help: "How many channels with --channels.") var count = 16
    @OptionGroup var dream: DreamOptions

    func validate() throws {
        guard parseSize(size) != nil else { throw ValidationError("--size must look like 640x360, got \"\(size)\"") }
        if (input == nil) != (output == nil) { throw ValidationError("a contact sheet needs both IN and -o SHEET.png") }
        if let output, !["png", "jpg", "jpeg"].contains(URL(fileURLWithPath: output).pathExtension.lowercased()) {
            throw ValidationError("\(output): the sheet must end in .png, .jpg or .jpeg")
        }
        guard count >= 1 && count <= 256 else { throw ValidationError("--count must be 1...256") }
    }

    func run() throws {
        let network = try loadNetwork(modelPath: dream.model, input: dream.inputConvention(), quiet: dream.quiet)
        guard let input, let output else {
            let (width, height) = parseSize(size) ?? (224, 224)
            print(try layerListing(network, width: width, height: height), terminator: "")
            return
        }
        var parameters = try dream.resolve(defaultPreset: "classic")
        let terms: [String]
        if let layer = channels {
            terms = (0..<count).map { "\(layer)[\($0)]" }
        } else if dream.layers != nil {
            terms = parameters.layers
        } else {
            terms = network.layers
        }
        parameters.layers = [terms[0]]
        try parameters.validate()
        let progress = Progress(quiet: dream.quiet)
        let picture = try readPicture(input, choice: FrameChoice())
        let guide = try GuideImage.load(parameters)
        let sheet = try layerSheet(
            picture: picture, terms: terms, parameters: parameters, network: network,
            tileWidth: dream.width ?? min(picture.width, 320), guide: guide?.picture, progress: progress)
        let record = RenderRecord(
            command: "layers", preset: dream.presetName(default: "classic"), parameters: parameters,
            model: dream.modelLabel, source: input, guideSHA256: guide?.sha256)
        try ImageFile.write(sheet, to: output, metadata: ["reverie": try record.json()])
        progress.say("wrote \(output) (\(terms.count) tiles, \(sheet.width)x\(sheet.height))")
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
            line =
                line.padding(toLength: max(line.count, nameWidth + 18), withPad: " ", startingAt: 0)
                + "  * recommended #\(rank + 1)"
        }
        out += line + "\n"
    }
    if !network.blockNames.isEmpty {
        let byValue = Dictionary(shapes.map { ($0.name, $0.shape) }, uniquingKeysWith: { a, _ in a })
        out += "\nblocks of \(network.family?.rawValue ?? "the network") (use these names in --layers):\n"
        let w = max(5, network.blockNames.map(\.name.count).max() ?? 0)
        for (name, value) in network.blockNames {
            let dims = byValue[value].map { s in s.dropFirst(s.first == 1 ? 1 : 0).map(String.init).joined(separator: "x") } ?? "-"
            var line =
                name.padding(toLength: w, withPad: " ", startingAt: 0) + "  " + dims.padding(toLength: 12, withPad: " ", startingAt: 0)
                + "  = \(value)"
            if let rank = network.recommendedLayers.firstIndex(of: name) { line += "  * recommended #\(rank + 1)" }
            out += line + "\n"
        }
    }
    out += "input: \(network.preprocessing.summary) (\(network.preprocessingSource))\n"
    if let reason = Set(network.graph.unavailable.values).sorted().first {
        out += "(the file goes on past what Reverie runs: \(reason))\n"
    }
    let missing = network.layers.count - shapes.count
    if missing > 0 { out += "(\(missing) later layer\(missing == 1 ? "" : "s") do not fit a \(width)x\(height) input)\n" }
    return out
}
