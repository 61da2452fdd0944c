#!/usr/bin/env bash
# Fails (and prints the diff) when a tracked C++ file is not clang-formatted.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
format=${CLANG_FORMAT:-clang-format-22}
status=0
while IFS= read -r file; do
  if ! diff -u "$file" <("$format" --style=file "$file") \
      --label "$file" --label "$file (clang-formatted)"; then
    status=1
  fi
done < <(git ls-files '*.c' '*.cpp' '*.h' '*.cc' '*.hpp' '*.cu' '*.cuh')
if ((status)); then
  echo "check-format: run scripts/format.sh to fix the files above" >&2
fi
exit $status
