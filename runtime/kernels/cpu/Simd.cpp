//===- Simd.cpp - Choice of the per-ISA kernel table ----------------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "Simd.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <cpuid.h>
#endif

namespace llmk {
namespace {

Isa detectHostIsa() {
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
  __builtin_cpu_init();
  // F16C is not in every compiler's __builtin_cpu_supports list: CPUID.1:ECX
  // bit 29.
  unsigned eax, ebx, ecx = 0, edx;
  bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 29));
  // __builtin_cpu_supports also checks that the OS saves the registers.
  bool avx2 =
      __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c;
  bool avx512 =
      avx2 && getAvx512Kernels() && __builtin_cpu_supports("avx512f") &&
      __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  if (avx512 && getAvx512Bf16Kernels() && __builtin_cpu_supports("avx512bf16"))
    return Isa::Avx512Bf16;
  if (avx512)
    return Isa::Avx512;
  if (avx2 && getAvx2Kernels())
    return Isa::Avx2;
#endif
  return Isa::Scalar;
}

/// The cap from LLMK_ISA, or the host's best.
Isa initialIsa(Isa host) {
  const char *env = std::getenv("LLMK_ISA");
  Isa cap = host;
  if (env && !std::strcmp(env, "scalar"))
    cap = Isa::Scalar;
  else if (env && !std::strcmp(env, "avx2"))
    cap = Isa::Avx2;
  else if (env && !std::strcmp(env, "avx512"))
    cap = Isa::Avx512;
  return cap < host ? cap : host;
}

const SimdKernels *tableFor(Isa isa) {
  switch (isa) {
  case Isa::Avx512Bf16:
    return getAvx512Bf16Kernels();
  case Isa::Avx512:
    return getAvx512Kernels();
  case Isa::Avx2:
    return getAvx2Kernels();
  case Isa::Scalar:
    break;
  }
  return getScalarKernels();
}

std::atomic<const SimdKernels *> &activeTable() {
  static std::atomic<const SimdKernels *> table{
      tableFor(initialIsa(getHostIsa()))};
  return table;
}

} // namespace

Isa getHostIsa() {
  static const Isa host = detectHostIsa();
  return host;
}

void setMaxIsa(Isa isa) {
  Isa host = getHostIsa();
  activeTable().store(tableFor(isa < host ? isa : host),
                      std::memory_order_relaxed);
}

const SimdKernels &getSimdKernels() {
  return *activeTable().load(std::memory_order_relaxed);
}

} // namespace llmk
