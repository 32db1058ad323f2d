#!/usr/bin/env bash
# Side-by-side engine benchmark: reverie-bench (release) and onnxruntime (2 intra-op threads) on the
# same ONNX model cut at the same layer, on one machine, in ROUNDS rounds (default 5) that run ours
# and onnxruntime in turn: the machine is shared, so every ratio is taken within a round (ours
# against onnxruntime, the step against the sgemm floor from the rate measured right after it) and
# the table shows medians over rounds.
#   [ROUNDS=5] Benchmarks/run.sh [--model PATH] [--layer block10] [--runs 7] [--sizes 224x224,512x512,1280x720]
#                                [--no-profile] [--no-fuse]
set -euo pipefail
cd "$(dirname "$0")"
scratch="${BENCH_SCRATCH:-../.build-bench}"
swift build -c release --scratch-path "$scratch" >&2
python3 -c "import onnxruntime, onnx" 2>/dev/null || python3 -m pip install -q onnxruntime onnx >&2
ours=()
theirs=()
profile=1
for a in "$@"; do
    case "$a" in
        --no-profile) profile=0 ;;
        --no-fuse) ours+=("$a") ;;
        *) ours+=("$a"); theirs+=("$a") ;;
    esac
done
out=/tmp/reverie-bench-rounds.jsonl
: > "$out"
for r in $(seq 1 "${ROUNDS:-5}"); do
    echo "round $r" >&2
    "$scratch"/release/reverie-bench "${ours[@]}" --no-profile | grep '^{' | sed "s/^{/{\"round\": $r, /" >> "$out"
    python3 onnxruntime_bench.py "${theirs[@]}" | grep '^{' | sed "s/^{/{\"round\": $r, /" >> "$out"
done
if [ "$profile" = 1 ]; then "$scratch"/release/reverie-bench "${ours[@]}" | grep -v '^{' | sed -n '/^profile/,/^$/p'; fi
python3 - "$out" <<'PY'
import json, statistics, sys, collections
rows = collections.defaultdict(lambda: collections.defaultdict(dict))   # size -> bench -> round -> value
for line in open(sys.argv[1]):
    r = json.loads(line)
    rows[r["size"]][r["bench"]][r["round"]] = r.get("ms", r.get("mb"))
med = lambda d: statistics.median(d.values())
print("\nmedians over rounds; every ratio is the median of the per-round ratios; the 1x1 bound is the best round's")
print("size       ours fwd  ort fwd  fwd/ort   step  step/fwd  step floor  step/floor  1x1 sgemm bound")
for size, r in rows.items():
    if "forward" not in r: continue
    f, o, s, fl = r["forward"], r.get("onnxruntime_forward", {}), r["gradient_step"], r["step_sgemm_floor"]
    ratio = lambda a, b: statistics.median([a[k] / b[k] for k in a if k in b]) if b else float("nan")
    print(f"{size:<10} {med(f):8.1f} {med(o) if o else float('nan'):8.1f} {ratio(f, o):7.2f}x {med(s):7.1f} "
          f"{ratio(s, f):7.2f}x {med(fl):10.1f} {ratio(s, fl):9.2f}x {min(r['pointwise_sgemm_bound'].values()):12.1f}")
PY
