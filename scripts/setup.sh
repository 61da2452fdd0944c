#!/usr/bin/env bash
# Installs what LLMC needs on Debian 12 (as root) and builds it.
# Idempotent: when everything is installed and built it only runs ninja.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${LLMC_BUILD_DIR:-$root/build}

apt_packages=(
  cmake ninja-build ccache python3 python3-numpy python3-pip
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools clang-22
  clang-format-22 clang-tidy-22 libclang-rt-22-dev
  libprotobuf-dev protobuf-compiler libonnx-dev libgtest-dev libbenchmark-dev
  libicu-dev libpcre2-dev pkg-config
)

missing=()
for pkg in "${apt_packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: these Debian packages are missing and installing them needs root: ${missing[*]}" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# LLMC_CMAKE_ARGS: extra arguments when configuring a new tree (scripts/test.sh
# --sanitize passes -DLLMC_SANITIZE=...).
read -ra cmake_args <<<"${LLMC_CMAKE_ARGS:-}"
if [[ ! -f $build/build.ninja ]]; then
  cmake -S "$root" -B "$build" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    "${cmake_args[@]}"
fi
# Two cores: more jobs only thrash memory with MLIR headers.
ninja -C "$build" -j "${LLMC_JOBS:-2}"
