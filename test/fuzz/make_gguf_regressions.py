#!/usr/bin/env python3
"""Writes test/fuzz/corpus/gguf (valid seeds) and test/fuzz/regressions/gguf
(one file per class of bug found in GGUF parsers' history, llama.cpp's
gguf.cpp and others), which replay.test runs through gguf-replay.

Each regression names its bug class:
  count-overflow        tensor and metadata counts near 2^64
  huge-string-length    a key or string value claiming 2^63 bytes
  huge-array-count      an array of 2^61 uint32 in a small file
  value-count-bomb      4M+1 one-byte values (each would be held as a
                        GGUFValue: gigabytes from a few megabytes)
  nested-array-bomb     arrays nested 1000 deep
  n-dims-overflow       a tensor with 2^32 - 1 dims
  dims-product-overflow dims whose product (and byte count) overflows
  zero-dim              a dim of 0 (division by zero in row sizes)
  unknown-type          ggml type 4 (removed) and 1000
  block-mismatch        a Q4_K row of 48 elements (not a 256 block)
  misaligned-offset     a tensor offset off the alignment
  offset-overflow       an offset + size that wraps around 2^64
  out-of-bounds         tensor data past the end of the file
  overlapping           two tensors sharing bytes
  bad-alignment         general.alignment 0, 3 and as a string
  duplicate-key         the same key twice
  duplicate-tensor      the same tensor name twice
  token-id-out-of-range tokenizer.ggml.bos_token_id past the vocabulary
                        (the reader keeps it: the importer checks it)
Pure Python: python3 test/fuzz/make_gguf_regressions.py
"""

import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def s(text):
    b = text.encode()
    return struct.pack("<Q", len(b)) + b


def header(tensors, keys, version=3):
    return b"GGUF" + struct.pack("<IQQ", version, tensors, keys)


def kv_u32(key, v):
    return s(key) + struct.pack("<II", 4, v)


def kv_str(key, v):
    return s(key) + struct.pack("<I", 8) + s(v)


def tensor(name, dims, ggml_type, offset):
    return s(name) + struct.pack("<I", len(dims)) + b"".join(
        struct.pack("<Q", d) for d in dims) + struct.pack("<IQ", ggml_type, offset)


def pad(b, a=32):
    return b + b"\0" * (-len(b) % a)


def valid():
    tokens = s("tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, 3) + s("<s>") + s("a") + s("b")
    body = (kv_str("general.architecture", "llama") + kv_u32("llama.block_count", 1) + tokens +
            tensor("token_embd.weight", [8, 3], 0, 0) + tensor("blk.0.attn_q.weight", [32, 2], 8, 96))
    return pad(header(2, 3) + body) + b"\1" * 96 + b"\2" * 68


REGRESSIONS = {
    "count-overflow": header(2**64 - 1, 2**64 - 1),
    "huge-string-length": header(0, 1) + struct.pack("<Q", 2**63) + b"key",
    "huge-array-count": header(0, 1) + s("k") + struct.pack("<IIQ", 9, 4, 2**61) + b"\0" * 16,
    "value-count-bomb": header(0, 1) + s("k") + struct.pack("<IIQ", 9, 0, 2**22 + 1) + b"\0" * (2**22 + 1),
    "nested-array-bomb": header(0, 1) + s("k") + struct.pack("<I", 9) + struct.pack("<IQ", 9, 1) * 1000,
    "n-dims-overflow": header(1, 0) + s("t") + struct.pack("<I", 2**32 - 1) + b"\0" * 64,
    "dims-product-overflow": pad(header(1, 0) + tensor("t", [2**40, 2**40, 2**40], 0, 0)) + b"\0" * 64,
    "zero-dim": pad(header(1, 0) + tensor("t", [0, 4], 0, 0)) + b"\0" * 64,
    "unknown-type": pad(header(2, 0) + tensor("t", [4], 4, 0) + tensor("u", [4], 1000, 32)) + b"\0" * 64,
    "block-mismatch": pad(header(1, 0) + tensor("t", [48, 2], 12, 0)) + b"\0" * 512,
    "misaligned-offset": pad(header(1, 0) + tensor("t", [4], 0, 5)) + b"\0" * 64,
    "offset-overflow": pad(header(1, 0) + tensor("t", [16], 0, 2**64 - 32)) + b"\0" * 64,
    "out-of-bounds": pad(header(1, 0) + tensor("t", [1024], 0, 0)) + b"\0" * 64,
    "overlapping": pad(header(2, 0) + tensor("t", [16], 0, 0) + tensor("u", [16], 0, 32)) + b"\0" * 128,
    "bad-alignment-zero": pad(header(0, 1) + kv_u32("general.alignment", 0)),
    "bad-alignment-three": pad(header(1, 1) + kv_u32("general.alignment", 3) + tensor("t", [4], 0, 0)) + b"\0" * 64,
    "bad-alignment-string": pad(header(0, 1) + kv_str("general.alignment", "32")),
    "duplicate-key": header(0, 2) + kv_u32("k", 1) + kv_u32("k", 2),
    "duplicate-tensor": pad(header(2, 0) + tensor("t", [4], 0, 0) + tensor("t", [4], 0, 32)) + b"\0" * 64,
    "token-id-out-of-range": valid()[:0] + pad(
        header(0, 2) + kv_u32("tokenizer.ggml.bos_token_id", 2**31) +
        s("tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, 1) + s("a")),
    "version-1": header(0, 0, version=1),
    "big-endian": b"GGUF" + struct.pack(">IQQ", 3, 0, 0),
}


def main():
    with open(os.path.join(HERE, "corpus", "gguf", "valid.gguf"), "wb") as f:
        f.write(valid())
    for name, data in REGRESSIONS.items():
        with open(os.path.join(HERE, "regressions", "gguf", name + ".gguf"), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
