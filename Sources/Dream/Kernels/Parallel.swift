import Foundation
import Synchronization

/// The engine's one way to run work in parallel, sized once from the machine's core count.
enum Parallel {
    /// Tasks a parallel region runs at once: one per core. Per-task scratch is sized by it.
    static let tasks = max(ProcessInfo.processInfo.activeProcessorCount, 1)
}

/// Runs `body(task, item)` for every item in 0..<count and returns when all are done.
/// Up to `Parallel.tasks` tasks run at once, one per core, and each takes the next item when it is
/// free (the machine is shared: a fixed split would wait for the slower core). `task`, in
/// 0..<Parallel.tasks, names the caller's per-task scratch: two items of one task never run at the
/// same time. Items must be independent of each other and of which task runs them, so that results
/// do not depend on thread timing (renders are byte-reproducible).
/// Runs on the engine's worker threads (`WorkerPool`); a nested region, or one from a second thread
/// while a region runs, falls back to GCD with the same contract.
func parallelFor(_ count: Int, _ body: (_ task: Int, _ item: Int) -> Void) {
    if count <= 0 { return }
    if count == 1 || Parallel.tasks == 1 { for i in 0..<count { body(0, i) }; return }
    let next = Atomic<Int>(0)
    WorkerPool.shared.perform(tasks: min(Parallel.tasks, count)) { task in
        while case let i = next.add(1, ordering: .relaxed).oldValue, i < count { body(task, i) }
    }
}

/// `parallelFor` over 0..<count cut into at most 8 ranges of at least `minChunk`: `body(start, end)`.
/// Why the minimum chunk: below ~32k floats the hand-over costs more than the work.
@inline(__always)
func parallelChunks(_ count: Int, minChunk: Int = 32_768, _ body: (Int, Int) -> Void) {
    let chunks = min(max(count / minChunk, 1), 8)
    if chunks == 1 { body(0, count); return }
    let size = (count + chunks - 1) / chunks
    parallelFor(chunks) { _, i in
        let lo = i * size, hi = min(count, lo + size)
        if lo < hi { body(lo, hi) }
    }
}
