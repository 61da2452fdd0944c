//===- SimdScalar.cpp - Portable inner loops of the CPU kernels -----------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// The fallback for hosts without AVX2: plain C++ over 8-float "vectors" that
// the compiler maps onto whatever SIMD the baseline target has.
//
//===----------------------------------------------------------------------===//

#include "Common.h"
#include "Kernels.h"
#include "Quant.h"
#include "Simd.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <utility>

namespace llmk {
namespace {

#define LLMK_TARGET

/// Eight floats operated on lane by lane.
struct Vec {
  static constexpr int kWidth = 8;
  struct Type {
    float lane[kWidth];
  };

  static Type zero() { return set1(0.0f); }
  static Type set1(float value) {
    Type result;
    for (float &lane : result.lane)
      lane = value;
    return result;
  }
  static Type load(const float *p) {
    Type result;
    std::memcpy(result.lane, p, sizeof(result.lane));
    return result;
  }
  static Type loadPartial(const float *p, int count) {
    Type result = zero();
    std::memcpy(result.lane, p, count * sizeof(float));
    return result;
  }
  static void store(float *p, Type v) { std::memcpy(p, v.lane, sizeof(v)); }
  static void storePartial(float *p, Type v, int count) {
    std::memcpy(p, v.lane, count * sizeof(float));
  }
  static Type loadBf16(const uint16_t *p) {
    Type result;
    for (int i = 0; i < kWidth; ++i)
      result.lane[i] = bf16ToFloat(p[i]);
    return result;
  }
  static Type loadF16(const uint16_t *p) {
    Type result;
    for (int i = 0; i < kWidth; ++i)
      result.lane[i] = halfToFloat(p[i]);
    return result;
  }
  static Type loadI8(const int8_t *p) {
    Type result;
    for (int i = 0; i < kWidth; ++i)
      result.lane[i] = static_cast<float>(p[i]);
    return result;
  }
  static Type fma(Type a, Type b, Type c) {
    for (int i = 0; i < kWidth; ++i)
      c.lane[i] += a.lane[i] * b.lane[i];
    return c;
  }
  static Type add(Type a, Type b) {
    for (int i = 0; i < kWidth; ++i)
      a.lane[i] += b.lane[i];
    return a;
  }
  static Type sub(Type a, Type b) {
    for (int i = 0; i < kWidth; ++i)
      a.lane[i] -= b.lane[i];
    return a;
  }
  static Type mul(Type a, Type b) {
    for (int i = 0; i < kWidth; ++i)
      a.lane[i] *= b.lane[i];
    return a;
  }
  static Type div(Type a, Type b) {
    for (int i = 0; i < kWidth; ++i)
      a.lane[i] /= b.lane[i];
    return a;
  }
  static Type max(Type a, Type b) {
    for (int i = 0; i < kWidth; ++i)
      a.lane[i] = std::max(a.lane[i], b.lane[i]);
    return a;
  }
  static Type exp(Type a) {
    for (float &lane : a.lane)
      lane = std::exp(lane);
    return a;
  }
  static float reduceAdd(Type v) {
    // Pairwise, like the SIMD versions, to keep rounding comparable.
    for (int width = kWidth / 2; width > 0; width /= 2)
      for (int i = 0; i < width; ++i)
        v.lane[i] += v.lane[i + width];
    return v.lane[0];
  }
};

constexpr Isa kIsa = Isa::Scalar;
constexpr const char *kIsaName = "scalar";
constexpr int kGemmRows = 4;
constexpr int kGemmVectors = 1;
constexpr int kPanelTileRows = 4;
constexpr int kPanelPass = 3;
constexpr int kAxpyVectors = 2;

/// Block dot products of the quantized GEMV, one integer sum per block.
struct QDot {
  /// The sums over values 0-15 and 16-31.
  struct Acc {
    float lo, hi;
  };
  static Acc zero() { return {0.0f, 0.0f}; }
  static Acc dot8(const uint8_t *w, const int8_t *x) {
    int32_t lo = 0, hi = 0;
    for (int i = 0; i < 16; ++i) {
      lo += static_cast<int8_t>(w[i]) * x[i];
      hi += static_cast<int8_t>(w[i + 16]) * x[i + 16];
    }
    return {static_cast<float>(lo), static_cast<float>(hi)};
  }
  static Acc dot4(const uint8_t *w, const int8_t *x) {
    int32_t lo = 0, hi = 0;
    for (int i = 0; i < 16; ++i) {
      lo += (w[i] & 15) * x[i];
      hi += (w[i] >> 4) * x[i + 16];
    }
    return {static_cast<float>(lo), static_cast<float>(hi)};
  }
  /// 5 and 6 bits: the nibbles, then a word per higher bit.
  template <int Planes>
  static Acc dotPlanes(const uint8_t *w, const int8_t *x) {
    uint32_t planes[Planes];
    std::memcpy(planes, w + 16, 4 * Planes);
    int32_t lo = 0, hi = 0;
    for (int i = 0; i < 16; ++i) {
      int v0 = w[i] & 15, v1 = w[i] >> 4;
      for (int p = 0; p < Planes; ++p) {
        v0 |= int((planes[p] >> i) & 1) << (4 + p);
        v1 |= int((planes[p] >> (i + 16)) & 1) << (4 + p);
      }
      lo += v0 * x[i];
      hi += v1 * x[i + 16];
    }
    return {static_cast<float>(lo), static_cast<float>(hi)};
  }
  static Acc dot5(const uint8_t *w, const int8_t *x) {
    return dotPlanes<1>(w, x);
  }
  static Acc dot6(const uint8_t *w, const int8_t *x) {
    return dotPlanes<2>(w, x);
  }
  static Acc fma(Acc a, float s, Acc acc) {
    return {acc.lo + a.lo * s, acc.hi + a.hi * s};
  }
  static Acc fma2(Acc a, float lo, float hi, Acc acc) {
    return {acc.lo + a.lo * lo, acc.hi + a.hi * hi};
  }
  static float reduce(Acc a) { return a.lo + a.hi; }
};

#include "QuantKernels.inc"

#include "SimdKernels.inc"

} // namespace

const SimdKernels *getScalarKernels() { return &kKernels; }

} // namespace llmk
