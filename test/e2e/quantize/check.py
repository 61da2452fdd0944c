#!/usr/bin/env python3
"""Checks the quality of quantized models from llm-run's --perplexity output.

  check.py bound OUT FP32_OUT MAX_PPL_RATIO MAX_KL
      OUT (llm-run --perplexity ... --quantize ... --kl-reference MODEL)
      has a perplexity at most MAX_PPL_RATIO times FP32_OUT's and a mean KL
      divergence from the float model of at most MAX_KL.
  check.py self OUT
      The model against itself: KL 0 and the same top token everywhere.
  check.py order OUT1 OUT2 ...
      The mean KL divergences increase strictly from OUT1 on.
  check.py better OUT BASE MAX_KL_RATIO
      OUT (a calibrated method) has a lower perplexity than BASE (round to
      nearest) and a mean KL divergence at most MAX_KL_RATIO times BASE's.
  check.py same OUT1 OUT2
      The same perplexity and KL divergence (the same model twice).

Prints what it compared; exits 0 when it holds, 1 when not.
"""

import sys


def read(path):
    values = {}
    with open(path) as f:
        for line in f:
            key, _, value = line.partition(":")
            if value.strip():
                values[key.strip()] = float(value)
    for key in ("perplexity", "kl_divergence", "top1_agreement"):
        if key not in values:
            print(f"{path}: no '{key}:' line")
            sys.exit(1)
    return values


cmd = sys.argv[1]
if cmd == "bound":
    out, fp32 = read(sys.argv[2]), read(sys.argv[3])
    max_ratio, max_kl = float(sys.argv[4]), float(sys.argv[5])
    ratio = out["perplexity"] / fp32["perplexity"]
    print(f"perplexity {out['perplexity']:.4f} vs {fp32['perplexity']:.4f} "
          f"(x{ratio:.5f}, at most x{max_ratio}); kl {out['kl_divergence']:.6f} "
          f"(at most {max_kl}); top-1 agreement {out['top1_agreement']:.4f}")
    sys.exit(0 if ratio <= max_ratio and out["kl_divergence"] <= max_kl else 1)
if cmd == "self":
    out = read(sys.argv[2])
    print(f"kl {out['kl_divergence']}, top-1 agreement {out['top1_agreement']}")
    sys.exit(0 if out["kl_divergence"] == 0 and out["top1_agreement"] == 1 else 1)
if cmd == "order":
    kls = [read(p)["kl_divergence"] for p in sys.argv[2:]]
    print("kl divergences in order: " + " < ".join(f"{k:.6f}" for k in kls))
    sys.exit(0 if all(a < b for a, b in zip(kls, kls[1:])) else 1)
if cmd == "better":
    out, base = read(sys.argv[2]), read(sys.argv[3])
    max_ratio = float(sys.argv[4])
    ratio = out["kl_divergence"] / base["kl_divergence"]
    print(f"perplexity {out['perplexity']:.4f} vs {base['perplexity']:.4f}; "
          f"kl {out['kl_divergence']:.6f} vs {base['kl_divergence']:.6f} "
          f"(x{ratio:.3f}, at most x{max_ratio})")
    sys.exit(0 if out["perplexity"] < base["perplexity"] and ratio <= max_ratio else 1)
if cmd == "same":
    a, b = read(sys.argv[2]), read(sys.argv[3])
    print(f"perplexity {a['perplexity']} and {b['perplexity']}; "
          f"kl {a['kl_divergence']} and {b['kl_divergence']}")
    sys.exit(0 if a == b else 1)
print(__doc__)
sys.exit(2)
