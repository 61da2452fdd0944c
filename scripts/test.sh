#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole LLMC test suite:
# lit + FileCheck, GoogleTest (through lit), formatting and generated docs.
# Ends with a line `N passed, N failed`.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${LLMC_BUILD_DIR:-$root/build}

"$root/scripts/setup.sh"

results=$(mktemp)
trap 'rm -f "$results"' EXIT
status=0
/usr/lib/llvm-22/bin/lit -sv --order=lexical -o "$results" \
  "$build/test" "$build/test/unit" || status=$?

python3 - "$results" <<'PY'
import json, sys
tests = json.load(open(sys.argv[1]))["tests"]
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
