#!/usr/bin/env bash
# The main job: installs what is missing, builds LLMC, and compiles the bundled
# example model (a LLaMA-style decoder block in the llm dialect) with llm-opt:
# parse, verify, canonicalize, and print the result with op statistics.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${LLMC_BUILD_DIR:-$root/build}
model=${1:-$root/examples/llama_block.mlir}

"$root/scripts/setup.sh" >&2
"$build/bin/llm-opt" "$model" --canonicalize --mlir-pass-statistics \
  --mlir-timing --mlir-print-debuginfo=false
