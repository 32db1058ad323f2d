#!/usr/bin/env python3
"""Times onnxruntime (CPU, 2 intra-op threads) on the same ONNX model cut at the same layer as
reverie-bench, and prints the same JSON lines: {"bench": "onnxruntime_forward", "size": ..., "ms": ...}.
Needs `pip install onnxruntime onnx` (onnx only to cut the graph at the layer)."""
import argparse, json, os, statistics, sys, tempfile, time

import numpy as np
import onnx
import onnx.utils
import onnxruntime as ort

p = argparse.ArgumentParser()
p.add_argument("--model", default=os.path.expanduser("~/.cache/reverie/models/efficientnet-lite0.onnx"))
p.add_argument("--layer", default="block10")
p.add_argument("--runs", type=int, default=7)
p.add_argument("--sizes", default="224x224,512x512,1280x720")
a = p.parse_args()

model = onnx.load(a.model)
input_name = model.graph.input[0].name
# Free the spatial dims so one cut model runs at every size.
for d in model.graph.input[0].type.tensor_type.shape.dim[2:]:
    d.ClearField("dim_value"); d.dim_param = "spatial"
with tempfile.TemporaryDirectory() as tmp:
    full, cut = os.path.join(tmp, "full.onnx"), os.path.join(tmp, "cut.onnx")
    onnx.save(model, full)
    onnx.utils.extract_model(full, cut, [input_name], [a.layer], check_model=False)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(cut, so, providers=["CPUExecutionProvider"])

for size in a.sizes.split(","):
    w, h = map(int, size.split("x"))
    x = np.random.default_rng(1).uniform(-1, 1, (1, 3, h, w)).astype(np.float32)
    sess.run(None, {input_name: x})  # warm-up
    times = []
    for _ in range(a.runs):
        t = time.perf_counter(); sess.run(None, {input_name: x}); times.append((time.perf_counter() - t) * 1000)
    print(json.dumps({"bench": "onnxruntime_forward", "size": size, "ms": round(statistics.median(times), 2)}))
    sys.stdout.flush()
