#!/usr/bin/env python3
"""Computes the reference sentence embeddings of test/e2e/minilm/ with
transformers, for the parity test of `llm-run --embed` on the real
all-MiniLM-L6-v2 encoder (installed by scripts/fetch_test_inputs.sh into
test-inputs/, not committed).

Writes, from test/e2e/minilm/sentences.txt (one sentence per line):
  mean.npy  float32 [sentences, 384]: sentence-transformers' mean pooling of
            the last hidden state over each sentence's tokens (attention
            mask 1 on every token, [CLS] and [SEP] included), not normalized
  cls.npy   float32 [sentences, 384]: the [CLS] row
  ids.txt   the token ids of each sentence, one line each (comma-separated)

Each sentence is encoded on its own (no padding, no truncation: every
sentence is shorter than the model's 512 positions), in float32 with eager
attention. Run with a Python that has torch and transformers, e.g.:
  /opt/llmc-train/bin/python scripts/make_minilm_reference.py
"""

import os
import sys

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
model_dir = os.path.join(root, "test-inputs", "all-MiniLM-L6-v2")
out_dir = os.path.join(root, "test", "e2e", "minilm")

tokenizer = AutoTokenizer.from_pretrained(model_dir)
model = AutoModel.from_pretrained(
    model_dir, torch_dtype=torch.float32, attn_implementation="eager"
).eval()
with open(os.path.join(out_dir, "sentences.txt"), encoding="utf-8") as f:
    sentences = f.read().split("\n")
if sentences and sentences[-1] == "":
    sentences.pop()
means, clss, ids = [], [], []
with torch.no_grad():
    for s in sentences:
        enc = tokenizer(s, return_tensors="pt", padding=False, truncation=False)
        hidden = model(**enc).last_hidden_state[0].to(torch.float64)
        mask = enc["attention_mask"][0].to(torch.float64)[:, None]
        means.append((hidden * mask).sum(0) / mask.sum())
        clss.append(hidden[0])
        ids.append(enc["input_ids"][0].tolist())
np.save(os.path.join(out_dir, "mean.npy"), torch.stack(means).numpy().astype(np.float32))
np.save(os.path.join(out_dir, "cls.npy"), torch.stack(clss).numpy().astype(np.float32))
with open(os.path.join(out_dir, "ids.txt"), "w") as f:
    for i in ids:
        f.write(",".join(map(str, i)) + "\n")
print(f"{len(sentences)} sentences, lengths {[len(i) for i in ids]}", file=sys.stderr)
