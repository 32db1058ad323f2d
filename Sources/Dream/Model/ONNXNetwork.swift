extension Network {
    /// Loads an ONNX file (see `ONNXLoader`) and prepares it to run. Errors name the file.
    public convenience init(onnxPath: String) throws {
        let graph = try ONNXLoader.load(path: onnxPath)
        do {
            try self.init(graph: graph)
        } catch let error as NetworkError {
            throw ONNXError("\(onnxPath): \(error.description)")
        }
    }
}
