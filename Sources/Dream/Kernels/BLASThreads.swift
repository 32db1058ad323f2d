import COpenBLAS
import Foundation

/// OpenBLAS's worker threads busy-wait (a `sched_yield` loop) for 2^28 cycles, about 0.1 s, after
/// every threaded sgemm. The engine's own kernels (depthwise, banded im2col, elementwise) run on
/// other threads between those sgemms, so on a 2-core machine a spinning worker takes a core from
/// them. `OPENBLAS_THREAD_TIMEOUT=4` (2^4 cycles) makes the workers sleep at once. Measured on the
/// default model's gradient step to block10 (alternating runs, medians): depthwise forward −30 %,
/// depthwise backward −30 %, pointwise sgemms +5–15 % (the workers wake from sleep), whole step
/// 28.6 → 23.9 ms at 224x224 and 395 → 326 ms at 1280x720.
///
/// OpenBLAS reads the variable once, when the library loads (before `main`), so an executable
/// calls this first thing: if the variable is unset it sets it and re-executes itself (same
/// arguments); a value the user set is kept. On any failure it carries on unchanged.
public enum BLASThreads {
    /// OpenBLAS's thread count for the process, set once (by the first Network): one per core.
    static let configure: Void = { openblas_set_num_threads(Int32(Parallel.tasks)) }()

    /// Runs `body` with OpenBLAS single-threaded: for parallel regions whose tasks each call sgemm,
    /// so each core's sgemm, with whatever fill or clamp the task does around it, runs on that core's
    /// L2 and never hands work to an OpenBLAS thread (whose wake-up and join cost 10–50 µs a call, and
    /// whose split of C does not match the task's passes over it). The whole-image sgemms elsewhere
    /// keep OpenBLAS's own threads (Conv2D.swift says where each wins).
    static func singleThreaded(_ body: () -> Void) {
        let saved = openblas_get_num_threads()
        if saved != 1 { openblas_set_num_threads(1) }
        defer { if saved != 1 { openblas_set_num_threads(saved) } }
        body()
    }

    /// The environment variable OpenBLAS reads its spin time from (the value is a power of two in cycles).
    public static let timeoutVariable = "OPENBLAS_THREAD_TIMEOUT"

    /// On Linux, when `timeoutVariable` is unset: sets it to 4 and re-executes the process with the same
    /// arguments, so this call does not return. Otherwise, or if the exec fails, it returns and the
    /// process carries on as is.
    public static func restartWithShortSpinIfNeeded() {
        #if os(Linux)
            guard getenv(timeoutVariable) == nil else { return }
            setenv(timeoutVariable, "4", 1)
            execv("/proc/self/exe", CommandLine.unsafeArgv)
        // Only reached when exec failed: run as is (the variable now set is harmless).
        #endif
    }
}
