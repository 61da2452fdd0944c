//===- Layout.h - Weight layouts the projection kernels read ----*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// A weight marked for panels (`llm.param {panels = 48}`) is repacked once,
// when the runtime binds the model's parameters, into LLMK_LAYOUT_PANELS
// (Kernels.h): the GEMM then streams each panel of 48 output features
// contiguously, and the decode GEMV reads one sequential stream per panel.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_RUNTIME_KERNELS_CPU_LAYOUT_H
#define LLM_RUNTIME_KERNELS_CPU_LAYOUT_H

#include "Kernels.h"

#include <cstdint>

namespace llmk {

/// Elements of an [n, k] weight in LLMK_LAYOUT_PANELS (the last panel padded
/// with zero rows).
inline int64_t panelElements(int64_t n, int64_t k) {
  return (n + LLMK_PANEL_ROWS - 1) / LLMK_PANEL_ROWS * LLMK_PANEL_ROWS * k;
}

/// Packs the row-major [n, k] weight `src`, of `elementBytes`-byte elements
/// (any dtype: the bytes are moved, not converted), into `dst`
/// (panelElements(n, k) elements) in LLMK_LAYOUT_PANELS. Runs on the
/// kernels' thread pool.
void packPanels(const void *src, int64_t elementBytes, int64_t n, int64_t k,
                void *dst);

} // namespace llmk

#endif // LLM_RUNTIME_KERNELS_CPU_LAYOUT_H
