#!/usr/bin/env python3
"""Run an ONNX model with onnxruntime (CPU) on a raw float32 input, for comparison with Reverie.

usage: compare-onnxruntime.py MODEL.onnx INPUT.raw N,C,H,W OUTDIR NAME [NAME ...]

INPUT.raw holds little-endian float32 values (model space, NCHW). Each requested output NAME
(a graph output of MODEL) is written to OUTDIR/NAME.raw as little-endian float32, and one JSON
line per output gives its shape. Exit 2 if onnxruntime or numpy is missing.
"""
import json
import os
import sys

try:
    import numpy as np
    import onnxruntime as ort
except ImportError as e:  # the Swift test skips on exit code 2
    print(f"compare-onnxruntime: {e}", file=sys.stderr)
    sys.exit(2)


def main(argv):
    if len(argv) < 6:
        print(__doc__, file=sys.stderr)
        return 1
    model, raw, shape, outdir, names = argv[1], argv[2], argv[3], argv[4], argv[5:]
    dims = [int(d) for d in shape.split(",")]
    x = np.fromfile(raw, dtype="<f4")
    if x.size != int(np.prod(dims)):
        print(f"compare-onnxruntime: {raw} holds {x.size} floats, shape {dims} needs {int(np.prod(dims))}", file=sys.stderr)
        return 1
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    outputs = session.run(names, {input_name: x.reshape(dims)})
    for name, value in zip(names, outputs):
        value.astype("<f4").tofile(os.path.join(outdir, name + ".raw"))
        print(json.dumps({"name": name, "shape": list(value.shape)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
