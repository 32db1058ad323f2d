/// Runs a Program: the forward walk (which records a Tape), the backward walk over that tape, and
/// the per-input-size plans they run in. Not reentrant: the caller (Network) serialises calls.
final class Executor {
    let program: Program
    /// Run expand → depthwise → project chains as one fused kernel (`InvertedResidual`); off only to
    /// measure or test the fusion against the op-by-op path.
    var fusesInvertedResiduals = true
    let profiler = Profiler()
    private var plans = PlanCache()

    init(program: Program) { self.program = program }

    /// The plan (arena) for input `shape`, kept for later calls of the same size.
    func plan(for shape: [Int]) -> Plan { plans.plan(for: shape, program: program) }

    /// A plan of its own (shapes and geometry; no buffers until something runs on it) with the steps
    /// `ids` need inferred: for estimates and the benchmark, leaving the cached arenas alone.
    func unsharedPlan(inputShape: [Int], ids: [Int]) throws -> (plan: Plan, steps: [Int]) {
        let plan = Plan(program: program, inputShape: inputShape)
        let steps = neededSteps(for: ids)
        try plan.infer(program, steps: steps)
        return (plan, steps)
    }

    /// Steps needed to compute `ids`, in graph order.
    func neededSteps(for ids: [Int]) -> [Int] {
        var need = Set<Int>(), stack = ids
        while let v = stack.popLast() {
            guard let s = program.producer[v], !need.contains(s) else { continue }
            need.insert(s)
            stack.append(contentsOf: program.steps[s].inputs)
        }
        return need.sorted()
    }

    /// The fused chains among `steps` (none when fusion is off).
    func chains(_ plan: Plan, steps: [Int], ids: [Int]) -> [Int: FusedChain] {
        fusesInvertedResiduals ? fusedChains(program, plan, steps: steps, ids: ids) : [:]
    }

    /// Runs the steps `ids` need on `input` (shape `shape`, already checked) and returns the tape.
    /// `forBackward`: a backward walk follows: the fused blocks also store E and D (its ReLU6
    /// masks), the max pools their argmax.
    func forward(_ input: UnsafeBufferPointer<Float>, shape: [Int], ids: [Int], forBackward: Bool) throws -> Tape {
        let plan = plan(for: shape)
        let steps = neededSteps(for: ids)
        try plan.infer(program, steps: steps)
        plan.value(0).pointer.update(from: input.baseAddress!, count: plan.count(0))
        var tape = Tape(plan: plan)
        let chains = chains(plan, steps: steps, ids: ids)
        var i = 0
        while i < steps.count {
            let s = steps[i]
            let t0 = profiler.start()
            if let chain = chains[s] {
                // E and D are kept for the backward pass (its ReLU6 masks) or when asked for.
                let block = chain.block, x = plan.value(program.steps[s].inputs[0]).pointer
                let e = chain.expand.map { program.steps[$0].output }, d = program.steps[chain.depthwise].output
                let keep = { (v: Int?) in v.flatMap { forBackward || ids.contains($0) ? plan.value($0).pointer : nil } }
                block.forward(
                    x: x, e: keep(e), d: keep(d),
                    y: plan.value(program.steps[chain.add ?? chain.project].output).pointer,
                    residual: chain.add == nil ? nil : UnsafePointer(x), scratch: plan.colScratch(block.scratchCount)!)
                profiler.record(s, program, plan, "forward", since: t0, kind: "Inverted residual (fused)")
                for t in chain.steps { tape.record(t) }
                i += chain.steps.count
                continue
            }
            runForward(program, plan, step: s, forBackward: forBackward)
            profiler.record(s, program, plan, "forward", since: t0)
            tape.record(s)
            i += 1
        }
        return tape
    }

    /// The backward walk: from the gradients already seeded in `tape.plan` (`seeded[v]`: value v's
    /// gradient buffer holds d loss / d v) back to the input, pullback by pullback in reverse order.
    /// Gradient buffers are zeroed before their first writer adds into them, except where the first
    /// writer can store over the buffer instead (see `GradientStore`); a fused Clip's mask moves
    /// into its only consumer's pullback when that consumer can apply it as it stores.
    func backward(_ tape: Tape, seeded: inout [Bool]) {
        let plan = tape.plan
        let wanted = dependsOnInput(tape.steps)
        var uses = [Int](repeating: 0, count: program.valueNames.count)
        for s in tape.steps { for v in program.steps[s].inputs { uses[v] += 1 } }
        var premasked = [Bool](repeating: false, count: program.valueNames.count)
        for s in tape.steps.reversed() {
            let step = program.steps[s]
            guard seeded[step.output], wanted[s].contains(true) else { continue }
            let overwrites = pullbackOverwrites(program, plan, step: s)
            var fresh = [Bool](repeating: false, count: step.inputs.count)
            for (i, v) in step.inputs.enumerated() where wanted[s][i] && !seeded[v] {
                if overwrites && step.inputs.count == 1 { fresh[i] = true } else { plan.grad(v).zero() }
                seeded[v] = true
            }
            var inputMask: ClipMask?
            if fresh[0], uses[step.inputs[0]] == 1, let p = program.producer[step.inputs[0]], let c = program.steps[p].clip,
                pullbackMasksInput(program, plan, step: s)
            {
                inputMask = ClipMask(values: plan.value(step.inputs[0]).pointer, lo: c.lo, hi: c.hi)
                premasked[step.inputs[0]] = true
            }
            let t0 = profiler.start()
            runPullback(
                program, plan, step: s, wanted: wanted[s],
                store: GradientStore(accumulate: !fresh[0], mask: inputMask), outputMasked: premasked[step.output])
            profiler.record(s, program, plan, "backward", since: t0)
        }
    }

    /// For each step, whether each input's gradient is wanted (the input depends on the image).
    private func dependsOnInput(_ steps: [Int]) -> [[Bool]] {
        var depends = [Bool](repeating: false, count: program.valueNames.count)
        depends[0] = true
        var wanted = [[Bool]](repeating: [], count: program.steps.count)
        for s in steps {
            let step = program.steps[s]
            wanted[s] = step.inputs.map { depends[$0] }
            depends[step.output] = wanted[s].contains(true)
        }
        return wanted
    }
}
