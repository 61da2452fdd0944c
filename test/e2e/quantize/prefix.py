#!/usr/bin/env python3
"""prefix.py REFERENCE.json IDS_FILE N: the first N generated ids of IDS_FILE
are those of the reference's greedy completion."""

import json
import sys

with open(sys.argv[1]) as f:
    want = json.load(f)["greedy"]["ids"]
with open(sys.argv[2]) as f:
    ids = [int(x) for x in f.read().strip().split(",")]
n = int(sys.argv[3])
print(f"first {n} ids {ids[:n]}, reference {want[:n]}")
sys.exit(0 if len(ids) >= n and ids[:n] == want[:n] else 1)
