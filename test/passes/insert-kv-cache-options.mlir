// Impossible options are refused.
// RUN: not llm-opt %s --llm-insert-kv-cache="cache-dtype=f8" 2>&1 | FileCheck %s --check-prefix=DTYPE
// DTYPE: error: llm-insert-kv-cache: expected cache-dtype f32, f16, bf16 or i8, found 'f8'
// RUN: not llm-opt %s --llm-insert-kv-cache="block-size=0" 2>&1 | FileCheck %s --check-prefix=BLOCK
// BLOCK: error: llm-insert-kv-cache: expected block-size > 0 and max-seq-len > 0, found block-size = 0, max-seq-len = 2048
// RUN: not llm-opt %s --llm-insert-kv-cache="decode-batch=-2" 2>&1 | FileCheck %s --check-prefix=DECODE
// DECODE: error: llm-insert-kv-cache: expected decode-batch >= 0 (0: no decode entry point), found -2
func.func @f() {
  return
}
