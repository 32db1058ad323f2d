@_spi(ONNX) import Dream
@_spi(ONNX) import TestSupport
import XCTest

/// Every single-op folder of ONNX's node conformance data (libonnx-testdata) whose op we map
/// is loaded and either run through `Network` and compared with `output_0.pb`, or rejected with
/// our one-line error. The rejected list is pinned, so a new rejection (or a new acceptance) fails.
final class ONNXConformanceTests: XCTestCase {
    static let supportedOps: Set<String> = [
        "Conv", "MaxPool", "AveragePool", "GlobalAveragePool", "LRN", "Clip", "Relu", "Sigmoid", "Add", "Mul",
        "Concat", "BatchNormalization", "Gemm", "MatMul", "Softmax", "Flatten", "Reshape", "Pad", "Dropout", "Identity"
    ]

    /// Folders we refuse, each for a reason a user would get as an error (never a wrong answer).
    static let expectedRejections: Set<String> = [
        // element types other than float
        "test_add_uint8", "test_mul_uint8", "test_maxpool_2d_uint8", "test_clip_default_int8_inbounds",
        "test_clip_default_int8_max", "test_clip_default_int8_min", "test_edge_pad", "test_reflect_pad",
        // 1-D and 3-D pooling
        "test_averagepool_1d_default", "test_averagepool_3d_default", "test_maxpool_1d_default", "test_maxpool_3d_default",
        // pool dilations, MaxPool indices output / storage_order
        "test_maxpool_2d_dilations", "test_maxpool_with_argmax_2d_precomputed_pads",
        "test_maxpool_with_argmax_2d_precomputed_strides",
        // training mode
        "test_batchnorm_epsilon_training_mode", "test_batchnorm_example_training_mode",
        "test_training_dropout", "test_training_dropout_default", "test_training_dropout_default_mask",
        "test_training_dropout_mask", "test_training_dropout_zero_ratio", "test_training_dropout_zero_ratio_mask",
        "test_dropout_default_mask", "test_dropout_default_mask_ratio",
        // batched MatMul (B of rank > 2), Reshape allowzero with a 0, optional/sequence inputs
        "test_matmul_3d", "test_matmul_4d", "test_reshape_allowzero_reordered",
        "test_identity_opt", "test_identity_sequence"
    ]

    /// Why 1e-4 relative + 1e-5 absolute: the reference outputs are numpy float32 results and our
    /// kernels sum in a different order (im2col + BLAS blocking), which moves the last few bits;
    /// the absolute term covers outputs near zero, where a relative error means nothing.
    static let rtol: Float = 1e-4, atol: Float = 1e-5

    func testEverySupportedSingleOpFolder() throws {
        guard ONNXTestData.isInstalled else { throw XCTSkip("libonnx-testdata is not installed at \(ONNXTestData.root)") }
        let cases = try ONNXTestData.singleOpCases(ops: Self.supportedOps)
        var passed: [String] = [], rejected: [String] = [], failures: [String] = []
        for c in cases {
            let graph: Graph
            do {
                graph = try ONNXLoader.graph(from: ONNXTestData.frozenModel(c), name: c.modelPath, requireImageInput: false)
            } catch let error as ONNXError {
                rejected.append(c.name)
                print("rejected \(c.name): \(error)")
                XCTAssertTrue(error.description.hasPrefix(c.modelPath + ": "), "error does not name the model: \(error)")
                XCTAssertFalse(error.description.contains("\n"), "error is not one line: \(error)")
                continue
            }
            do {
                let network = try Network(graph: graph)
                let output = try XCTUnwrap(graph.outputs.first)
                let actual = try XCTUnwrap(network.forward(ONNXTestData.input(c), outputs: [output])[output])
                let expected = try ONNXTestData.expectedOutput(c)
                let worst = ONNXTestData.closeness(actual, expected, rtol: Self.rtol, atol: Self.atol)
                if worst <= 1 {
                    passed.append(c.name)
                } else if actual.shape != expected.shape {
                    failures.append("\(c.name) (\(c.opType)): shape \(actual.shape), expected \(expected.shape)")
                } else {
                    failures.append("\(c.name) (\(c.opType)): error \(worst)x the tolerance")
                }
            } catch {
                failures.append("\(c.name) (\(c.opType)): loaded, but running it failed: \(error)")
            }
        }
        print(
            "ONNX conformance: \(cases.count) folders run, \(passed.count) passed, "
                + "\(rejected.count) rejected as expected, \(failures.count) failed")
        for f in failures { print("  FAILED \(f)") }
        XCTAssertEqual(failures, [], "conformance failures")
        XCTAssertEqual(Set(rejected).subtracting(Self.expectedRejections).sorted(), [], "newly rejected folders")
        XCTAssertEqual(Self.expectedRejections.subtracting(rejected).sorted(), [], "expected rejections that now load")
        // Guards against the enumeration silently shrinking (e.g. a changed data layout).
        XCTAssertGreaterThanOrEqual(passed.count, 100)
    }
}
