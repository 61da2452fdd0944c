#!/usr/bin/env bash
# MoE speed (bench/moe.py): the specialized MoE layer, its decode form
# against its prefill form, and a dense model of the same active FLOPs. numpy comes
# from the bench cache's venv (bench/vs-peers.sh makes it), or a venv made
# here in the same cache, never from the system.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${LLMC_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/llmc-bench}
venv=$cache/venv
if ! "$venv/bin/python" -c "import numpy" 2> /dev/null; then
  mkdir -p "$cache"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet numpy
fi
exec "$venv/bin/python" "$root/bench/moe.py" --cache "$cache/moe" "$@"
