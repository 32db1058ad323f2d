import Foundation
import Synchronization

/// The engine's worker threads, one per core beside the caller's: `perform(tasks:)` runs
/// `body(t)` for t in 0..<tasks, each task exactly once and on one thread (the caller runs one or
/// more), and returns when all are done. Only `parallelFor` (Parallel.swift) calls it.
///
/// Why not GCD: its idle workers sleep, and waking one costs 20–50 µs on this 2-vCPU VM. A parallel
/// region of the network is often shorter than that (a 14x14 depthwise conv, a small sgemm), so the
/// second core joined late or not at all: measured, `concurrentPerform(iterations: 2)` of two 10 µs
/// halves took 42–75 µs (mean of 500) against 21 µs for running both halves on one thread. A
/// gradient step at 224x224 has about 60 such regions.
/// Here a worker that finishes a region spins (yielding its core to any other runnable thread) for
/// `spinNanoseconds` before it sleeps, so back-to-back regions start on both cores at once.
final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool(workers: Parallel.tasks - 1)

    /// How long an idle worker waits for the next region before it sleeps: longer than the gaps
    /// between a network's kernels, short enough not to hold a core between dream steps.
    static let spinNanoseconds: UInt64 = 200_000

    private let workers: Int
    /// The current region: generation << 16 | closed (bit 8) | workers that joined it (bits 0–7).
    private let state = Atomic<Int>(0)
    private let nextItem = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    private let sleepers = Atomic<Int>(0)
    private let wake = NSCondition()
    /// Written by the caller before it publishes `state` (release), read by workers after they join.
    private var body: ((Int) -> Void)?
    private var count = 0

    private static let closed = 1 << 8, generationShift = 16

    init(workers: Int) {
        self.workers = min(workers, 255)
        for _ in 0..<self.workers {
            let thread = Thread { [unowned self] in self.work() }
            thread.name = "reverie-worker"
            thread.start()
        }
    }

    func perform(tasks n: Int, _ body: (Int) -> Void) {
        if n <= 0 { return }
        if n == 1 || workers == 0 { for i in 0..<n { body(i) }; return }
        // One region at a time: a nested call, or a second thread's, uses GCD instead.
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            DispatchQueue.concurrentPerform(iterations: n, execute: body)
            return
        }
        withoutActuallyEscaping(body) { body in
            self.body = body; count = n
            nextItem.store(0, ordering: .relaxed)
            finished.store(0, ordering: .relaxed)
            let generation = (state.load(ordering: .relaxed) >> Self.generationShift) + 1
            state.store(generation << Self.generationShift, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 { wake.lock(); wake.broadcast(); wake.unlock() }
            runItems(body, n)
            // Close the region: a worker that has not joined yet skips it; wait for those that did.
            let joined = state.bitwiseOr(Self.closed, ordering: .acquiringAndReleasing).oldValue & 0xff
            var spins = 0
            while finished.load(ordering: .acquiring) < joined {
                spins += 1
                if spins & 63 == 0 { sched_yield() }
            }
            self.body = nil
        }
        busy.store(false, ordering: .releasing)
    }

    @inline(__always) private func runItems(_ body: (Int) -> Void, _ n: Int) {
        while true {
            let i = nextItem.add(1, ordering: .relaxed).oldValue
            if i >= n { return }
            body(i)
        }
    }

    /// The caller's closure is only borrowed (`withoutActuallyEscaping`): this worker's reference to it
    /// must be gone before `finished` lets the caller return, hence a function of its own.
    @inline(never) private func runJoined() {
        if let body { runItems(body, count) }
    }

    private func work() {
        var seen = 0
        while true {
            var s = state.load(ordering: .acquiring)
            if s >> Self.generationShift == seen {
                let start = DispatchTime.now().uptimeNanoseconds
                var spins = 0
                while s >> Self.generationShift == seen {
                    spins += 1
                    if spins & 63 == 0 {
                        if DispatchTime.now().uptimeNanoseconds - start > Self.spinNanoseconds {
                            wake.lock()
                            sleepers.add(1, ordering: .sequentiallyConsistent)
                            while state.load(ordering: .sequentiallyConsistent) >> Self.generationShift == seen { wake.wait() }
                            sleepers.subtract(1, ordering: .sequentiallyConsistent)
                            wake.unlock()
                        } else {
                            sched_yield()
                        }
                    }
                    s = state.load(ordering: .acquiring)
                }
            }
            seen = s >> Self.generationShift
            // Join unless the caller already closed the region (it ran every item itself).
            var joined = false
            while s & Self.closed == 0 && s >> Self.generationShift == seen {
                let (exchanged, now) = state.compareExchange(expected: s, desired: s + 1, ordering: .acquiringAndReleasing)
                if exchanged { joined = true; break }
                s = now
            }
            guard joined else { continue }
            runJoined()
            finished.add(1, ordering: .releasing)  // after runJoined released its copy of `body`
        }
    }
}
