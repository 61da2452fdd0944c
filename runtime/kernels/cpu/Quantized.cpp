//===- Quantized.cpp - Quantizing weights and activations -----------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// Round-to-nearest quantization of weights into Quant.h's layout (the
// runtime runs it once per weight when it binds the parameters), its
// inverse, and the per-block int8 quantization of activations that the
// quantized GEMV runs on.
//
//===----------------------------------------------------------------------===//

#include "Quant.h"

#include "Common.h"

#include "Simd.h"
#include "ThreadPool.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

using namespace llmk;

std::string llmk::checkQuantization(int bits, int64_t group, int64_t k) {
  if (bits != 8 && bits != 6 && bits != 5 && bits != 4)
    return "expected 8, 6, 5 or 4 bits, found " + std::to_string(bits);
  if (group == kQuantBlock / 2) {
    if (k % kQuantBlock != 0)
      return "expected groups of 16 over a multiple of 32 input features, "
             "found " +
             std::to_string(k);
    return "";
  }
  if (group < 0 || (group > 0 && group % kQuantBlock != 0))
    return "expected a group size of 0 (per output channel), 16 or a "
           "multiple of " +
           std::to_string(kQuantBlock) + ", found " + std::to_string(group);
  if (group > 0 && k % group != 0)
    return "expected a group size that divides the " + std::to_string(k) +
           " input features, found " + std::to_string(group);
  return "";
}

namespace {

/// `value` as the nearest f16 (ties to even), finite: magnitudes past the
/// largest f16 (65504) clamp to it.
uint16_t toHalf(float value) {
  uint32_t x;
  std::memcpy(&x, &value, sizeof(x));
  const uint32_t sign = (x >> 16) & 0x8000u, magnitude = x & 0x7fffffffu;
  if (magnitude >= 0x477ff000u) // 65520 and up (and NaN): the largest.
    return static_cast<uint16_t>(sign | 0x7bffu);
  if (magnitude < 0x38800000u) { // Below 2^-14: a subnormal f16 (or 0).
    const float scaled = std::fabs(value) * 16777216.0f; // in units of 2^-24
    return static_cast<uint16_t>(sign |
                                 static_cast<uint32_t>(std::nearbyint(scaled)));
  }
  uint32_t half =
      ((magnitude >> 23) - 112) << 10 | ((magnitude >> 13) & 0x3ffu);
  const uint32_t rest = magnitude & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (half & 1u)))
    ++half;
  return static_cast<uint16_t>(sign | std::min(half, 0x7bffu));
}

/// `value` rounded to f16 and back.
float roundedToHalf(float value) { return halfToFloat(toHalf(value)); }

/// The (scale, offset) of one group of values and its quantized values; the
/// scale (and the minimum) are rounded to f16, as stored, before the values
/// are quantized against them.
QuantGrid quantizeGroup(const float *w, int64_t count, int bits, bool symmetric,
                        int8_t *q) {
  QuantGrid grid;
  if (symmetric) {
    // 8 bits: [-127, 127] by max|w|. 4 and 5 bits: [-h, h - 1] (h = 8, 16)
    // with the element of largest magnitude at -h (llama.cpp's Q4_0, Q5_0),
    // stored + h (unsigned).
    float extreme = 0.0f;
    for (int64_t i = 0; i < count; ++i)
      if (std::fabs(w[i]) > std::fabs(extreme))
        extreme = w[i];
    const float half = bits == 8 ? 0.0f : static_cast<float>(1 << (bits - 1));
    const float s = roundedToHalf(bits == 8 ? std::fabs(extreme) / 127.0f
                                            : extreme / -half);
    const float inverse = s != 0.0f ? 1.0f / s : 0.0f;
    const float lo = bits == 8 ? -127.0f : -half;
    const float hi = bits == 8 ? 127.0f : half - 1.0f;
    if (q)
      for (int64_t i = 0; i < count; ++i) {
        float v = std::clamp(std::nearbyint(w[i] * inverse), lo, hi);
        q[i] = static_cast<int8_t>(v + half);
      }
    grid.scale = s;
    grid.offset = bits == 8 ? 0.0f : -half * s;
    grid.lo = bits == 8 ? -127 : 0;
    grid.hi = bits == 8 ? 127 : (1 << bits) - 1;
    return grid;
  }
  // The group's [min, max] on 2^bits levels; 0 is always in range, so a
  // zero weight stays (nearly) zero.
  float lo = 0.0f, hi = 0.0f;
  for (int64_t i = 0; i < count; ++i) {
    lo = std::min(lo, w[i]);
    hi = std::max(hi, w[i]);
  }
  lo = roundedToHalf(lo);
  const float levels = static_cast<float>((1 << bits) - 1);
  const float s = roundedToHalf((hi - lo) / levels);
  const float inverse = s != 0.0f ? 1.0f / s : 0.0f;
  if (q)
    for (int64_t i = 0; i < count; ++i) {
      float v = std::clamp(std::nearbyint((w[i] - lo) * inverse), 0.0f, levels);
      // 8 bits are stored signed: q - 128.
      q[i] = static_cast<int8_t>(bits == 8 ? v - 128.0f : v);
    }
  grid.scale = s;
  // The offset as stored (f16), so that GPTQ's codes are chosen against
  // the values the kernels compute.
  grid.offset = roundedToHalf(bits == 8 ? lo + 128.0f * s : lo);
  grid.lo = bits == 8 ? -128 : 0;
  grid.hi = bits == 8 ? 127 : (1 << bits) - 1;
  return grid;
}

/// Row `row` of `codes` into the values part of the packed weight.
void packRow(const int8_t *q, int64_t row, int64_t k, int bits,
             uint8_t *bytes) {
  const int64_t blocks = quantBlocks(k), blockBytes = quantBlockBytes(bits);
  uint8_t *dst = bytes + row * blocks * blockBytes;
  if (bits == 8) {
    std::memcpy(dst, q, k);
    std::memset(dst + k, 0, blocks * kQuantBlock - k);
    return;
  }
  // A last partial block is padded with the code 2^(bits - 1) (stands for 0
  // when symmetric; the activations there are 0 either way).
  const uint8_t pad = static_cast<uint8_t>(1 << (bits - 1));
  auto at = [&](int64_t i) -> uint8_t {
    return i < k ? static_cast<uint8_t>(q[i]) : pad;
  };
  for (int64_t b = 0; b < blocks; ++b) {
    uint8_t *block = dst + b * blockBytes;
    uint32_t planes[2] = {0, 0};
    for (int64_t i = 0; i < 16; ++i) {
      const uint8_t v0 = at(b * 32 + i), v1 = at(b * 32 + i + 16);
      block[i] = static_cast<uint8_t>((v0 & 15) | (v1 & 15) << 4);
      for (int p = 0; p < 2; ++p)
        planes[p] |= uint32_t((v0 >> (4 + p)) & 1) << i |
                     uint32_t((v1 >> (4 + p)) & 1) << (i + 16);
    }
    std::memcpy(block + 16, planes, 4 * (bits - 4));
  }
}

/// The integer GEMM's copy of packed values: per panel, per quad of steps,
/// each column's 4 values as unsigned bytes.
void packQuads(int64_t n, int64_t k, int bits, int64_t group, uint8_t *bytes) {
  constexpr int64_t kPanelRows = 48;
  const int64_t blocks = quantBlocks(k), blockBytes = quantBlockBytes(bits);
  const int64_t kp = blocks * kQuantBlock;
  uint8_t *copy = bytes + quantQuadsOffset(n, k, bits, group);
  parallelFor(quantQuadRows(n) / kPanelRows, [&](int64_t j) {
    uint8_t *panel = copy + j * kPanelRows * kp;
    for (int64_t c = 0; c < kPanelRows; ++c) {
      const int64_t row = j * kPanelRows + c;
      uint8_t *dst = panel + c * 4;
      if (row >= n) {
        for (int64_t p = 0; p < kp; ++p)
          dst[(p / 4) * kPanelRows * 4 + p % 4] = 0;
        continue;
      }
      const uint8_t *src = bytes + row * blocks * blockBytes;
      for (int64_t p = 0; p < kp; ++p) {
        const int64_t i = p % kQuantBlock;
        uint8_t value;
        if (bits == 8) {
          value = src[p] ^ 0x80;
        } else {
          const uint8_t *block = src + p / kQuantBlock * blockBytes;
          uint8_t byte = block[i % 16];
          value = i < 16 ? byte & 15 : byte >> 4;
          for (int plane = 0; plane < bits - 4; ++plane) {
            uint32_t high;
            std::memcpy(&high, block + 16 + 4 * plane, 4);
            value |= ((high >> i) & 1) << (4 + plane);
          }
        }
        dst[(p / 4) * kPanelRows * 4 + p % 4] = value;
      }
    }
  });
}

/// Zeroes the padding between the values and the (scale, offset) pairs.
void clearPadding(int64_t n, int64_t k, int bits, uint8_t *bytes) {
  const int64_t used = n * quantBlocks(k) * quantBlockBytes(bits);
  std::memset(bytes + used, 0, quantParamsOffset(n, k, bits) - used);
}

} // namespace

int QuantGrid::quantize(float w) const {
  const float inverse = scale != 0.0f ? 1.0f / scale : 0.0f;
  const float code = std::nearbyint((w - offset) * inverse);
  return static_cast<int>(
      std::clamp(code, static_cast<float>(lo), static_cast<float>(hi)));
}

QuantGrid llmk::chooseQuantGrid(const float *w, int64_t count, int bits,
                                bool symmetric) {
  return quantizeGroup(w, count, bits, symmetric, nullptr);
}

void llmk::quantizeWeight(const float *w, int64_t n, int64_t k, int bits,
                          int64_t group, bool symmetric, void *out,
                          bool quads) {
  auto *bytes = static_cast<uint8_t *>(out);
  const int64_t groups = quantGroups(k, group);
  const int64_t groupSize = group == 0 ? k : group;
  auto *params =
      reinterpret_cast<uint16_t *>(bytes + quantParamsOffset(n, k, bits));
  clearPadding(n, k, bits, bytes);
  parallelFor(n, [&](int64_t row) {
    std::vector<int8_t> q(k);
    for (int64_t g = 0; g < groups; ++g) {
      QuantGrid grid = quantizeGroup(w + row * k + g * groupSize, groupSize,
                                     bits, symmetric, q.data() + g * groupSize);
      params[(row * groups + g) * 2] = toHalf(grid.scale);
      params[(row * groups + g) * 2 + 1] = toHalf(grid.offset);
    }
    packRow(q.data(), row, k, bits, bytes);
  });
  if (quads)
    packQuads(n, k, bits, group, bytes);
}

void llmk::packQuantized(const int8_t *codes, const QuantGrid *grids, int64_t n,
                         int64_t k, int bits, int64_t group, void *out,
                         bool quads) {
  auto *bytes = static_cast<uint8_t *>(out);
  const int64_t groups = quantGroups(k, group);
  auto *params =
      reinterpret_cast<uint16_t *>(bytes + quantParamsOffset(n, k, bits));
  clearPadding(n, k, bits, bytes);
  parallelFor(n, [&](int64_t row) {
    for (int64_t g = 0; g < groups; ++g) {
      params[(row * groups + g) * 2] = toHalf(grids[row * groups + g].scale);
      params[(row * groups + g) * 2 + 1] =
          toHalf(grids[row * groups + g].offset);
    }
    packRow(codes + row * k, row, k, bits, bytes);
  });
  if (quads)
    packQuads(n, k, bits, group, bytes);
}

void llmk::dequantize(const void *packed, int64_t n, int64_t k, int bits,
                      int64_t group, int64_t row, int64_t p0, int64_t count,
                      float *dst) {
  const auto *bytes = static_cast<const uint8_t *>(packed);
  const int64_t blockBytes = quantBlockBytes(bits);
  const uint8_t *values = bytes + row * quantBlocks(k) * blockBytes;
  const auto *params = reinterpret_cast<const uint16_t *>(
                           bytes + quantParamsOffset(n, k, bits)) +
                       row * quantGroups(k, group) * 2;
  const int64_t groupSize = group == 0 ? k : group;
  // A block at a time (groups are whole blocks, or halves of one): its 32
  // values, then the part of them in [p0, p0 + count).
  for (int64_t b = p0 / kQuantBlock; b * kQuantBlock < p0 + count; ++b) {
    const int64_t first = b * kQuantBlock;
    const uint16_t *first16 = params + (first / groupSize) * 2;
    const uint16_t *last16 = group == kQuantBlock / 2 ? first16 + 2 : first16;
    const float scales[2] = {halfToFloat(first16[0]), halfToFloat(last16[0])};
    const float offsets[2] = {halfToFloat(first16[1]), halfToFloat(last16[1])};
    float block[kQuantBlock];
    const uint8_t *q = values + b * blockBytes;
    if (bits == 8) {
      for (int i = 0; i < 32; ++i)
        block[i] =
            scales[i / 16] * static_cast<float>(static_cast<int8_t>(q[i])) +
            offsets[i / 16];
    } else if (bits > 4) {
      uint32_t planes[2] = {0, 0};
      std::memcpy(planes, q + 16, 4 * (bits - 4));
      for (int i = 0; i < 16; ++i) {
        int v0 = q[i] & 15, v1 = q[i] >> 4;
        for (int p = 0; p < 2; ++p) {
          v0 |= int((planes[p] >> i) & 1) << (4 + p);
          v1 |= int((planes[p] >> (i + 16)) & 1) << (4 + p);
        }
        block[i] = scales[0] * static_cast<float>(v0) + offsets[0];
        block[i + 16] = scales[1] * static_cast<float>(v1) + offsets[1];
      }
    } else {
      for (int i = 0; i < 16; ++i) {
        block[i] = scales[0] * static_cast<float>(q[i] & 15) + offsets[0];
        block[i + 16] = scales[1] * static_cast<float>(q[i] >> 4) + offsets[1];
      }
    }
    const int64_t lo = std::max(first, p0);
    const int64_t hi = std::min(first + kQuantBlock, p0 + count);
    std::copy(block + (lo - first), block + (hi - first), dst + (lo - p0));
  }
}

void llmk::quantizeActivations(const float *x, int64_t k,
                               QuantizedActivations out) {
  static const QuantizeActivationsFn wide = getAvx512QuantizeActivations();
  if (wide && getSimdKernels().isa >= Isa::Avx512)
    return wide(x, k, out);
  const int64_t blocks = quantBlocks(k);
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t p0 = b * kQuantBlock;
    const int64_t count = std::min(kQuantBlock, k - p0);
    float amax = 0.0f;
    bool finite = true;
    for (int64_t i = 0; i < count; ++i) {
      finite &= std::isfinite(x[p0 + i]);
      amax = std::max(amax, std::fabs(x[p0 + i]));
    }
    if (!finite) {
      markNonFinite(out, b, blocks);
      continue;
    }
    const float scale = amax / 127.0f;
    const float inverse = amax > 0.0f ? 127.0f / amax : 0.0f;
    int32_t sum = 0, firstHalf = 0;
    int8_t *q = out.values + p0;
    for (int64_t i = 0; i < kQuantBlock; ++i) {
      int v =
          i < count ? static_cast<int>(std::nearbyint(x[p0 + i] * inverse)) : 0;
      v = std::clamp(v, -127, 127);
      q[i] = static_cast<int8_t>(v);
      sum += v;
      if (i == 15)
        firstHalf = sum;
    }
    out.scales[b] = scale;
    out.sums[b] = scale * static_cast<float>(sum);
    if (out.valueSums)
      out.valueSums[b] = sum;
    if (out.halfSums) {
      out.halfSums[b] = scale * static_cast<float>(firstHalf);
      out.halfSums[blocks + b] = scale * static_cast<float>(sum - firstHalf);
    }
  }
}
