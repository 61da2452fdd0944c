#!/usr/bin/env python3
"""MoE speed: the specialized layer (llm-specialize-moe: routing, grouped
GEMMs, combine), its decode form against its prefill form in decode steps
(llm-run --moe-decode-max-tokens 0), and against a dense model of the same
active FLOPs, on random-weight bf16 models:

  mixtral   8 experts, top-2, hidden 1024, intermediate 2816, 8 layers
  qwen3moe  64 experts, top-8, hidden 1024, moe intermediate 256, 8 layers

Each model's dense twin is a LLaMA with intermediate_size = top_k x the
expert's (the MoE's active MLP FLOPs per token), so its prefill rate is the
dense GEMM's on the same shapes and the MoE/dense time ratio is the grouped
GEMM's FLOP rate as a fraction of the dense one (routing included).

Reported per model and thread count, medians of --rounds alternating
fresh-process runs:
  - decode tokens/s (64 tokens after a 1-token prompt), the expert bytes a
    token reads (top_k / experts of all expert weights, by construction of
    the grouped product, which reads only chosen experts), and the decode
    efficiency: bytes a token reads (experts + everything else) x tokens/s
    / the machine's copy bandwidth with as many threads (numpy, read plus
    written bytes, measured here);
  - prefill 512 tokens/s and the MoE/dense ratio.

  bench/moe.sh [--llm-run PATH] [--rounds N] [--threads 1,2] [--quick]
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

import numpy as np

SHAPES = {
    "mixtral": dict(experts=8, top_k=2, hidden=1024, inter=2816, layers=8, heads=16, kv_heads=8,
                    model_type="mixtral"),
    "qwen3moe": dict(experts=64, top_k=8, hidden=1024, inter=256, layers=8, heads=16, kv_heads=8,
                     model_type="qwen3_moe"),
}
VOCAB = 32000


def bf16(a):
    """float32 array -> bf16 bytes (round to nearest even)."""
    u = a.astype(np.float32).view(np.uint32)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return u.astype(np.uint16).tobytes()


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, shape, data in tensors:
        header[name] = {"dtype": "BF16", "shape": shape, "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little") + h)
        for b in blobs:
            f.write(b)


def make_model(folder, s, dense):
    """A random model: the MoE of shape `s`, or its dense twin."""
    if os.path.exists(os.path.join(folder, "model.safetensors")):
        return
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(1)
    h, hd = s["hidden"], s["hidden"] // s["heads"]
    kv = s["kv_heads"] * hd
    inter = s["top_k"] * s["inter"] if dense else s["inter"]
    t = []

    def w(name, *shape):
        t.append((name, list(shape), bf16(rng.standard_normal(shape, dtype=np.float32) * 0.02)))

    def ones(name, n):
        t.append((name, [n], bf16(np.ones(n, np.float32))))

    w("model.embed_tokens.weight", VOCAB, h)
    for i in range(s["layers"]):
        p = f"model.layers.{i}."
        ones(p + "input_layernorm.weight", h)
        ones(p + "post_attention_layernorm.weight", h)
        w(p + "self_attn.q_proj.weight", h, h)
        w(p + "self_attn.k_proj.weight", kv, h)
        w(p + "self_attn.v_proj.weight", kv, h)
        w(p + "self_attn.o_proj.weight", h, h)
        if s["model_type"] == "qwen3_moe" and not dense:
            ones(p + "self_attn.q_norm.weight", hd)
            ones(p + "self_attn.k_norm.weight", hd)
        if dense:
            w(p + "mlp.gate_proj.weight", inter, h)
            w(p + "mlp.up_proj.weight", inter, h)
            w(p + "mlp.down_proj.weight", h, inter)
        else:
            # The block's prefix and its experts' gate, up and down names.
            m, (gate, up, down) = ((p + "block_sparse_moe.", ("w1", "w3", "w2"))
                                   if s["model_type"] == "mixtral"
                                   else (p + "mlp.", ("gate_proj", "up_proj", "down_proj")))
            w(m + "gate.weight", s["experts"], h)
            for e in range(s["experts"]):
                w(m + f"experts.{e}.{gate}.weight", inter, h)
                w(m + f"experts.{e}.{up}.weight", inter, h)
                w(m + f"experts.{e}.{down}.weight", h, inter)
    ones("model.norm.weight", h)
    w("lm_head.weight", VOCAB, h)
    config = dict(vocab_size=VOCAB, hidden_size=h, intermediate_size=inter, num_hidden_layers=s["layers"],
                  num_attention_heads=s["heads"], num_key_value_heads=s["kv_heads"], max_position_embeddings=4096,
                  rms_norm_eps=1e-6, bos_token_id=1, eos_token_id=2, tie_word_embeddings=False,
                  model_type="llama" if dense else s["model_type"])
    if not dense and s["model_type"] == "mixtral":
        config.update(num_local_experts=s["experts"], num_experts_per_tok=s["top_k"], sliding_window=None)
    elif not dense:
        config.update(num_experts=s["experts"], num_experts_per_tok=s["top_k"], moe_intermediate_size=inter,
                      norm_topk_prob=True, head_dim=hd)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f)
    write_safetensors(os.path.join(folder, "model.safetensors"), t)


def param_bytes(s, dense):
    """Bytes of bf16 weights a decoded token reads: every non-expert weight
    (the LM head included, the embedding row aside) and, for the MoE, its
    top_k experts per layer. Also the expert bytes alone."""
    h, hd = s["hidden"], s["hidden"] // s["heads"]
    kv = s["kv_heads"] * hd
    attn = h * h * 2 + kv * h * 2
    expert = 3 * h * s["inter"]
    mlp = s["top_k"] * expert
    router = 0 if dense else s["experts"] * h
    per_layer = attn + mlp + router
    total = s["layers"] * per_layer + VOCAB * h
    return 2 * total, 2 * s["layers"] * mlp


def copy_bandwidth(threads):
    """GB/s of `threads` threads each copying its part of 256 MB (numpy
    releases the GIL while it copies): read plus written bytes, best of 5."""
    import threading
    a = np.ones(1 << 28, np.uint8)
    b = np.empty_like(a)
    parts = np.array_split(np.arange(a.size), threads)
    spans = [(p[0], p[-1] + 1) for p in parts]

    def copy(lo, hi):
        np.copyto(b[lo:hi], a[lo:hi])

    best = 0.0
    for _ in range(5):
        workers = [threading.Thread(target=copy, args=span) for span in spans]
        t = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        best = max(best, 2 * a.nbytes / (time.perf_counter() - t))
    return best / 1e9


def run(llm_run, folder, args, threads):
    cmd = [llm_run, folder, "--num-threads", str(threads), "--ignore-eos"] + args
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stderr}")
    return out.stdout + out.stderr


def prefill(llm_run, folder, threads, tokens, flags):
    ids = ",".join(str(3 + (i * 7919) % (VOCAB - 3)) for i in range(tokens))
    out = run(llm_run, folder, ["--input-ids", ids, "--max-new-tokens", "1"] + flags, threads)
    m = re.search(r"prefill: (\d+) tokens in ([0-9.]+) s", out)
    return float(m[2])


def decode(llm_run, folder, threads, tokens, flags):
    out = run(llm_run, folder, ["--input-ids", "5", "--max-new-tokens", str(tokens + 1)] + flags, threads)
    m = re.search(r"decode: (\d+) tokens in \d+ steps of batch 1, ([0-9.]+) s", out)
    return int(m[1]) / float(m[2])


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = argparse.ArgumentParser(description="MoE speed: decode and prefill forms vs dense")
    p.add_argument("--cache", default=os.path.join(os.path.expanduser("~"), ".cache", "llmc-bench", "moe"))
    p.add_argument("--llm-run", default=os.path.join(root, "build", "bin", "llm-run"))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", default="1,2")
    p.add_argument("--shapes", default="mixtral,qwen3moe")
    p.add_argument("--prefill-tokens", type=int, default=512)
    p.add_argument("--decode-tokens", type=int, default=64)
    p.add_argument("--quick", action="store_true", help="1 round, 64-token prefill, 8 decode tokens")
    a = p.parse_args()
    if a.quick:
        a.rounds, a.prefill_tokens, a.decode_tokens = 1, 64, 8
    bandwidth = {n: copy_bandwidth(n) for n in map(int, a.threads.split(","))}
    print("numpy copy bandwidth: " + ", ".join(f"{bw:.1f} GB/s ({n} thread{'s' if n > 1 else ''})"
                                               for n, bw in bandwidth.items()))
    rows = []
    for name in a.shapes.split(","):
        s = SHAPES[name]
        moe_dir = os.path.join(a.cache, name)
        dense_dir = os.path.join(a.cache, name + "-dense")
        make_model(moe_dir, s, False)
        make_model(dense_dir, s, True)
        for threads in map(int, a.threads.split(",")):
            samples = {k: [] for k in ("spec_pp", "dense_pp", "spec_tg", "gemm_tg", "dense_tg")}
            for r in range(a.rounds):
                print(f"moe bench: {name}, {threads} thread(s), round {r + 1}/{a.rounds}", file=sys.stderr)
                samples["spec_pp"].append(prefill(a.llm_run, moe_dir, threads, a.prefill_tokens, []))
                samples["dense_pp"].append(prefill(a.llm_run, dense_dir, threads, a.prefill_tokens, []))
                samples["spec_tg"].append(decode(a.llm_run, moe_dir, threads, a.decode_tokens, []))
                samples["gemm_tg"].append(decode(a.llm_run, moe_dir, threads, a.decode_tokens,
                                                 ["--moe-decode-max-tokens", "0"]))
                samples["dense_tg"].append(decode(a.llm_run, dense_dir, threads, a.decode_tokens, []))
            med = {k: statistics.median(v) for k, v in samples.items()}
            token_bytes, expert_bytes = param_bytes(s, False)
            all_expert = 2 * s["layers"] * s["experts"] * 3 * s["hidden"] * s["inter"]
            rows.append((name, threads, med, token_bytes, expert_bytes, all_expert))
    print()
    print("| shape | threads | decode tok/s: decode form / prefill form / dense | expert MB read per token (share "
          "of all) | decode GB/s (efficiency: ÷ copy bandwidth; ÷ the dense twin's GB/s) | prefill s: MoE / "
          "dense | grouped GEMM rate ÷ dense |")
    print("|---|---|---|---|---|---|---|")
    for name, threads, med, token_bytes, expert_bytes, all_expert in rows:
        rate = token_bytes * med["spec_tg"] / 1e9
        dense_rate = param_bytes(SHAPES[name], True)[0] * med["dense_tg"] / 1e9
        print(f"| {name} | {threads} | {med['spec_tg']:.1f} / {med['gemm_tg']:.1f} / {med['dense_tg']:.1f} | "
              f"{expert_bytes / 1e6:.1f} ({expert_bytes / all_expert:.3f} of {all_expert / 1e6:.0f}) | "
              f"{rate:.1f} ({rate / bandwidth[threads]:.2f}; {rate / dense_rate:.2f}) | "
              f"{med['spec_pp']:.3f} / {med['dense_pp']:.3f} | "
              f"{med['dense_pp'] / med['spec_pp']:.2f} |")


if __name__ == "__main__":
    main()
