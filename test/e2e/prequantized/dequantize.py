#!/usr/bin/env python3
"""Writes the float checkpoint a GPTQ or AWQ checkpoint stands for.

  dequantize.py QUANTIZED_DIR OUT_DIR

Reads QUANTIZED_DIR (config.json with a quantization_config of
quant_method gptq, checkpoint_format gptq or gptq_v2, or awq version gemm;
model.safetensors) and writes OUT_DIR with every packed projection
(NAME.qweight, .qzeros, .scales, .g_idx) replaced by NAME.weight in F32,
w[out, in] = scale[g_idx[in], out] * (q[in, out] - zero[g_idx[in], out]),
the other tensors as they are, and config.json without the
quantization_config: the reference LLMC's reading of the packed integers
is compared with. Pure Python (lit's own Python will do).
"""

import json
import os
import shutil
import struct
import sys

AWQ_NIBBLE = (0, 4, 1, 5, 2, 6, 3, 7)  # output column c of a word -> nibble


def read(path):
    codes = {"F32": ("f", 4), "F16": ("e", 2), "I32": ("i", 4)}
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack_from("<Q", data, 0)
    header = json.loads(data[8:8 + n])
    tensors = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        code, size = codes[t["dtype"]]
        begin, end = t["data_offsets"]
        values = struct.unpack_from(f"<{(end - begin) // size}{code}", data, 8 + n + begin)
        tensors[name] = (t["shape"], list(values))
    return tensors


def write(path, tensors):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        shape, values = tensors[name]
        blob = struct.pack(f"<{len(values)}f", *values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def main():
    src, dst = sys.argv[1], sys.argv[2]
    with open(os.path.join(src, "config.json")) as f:
        config = json.load(f)
    quant = config.pop("quantization_config")
    method, bits = quant["quant_method"], quant["bits"]
    awq = method == "awq"
    minus_one = not awq and quant.get("checkpoint_format", "gptq") == "gptq"
    per, mask = 32 // bits, (1 << bits) - 1
    tensors = read(os.path.join(src, "model.safetensors"))
    out = {}
    for name, (shape, values) in tensors.items():
        if name.endswith((".qzeros", ".scales", ".g_idx")):
            continue
        if not name.endswith(".qweight"):
            out[name] = (shape, values)
            continue
        stem = name[:-len(".qweight")]
        zshape, qzeros = tensors[stem + ".qzeros"]
        sshape, scales = tensors[stem + ".scales"]
        groups, n = sshape
        k = shape[0] if awq else shape[0] * per
        g_idx = tensors[stem + ".g_idx"][1] if stem + ".g_idx" in tensors else [i // (k // groups) for i in range(k)]

        def zero(g, j):
            word = qzeros[g * (n // per) + j // per] & 0xFFFFFFFF
            z = (word >> (bits * (AWQ_NIBBLE[j % 8] if awq else j % per))) & mask
            return (z + 1) & mask if minus_one else z

        w = [0.0] * (n * k)
        for i in range(k):
            g = g_idx[i]
            for j in range(n):
                if awq:
                    word = values[i * (n // 8) + j // 8] & 0xFFFFFFFF
                    q = (word >> (4 * AWQ_NIBBLE[j % 8])) & 15
                else:
                    word = values[(i // per) * n + j] & 0xFFFFFFFF
                    q = (word >> (bits * (i % per))) & mask
                w[j * k + i] = scales[g * n + j] * (q - zero(g, j))
        out[stem + ".weight"] = ([n, k], w)
    os.makedirs(dst, exist_ok=True)
    write(os.path.join(dst, "model.safetensors"), out)
    with open(os.path.join(dst, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    for extra in ("generation_config.json",):
        if os.path.exists(os.path.join(src, extra)):
            shutil.copy(os.path.join(src, extra), os.path.join(dst, extra))


if __name__ == "__main__":
    main()
