/// Resolves a window op's padding (explicit / SAME / VALID, ceil mode) along one axis into
/// (padBegin, padEnd, outputSize), following ONNX's rules.
struct AxisWindow: Equatable {
    var padBegin: Int
    var padEnd: Int
    var output: Int
}

/// `n`: input size, `k`: kernel size, `s`: stride, `d`: dilation, `axis`: 0 for height, 1 for width.
func resolveWindow(_ padding: Padding, axis: Int, n: Int, k: Int, s: Int, d: Int, ceilMode: Bool) -> AxisWindow {
    let span = (k - 1) * d + 1
    switch padding {
    case .sameUpper, .sameLower:
        // TensorFlow SAME: out = ceil(n/s); the odd pixel goes to the end (upper) or begin (lower).
        let out = (n + s - 1) / s
        let total = max((out - 1) * s + span - n, 0)
        let small = total / 2, large = total - small
        return padding == .sameUpper
            ? AxisWindow(padBegin: small, padEnd: large, output: out)
            : AxisWindow(padBegin: large, padEnd: small, output: out)
    case .valid, .explicit:
        var b = 0, e = 0
        if case let .explicit(top, left, bottom, right) = padding {
            b = axis == 0 ? top : left
            e = axis == 0 ? bottom : right
        }
        let room = n + b + e - span
        if room < 0 { return AxisWindow(padBegin: b, padEnd: e, output: 0) }
        var out = (ceilMode ? (room + s - 1) / s : room / s) + 1
        // Ceil mode: the last window must start inside the input or its leading padding (PyTorch/ONNX).
        if ceilMode && (out - 1) * s >= n + b { out -= 1 }
        return AxisWindow(padBegin: b, padEnd: e, output: out)
    }
}

/// The full geometry of a 2-D window op over an NCHW tensor.
struct ConvGeometry: Equatable {
    var batch: Int, inC: Int, inH: Int, inW: Int
    var outC: Int, outH: Int, outW: Int
    var kH: Int, kW: Int, strideH: Int, strideW: Int, dilH: Int, dilW: Int
    var padTop: Int, padLeft: Int, padBottom: Int, padRight: Int
    var groups: Int

    var inPlane: Int { inH * inW }
    var outPlane: Int { outH * outW }
    /// Rows of one group's im2col matrix: (C/groups)·kh·kw.
    var colRows: Int { inC / groups * kH * kW }
    var isPointwise: Bool {
        kH == 1 && kW == 1 && strideH == 1 && strideW == 1 && padTop == 0 && padLeft == 0
            && padBottom == 0 && padRight == 0
    }
    var isDepthwise: Bool { groups == inC && outC == inC && groups > 1 }
}

func convGeometry(
    input shape: [Int], weight: [Int], strides: (h: Int, w: Int), dilations: (h: Int, w: Int),
    padding: Padding, groups: Int, ceilMode: Bool = false
) -> ConvGeometry {
    let h = resolveWindow(padding, axis: 0, n: shape[2], k: weight[2], s: strides.h, d: dilations.h, ceilMode: ceilMode)
    let w = resolveWindow(padding, axis: 1, n: shape[3], k: weight[3], s: strides.w, d: dilations.w, ceilMode: ceilMode)
    return ConvGeometry(
        batch: shape[0], inC: shape[1], inH: shape[2], inW: shape[3],
        outC: weight[0], outH: h.output, outW: w.output,
        kH: weight[2], kW: weight[3], strideH: strides.h, strideW: strides.w,
        dilH: dilations.h, dilW: dilations.w,
        padTop: h.padBegin, padLeft: w.padBegin, padBottom: h.padEnd, padRight: w.padEnd,
        groups: groups)
}

/// Output positions o in [lo, hi) whose tap o·s − pad + offset lands inside [0, n).
@inline(__always)
func validRange(outCount: Int, stride s: Int, offset: Int, n: Int) -> (lo: Int, hi: Int) {
    // need 0 <= o*s + offset < n
    var lo = offset >= 0 ? 0 : (-offset + s - 1) / s
    var hi = n - offset <= 0 ? 0 : (n - offset + s - 1) / s
    lo = min(lo, outCount); hi = min(max(hi, lo), outCount)
    return (lo, hi)
}
