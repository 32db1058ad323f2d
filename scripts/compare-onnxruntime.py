#!/usr/bin/env python3
"""Run an ONNX model with onnxruntime (CPU, 2 intra-op threads) on a raw float32 input, for
comparison with Reverie's engine: outputs for the correctness test, timings for the benchmark.

usage: compare-onnxruntime.py [--time RUNS] MODEL.onnx INPUT.raw N,C,H,W OUTDIR NAME [NAME ...]

INPUT.raw holds little-endian float32 values (model space, NCHW). Each requested output NAME
(a graph output of MODEL) is written to OUTDIR/NAME.raw as little-endian float32, and one JSON
line per output gives its shape. With --time RUNS, after one warm-up run the model runs RUNS
more times and a JSON line {"bench": "onnxruntime", "size": "WxH", "ms": median} follows.
To time only the work up to a layer, pass a model cut there (EfficientNetLite.cut in Swift).
Exit 2 if onnxruntime or numpy is missing (the Swift test skips then).
"""
import argparse
import json
import os
import sys
import time

try:
    import numpy as np
    import onnxruntime as ort
except ImportError as e:
    print(f"compare-onnxruntime: {e}", file=sys.stderr)
    sys.exit(2)


def main():
    parser = argparse.ArgumentParser(description="Run an ONNX model with onnxruntime on a raw float32 input.")
    parser.add_argument("--time", type=int, default=0, metavar="RUNS", help="also time RUNS runs (median ms)")
    parser.add_argument("model")
    parser.add_argument("input", help="raw little-endian float32, NCHW")
    parser.add_argument("shape", help="N,C,H,W")
    parser.add_argument("outdir")
    parser.add_argument("names", nargs="+", help="graph outputs to write")
    args = parser.parse_args()

    dims = [int(d) for d in args.shape.split(",")]
    x = np.fromfile(args.input, dtype="<f4")
    if x.size != int(np.prod(dims)):
        print(f"compare-onnxruntime: {args.input} holds {x.size} floats, shape {dims} needs {int(np.prod(dims))}",
              file=sys.stderr)
        return 1
    x = x.reshape(dims)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    session = ort.InferenceSession(args.model, options, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: x}
    outputs = session.run(args.names, feed)
    for name, value in zip(args.names, outputs):
        value.astype("<f4").tofile(os.path.join(args.outdir, name + ".raw"))
        print(json.dumps({"name": name, "shape": list(value.shape)}))
    if args.time > 0:
        times = []
        for _ in range(args.time):
            start = time.perf_counter()
            session.run(args.names, feed)
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        print(json.dumps({"bench": "onnxruntime", "size": f"{dims[3]}x{dims[2]}", "ms": round(times[len(times) // 2], 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
