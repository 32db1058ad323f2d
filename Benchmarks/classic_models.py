#!/usr/bin/env python3
"""Writes architecture-faithful GoogLeNet and InceptionV3 ONNX files with seeded random weights, for
Benchmarks/run.sh (the speed of a dense network does not depend on its weights; no pretrained
GoogLeNet or InceptionV3 is reachable from this machine, see the README).
  python3 Benchmarks/classic_models.py OUTDIR   ->  OUTDIR/googlenet.onnx, OUTDIR/inception3.onnx
- googlenet.onnx: the ONNX-zoo BVLC GoogLeNet layout (opset 12; LRN, ceil-mode pools as explicit end
  pads, 1x1/3x3/5x5 branches), tensors named like the zoo file (`inception_4c/output`).
- inception3.onnx: torchvision/Keras InceptionV3 (BatchNorm folded into the convs as both exporters
  do; 1x7/7x1 convs, 3x3 average pools with padding), block outputs named `mixed0`..`mixed10`.
Both stop at their last block (the classifier heads do not matter for dreaming) and take
(1, 3, H, W) input of any size."""
import os, sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class Builder:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits, self.count = [], [], 0

    def name(self, base):
        self.count += 1
        return f"{base}_{self.count}"

    def conv(self, x, cin, cout, k, stride=1, pad=None, out=None):
        kh, kw = (k, k) if isinstance(k, int) else k
        ph, pw = (pad, pad) if isinstance(pad, int) else (pad if pad is not None else (kh // 2, kw // 2))
        n = out or self.name("conv")
        w = (self.rng.standard_normal((cout, cin, kh, kw)) * np.sqrt(2.0 / (cin * kh * kw))).astype(np.float32)
        b = (self.rng.standard_normal(cout) * 0.01).astype(np.float32)
        self.inits += [numpy_helper.from_array(w, n + "_w"), numpy_helper.from_array(b, n + "_b")]
        self.nodes.append(helper.make_node(
            "Conv", [x, n + "_w", n + "_b"], [n + "_pre"], kernel_shape=[kh, kw], strides=[stride, stride],
            pads=[ph, pw, ph, pw]))
        self.nodes.append(helper.make_node("Relu", [n + "_pre"], [n]))
        return n

    def maxpool(self, x, k, stride, pads, out=None):
        n = out or self.name("pool")
        self.nodes.append(helper.make_node("MaxPool", [x], [n], kernel_shape=[k, k], strides=[stride, stride], pads=pads))
        return n

    def avgpool(self, x, k, stride, pad, out=None):
        n = out or self.name("avgpool")
        self.nodes.append(helper.make_node(
            "AveragePool", [x], [n], kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4, count_include_pad=1))
        return n

    def lrn(self, x, out):
        self.nodes.append(helper.make_node("LRN", [x], [out], size=5, alpha=1e-4, beta=0.75, bias=1.0))
        return out

    def concat(self, xs, out):
        self.nodes.append(helper.make_node("Concat", xs, [out], axis=1))
        return out

    def model(self, input_name, output, opset):
        graph = helper.make_graph(
            self.nodes, "graph",
            [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, [1, 3, "height", "width"])],
            [helper.make_tensor_value_info(output, TensorProto.FLOAT, [1, None, None, None])], self.inits)
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="reverie-benchmarks")
        onnx.checker.check_model(m)
        return m


def googlenet():
    b = Builder(1)
    # Ceil-mode 3x3/2 pools: the zoo file pads the end by one.
    ceil = [0, 0, 1, 1]
    x = b.conv("data_0", 3, 64, 7, stride=2, pad=3, out="conv1/7x7_s2_1")
    x = b.maxpool(x, 3, 2, ceil, out="pool1/3x3_s2_1")
    x = b.lrn(x, "pool1/norm1_1")
    x = b.conv(x, 64, 64, 1, out="conv2/3x3_reduce_1")
    x = b.conv(x, 64, 192, 3, out="conv2/3x3_1")
    x = b.lrn(x, "conv2/norm2_1")
    x = b.maxpool(x, 3, 2, ceil, out="pool2/3x3_s2_1")
    cin = 192
    blocks = [
        ("3a", 64, 96, 128, 16, 32, 32), ("3b", 128, 128, 192, 32, 96, 64), None,
        ("4a", 192, 96, 208, 16, 48, 64), ("4b", 160, 112, 224, 24, 64, 64), ("4c", 128, 128, 256, 24, 64, 64),
        ("4d", 112, 144, 288, 32, 64, 64), ("4e", 256, 160, 320, 32, 128, 128), None,
        ("5a", 256, 160, 320, 32, 128, 128), ("5b", 384, 192, 384, 48, 128, 128)]
    pools = iter(["pool3/3x3_s2_1", "pool4/3x3_s2_1"])
    for blk in blocks:
        if blk is None:
            x = b.maxpool(x, 3, 2, ceil, out=next(pools))
            continue
        name, c1, r3, c3, r5, c5, cp = blk
        p = f"inception_{name}/"
        a = b.conv(x, cin, c1, 1, out=p + "1x1_1")
        t = b.conv(b.conv(x, cin, r3, 1, out=p + "3x3_reduce_1"), r3, c3, 3, out=p + "3x3_1")
        f = b.conv(b.conv(x, cin, r5, 1, out=p + "5x5_reduce_1"), r5, c5, 5, out=p + "5x5_1")
        q = b.conv(b.maxpool(x, 3, 1, [1, 1, 1, 1], out=p + "pool_1"), cin, cp, 1, out=p + "pool_proj_1")
        x = b.concat([a, t, f, q], p + "output")
        cin = c1 + c3 + c5 + cp
    return b.model("data_0", x, 12)


def inception3():
    b = Builder(2)
    x = b.conv("input", 3, 32, 3, stride=2, pad=0)
    x = b.conv(x, 32, 32, 3, pad=0)
    x = b.conv(x, 32, 64, 3, pad=1)
    x = b.maxpool(x, 3, 2, [0, 0, 0, 0])
    x = b.conv(x, 64, 80, 1)
    x = b.conv(x, 80, 192, 3, pad=0)
    x = b.maxpool(x, 3, 2, [0, 0, 0, 0])
    cin, index = 192, 0

    def out():
        nonlocal index
        index += 1
        return f"mixed{index - 1}"

    def block_a(x, cin, pool_features):
        a = b.conv(x, cin, 64, 1)
        f = b.conv(b.conv(x, cin, 48, 1), 48, 64, 5)
        d = b.conv(b.conv(b.conv(x, cin, 64, 1), 64, 96, 3), 96, 96, 3)
        p = b.conv(b.avgpool(x, 3, 1, 1), cin, pool_features, 1)
        return b.concat([a, f, d, p], out()), 224 + pool_features

    def block_b(x, cin):
        t = b.conv(x, cin, 384, 3, stride=2, pad=0)
        d = b.conv(b.conv(b.conv(x, cin, 64, 1), 64, 96, 3), 96, 96, 3, stride=2, pad=0)
        p = b.maxpool(x, 3, 2, [0, 0, 0, 0])
        return b.concat([t, d, p], out()), 384 + 96 + cin

    def block_c(x, cin, c7):
        a = b.conv(x, cin, 192, 1)
        s = b.conv(b.conv(b.conv(x, cin, c7, 1), c7, c7, (1, 7)), c7, 192, (7, 1))
        d = b.conv(x, cin, c7, 1)
        for k, co in [((7, 1), c7), ((1, 7), c7), ((7, 1), c7), ((1, 7), 192)]:
            d = b.conv(d, c7, co, k)
        p = b.conv(b.avgpool(x, 3, 1, 1), cin, 192, 1)
        return b.concat([a, s, d, p], out()), 768

    def block_d(x, cin):
        t = b.conv(b.conv(x, cin, 192, 1), 192, 320, 3, stride=2, pad=0)
        s = b.conv(b.conv(b.conv(b.conv(x, cin, 192, 1), 192, 192, (1, 7)), 192, 192, (7, 1)), 192, 192, 3, stride=2, pad=0)
        p = b.maxpool(x, 3, 2, [0, 0, 0, 0])
        return b.concat([t, s, p], out()), 320 + 192 + cin

    def block_e(x, cin):
        a = b.conv(x, cin, 320, 1)
        t = b.conv(x, cin, 384, 1)
        t = [b.conv(t, 384, 384, (1, 3)), b.conv(t, 384, 384, (3, 1))]
        d = b.conv(b.conv(x, cin, 448, 1), 448, 384, 3)
        d = [b.conv(d, 384, 384, (1, 3)), b.conv(d, 384, 384, (3, 1))]
        p = b.conv(b.avgpool(x, 3, 1, 1), cin, 192, 1)
        return b.concat([a] + t + d + [p], out()), 2048

    for pf in (32, 64, 64):
        x, cin = block_a(x, cin, pf)
    x, cin = block_b(x, cin)
    for c7 in (128, 160, 160, 192):
        x, cin = block_c(x, cin, c7)
    x, cin = block_d(x, cin)
    for _ in range(2):
        x, cin = block_e(x, cin)
    return b.model("input", x, 13)


if __name__ == "__main__":
    outdir = sys.argv[1] if len(sys.argv) > 1 else "."
    os.makedirs(outdir, exist_ok=True)
    for name, make in [("googlenet", googlenet), ("inception3", inception3)]:
        path = os.path.join(outdir, name + ".onnx")
        onnx.save(make(), path)
        print(path)
