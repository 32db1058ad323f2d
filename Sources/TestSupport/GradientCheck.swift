import Dream
import XCTest

// Seeded randomness: Dream's `SeededGenerator` (SplitMix64), the one the renders use.

/// A tensor of uniform values in `range`, reproducible from `seed`.
public func randomTensor(_ shape: [Int], seed: UInt64, range: ClosedRange<Float> = -1...1) -> Tensor {
    var g = SeededGenerator(seed: seed)
    return Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in Float.random(in: range, using: &g) })
}

/// Result of comparing an analytic gradient with central finite differences.
public struct GradientCheckReport: CustomStringConvertible {
    /// Input element with the largest error; -1 when no element was checked.
    public var worstIndex: Int
    /// The engine's gradient at `worstIndex`.
    public var analytic: Double
    /// The central-difference estimate at `worstIndex`.
    public var numeric: Double
    /// |analytic − numeric| / scale at `worstIndex`: the largest over the checked elements.
    public var worstError: Double  // |analytic − numeric| / scale
    /// max |numeric| over the checked elements, at least 1e-6.
    public var scale: Double  // max |numeric| over the checked elements
    /// Number of input elements compared.
    public var checked: Int
    /// All of the above in one line, for logs and failure messages.
    public var description: String {
        "checked \(checked) elements; largest difference at \(worstIndex): analytic \(analytic), numeric \(numeric), "
            + "error \(worstError) of scale \(scale)"
    }
}

/// Checks `network`'s input gradient for the loss L(x) = Σ r·y(x) over `layers` (r a fixed random
/// tensor per layer) against central differences (L(x+ε) − L(x−ε)) / 2ε, accumulated in Double.
/// Error per element is |analytic − numeric| / max|numeric|: relative to the gradient's scale,
/// since single elements near zero carry Float32 rounding noise of order 1e-7·|L|/ε.
/// `tolerance` must come with a `reason` (why that much error is expected).
@discardableResult
public func checkGradient(
    _ network: Network, input: Tensor, layers: [String], epsilon: Float = 1e-2,
    tolerance: Double = 1e-2, reason: String, maxElements: Int = 400,
    file: StaticString = #filePath, line: UInt = #line
) throws -> GradientCheckReport {
    // Fixed random seed directions r, one per layer.
    let outs = try network.forward(input, outputs: layers)
    var directions = [String: Tensor]()
    for (i, name) in layers.enumerated() { directions[name] = randomTensor(outs[name]!.shape, seed: 1000 + UInt64(i)) }
    func loss(_ x: Tensor) throws -> Double {
        let y = try network.forward(x, outputs: layers)
        var s = 0.0
        for name in layers {
            for (a, r) in zip(y[name]!.data, directions[name]!.data) { s += Double(a) * Double(r) }
        }
        return s
    }
    let (_, analytic) = try network.gradient(of: input, layers: layers) { name, act in
        let r = directions[name]!
        var l: Float = 0
        for (a, b) in zip(act.data, r.data) { l += a * b }
        return (l, r)
    }
    return try compareWithCentralDifferences(
        analytic, input: input, label: layers.joined(separator: ","), epsilon: epsilon, tolerance: tolerance,
        reason: reason, maxElements: maxElements, file: file, line: line, loss: loss)
}

/// Compares `analytic`, the gradient of `loss` at `input`, with central differences
/// (L(x+ε) − L(x−ε)) / 2ε, element by element (every element of a small input, an even sample
/// of `maxElements` of a large one), the error relative to max |numeric| as in `checkGradient`.
/// `loss` should accumulate in Double. `tolerance` must come with a `reason`.
@discardableResult
public func compareWithCentralDifferences(
    _ analytic: Tensor, input: Tensor, label: String, epsilon: Float = 1e-2, tolerance: Double = 1e-2,
    reason: String, maxElements: Int = 400, file: StaticString = #filePath, line: UInt = #line,
    loss: (Tensor) throws -> Double
) throws -> GradientCheckReport {
    XCTAssertEqual(analytic.shape, input.shape, "gradient shape", file: file, line: line)
    // Check every element of small inputs, an even sample of large ones.
    let step = max(1, input.count / maxElements)
    var numeric = [(Int, Double)]()
    var x = input
    for i in stride(from: 0, to: input.count, by: step) {
        let v = x.data[i]
        x.data[i] = v + epsilon; let up = try loss(x)
        x.data[i] = v - epsilon; let down = try loss(x)
        x.data[i] = v
        numeric.append((i, (up - down) / (2 * Double(epsilon))))
    }
    let scale = max(numeric.map { abs($0.1) }.max() ?? 0, 1e-6)
    var report = GradientCheckReport(worstIndex: -1, analytic: 0, numeric: 0, worstError: 0, scale: scale, checked: numeric.count)
    for (i, n) in numeric {
        let a = Double(analytic.data[i]), e = abs(a - n) / scale
        if e >= report.worstError {
            report = GradientCheckReport(worstIndex: i, analytic: a, numeric: n, worstError: e, scale: scale, checked: numeric.count)
        }
    }
    print("gradient check [\(label)]: \(report)")
    XCTAssertLessThanOrEqual(report.worstError, tolerance, "\(report) (tolerance \(tolerance): \(reason))", file: file, line: line)
    return report
}

/// Asserts two float arrays agree within atol + rtol·|expected|; prints the largest difference.
public func assertClose(
    _ actual: [Float], _ expected: [Float], rtol: Float = 1e-4, atol: Float = 1e-5,
    _ reason: String, file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertEqual(actual.count, expected.count, "count: \(reason)", file: file, line: line)
    var worst = (index: -1, diff: Float(0), excess: -Float.infinity)
    for (i, (a, e)) in zip(actual, expected).enumerated() {
        let d = abs(a - e), excess = d - (atol + rtol * abs(e))
        // A NaN where a number is expected (or the reverse) is the worst difference there is
        // (comparisons with NaN are false, so it would otherwise never be picked).
        if excess.isNaN && !(a.isNaN && e.isNaN) { worst = (i, d, .infinity); break }
        if excess > worst.excess { worst = (i, d, excess) }
    }
    if worst.index >= 0 && worst.excess > 0 {
        XCTFail(
            "largest difference \(worst.diff) at \(worst.index): \(actual[worst.index]) vs \(expected[worst.index]) "
                + "(rtol \(rtol), atol \(atol)): \(reason)", file: file, line: line)
    }
}
