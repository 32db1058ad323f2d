#!/usr/bin/env python3
"""Per-node forward times of reverie-bench joined with each conv's shape and multiply-adds (ONNX
shape inference), slowest first: which convs run far below the sgemm rate.
  python3 Benchmarks/node_rates.py --model PATH --layer NAME [--size 512x512]
Needs the release reverie-bench (Benchmarks/run.sh builds it) and `pip install onnx`."""
import argparse, os, re, subprocess, sys

import onnx
import onnx.shape_inference

p = argparse.ArgumentParser()
p.add_argument("--model", required=True)
p.add_argument("--layer", required=True)
p.add_argument("--size", default="512x512")
p.add_argument("--top", type=int, default=30)
a = p.parse_args()
w, h = map(int, a.size.split("x"))

here = os.path.dirname(os.path.abspath(__file__))
bench = os.path.join(os.environ.get("BENCH_SCRATCH", os.path.join(here, "..", ".build-bench")), "release", "reverie-bench")
out = subprocess.run(
    [bench, "--model", a.model, "--layer", a.layer, "--runs", "3", "--sizes", a.size],
    env={**os.environ, "REVERIE_BENCH_NODES": "1"}, capture_output=True, text=True, check=True).stdout
times = {m.group(1): float(m.group(2)) for m in re.finditer(r"fwd-only node (\S+) forward\s+([\d.]+) ms", out)}

model = onnx.load(a.model)
dims = model.graph.input[0].type.tensor_type.shape.dim
for d, v in zip(dims[2:], (h, w)):
    d.ClearField("dim_param"); d.dim_value = v
model = onnx.shape_inference.infer_shapes(model)
shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
          for v in list(model.graph.value_info) + list(model.graph.output)}
weights = {i.name: list(i.dims) for i in model.graph.initializer}
convs = {}
for n in model.graph.node:
    if n.op_type == "Conv" and n.input[1] in weights and n.output[0] in shapes:
        k, o = weights[n.input[1]], shapes[n.output[0]]
        convs[n.output[0]] = (k, o, o[1] * o[2] * o[3] * k[1] * k[2] * k[3])

# The engine names a conv with a fused ReLU after the ReLU's output: match either.
producer = {n.output[0]: n.input[0] for n in model.graph.node if n.op_type in ("Relu", "Clip")}
total = sum(times.values())
print(f"{a.model} to {a.layer} at {a.size}: {total:.1f} ms in {len(times)} nodes (forward only, mean of 3)")
for name, ms in sorted(times.items(), key=lambda t: -t[1])[:a.top]:
    conv = convs.get(name) or convs.get(producer.get(name, ""))
    if conv:
        k, o, macs = conv
        print(f"  {name:36} {ms:7.2f} ms  k{k[2]}x{k[3]} {k[1]:4}->{k[0]:<4} at {o[2]}x{o[3]:<5} "
              f"{2 * macs / ms / 1e6:6.0f} GFLOP/s")
    else:
        print(f"  {name:36} {ms:7.2f} ms")
