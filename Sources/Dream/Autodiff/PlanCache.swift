/// The plans (per-input-size arenas) a Network keeps, least recently used first out.
struct PlanCache {
    /// Why 4: tiles come in a few sizes (full tiles, right/bottom edges, the corner).
    static let maxPlans = 4
    /// Why 1.5 GB: a 1280x720 step to block10 alone needs ~1.4 GB; keep at most one more such arena.
    static let maxArenaBytes = 1_500_000_000

    private var plans: [[Int]: Plan] = [:]
    private var order: [[Int]] = []

    /// The plan for input `shape`, made (evicting the least recently used) if there is none.
    mutating func plan(for shape: [Int], program: Program) -> Plan {
        if let p = plans[shape] {
            order.removeAll { $0 == shape }; order.append(shape)
            return p
        }
        // Evict: at most `maxPlans`, and at most `maxArenaBytes` held by the others.
        while let oldest = order.first,
            plans.count >= Self.maxPlans || plans.values.reduce(0, { $0 + $1.allocatedBytes }) > Self.maxArenaBytes
        {
            plans[oldest] = nil; order.removeFirst()
        }
        let p = Plan(program: program, inputShape: shape)
        plans[shape] = p; order.append(shape)
        return p
    }
}
