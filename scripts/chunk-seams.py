#!/usr/bin/env python3
"""Seams of a chunked render, measured outside Reverie (PyAV + OpenCV).

For each pair of consecutive frames: OpenCV's Farneback flow between the *source* frames (at the
output's size), a forward-backward check for occluded pixels, the dreamed frame t-1 warped along
the flow to t, and the mean squared difference from dreamed frame t over the reliable pixels
(RGB in [0, 1]). Prints, for the chunked render, each cut's pair error over the sequential
render's largest pair error, and the two renders' mean pair errors.

  scripts/chunk-seams.py SOURCE START SEQUENTIAL.mp4 CHUNKED.mp4 N
"""
import sys
import av
import cv2
import numpy as np


def frames(path, size=None, start=0.0, count=None):
    out = []
    for f in av.open(path).decode(video=0):
        if f.time is not None and f.time < start - 1e-6:
            continue
        a = f.to_ndarray(format="rgb24")
        if size is not None:
            a = cv2.resize(a, size, interpolation=cv2.INTER_AREA)
        out.append(a.astype(np.float32) / 255)
        if count is not None and len(out) == count:
            break
    return out


def pair_errors(source, dream):
    h, w = dream[0].shape[:2]
    grid = np.dstack(np.meshgrid(np.arange(w), np.arange(h))).astype(np.float32)
    errs = []
    for t in range(1, len(dream)):
        a = cv2.cvtColor((source[t - 1] * 255).astype(np.uint8), cv2.COLOR_RGB2GRAY)
        b = cv2.cvtColor((source[t] * 255).astype(np.uint8), cv2.COLOR_RGB2GRAY)
        back = cv2.calcOpticalFlowFarneback(b, a, None, 0.5, 4, 15, 4, 5, 1.1, 0)    # t -> t-1
        fwd = cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 4, 15, 4, 5, 1.1, 0)     # t-1 -> t
        m = grid + back
        fwd_at = cv2.remap(fwd, m[..., 0], m[..., 1], cv2.INTER_LINEAR)
        reliable = np.sum((back + fwd_at) ** 2, axis=2) < 0.01 * (np.sum(back ** 2, axis=2) + np.sum(fwd_at ** 2, axis=2)) + 0.5
        warped = cv2.remap(dream[t - 1], m[..., 0], m[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        d = np.sum((warped - dream[t]) ** 2, axis=2) / 3
        errs.append(float(d[reliable].mean()))
    return np.array(errs)


source_path, start, seq_path, chunk_path, n = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
seq = frames(seq_path)
chunked = frames(chunk_path)
assert len(seq) == len(chunked), (len(seq), len(chunked))
h, w = seq[0].shape[:2]
src = frames(source_path, (w, h), start, len(seq))
e_seq, e_chunk = pair_errors(src, seq), pair_errors(src, chunked)
cuts = [round(len(seq) * k / n) for k in range(1, n)]          # first frame of each later chunk
worst = e_seq.max()
print(f"frames {len(seq)}; sequential: mean pair error {e_seq.mean():.6f}, median {np.median(e_seq):.6f}, "
      f"95th percentile {np.percentile(e_seq, 95):.6f}, worst {worst:.6f} (pair {int(e_seq.argmax()) + 1})")
print(f"chunked: mean {e_chunk.mean():.6f} ({e_chunk.mean() / e_seq.mean():.3f}x the sequential mean)")
for c in cuts:
    print(f"  cut before frame {c}: pair error {e_chunk[c - 1]:.6f} = {e_chunk[c - 1] / worst:.3f}x the sequential worst"
          f" (sequential at the same pair: {e_seq[c - 1]:.6f})")
