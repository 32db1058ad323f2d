import Dispatch

/// What the benchmark (`reverie-bench`) and the fusion tests ask of a Network, outside the
/// dreaming API: `@_spi(Benchmarks) import Dream` to see it.
extension Network {
    /// Collect per-op-kind wall time in `profile` (off by default).
    @_spi(Benchmarks) public var profiling: Bool {
        get { executor.profiler.enabled }
        set { executor.profiler.enabled = newValue }
    }
    /// Seconds per "<op kind> forward|backward" since the last `resetProfile()`.
    @_spi(Benchmarks) public var profile: [String: Double] { executor.profiler.byKind }
    /// Seconds per "<step name> forward|backward" since the last `resetProfile()`.
    @_spi(Benchmarks) public var nodeProfile: [String: Double] { executor.profiler.byStep }
    /// Empties `profile` and `nodeProfile`.
    @_spi(Benchmarks) public func resetProfile() { executor.profiler.reset() }
    /// Run expand → depthwise → project chains as one fused kernel (`InvertedResidual`); off only to
    /// measure or test the fusion against the op-by-op path.
    @_spi(Benchmarks) public var fusesInvertedResiduals: Bool {
        get { executor.fusesInvertedResiduals }
        set { executor.fusesInvertedResiduals = newValue }
    }

    /// Each depthwise conv needed for `layers` at (1, C, height, width) timed alone, as the step runs it:
    /// the forward with its fused clip, and the input gradient with dy masked by that clip and dx
    /// stored under its producer's (0 < x < 6, ReLU6). Minimum of `runs` milliseconds each, on random
    /// data; for the benchmark (`reverie-bench --kernels`).
    @_spi(Benchmarks) public func depthwiseKernelTimes(height: Int, width: Int, layers: [String], runs: Int) throws
        -> [(name: String, forward: Double, backward: Double)]
    {
        try locked {
            let (_, plan, steps) = try unsharedPlan(height: height, width: width, layers: layers, allowAny: true)
            var g = SeededGenerator(seed: 7)
            return steps.compactMap { s in
                let step = program.steps[s]
                guard case .conv = step.op, let geometry = plan.geometry[s], geometry.isDepthwise else { return nil }
                let x = Buffer(count: geometry.batch * geometry.inC * geometry.inPlane)
                let y = Buffer(count: geometry.batch * geometry.outC * geometry.outPlane), dy = Buffer(count: y.count)
                let dx = Buffer(count: x.count), scratch = Buffer(count: depthwiseScratchCount(geometry))
                for i in 0..<x.count { x.pointer[i] = Float.random(in: -1...7, using: &g) }
                for i in 0..<dy.count { dy.pointer[i] = Float.random(in: -1...1, using: &g) }
                func best(_ body: () -> Void) -> Double {
                    (0...runs).map { _ in
                        let t0 = DispatchTime.now().uptimeNanoseconds
                        body()
                        return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
                    }.dropFirst().min()!
                }
                let forward = best {
                    depthwiseConv2d(
                        geometry, x: x.pointer, weight: step.weight!.pointer, bias: step.bias?.pointer, y: y.pointer,
                        scratch: scratch.pointer, clip: step.clip)
                }
                let dyMask = step.clip.map { ClipMask(values: y.pointer, lo: $0.lo, hi: $0.hi) }
                let backward = best {
                    depthwiseConv2dBackward(
                        geometry, dy: dy.pointer, weight: step.weight!.pointer, dx: dx.pointer,
                        scratch: scratch.pointer, dyMask: dyMask,
                        store: GradientStore(accumulate: false, mask: ClipMask(values: x.pointer, lo: 0, hi: 6)))
                }
                return (step.name, forward, backward)
            }
        }
    }

    /// The 1x1 convs (one group) needed for `layers` at (1, C, height, width), as sgemm shapes:
    /// y (outC × plane) = W (outC × inC) · x (inC × plane). For the benchmark's OpenBLAS bound.
    @_spi(Benchmarks) public func pointwiseConvShapes(height: Int, width: Int, layers: [String]) throws -> [(outC: Int, inC: Int, plane: Int)] {
        try locked {
            let (_, plan, steps) = try unsharedPlan(height: height, width: width, layers: layers, allowAny: true)
            return steps.compactMap { s in
                guard case .conv = program.steps[s].op, let g = plan.geometry[s], g.isPointwise, g.groups == 1 else { return nil }
                return (g.outC, g.inC, g.batch * g.outPlane)
            }
        }
    }

    /// Forward multiply-adds of the convs and dense ops needed for `layers` at (1, C, height, width).
    @_spi(Benchmarks) public func multiplyAdds(height: Int, width: Int, layers: [String]) throws -> Int {
        try locked {
            let (_, plan, steps) = try unsharedPlan(height: height, width: width, layers: layers, allowAny: true)
            var macs = 0
            for s in steps {
                let step = program.steps[s]
                switch step.op {
                case .conv:
                    let g = plan.geometry[s]!
                    macs += g.batch * g.outC * g.outPlane * g.colRows
                case let .gemm(b, _, _, _, _, _), let .matMul(b):
                    macs += plan.count(step.output) * b.count / (plan.shapes[step.output]!.last ?? 1)
                default: break
                }
            }
            return macs
        }
    }
}
