/// The one table mapping each op to its pullback: given d loss / d output of step `s` (in the
/// plan's gradient buffer for that output), ADDS d loss / d input into the gradient buffer of
/// each input listed in `wanted` (the others — constants, values not depending on the image —
/// are skipped). The caller zeroes gradient buffers before their first use.
/// `store`: how the first input's gradient is written when the step can store over it (see
/// `pullbackOverwrites`, `pullbackMasksInput`); `outputMasked`: dy already has this step's fused
/// Clip applied (by the consumer that produced it).
func runPullback(
    _ program: Program, _ plan: Plan, step s: Int, wanted: [Bool],
    store: GradientStore = GradientStore(), outputMasked: Bool = false
) {
    let step = program.steps[s]
    let dy = UnsafePointer(plan.grad(step.output).pointer)
    let x0 = step.inputs[0]
    let x = UnsafePointer(plan.value(x0).pointer)
    let xShape = plan.shapes[x0]!
    let n = plan.count(step.output)
    func dx(_ i: Int = 0) -> UnsafeMutablePointer<Float>? { wanted[i] ? plan.grad(step.inputs[i]).pointer : nil }
    switch step.op {
    case .conv:
        guard let d = dx() else { return }
        let g = plan.geometry[s]!
        let clip = outputMasked ? nil : step.clip
        if g.isDepthwise {
            // The fused Clip's pullback masks dy as the kernel reads it.
            let mask = clip.map { ClipMask(values: plan.value(step.output).pointer, lo: $0.lo, hi: $0.hi) }
            depthwiseConv2dBackward(
                g, dy: dy, weight: step.weight!.pointer, dx: d,
                scratch: plan.colScratch(depthwiseScratchCount(g))!, dyMask: mask, store: store)
        } else {
            precondition(store.accumulate && store.mask == nil, "conv2dBackward only adds into dx")
            if let c = clip {
                // The fused Clip's pullback: mask d loss/d output in place (nothing else reads it).
                clipMaskInPlace(y: plan.value(step.output).pointer, dy: plan.grad(step.output).pointer, count: n, lo: c.lo, hi: c.hi)
            }
            conv2dBackward(
                g, dy: dy, weight: step.weight!.pointer, dx: d, col: plan.colScratch(convColumnCount(g)),
                direct: step.direct)
        }
    case .batchNorm:
        guard let d = dx() else { return }
        affineBackward(
            dy: dy, dx: d, outer: xShape[0], channels: xShape[1], inner: xShape[2...].reduce(1, *),
            scale: step.affine!.scale.pointer)
    case .relu: if let d = dx() { reluBackward(x: x, dy: dy, dx: d, count: n) }
    case let .clip(lo, hi): if let d = dx() { clipBackward(x: x, dy: dy, dx: d, count: n, lo: lo, hi: hi) }
    case .sigmoid: if let d = dx() { sigmoidBackward(y: plan.value(step.output).pointer, dy: dy, dx: d, count: n) }
    case .add, .mul:
        let kind: BinaryKind = step.op == .add ? .add : .mul
        let outShape = plan.shapes[step.output]!
        for i in 0..<2 {
            guard let d = dx(i) else { continue }
            let other = step.inputs[1 - i]
            binaryBackward(
                kind, dy: dy, outShape: outShape, dself: d, selfShape: plan.shapes[step.inputs[i]]!,
                other: plan.value(other).pointer, otherShape: plan.shapes[other]!)
        }
    case let .concat(axis):
        let shape = plan.shapes[step.output]!
        let ax = axis < 0 ? axis + shape.count : axis
        let outer = shape[..<ax].reduce(1, *), total = shape[ax...].reduce(1, *)
        var offset = 0
        for (k, i) in step.inputs.enumerated() {
            let len = plan.count(i) / max(outer, 1)
            if let d = dx(k) { concatBackward(dy: dy, dx: d, outer: outer, len: len, offset: offset, total: total) }
            offset += len
        }
    case .maxPool:
        if let d = dx() { maxPoolBackward(plan.geometry[s]!, dy: dy, argmax: plan.argmaxBuffer(step: s, count: n), dx: d) }
    case let .averagePool(p):
        if let d = dx() { averagePoolBackward(plan.geometry[s]!, dy: dy, dx: d, countIncludePad: p.countIncludePad) }
    case .globalAveragePool:
        if let d = dx() {
            globalAveragePoolBackward(dy: dy, dx: d, planes: xShape[0] * xShape[1], plane: xShape[2...].reduce(1, *))
        }
    case let .lrn(size, alpha, beta, bias):
        if let d = dx() {
            lrnBackward(
                x: x, dy: dy, dx: d, batch: xShape[0], channels: xShape[1], plane: xShape[2...].reduce(1, *),
                size: size, alpha: alpha, beta: beta, bias: bias)
        }
    case let .pad(pads, _): if let d = dx() { padBackward(dy: dy, inShape: xShape, pads: pads, dx: d) }
    case .flatten, .reshape, .identity: if let d = dx() { accumulate(dy, into: d, count: n) }
    case let .gemm(b, _, alpha, _, transA, transB):
        guard let d = dx() else { return }
        let m = transA ? xShape[1] : xShape[0], k = transA ? xShape[0] : xShape[1]
        let nn = transB ? b.shape[0] : b.shape[1]
        denseGemmBackward(
            dy: dy, m: m, k: k, n: nn, b: step.weight!.pointer, alpha: alpha,
            transA: transA, transB: transB, da: d)
    case let .matMul(b):
        guard let d = dx() else { return }
        denseGemmBackward(
            dy: dy, m: plan.count(x0) / b.shape[0], k: b.shape[0], n: b.shape[1],
            b: step.weight!.pointer, alpha: 1, transA: false, transB: false, da: d)
    case let .softmax(axis):
        guard let d = dx() else { return }
        let ax = axis < 0 ? axis + xShape.count : axis
        softmaxBackward(
            y: plan.value(step.output).pointer, dy: dy, dx: d, outer: xShape[..<ax].reduce(1, *),
            n: xShape[ax], inner: xShape[(ax + 1)...].reduce(1, *))
    }
}

/// Whether step `s`'s pullback can store its (single) input's gradient instead of adding to it.
/// Not the pointwise convs: sgemm with beta 0 zeroes C in a separate pass of OpenBLAS's own
/// (`sgemm_beta`), which profiled slower than the network's memset followed by beta 1.
func pullbackOverwrites(_ program: Program, _ plan: Plan, step s: Int) -> Bool {
    guard case .conv = program.steps[s].op, let g = plan.geometry[s] else { return false }
    return g.isDepthwise
}

/// Whether step `s`'s pullback can apply its input producer's Clip mask as it stores.
func pullbackMasksInput(_ program: Program, _ plan: Plan, step s: Int) -> Bool {
    pullbackOverwrites(program, plan, step: s)
}
