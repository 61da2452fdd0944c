#!/usr/bin/env python3
"""LLMC against ONNX Runtime on the same .onnx files (bench/vs-onnxruntime.sh
runs this with the bench cache's Python; see that script).

For each shape it:
  1. builds a model of random weights (a GPT-2 124M shape, a BERT-base
     shape) and exports it with torch.onnx.export (the dynamo exporter,
     opset 18, a dynamic sequence axis, weights in model.onnx.data);
  2. times ONNX Runtime (CPU provider, ORT_ENABLE_ALL, intra-op threads as
     given, after a warm-up run) on the prompt: the forward pass over it,
     for BERT also over --bert-batch prompts in one call;
  3. times LLMC on the same file: llm-run's "prefill:" line for the decoder
     (compile time is not in it), its "forward over" line for the encoder
     (the batch: its prompts one forward pass after another);
  4. for GPT-2 decode, exports the same weights a second time with past key
     values as inputs and presents as outputs (the TorchScript exporter,
     which traces transformers' DynamicCache), which ONNX Runtime runs step
     by step, feeding each step's presents back, against llm-run's decode
     on the same file (LLMC binds the past empty and keeps its own KV
     cache): the time of --decode-tokens - 1 steps after a --decode-prompt
     prefill, greedy;
  5. prints the table "LLMC ÷ ORT" (ORT time / LLMC time: above 1 means LLMC
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
    # BERT's batch axis is dynamic too (ONNX Runtime runs the batch).
    folder = os.path.join(cache, "models",
                          f"{shape}-onnx" + ("-batch" if shape == "bert-base"
                                             else ""))
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
    axes = {1: torch.export.Dim("seq", min=2, max=512)}
    if kind == "bert":
        ids = torch.randint(0, sizes["vocab_size"], (2, 16))
        axes[0] = torch.export.Dim("batch", min=1, max=64)
    torch.onnx.export(Wrapper(model), (ids,), path, input_names=["input_ids"],
                      output_names=["output"], dynamic_shapes=(axes,),
                      opset_version=18, dynamo=True, external_data=True)
    return path


def export_past(cache, shape):
    """The GPT-2 shape's weights (the same seed) exported with past key
    values: input_ids, attention_mask and past_key_values.<i>.key/value
    [1, heads, past, head_dim] in; logits and present.<i>.key/value out."""
    folder = os.path.join(cache, "models", f"{shape}-onnx-past")
    path = os.path.join(folder, "model.onnx")
    if os.path.exists(path):
        return path
    import torch
    import transformers
    _, sizes = SHAPES[shape]
    log(f"exporting the random-weight {shape} with past key values to {path}")
    torch.manual_seed(0)
    model = transformers.GPT2LMHeadModel(
        transformers.GPT2Config(**sizes)).eval()
    layers, heads = sizes["n_layer"], sizes["n_head"]
    head_dim = sizes["n_embd"] // heads

    class Wrapper(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, *past):
            cache = transformers.DynamicCache()
            for i in range(layers):
                cache.update(past[2 * i], past[2 * i + 1], i)
            out = self.m(input_ids=input_ids, attention_mask=attention_mask,
                         past_key_values=cache, use_cache=True)
            present = []
            for layer in out.past_key_values.layers:
                present += [layer.keys, layer.values]
            return (out.logits, *present)

    past_names = [f"past_key_values.{i}.{kv}" for i in range(layers)
                  for kv in ("key", "value")]
    present_names = [n.replace("past_key_values", "present")
                     for n in past_names]
    axes = {"input_ids": {1: "seq"}, "attention_mask": {1: "total"}}
    axes.update({n: {2: "past"} for n in past_names})
    axes.update({n: {2: "total"} for n in present_names})
    past = [torch.zeros(1, heads, 3, head_dim) for _ in past_names]
    os.makedirs(folder, exist_ok=True)
    torch.onnx.export(Wrapper(model),
                      (torch.tensor([[5, 7]]), torch.ones(1, 5,
                                                          dtype=torch.int64),
                       *past), path,
                      input_names=["input_ids", "attention_mask"] + past_names,
                      output_names=["logits"] + present_names,
                      dynamic_axes=axes, opset_version=17, dynamo=False)
    return path


def ort_session(path, threads):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def ort_decode_worker(argv):
    """`ort-decode PATH THREADS IDS NEW`: the prompt's prefill from an
    empty past, then NEW - 1 greedy steps of one token, each fed the
    previous presents; seconds of those steps, after a warm-up run."""
    import numpy as np
    import onnxruntime as ort
    path, threads, new = argv[0], int(argv[1]), int(argv[3])
    prompt = [int(i) for i in argv[2].split(",")]
    sess = ort_session(path, threads)
    past = [i for i in sess.get_inputs() if i.name.startswith("past_")]

    def generate():
        feeds = {"input_ids": np.array([prompt], dtype=np.int64),
                 "attention_mask": np.ones((1, len(prompt)), np.int64)}
        for i in past:
            feeds[i.name] = np.zeros((1, i.shape[1], 0, i.shape[3]),
                                     np.float32)
        out = sess.run(None, feeds)
        tokens = [int(out[0][0, -1].argmax())]
        start = time.perf_counter()
        for _ in range(new - 1):
            feeds = {"input_ids": np.array([[tokens[-1]]], dtype=np.int64),
                     "attention_mask": np.ones(
                         (1, len(prompt) + len(tokens)), np.int64)}
            for j, i in enumerate(past):
                feeds[i.name] = out[1 + j]
            out = sess.run(None, feeds)
            tokens.append(int(out[0][0, -1].argmax()))
        return time.perf_counter() - start, tokens

    generate()
    seconds, tokens = generate()
    print(json.dumps({"seconds": seconds, "version": ort.__version__,
                      "tokens": tokens}))


def ort_worker(argv):
    """`ort PATH THREADS IDS`: seconds of one forward pass after a warm-up;
    IDS holds one prompt, or several of one length separated by ';' (one
    batch)."""
    import numpy as np
    import onnxruntime as ort
    path, threads, ids = argv[0], int(argv[1]), argv[2]
    ids = np.array([[int(i) for i in row.split(",")]
                    for row in ids.split(";")], dtype=np.int64)
    sess = ort_session(path, threads)
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


def ort_time(path, threads, ids, new=0):
    out = run([sys.executable, os.path.abspath(__file__),
               "ort-decode" if new else "ort", path, str(threads), ids] +
              ([str(new)] if new else []))
    return json.loads(out.strip().splitlines()[-1])


def llmc_decode(llm_run, path, threads, ids, new):
    """Seconds of llm-run's NEW - 1 decode steps (KV cache, greedy) and the
    tokens it generated."""
    out = run([llm_run, path, "--input-ids", ids, "--max-new-tokens",
               str(new), "--ignore-eos", "--num-threads", str(threads)])
    m = re.search(r"decode: (\d+) tokens in \d+ steps of batch 1, ([0-9.]+) s",
                  out)
    g = re.search(r"generated: ([0-9,]+)", out)
    if not m or int(m[1]) != new - 1 or not g:
        raise SystemExit(f"vs-onnxruntime: no decode line for {new - 1} "
                         f"tokens in llm-run's output:\n{out}")
    return float(m[2]), [int(t) for t in g[1].split(",")]


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
    elif ";" in ids:
        out = run([llm_run, path, "--input-ids", ids, "--dump-hidden",
                   "/dev/null", "--num-threads", str(threads)])
        m = re.search(r"forward over \d+ prompts of (\d+) tokens: ([0-9.]+) s",
                      out)
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
    if len(sys.argv) > 1 and sys.argv[1] == "ort-decode":
        return ort_decode_worker(sys.argv[2:])
    parser = argparse.ArgumentParser()
    parser.add_argument("--cache", required=True)
    parser.add_argument("--llm-run", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--gpt2-tokens", type=int, default=512)
    parser.add_argument("--bert-tokens", type=int, default=128)
    parser.add_argument("--bert-batch", type=int, default=8)
    parser.add_argument("--decode-prompt", type=int, default=128)
    parser.add_argument("--decode-tokens", type=int, default=64)
    args = parser.parse_args()
    rows = []
    version = "?"
    for shape, (kind, sizes) in SHAPES.items():
        path = export(args.cache, shape)
        tokens = args.gpt2_tokens if kind == "gpt2" else args.bert_tokens
        def prompt(n, row=0):
            return ",".join(str((i * 7919 + 13 + row * 104729) %
                                sizes["vocab_size"]) for i in range(n))
        ids = prompt(tokens)
        # GPT-2 twice: LLMC's prefill (the last position's logits, what
        # generation reads) and its forward with every position's logits
        # (the graph's own output, the work ONNX Runtime does). BERT once,
        # and at --bert-batch prompts.
        modes = [False, True] if kind == "gpt2" else [False]
        ort_s, llmc_s = [], {m: [] for m in modes}
        batch = ";".join(prompt(tokens, row) for row in range(args.bert_batch))
        ort_b, llmc_b = [], []
        decode_ids = prompt(args.decode_prompt)
        past = export_past(args.cache, shape) if kind == "gpt2" else None
        ort_d, llmc_d = [], []
        for r in range(args.rounds):
            log(f"{shape}: round {r + 1} of {args.rounds}")
            result = ort_time(path, args.threads, ids)
            version = result["version"]
            ort_s.append(result["seconds"])
            for m in modes:
                llmc_s[m].append(llmc_time(args.llm_run, path, kind,
                                           args.threads, ids, tokens, m))
            if kind == "bert" and args.bert_batch > 1:
                ort_b.append(ort_time(path, args.threads, batch)["seconds"])
                llmc_b.append(llmc_time(args.llm_run, path, kind,
                                        args.threads, batch, tokens))
            if past and args.decode_tokens > 1:
                result = ort_time(past, args.threads, decode_ids,
                                  args.decode_tokens)
                ort_d.append(result["seconds"])
                seconds, generated = llmc_decode(
                    args.llm_run, past, args.threads, decode_ids,
                    args.decode_tokens)
                llmc_d.append(seconds)
                if generated != result["tokens"]:
                    log(f"note: greedy tokens differ: ORT {result['tokens']}"
                        f", LLMC {generated}")
        for m in modes:
            what = ("prefill, every position's logits" if m else
                    "prefill, last logits" if kind == "gpt2" else
                    "encoder forward")
            o, l = statistics.median(ort_s), statistics.median(llmc_s[m])
            rows.append((shape, what, tokens, o, l, o / l, ort_s, llmc_s[m]))
        if ort_b:
            o, l = statistics.median(ort_b), statistics.median(llmc_b)
            rows.append((shape, f"encoder forward, batch {args.bert_batch}",
                         f"{args.bert_batch} x {tokens}", o, l, o / l, ort_b,
                         llmc_b))
        if ort_d:
            o, l = statistics.median(ort_d), statistics.median(llmc_d)
            rows.append((shape, f"decode after a {args.decode_prompt}-token "
                         f"prompt (the past-key-values export)",
                         f"{args.decode_tokens - 1} steps", o, l, o / l,
                         ort_d, llmc_d))
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
