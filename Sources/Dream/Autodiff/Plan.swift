/// Per-input-size state of a Network: value shapes, window geometry, and the scratch arena
/// (activation, gradient, argmax and im2col buffers), allocated on first use and reused by
/// every later call with the same input shape.
final class Plan {
    let inputShape: [Int]
    var shapes: [[Int]?]
    var geometry: [ConvGeometry?]
    var inferred: [Bool]
    var values: [Buffer?]
    var grads: [Buffer?]
    var argmax: [IndexBuffer?]
    var col: Buffer?

    init(program: Program, inputShape: [Int]) {
        self.inputShape = inputShape
        let v = program.valueNames.count, s = program.steps.count
        shapes = [[Int]?](repeating: nil, count: v)
        shapes[0] = inputShape
        for (id, c) in program.constants { shapes[id] = c.shape }
        geometry = [ConvGeometry?](repeating: nil, count: s)
        inferred = [Bool](repeating: false, count: s)
        values = [Buffer?](repeating: nil, count: v)
        grads = [Buffer?](repeating: nil, count: v)
        argmax = [IndexBuffer?](repeating: nil, count: s)
        for (id, c) in program.constants { values[id] = c.buffer }
    }

    /// Infers shapes of the given steps (in order; each step's inputs come earlier).
    func infer(_ program: Program, steps: [Int]) throws {
        for s in steps where !inferred[s] {
            let step = program.steps[s]
            let ins = step.inputs.map { shapes[$0]! }
            let r = try inferShape(step, inputs: ins)
            shapes[step.output] = r.shape
            geometry[s] = r.geometry
            inferred[s] = true
        }
    }

    func count(_ value: Int) -> Int { shapes[value]!.reduce(1, *) }

    /// Bytes this plan's arena has allocated (constants excluded: they are shared).
    private(set) var allocatedBytes = 0

    func value(_ id: Int) -> Buffer {
        if let b = values[id] { return b }
        let b = Buffer(count: count(id)); values[id] = b; allocatedBytes += b.count * 4; return b
    }

    func grad(_ id: Int) -> Buffer {
        if let b = grads[id] { return b }
        let b = Buffer(count: count(id)); grads[id] = b; allocatedBytes += b.count * 4; return b
    }

    func colScratch(_ n: Int) -> UnsafeMutablePointer<Float>? {
        if n == 0 { return nil }
        if let c = col, c.count >= n { return c.pointer }
        allocatedBytes += (n - (col?.count ?? 0)) * 4
        let c = Buffer(count: n); col = c; return c.pointer
    }

    func argmaxBuffer(step: Int, count: Int) -> UnsafeMutablePointer<Int32> {
        if let a = argmax[step] { return a.pointer }
        let a = IndexBuffer(count: count); argmax[step] = a; allocatedBytes += count * 4; return a.pointer
    }

    /// Bytes of everything a gradient through `steps` holds: activations, gradients, argmax, and the
    /// shared scratch (im2col, depthwise rings, or `scratch` floats the caller's fused kernels need).
    func estimatedBytes(_ program: Program, steps: [Int], scratch: Int = 0) -> Int {
        var floats = count(0) * 2, col = scratch, ints = 0
        for s in steps {
            let step = program.steps[s]
            floats += count(step.output) * 2
            if let g = geometry[s] {
                if case .conv = step.op { col = max(col, g.isDepthwise ? depthwiseScratchCount(g) : convColumnCount(g)) }
                if case .maxPool = step.op { ints += count(step.output) }
            }
        }
        return (floats + col + ints) * 4
    }
}
