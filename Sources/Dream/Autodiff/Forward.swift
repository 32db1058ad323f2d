/// Runs one step forward: reads its inputs' buffers in `plan`, writes its output buffer.
/// `forBackward`: a backward walk follows (max pools record their argmax for it).
func runForward(_ program: Program, _ plan: Plan, step s: Int, forBackward: Bool) {
    let step = program.steps[s]
    let out = plan.value(step.output).pointer
    let x = UnsafePointer(plan.value(step.inputs[0]).pointer)
    let xShape = plan.shapes[step.inputs[0]]!
    let n = plan.count(step.output)
    switch step.op {
    case .conv:
        let g = plan.geometry[s]!
        let w = UnsafePointer(step.weight!.pointer), b = step.bias.map { UnsafePointer($0.pointer) }
        if g.isDepthwise {
            depthwiseConv2d(
                g, x: x, weight: w, bias: b, y: out, scratch: plan.colScratch(depthwiseScratchCount(g))!,
                clip: step.clip)
        } else {
            conv2d(
                g, x: x, weight: w, bias: b, y: out, col: plan.colScratch(convColumnCount(g)), clip: step.clip,
                direct: step.direct)
        }
    case .batchNorm:
        let a = step.affine!
        affine(
            x, out, outer: xShape[0], channels: xShape[1], inner: xShape[2...].reduce(1, *),
            scale: a.scale.pointer, shift: a.shift.pointer)
    case .relu: relu(x, out, count: n)
    case let .clip(lo, hi): clip(x, out, count: n, lo: lo, hi: hi)
    case .sigmoid: sigmoid(x, out, count: n)
    case .add, .mul:
        binary(
            step.op == .add ? .add : .mul, a: x, aShape: xShape,
            b: plan.value(step.inputs[1]).pointer, bShape: plan.shapes[step.inputs[1]]!,
            y: out, outShape: plan.shapes[step.output]!)
    case let .concat(axis):
        let shape = plan.shapes[step.output]!
        let ax = axis < 0 ? axis + shape.count : axis
        let outer = shape[..<ax].reduce(1, *), total = shape[ax...].reduce(1, *)
        var offset = 0
        for i in step.inputs {
            let len = plan.count(i) / max(outer, 1)
            concatCopy(plan.value(i).pointer, into: out, outer: outer, len: len, offset: offset, total: total)
            offset += len
        }
    case .maxPool:
        maxPool(plan.geometry[s]!, x: x, y: out, argmax: forBackward ? plan.argmaxBuffer(step: s, count: n) : nil)
    case let .averagePool(p):
        averagePool(plan.geometry[s]!, x: x, y: out, countIncludePad: p.countIncludePad)
    case .globalAveragePool:
        globalAveragePool(x: x, y: out, planes: xShape[0] * xShape[1], plane: xShape[2...].reduce(1, *))
    case let .lrn(size, alpha, beta, bias):
        lrn(
            x, out, batch: xShape[0], channels: xShape[1], plane: xShape[2...].reduce(1, *),
            size: size, alpha: alpha, beta: beta, bias: bias)
    case let .pad(pads, value): pad(x, inShape: xShape, pads: pads, value: value, y: out)
    case .flatten, .reshape, .identity: out.update(from: x, count: n)
    case let .gemm(b, c, alpha, beta, transA, transB):
        let m = transA ? xShape[1] : xShape[0], k = transA ? xShape[0] : xShape[1]
        let nn = transB ? b.shape[0] : b.shape[1]
        denseGemm(
            a: x, m: m, k: k, n: nn, b: step.weight!.pointer, c: step.bias.map { UnsafePointer($0.pointer) },
            cShape: c?.shape ?? [], alpha: alpha, beta: beta, transA: transA, transB: transB, y: out)
    case let .matMul(b):
        denseGemm(
            a: x, m: plan.count(step.inputs[0]) / b.shape[0], k: b.shape[0], n: b.shape[1], b: step.weight!.pointer,
            c: nil, cShape: [], alpha: 1, beta: 0, transA: false, transB: false, y: out)
    case let .softmax(axis):
        let ax = axis < 0 ? axis + xShape.count : axis
        softmax(x, out, outer: xShape[..<ax].reduce(1, *), n: xShape[ax], inner: xShape[(ax + 1)...].reduce(1, *))
    }
}
