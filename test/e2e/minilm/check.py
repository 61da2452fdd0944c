#!/usr/bin/env python3
"""check.py OUT.npy REFERENCE.npy [--normalize]: each row of OUT within 1e-4
(absolute) of the reference's, and cosine similarity above 0.99999;
--normalize scales the reference rows to unit length first."""

import sys

import numpy as np

out = np.load(sys.argv[1]).astype(np.float64)
ref = np.load(sys.argv[2]).astype(np.float64)
if "--normalize" in sys.argv:
    ref = ref / np.maximum(np.linalg.norm(ref, axis=1, keepdims=True), 1e-12)
if out.shape != ref.shape:
    sys.exit(f"shape {out.shape}, expected {ref.shape}")
err = np.abs(out - ref).max(axis=1)
cos = (out * ref).sum(1) / (np.linalg.norm(out, axis=1) * np.linalg.norm(ref, axis=1))
for i, (e, c) in enumerate(zip(err, cos)):
    print(f"sentence {i}: max abs error {e:.2e}, cosine {c:.8f}")
sys.exit(0 if err.max() <= 1e-4 and cos.min() > 0.99999 else 1)
