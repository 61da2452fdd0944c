#!/usr/bin/env python3
"""Tokenizer parity: runs llm-tokenize on the corpus in the four modes and
compares each output with the `tokenizers` references of a fixture folder.

  check.py LLM_TOKENIZE PATH FIXTURE [--corpus CORPUS] [--modes M,...]

PATH is what llm-tokenize loads (a tokenizer.json or a folder); FIXTURE is
the folder of test/tokenizer with encode.jsonl, encode-special.jsonl,
decode.jsonl and decode-skip.jsonl (decoding reads encode-special.jsonl).
Prints one line per mode, "MODE: N lines, N differ", with the first
differences, and exits 1 if any mode differs or llm-tokenize fails.
"""

import argparse
import json
import os
import subprocess
import sys

MODES = {
    "encode": ([], "corpus", "encode.jsonl"),
    "encode-special": (["--add-special-tokens"], "corpus", "encode-special.jsonl"),
    "decode": (["--decode"], "encode-special.jsonl", "decode.jsonl"),
    "decode-skip": (
        ["--decode", "--skip-special-tokens"],
        "encode-special.jsonl",
        "decode-skip.jsonl",
    ),
}


def lines(data):
    out = data.split(b"\n")
    if out and out[-1] == b"":
        out.pop()
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("tool")
    parser.add_argument("path")
    parser.add_argument("fixture")
    parser.add_argument("--corpus")
    parser.add_argument("--modes", default=",".join(MODES))
    args = parser.parse_args()
    corpus_path = args.corpus or os.path.join(
        os.path.dirname(args.fixture.rstrip("/")), "corpus.jsonl"
    )
    with open(corpus_path, "rb") as f:
        corpus_bytes = f.read()
    corpus = lines(corpus_bytes)
    failed = False
    for mode in args.modes.split(","):
        flags, source, reference = MODES[mode]
        if source == "corpus":
            stdin = corpus_bytes
        else:
            with open(os.path.join(args.fixture, source), "rb") as f:
                stdin = f.read()
        run = subprocess.run(
            [args.tool, args.path] + flags, input=stdin, capture_output=True
        )
        if run.returncode != 0:
            print(f"{mode}: llm-tokenize exited {run.returncode}: "
                  f"{run.stderr.decode(errors='replace').strip()}")
            failed = True
            continue
        with open(os.path.join(args.fixture, reference), "rb") as f:
            expected = lines(f.read())
        actual = lines(run.stdout)
        differ = 0
        for i in range(max(len(actual), len(expected))):
            a = json.loads(actual[i]) if i < len(actual) else None
            e = json.loads(expected[i]) if i < len(expected) else None
            if a == e:
                continue
            differ += 1
            if differ <= 3:
                print(f"{mode}: line {i + 1}: input {corpus[i][:200]!r}")
                print(f"  actual:   {json.dumps(a, ensure_ascii=False)[:300]}")
                print(f"  expected: {json.dumps(e, ensure_ascii=False)[:300]}")
        if len(actual) != len(expected):
            print(f"{mode}: {len(actual)} lines written, {len(expected)} expected")
            failed = True
        print(f"{mode}: {len(expected)} lines, {differ} differ")
        failed |= differ > 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
