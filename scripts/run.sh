#!/usr/bin/env bash
# The main job: installs what is missing, builds LLMC, then compiles the
# bundled default model (models/llmc-tiny-en: a 4-layer LLaMA-architecture
# model trained on Jane Austen's novels, with its own byte-level BPE
# tokenizer; see its README) to native code with the JIT, streams the text it
# generates from a prompt to stdout, and prints load and compile time, time
# to first token, prefill and decode tokens/s and peak RSS to stderr. Pass
# another Hugging Face folder (with a tokenizer), prompt and length to run
# that instead:
#   scripts/run.sh [MODEL_DIR] [PROMPT] [MAX_NEW_TOKENS]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${LLMC_BUILD_DIR:-$root/build}
model=${1:-$root/models/llmc-tiny-en}
prompt=${2:-It was}
tokens=${3:-96}

"$root/scripts/setup.sh" >&2
"$build/bin/llm-run" "$model" --prompt "$prompt" --max-new-tokens "$tokens" \
  --temperature 0.8 --top-p 0.95 --seed 1 --echo --bench
echo
