#!/usr/bin/python3
"""Encoding throughput of LLMC's tokenizer against the `tokenizers` package.

Builds a ~1 MB text from test/tokenizer/corpus.jsonl (its lines repeated, read
by the corpus contract of test/tokenizer/README.md), then, for each tokenizer
of test/tokenizer named by --tokenizers, on that same text in the same run:

- LLMC: build/bin/llm-tokenizer-bench (`ninja llm-tokenizer-bench`), one
  encode call per line on one thread;
- tokenizers: `Tokenizer.encode(line, add_special_tokens=False)` per line,
  and `encode_batch(lines)` as a second variant, both on one thread
  (RAYON_NUM_THREADS=1, TOKENIZERS_PARALLELISM=false).

Each side warms up once, then times --runs passes over the text; the table
gives the medians. The ids of every line are compared between the two; a
difference fails the run. Prints the table as Markdown.

The `tokenizers` package (the version the fixtures were made with) is
installed from PyPI into a virtual environment under the cache folder
(--cache, default $XDG_CACHE_HOME/llmc-bench or ~/.cache/llmc-bench) the first
time, and reused after. Nothing else is downloaded; this script itself needs
only the standard library.

    ninja -C build llm-tokenizer-bench
    python3 bench/tokenizer/run.py --build build

docs/Tokenizer.md has a table it printed, and how to read it.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "test", "tokenizer")
TOKENIZERS_VERSION = "0.23.3"
DEFAULT_TOKENIZERS = "gpt2,bytelevel-llama3,sp-bpe-bytefallback,sp-unigram-t5,bert-uncased"

# Runs inside the virtual environment: times tokenizers on the text.
PEER = r"""
import json, statistics, sys, time
import tokenizers
from tokenizers import Tokenizer

path, text_path, ids_path, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
tok = Tokenizer.from_file(path)
with open(text_path, encoding="utf-8", newline="") as f:
    lines = f.read().split("\n")
# Warm-up, the token count and the ids.
ids = [tok.encode(line, add_special_tokens=False).ids for line in lines]
tokens = sum(len(i) for i in ids)
with open(ids_path, "w") as f:
    for i in ids:
        f.write(json.dumps(i, separators=(",", ":")) + "\n")
result = {"version": tokenizers.__version__, "tokens": tokens}
for name in ("encode", "encode_batch"):
    wall, cpu = [], []
    for _ in range(runs):
        c, t = time.thread_time(), time.perf_counter()
        if name == "encode":
            for line in lines:
                tok.encode(line, add_special_tokens=False)
        else:
            tok.encode_batch(lines, add_special_tokens=False)
        wall.append(time.perf_counter() - t)
        cpu.append(time.thread_time() - c)
    result[name] = {"wall_s": wall, "cpu_s": cpu, "median_s": statistics.median(wall)}
print(json.dumps(result))
"""


def read_corpus(path):
    """The corpus lines as test/tokenizer/README.md says to read them."""
    texts = []
    with open(path, "rb") as f:
        for raw in f.read().split(b"\n"):
            if not raw:
                continue
            text = json.loads(raw.decode("utf-8", "replace"))
            texts.append("".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text))
    return texts


def make_text(corpus, size):
    """The corpus strings joined by "\n", repeated until `size` bytes."""
    texts = read_corpus(corpus)
    parts, total = [], 0
    while total < size:
        for t in texts:
            parts.append(t)
            total += len(t.encode("utf-8")) + 1
            if total >= size:
                break
    return "\n".join(parts)


def peer_python(cache):
    """The venv's interpreter, with tokenizers installed (once)."""
    venv = os.path.join(cache, f"tokenizers-{TOKENIZERS_VERSION}")
    python = os.path.join(venv, "bin", "python")
    check = [python, "-c", "import tokenizers, sys; "
             f"sys.exit(tokenizers.__version__ != {TOKENIZERS_VERSION!r})"]
    if os.path.exists(python) and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    print(f"run.py: installing tokenizers=={TOKENIZERS_VERSION} into {venv}", file=sys.stderr)
    os.makedirs(cache, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    subprocess.run([python, "-m", "pip", "install", "--quiet",
                    f"tokenizers=={TOKENIZERS_VERSION}"], check=True)
    subprocess.run(check, check=True)
    return python


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{cpu}, {os.cpu_count()} logical CPUs, load average {load:.1f} at the start; "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build"),
                        help="the build folder with bin/llm-tokenizer-bench")
    parser.add_argument("--tokenizers", default=DEFAULT_TOKENIZERS,
                        help="comma-separated folders of test/tokenizer")
    parser.add_argument("--runs", type=int, default=11, help="timed passes per side (median)")
    parser.add_argument("--size", type=int, default=1 << 20, help="bytes of text")
    default_cache = os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "llmc-bench")
    parser.add_argument("--cache", default=default_cache,
                        help="where the virtual environment with tokenizers is kept")
    parser.add_argument("--json", help="also write every number to this file")
    args = parser.parse_args()
    if args.runs < 5:
        parser.error("--runs: expected at least 5 (the medians need them)")

    bench = os.path.join(args.build, "bin", "llm-tokenizer-bench")
    if not os.path.exists(bench):
        sys.exit(f"run.py: {bench} is missing: build it with "
                 f"`ninja -C {args.build} llm-tokenizer-bench`")
    python = peer_python(args.cache)
    env = dict(os.environ, RAYON_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")

    print(f"machine: {machine()}")
    rows, results, failed = [], {}, False
    with tempfile.TemporaryDirectory() as tmp:
        text_path = os.path.join(tmp, "text.txt")
        text = make_text(os.path.join(FIXTURES, "corpus.jsonl"), args.size)
        with open(text_path, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        size = len(text.encode("utf-8"))
        print(f"text: {size} bytes, {text.count(chr(10)) + 1} lines; "
              f"{args.runs} timed runs per side")
        for name in args.tokenizers.split(","):
            path = os.path.join(FIXTURES, name, "tokenizer.json")
            ours_ids, peer_ids = os.path.join(tmp, "llmc.jsonl"), os.path.join(tmp, "peer.jsonl")
            run = subprocess.run([bench, path, text_path, "--runs", str(args.runs),
                                  "--ids", ours_ids], capture_output=True, text=True)
            if run.returncode != 0:
                sys.exit(f"run.py: {name}: llm-tokenizer-bench failed:\n{run.stderr}")
            ours = json.loads(run.stdout.strip().splitlines()[-1])
            run = subprocess.run([python, "-c", PEER, path, text_path, peer_ids, str(args.runs)],
                                 capture_output=True, text=True, env=env)
            if run.returncode != 0:
                sys.exit(f"run.py: {name}: tokenizers failed:\n{run.stderr}")
            peer = json.loads(run.stdout.strip().splitlines()[-1])
            with open(ours_ids) as a, open(peer_ids) as b:
                mine, theirs = a.read().splitlines(), b.read().splitlines()
            differ = sum(x != y for x, y in zip(mine, theirs)) + abs(len(mine) - len(theirs))
            if differ:
                failed = True
                first = next((i for i, (x, y) in enumerate(zip(mine, theirs)) if x != y),
                             min(len(mine), len(theirs)))
                print(f"{name}: {differ} of {len(theirs)} lines differ (first: line {first + 1})",
                      file=sys.stderr)
            tokens = ours["tokens"]
            llmc = tokens / statistics.median(ours["wall_s"])
            encode = tokens / peer["encode"]["median_s"]
            batch = tokens / peer["encode_batch"]["median_s"]
            llmc_cpu = tokens / statistics.median(ours["cpu_s"])
            encode_cpu = tokens / statistics.median(peer["encode"]["cpu_s"])
            rows.append((name, tokens, llmc, encode, llmc / encode, batch, llmc / batch,
                         llmc_cpu / encode_cpu, size / statistics.median(ours["wall_s"]) / 1e6,
                         differ))
            results[name] = {"llmc": ours, "tokenizers": peer, "lines_differing": differ}

    print()
    print("| tokenizer | tokens | LLMC tokens/s | tokenizers tokens/s (encode per line) "
          "| ratio | tokenizers tokens/s (encode_batch, 1 thread) | ratio "
          "| ratio, thread CPU time | LLMC MB/s | ids differing |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for (name, tokens, llmc, encode, r1, batch, r2, rcpu, mbs, differ) in rows:
        print(f"| {name} | {tokens} | {llmc:,.0f} | {encode:,.0f} | {r1:.2f}x | {batch:,.0f} "
              f"| {r2:.2f}x | {rcpu:.2f}x | {mbs:.2f} | {differ} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine(), "bytes": size, "runs": args.runs,
                       "results": results}, f, indent=1)
    if failed:
        sys.exit("run.py: the ids differ (see above)")


if __name__ == "__main__":
    main()
