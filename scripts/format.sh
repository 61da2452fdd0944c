#!/usr/bin/env bash
# Formats every tracked C++ file in place with the repository's .clang-format.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
git ls-files '*.c' '*.cpp' '*.h' '*.cc' '*.hpp' '*.cu' '*.cuh' |
  xargs -r "${CLANG_FORMAT:-clang-format-22}" --style=file -i
