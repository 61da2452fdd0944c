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
                        (the reader keeps it: the tokenizer loader checks it)
  token-type-count      tokenizer.ggml.token_type shorter than the tokens
                        (llama.cpp once read the arrays through raw
                        pointers, past their end)
  scores-type           tokenizer.ggml.scores as int32, not float32
  merge-unknown-token   a merge of a token the vocabulary lacks
  token-invalid-utf8    a token that is not UTF-8
The seeds: valid.gguf (metadata of every kind, two tensors) and a
SentencePiece (llama) and a byte-level BPE (gpt2) vocabulary, which the
fuzzer hands to the tokenizer loader.
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


def kv_bool(key, v):
    return s(key) + struct.pack("<I?", 7, v)


def kv_strs(key, values):
    return s(key) + struct.pack("<IIQ", 9, 8, len(values)) + b"".join(s(v) for v in values)


def kv_arr(key, code, fmt, values):
    return s(key) + struct.pack("<IIQ", 9, code, len(values)) + struct.pack(f"<{len(values)}{fmt}", *values)


def vocab_llama():
    tokens = ["<unk>", "<s>", "</s>", "\u2581", "a", "b", "\u2581a", "ab", "\u2581ab", "<0x63>"]
    keys = [kv_str("tokenizer.ggml.model", "llama"), kv_strs("tokenizer.ggml.tokens", tokens),
            kv_arr("tokenizer.ggml.scores", 6, "f", [0, 0, 0, -1, -2, -3, -0.5, -0.2, -0.1, 0]),
            kv_arr("tokenizer.ggml.token_type", 5, "i", [2, 3, 3, 1, 1, 1, 1, 1, 1, 6]),
            kv_u32("tokenizer.ggml.bos_token_id", 1), kv_u32("tokenizer.ggml.eos_token_id", 2),
            kv_bool("tokenizer.ggml.add_bos_token", True)]
    return header(0, len(keys)) + b"".join(keys)


def vocab_gpt2(merges=("a b", "\u0120 ab", "1 1"), types=(1, 1, 1, 1, 1, 1, 1, 3)):
    tokens = ["a", "b", "1", "ab", "\u0120", "\u0120ab", "11", "<|end|>"]
    keys = [kv_str("tokenizer.ggml.model", "gpt2"), kv_str("tokenizer.ggml.pre", "llama-bpe"),
            kv_strs("tokenizer.ggml.tokens", tokens), kv_arr("tokenizer.ggml.token_type", 5, "i", list(types)),
            kv_strs("tokenizer.ggml.merges", list(merges)), kv_u32("tokenizer.ggml.bos_token_id", 7)]
    return header(0, len(keys)) + b"".join(keys)


def vocab_bert():
    # The converter's phantom-space WordPiece vocabulary.
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "\u2581un", "able", "\u2581!", "\u2581\u4e2d"]
    keys = [kv_str("tokenizer.ggml.model", "bert"), kv_strs("tokenizer.ggml.tokens", tokens),
            kv_arr("tokenizer.ggml.token_type", 5, "i", [3, 3, 3, 3, 1, 1, 1, 1]),
            kv_u32("tokenizer.ggml.unknown_token_id", 1), kv_u32("tokenizer.ggml.bos_token_id", 2),
            kv_u32("tokenizer.ggml.seperator_token_id", 3),
            kv_bool("tokenizer.ggml.normalizer.lowercase", True),
            kv_bool("tokenizer.ggml.normalizer.strip_accents", True)]
    return header(0, len(keys)) + b"".join(keys)


def vocab_t5(charsmap=None):
    tokens = ["<pad>", "</s>", "<unk>", "\u2581a", "b", "\u2581ab", "<extra_id_0>", "<0x41>"]
    keys = [kv_str("tokenizer.ggml.model", "t5"), kv_strs("tokenizer.ggml.tokens", tokens),
            kv_arr("tokenizer.ggml.scores", 6, "f", [0, 0, 0, -2, -2, -3, -1000, -5]),
            kv_arr("tokenizer.ggml.token_type", 5, "i", [3, 3, 2, 1, 1, 1, 4, 6]),
            kv_u32("tokenizer.ggml.eos_token_id", 1), kv_bool("tokenizer.ggml.add_space_prefix", True),
            kv_bool("tokenizer.ggml.remove_extra_whitespaces", True)]
    if charsmap is not None:
        keys.append(kv_arr("tokenizer.ggml.precompiled_charsmap", 0, "B", list(charsmap)))
    return header(0, len(keys)) + b"".join(keys)


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
    "token-id-out-of-range": pad(
        header(0, 3) + kv_u32("tokenizer.ggml.bos_token_id", 2**31) +
        s("tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, 1) + s("a") +
        kv_str("tokenizer.ggml.model", "llama")),
    "token-type-count": vocab_gpt2(types=(1, 1)),
    "scores-type": header(0, 3) + kv_str("tokenizer.ggml.model", "llama") + kv_strs("tokenizer.ggml.tokens", ["a", "b"]) +
    kv_arr("tokenizer.ggml.scores", 5, "i", [1, 2]),
    "merge-unknown-token": vocab_gpt2(merges=("a b", "ab zz")),
    "token-invalid-utf8": header(0, 2) + kv_str("tokenizer.ggml.model", "llama") + s("tokenizer.ggml.tokens") +
    struct.pack("<IIQ", 9, 8, 2) + s("a") + struct.pack("<Q", 2) + b"\xc3\x28",
    # A charsmap whose trie size runs past its bytes.
    "charsmap-truncated": vocab_t5(charsmap=struct.pack("<I", 4096) + b"\1\2\3\4"),
    "version-1": header(0, 0, version=1),
    "big-endian": b"GGUF" + struct.pack(">IQQ", 3, 0, 0),
}


def main():
    for name, data in (("valid", valid()), ("vocab-llama", vocab_llama()), ("vocab-gpt2", vocab_gpt2()),
                       ("vocab-bert", vocab_bert()), ("vocab-t5", vocab_t5())):
        with open(os.path.join(HERE, "corpus", "gguf", name + ".gguf"), "wb") as f:
            f.write(data)
    for name, data in REGRESSIONS.items():
        with open(os.path.join(HERE, "regressions", "gguf", name + ".gguf"), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
