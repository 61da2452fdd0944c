#!/usr/bin/env python3
"""LLMC against ONNX Runtime on the same .onnx files (bench/vs-onnxruntime.sh
runs this with the bench cache's Python; see that script).

For each shape it:
  1. writes a Hugging Face folder of random weights (a GPT-2 124M shape, a
     BERT-base shape) and exports it with torch.onnx.export (the dynamo
     exporter, opset 18, a dynamic sequence axis, weights in model.onnx.data);
  2. times ONNX Runtime (CPU provider, ORT_ENABLE_ALL, intra-op threads as
     given, after a warm-up run) on the prompt: the forward pass over it;
  3. times LLMC on the same file: llm-run's "prefill:" line for the decoder
     (compile time is not in it), its "forward over" line for the encoder;
  4. prints the table "LLMC ÷ ORT" (ORT time / LLMC time: above 1 means LLMC
     is faster), each cell the median of --rounds rounds taken in turns.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

SHAPES = {
    "gpt2-124m": ("gpt2", dict(n_embd=768, n_layer=12, n_head=12,
                               vocab_size=50257, n_positions=1024)),
    "bert-base": ("bert", dict(hidden_size=768, num_hidden_layers=12,
                               num_attention_heads=12, intermediate_size=3072,
                               vocab_size=30522, max_position_embeddings=512)),
}


def log(msg):
    print(f"vs-onnxruntime: {msg}", file=sys.stderr, flush=True)


def export(cache, shape):
    folder = os.path.join(cache, "models", f"{shape}-onnx")
    path = os.path.join(folder, "model.onnx")
    if os.path.exists(path):
        return path
    import torch
    import transformers
    kind, sizes = SHAPES[shape]
    log(f"exporting a random-weight {shape} to {path}")
    torch.manual_seed(0)
    if kind == "gpt2":
        config = transformers.GPT2Config(**sizes)
        model = transformers.GPT2LMHeadModel(config)
    else:
        config = transformers.BertConfig(**sizes)
        model = transformers.BertModel(config, add_pooling_layer=False)
    model.eval()

    class Wrapper(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids):
            if kind == "gpt2":
                return self.m(input_ids=input_ids, use_cache=False).logits
            return self.m(input_ids=input_ids).last_hidden_state

    os.makedirs(folder, exist_ok=True)
    ids = torch.randint(0, sizes["vocab_size"], (1, 16))
    torch.onnx.export(Wrapper(model), (ids,), path, input_names=["input_ids"],
                      output_names=["output"],
                      dynamic_shapes=({1: torch.export.Dim("seq", min=2,
                                                           max=512)},),
                      opset_version=18, dynamo=True, external_data=True)
    return path


def ort_worker(argv):
    """`ort PATH THREADS IDS`: seconds of one forward pass after a warm-up."""
    import numpy as np
    import onnxruntime as ort
    path, threads, ids = argv[0], int(argv[1]), argv[2]
    ids = np.array([[int(i) for i in ids.split(",")]], dtype=np.int64)
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    out = sess.run(None, {"input_ids": ids})[0]
    start = time.perf_counter()
    sess.run(None, {"input_ids": ids})
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "version": ort.__version__,
                      "last": out[0, -1, :4].tolist()}))


def run(cmd):
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"vs-onnxruntime: {' '.join(cmd[:3])} failed:\n"
                         f"{result.stdout}{result.stderr}")
    return result.stdout + result.stderr


def ort_time(path, threads, ids):
    out = run([sys.executable, os.path.abspath(__file__), "ort", path,
               str(threads), ids])
    return json.loads(out.strip().splitlines()[-1])


def llmc_time(llm_run, path, kind, threads, ids, tokens, all_logits=False):
    with open(path + ".data", "rb") as f:  # warm the page cache
        while f.read(16 << 20):
            pass
    if kind == "gpt2" and all_logits:
        out = run([llm_run, path, "--input-ids", ids, "--dump-logits",
                   "/dev/null", "--num-threads", str(threads)])
        m = re.search(r"forward over (\d+) tokens: ([0-9.]+) s", out)
    elif kind == "gpt2":
        out = run([llm_run, path, "--input-ids", ids, "--max-new-tokens", "1",
                   "--ignore-eos", "--num-threads", str(threads)])
        m = re.search(r"prefill: (\d+) tokens in ([0-9.]+) s", out)
    else:
        out = run([llm_run, path, "--input-ids", ids, "--dump-hidden",
                   "/dev/null", "--num-threads", str(threads)])
        m = re.search(r"forward over (\d+) tokens: ([0-9.]+) s", out)
    if not m or int(m[1]) != tokens:
        raise SystemExit(f"vs-onnxruntime: no timing line for {tokens} tokens "
                         f"in llm-run's output:\n{out}")
    return float(m[2])


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "ort":
        return ort_worker(sys.argv[2:])
    parser = argparse.ArgumentParser()
    parser.add_argument("--cache", required=True)
    parser.add_argument("--llm-run", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--gpt2-tokens", type=int, default=512)
    parser.add_argument("--bert-tokens", type=int, default=128)
    args = parser.parse_args()
    rows = []
    version = "?"
    for shape, (kind, sizes) in SHAPES.items():
        path = export(args.cache, shape)
        tokens = args.gpt2_tokens if kind == "gpt2" else args.bert_tokens
        ids = ",".join(str((i * 7919 + 13) % sizes["vocab_size"])
                       for i in range(tokens))
        # GPT-2 twice: LLMC's prefill (the last position's logits, what
        # generation reads) and its forward with every position's logits
        # (the graph's own output, the work ONNX Runtime does).
        modes = [False, True] if kind == "gpt2" else [False]
        ort_s, llmc_s = [], {m: [] for m in modes}
        for r in range(args.rounds):
            log(f"{shape}: round {r + 1} of {args.rounds}")
            result = ort_time(path, args.threads, ids)
            version = result["version"]
            ort_s.append(result["seconds"])
            for m in modes:
                llmc_s[m].append(llmc_time(args.llm_run, path, kind,
                                           args.threads, ids, tokens, m))
        for m in modes:
            what = ("prefill, every position's logits" if m else
                    "prefill, last logits" if kind == "gpt2" else
                    "encoder forward")
            o, l = statistics.median(ort_s), statistics.median(llmc_s[m])
            rows.append((shape, what, tokens, o, l, o / l, ort_s, llmc_s[m]))
    print(f"\nONNX Runtime {version}, {args.threads} threads, medians of "
          f"{args.rounds} rounds\n")
    print("| shape | LLMC runs | tokens | ONNX Runtime (s) | LLMC (s) | "
          "LLMC ÷ ORT |")
    print("|---|---|---|---|---|---|")
    for shape, what, tokens, o, l, ratio, _, _ in rows:
        print(f"| {shape} | {what} | {tokens} | {o:.3f} | {l:.3f} | "
              f"{ratio:.2f} |")
    print("\nraw samples (s):")
    for shape, what, _, _, _, _, ort_s, llmc_s in rows:
        print(f"  {shape} ({what}): ORT {[round(x, 4) for x in ort_s]}, "
              f"LLMC {[round(x, 4) for x in llmc_s]}")


if __name__ == "__main__":
    main()
