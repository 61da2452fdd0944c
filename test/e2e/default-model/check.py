#!/usr/bin/env python3
"""Checks llm-run's outputs on the default model against its references.

  check.py greedy REFERENCE.json IDS_FILE TEXT_FILE
  check.py top5 REFERENCE.json LOGITS.npy
  check.py perplexity PERPLEXITY.json OUT CTX
"""

import json
import sys

import numpy as np

cmd, ref_path = sys.argv[1], sys.argv[2]
with open(ref_path) as f:
    ref = json.load(f)
if cmd == "greedy":
    with open(sys.argv[3]) as f:
        ids = [int(x) for x in f.read().strip().split(",")]
    with open(sys.argv[4], encoding="utf-8") as f:
        text = f.read()
    want_ids, want_text = ref["greedy"]["ids"], ref["greedy"]["text"]
    print(f"ids {'match' if ids == want_ids else 'differ'}; text {text!r}")
    sys.exit(0 if ids == want_ids and text == want_text else 1)
if cmd == "top5":
    logits = np.load(sys.argv[3])[-1].astype(np.float64)
    top = ref["last_position_top5"]
    ids = list(np.argsort(-logits)[:5])
    err = max(abs(logits[i] - v) for i, v in zip(top["ids"], top["logits"]))
    print(f"top5 {ids} (reference {top['ids']}), max abs error {err:.2e}")
    sys.exit(0 if ids == top["ids"] and err <= 1e-4 * max(1.0, max(map(abs, top["logits"]))) else 1)
if cmd == "perplexity":
    with open(sys.argv[3]) as f:
        value = float(f.read().strip().splitlines()[-1].split()[1])
    want = next(r for r in ref["results"] if r["ctx"] == int(sys.argv[4]))
    rel = abs(value - want["perplexity"]) / want["perplexity"]
    print(f"perplexity {value} reference {want['perplexity']} relative {rel:.2e}")
    sys.exit(0 if rel <= 1e-4 else 1)
sys.exit(f"unknown command {cmd}")
