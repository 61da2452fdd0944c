#!/usr/bin/env bash
# LLMC against its peers: llama.cpp, ONNX Runtime and PyTorch, on CPU.
#
#   bench/vs-peers.sh [--llm-run PATH] [--shapes smollm,qwen]
#                     [--dtypes f32,f16,bf16,q8_0,q4_0,q4_k_m]
#                     [--llmc-input folder|gguf] [--threads 1,2]
#                     [--peers llama.cpp,ort,torch] [--all-threads]
#                     [--rounds N] [--quick]
#                     [--prefill-tokens N] [--decode-tokens N] [--out FILE]
#
# Prints the table "LLMC ÷ peer" (peer time / LLMC time: above 1 means LLMC
# is faster) of a prefill of 512 tokens against llama.cpp, ONNX Runtime and
# PyTorch, and of decode (64 tokens) against llama.cpp, for a SmolLM-135M
# shape and a Qwen2-0.5B shape (random weights, Hugging Face folders), in
# F32 with 1 and 2 threads and F16 and BF16 with 2 threads (the largest
# --threads count; --all-threads for each; ONNX Runtime and PyTorch: F32
# only), each cell the median of --rounds rounds (default 3)
# in which the peers take turns. --quick (prefill 64 tokens, 8 decode
# tokens, 1 round) is for trying the script out. The quantized formats
# q8_0, q4_0 and q4_k_m are GGUFs that llama.cpp's llama-quantize makes from
# the F16 GGUF; LLMC runs the same files (--llmc-input gguf: the float
# GGUFs too, instead of the folders). The GGUF head-to-head of
# docs/Performance.md: --peers llama.cpp --dtypes f16,q8_0,q4_0,q4_k_m
# --llmc-input gguf --all-threads. See docs/Performance.md.
#
# Everything is installed from PyPI into a cache on first use, never into
# the system: ${LLMC_BENCH_CACHE:-$HOME/.cache/llmc-bench} (--cache DIR;
# $XDG_CACHE_HOME/llmc-bench where that is set, as bench/tokenizer) holds
#   venv/        torch, transformers, onnxruntime, onnxruntime-genai, onnx,
#                onnx-ir, safetensors and gguf (from the sdist's gguf-py);
#   src/         llama-cpp-python's source distribution (pip download
#                --no-binary :all:), unpacked; only its vendor/llama.cpp is
#                used: convert_hf_to_gguf.py and the sources of llama-bench;
#   llama.cpp-build/   llama.cpp's own build (GGML_NATIVE=ON, Release),
#                bin/llama-bench and bin/llama-quantize;
#   models/      the generated models: SHAPE-DTYPE/ (Hugging Face folders),
#                SHAPE-DTYPE.gguf, SHAPE-f32-onnx/ (onnxruntime-genai's model
#                builder, python -m onnxruntime_genai.models.builder, which
#                runs offline on a local folder);
#   logs/, results/    the logs of the steps, and each run's report (.md) and
#                raw samples (.json).
# A second run reuses all of it. About 6 GB for the venv (PyPI's Linux torch
# wheel brings its CUDA libraries; about 3 GB to download), 12 GB for all
# the models. The first install took about 4 minutes here, and building
# llama-bench on one core about 16 (LLMC_BENCH_JOBS=N builds with N jobs).
#
# LLMC is the repository's build/bin/llm-run (--llm-run PATH otherwise), run
# with --input-ids: its "prefill:" line (compile time is not in it) and its
# "decode:" line; bench/vs_peers.py says exactly what each peer's number is.
# Not part of the test suite.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${LLMC_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/llmc-bench}
llm_run=$root/build/bin/llm-run
jobs=${LLMC_BENCH_JOBS:-1}
args=()
while (($#)); do
  case $1 in
  --cache) cache=${2:?--cache needs a folder}; shift 2 ;;
  --cache=*) cache=${1#*=}; shift ;;
  --llm-run) llm_run=${2:?--llm-run needs a path}; shift 2 ;;
  --llm-run=*) llm_run=${1#*=}; shift ;;
  -h | --help)
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
    exit 0 ;;
  *) args+=("$1"); shift ;;
  esac
done

# The peers' versions, as tested; change them here (the venv is rebuilt when
# this list changes).
llama_cpp_python=0.3.36
pip_specs=(torch==2.15.0 transformers==5.25.0 onnxruntime==1.32.0
  onnxruntime-genai==0.18.0 onnx==1.23.2 onnx-ir==1.1.0 safetensors numpy)

say() { echo "vs-peers: $*" >&2; }
die() { say "error: $*"; exit 1; }
# step NAME LOG CMD...: runs CMD with its output in LOG; on failure names the
# step, shows the end of LOG and exits 1.
step() {
  local name=$1 logfile=$2
  shift 2
  say "$name (log: $logfile)"
  if ! "$@" >"$logfile" 2>&1; then
    tail -n 30 "$logfile" >&2
    die "$name failed; see $logfile"
  fi
}

[[ -x $llm_run ]] || die "no LLMC binary at $llm_run: build LLMC first \
(scripts/setup.sh) or pass --llm-run PATH"
command -v python3 >/dev/null || die "python3 is needed"
command -v cmake >/dev/null || die "cmake is needed to build llama.cpp"
mkdir -p "$cache/logs" "$cache/src" || die "cannot create the cache $cache"
cache=$(cd "$cache" && pwd)
logs=$cache/logs
started=$SECONDS

# 1. The virtual environment.
venv=$cache/venv
wanted="${pip_specs[*]} gguf-py:llama-cpp-python==$llama_cpp_python"
if [[ ! -f $venv/.llmc-bench-installed ]] ||
  [[ $(cat "$venv/.llmc-bench-installed") != "$wanted" ]]; then
  rm -rf "$venv" "$cache"/models/*-onnx # ONNX models of the old builder
  step "creating the virtual environment $venv" "$logs/venv.log" \
    python3 -m venv "$venv"
  step "installing ${pip_specs[*]} from PyPI (about 3 GB to download the \
first time)" "$logs/pip.log" \
    "$venv/bin/pip" install --disable-pip-version-check "${pip_specs[@]}"
  installed_venv=1
fi

# 2. llama-cpp-python's source distribution: llama.cpp's sources and
# converter.
src=$cache/src/llama_cpp_python-$llama_cpp_python
if [[ ! -f $src/.llmc-bench-unpacked ]]; then
  rm -rf "$cache/src/download"
  step "downloading llama-cpp-python==$llama_cpp_python's source \
distribution" "$logs/sdist.log" \
    "$venv/bin/pip" download --disable-pip-version-check --no-binary :all: \
    --no-deps "llama-cpp-python==$llama_cpp_python" -d "$cache/src/download"
  tarball=$(find "$cache/src/download" -name 'llama_cpp_python-*.tar.gz' |
    head -n 1)
  [[ -n $tarball ]] || die "pip download left no llama_cpp_python-*.tar.gz \
in $cache/src/download"
  rm -rf "$src"
  step "unpacking $(basename "$tarball")" "$logs/unpack.log" \
    tar -xzf "$tarball" -C "$cache/src"
  [[ -f $src/vendor/llama.cpp/convert_hf_to_gguf.py ]] ||
    die "$src/vendor/llama.cpp has no convert_hf_to_gguf.py"
  rm -rf "$cache/src/download"
  touch "$src/.llmc-bench-unpacked"
fi
llama_dir=$src/vendor/llama.cpp

if [[ ${installed_venv:-} || ! -f $venv/.llmc-bench-installed ]]; then
  step "installing gguf from $llama_dir/gguf-py" "$logs/gguf.log" \
    "$venv/bin/pip" install --disable-pip-version-check "$llama_dir/gguf-py"
  echo "$wanted" >"$venv/.llmc-bench-installed"
fi

# 3. llama.cpp's own tools, llama-bench among them.
build=$cache/llama.cpp-build
llama_bench=$build/bin/llama-bench
if [[ ! -x $llama_bench ]] ||
  [[ $(cat "$build/.llmc-bench-source" 2>/dev/null) != "$llama_dir" ]]; then
  # A new llama.cpp: a new build, and GGUFs from its converter.
  rm -rf "$build" "$cache"/models/*.gguf
  step "configuring llama.cpp (cmake -DGGML_NATIVE=ON \
-DCMAKE_BUILD_TYPE=Release)" "$logs/llama.cpp-cmake.log" \
    cmake -S "$llama_dir" -B "$build" -DGGML_NATIVE=ON \
    -DCMAKE_BUILD_TYPE=Release -DLLAMA_BUILD_TESTS=OFF \
    -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF \
    -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
    -DLLAMA_OPENSSL=OFF
  step "building llama-bench with $jobs job(s) (several minutes on one \
core)" "$logs/llama.cpp-build.log" \
    env CMAKE_BUILD_PARALLEL_LEVEL="$jobs" MAKEFLAGS="-j$jobs" \
    nice -n 10 cmake --build "$build" --target llama-bench -j "$jobs"
  [[ -x $llama_bench ]] || die "the llama.cpp build left no $llama_bench"
  echo "$llama_dir" >"$build/.llmc-bench-source"
fi
# llama-quantize makes the quantized GGUFs (Q8_0, Q4_0, Q4_K_M) from the
# F16 one, as users make them.
llama_quantize=$build/bin/llama-quantize
if [[ ! -x $llama_quantize ]]; then
  step "building llama-quantize with $jobs job(s)" \
    "$logs/llama.cpp-build-quantize.log" \
    env CMAKE_BUILD_PARALLEL_LEVEL="$jobs" MAKEFLAGS="-j$jobs" \
    nice -n 10 cmake --build "$build" --target llama-quantize -j "$jobs"
  [[ -x $llama_quantize ]] || die "the llama.cpp build left no $llama_quantize"
fi
if ((SECONDS - started > 5)); then
  say "the peers are ready in $cache ($((SECONDS - started)) s)"
fi

# 4. Models and measurements.
exec "$venv/bin/python" "$root/bench/vs_peers.py" --cache "$cache" \
  --llm-run "$llm_run" --llama-dir "$llama_dir" \
  --llama-bench "$llama_bench" --llama-quantize "$llama_quantize" "${args[@]}"
