//===- GGMLBlocks.cpp - llama.cpp's quantized block formats ---------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "GGMLBlocks.h"

#include "Common.h"

#include <cstring>

using namespace llmk;

namespace {

float half(const uint8_t *p) {
  uint16_t bits;
  std::memcpy(&bits, p, 2);
  return halfToFloat(bits);
}

/// The 6-bit scale and min `j` of a Q4_K/Q5_K block's 12 scale bytes.
void scaleMinK4(int j, const uint8_t *q, uint8_t &scale, uint8_t &min) {
  if (j < 4) {
    scale = q[j] & 63;
    min = q[j + 4] & 63;
  } else {
    scale = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

constexpr int8_t kIQ4NL[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                               1,    13,   25,  38,  53,  69,  89,  113};

void q8_0(const uint8_t *b, float *y) {
  const float d = half(b);
  for (int j = 0; j < 32; ++j)
    y[j] = static_cast<float>(static_cast<int8_t>(b[2 + j])) * d;
}

void q4_0(const uint8_t *b, float *y) {
  const float d = half(b);
  const uint8_t *qs = b + 2;
  for (int j = 0; j < 16; ++j) {
    y[j] = static_cast<float>((qs[j] & 0xF) - 8) * d;
    y[j + 16] = static_cast<float>((qs[j] >> 4) - 8) * d;
  }
}

void q4_1(const uint8_t *b, float *y) {
  const float d = half(b), m = half(b + 2);
  const uint8_t *qs = b + 4;
  for (int j = 0; j < 16; ++j) {
    y[j] = static_cast<float>(qs[j] & 0xF) * d + m;
    y[j + 16] = static_cast<float>(qs[j] >> 4) * d + m;
  }
}

void q5(const uint8_t *b, float *y, bool withMin) {
  const float d = half(b), m = withMin ? half(b + 2) : 0.0f;
  const uint8_t *qhBytes = b + (withMin ? 4 : 2);
  uint32_t qh;
  std::memcpy(&qh, qhBytes, 4);
  const uint8_t *qs = qhBytes + 4;
  for (int j = 0; j < 16; ++j) {
    const uint8_t xh0 = ((qh >> j) << 4) & 0x10;
    const uint8_t xh1 = (qh >> (j + 12)) & 0x10;
    const int x0 = (qs[j] & 0xF) | xh0, x1 = (qs[j] >> 4) | xh1;
    if (withMin) {
      y[j] = static_cast<float>(x0) * d + m;
      y[j + 16] = static_cast<float>(x1) * d + m;
    } else {
      y[j] = static_cast<float>(x0 - 16) * d;
      y[j + 16] = static_cast<float>(x1 - 16) * d;
    }
  }
}

void iq4_nl(const uint8_t *b, float *y) {
  const float d = half(b);
  const uint8_t *qs = b + 2;
  for (int j = 0; j < 16; ++j) {
    y[j] = d * static_cast<float>(kIQ4NL[qs[j] & 0xF]);
    y[j + 16] = d * static_cast<float>(kIQ4NL[qs[j] >> 4]);
  }
}

void q2_k(const uint8_t *b, float *y) {
  const uint8_t *scales = b, *q = b + 16;
  const float d = half(b + 80), dmin = half(b + 82);
  int is = 0;
  for (int n = 0; n < 256; n += 128) {
    int shift = 0;
    for (int j = 0; j < 4; ++j) {
      uint8_t sc = scales[is++];
      float dl = d * static_cast<float>(sc & 0xF),
            ml = dmin * static_cast<float>(sc >> 4);
      for (int l = 0; l < 16; ++l)
        *y++ = dl * static_cast<float>((q[l] >> shift) & 3) - ml;
      sc = scales[is++];
      dl = d * static_cast<float>(sc & 0xF);
      ml = dmin * static_cast<float>(sc >> 4);
      for (int l = 0; l < 16; ++l)
        *y++ = dl * static_cast<float>((q[l + 16] >> shift) & 3) - ml;
      shift += 2;
    }
    q += 32;
  }
}

void q3_k(const uint8_t *b, float *y) {
  const uint8_t *hm = b, *q = b + 32, *s8 = b + 96;
  const float d = half(b + 108);
  int8_t s[16];
  for (int i = 0; i < 4; ++i) {
    s[i] = static_cast<int8_t>((s8[i] & 0xF) | ((s8[8 + i] & 3) << 4));
    s[4 + i] =
        static_cast<int8_t>((s8[4 + i] & 0xF) | (((s8[8 + i] >> 2) & 3) << 4));
    s[8 + i] =
        static_cast<int8_t>((s8[i] >> 4) | (((s8[8 + i] >> 4) & 3) << 4));
    s[12 + i] =
        static_cast<int8_t>((s8[4 + i] >> 4) | (((s8[8 + i] >> 6) & 3) << 4));
  }
  uint8_t m = 1;
  int is = 0;
  for (int n = 0; n < 256; n += 128) {
    int shift = 0;
    for (int j = 0; j < 4; ++j) {
      float dl = d * static_cast<float>(s[is++] - 32);
      for (int l = 0; l < 16; ++l)
        *y++ = dl * static_cast<float>(((q[l] >> shift) & 3) -
                                       ((hm[l] & m) ? 0 : 4));
      dl = d * static_cast<float>(s[is++] - 32);
      for (int l = 0; l < 16; ++l)
        *y++ = dl * static_cast<float>(((q[l + 16] >> shift) & 3) -
                                       ((hm[l + 16] & m) ? 0 : 4));
      shift += 2;
      m <<= 1;
    }
    q += 32;
  }
}

void q45_k(const uint8_t *b, float *y, bool five) {
  const float d = half(b), dmin = half(b + 2);
  const uint8_t *scales = b + 4;
  const uint8_t *qh = b + 16;
  const uint8_t *q = five ? b + 48 : b + 16;
  int is = 0;
  uint8_t u1 = 1, u2 = 2;
  for (int j = 0; j < 256; j += 64) {
    uint8_t sc, mn;
    scaleMinK4(is, scales, sc, mn);
    const float d1 = d * static_cast<float>(sc),
                m1 = dmin * static_cast<float>(mn);
    scaleMinK4(is + 1, scales, sc, mn);
    const float d2 = d * static_cast<float>(sc),
                m2 = dmin * static_cast<float>(mn);
    for (int l = 0; l < 32; ++l)
      *y++ = d1 * static_cast<float>((q[l] & 0xF) +
                                     (five && (qh[l] & u1) ? 16 : 0)) -
             m1;
    for (int l = 0; l < 32; ++l)
      *y++ = d2 * static_cast<float>((q[l] >> 4) +
                                     (five && (qh[l] & u2) ? 16 : 0)) -
             m2;
    q += 32;
    is += 2;
    u1 <<= 2;
    u2 <<= 2;
  }
}

void q6_k(const uint8_t *b, float *y) {
  const uint8_t *ql = b, *qh = b + 128;
  const auto *sc = reinterpret_cast<const int8_t *>(b + 192);
  const float d = half(b + 208);
  for (int n = 0; n < 256; n += 128) {
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int q1 =
          static_cast<int8_t>((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q2 =
          static_cast<int8_t>((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) -
          32;
      const int q3 =
          static_cast<int8_t>((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 =
          static_cast<int8_t>((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) -
          32;
      y[l] = d * static_cast<float>(sc[is]) * static_cast<float>(q1);
      y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
      y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
      y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
    }
    y += 128;
    ql += 64;
    qh += 32;
    sc += 8;
  }
}

} // namespace

bool llmk::getGGMLBlock(uint32_t type, int64_t &elements, int64_t &bytes) {
  switch (static_cast<GGMLType>(type)) {
  case GGMLType::F32:
    elements = 1, bytes = 4;
    return true;
  case GGMLType::F16:
  case GGMLType::BF16:
    elements = 1, bytes = 2;
    return true;
  case GGMLType::Q8_0:
    elements = 32, bytes = 34;
    return true;
  case GGMLType::Q4_0:
  case GGMLType::IQ4_NL:
    elements = 32, bytes = 18;
    return true;
  case GGMLType::Q4_1:
    elements = 32, bytes = 20;
    return true;
  case GGMLType::Q5_0:
    elements = 32, bytes = 22;
    return true;
  case GGMLType::Q5_1:
    elements = 32, bytes = 24;
    return true;
  case GGMLType::Q2_K:
    elements = 256, bytes = 84;
    return true;
  case GGMLType::Q3_K:
    elements = 256, bytes = 110;
    return true;
  case GGMLType::Q4_K:
    elements = 256, bytes = 144;
    return true;
  case GGMLType::Q5_K:
    elements = 256, bytes = 176;
    return true;
  case GGMLType::Q6_K:
    elements = 256, bytes = 210;
    return true;
  }
  // Every other type number (the enum names only those read here).
  return false;
}

bool llmk::dequantizeGGML(uint32_t type, const void *data, int64_t blocks,
                          float *out) {
  int64_t elements, bytes;
  if (!getGGMLBlock(type, elements, bytes))
    return false;
  const auto *b = static_cast<const uint8_t *>(data);
  for (int64_t i = 0; i < blocks; ++i, b += bytes, out += elements) {
    switch (static_cast<GGMLType>(type)) {
    case GGMLType::F32:
      std::memcpy(out, b, 4);
      break;
    case GGMLType::F16:
      *out = half(b);
      break;
    case GGMLType::BF16: {
      uint16_t bits;
      std::memcpy(&bits, b, 2);
      *out = bf16ToFloat(bits);
      break;
    }
    case GGMLType::Q8_0:
      q8_0(b, out);
      break;
    case GGMLType::Q4_0:
      q4_0(b, out);
      break;
    case GGMLType::Q4_1:
      q4_1(b, out);
      break;
    case GGMLType::Q5_0:
      q5(b, out, false);
      break;
    case GGMLType::Q5_1:
      q5(b, out, true);
      break;
    case GGMLType::IQ4_NL:
      iq4_nl(b, out);
      break;
    case GGMLType::Q2_K:
      q2_k(b, out);
      break;
    case GGMLType::Q3_K:
      q3_k(b, out);
      break;
    case GGMLType::Q4_K:
      q45_k(b, out, false);
      break;
    case GGMLType::Q5_K:
      q45_k(b, out, true);
      break;
    case GGMLType::Q6_K:
      q6_k(b, out);
      break;
    }
  }
  return true;
}

namespace {

constexpr GGMLKernelFormat kKernelFormats[] = {
    {GGMLType::Q8_0, "ggml_q8_0", 8, true, 32, 34, 32},
    {GGMLType::Q4_0, "ggml_q4_0", 4, true, 32, 18, 32},
    {GGMLType::Q4_1, "ggml_q4_1", 4, false, 32, 20, 32},
    {GGMLType::Q5_0, "ggml_q5_0", 5, true, 32, 22, 32},
    {GGMLType::Q5_1, "ggml_q5_1", 5, false, 32, 24, 32},
    {GGMLType::Q4_K, "ggml_q4_k", 4, false, 256, 144, 32},
    {GGMLType::Q5_K, "ggml_q5_k", 5, false, 256, 176, 32},
    {GGMLType::Q6_K, "ggml_q6_k", 6, true, 256, 210, 16},
};

/// One group of 32 of a Q4_0/Q4_1/Q5_0/Q5_1 block: codes from the low
/// nibbles (value j) and high nibbles (value j + 16), plus the fifth bits.
void codes32(const uint8_t *qs, const uint8_t *qhBytes, int8_t *codes) {
  uint32_t qh = 0;
  if (qhBytes)
    std::memcpy(&qh, qhBytes, 4);
  for (int j = 0; j < 16; ++j) {
    const int h0 = qhBytes ? static_cast<int>(((qh >> j) << 4) & 0x10) : 0;
    const int h1 = qhBytes ? static_cast<int>((qh >> (j + 12)) & 0x10) : 0;
    codes[j] = static_cast<int8_t>((qs[j] & 0xF) | h0);
    codes[j + 16] = static_cast<int8_t>((qs[j] >> 4) | h1);
  }
}

} // namespace

const GGMLKernelFormat *llmk::getGGMLKernelFormat(uint32_t type) {
  for (const GGMLKernelFormat &f : kKernelFormats)
    if (static_cast<uint32_t>(f.type) == type)
      return &f;
  return nullptr;
}

const GGMLKernelFormat *llmk::findGGMLKernelFormat(const char *checkpoint) {
  for (const GGMLKernelFormat &f : kKernelFormats)
    if (std::strcmp(f.checkpoint, checkpoint) == 0)
      return &f;
  return nullptr;
}

bool llmk::decodeGGMLCodes(uint32_t type, const void *data, int64_t blocks,
                           int8_t *codes, float *scales, float *offsets) {
  const GGMLKernelFormat *format = getGGMLKernelFormat(type);
  if (!format)
    return false;
  const auto *b = static_cast<const uint8_t *>(data);
  const int64_t groups = format->blockElements / format->group;
  for (int64_t i = 0; i < blocks; ++i, b += format->blockBytes,
               codes += format->blockElements, scales += groups,
               offsets += groups) {
    switch (format->type) {
    case GGMLType::Q8_0:
      scales[0] = half(b);
      offsets[0] = 0.0f;
      std::memcpy(codes, b + 2, 32);
      break;
    case GGMLType::Q4_0:
      scales[0] = half(b);
      offsets[0] = -8.0f * scales[0];
      codes32(b + 2, nullptr, codes);
      break;
    case GGMLType::Q4_1:
      scales[0] = half(b);
      offsets[0] = half(b + 2);
      codes32(b + 4, nullptr, codes);
      break;
    case GGMLType::Q5_0:
      scales[0] = half(b);
      offsets[0] = -16.0f * scales[0];
      codes32(b + 6, b + 2, codes);
      break;
    case GGMLType::Q5_1:
      scales[0] = half(b);
      offsets[0] = half(b + 2);
      codes32(b + 8, b + 4, codes);
      break;
    case GGMLType::Q4_K:
    case GGMLType::Q5_K: {
      // As q45_k: eight groups of 32, each a 6-bit scale and min; group 2p
      // in the low nibbles of 32 bytes, 2p + 1 in their high nibbles, the
      // fifth bits (Q5_K) in bits 2p and 2p + 1 of qh.
      const bool five = format->type == GGMLType::Q5_K;
      const float d = half(b), dmin = half(b + 2);
      const uint8_t *qh = b + 16, *q = five ? b + 48 : b + 16;
      for (int g = 0; g < 8; ++g) {
        uint8_t sc, mn;
        scaleMinK4(g, b + 4, sc, mn);
        scales[g] = d * static_cast<float>(sc);
        offsets[g] = -(dmin * static_cast<float>(mn));
        const uint8_t *bytes = q + (g / 2) * 32;
        const int shift = (g % 2) * 4;
        for (int l = 0; l < 32; ++l)
          codes[g * 32 + l] =
              static_cast<int8_t>(((bytes[l] >> shift) & 0xF) |
                                  (five && (qh[l] >> g) & 1 ? 16 : 0));
      }
      break;
    }
    case GGMLType::Q6_K: {
      // As q6_k: each half of 128 values is four runs of 32 (low nibbles
      // of ql[0..31], of ql[32..63], high nibbles of each), their top two
      // bits in successive bit pairs of qh; group g of 16 has scale sc[g].
      const auto *sc = reinterpret_cast<const int8_t *>(b + 192);
      const float d = half(b + 208);
      for (int g = 0; g < 16; ++g) {
        scales[g] = d * static_cast<float>(sc[g]);
        offsets[g] = -32.0f * scales[g];
      }
      for (int h = 0; h < 2; ++h) {
        const uint8_t *ql = b + 64 * h, *qh = b + 128 + 32 * h;
        for (int seg = 0; seg < 4; ++seg)
          for (int l = 0; l < 32; ++l) {
            const uint8_t low = seg % 2 ? ql[l + 32] : ql[l];
            const int q = (seg < 2 ? low & 0xF : low >> 4) |
                          (((qh[l] >> (2 * seg)) & 3) << 4);
            codes[128 * h + 32 * seg + l] = static_cast<int8_t>(q);
          }
      }
      break;
    }
    default:
      return false;
    }
  }
  return true;
}
