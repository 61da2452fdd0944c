#!/usr/bin/python3
"""Prefill time and peak memory of a SmolLM-135M-shaped model, build vs build.

Writes a LLaMA of SmolLM-135M's shape with random bf16 weights (hidden 576,
30 layers, 9 heads over 3 KV heads, MLP 1536, vocabulary 49152, tied LM
head; 269 MB) to --model (kept if it exists), then runs each `llm-run`
given, alternately, on the same prompt of --tokens random ids with
--max-new-tokens 1, and reports each one's median prefill time and tokens/s
and its median peak RSS (/usr/bin/time). Measures llm-last-logits: a
prefill for generation computes the LM head at the last position only.
Needs the standard library only; nothing is downloaded.

    python3 bench/smollm-prefill.py --llm-run /old/build/bin/llm-run \\
        --llm-run build/bin/llm-run --runs 5
"""

import argparse
import json
import os
import random
import re
import statistics
import struct
import subprocess

H, L, NH, KV, I, V = 576, 30, 9, 3, 1536, 49152


def write_model(out):
    os.makedirs(out, exist_ok=True)
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "attention_bias": False, "mlp_bias": False, "bos_token_id": 1,
        "eos_token_id": 2, "hidden_act": "silu", "hidden_size": H,
        "intermediate_size": I, "max_position_embeddings": 2048,
        "num_attention_heads": NH, "num_hidden_layers": L,
        "num_key_value_heads": KV, "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0, "tie_word_embeddings": True,
        "vocab_size": V, "torch_dtype": "bfloat16",
    }
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    d = H // NH
    tensors = [("model.embed_tokens.weight", [V, H], False)]
    for layer in range(L):
        p = f"model.layers.{layer}."
        tensors += [
            (p + "input_layernorm.weight", [H], True),
            (p + "self_attn.q_proj.weight", [NH * d, H], False),
            (p + "self_attn.k_proj.weight", [KV * d, H], False),
            (p + "self_attn.v_proj.weight", [KV * d, H], False),
            (p + "self_attn.o_proj.weight", [H, NH * d], False),
            (p + "post_attention_layernorm.weight", [H], True),
            (p + "mlp.gate_proj.weight", [I, H], False),
            (p + "mlp.up_proj.weight", [I, H], False),
            (p + "mlp.down_proj.weight", [H, I], False),
        ]
    tensors.append(("model.norm.weight", [H], True))
    header, offset = {}, 0
    for name, shape, _ in tensors:
        size = 2 * shape[0] * (shape[1] if len(shape) > 1 else 1)
        header[name] = {"dtype": "BF16", "shape": shape,
                        "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    # bf16 of random sign and mantissa, |x| in [2^-7, 2^-5); norms 1.0.
    high = bytes((b & 0x80) | 0x3C for b in range(256))
    with open(os.path.join(out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for name, shape, ones in tensors:
            count = shape[0] * (shape[1] if len(shape) > 1 else 1)
            if ones:
                f.write(b"\x80\x3f" * count)
                continue
            data = bytearray(2 * count)
            data[0::2] = os.urandom(count)
            data[1::2] = os.urandom(count).translate(high)
            f.write(data)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--llm-run", action="append", required=True)
    parser.add_argument("--model", default="/tmp/llmc-smollm-random")
    parser.add_argument("--tokens", type=int, default=512)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    if not os.path.exists(os.path.join(args.model, "model.safetensors")):
        write_model(args.model)
    rng = random.Random(1)
    ids = ",".join(str(rng.randrange(3, V)) for _ in range(args.tokens))
    seconds = {b: [] for b in args.llm_run}
    rss = {b: [] for b in args.llm_run}
    for _ in range(args.runs):
        for binary in args.llm_run:
            out = subprocess.run(
                ["/usr/bin/time", "-f", "maxrss_kb %M", binary, args.model,
                 "--input-ids", ids, "--max-new-tokens", "1",
                 "--num-threads", str(args.threads)],
                capture_output=True, text=True, check=True)
            text = out.stdout + out.stderr
            seconds[binary].append(float(re.search(
                r"prefill: \d+ tokens in ([0-9.]+) s", text)[1]))
            rss[binary].append(int(re.search(r"maxrss_kb (\d+)", text)[1]))
    for binary in args.llm_run:
        t = statistics.median(seconds[binary])
        print(f"{binary}: prefill {args.tokens} tokens {t:.3f} s "
              f"({args.tokens / t:.1f} tokens/s), peak RSS "
              f"{statistics.median(rss[binary]) / 1024:.1f} MiB "
              f"(median of {args.runs})")


if __name__ == "__main__":
    main()
