#!/usr/bin/python3
"""T5 generation with the KV caches against recomputation, side by side.

Writes a T5 model of a given shape with random weights (t5-small by default:
d_model 512, 6 + 6 layers, 8 heads of 64, d_ff 2048, vocabulary 32128) to a
temporary folder, then runs `llm-run` on the same encoder input:

- cached: the encoder once into the static cross-attention cache, then
  prefill + one decode call per token over the paged self-attention cache;
- recompute (--no-kv-cache): the whole model (encoder and decoder over
  every token so far) for every generated token.

Reports the median decode tokens/s of each over --runs runs and their ratio.
Needs numpy only; nothing is downloaded.

    python3 bench/t5-decode.py --llm-run build/bin/llm-run
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

import numpy as np


def write_model(folder, a):
    inner = a.heads * a.d_kv
    shapes = {"shared.weight": (a.vocab, a.d_model)}
    for part, layers in (("encoder", a.layers), ("decoder", a.layers)):
        shapes[f"{part}.final_layer_norm.weight"] = (a.d_model,)
        shapes[f"{part}.block.0.layer.0.SelfAttention.relative_attention_bias.weight"] = (
            32, a.heads)
        for i in range(layers):
            p = f"{part}.block.{i}.layer."
            blocks = [("0.SelfAttention.", "0.layer_norm.weight")]
            if part == "decoder":
                blocks.append(("1.EncDecAttention.", "1.layer_norm.weight"))
            for attention, norm in blocks:
                shapes[p + norm] = (a.d_model,)
                for w in "qkv":
                    shapes[p + attention + w + ".weight"] = (inner, a.d_model)
                shapes[p + attention + "o.weight"] = (a.d_model, inner)
            ff = "2." if part == "decoder" else "1."
            shapes[p + ff + "layer_norm.weight"] = (a.d_model,)
            shapes[p + ff + "DenseReluDense.wi.weight"] = (a.d_ff, a.d_model)
            shapes[p + ff + "DenseReluDense.wo.weight"] = (a.d_model, a.d_ff)
    rng = np.random.default_rng(0)
    header, blobs, offset = {}, [], 0
    for name, shape in shapes.items():
        if name.endswith("layer_norm.weight"):
            data = np.ones(shape, np.float32)
        else:
            data = (rng.standard_normal(shape, np.float32) *
                    (1.0 / np.sqrt(shape[-1]))).astype(np.float32)
        raw = data.tobytes()
        header[name] = {"dtype": "F32", "shape": list(shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(os.path.join(folder, "model.safetensors"), "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for raw in blobs:
            f.write(raw)
    config = {
        "model_type": "t5", "architectures": ["T5ForConditionalGeneration"],
        "vocab_size": a.vocab, "d_model": a.d_model, "d_kv": a.d_kv,
        "d_ff": a.d_ff, "num_layers": a.layers, "num_decoder_layers": a.layers,
        "num_heads": a.heads, "relative_attention_num_buckets": 32,
        "relative_attention_max_distance": 128, "layer_norm_epsilon": 1e-6,
        "feed_forward_proj": "relu", "tie_word_embeddings": True,
        "decoder_start_token_id": 0, "eos_token_id": 1, "pad_token_id": 0,
    }
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f)
    return sum(int(np.prod(s)) for s in shapes.values())


def run(a, folder, ids, extra):
    out = subprocess.run(
        [a.llm_run, folder, "--input-ids", ids, "--max-new-tokens",
         str(a.new_tokens), "--ignore-eos", "--num-threads", str(a.threads)] +
        extra, check=True, capture_output=True, text=True).stdout
    cached = re.search(r"^decode: \d+ tokens .*\(([0-9.]+) tokens/s\)", out,
                       re.M)
    if cached:
        return float(cached.group(1))
    recompute = re.search(r"\(([0-9.]+) tokens/s, full-sequence recompute",
                          out)
    if not recompute:
        sys.exit("llm-run printed no throughput:\n" + out)
    return float(recompute.group(1))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--llm-run", default="build/bin/llm-run")
    p.add_argument("--d-model", type=int, default=512)
    p.add_argument("--d-kv", type=int, default=64)
    p.add_argument("--d-ff", type=int, default=2048)
    p.add_argument("--heads", type=int, default=8)
    p.add_argument("--layers", type=int, default=6)
    p.add_argument("--vocab", type=int, default=32128)
    p.add_argument("--encoder-len", type=int, default=128)
    p.add_argument("--new-tokens", type=int, default=64)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--runs", type=int, default=3)
    a = p.parse_args()
    ids = ",".join(str(2 + (7 * i) % (a.vocab - 2))
                   for i in range(a.encoder_len))
    with tempfile.TemporaryDirectory() as folder:
        params = write_model(folder, a)
        cached, recompute = [], []
        for _ in range(a.runs):  # Interleaved, so that both see the same load.
            cached.append(run(a, folder, ids, []))
            recompute.append(run(a, folder, ids, ["--no-kv-cache"]))
    c, r = statistics.median(cached), statistics.median(recompute)
    print(f"T5 {params / 1e6:.1f}M parameters, encoder {a.encoder_len} tokens, "
          f"{a.new_tokens} new tokens, {a.runs} runs")
    print(f"cached decode:    median {c:8.1f} tokens/s  "
          f"({', '.join(f'{x:.1f}' for x in cached)})")
    print(f"recompute:        median {r:8.1f} tokens/s  "
          f"({', '.join(f'{x:.1f}' for x in recompute)})")
    print(f"speedup of the cached path: {c / r:.1f}x")


if __name__ == "__main__":
    main()
