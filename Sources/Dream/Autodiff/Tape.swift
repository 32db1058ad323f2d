/// What a forward pass leaves for the backward pass: the plan whose arena holds every value the
/// steps read and wrote (inputs, outputs, max-pool argmax, the fused blocks' kept E and D), and the
/// steps that ran, in order (a fused block's steps are listed one by one: its backward is op by op).
/// Valid until the next call on the same plan.
struct Tape {
    let plan: Plan
    private(set) var steps: [Int] = []

    init(plan: Plan) { self.plan = plan }

    mutating func record(_ step: Int) { steps.append(step) }
}
