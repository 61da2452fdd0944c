#!/usr/bin/env python3
"""Writes the pre-quantized checkpoint fixtures of test/e2e/ from llama_gqa.

Each is test/e2e/llama_gqa (a tiny LLaMA with grouped-query attention and
biases, whose float weights transformers' references were computed from)
with every projection quantized to nearest per group of 32 input features
with a zero point (as GPTQ and AWQ store them: w = scale * (q - zero), the
scale an f16 value) and packed as the library that made it would:

  llama_gptq    AutoGPTQ's format (quant_method "gptq", checkpoint_format
                "gptq"), 4 bits: qweight int32 [in / 8, out] (input feature
                i of a word in bits 4 (i % 8)), qzeros int32 [groups, out / 8]
                holding zero - 1, scales f16 [groups, out], g_idx int32 [in]
  llama_gptq8   GPTQModel's "gptq_v2" format, 8 bits: qweight [in / 4, out],
                qzeros [groups, out / 4] holding the zero points as they are
  llama_gptq_actorder
                AutoGPTQ's format with act-order (desc_act): the groups are
                sets of input features in a shuffled order (g_idx[i] =
                position of feature i in the order / 32), as GPTQ makes when
                it quantizes the features by decreasing Hessian diagonal
  llama_awq     AutoAWQ's GEMM format (quant_method "awq", version "gemm"),
                4 bits: qweight int32 [in, out / 8] and qzeros
                [groups, out / 8] with the 8 output columns of a word in the
                nibble order 0, 2, 4, 6, 1, 3, 5, 7, scales f16 [groups, out]

written from the formats as those libraries document and implement them
(the libraries themselves need CUDA builds). The embedding, norms, biases
and LM head stay as they are. test/e2e/prequantized/dequantize.py
reconstructs the float weights (w = scale * (q - zero)) for the reference
the tests compare LLMC's logits with.

Pure Python (no numpy): run as
  python3 scripts/make_prequantized_fixtures.py
Re-running gives the same bytes.
"""

import json
import os
import random
import shutil
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
E2E = os.path.join(ROOT, "test", "e2e")
SOURCE = os.path.join(E2E, "llama_gqa")
GROUP = 32
PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
AWQ_ORDER = (0, 2, 4, 6, 1, 3, 5, 7)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack_from("<Q", data, 0)
    header = json.loads(data[8:8 + n])
    tensors = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        assert t["dtype"] == "F32", (name, t["dtype"])
        begin, end = t["data_offsets"]
        raw = data[8 + n + begin:8 + n + end]
        tensors[name] = ("F32", t["shape"], list(struct.unpack(f"<{len(raw) // 4}f", raw)))
    return tensors


def write_safetensors(path, tensors):
    codes = {"F32": "f", "F16": "e", "I32": "i"}
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        dtype, shape, values = tensors[name]
        blob = struct.pack(f"<{len(values)}{codes[dtype]}", *values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def f16(x):
    return struct.unpack("<e", struct.pack("<e", x))[0]


def quantize(w, out, inp, bits, g_idx):
    """Per row and group (the features i of one g_idx[i]): (codes [out][in],
    scales [groups][out], zeros [groups][out]), AutoGPTQ's asymmetric
    quantizer with the scale rounded to f16 first."""
    maxq = (1 << bits) - 1
    groups = inp // GROUP
    members = [[i for i in range(inp) if g_idx[i] == g] for g in range(groups)]
    codes = [[0] * inp for _ in range(out)]
    scales = [[0.0] * out for _ in range(groups)]
    zeros = [[0] * out for _ in range(groups)]
    for j in range(out):
        row = w[j * inp:(j + 1) * inp]
        for g in range(groups):
            part = [row[i] for i in members[g]]
            lo, hi = min(0.0, min(part)), max(0.0, max(part))
            scale = f16((hi - lo) / maxq) if hi > lo else 1.0
            zero = min(maxq, max(0, round(-lo / scale)))
            scales[g][j], zeros[g][j] = scale, zero
            for i in members[g]:
                codes[j][i] = min(maxq, max(0, round(row[i] / scale) + zero))
    return codes, scales, zeros


def group_index(inp, act_order, key):
    """g_idx: consecutive groups, or with act-order those of a shuffled
    order of the features (seeded by the tensor's name)."""
    if not act_order:
        return [i // GROUP for i in range(inp)]
    order = list(range(inp))
    random.Random(key).shuffle(order)
    position = [0] * inp
    for p, i in enumerate(order):
        position[i] = p
    return [position[i] // GROUP for i in range(inp)]


def signed(word):
    return word - (1 << 32) if word >= 1 << 31 else word


def pack_gptq(codes, scales, zeros, out, inp, bits, minus_one, g_idx):
    per = 32 // bits
    mask = (1 << bits) - 1
    qweight = [0] * (inp // per * out)
    for i in range(inp):
        for j in range(out):
            qweight[(i // per) * out + j] |= codes[j][i] << (bits * (i % per))
    groups = len(scales)
    qzeros = [0] * (groups * out // per)
    for g in range(groups):
        for j in range(out):
            z = (zeros[g][j] - 1) & mask if minus_one else zeros[g][j]
            qzeros[g * (out // per) + j // per] |= z << (bits * (j % per))
    return {
        "qweight": ("I32", [inp // per, out], [signed(v) for v in qweight]),
        "qzeros": ("I32", [groups, out // per], [signed(v) for v in qzeros]),
        "scales": ("F16", [groups, out], [s for r in scales for s in r]),
        "g_idx": ("I32", [inp], g_idx),
    }


def pack_awq(codes, scales, zeros, out, inp):
    qweight = [0] * (inp * out // 8)
    for i in range(inp):
        for c in range(out // 8):
            for p in range(8):
                qweight[i * (out // 8) + c] |= codes[c * 8 + AWQ_ORDER[p]][i] << (4 * p)
    groups = len(scales)
    qzeros = [0] * (groups * out // 8)
    for g in range(groups):
        for c in range(out // 8):
            for p in range(8):
                qzeros[g * (out // 8) + c] |= zeros[g][c * 8 + AWQ_ORDER[p]] << (4 * p)
    return {
        "qweight": ("I32", [inp, out // 8], [signed(v) for v in qweight]),
        "qzeros": ("I32", [groups, out // 8], [signed(v) for v in qzeros]),
        "scales": ("F16", [groups, out], [s for r in scales for s in r]),
    }


FIXTURES = {
    "llama_gptq": ({"quant_method": "gptq", "bits": 4, "group_size": GROUP, "desc_act": False,
                    "sym": False, "checkpoint_format": "gptq"}, 4),
    "llama_gptq8": ({"quant_method": "gptq", "bits": 8, "group_size": GROUP, "desc_act": False,
                     "sym": False, "checkpoint_format": "gptq_v2"}, 8),
    "llama_awq": ({"quant_method": "awq", "bits": 4, "group_size": GROUP, "zero_point": True,
                   "version": "gemm"}, 4),
    "llama_gptq_actorder": ({"quant_method": "gptq", "bits": 4, "group_size": GROUP,
                             "desc_act": True, "sym": False, "checkpoint_format": "gptq"}, 4),
}


def main():
    source = read_safetensors(os.path.join(SOURCE, "model.safetensors"))
    with open(os.path.join(SOURCE, "config.json")) as f:
        config = json.load(f)
    for name, (quant, bits) in FIXTURES.items():
        tensors = {}
        for key, (dtype, shape, values) in source.items():
            stem = key[:-len(".weight")]
            if key.endswith(".weight") and stem.rsplit(".", 1)[-1] in PROJECTIONS:
                out, inp = shape
                g_idx = group_index(inp, quant.get("desc_act", False), key)
                codes, scales, zeros = quantize(values, out, inp, bits, g_idx)
                if quant["quant_method"] == "awq":
                    packed = pack_awq(codes, scales, zeros, out, inp)
                else:
                    packed = pack_gptq(codes, scales, zeros, out, inp, bits,
                                       quant["checkpoint_format"] == "gptq", g_idx)
                for suffix, tensor in packed.items():
                    tensors[f"{stem}.{suffix}"] = tensor
            else:
                tensors[key] = (dtype, shape, values)
        folder = os.path.join(E2E, name)
        os.makedirs(folder, exist_ok=True)
        write_safetensors(os.path.join(folder, "model.safetensors"), tensors)
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(dict(config, quantization_config=quant), f, indent=2)
            f.write("\n")
        for extra in ("generation_config.json", "input_ids.txt"):
            shutil.copy(os.path.join(SOURCE, extra), os.path.join(folder, extra))
        print(name, os.path.getsize(os.path.join(folder, "model.safetensors")), "bytes")


if __name__ == "__main__":
    main()
