import COpenBLAS
import Foundation

/// The one call site of `cblas_sgemm`: C[m×n] = alpha·op(A)·op(B) + beta·C, row-major.
public func gemm(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
    alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    cblas_sgemm(
        CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
        Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// Runs `body(firstColumn, columns)` for `Parallel.tasks` parts of `n` columns (all but the last a
/// multiple of 16 wide), one per core, OpenBLAS single-threaded: how a 1x1 conv's sgemm splits when
/// each core should pack only its own columns.
func columnParts(_ n: Int, _ body: (_ j0: Int, _ width: Int) -> Void) {
    let parts = coreParts(n, multiple: 16)
    BLASThreads.singleThreaded {
        parallelFor(parts.count) { _, t in body(parts[t].lowerBound, parts[t].count) }
    }
}

/// 0..<count cut into at most `Parallel.tasks` parts, one per core, all but the last a multiple of
/// `multiple` (an sgemm's unroll: 16 columns, or whole input channels).
func coreParts(_ count: Int, multiple: Int) -> [Range<Int>] {
    let part = max(multiple, (count / Parallel.tasks + multiple - 1) / multiple * multiple)
    return stride(from: 0, to: count, by: part).map { $0..<min(count, $0 + part) }
}

/// Milliseconds of C (m×n) = A (m×k)·B (k×n) in the engine's best case for a 1x1 conv: split by
/// `columnParts`, the same operands every run (in cache where they fit), nothing around it (no bias,
/// clamp or layout work). The minimum of `runs` after a warm-up: the benchmark sums it over a
/// network's 1x1 convs as the least time OpenBLAS needs for them.
@_spi(Benchmarks) public func splitGemmMilliseconds(m: Int, n: Int, k: Int, runs: Int) -> Double {
    let a = [Float](repeating: 0.01, count: m * k), b = [Float](repeating: 0.02, count: k * n)
    var c = [Float](repeating: 0, count: m * n)
    return a.withUnsafeBufferPointer { a in
        b.withUnsafeBufferPointer { b in
            c.withUnsafeMutableBufferPointer { c in
                (0...runs).map { _ in
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    columnParts(n) { j0, width in
                        gemm(
                            transA: false, transB: false, m: m, n: width, k: k, a: a.baseAddress!, lda: k, b: b.baseAddress! + j0, ldb: n,
                            c: c.baseAddress! + j0, ldc: n)
                    }
                    return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
                }.dropFirst().min()!
            }
        }
    }
}
