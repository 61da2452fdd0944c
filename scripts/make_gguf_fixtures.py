#!/usr/bin/env python3
"""Writes test/e2e/gguf/llama-{f32,f16,q8_0}.gguf from test/e2e/llama.

What llama.cpp's converter (convert_hf_to_gguf.py) would write for the tiny
llama fixture, in pure Python (struct; no numpy, no gguf package):
GGUF v3, metadata general.architecture "llama" and the llama.* keys the
converter writes (block_count, context_length, embedding_length,
feed_forward_length, attention.head_count/_kv,
attention.layer_norm_rms_epsilon, rope.freq_base, rope.dimension_count,
vocab_size) and the tokenizer ids; tensors renamed (token_embd, blk.N.*,
output_norm, output) with dims in ggml order (reversed), the query and key
rows permuted per head as the converter's LlamaModel.permute does, norms in
F32 and the matrices in F32, F16 or Q8_0 (ggml's reference quantizer:
d = max|x| / 127 as f16, q = round(x / d), half away from zero).

  python3 scripts/make_gguf_fixtures.py
Re-running gives the same bytes.
"""

import json
import math
import os
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = os.path.join(ROOT, "test", "e2e", "llama")
OUT = os.path.join(ROOT, "test", "e2e", "gguf")

NAMES = {
    "model.embed_tokens.weight": "token_embd.weight",
    "model.norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight",
}
LAYER = {
    "input_layernorm.weight": "attn_norm.weight",
    "post_attention_layernorm.weight": "ffn_norm.weight",
    "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.o_proj.weight": "attn_output.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack_from("<Q", data, 0)
    header = json.loads(data[8:8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        begin, end = t["data_offsets"]
        out[name] = (t["shape"], list(struct.unpack_from(f"<{(end - begin) // 4}f", data, 8 + n + begin)))
    return out


def gguf_name(name):
    if name in NAMES:
        return NAMES[name]
    parts = name.split(".")
    return f"blk.{parts[2]}." + LAYER[".".join(parts[3:])]


def permute(values, shape, n_head):
    """LlamaModel.permute: per head, rows [i] and [i + hd/2] become rows 2i
    and 2i + 1."""
    rows, cols = shape
    hd = rows // n_head
    out = [0.0] * len(values)
    for h in range(n_head):
        for i in range(hd // 2):
            for half in (0, 1):
                src = h * hd + i + half * hd // 2
                dst = h * hd + 2 * i + half
                out[dst * cols:(dst + 1) * cols] = values[src * cols:(src + 1) * cols]
    return out


def f16_bytes(values):
    return struct.pack(f"<{len(values)}e", *values)


def q8_0_bytes(values):
    out = bytearray()
    for b in range(0, len(values), 32):
        block = values[b:b + 32]
        amax = max(abs(v) for v in block)
        d = amax / 127
        d16 = struct.unpack("<e", struct.pack("<e", d))[0]
        inv = 1 / d if d else 0.0
        q = [int(math.copysign(math.floor(abs(v * inv) + 0.5), v)) for v in block]
        out += struct.pack("<e", d16) + struct.pack("<32b", *q)
    return bytes(out)


def s(text):
    b = text.encode()
    return struct.pack("<Q", len(b)) + b


def kv(key, kind, value):
    codes = {"u32": (4, "<I"), "f32": (6, "<f"), "str": (8, None)}
    code, fmt = codes[kind]
    body = s(value) if kind == "str" else struct.pack(fmt, value)
    return s(key) + struct.pack("<I", code) + body


def write(path, config, tensors, kind):
    heads, kv_heads = config["num_attention_heads"], config["num_key_value_heads"]
    meta = [
        kv("general.architecture", "str", "llama"),
        kv("llama.block_count", "u32", config["num_hidden_layers"]),
        kv("llama.context_length", "u32", config["max_position_embeddings"]),
        kv("llama.embedding_length", "u32", config["hidden_size"]),
        kv("llama.feed_forward_length", "u32", config["intermediate_size"]),
        kv("llama.attention.head_count", "u32", heads),
        kv("llama.attention.head_count_kv", "u32", kv_heads),
        kv("llama.attention.layer_norm_rms_epsilon", "f32", config["rms_norm_eps"]),
        kv("llama.rope.freq_base", "f32", config["rope_parameters"]["rope_theta"]),
        kv("llama.rope.dimension_count", "u32", config["head_dim"]),
        kv("llama.vocab_size", "u32", config["vocab_size"]),
        kv("tokenizer.ggml.bos_token_id", "u32", config["bos_token_id"]),
        kv("tokenizer.ggml.eos_token_id", "u32", config["eos_token_id"]),
    ]
    infos, blobs, offset = [], [], 0
    for name in sorted(tensors):
        shape, values = tensors[name]
        if name.endswith("q_proj.weight"):
            values = permute(values, shape, heads)
        elif name.endswith("k_proj.weight"):
            values = permute(values, shape, kv_heads)
        if len(shape) == 1 or kind == "f32":
            blob, ggml_type = struct.pack(f"<{len(values)}f", *values), 0
        elif kind == "f16":
            blob, ggml_type = f16_bytes(values), 1
        else:
            blob, ggml_type = q8_0_bytes(values), 8
        dims = list(reversed(shape))
        infos.append(s(gguf_name(name)) + struct.pack("<I", len(dims)) +
                     b"".join(struct.pack("<Q", d) for d in dims) +
                     struct.pack("<IQ", ggml_type, offset))
        blob += b"\0" * (-len(blob) % 32)
        blobs.append(blob)
        offset += len(blob)
    head = b"GGUF" + struct.pack("<IQQ", 3, len(infos), len(meta)) + b"".join(meta) + b"".join(infos)
    head += b"\0" * (-len(head) % 32)
    with open(path, "wb") as f:
        f.write(head + b"".join(blobs))


def main():
    with open(os.path.join(SOURCE, "config.json")) as f:
        config = json.load(f)
    tensors = read_safetensors(os.path.join(SOURCE, "model.safetensors"))
    os.makedirs(OUT, exist_ok=True)
    for kind in ("f32", "f16", "q8_0"):
        path = os.path.join(OUT, f"llama-{kind}.gguf")
        write(path, config, tensors, kind)
        print(path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
