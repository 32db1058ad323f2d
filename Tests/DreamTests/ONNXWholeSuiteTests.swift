@_spi(ONNX) import Dream
@_spi(ONNX) import TestSupport
import XCTest

/// "Never a wrong answer", checked on every folder of ONNX's test data (node, pytorch-converted,
/// pytorch-operator, simple), whatever its ops: each is either refused by the loader with a
/// one-line error naming the model, or runs and matches every expected output.
final class ONNXWholeSuiteTests: XCTestCase {
    static let suites = ["node", "pytorch-converted", "pytorch-operator", "simple"]

    func testEveryFolderIsRefusedOrRightWithinTolerance() throws {
        guard ONNXTestData.isInstalled else { throw XCTSkip("libonnx-testdata is not installed at \(ONNXTestData.root)") }
        let base = (ONNXTestData.root as NSString).deletingLastPathComponent
        var passed: [String] = [], rejected = 0, unreadable = 0, refusedByEngine: [String] = [], wrong: [String] = []
        for suite in Self.suites {
            for c in try ONNXTestData.allCases(in: base + "/" + suite) {
                let label = suite + "/" + c.name
                let model: Onnx_ModelProto
                do { model = try ONNXTestData.frozenModel(c) } catch {
                    unreadable += 1  // a second input that is a sequence/optional, not a tensor
                    continue
                }
                let graph: Graph
                do {
                    graph = try ONNXLoader.graph(from: model, name: c.modelPath, requireImageInput: false)
                } catch let error as ONNXError {
                    rejected += 1
                    XCTAssertTrue(error.description.hasPrefix(c.modelPath + ": "), "error does not name the model: \(error)")
                    XCTAssertFalse(error.description.contains("\n"), "error is not one line: \(error)")
                    continue
                }
                let results: [String: Tensor]
                do {
                    results = try Network(graph: graph).forward(ONNXTestData.input(c), outputs: graph.outputs)
                } catch {
                    refusedByEngine.append("\(label): \(error)")
                    continue
                }
                var problems: [String] = []
                for (k, name) in graph.outputs.enumerated() {
                    guard let expected = try? ONNXTestData.expectedOutput(c, index: k), let actual = results[name] else {
                        problems.append("output \(k) missing"); continue
                    }
                    let worst = ONNXTestData.closeness(actual, expected, rtol: ONNXConformanceTests.rtol, atol: ONNXConformanceTests.atol)
                    if worst > 1 {
                        problems.append(
                            actual.shape == expected.shape
                                ? "output \(k) off by \(worst)x the tolerance"
                                : "output \(k) shape \(actual.shape), expected \(expected.shape)")
                    }
                }
                if problems.isEmpty { passed.append(label) } else { wrong.append("\(label): \(problems.joined(separator: "; "))") }
            }
        }
        print(
            "ONNX test data, all folders: \(passed.count) passed, \(rejected) refused by the loader, "
                + "\(refusedByEngine.count) refused by the engine, \(unreadable) with non-tensor inputs, \(wrong.count) wrong")
        for w in wrong { print("  WRONG \(w)") }
        for r in refusedByEngine { print("  ENGINE REFUSED \(r)") }
        XCTAssertEqual(wrong, [], "accepted models that give a wrong answer")
        XCTAssertEqual(refusedByEngine, [], "models the loader accepts but the engine cannot run")
        XCTAssertGreaterThanOrEqual(passed.count, 134, "fewer folders pass than when this test was written")
    }
}
