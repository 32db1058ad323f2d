import Dispatch

/// Wall time per op kind and per step, collected while `enabled` (for the benchmark's profile).
final class Profiler {
    var enabled = false
    /// Seconds per "<op kind> forward|backward".
    private(set) var byKind: [String: Double] = [:]
    /// Seconds per "<step name> forward|backward".
    private(set) var byStep: [String: Double] = [:]

    func reset() { byKind = [:]; byStep = [:] }

    /// A start time for `record`, or 0 when not profiling.
    @inline(__always) func start() -> UInt64 { enabled ? DispatchTime.now().uptimeNanoseconds : 0 }

    /// Adds the time since `t0` to step `s`'s kind (`fusedKind` for a fused block) and name.
    func record(_ s: Int, _ program: Program, _ plan: Plan, _ pass: String, since t0: UInt64, kind fusedKind: String? = nil) {
        guard enabled else { return }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        var kind = fusedKind ?? opName(program.steps[s].op)
        if fusedKind == nil, let g = plan.geometry[s], case .conv = program.steps[s].op {
            let direct = DirectConv.runs(g, program.steps[s].direct, backward: pass == "backward")
            kind =
                g.isDepthwise
                ? "DepthwiseConv"
                : g.isPointwise ? (direct ? "Conv 1x1 (direct)" : "Conv 1x1 (sgemm)") : direct ? "Conv (direct)" : "Conv (im2col+sgemm)"
        }
        byKind["\(kind) \(pass)", default: 0] += seconds
        byStep["\(program.steps[s].name) \(pass)", default: 0] += seconds
    }
}
