#!/usr/bin/env bash
# Side-by-side engine benchmark: reverie-bench (release) and onnxruntime (2 intra-op threads) on the
# same ONNX model cut at the same layer, in one run on one machine.
#   Benchmarks/run.sh [--model PATH] [--layer block10] [--runs 7] [--sizes 224x224,512x512,1280x720]
set -euo pipefail
cd "$(dirname "$0")"
scratch="${BENCH_SCRATCH:-../.build-bench}"
swift build -c release --scratch-path "$scratch" >&2
"$scratch"/release/reverie-bench "$@" | tee /tmp/reverie-bench.out
python3 -c "import onnxruntime, onnx" 2>/dev/null || python3 -m pip install -q onnxruntime onnx >&2
python3 onnxruntime_bench.py $(printf '%s ' "$@" | sed -e 's/--no-profile//' -e 's/--no-fuse//') | tee /tmp/onnxruntime-bench.out
python3 - <<'PY'
import json
rows = {}
for path in ("/tmp/reverie-bench.out", "/tmp/onnxruntime-bench.out"):
    for line in open(path):
        if line.startswith("{"):
            r = json.loads(line); rows.setdefault(r["size"], {})[r["bench"]] = r.get("ms", r.get("mb"))
print("\nsize       ours fwd  ort fwd  fwd/ort   step  step/fwd  step floor  step/floor")
for size, r in rows.items():
    if "forward" not in r: continue
    f, o, s, fl = r["forward"], r.get("onnxruntime_forward", float("nan")), r["gradient_step"], r["step_sgemm_floor"]
    print(f"{size:<10} {f:8.1f} {o:8.1f} {f/o:7.2f}x {s:7.1f} {s/f:7.2f}x {fl:10.1f} {s/fl:9.2f}x")
PY
