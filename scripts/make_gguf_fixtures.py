#!/usr/bin/env python3
"""Writes test/e2e/gguf/llama-{f32,f16,q8_0,q4_0,q4_1}.gguf from
test/e2e/llama, llama_mqa_tied-f32.gguf from test/e2e/llama_mqa_tied (one
key/value head, whose key rows are permuted over that head; no output
tensor: tied embeddings), mistral-f32.gguf from test/e2e/mistral (a llama
file with llama.attention.sliding_window) and qwen2-f32.gguf from
test/e2e/qwen2 (query, key and value biases; the converter does not permute
qwen2's rows).

What llama.cpp's converter (convert_hf_to_gguf.py) would write for the tiny
llama fixture, in pure Python (struct; no numpy, no gguf package):
GGUF v3, metadata general.architecture "llama" and the llama.* keys the
converter writes (block_count, context_length, embedding_length,
feed_forward_length, attention.head_count/_kv,
attention.layer_norm_rms_epsilon, rope.freq_base, rope.dimension_count,
vocab_size) and the tokenizer ids; tensors renamed (token_embd, blk.N.*,
output_norm, output) with dims in ggml order (reversed), the query and key
rows permuted per head as the converter's LlamaModel.permute does, norms in
F32 and the matrices in F32, F16, Q8_0, Q4_0 or Q4_1 (ggml's reference
quantizers, quantize_row_*_ref: Q8_0 d = max|x| / 127, q = round(x / d)
half away from zero; Q4_0 d = -x_m / 8 for the x_m of largest magnitude,
q = min(15, trunc(x / d + 8.5)); Q4_1 d = (max - min) / 15, m = min,
q = min(15, trunc((x - m) / d + 0.5)); d and m stored as f16). Each
quantized file has an F32 twin, llama-<kind>-ref.gguf, holding the values
its blocks stand for (d * q, d * (q - 8), d * q + m in float32): the
reference the kernels' results are compared with.

  python3 scripts/make_gguf_fixtures.py
Re-running gives the same bytes.

Two more uses, for tests that write their files at run time:

  make_gguf_fixtures.py convert MODEL OUT.gguf [--type T]
      T: f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k (rows
      that 256 does not divide: q5_0, q5_1, q8_0), q4_k_m (llama.cpp's
      mix: Q6_K for the output and some layers' attn_v and ffn_down, Q4_K
      elsewhere), or one of them with -ref: the F32 twin
      of the values the blocks stand for, or -f16ref: the same with each
      K-quant group's scale d * sc and min dmin * m rounded to f16, as
      LLMC's kernels hold them (the embedding, dequantized at load, keeps
      them exact);
      a llama, mistral, mixtral, qwen2, gpt2, bloom, bert or t5 folder (F32,
      F16 or BF16 safetensors) with its tokenizer (T5: GGUF has no key for
      relative_attention_max_distance, which readers take as 128; another
      value is warned about);
  make_gguf_fixtures.py tokenizer FOLDER OUT.gguf
      the tokenizer alone (no tensors).

The tokenizer is written as the converter writes it: from tokenizer.model
(SentencePiece BPE) the llama kind (tokens, scores, token types, BOS, EOS
and unknown ids, add_space_prefix); from a byte-level BPE tokenizer.json
the gpt2 kind (tokens with the added ones, control for special and
user-defined for the others, merges, and tokenizer.ggml.pre named from the
pre-tokenizer's structure where the converter hashes a test text: gpt-2,
llama-bpe, qwen2 or smollm); from a WordPiece tokenizer.json the bert kind
(the vocabulary in "phantom space" form, the normalizer's flags, [CLS],
[SEP] and the other special ids); from a Unigram tokenizer.model the t5 kind
(pieces, scores, types, the precompiled charsmap, the added tokens past the
pieces as user-defined); add_bos/add_eos from tokenizer_config.json or the
post-processor's template.
"""

import json
import math
import os
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = os.path.join(ROOT, "test", "e2e", "llama")
QWEN2 = os.path.join(ROOT, "test", "e2e", "qwen2")
MQA = os.path.join(ROOT, "test", "e2e", "llama_mqa_tied")
MISTRAL = os.path.join(ROOT, "test", "e2e", "mistral")
OUT = os.path.join(ROOT, "test", "e2e", "gguf")

NAMES = {
    "rope_freqs.weight": "rope_freqs.weight",
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
    "self_attn.q_proj.bias": "attn_q.bias",
    "self_attn.k_proj.bias": "attn_k.bias",
    "self_attn.v_proj.bias": "attn_v.bias",
    "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
    "block_sparse_moe.gate.weight": "ffn_gate_inp.weight",
    "block_sparse_moe.stacked_w1": "ffn_gate_exps.weight",
    "block_sparse_moe.stacked_w2": "ffn_down_exps.weight",
    "block_sparse_moe.stacked_w3": "ffn_up_exps.weight",
    "self_attn.o_proj.bias": "attn_output.bias",
    "mlp.gate_proj.bias": "ffn_gate.bias",
    "mlp.up_proj.bias": "ffn_up.bias",
    "mlp.down_proj.bias": "ffn_down.bias",
}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack_from("<Q", data, 0)
    header = json.loads(data[8:8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__" or name.endswith("position_ids"):
            continue  # (the converter drops BERT's position_ids buffer)
        begin, end = t["data_offsets"]
        at = 8 + n + begin
        if t["dtype"] == "F32":
            values = struct.unpack_from(f"<{(end - begin) // 4}f", data, at)
        elif t["dtype"] == "F16":
            values = struct.unpack_from(f"<{(end - begin) // 2}e", data, at)
        elif t["dtype"] == "BF16":
            halves = struct.unpack_from(f"<{(end - begin) // 2}H", data, at)
            values = struct.unpack(f"<{len(halves)}f", struct.pack(f"<{len(halves)}I", *(h << 16 for h in halves)))
        else:
            raise SystemExit(f"{path}: tensor {name}: dtype {t['dtype']}: expected F32, F16 or BF16")
        out[name] = (t["shape"], list(values))
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


def bf16_bytes(values):
    """The nearest bf16 of each value (ties to even), as the converter's
    numpy/torch casts give it."""
    words = struct.unpack(f"<{len(values)}I", struct.pack(f"<{len(values)}f", *values))
    return struct.pack(f"<{len(words)}H", *(((w + 0x7FFF + ((w >> 16) & 1)) >> 16) & 0xFFFF for w in words))


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


def f16(x):
    return struct.unpack("<e", struct.pack("<e", x))[0]


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def dequantize(blob, kind, count, f16_scales=False):
    """The float32 values of `count` values of `kind` blocks (ggml's
    dequantize_row_*, in float32; with `f16_scales`, a K-quant group's
    d * sc and dmin * m rounded to f16 first)."""
    if kind in ("q5_0", "q5_1", "q4_k", "q5_k", "q6_k"):
        return dequantize_more(blob, kind, f16_scales)[:count]
    size = {"q8_0": 34, "q4_0": 18, "q4_1": 20}[kind]
    out = []
    for b in range(0, len(blob), size):
        block = blob[b:b + size]
        (d,) = struct.unpack_from("<e", block, 0)
        if kind == "q8_0":
            out += [f32(d * q) for q in struct.unpack_from("<32b", block, 2)]
            continue
        m = struct.unpack_from("<e", block, 2)[0] if kind == "q4_1" else 0.0
        qs = block[4:] if kind == "q4_1" else block[2:]
        q = [x & 15 for x in qs] + [x >> 4 for x in qs]
        out += [f32(f32(d * v) + m) if kind == "q4_1" else f32(d * (v - 8)) for v in q]
    return out[:count]


def q5_bytes(values, with_min):
    """ggml's quantize_row_q5_0_ref / q5_1_ref: Q5_0 d = -x_m / 16 for the
    x_m of largest magnitude, q = min(31, trunc(x / d + 16.5)); Q5_1
    d = (max - min) / 31, m = min, q = min(31, trunc((x - m) / d + 0.5));
    bit 4 of value i in bit i of qh."""
    out = bytearray()
    for b in range(0, len(values), 32):
        head, q = block_grid(values[b:b + 32], 5, with_min)
        qh = sum(((q[i] >> 4) & 1) << i for i in range(32))
        out += head + struct.pack("<I", qh) + bytes((q[j] & 15) | ((q[j + 16] & 15) << 4) for j in range(16))
    return bytes(out)


def k_scales(sc, mn):
    """The 12 bytes that hold eight 6-bit scales and mins (get_scale_min_k4
    reads them back)."""
    out = bytearray(12)
    for j in range(4):
        out[j] = sc[j] | ((sc[j + 4] >> 4) << 6)
        out[j + 4] = mn[j] | ((mn[j + 4] >> 4) << 6)
        out[j + 8] = (sc[j + 4] & 15) | ((mn[j + 4] & 15) << 4)
    return bytes(out)


def qk_bytes(values, bits):
    """Q4_K (bits 4) and Q5_K (bits 5) super-blocks of 256: per group of 32
    an affine grid [min(0, x_min), x_max] on 2^bits levels, its scale and
    min quantized to 6 bits against the super-block's f16 d and dmin (the
    layout of ggml's block_q4_K/q5_K; the grid search of llama.cpp's own
    quantizer is not needed for a test)."""
    top = (1 << bits) - 1
    out = bytearray()
    for b in range(0, len(values), 256):
        sb = values[b:b + 256]
        groups = [sb[g * 32:(g + 1) * 32] for g in range(8)]
        scales = [(max(g) - min(0.0, min(g))) / top for g in groups]
        mins = [-min(0.0, min(g)) for g in groups]
        d = f16(max(scales) / 63)
        dmin = f16(max(mins) / 63)
        sc = [min(63, int(x / d + 0.5)) if d else 0 for x in scales]
        mn = [min(63, int(x / dmin + 0.5)) if dmin else 0 for x in mins]
        q = []
        for g in range(8):
            step, low = d * sc[g], dmin * mn[g]
            q.append([max(0, min(top, int((v + low) / step + 0.5))) if step else 0 for v in groups[g]])
        body = bytearray()
        if bits == 5:
            body += bytes(sum(((q[g][l] >> 4) & 1) << g for g in range(8)) for l in range(32))
        for p in range(4):
            body += bytes((q[2 * p][l] & 15) | ((q[2 * p + 1][l] & 15) << 4) for l in range(32))
        out += struct.pack("<ee", d, dmin) + k_scales(sc, mn) + body
    return bytes(out)


def q4_k_m_type(name, layers):
    """The type llama.cpp's Q4_K_M gives a tensor (llama_tensor_get_type):
    Q6_K for the output, and for attn_v and ffn_down of the layers
    use_more_bits picks (the first and last eighth, every third between);
    Q4_K for the rest."""
    if name == "output.weight":
        return "q6_k"
    if name.endswith("attn_v.weight") or name.endswith("ffn_down.weight"):
        parts = name.split(".")
        i = int(parts[parts.index("blk") + 1])
        more = (i < layers // 8 or i >= 7 * layers // 8
                or (i - layers // 8) % 3 == 2)
        return "q6_k" if more else "q4_k"
    return "q4_k"


def q6_k_bytes(values):
    """Q6_K super-blocks of 256: 16 groups of 16, each on a symmetric grid
    (q - 32) * d * sc with q in [0, 63], sc an int8 against the super-block's
    f16 d (block_q6_K: ql, qh, scales, d)."""
    out = bytearray()
    for b in range(0, len(values), 256):
        sb = values[b:b + 256]
        amax = [max(abs(v) for v in sb[g * 16:(g + 1) * 16]) / 32 for g in range(16)]
        d = f16(max(amax) / 127)
        sc = [max(-128, min(127, int(a / d + 0.5))) if d else 0 for a in amax]
        q = []
        for g in range(16):
            step = d * sc[g]
            q += [max(0, min(63, int(math.floor(v / step + 0.5)) + 32)) if step else 32
                  for v in sb[g * 16:(g + 1) * 16]]
        ql, qh = bytearray(128), bytearray(64)
        for h in range(2):
            for seg in range(4):
                for l in range(32):
                    v = q[128 * h + 32 * seg + l]
                    at = 64 * h + l + (32 if seg % 2 else 0)
                    ql[at] |= (v & 15) << (4 if seg >= 2 else 0)
                    qh[32 * h + l] |= (v >> 4) << (2 * seg)
        out += ql + qh + struct.pack("<16b", *sc) + struct.pack("<e", d)
    return bytes(out)


def dequantize_more(blob, kind, f16_scales=False):
    """Q5_0, Q5_1, Q4_K, Q5_K and Q6_K blocks as float32 values."""
    out = []
    if kind == "q6_k":
        for b in range(0, len(blob), 210):
            block = blob[b:b + 210]
            sc = struct.unpack_from("<16b", block, 192)
            (d,) = struct.unpack_from("<e", block, 208)
            for h in range(2):
                for seg in range(4):
                    for l in range(32):
                        low = block[64 * h + l + (32 if seg % 2 else 0)]
                        low = low & 15 if seg < 2 else low >> 4
                        v = (low | (((block[128 + 32 * h + l] >> (2 * seg)) & 3) << 4)) - 32
                        d1 = f32(d * sc[(128 * h + 32 * seg + l) // 16])
                        if f16_scales:
                            d1 = f16(d1)
                        out.append(f32(d1 * v))
        return out
    if kind in ("q5_0", "q5_1"):
        size = 22 if kind == "q5_0" else 24
        for b in range(0, len(blob), size):
            block = blob[b:b + size]
            (d,) = struct.unpack_from("<e", block, 0)
            m = struct.unpack_from("<e", block, 2)[0] if kind == "q5_1" else 0.0
            at = 4 if kind == "q5_1" else 2
            (qh,) = struct.unpack_from("<I", block, at)
            qs = block[at + 4:at + 20]
            q = [(qs[j] & 15) | (((qh >> j) & 1) << 4) for j in range(16)]
            q += [(qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4) for j in range(16)]
            out += [f32(f32(d * v) + m) if kind == "q5_1" else f32(d * (v - 16)) for v in q]
        return out
    five = kind == "q5_k"
    size = 176 if five else 144
    for b in range(0, len(blob), size):
        block = blob[b:b + size]
        d, dmin = struct.unpack_from("<ee", block, 0)
        sb = block[4:16]
        qh = block[16:48]
        qs = block[48:] if five else block[16:]
        for g in range(8):
            if g < 4:
                sc, mn = sb[g] & 63, sb[g + 4] & 63
            else:
                sc = (sb[g + 4] & 15) | ((sb[g - 4] >> 6) << 4)
                mn = (sb[g + 4] >> 4) | ((sb[g] >> 6) << 4)
            d1, m1 = f32(d * sc), f32(dmin * mn)
            if f16_scales:
                d1, m1 = f16(d1), -f16(-m1)
            for l in range(32):
                v = (qs[(g // 2) * 32 + l] >> (4 * (g % 2))) & 15
                if five:
                    v |= ((qh[l] >> g) & 1) << 4
                out.append(f32(f32(d1 * v) - m1))
    return out


def block_grid(block, bits, with_min):
    """ggml's reference grid of one block of 32 at 4 or 5 bits: with_min
    (Q4_1, Q5_1) d = (max - min) / top, m = min, q = min(top, trunc((x - m)
    / d + 0.5)); else (Q4_0, Q5_0) d = -x_m / half for the x_m of largest
    magnitude, q = min(top, trunc(x / d + half + 0.5)). The block's f16 head
    (d, or d and m) and its codes."""
    top, half = (1 << bits) - 1, 1 << (bits - 1)
    if with_min:
        lo, hi = min(block), max(block)
        d = (hi - lo) / top
        inv = 1 / d if d else 0.0
        return struct.pack("<ee", d, lo), [min(top, int((v - lo) * inv + 0.5)) for v in block]
    d = max(block, key=abs) / -half
    inv = 1 / d if d else 0.0
    return struct.pack("<e", d), [min(top, int(v * inv + half + 0.5)) for v in block]


def q4_bytes(values, with_min):
    out = bytearray()
    for b in range(0, len(values), 32):
        head, q = block_grid(values[b:b + 32], 4, with_min)
        out += head + bytes(q[j] | (q[j + 16] << 4) for j in range(16))
    return bytes(out)


# ggml type numbers and quantizers of the formats written here.
QUANTIZERS = {
    "q8_0": (8, q8_0_bytes),
    "q4_0": (2, lambda v: q4_bytes(v, False)),
    "q4_1": (3, lambda v: q4_bytes(v, True)),
    "q5_0": (6, lambda v: q5_bytes(v, False)),
    "q5_1": (7, lambda v: q5_bytes(v, True)),
    "q4_k": (12, lambda v: qk_bytes(v, 4)),
    "q5_k": (13, lambda v: qk_bytes(v, 5)),
    "q6_k": (14, q6_k_bytes),
}
KQUANT_FALLBACK = {"q4_k": "q5_0", "q5_k": "q5_1", "q6_k": "q8_0"}


def s(text):
    b = text.encode()
    return struct.pack("<Q", len(b)) + b


CODES = {"u8": (0, "<B"), "u32": (4, "<I"), "i32": (5, "<i"), "f32": (6, "<f"), "bool": (7, "<?"), "str": (8, None)}


def kv(key, kind, value):
    code, fmt = CODES[kind]
    body = s(value) if kind == "str" else struct.pack(fmt, value)
    return s(key) + struct.pack("<I", code) + body


def kv_array(key, kind, values):
    code, fmt = CODES[kind]
    if kind == "str":
        body = b"".join(s(v) for v in values)
    else:
        body = struct.pack(f"<{len(values)}{fmt[1]}", *values)
    return s(key) + struct.pack("<IIQ", 9, code, len(values)) + body


def read_protobuf(data):
    """The fields of one Protobuf message: {number: [value, ...]} (varints as
    ints, length-delimited as bytes, fixed32 as 4 bytes)."""
    fields, i = {}, 0

    def varint():
        nonlocal i
        shift = value = 0
        while True:
            b = data[i]
            i += 1
            value |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return value

    while i < len(data):
        key = varint()
        number, wire = key >> 3, key & 7
        if wire == 0:
            value = varint()
        elif wire == 1:
            value, i = data[i:i + 8], i + 8
        elif wire == 2:
            n = varint()
            value, i = data[i:i + n], i + n
        elif wire == 5:
            value, i = data[i:i + 4], i + 4
        else:
            raise SystemExit(f"tokenizer.model: unexpected Protobuf wire type {wire}")
        fields.setdefault(number, []).append(value)
    return fields


def template_specials(post):
    """The special tokens a TemplateProcessing post-processor (possibly in a
    Sequence) puts before and after the single sequence."""
    if not post:
        return [], []
    if post.get("type") == "Sequence":
        for p in post["processors"]:
            before, after = template_specials(p)
            if before or after:
                return before, after
        return [], []
    if post.get("type") != "TemplateProcessing":
        return [], []
    before, after, seen = [], [], False
    for item in post["single"]:
        if "Sequence" in item:
            seen = True
        else:
            (after if seen else before).append(item["SpecialToken"]["id"])
    return before, after


LLAMA3_SPLIT = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
                "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")
QWEN2_SPLIT = LLAMA3_SPLIT.replace("\\p{N}{1,3}", "\\p{N}")


def pre_name(pre, where):
    """tokenizer.ggml.pre for a byte-level tokenizer.json's pre-tokenizer.
    (The converter hashes the ids of a test text; this reads the structure,
    which names the same pre-tokenizers for the ones LLMC knows.)"""
    parts = pre["pretokenizers"] if pre and pre.get("type") == "Sequence" else [pre]
    kinds = [p and p.get("type") for p in parts]
    if kinds == ["ByteLevel"] and parts[0].get("use_regex", True):
        return "gpt-2"
    if kinds == ["Split", "ByteLevel"] and not parts[1].get("use_regex", True):
        regex = parts[0]["pattern"].get("Regex")
        if regex == LLAMA3_SPLIT:
            return "llama-bpe"
        if regex == QWEN2_SPLIT:
            return "qwen2"
    if (kinds == ["Digits", "ByteLevel"] and parts[0].get("individual_digits")
            and parts[1].get("use_regex", True)):
        return "smollm"
    raise SystemExit(f"{where}: pre_tokenizer {json.dumps(pre)}: not one LLaMA.cpp names that this script knows")


def tokenizer_kvs(folder):
    """The tokenizer.ggml.* metadata the converter writes for the tokenizer
    of `folder`: the llama kind from tokenizer.model (SentencePiece BPE), or
    the gpt2 kind from a byte-level BPE tokenizer.json."""
    config = {}
    if os.path.exists(os.path.join(folder, "tokenizer_config.json")):
        with open(os.path.join(folder, "tokenizer_config.json")) as f:
            config = json.load(f)
    tj = None
    if os.path.exists(os.path.join(folder, "tokenizer.json")):
        with open(os.path.join(folder, "tokenizer.json"), encoding="utf-8") as f:
            tj = json.load(f)
    sp_path = os.path.join(folder, "tokenizer.model")
    if tj is None and not os.path.exists(sp_path):
        return []  # no tokenizer: the BOS/EOS ids of config.json only
    before, after = template_specials(tj.get("post_processor")) if tj else ([], [])
    add_bos = config.get("add_bos_token", bool(before))
    add_eos = config.get("add_eos_token", bool(after))
    if os.path.exists(sp_path):
        with open(sp_path, "rb") as f:
            proto = read_protobuf(f.read())
        tokens, scores, types = [], [], []
        for raw in proto.get(1, []):
            piece = read_protobuf(raw)
            tokens.append(piece[1][0].decode("utf-8"))
            scores.append(struct.unpack("<f", piece[2][0])[0] if 2 in piece else 0.0)
            types.append(piece[3][0] if 3 in piece else 1)
        trainer = read_protobuf(proto[2][0]) if 2 in proto else {}
        normalizer = read_protobuf(proto[3][0]) if 3 in proto else {}
        if trainer.get(3, [1])[0] == 1:
            return unigram_kvs(tokens, scores, types, trainer, normalizer, tj, add_bos, add_eos, config)
        if trainer.get(3, [1])[0] != 2:
            raise SystemExit(f"{sp_path}: model_type: expected BPE (2) or Unigram (1)")
        meta = [
            kv("tokenizer.ggml.model", "str", "llama"),
            kv("tokenizer.ggml.pre", "str", "default"),
            kv_array("tokenizer.ggml.tokens", "str", tokens),
            kv_array("tokenizer.ggml.scores", "f32", scores),
            kv_array("tokenizer.ggml.token_type", "i32", types),
            kv("tokenizer.ggml.bos_token_id", "u32", trainer.get(41, [1])[0]),
            kv("tokenizer.ggml.eos_token_id", "u32", trainer.get(42, [2])[0]),
            kv("tokenizer.ggml.unknown_token_id", "u32", trainer.get(40, [0])[0]),
            kv("tokenizer.ggml.add_space_prefix", "bool", bool(normalizer.get(3, [1])[0])),
        ]
    else:
        where = os.path.join(folder, "tokenizer.json")
        model = tj["model"]
        if model["type"] == "WordPiece":
            return wordpiece_kvs(tj, config, add_bos, add_eos)
        if model["type"] != "BPE" or (tj.get("decoder") or {}).get("type") != "ByteLevel":
            raise SystemExit(f"{where}: expected a byte-level BPE tokenizer (the gpt2 kind)")
        ids = dict(model["vocab"])
        special = {}
        for a in tj.get("added_tokens", []):
            ids[a["content"]] = a["id"]
            special[a["id"]] = a["special"]
        count = max(ids.values()) + 1
        tokens = [f"[PAD{i}]" for i in range(count)]
        types = [1] * count
        for token, i in ids.items():
            tokens[i] = token
            if i in special:
                types[i] = 3 if special[i] else 4
        merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
        meta = [
            kv("tokenizer.ggml.model", "str", "gpt2"),
            kv("tokenizer.ggml.pre", "str", pre_name(tj.get("pre_tokenizer"), where)),
            kv_array("tokenizer.ggml.tokens", "str", tokens),
            kv_array("tokenizer.ggml.token_type", "i32", types),
            kv_array("tokenizer.ggml.merges", "str", merges),
        ]
        for key, names in (("bos", before + [config.get("bos_token")]), ("eos", after + [config.get("eos_token")])):
            name = next((n for n in names if isinstance(n, str) and n in ids), None)
            if name is not None:
                meta.append(kv(f"tokenizer.ggml.{key}_token_id", "u32", ids[name]))
    meta.append(kv("tokenizer.ggml.add_bos_token", "bool", add_bos))
    meta.append(kv("tokenizer.ggml.add_eos_token", "bool", add_eos))
    return meta


def wordpiece_kvs(tj, config, add_bos, add_eos):
    """The bert kind, as the converter's BertModel.set_vocab writes it: the
    vocabulary in "phantom space" form (control tokens as they are, "##x" as
    "x", any other token t as "\u2581t"), special added tokens as control,
    [CLS] as BOS and [SEP] as EOS, and the BertNormalizer's lowercase and
    strip_accents flags."""
    ids = dict(tj["model"]["vocab"])
    special = {}
    for a in tj.get("added_tokens", []):
        ids[a["content"]] = a["id"]
        special[a["id"]] = a["special"]
    count = max(ids.values()) + 1
    tokens, types = [f"[PAD{i}]" for i in range(count)], [5] * count
    for token, i in ids.items():
        tokens[i], types[i] = token, 3 if special.get(i) else (4 if i in special else 1)
    tokens = [t if ty == 3 else t[2:] if t.startswith("##") else "\u2581" + t for t, ty in zip(tokens, types)]
    meta = [
        kv("tokenizer.ggml.model", "str", "bert"),
        kv("tokenizer.ggml.pre", "str", "default"),
        kv_array("tokenizer.ggml.tokens", "str", tokens),
        kv_array("tokenizer.ggml.token_type", "i32", types),
    ]
    for key, name in (("bos", "cls_token"), ("eos", "sep_token"), ("unknown", "unk_token"),
                      ("seperator", "sep_token"), ("padding", "pad_token"), ("mask", "mask_token")):
        token = config.get(name) or {"cls_token": "[CLS]", "sep_token": "[SEP]", "unk_token": "[UNK]",
                                     "pad_token": "[PAD]", "mask_token": "[MASK]"}[name]
        if token in ids:
            meta.append(kv(f"tokenizer.ggml.{key}_token_id", "u32", ids[token]))
    norm = tj.get("normalizer") or {}
    if norm.get("type") == "BertNormalizer":
        meta.append(kv("tokenizer.ggml.normalizer.lowercase", "bool", bool(norm.get("lowercase", True))))
        if norm.get("strip_accents") is not None:
            meta.append(kv("tokenizer.ggml.normalizer.strip_accents", "bool", bool(norm["strip_accents"])))
    meta.append(kv("tokenizer.ggml.add_bos_token", "bool", add_bos))
    meta.append(kv("tokenizer.ggml.add_eos_token", "bool", add_eos))
    return meta


def unigram_kvs(tokens, scores, types, trainer, normalizer, tj, add_bos, add_eos, config):
    """The t5 kind, as the converter's T5Model.set_vocab writes it from a
    Unigram tokenizer.model: pieces, scores and types, the added tokens past
    the pieces (T5's sentinels; the converter reads them from
    added_tokens.json, this from tokenizer.json's added_tokens) as
    user-defined with score -1000, the precompiled charsmap (an array of
    UINT8), add_space_prefix, remove_extra_whitespaces, and EOS appended."""
    tokens, scores, types = list(tokens), list(scores), list(types)
    for a in (tj or {}).get("added_tokens", []):
        if a["id"] >= len(tokens):
            while len(tokens) <= a["id"]:
                tokens.append(f"[PAD{len(tokens)}]"), scores.append(-10000.0), types.append(5)
            tokens[a["id"]], scores[a["id"]], types[a["id"]] = a["content"], -1000.0, 4
    meta = [
        kv("tokenizer.ggml.model", "str", "t5"),
        kv("tokenizer.ggml.pre", "str", "default"),
        kv_array("tokenizer.ggml.tokens", "str", tokens),
        kv_array("tokenizer.ggml.scores", "f32", scores),
        kv_array("tokenizer.ggml.token_type", "i32", types),
        kv("tokenizer.ggml.add_space_prefix", "bool", bool(normalizer.get(3, [1])[0])),
        kv("tokenizer.ggml.remove_extra_whitespaces", "bool", bool(normalizer.get(4, [1])[0])),
    ]
    if normalizer.get(2, [b""])[0]:
        meta.append(kv_array("tokenizer.ggml.precompiled_charsmap", "u8", list(normalizer[2][0])))
    for key, field in (("unknown", 40), ("bos", 41), ("eos", 42), ("padding", 43)):
        value = trainer.get(field, [{40: 0, 41: 1, 42: 2, 43: -1}[field]])[0]
        if value >= 1 << 63:
            value -= 1 << 64  # a negative varint: no such token
        if value >= 0:
            meta.append(kv(f"tokenizer.ggml.{key}_token_id", "u32", value))
    if tj is None:
        add_bos, add_eos = config.get("add_bos_token", False), config.get("add_eos_token", True)
    meta.append(kv("tokenizer.ggml.add_bos_token", "bool", add_bos))
    meta.append(kv("tokenizer.ggml.add_eos_token", "bool", add_eos))
    return meta


def gpt2_tensors(tensors):
    """GPT-2's tensors as llama.cpp's GPT2Model converter writes them: GGUF
    names, the Conv1D weights (c_attn, c_proj, c_fc, stored [in, out])
    transposed to [out, in], and the output a copy of the embedding."""
    out = {}
    names = {"wte.weight": "token_embd.weight", "wpe.weight": "position_embd.weight",
             "ln_f.weight": "output_norm.weight", "ln_f.bias": "output_norm.bias"}
    layer = {"ln_1": "attn_norm", "attn.c_attn": "attn_qkv", "attn.c_proj": "attn_output",
             "ln_2": "ffn_norm", "mlp.c_fc": "ffn_up", "mlp.c_proj": "ffn_down"}
    for name, (shape, values) in tensors.items():
        name = name.removeprefix("transformer.")
        if name.endswith((".attn.bias", ".attn.masked_bias")):
            continue
        if name in names:
            out[names[name]] = (shape, values)
            continue
        parts = name.split(".")
        new = f"blk.{parts[1]}.{layer['.'.join(parts[2:-1])]}.{parts[-1]}"
        if parts[-1] == "weight" and len(shape) == 2 and not parts[2].startswith("ln"):
            rows, cols = shape
            values = [values[r * cols + c] for c in range(cols) for r in range(rows)]
            shape = [cols, rows]
        out[new] = (shape, values)
    out["output.weight"] = out["token_embd.weight"]
    return out


def bloom_tensors(tensors, config):
    """BLOOM's tensors as llama.cpp's BloomModel converter writes them: GGUF
    names, the fused QKV rows regrouped from [head, {q, k, v}, head_dim] to
    [{q, k, v}, head, head_dim], and the output a copy of the embedding."""
    hidden = config.get("hidden_size") or config["n_embed"]
    heads = config["n_head"]
    hd = hidden // heads
    out = {}
    names = {"word_embeddings.weight": "token_embd.weight",
             "word_embeddings_layernorm.weight": "token_embd_norm.weight",
             "word_embeddings_layernorm.bias": "token_embd_norm.bias",
             "ln_f.weight": "output_norm.weight", "ln_f.bias": "output_norm.bias"}
    layer = {"input_layernorm": "attn_norm", "self_attention.query_key_value": "attn_qkv",
             "self_attention.dense": "attn_output", "post_attention_layernorm": "ffn_norm",
             "mlp.dense_h_to_4h": "ffn_up", "mlp.dense_4h_to_h": "ffn_down"}
    for name, (shape, values) in tensors.items():
        name = name.removeprefix("transformer.")
        if name in names:
            out[names[name]] = (shape, values)
            continue
        parts = name.split(".")
        new = f"blk.{parts[1]}.{layer['.'.join(parts[2:-1])]}.{parts[-1]}"
        if parts[2:-1] == ["self_attention", "query_key_value"]:
            cols = shape[1] if len(shape) == 2 else 1
            rows = [values[r * cols:(r + 1) * cols] for r in range(3 * hidden)]
            order = [h * 3 * hd + part * hd + i for part in range(3) for h in range(heads) for i in range(hd)]
            values = [v for r in order for v in rows[r]]
        out[new] = (shape, values)
    out["output.weight"] = out["token_embd.weight"]
    return out


def bert_tensors(tensors):
    """BERT's tensors as llama.cpp's BertModel converter writes them: GGUF
    names; the pooler, position_ids and the pre-training heads (cls.*)
    dropped."""
    names = {"embeddings.word_embeddings": "token_embd", "embeddings.token_type_embeddings": "token_types",
             "embeddings.position_embeddings": "position_embd", "embeddings.LayerNorm": "token_embd_norm"}
    layer = {"attention.self.query": "attn_q", "attention.self.key": "attn_k", "attention.self.value": "attn_v",
             "attention.output.dense": "attn_output", "attention.output.LayerNorm": "attn_output_norm",
             "intermediate.dense": "ffn_up", "output.dense": "ffn_down", "output.LayerNorm": "layer_output_norm"}
    out = {}
    for name, (shape, values) in tensors.items():
        name = name.removeprefix("bert.").replace(".gamma", ".weight").replace(".beta", ".bias")
        if name.startswith(("pooler.", "cls.")) or name == "embeddings.position_ids":
            continue
        stem, kind = name.rsplit(".", 1)
        if stem in names:
            out[f"{names[stem]}.{kind}"] = (shape, values)
            continue
        parts = stem.split(".")
        out[f"blk.{parts[2]}.{layer['.'.join(parts[3:])]}.{kind}"] = (shape, values)
    return out


def bert_meta(config, folder):
    meta = [
        kv("general.architecture", "str", "bert"),
        kv("bert.block_count", "u32", config["num_hidden_layers"]),
        kv("bert.context_length", "u32", config["max_position_embeddings"]),
        kv("bert.embedding_length", "u32", config["hidden_size"]),
        kv("bert.feed_forward_length", "u32", config["intermediate_size"]),
        kv("bert.attention.head_count", "u32", config["num_attention_heads"]),
        kv("bert.attention.layer_norm_epsilon", "f32", config["layer_norm_eps"]),
        kv("bert.attention.causal", "bool", False),
        kv("tokenizer.ggml.token_type_count", "u32", config.get("type_vocab_size", 1)),
    ]
    # TextModel._try_set_pooling_type: sentence-transformers' pooling module.
    modules = os.path.join(folder, "modules.json")
    if os.path.exists(modules):
        with open(modules) as f:
            pooling = next((m["path"] for m in json.load(f) if m["type"].endswith("Pooling")), None)
        if pooling is not None:
            with open(os.path.join(folder, pooling, "config.json")) as f:
                p = json.load(f)
            kind = (1 if p.get("pooling_mode_mean_tokens") else 2 if p.get("pooling_mode_cls_token")
                    else 3 if p.get("pooling_mode_lasttoken") else None)
            if kind is not None:
                meta.append(kv("bert.pooling_type", "u32", kind))
    return meta


def t5_tensors(tensors):
    """T5's tensors as llama.cpp's T5Model converter writes them: the shared
    embedding as token_embd, enc.blk.N.* / dec.blk.N.* names (attention
    output attn_o, the relative bias attn_rel_b; gated wi_0/wi_1 as
    ffn_gate/ffn_up), lm_head as output when the model has one."""
    attention = {"q": "q", "k": "k", "v": "v", "o": "o", "relative_attention_bias": "rel_b"}
    ffn = {"wi": "ffn_up", "wi_0": "ffn_gate", "wi_1": "ffn_up", "wo": "ffn_down"}
    out = {}
    for name, (shape, values) in tensors.items():
        if name in ("shared.weight", "encoder.embed_tokens.weight", "decoder.embed_tokens.weight"):
            out.setdefault("token_embd.weight", (shape, values))
            continue
        if name == "lm_head.weight":
            out["output.weight"] = (shape, values)
            continue
        if name.endswith("final_layer_norm.weight"):
            out[f"{name[:3]}.output_norm.weight"] = (shape, values)
            continue
        p = name.split(".")  # encoder.block.N.layer.L.<module>.<param>.weight
        side, block, sub = p[0][:3], p[2], int(p[4])
        if p[5] == "layer_norm":
            part = ("attn_norm" if sub == 0 else "cross_attn_norm" if side == "dec" and sub == 1
                    else "ffn_norm")
        elif p[5] == "SelfAttention":
            part = "attn_" + attention[p[6]]
        elif p[5] == "EncDecAttention":
            part = "cross_attn_" + attention[p[6]]
        else:
            part = ffn[p[6]]
        out[f"{side}.blk.{block}.{part}.weight"] = (shape, values)
    return out


def t5_meta(config):
    eps = config.get("layer_norm_epsilon", 1e-6)
    meta = [
        kv("general.architecture", "str", "t5"),
        kv("t5.context_length", "u32", config.get("n_positions", 512)),
        kv("t5.embedding_length", "u32", config["d_model"]),
        kv("t5.feed_forward_length", "u32", config["d_ff"]),
        kv("t5.block_count", "u32", config["num_layers"]),
        *([kv("t5.decoder_block_count", "u32", config["num_decoder_layers"])]
          if "num_decoder_layers" in config else []),
        kv("t5.attention.head_count", "u32", config["num_heads"]),
        kv("t5.attention.key_length", "u32", config["d_kv"]),
        kv("t5.attention.value_length", "u32", config["d_kv"]),
        kv("t5.attention.layer_norm_epsilon", "f32", eps),
        kv("t5.attention.layer_norm_rms_epsilon", "f32", eps),
        kv("t5.attention.relative_buckets_count", "u32", config.get("relative_attention_num_buckets", 32)),
        kv("t5.decoder_start_token_id", "u32", config.get("decoder_start_token_id", 0)),
    ]
    if config.get("relative_attention_max_distance", 128) != 128:
        import sys
        print(f"warning: relative_attention_max_distance {config['relative_attention_max_distance']}: GGUF "
              "has no key for it; readers use 128", file=sys.stderr)
    return meta


def bloom_meta(config):
    hidden = config.get("hidden_size") or config["n_embed"]
    return [
        kv("general.architecture", "str", "bloom"),
        kv("bloom.context_length", "u32", config.get("seq_length") or hidden),
        kv("bloom.embedding_length", "u32", hidden),
        kv("bloom.feed_forward_length", "u32", 4 * hidden),
        kv("bloom.block_count", "u32", config["n_layer"]),
        kv("bloom.attention.head_count", "u32", config["n_head"]),
        kv("bloom.attention.head_count_kv", "u32", config["n_head"]),
        kv("bloom.attention.layer_norm_epsilon", "f32", config["layer_norm_epsilon"]),
    ]


def gpt2_meta(config):
    hidden = config["n_embd"]
    return [
        kv("general.architecture", "str", "gpt2"),
        kv("gpt2.block_count", "u32", config["n_layer"]),
        kv("gpt2.context_length", "u32", config["n_positions"]),
        kv("gpt2.embedding_length", "u32", hidden),
        kv("gpt2.feed_forward_length", "u32", config.get("n_inner") or 4 * hidden),
        kv("gpt2.attention.head_count", "u32", config["n_head"]),
        kv("gpt2.attention.layer_norm_epsilon", "f32", config["layer_norm_epsilon"]),
    ]


def write(path, config, tensors, kind, arch="llama", tokenizer=(), folder=""):
    if arch == "bert":
        write_tensors(path, config, bert_tensors(tensors), kind, arch, bert_meta(config, folder), tokenizer,
                      lambda n: n)
        return
    if arch == "t5":
        write_tensors(path, config, t5_tensors(tensors), kind, arch, t5_meta(config), tokenizer, lambda n: n)
        return
    if arch == "gpt2":
        write_tensors(path, config, gpt2_tensors(tensors), kind, arch, gpt2_meta(config), tokenizer,
                      lambda n: n)
        return
    if arch == "bloom":
        write_tensors(path, config, bloom_tensors(tensors, config), kind, arch, bloom_meta(config),
                      tokenizer, lambda n: n)
        return
    heads, kv_heads = config["num_attention_heads"], config["num_key_value_heads"]
    head_dim = config.get("head_dim") or config["hidden_size"] // heads
    meta = [
        kv("general.architecture", "str", arch),
        kv(f"{arch}.block_count", "u32", config["num_hidden_layers"]),
        kv(f"{arch}.context_length", "u32", config["max_position_embeddings"]),
        kv(f"{arch}.embedding_length", "u32", config["hidden_size"]),
        kv(f"{arch}.feed_forward_length", "u32", config["intermediate_size"]),
        kv(f"{arch}.attention.head_count", "u32", heads),
        kv(f"{arch}.attention.head_count_kv", "u32", kv_heads),
        kv(f"{arch}.attention.layer_norm_rms_epsilon", "f32", config["rms_norm_eps"]),
        kv(f"{arch}.rope.freq_base", "f32", config["rope_parameters"]["rope_theta"]),
        kv(f"{arch}.rope.dimension_count", "u32", head_dim),
        # TextModel.set_gguf_parameters: an explicit head_dim.
        *([kv(f"{arch}.attention.key_length", "u32", config["head_dim"]),
           kv(f"{arch}.attention.value_length", "u32", config["head_dim"])]
          if config.get("head_dim") else []),
        kv(f"{arch}.vocab_size", "u32", config["vocab_size"]),
        *([kv(f"{arch}.attention.sliding_window", "u32", config["sliding_window"])]
          if config.get("sliding_window") else []),
    ]
    rope = config.get("rope_parameters") or config.get("rope_scaling") or {}
    kind_of_rope = rope.get("rope_type", rope.get("type", "default"))
    if kind_of_rope in ("linear", "yarn"):
        meta += [kv(f"{arch}.rope.scaling.type", "str", kind_of_rope),
                 kv(f"{arch}.rope.scaling.factor", "f32", rope["factor"])]
    if kind_of_rope == "yarn":
        meta.append(kv(f"{arch}.rope.scaling.original_context_length", "u32",
                       rope["original_max_position_embeddings"]))
        for key, field in (("yarn_beta_fast", "beta_fast"), ("yarn_beta_slow", "beta_slow")):
            if field in rope:
                meta.append(kv(f"{arch}.rope.scaling.{key}", "f32", rope[field]))
    tensors = dict(tensors)
    if config.get("num_local_experts"):
        # The converter stacks each layer's experts: [experts, rows, cols].
        experts = config["num_local_experts"]
        meta += [kv(f"{arch}.expert_count", "u32", experts),
                 kv(f"{arch}.expert_used_count", "u32", config["num_experts_per_tok"])]
        for i in range(config["num_hidden_layers"]):
            for w in ("w1", "w2", "w3"):
                names = [f"model.layers.{i}.block_sparse_moe.experts.{e}.{w}.weight" for e in range(experts)]
                shape = tensors[names[0]][0]
                values = [v for n in names for v in tensors.pop(n)[1]]
                tensors[f"model.layers.{i}.block_sparse_moe.stacked_{w}"] = ([experts] + shape, values)
    if kind_of_rope == "llama3":
        # LlamaModel.generate_extra_tensors: the divisors of each frequency.
        base = rope.get("rope_theta", 10000.0)
        factor, low, high = rope["factor"], rope["low_freq_factor"], rope["high_freq_factor"]
        old = rope["original_max_position_embeddings"]
        factors = []
        for i in range(0, head_dim, 2):
            wavelen = 2 * math.pi / (1.0 / base ** (i / head_dim))
            if wavelen < old / high:
                factors.append(1.0)
            elif wavelen > old / low:
                factors.append(factor)
            else:
                smooth = (old / wavelen - low) / (high - low)
                factors.append(1 / ((1 - smooth) / factor + smooth))
        tensors["rope_freqs.weight"] = ([len(factors)], factors)
    permuted = {}
    for name, (shape, values) in tensors.items():
        if arch == "llama" and name.endswith("q_proj.weight"):
            values = permute(values, shape, heads)
        elif arch == "llama" and name.endswith("k_proj.weight"):
            values = permute(values, shape, kv_heads)
        permuted[name] = (shape, values)
    write_tensors(path, config, permuted, kind, arch, meta, tokenizer, gguf_name)


def write_tensors(path, config, tensors, kind, arch, meta, tokenizer, gguf_name):
    if not tokenizer:
        meta += [kv(f"tokenizer.ggml.{key}_token_id", "u32", config[f"{key}_token_id"])
                 for key in ("bos", "eos") if config.get(f"{key}_token_id") is not None]
    meta += list(tokenizer)
    layers = config.get("num_hidden_layers") or config.get("n_layer") or config.get("num_layers")
    infos, blobs, offset = [], [], 0
    for name in sorted(tensors):
        shape, values = tensors[name]
        reference = kind.endswith("-ref") or kind.endswith("-f16ref")
        quant = kind.split("-")[0]
        if quant == "q4_k_m":
            quant = q4_k_m_type(gguf_name(name), layers)
        if quant in KQUANT_FALLBACK and shape[-1] % 256:
            # As llama.cpp's quantizer: rows that no super-block of 256
            # divides take a 32-value format instead.
            quant = KQUANT_FALLBACK[quant]
        if quant in QUANTIZERS and shape[-1] % 32:
            # Rows no block divides: F16, as the converter falls back.
            quant = "f16"
        if quant == "f16" and len(shape) >= 2 and kind not in ("f16", "f32"):
            if reference:
                values = [f16(v) for v in values]
            else:
                blob, ggml_type = f16_bytes(values), 1
        elif reference and len(shape) >= 2:
            packed = QUANTIZERS[quant][1](values)
            # -f16ref: K-quant scales as the kernels hold them, in f16 (the
            # embedding is dequantized at load, exactly).
            f16_scales = kind.endswith("-f16ref") and gguf_name(name) != "token_embd.weight"
            values = dequantize(packed, quant, len(values), f16_scales)
        if quant == "f16" and len(shape) >= 2 and kind not in ("f16", "f32") and not reference:
            pass  # written above
        elif len(shape) == 1 or kind == "f32" or reference:
            blob, ggml_type = struct.pack(f"<{len(values)}f", *values), 0
        elif kind == "f16":
            blob, ggml_type = f16_bytes(values), 1
        elif kind == "bf16":
            blob, ggml_type = bf16_bytes(values), 30
        else:
            ggml_type, quantize = QUANTIZERS[quant]
            blob = quantize(values)
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


def convert(args):
    """`convert MODEL OUT.gguf [--type T]`: a llama/mistral/qwen2 folder and
    its tokenizer; `tokenizer FOLDER OUT.gguf`: the tokenizer alone (no
    tensors)."""
    if args[0] == "tokenizer":
        meta = tokenizer_kvs(args[1])
        head = b"GGUF" + struct.pack("<IQQ", 3, 0, len(meta)) + b"".join(meta)
        with open(args[2], "wb") as f:
            f.write(head)
        return
    folder, out = args[1], args[2]
    kind = args[args.index("--type") + 1] if "--type" in args else "f32"
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    arch = {"llama": "llama", "mistral": "llama", "mixtral": "llama", "qwen2": "qwen2",
            "gpt2": "gpt2", "bloom": "bloom", "bert": "bert", "t5": "t5"}.get(config["model_type"])
    if arch is None:
        raise SystemExit(f"{folder}/config.json: model_type {config['model_type']!r}: expected llama, mistral, "
                         "mixtral, qwen2, gpt2, bloom, bert or t5")
    write(out, config, read_safetensors(os.path.join(folder, "model.safetensors")), kind, arch,
          tokenizer_kvs(folder), folder)


def main():
    import sys
    if len(sys.argv) > 1:
        convert(sys.argv[1:])
        return
    with open(os.path.join(SOURCE, "config.json")) as f:
        config = json.load(f)
    tensors = read_safetensors(os.path.join(SOURCE, "model.safetensors"))
    os.makedirs(OUT, exist_ok=True)
    for kind in ("f32", "f16", "q8_0", "q4_0", "q4_1", "q8_0-ref", "q4_0-ref",
                 "q4_1-ref"):
        path = os.path.join(OUT, f"llama-{kind}.gguf")
        write(path, config, tensors, kind)
        print(path, os.path.getsize(path), "bytes")
    with open(os.path.join(MQA, "config.json")) as f:
        config = json.load(f)
    path = os.path.join(OUT, "llama_mqa_tied-f32.gguf")
    write(path, config, read_safetensors(os.path.join(MQA, "model.safetensors")), "f32")
    print(path, os.path.getsize(path), "bytes")
    with open(os.path.join(MISTRAL, "config.json")) as f:
        config = json.load(f)
    path = os.path.join(OUT, "mistral-f32.gguf")
    write(path, config, read_safetensors(os.path.join(MISTRAL, "model.safetensors")), "f32")
    print(path, os.path.getsize(path), "bytes")
    with open(os.path.join(QWEN2, "config.json")) as f:
        config = json.load(f)
    path = os.path.join(OUT, "qwen2-f32.gguf")
    write(path, config, read_safetensors(os.path.join(QWEN2, "model.safetensors")), "f32", "qwen2")
    print(path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
