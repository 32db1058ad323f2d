import COpenBLAS
import Foundation

/// How the process sets OpenBLAS up, before OpenBLAS reads its environment (when the library loads,
/// before `main`): an executable calls `restartWithTunedOpenBLASIfNeeded()` first thing, which sets
/// what is unset and re-executes itself once (same arguments). A value the user set is kept; on any
/// failure the process carries on unchanged.
///
/// - `OPENBLAS_THREAD_TIMEOUT=4`: OpenBLAS's worker threads busy-wait (a `sched_yield` loop) for 2^28
///   cycles, about 0.1 s, after every threaded sgemm. The engine's own kernels (depthwise, banded
///   im2col, elementwise) run on other threads between those sgemms, so on a 2-core machine a
///   spinning worker takes a core from them; 2^4 cycles makes the workers sleep at once. Measured on
///   the default model's gradient step to block10 (alternating runs, medians): depthwise forward
///   −30 %, depthwise backward −30 %, pointwise sgemms +5–15 % (the workers wake from sleep), whole
///   step 28.6 → 23.9 ms at 224x224 and 395 → 326 ms at 1280x720.
/// - `OPENBLAS_CORETYPE`: Debian's OpenBLAS 0.3.21 picks its kernels from the CPU model, and on a CPU
///   newer than it knows (this machine's Xeon, AVX-512 with FP16, under a hypervisor) it falls back
///   to "Prescott", its SSE3 kernels. When it chose such a pre-AVX2 kernel set although the CPU's
///   flags offer AVX-512 (F, CD, BW, DQ, VL) or AVX2 + FMA, the process restarts with "SkylakeX" or
///   "Haswell". Measured (reverie-bench, 1024³ sgemm on 2 threads): 61–65 GFLOP/s as Prescott,
///   159–164 as Haswell, 226–307 as SkylakeX; the GoogLeNet forward to inception_4c at 224x224
///   88 → 48 ms.
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

    /// The environment variable OpenBLAS reads its spin time from (a power of two in cycles).
    public static let timeoutVariable = "OPENBLAS_THREAD_TIMEOUT"
    /// The environment variable OpenBLAS reads its kernel set from ("SkylakeX", "Haswell", ...).
    public static let coreTypeVariable = "OPENBLAS_CORETYPE"

    /// On Linux, when either variable is unset and should be set (see above): sets it and re-executes
    /// the process with the same arguments, so this call does not return. Otherwise, or if the exec
    /// fails, it returns and the process carries on as is.
    public static func restartWithTunedOpenBLASIfNeeded() {
        #if os(Linux)
            var changed = false
            if getenv(timeoutVariable) == nil {
                setenv(timeoutVariable, "4", 1)
                changed = true
            }
            if getenv(coreTypeVariable) == nil, let core = betterCoreType() {
                setenv(coreTypeVariable, core, 1)
                changed = true
            }
            guard changed else { return }
            execv("/proc/self/exe", CommandLine.unsafeArgv)
        // Only reached when exec failed: run as is (the variables now set are harmless).
        #endif
    }

    /// The kernel set OpenBLAS chose for this process.
    public static var coreName: String { openblas_get_corename().map { String(cString: $0) } ?? "unknown" }

    /// OpenBLAS's own names for its kernel sets older than AVX2 (what it falls back to on a CPU it
    /// does not know).
    static let preAVX2Cores: Set<String> = [
        "prescott", "katmai", "coppermine", "northwood", "banias", "core2", "penryn", "dunnington", "nehalem",
        "atom", "sandybridge", "generic", "unknown"
    ]

    /// "SkylakeX" or "Haswell" when OpenBLAS chose a pre-AVX2 kernel set although the CPU (its flags
    /// in /proc/cpuinfo, which Linux lists only when the kernel saves the registers) offers more.
    static func betterCoreType(chosen: String = coreName, cpuFlags: @autoclosure () -> Set<String>? = cpuFlags()) -> String? {
        // /proc/cpuinfo is read only when OpenBLAS fell back.
        guard preAVX2Cores.contains(chosen.lowercased()), let flags = cpuFlags() else { return nil }
        if flags.isSuperset(of: ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]) { return "SkylakeX" }
        if flags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
        return nil
    }

    /// The first CPU's flags from /proc/cpuinfo, nil where there is none.
    static func cpuFlags() -> Set<String>? {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
            let colon = line.firstIndex(of: ":")
        else { return nil }
        return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }
}
