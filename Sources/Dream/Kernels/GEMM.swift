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
    let next = ItemCounter()
    DispatchQueue.concurrentPerform(iterations: gemmWorkers) { w in
        while case let i = next.take(), i < count { body(w, i) }
    }
}

/// Cores `parallelGemms` uses; per-worker scratch is sized by it.
let gemmWorkers = 2

private final class ItemCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    func take() -> Int {
        lock.lock(); defer { lock.unlock() }
        next += 1
        return next - 1
    }
}
