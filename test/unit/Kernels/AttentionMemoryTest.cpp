//===- AttentionMemoryTest.cpp - Attention memory is linear in sequence ---===//
//
// Part of LLMC, under the Apache License v2.0.
//
// Attention over 16k tokens must never hold the 16k x 16k score matrix
// (1 GiB in fp32): the kernel keeps a running max and sum per query block.
// The attention runs in a child process so that its peak resident memory is
// measured on its own.
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"

#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <vector>

namespace {

/// Peak RSS in KiB of a child running `body`; -1 if the child failed.
template <typename Fn> long childPeakKiB(Fn body) {
  pid_t pid = fork();
  if (pid == 0) {
    body();
    _exit(llmk_take_error() ? 2 : 0);
  }
  int status = 0;
  struct rusage usage{};
  if (pid < 0 || wait4(pid, &status, 0, &usage) != pid || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0)
    return -1;
  return usage.ru_maxrss;
}

TEST(AttentionMemoryTest, SixteenKTokensStayLinear) {
  const int64_t seq = 16384, heads = 1, headDim = 64;
  const int64_t elements = seq * heads * headDim;
  // Inputs alone: q, k, v and the output, 4 MiB each.
  long inputsKiB = childPeakKiB([&] {
    std::vector<float> q(elements, 0.01f), k(elements, 0.02f),
        v(elements, 0.03f), out(elements);
    volatile float sink = q[0] + k[0] + v[0] + out[0];
    (void)sink;
  });
  std::vector<float> result(headDim);
  long attentionKiB = childPeakKiB([&] {
    std::vector<float> q(elements), k(elements), v(elements), out(elements);
    for (int64_t i = 0; i < elements; ++i) {
      q[i] = std::sin(0.001f * i);
      k[i] = std::cos(0.002f * i);
      v[i] = std::sin(0.003f * i);
    }
    llmk_attention(q.data(), k.data(), v.data(), nullptr, nullptr, 0, 0,
                   nullptr, out.data(), 1, seq, seq, heads, heads, headDim,
                   headDim, 0.125f, LLMK_MASK_CAUSAL, 0);
    for (float x : out)
      if (!std::isfinite(x))
        _exit(3);
  });
  ASSERT_GT(inputsKiB, 0);
  ASSERT_GT(attentionKiB, 0) << "the attention child failed";
  long scoresKiB = seq * seq * 4 / 1024; // 1 GiB
  long extraKiB = attentionKiB - inputsKiB;
  std::printf("16k-token attention: peak RSS %ld KiB, inputs alone %ld KiB, "
              "extra %ld KiB; an S x S score matrix would be %ld KiB\n",
              attentionKiB, inputsKiB, extraKiB, scoresKiB);
  // O(S * d) working memory: per-thread tiles, far below S x S.
  EXPECT_LT(extraKiB, scoresKiB / 32);
}

} // namespace
