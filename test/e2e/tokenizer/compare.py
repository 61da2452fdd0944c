#!/usr/bin/env python3
"""Compares two JSON Lines files value by value (parsed, so that equal JSON
written differently compares equal) and reports the lines that differ.

  compare.py ACTUAL EXPECTED [--corpus CORPUS] [--show N]

Exits 1 when any line differs or the line counts differ, printing the first
N differences (default 5) with the corpus line when given. The last line is
"N lines, N differ".
"""

import argparse
import json
import sys


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return lines


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("actual")
    parser.add_argument("expected")
    parser.add_argument("--corpus")
    parser.add_argument("--show", type=int, default=5)
    args = parser.parse_args()
    actual, expected = load(args.actual), load(args.expected)
    corpus = load(args.corpus) if args.corpus else None
    differ = 0
    for i in range(max(len(actual), len(expected))):
        a = json.loads(actual[i].decode("utf-8")) if i < len(actual) else None
        e = json.loads(expected[i].decode("utf-8")) if i < len(expected) else None
        if a == e:
            continue
        differ += 1
        if differ <= args.show:
            print(f"line {i + 1}:")
            if corpus is not None and i < len(corpus):
                print(f"  input:    {corpus[i][:300]!r}")
            print(f"  actual:   {json.dumps(a, ensure_ascii=False)[:400]}")
            print(f"  expected: {json.dumps(e, ensure_ascii=False)[:400]}")
    if len(actual) != len(expected):
        print(f"{len(actual)} lines written, {len(expected)} expected")
    print(f"{len(expected)} lines, {differ} differ")
    return 1 if differ or len(actual) != len(expected) else 0


if __name__ == "__main__":
    sys.exit(main())
