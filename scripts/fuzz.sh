#!/usr/bin/env bash
# Builds (if needed) and runs one libFuzzer target of test/fuzz for a while.
#
#   scripts/fuzz.sh [TARGET] [SECONDS] [LIBFUZZER_ARGS...]
#
# TARGET: config, pipeline, safetensors, gguf or onnx (default: config); SECONDS: the
# campaign's length (-max_total_time, default 300). The fuzz tree,
# build-fuzz/ (LLMC_FUZZ_BUILD_DIR), is configured with
# -DLLMC_SANITIZE="address;undefined" -DLLMC_BUILD_FUZZERS=ON when it is not
# yet, and only the target is built (nice, LLMC_FUZZ_JOBS jobs, default 1).
# The target runs on a scratch corpus, build-fuzz/fuzz/corpus/<target>/, which
# gets every new input, then on the committed seeds test/fuzz/corpus/<target>/
# (read only), with test/fuzz/<target>.dict. Crash, leak, timeout and
# out-of-memory inputs go to build-fuzz/fuzz/artifacts/<target>/, the log to
# build-fuzz/fuzz/<target>.log. Ends with the executions, their rate and the
# paths of the inputs this run found; exits 1 when it found any.
#
# LLMC_FUZZ_KEEP_GOING=1 runs libFuzzer's fork mode (-fork=1 -ignore_crashes=1
# -ignore_timeouts=1 -ignore_ooms=1): the campaign goes on past a crash and
# collects every crashing input, which pipeline-fuzzer needs when MLIR's own
# parsers (prebuilt, not LLMC's) crash on a mutated input.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target=${1:-config}
seconds=${2:-300}
shift $(($# < 2 ? $# : 2))
target=${target%-fuzzer}
case $target in
config | pipeline | safetensors | gguf | onnx) ;;
*)
  echo "usage: $0 [config|pipeline|safetensors|gguf|onnx] [SECONDS] [LIBFUZZER_ARGS...]" >&2
  exit 2
  ;;
esac

build=${LLMC_FUZZ_BUILD_DIR:-$root/build-fuzz}
sanitizers="address;undefined"
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(dirname "$root")}
if [[ ! -f $build/CMakeCache.txt ]] ||
  ! grep -qx "LLMC_SANITIZE:STRING=$sanitizers" "$build/CMakeCache.txt" ||
  ! grep -qx "LLMC_BUILD_FUZZERS:BOOL=ON" "$build/CMakeCache.txt"; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DLLMC_SANITIZE="$sanitizers" -DLLMC_BUILD_FUZZERS=ON
fi
nice ninja -C "$build" -j"${LLMC_FUZZ_JOBS:-1}" "$target-fuzzer"

work=$build/fuzz
scratch=$work/corpus/$target
artifacts=$work/artifacts/$target/
mkdir -p "$scratch" "$artifacts"
seeds=()
if [[ -d $root/test/fuzz/corpus/$target ]]; then
  seeds=("$root/test/fuzz/corpus/$target")
elif [[ $target == safetensors ]] && [[ -z $(ls -A "$scratch") ]]; then
  # No committed seeds: start from the fixtures' small weight files.
  find "$root/test/e2e" -name '*.safetensors' -size -64k \
    -exec cp {} "$scratch/" \;
elif [[ $target == onnx ]]; then
  # The graphs of test/Import/ONNX: one per pattern, near miss and bad input.
  seeds=("$root/test/Import/ONNX/Inputs")
fi

# As scripts/test.sh --sanitize: allow_user_poisoning=0 because LLVM's
# allocators poison memory from inline header code that is instrumented in
# our objects but not in the prebuilt libLLVM/libMLIR; a huge allocation
# fails (as in production) rather than aborting. libFuzzer's -rss_limit_mb
# and -malloc_limit_mb still report runaway memory.
export ASAN_OPTIONS="allow_user_poisoning=0:allocator_may_return_null=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-/usr/lib/llvm-22/bin/llvm-symbolizer}

keep_going=()
if [[ ${LLMC_FUZZ_KEEP_GOING:-0} != 0 ]]; then
  keep_going=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
fi

log=$work/$target.log
marker=$(mktemp)
trap 'rm -f "$marker"' EXIT
status=0
nice "$build/bin/$target-fuzzer" -max_total_time="$seconds" -timeout=30 \
  -dict="$root/test/fuzz/$target.dict" -artifact_prefix="$artifacts" \
  -print_final_stats=1 "${keep_going[@]}" "$@" "$scratch" "${seeds[@]}" 2>&1 |
  tee "$log" ||
  status=$?

echo "== $target-fuzzer, $seconds s (log: $log)"
grep -E '^stat::number_of_executed_units|^stat::average_exec_per_sec|^stat::new_units_added|^stat::peak_rss_mb' "$log" || true
# The first and last status lines (fork mode prints no final stats).
grep -E '^#[0-9]+:? ' "$log" | sed -n '1p;$p' || true
found=$(find "$artifacts" -type f -newer "$marker" | sort)
if [[ -n $found ]]; then
  echo "found:"
  echo "$found"
  exit 1
fi
echo "no crash, leak, timeout or out-of-memory input"
exit "$status"
