#!/usr/bin/env bash
# LLMC against ONNX Runtime on the same .onnx files.
#
#   bench/vs-onnxruntime.sh [--llm-run PATH] [--cache DIR] [--python PATH]
#                           [--threads N] [--rounds N]
#                           [--gpt2-tokens N] [--bert-tokens N]
#                           [--bert-batch N] [--decode-prompt N]
#                           [--decode-tokens N]
#
# Exports a GPT-2 124M shape and a BERT-base shape (random weights) with
# torch.onnx.export (dynamo, opset 18, external data), then times the
# forward pass over a prompt (GPT-2: 512 tokens, LLMC's prefill; BERT: 128
# tokens, alone and as a batch of 8) in ONNX Runtime (CPU provider, all
# graph optimizations, --threads intra-op threads, default 2) and in LLMC
# (build/bin/llm-run on the same file). GPT-2 decode (64 tokens after a
# 128-token prompt) runs on a second export of the same weights with past
# key values (TorchScript exporter): ONNX Runtime feeds each step's presents
# back, LLMC binds the past empty and decodes with its own KV cache. Prints "LLMC ÷ ORT" (ORT time / LLMC time),
# medians of --rounds rounds (default 3). See docs/Performance.md.
#
# Everything is installed from PyPI into a cache on first use, never into
# the system: ${LLMC_BENCH_CACHE:-$HOME/.cache/llmc-bench}/onnx-venv holds
# torch, transformers, onnx, onnxscript and onnxruntime (--python PATH uses
# another interpreter that has them); models/ holds the exports. Not part of
# the test suite.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${LLMC_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/llmc-bench}
llm_run=$root/build/bin/llm-run
python=
args=()
while (($#)); do
  case $1 in
  --cache) cache=${2:?--cache needs a folder}; shift 2 ;;
  --llm-run) llm_run=${2:?--llm-run needs a path}; shift 2 ;;
  --python) python=${2:?--python needs a path}; shift 2 ;;
  -h | --help)
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
    exit 0 ;;
  *) args+=("$1"); shift ;;
  esac
done

# The versions measured; the venv is rebuilt when this list changes.
pip_specs=(torch==2.15.0 transformers==5.25.0 onnx==1.23.2 onnxscript==0.7.2
  onnxruntime==1.32.0 numpy)

say() { echo "vs-onnxruntime: $*" >&2; }
die() { say "error: $*"; exit 1; }
[[ -x $llm_run ]] || die "no LLMC binary at $llm_run: build LLMC first \
(scripts/setup.sh) or pass --llm-run PATH"
mkdir -p "$cache/models" "$cache/logs" || die "cannot create the cache $cache"
cache=$(cd "$cache" && pwd)

if [[ -z $python ]]; then
  venv=$cache/onnx-venv
  if [[ ! -f $venv/.installed ]] || [[ $(cat "$venv/.installed") != "${pip_specs[*]}" ]]; then
    rm -rf "$venv"
    say "installing ${pip_specs[*]} into $venv (log: $cache/logs/onnx-pip.log)"
    { python3 -m venv "$venv" &&
      "$venv/bin/pip" install --disable-pip-version-check "${pip_specs[@]}"; } \
      >"$cache/logs/onnx-pip.log" 2>&1 ||
      { tail -n 30 "$cache/logs/onnx-pip.log" >&2; die "pip install failed"; }
    echo "${pip_specs[*]}" >"$venv/.installed"
  fi
  python=$venv/bin/python
fi
exec "$python" "$root/bench/vs_onnxruntime.py" --cache "$cache" \
  --llm-run "$llm_run" "${args[@]}"
