/// What the backward pass needs from a forward pass: the steps that ran, in order. Their inputs,
/// outputs and max-pool argmax stay in the plan's arena until the next call.
struct Tape {
    var steps: [Int] = []
    var plan: Plan?

    mutating func record(_ step: Int) { steps.append(step) }
}
