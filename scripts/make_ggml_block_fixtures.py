#!/usr/bin/env python3
"""Writes test/unit/Kernels/Inputs/ggml-blocks.bin: random blocks of each
ggml quantization type LLMC reads, with the values gguf-py's reference
dequantizer (`gguf.quants.dequantize`, llama.cpp's gguf-py) gives them, for
GGMLBlocksTest.

Format (little-endian): per type, uint32 ggml type, uint32 block count,
the blocks' bytes, then count * block elements float32 values. The f16
scales of each block are set to finite values in [-0.5, 0.5] (random bytes
could make them infinite or NaN); every other byte is random.

Needs numpy and the gguf package (test-only tools):
  pip install --target /tmp/pyenv gguf numpy
  PYTHONPATH=/tmp/pyenv python3 scripts/make_ggml_block_fixtures.py
Re-running gives the same bytes (seeded).
"""

import os
import struct

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import quants
from gguf.constants import GGML_QUANT_SIZES

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "unit", "Kernels", "Inputs", "ggml-blocks.bin")
BLOCKS = 6

# Byte offsets of each type's f16 scales (ggml-common.h).
SCALES = {
    T.Q8_0: [0], T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2],
    T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2],
    T.Q6_K: [208], T.IQ4_NL: [0],
}


def main():
    rng = np.random.default_rng(1234)
    out = bytearray()
    for qtype, offsets in SCALES.items():
        block, size = GGML_QUANT_SIZES[qtype]
        data = rng.integers(0, 256, size=(BLOCKS, size), dtype=np.uint8)
        for b in range(BLOCKS):
            for o in offsets:
                scale = np.float16(rng.uniform(-0.5, 0.5))
                data[b, o:o + 2] = np.frombuffer(scale.tobytes(), dtype=np.uint8)
        values = quants.dequantize(data.reshape(1, BLOCKS * size), qtype).astype(np.float32)
        assert values.size == BLOCKS * block and np.all(np.isfinite(values))
        out += struct.pack("<II", int(qtype), BLOCKS) + data.tobytes() + values.tobytes()
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "wb") as f:
        f.write(out)
    print(OUT, len(out), "bytes")


if __name__ == "__main__":
    main()
