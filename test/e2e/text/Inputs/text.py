#!/usr/bin/env python3
"""Helpers of the text-mode tests of llm-run on the e2e fixtures, whose
references (greedy ids, logits, hidden states) come from transformers.

A WordLevel tokenizer whose token "tN" is id N makes a text whose encoding
is exactly a fixture's ids, so that llm-run's text paths can be checked
against those references:

  text.py tokenizer VOCAB OUT.json [--special ID]...
      writes the tokenizer (ids 0..VOCAB-1; --special ID makes id ID the
      special token "<sID>" instead of "tID")
  text.py words IDS_FILE            prints "tA tB ..." for comma-separated ids
  text.py completion OUT IDS_FILE [--skip ID]...
      checks that OUT is exactly " tA tB ..." for the ids (less --skip)
  text.py perplexity OUT LOGITS.npy IDS_FILE
      checks "perplexity: X" (the last line of OUT) against exp(mean NLL)
      of the ids under the reference logits, to 1e-4 relative
  text.py embedding OUT.npy HIDDEN.npy (mean|cls) [--normalize] [--rows N]
      checks each of the N rows of OUT.npy against the pooled reference
"""

import json
import sys

import numpy as np


def read_ids(path):
    with open(path) as f:
        return [int(x) for x in f.read().strip().split(",") if x]


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "tokenizer":
        vocab, out = int(args[0]), args[1]
        special = [int(args[i + 1]) for i, a in enumerate(args) if a == "--special"]
        tok = {
            "version": "1.0",
            "added_tokens": [
                {"id": i, "content": f"<s{i}>", "single_word": False,
                 "lstrip": False, "rstrip": False, "normalized": False,
                 "special": True}
                for i in special
            ],
            "normalizer": None,
            "pre_tokenizer": {"type": "WhitespaceSplit"},
            "post_processor": None,
            "decoder": None,
            "model": {"type": "WordLevel",
                      "vocab": {(f"<s{i}>" if i in special else f"t{i}"): i
                                for i in range(vocab)},
                      "unk_token": "t0"},
        }
        with open(out, "w") as f:
            json.dump(tok, f)
        return 0
    if cmd == "words":
        print(" ".join(f"t{i}" for i in read_ids(args[0])))
        return 0
    if cmd == "completion":
        with open(args[0], encoding="utf-8") as f:
            text = f.read()
        skip = {int(args[i + 1]) for i, a in enumerate(args) if a == "--skip"}
        expected = "".join(f" t{i}" for i in read_ids(args[1]) if i not in skip)
        if text != expected:
            print(f"completion {text!r}\nexpected   {expected!r}")
            return 1
        print(f"completion matches: {text!r}")
        return 0
    if cmd == "perplexity":
        with open(args[0]) as f:
            last = f.read().strip().splitlines()[-1]
        assert last.startswith("perplexity: "), last
        value = float(last.split()[1])
        logits = np.load(args[1]).astype(np.float64)
        ids = read_ids(args[2])
        rows = logits[:-1]
        m = rows.max(axis=1, keepdims=True)
        logp = rows - m - np.log(np.exp(rows - m).sum(axis=1, keepdims=True))
        nll = -np.mean([logp[i, ids[i + 1]] for i in range(len(ids) - 1)])
        expected = float(np.exp(nll))
        rel = abs(value - expected) / expected
        print(f"perplexity {value} expected {expected:.6f} relative {rel:.2e}")
        return 0 if rel <= 1e-4 else 1
    if cmd == "embedding":
        out = np.load(args[0])
        hidden = np.load(args[1]).astype(np.float64)
        pooled = hidden.mean(axis=0) if args[2] == "mean" else hidden[0]
        if "--normalize" in args:
            pooled = pooled / max(np.linalg.norm(pooled), 1e-12)
        rows = int(args[args.index("--rows") + 1]) if "--rows" in args else 1
        if out.shape != (rows, hidden.shape[1]):
            print(f"shape {out.shape}, expected {(rows, hidden.shape[1])}")
            return 1
        err = float(np.abs(out - pooled[None, :]).max())
        print(f"embedding max abs error {err:.2e}")
        return 0 if err <= 1e-4 else 1
    print(f"unknown command {cmd}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
