#!/usr/bin/env python3
# Per-node onnxruntime profile of the default model cut at block10: python3 onnxruntime_profile.py 1280x720
# (compare with REVERIE_BENCH_NODES=1 reverie-bench, which prints our per-node times).
import json, os, sys, tempfile, collections, glob
import numpy as np, onnx, onnx.utils, onnxruntime as ort
size = sys.argv[1]; w,h = map(int,size.split("x"))
model = onnx.load(os.path.expanduser("~/.cache/reverie/models/efficientnet-lite0.onnx"))
inp = model.graph.input[0].name
for d in model.graph.input[0].type.tensor_type.shape.dim[2:]:
    d.ClearField("dim_value"); d.dim_param = "spatial"
tmp = tempfile.mkdtemp(); full, cut = os.path.join(tmp, "full.onnx"), os.path.join(tmp, "cut.onnx")
onnx.save(model, full)
onnx.utils.extract_model(full, cut, [inp], ["block10"], check_model=False)
so = ort.SessionOptions(); so.intra_op_num_threads=2; so.inter_op_num_threads=1
so.enable_profiling=True; so.profile_file_prefix=os.path.join(tempfile.gettempdir(), "ortp")

sess = ort.InferenceSession(cut, so, providers=["CPUExecutionProvider"])
x = np.random.default_rng(1).uniform(-1,1,(1,3,h,w)).astype(np.float32)
for _ in range(8): sess.run(None,{inp:x})
f = sess.end_profiling()
ev = json.load(open(f))
byop = collections.defaultdict(float); bynode=collections.defaultdict(float)
runs=0
for e in ev:
    if e.get("cat")=="Node" and e["name"].endswith("_kernel_time"):
        byop[e["args"]["op_name"]] += e["dur"]; bynode[e["name"]] += e["dur"]
    if e.get("name")=="model_run": runs+=1
tot=sum(byop.values())
print("runs",runs,"total per run ms", tot/runs/1000)
for k,v in sorted(byop.items(), key=lambda t:-t[1]): print(f"{k:30s} {v/runs/1000:8.2f} ms {100*v/tot:5.1f}%")
for k,v in sorted(bynode.items(), key=lambda t:-t[1]): print(f"{k:60s} {v/runs/1000:8.2f}")
