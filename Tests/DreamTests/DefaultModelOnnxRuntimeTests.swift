import XCTest
@_spi(ONNX) import Dream

/// Our engine against onnxruntime on the converted default model: block10 and the logits agree
/// within 1e-4 of each tensor's largest magnitude. Runs scripts/compare-onnxruntime.py; skips
/// when python3 has no onnxruntime/numpy (scripts/setup installs them).
final class DefaultModelOnnxRuntimeTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func testBlock10AndLogitsMatchOnnxRuntime() throws {
        let modelPath = try DefaultModel.ensure()
        let network = try Network(onnxPath: modelPath)
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("reverie-ort-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }

        // onnxruntime returns only graph outputs: expose block10 in a copy of the model.
        let model = try Onnx_ModelProto(serializedBytes: try Data(contentsOf: URL(fileURLWithPath: modelPath)))
        let exposedPath = work.appendingPathComponent("exposed.onnx").path
        try EfficientNetLite.exposing(["block10"], in: model).serializedData().write(to: URL(fileURLWithPath: exposedPath))

        // The model cut at block10 (what the benchmark times) computes the same block10.
        let cutPath = work.appendingPathComponent("cut.onnx").path
        try EfficientNetLite.cut(model, at: ["block10"]).serializedData().write(to: URL(fileURLWithPath: cutPath))
        let probe = Self.pattern(height: 64, width: 96)
        let whole = try runOnnxRuntime(exposedPath, probe, names: ["block10"], work: work)["block10"]
        let cut = try runOnnxRuntime(cutPath, probe, names: ["block10"], work: work)["block10"]
        let (c, w) = (try XCTUnwrap(cut), try XCTUnwrap(whole))
        XCTAssertEqual(c.shape, w.shape)
        XCTAssertLessThanOrEqual(zip(c.data, w.data).map { abs($0 - $1) }.max() ?? 1, 1e-5, "cutting must not change the layer")

        // 224x224 (even: stride-2 convs pad (0,1)/(1,2)) and 161x237 (odd: (1,1)/(2,2)).
        for (h, w) in [(224, 224), (161, 237)] {
            let x = Self.pattern(height: h, width: w)
            let ours = try network.forward(x, outputs: ["block10", "logits"])
            let theirs = try runOnnxRuntime(exposedPath, x, names: ["block10", "logits"], work: work)
            for name in ["block10", "logits"] {
                let a = try XCTUnwrap(ours[name]), b = try XCTUnwrap(theirs[name])
                XCTAssertEqual(a.count, b.count, "\(name) at \(w)x\(h)")
                guard a.count == b.count else { continue }
                let scale = b.data.map(abs).max() ?? 0
                let diff = zip(a.data, b.data).map { abs($0 - $1) }.max() ?? 0
                print("onnxruntime \(w)x\(h) \(name): max |ours − ort| = \(diff), max |ort| = \(scale), relative \(diff / scale)")
                XCTAssertGreaterThan(scale, 0.1, "\(name) should not be degenerate")
                XCTAssertLessThanOrEqual(diff / scale, 1e-4, "\(name) at \(w)x\(h)")
            }
        }
    }

    /// A deterministic image-like input in model space [−1, 1]: smooth gradients plus texture.
    static func pattern(height h: Int, width w: Int) -> Tensor {
        var data = [Float](repeating: 0, count: 3 * h * w)
        var seed: UInt64 = 0x9E3779B97F4A7C15
        for c in 0..<3 {
            for y in 0..<h {
                for x in 0..<w {
                    seed = seed &* 6364136223846793005 &+ 1442695040888963407
                    let noise = Float(seed >> 40) / Float(1 << 24) - 0.5
                    let smooth = sin(Float(x) * 0.05 * Float(c + 1)) * cos(Float(y) * 0.07)
                    data[(c * h + y) * w + x] = max(-1, min(1, 0.7 * smooth + 0.3 * noise))
                }
            }
        }
        return Tensor(shape: [1, 3, h, w], data: data)
    }

    func runOnnxRuntime(_ model: String, _ x: Tensor, names: [String], work: URL) throws -> [String: Tensor] {
        let input = work.appendingPathComponent("input.raw")
        try x.data.withUnsafeBufferPointer { Data(buffer: $0) }.write(to: input)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments =
            [
                "python3", Self.root.appendingPathComponent("scripts/compare-onnxruntime.py").path,
                model, input.path, x.shape.map(String.init).joined(separator: ","), work.path
            ] + names
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if process.terminationStatus == 2 { throw XCTSkip("python3 lacks onnxruntime/numpy: \(output)") }
        guard process.terminationStatus == 0 else {
            XCTFail("compare-onnxruntime.py failed: \(output)")
            return [:]
        }
        var result: [String: Tensor] = [:]
        for line in output.split(separator: "\n") {
            guard let json = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let name = json["name"] as? String, let shape = json["shape"] as? [Int]
            else { continue }
            let raw = try Data(contentsOf: work.appendingPathComponent("\(name).raw"))
            let values = raw.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            result[name] = Tensor(shape: shape, data: values)
        }
        return result
    }
}
