import Foundation

extension Network {
    /// Loads an ONNX file (see `ONNXLoader`) and prepares it to run. Errors name the file.
    /// Preprocessing: `input` when given, else a sidecar `PATH.json` (`{"input": "caffe"}`, or
    /// `"mean"`, `"std"`, `"channels": "bgr"`), else the file's metadata, else the architecture's.
    public convenience init(onnxPath: String, input: InputConvention? = nil) throws {
        var graph = try ONNXLoader.load(path: onnxPath)
        let sidecar = onnxPath + ".json"
        if input == nil, FileManager.default.fileExists(atPath: sidecar) {
            for (key, value) in try Network.sidecarMetadata(path: sidecar) { graph.metadata[key] = value }
        }
        do {
            try self.init(graph: graph, input: input)
        } catch let error as NetworkError {
            throw ONNXError("\(onnxPath): \(error.description)")
        }
    }

    /// A sidecar's preprocessing as `reverie.*` metadata; one line naming the file when it is bad.
    static func sidecarMetadata(path: String) throws -> [String: String] {
        guard let data = FileManager.default.contents(atPath: path),
            let object = try? JSONSerialization.jsonObject(with: data), let dict = object as? [String: Any]
        else { throw ONNXError("\(path): not a JSON object") }
        var out: [String: String] = [:]
        for (key, value) in dict {
            switch (key, value) {
            case ("input", let s as String), ("channels", let s as String): out["reverie.\(key)"] = s
            case ("mean", let v as [NSNumber]), ("std", let v as [NSNumber]):
                out["reverie.\(key)"] = v.map { "\($0.floatValue)" }.joined(separator: ",")
            case ("mean", let v as NSNumber), ("std", let v as NSNumber): out["reverie.\(key)"] = "\(v.floatValue)"
            default: throw ONNXError("\(path): key \"\(key)\" is not one of input, mean, std, channels (or has the wrong type)")
            }
        }
        return out
    }
}
