extension Network {
    /// Loads an ONNX file (see `ONNXLoader`) and prepares it to run.
    public convenience init(onnxPath: String) throws {
        try self.init(graph: ONNXLoader.load(path: onnxPath))
    }
}
