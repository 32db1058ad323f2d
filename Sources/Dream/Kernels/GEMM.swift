import COpenBLAS
import Foundation
import Synchronization

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

/// Runs `body(worker, item)` for every item in 0..<count on both cores, each core taking the next
/// item when it is free (the machine is shared: a fixed half each waits for the slower core).
/// `worker` (0 or 1) names the core's private scratch. OpenBLAS runs single-threaded meanwhile, so
/// each core's `gemm` on its item — with whatever fill/clamp the caller does around it — runs on that
/// core's L2 and never hands work to an OpenBLAS thread (whose wake-up and join cost 10–50 µs a call,
/// and whose split of C does not match the caller's passes over it).
func parallelGemms(_ count: Int, _ body: (_ worker: Int, _ item: Int) -> Void) {
    if count <= 0 { return }
    let saved = openblas_get_num_threads()
    if saved != 1 { openblas_set_num_threads(1) }
    defer { if saved != 1 { openblas_set_num_threads(saved) } }
    if count == 1 { body(0, 0); return }
    let next = Atomic<Int>(0)
    parallelPerform(iterations: gemmWorkers) { w in
        while case let i = next.add(1, ordering: .relaxed).oldValue, i < count { body(w, i) }
    }
}

/// Runs `body(firstColumn, columns)` for the two halves of `n` columns (the first a multiple of 16
/// wide), one per core, OpenBLAS single-threaded: how a 1x1 conv's sgemm splits when each core
/// should pack only its own columns.
func columnHalves(_ n: Int, _ body: (_ j0: Int, _ width: Int) -> Void) {
    let half = min((n / 2 + 15) & ~15, n)
    parallelGemms(half < n ? 2 : 1) { _, t in body(t * half, t == 0 ? half : n - half) }
}

/// Milliseconds of C (m×n) = A (m×k)·B (k×n) in the engine's best case for a 1x1 conv: split by
/// `columnHalves`, the same operands every run (in cache where they fit), nothing around it (no bias,
/// clamp or layout work). The minimum of `runs` after a warm-up: the benchmark sums it over a
/// network's 1x1 convs as the least time OpenBLAS needs for them.
public func splitGemmMilliseconds(m: Int, n: Int, k: Int, runs: Int) -> Double {
    let a = [Float](repeating: 0.01, count: m * k), b = [Float](repeating: 0.02, count: k * n)
    var c = [Float](repeating: 0, count: m * n)
    return a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in c.withUnsafeMutableBufferPointer { c in
        (0...runs).map { _ in
            let t0 = DispatchTime.now().uptimeNanoseconds
            columnHalves(n) { j0, width in
                gemm(transA: false, transB: false, m: m, n: width, k: k, a: a.baseAddress!, lda: k, b: b.baseAddress! + j0, ldb: n,
                     c: c.baseAddress! + j0, ldc: n)
            }
            return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
        }.dropFirst().min()!
    } } }
}

/// Cores `parallelGemms` uses; per-worker scratch is sized by it.
let gemmWorkers = 2
