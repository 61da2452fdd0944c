//===- Common.cuh - Shared by the CUDA kernels and their host tests -------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// The tile-level math of the CUDA kernels, written once as __host__
// __device__ functions: NVRTC compiles it into the kernels, and the host
// C++ compiler into the tests that check it against the CPU kernels (no
// GPU needed). No CUDA header: bf16 is its 16 bits.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_CUDA_COMMON_CUH
#define LLMC_CUDA_COMMON_CUH

#ifdef __CUDACC__
#define LLMC_HD __host__ __device__ __forceinline__
#define LLMC_NEG_INF (-__int_as_float(0x7f800000))
#else
#include <cmath>
#include <cstdint>
#include <cstring>
#define LLMC_HD inline
#define LLMC_NEG_INF (-INFINITY)
#endif

namespace llmc_cuda {

/// bf16 bits to float: the upper half of an fp32.
LLMC_HD float bf16ToFloat(unsigned short bits) {
#ifdef __CUDACC__
  return __int_as_float(static_cast<int>(static_cast<unsigned>(bits) << 16));
#else
  uint32_t word = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &word, sizeof(value));
  return value;
#endif
}

LLMC_HD float expOf(float x) {
#ifdef __CUDACC__
  return __expf(x);
#else
  return std::exp(x);
#endif
}

/// The running state of a softmax over a row seen in pieces (the online
/// softmax of FlashAttention): the largest value so far and the sum of
/// exp(x - max) over what was seen.
struct OnlineSoftmax {
  float max;
  float sum;
};

LLMC_HD OnlineSoftmax onlineSoftmaxEmpty() { return {LLMC_NEG_INF, 0.0f}; }

/// Adds one value.
LLMC_HD OnlineSoftmax onlineSoftmaxAdd(OnlineSoftmax s, float x) {
  if (x == LLMC_NEG_INF)
    return s;
  if (x > s.max) {
    float scale = s.max == LLMC_NEG_INF ? 0.0f : expOf(s.max - x);
    return {x, s.sum * scale + 1.0f};
  }
  return {s.max, s.sum + expOf(x - s.max)};
}

/// Merges two states (split-K: two parts of one row, in any order).
LLMC_HD OnlineSoftmax onlineSoftmaxMerge(OnlineSoftmax a, OnlineSoftmax b) {
  if (a.max == LLMC_NEG_INF)
    return b;
  if (b.max == LLMC_NEG_INF)
    return a;
  float max = a.max > b.max ? a.max : b.max;
  return {max, a.sum * expOf(a.max - max) + b.sum * expOf(b.max - max)};
}

/// The probability of `x` in a row whose state is `s`.
LLMC_HD float onlineSoftmaxProbability(OnlineSoftmax s, float x) {
  return s.sum > 0.0f && x != LLMC_NEG_INF ? expOf(x - s.max) / s.sum : 0.0f;
}

/// The block-table slot of position `pos` of a sequence in a paged KV
/// cache: its block's number times the block size, plus the offset in it
/// (-1 when the table has no block there).
LLMC_HD int pagedSlot(const int *table, int blockSize, int pos) {
  int block = table[pos / blockSize];
  return block < 0 ? -1 : block * blockSize + pos % blockSize;
}

/// A candidate of greedy decoding: a logit and its token. The larger logit
/// wins and ties go to the lower token, as the CPU sampler's argmax takes
/// the first maximum; merging is associative and commutative, so partial
/// maxima of a row merge in any order.
struct ArgMax {
  float value;
  int index;
};

LLMC_HD ArgMax argMaxEmpty() { return {LLMC_NEG_INF, -1}; }

LLMC_HD ArgMax argMaxMerge(ArgMax a, ArgMax b) {
  if (b.index < 0)
    return a;
  if (a.index < 0)
    return b;
  if (b.value > a.value || (b.value == a.value && b.index < a.index))
    return b;
  return a;
}

/// Attention masks, as the CPU kernels number them (LLMK_MASK_*).
enum { kMaskCausal = 0, kMaskBidirectional = 1, kMaskSlidingWindow = 2 };

/// The keys [first, last) that query i (of qLen, over kvLen keys: query i
/// sits at position i + kvLen - qLen) may see under `mask`: the CPU
/// attention's rule, causal up to its own position, a sliding window of
/// `window` keys ending there.
LLMC_HD void visibleKeyRange(int i, int qLen, int kvLen, int mask, int window,
                             int *first, int *last) {
  const int position = i + kvLen - qLen;
  *first = 0;
  *last = kvLen;
  if (mask == kMaskCausal || mask == kMaskSlidingWindow) {
    const int end = position + 1 < kvLen ? position + 1 : kvLen;
    *last = end > 0 ? end : 0;
  }
  if (mask == kMaskSlidingWindow && window > 0) {
    const int begin = position - window + 1;
    *first = begin > 0 ? begin : 0;
  }
}

/// A bit pattern as float (the two compilers' spellings).
LLMC_HD float bitsToFloat(unsigned int bits) {
#ifdef __CUDACC__
  return __int_as_float(static_cast<int>(bits));
#else
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
#endif
}

/// f16 bits to float, subnormals and infinities included (the CPU
/// kernels' halfToFloat).
LLMC_HD float halfToFloat(unsigned short h) {
  const unsigned int sign = static_cast<unsigned int>(h & 0x8000u) << 16;
  const unsigned int exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
  if (exponent == 0) {
    const float magnitude =
        static_cast<float>(mantissa) * 5.9604644775390625e-8f;
    return sign ? -magnitude : magnitude;
  }
  const unsigned int bits =
      sign | (exponent == 0x1fu ? 0x7f800000u : (exponent + 112u) << 23) |
      (mantissa << 13);
  return bitsToFloat(bits);
}

/// A float's bits (the two compilers' spellings).
LLMC_HD unsigned int floatToBits(float x) {
#ifdef __CUDACC__
  return static_cast<unsigned int>(__float_as_int(x));
#else
  unsigned int bits;
  std::memcpy(&bits, &x, sizeof(bits));
  return bits;
#endif
}

/// float to bf16 bits, rounded to nearest even (a NaN stays a quiet NaN):
/// what cvt.rn.bf16.f32 does on the device and the CPU kernels' rounding.
LLMC_HD unsigned short floatToBf16(float x) {
  const unsigned int bits = floatToBits(x);
  if ((bits & 0x7fffffffu) > 0x7f800000u)
    return static_cast<unsigned short>((bits >> 16) | 0x40u);
  return static_cast<unsigned short>((bits + 0x7fffu + ((bits >> 16) & 1u)) >>
                                     16);
}

/// float to IEEE binary16 bits, rounded to nearest even (overflow to
/// infinity, subnormals kept): the CPU kernels' f16 cache rounding.
LLMC_HD unsigned short floatToHalf(float value) {
  const unsigned int bits = floatToBits(value);
  const unsigned int sign = (bits >> 16) & 0x8000u;
  const unsigned int exponent = (bits >> 23) & 0xffu;
  unsigned int mantissa = bits & 0x7fffffu;
  if (exponent == 0xffu)
    return static_cast<unsigned short>(sign | 0x7c00u |
                                       (mantissa ? 0x200u : 0u));
  const int e = static_cast<int>(exponent) - 127 + 15;
  if (e >= 0x1f)
    return static_cast<unsigned short>(sign | 0x7c00u);
  if (e <= 0) {
    if (e < -10)
      return static_cast<unsigned short>(sign);
    mantissa |= 0x800000u;
    const unsigned int shift = static_cast<unsigned int>(14 - e);
    unsigned int half = mantissa >> shift;
    const unsigned int rest = mantissa & ((1u << shift) - 1u);
    const unsigned int halfway = 1u << (shift - 1u);
    if (rest > halfway || (rest == halfway && (half & 1u)))
      ++half;
    return static_cast<unsigned short>(sign | half);
  }
  unsigned int half = (static_cast<unsigned int>(e) << 10) | (mantissa >> 13);
  const unsigned int rest = mantissa & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (half & 1u)))
    ++half;
  return static_cast<unsigned short>(sign | half);
}

/// Weight dtypes, as the CPU kernels number them (LLMKDtype).
enum { kDtypeF32 = 0, kDtypeF16 = 1, kDtypeBF16 = 2, kDtypeI8 = 3 };

/// Element `i` of a weight stored in `dtype` (kDtype*), as fp32.
LLMC_HD float weightAt(const void *w, int dtype, long long i) {
  if (dtype == kDtypeF32)
    return static_cast<const float *>(w)[i];
  const unsigned short bits = static_cast<const unsigned short *>(w)[i];
  return dtype == kDtypeBF16 ? bf16ToFloat(bits) : halfToFloat(bits);
}

/// Element `at` of a KV cache stored in `dtype` (kDtype*: f32, f16, bf16,
/// or int8 times the scale of its (slot, head) row of `headDim` values).
LLMC_HD float cacheAt(const void *cache, int dtype, const float *scales,
                      long long at, int headDim) {
  if (dtype == kDtypeI8)
    return static_cast<float>(static_cast<const signed char *>(cache)[at]) *
           scales[at / headDim];
  return weightAt(cache, dtype, at);
}

/// x rounded to the nearest integer, ties to even (lrintf in the default
/// rounding mode): the int8 cache's codes, as the CPU kernel rounds them.
LLMC_HD int roundToInt(float x) {
#ifdef __CUDACC__
  return __float2int_rn(x);
#else
  return static_cast<int>(std::lrintf(x));
#endif
}

/// Where the `headDim` values of kv head `head` at cache slot `slot`
/// begin, for keys (kv = 0) or values (kv = 1), in the runtime's paged
/// cache (LLMKCache): [layers][numBlocks][2][kvHeads][blockSize][headDim],
/// head-major within a block.
LLMC_HD long long cacheRowOffset(long long numBlocks, int kvHeads,
                                 int blockSize, int headDim, int layer,
                                 int slot, int kv, int head) {
  const long long block = slot / blockSize, offset = slot % blockSize;
  return ((((static_cast<long long>(layer) * numBlocks + block) * 2 + kv) *
               kvHeads +
           head) *
              blockSize +
          offset) *
         headDim;
}

/// The quantized weights' layout (the CPU kernels' Quant.h): per row,
/// blocks of 32 values (8 bits: 32 signed bytes; 4 bits: 16 bytes, value i
/// in the low nibble of byte i and value i + 16 in the high one; 5 and 6
/// bits: those 16 bytes then a 32-bit word per higher bit), then, 64-byte
/// aligned, an f16 (scale, offset) pair per row and group.
LLMC_HD int quantBlockBytes(int bits) {
  return bits == 8 ? 32 : 16 + 4 * (bits - 4);
}
LLMC_HD long long quantParamsOffset(long long n, long long k, int bits) {
  return (n * ((k + 31) / 32) * quantBlockBytes(bits) + 63) / 64 * 64;
}

/// The code of value i (0..31) of the block at `q`.
LLMC_HD int quantCode(const unsigned char *q, int bits, int i) {
  if (bits == 8)
    return static_cast<signed char>(q[i]);
  int code = i < 16 ? q[i] & 15 : q[i - 16] >> 4;
  for (int plane = 0; plane < bits - 4; ++plane) {
    const unsigned char *word = q + 16 + 4 * plane;
    const unsigned int bitsOfPlane = static_cast<unsigned int>(word[0]) |
                                     static_cast<unsigned int>(word[1]) << 8 |
                                     static_cast<unsigned int>(word[2]) << 16 |
                                     static_cast<unsigned int>(word[3]) << 24;
    code |= static_cast<int>((bitsOfPlane >> i) & 1u) << (4 + plane);
  }
  return code;
}

/// Element (row, col) of a packed [n, k] weight of `bits` in groups of
/// `group` (0: one per row; 16: two per block), dequantized: scale * code +
/// offset.
LLMC_HD float dequantizeElement(const unsigned char *packed, long long n,
                                long long k, int bits, long long group,
                                long long row, long long col) {
  const long long blocks = (k + 31) / 32;
  const unsigned char *block =
      packed + (row * blocks + col / 32) * quantBlockBytes(bits);
  const long long groups = group == 0 ? 1 : k / group;
  const long long g = group == 0 ? 0 : col / group;
  const unsigned short *params = reinterpret_cast<const unsigned short *>(
      packed + quantParamsOffset(n, k, bits));
  const unsigned short *pair = params + (row * groups + g) * 2;
  return halfToFloat(pair[0]) * static_cast<float>(quantCode(
                                    block, bits, static_cast<int>(col % 32))) +
         halfToFloat(pair[1]);
}

/// GELU as the CPU kernels compute it: exact, x/2 (1 + erf(x / sqrt 2)), or
/// GPT-2's tanh approximation.
LLMC_HD float geluOf(float x, int tanhApprox) {
  if (tanhApprox) {
    const float inner = 0.7978845608028654f * (x + 0.044715f * (x * x * x));
#ifdef __CUDACC__
    return 0.5f * x * (1.0f + tanhf(inner));
#else
    return 0.5f * x * (1.0f + std::tanh(inner));
#endif
  }
#ifdef __CUDACC__
  return x * 0.5f * (1.0f + erff(x * 0.70710678118654752f));
#else
  return x * 0.5f * (1.0f + std::erf(x * 0.70710678118654752f));
#endif
}

/// The two features that RoPE rotates together as pair i (< rotaryDim / 2):
/// NeoX halves (i, i + rotaryDim / 2), or GPT-J's neighbours (2i, 2i + 1).
LLMC_HD void ropePair(int i, int rotaryDim, int gptj, int *a, int *b) {
  *a = gptj ? 2 * i : i;
  *b = gptj ? 2 * i + 1 : i + rotaryDim / 2;
}

/// The pair (x1, x2) rotated by the angle whose cosine and sine are c and s:
/// q cos + rotate_half(q) sin.
LLMC_HD void ropeRotate(float x1, float x2, float c, float s, float *y1,
                        float *y2) {
  *y1 = x1 * c - x2 * s;
  *y2 = x2 * c + x1 * s;
}

/// A float's bits mapped to an unsigned key that orders as the floats do
/// (-inf lowest, +inf highest; NaN is never passed): the search space of
/// the sampler's thresholds.
LLMC_HD unsigned int orderedKey(float x) {
  const unsigned int bits = floatToBits(x);
  return (bits & 0x80000000u) ? ~bits : bits | 0x80000000u;
}

LLMC_HD float keyToFloat(unsigned int key) {
  return bitsToFloat((key & 0x80000000u) ? key & 0x7fffffffu : ~key);
}

/// A bisection over keys for the largest key `lo` with a monotone predicate
/// true (true at `lo`, false above `hi`): at most 32 halvings of [lo, hi].
/// The sampler's thresholds are such searches, each predicate a reduction
/// over the row: top-k's "at least k logits are >= key" (the k-th largest
/// logit), top-p's "the tokens above key hold less than p of the mass"
/// searched downward (see samplingKeepKey).
struct KeySearch {
  unsigned int lo, hi;
};

LLMC_HD bool keySearchDone(KeySearch s) { return s.lo >= s.hi; }
/// The key to test next (rounded up, so that the search always moves).
LLMC_HD unsigned int keySearchProbe(KeySearch s) {
  const unsigned int width = s.hi - s.lo; // hi - lo + 1 may wrap to 0
  return s.lo + width / 2u + width % 2u;
}
/// Moves the bounds after the predicate at `probe` was `holds`.
LLMC_HD KeySearch keySearchUpdate(KeySearch s, unsigned int probe, bool holds) {
  return holds ? KeySearch{probe, s.hi} : KeySearch{s.lo, probe - 1u};
}

/// The sampler's keep rule for a token of scaled logit z (the row's largest
/// being zMax), given the top-k threshold key (0: off) and the top-p key
/// (0: off): transformers' top-k keeps ties with the k-th logit, top-p keeps
/// a token while the mass strictly above it is below p, min-p keeps tokens
/// with probability >= minP times the largest.
LLMC_HD bool samplingKeeps(float z, float zMax, unsigned int topKKey,
                           unsigned int topPKey, float minP) {
  if (z == LLMC_NEG_INF)
    return false;
  const unsigned int key = orderedKey(z);
  if (key < topKKey || key < topPKey)
    return false;
  return minP <= 0.0f || expOf(z - zMax) >= minP;
}

/// The uniform number in [0, 1) that sampling step `step` of a sequence
/// seeded `seed` draws: splitmix64 of the pair, its top 24 bits. Counter
/// based, so a seed reproduces a sequence's tokens whatever the batch, the
/// order of the rows or the number of blocks.
LLMC_HD float sampleUniform(unsigned long long seed, unsigned long long step) {
  unsigned long long z = seed + (step + 1ull) * 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return static_cast<float>(z >> 40) * (1.0f / 16777216.0f);
}

/// The fragments of mma.sync.m16n8k16 (bf16 in, fp32 out), as the PTX ISA
/// lays them out over a warp: lane l is in group g = l / 4 and place
/// t = l % 4. Each 32-bit register holds two bf16 adjacent in k.
///   A (16 x 16, row-major), 4 registers: register r holds row g + 8 * (r % 2)
///     and columns 2t + 8 * (r / 2) and the next one;
///   B (16 x 8, column-major, i.e. W[n][k] rows), 2 registers: register r
///     holds column g and rows 2t + 8r and the next one;
///   C (16 x 8, fp32), 4 values: value v holds row g + 8 * (v / 2) and
///     column 2t + v % 2.
LLMC_HD int mmaRowA(int lane, int reg) { return lane / 4 + 8 * (reg % 2); }
LLMC_HD int mmaColA(int lane, int reg) {
  return 2 * (lane % 4) + 8 * (reg / 2);
}
LLMC_HD int mmaColB(int lane) { return lane / 4; }
LLMC_HD int mmaRowB(int lane, int reg) { return 2 * (lane % 4) + 8 * reg; }
LLMC_HD int mmaRowC(int lane, int value) { return lane / 4 + 8 * (value / 2); }
LLMC_HD int mmaColC(int lane, int value) { return 2 * (lane % 4) + value % 2; }

} // namespace llmc_cuda

#endif // LLMC_CUDA_COMMON_CUH
