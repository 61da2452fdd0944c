#!/usr/bin/env bash
# The main job: installs what is missing, builds LLMC, then compiles the
# bundled default model (a tiny LLaMA-architecture checkpoint with GQA, QKV
# bias and an explicit head_dim, test/e2e/llama_gqa) to native code with the
# JIT and greedily generates tokens from a prompt, printing the generated ids
# and timings. Pass another Hugging Face folder and ids to run that instead:
#   scripts/run.sh MODEL_DIR 1,2,3 [MAX_NEW_TOKENS]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${LLMC_BUILD_DIR:-$root/build}
model=${1:-$root/test/e2e/llama_gqa}
ids=${2:-$(cat "$root/test/e2e/llama_gqa/input_ids.txt")}
tokens=${3:-16}

"$root/scripts/setup.sh" >&2
"$build/bin/llm-run" "$model" --input-ids "$ids" --max-new-tokens "$tokens"
