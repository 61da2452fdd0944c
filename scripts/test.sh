#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole LLMC test suite:
# lit + FileCheck, GoogleTest (through lit), formatting and generated docs.
# Ends with a line `N passed, N failed`.
#
# scripts/test.sh --sanitize (or LLMC_SANITIZE=1) builds a second tree,
# build-asan/ (LLMC_ASAN_BUILD_DIR), with -DLLMC_SANITIZE="address;undefined"
# and runs every test that executes LLMC code under AddressSanitizer and
# UndefinedBehaviorSanitizer: all but test/repo (formatting, docs), that is
# the dialect, pass and codegen tests, the end-to-end tests (parity and bad
# input, test/e2e/errors) and the unit tests (safetensors, kernels, ...). It
# ends with its own `N passed, N failed` line.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
sanitize=${LLMC_SANITIZE:-0}
tsan=0
for arg in "$@"; do
  case $arg in
  --sanitize) sanitize=1 ;;
  --tsan) tsan=1 ;;
  *)
    echo "usage: $0 [--sanitize | --tsan]" >&2
    exit 2
    ;;
  esac
done

# scripts/test.sh --tsan: the runtime's unit tests that drive sessions, the
# thread pool and the kernels from several threads, built with
# ThreadSanitizer in build-tsan/ (LLMC_TSAN_BUILD_DIR; only the runtime and
# its tests, which link no LLVM), the multi-threaded sessions over an
# artifact that the normal build's llm-compile makes.
if [[ $tsan != 0 ]]; then
  start=$SECONDS
  "$root/scripts/setup.sh"
  build=${LLMC_TSAN_BUILD_DIR:-$root/build-tsan}
  if [[ ! -f $build/build.ninja ]]; then
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
      -DLLMC_SANITIZE=thread
  fi
  ninja -C "$build" -j "${LLMC_JOBS:-2}" LLMRuntimeTests
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  "$root/build/bin/llm-compile" "$root/test/e2e/llama_gqa" \
    -o "$work/threads.llmc" --prompt-lens 4 --decode-batch 2
  status=0
  TSAN_OPTIONS="halt_on_error=1:exitcode=86${TSAN_OPTIONS:+:$TSAN_OPTIONS}" \
    LLMC_THREADS_ARTIFACT="$work/threads.llmc" \
    "$build/test/unit/LLMRuntimeTests" \
    --gtest_filter='ThreadsTest.*:ThreadPool*:SessionTest.*:Isas/MoeTest.*3threads' \
    2>&1 | tee "$work/log" || status=1
  passed=$(grep -c '^\[       OK \]' "$work/log" || true)
  failed=$(grep -c '^\[  FAILED  \] .*(' "$work/log" || true)
  if grep -q 'WARNING: ThreadSanitizer' "$work/log"; then
    status=1
    failed=$((failed + 1))
  fi
  echo "tsan mode ($build): build and tests took $((SECONDS - start)) s"
  echo "$passed passed, $failed failed"
  exit $status
fi

if [[ $sanitize != 0 ]]; then
  start=$SECONDS
  build=${LLMC_ASAN_BUILD_DIR:-$root/build-asan}
  sanitizers="address;undefined"
  # A tree configured before (or without) the option is switched over.
  if [[ -f $build/CMakeCache.txt ]] &&
    ! grep -qx "LLMC_SANITIZE:STRING=$sanitizers" "$build/CMakeCache.txt"; then
    cmake "$build" -DLLMC_SANITIZE="$sanitizers"
  fi
  LLMC_BUILD_DIR=$build LLMC_CMAKE_ARGS="-DLLMC_SANITIZE=$sanitizers" \
    "$root/scripts/setup.sh"
  lit_args=(--filter-out '^LLMC :: repo/' "$build/test" "$build/test/unit")
  # allow_user_poisoning=0: LLVM's BumpPtrAllocator poisons its slabs from
  # inline header code, which is instrumented in our objects but not in the
  # prebuilt libLLVM/libMLIR that allocate from those slabs: every MLIR
  # attribute storage would read as use-after-poison. Leak detection stays on
  # (the JIT frees what it allocates). allocator_may_return_null=1: a huge
  # request fails as in production (std::nothrow users report it) instead of
  # aborting. exitcode=86 tells a sanitizer report from llm-run's own exit
  # code 1 on bad input.
  export ASAN_OPTIONS="allow_user_poisoning=0:allocator_may_return_null=1:exitcode=86${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
  export UBSAN_OPTIONS="print_stacktrace=1:exitcode=86${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
  export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-/usr/lib/llvm-22/bin/llvm-symbolizer}
else
  build=${LLMC_BUILD_DIR:-$root/build}
  "$root/scripts/setup.sh"
  lit_args=("$build/test" "$build/test/unit")
fi

# Test inputs too big to commit (the all-MiniLM-L6-v2 encoder).
"$root/scripts/fetch_test_inputs.sh"

results=$(mktemp)
strict=$(mktemp)
trap 'rm -f "$results" "$strict"' EXIT
status=0
/usr/lib/llvm-22/bin/lit -sv --order=lexical -o "$results" "${lit_args[@]}" ||
  status=$?
echo '{"tests": []}' >"$strict"
if [[ $sanitize != 0 ]]; then
  # allocator_may_return_null=1 lets a huge request fail as it does in
  # production; it would also hide an abort on the way to an error path.
  # The bad-input tests run again without it (but the out-of-memory one,
  # where ASan's own allocator refuses the terabyte first: the normal run
  # checks that path without a sanitizer).
  ASAN_OPTIONS=${ASAN_OPTIONS//allocator_may_return_null=1:/} \
    /usr/lib/llvm-22/bin/lit -sv --order=lexical -o "$strict" \
    --filter-out 'out-of-memory' "$build/test/e2e/errors" || status=$?
fi

if [[ $sanitize != 0 ]]; then
  echo "sanitizer mode ($sanitizers, $build): build and tests took" \
    "$((SECONDS - start)) s"
fi
python3 - "$results" "$strict" <<'PY'
import json, sys
tests = json.load(open(sys.argv[1]))["tests"]
# The strict rerun of the bad-input tests (sanitizer mode) counts apart.
for t in json.load(open(sys.argv[2]))["tests"]:
    t["name"] += " (without allocator_may_return_null)"
    tests.append(t)
ok = {"PASS", "XFAIL"}
skipped = {"UNSUPPORTED"}
passed = sum(t["code"] in ok for t in tests)
skip = sum(t["code"] in skipped for t in tests)
failed = len(tests) - passed - skip
for t in tests:
    if t["code"] not in ok | skipped:
        print(f"FAILED: {t['name']} ({t['code']})")
print(f"{passed} passed, {failed} failed" + (f", {skip} skipped" if skip else ""))
PY
exit $status
