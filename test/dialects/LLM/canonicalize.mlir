// RUN: llm-opt %s --canonicalize --split-input-file | FileCheck %s

// The canonicalization patterns of LLMFolds.cpp, each with the cases it must
// rewrite and the cases it must leave alone. Results are returned so that
// dead-code elimination keeps the pure ops.

//===----------------------------------------------------------------------===//
// llm.attention: a sliding window that covers every key is a causal mask.
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @window_wider_than_kv_len(
// CHECK-SAME:    %[[Q:[a-z0-9_]+]]: tensor<1x16x256xf32>, %[[K:[a-z0-9_]+]]: tensor<1x16x64xf32>, %[[V:[a-z0-9_]+]]: tensor<1x16x64xf32>)
// CHECK-NEXT:    %[[A:.*]] = llm.attention %[[Q]], %[[K]], %[[V]] {mask = #llm.mask<causal>, num_heads = 8 : i64, num_kv_heads = 2 : i64} :
// CHECK-SAME:      tensor<1x16x256xf32>, tensor<1x16x64xf32>, tensor<1x16x64xf32> -> tensor<1x16x256xf32>
// CHECK-NEXT:    return %[[A]]
func.func @window_wider_than_kv_len(%q: tensor<1x16x256xf32>, %k: tensor<1x16x64xf32>,
                                    %v: tensor<1x16x64xf32>) -> tensor<1x16x256xf32> {
  %0 = llm.attention %q, %k, %v {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<sliding_window>,
                                 window = 4096}
      : tensor<1x16x256xf32>, tensor<1x16x64xf32>, tensor<1x16x64xf32> -> tensor<1x16x256xf32>
  return %0 : tensor<1x16x256xf32>
}

// -----

// A window of exactly kv_len keys also masks nothing beyond causal; the
// other attributes and operands (scale, key_padding, bias) are kept.
// CHECK-LABEL: func.func @window_equal_to_kv_len(
// CHECK-SAME:    %[[Q:[a-z0-9_]+]]: tensor<2x4x128xf16>, %[[K:[a-z0-9_]+]]: tensor<2x8x128xf16>, %[[V:[a-z0-9_]+]]: tensor<2x8x128xf16>,
// CHECK-SAME:    %[[PAD:[a-z0-9_]+]]: tensor<2x8xi1>, %[[B:[a-z0-9_]+]]: tensor<4x4x8xf16>)
// CHECK-NEXT:    %[[A:.*]] = llm.attention %[[Q]], %[[K]], %[[V]] key_padding(%[[PAD]] : tensor<2x8xi1>) bias(%[[B]] : tensor<4x4x8xf16>)
// CHECK-SAME:      {mask = #llm.mask<causal>, num_heads = 4 : i64, num_kv_heads = 4 : i64, scale = 1.250000e-01 : f64} :
// CHECK-SAME:      tensor<2x4x128xf16>, tensor<2x8x128xf16>, tensor<2x8x128xf16> -> tensor<2x4x128xf16>
// CHECK-NEXT:    return %[[A]]
func.func @window_equal_to_kv_len(%q: tensor<2x4x128xf16>, %k: tensor<2x8x128xf16>, %v: tensor<2x8x128xf16>,
                                  %pad: tensor<2x8xi1>, %bias: tensor<4x4x8xf16>) -> tensor<2x4x128xf16> {
  %0 = llm.attention %q, %k, %v key_padding(%pad : tensor<2x8xi1>) bias(%bias : tensor<4x4x8xf16>)
          {num_heads = 4, num_kv_heads = 4, mask = #llm.mask<sliding_window>, window = 8, scale = 0.125}
      : tensor<2x4x128xf16>, tensor<2x8x128xf16>, tensor<2x8x128xf16> -> tensor<2x4x128xf16>
  return %0 : tensor<2x4x128xf16>
}

// -----

// A window shorter than the keys masks old keys: it stays.
// CHECK-LABEL: func.func @window_shorter_than_kv_len(
// CHECK-NEXT:    %[[A:.*]] = llm.attention %{{.*}}, %{{.*}}, %{{.*}} {mask = #llm.mask<sliding_window>, num_heads = 8 : i64, num_kv_heads = 2 : i64, window = 15 : i64} :
// CHECK-SAME:      tensor<1x16x256xf32>, tensor<1x16x64xf32>, tensor<1x16x64xf32> -> tensor<1x16x256xf32>
// CHECK-NEXT:    return %[[A]]
func.func @window_shorter_than_kv_len(%q: tensor<1x16x256xf32>, %k: tensor<1x16x64xf32>,
                                      %v: tensor<1x16x64xf32>) -> tensor<1x16x256xf32> {
  %0 = llm.attention %q, %k, %v {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<sliding_window>,
                                 window = 15}
      : tensor<1x16x256xf32>, tensor<1x16x64xf32>, tensor<1x16x64xf32> -> tensor<1x16x256xf32>
  return %0 : tensor<1x16x256xf32>
}

// -----

// With a dynamic kv_len the window may be shorter than the keys: it stays.
// CHECK-LABEL: func.func @window_dynamic_kv_len(
// CHECK-NEXT:    %[[A:.*]] = llm.attention %{{.*}}, %{{.*}}, %{{.*}} {mask = #llm.mask<sliding_window>, num_heads = 8 : i64, num_kv_heads = 2 : i64, window = 4096 : i64} :
// CHECK-SAME:      tensor<1x1x256xf32>, tensor<1x?x64xf32>, tensor<1x?x64xf32> -> tensor<1x1x256xf32>
// CHECK-NEXT:    return %[[A]]
func.func @window_dynamic_kv_len(%q: tensor<1x1x256xf32>, %k: tensor<1x?x64xf32>,
                                 %v: tensor<1x?x64xf32>) -> tensor<1x1x256xf32> {
  %0 = llm.attention %q, %k, %v {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<sliding_window>,
                                 window = 4096}
      : tensor<1x1x256xf32>, tensor<1x?x64xf32>, tensor<1x?x64xf32> -> tensor<1x1x256xf32>
  return %0 : tensor<1x1x256xf32>
}

// -----

// Other masks are left alone.
// CHECK-LABEL: func.func @other_masks(
// CHECK-NEXT:    %[[A:.*]] = llm.attention %{{.*}}, %{{.*}}, %{{.*}} {mask = #llm.mask<causal>, num_heads = 8 : i64, num_kv_heads = 2 : i64} :
// CHECK-NEXT:    %[[B:.*]] = llm.attention %{{.*}}, %{{.*}}, %{{.*}} {mask = #llm.mask<bidirectional>, num_heads = 8 : i64, num_kv_heads = 2 : i64} :
// CHECK-NEXT:    return %[[A]], %[[B]]
func.func @other_masks(%q: tensor<1x16x256xf32>, %k: tensor<1x16x64xf32>, %v: tensor<1x16x64xf32>)
    -> (tensor<1x16x256xf32>, tensor<1x16x256xf32>) {
  %0 = llm.attention %q, %k, %v {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<causal>}
      : tensor<1x16x256xf32>, tensor<1x16x64xf32>, tensor<1x16x64xf32> -> tensor<1x16x256xf32>
  %1 = llm.attention %q, %k, %v {num_heads = 8, num_kv_heads = 2, mask = #llm.mask<bidirectional>}
      : tensor<1x16x256xf32>, tensor<1x16x64xf32>, tensor<1x16x64xf32> -> tensor<1x16x256xf32>
  return %0, %1 : tensor<1x16x256xf32>, tensor<1x16x256xf32>
}

// -----

//===----------------------------------------------------------------------===//
// llm.sample: greedy sampling has one spelling, temperature = 0 with top_k,
// top_p, min_p and seed at their defaults (which the printer elides).
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @sample_top_k_1(
// CHECK-SAME:    %[[L:[a-z0-9_]+]]: tensor<2x32000xf32>)
// CHECK-NEXT:    %[[S:.*]] = llm.sample %[[L]] {temperature = 0.000000e+00 : f64} : tensor<2x32000xf32> -> tensor<2xi64>
// CHECK-NEXT:    return %[[S]]
func.func @sample_top_k_1(%logits: tensor<2x32000xf32>) -> tensor<2xi64> {
  %0 = llm.sample %logits {temperature = 0.7, top_k = 1, top_p = 0.9, min_p = 0.05, seed = 42}
      : tensor<2x32000xf32> -> tensor<2xi64>
  return %0 : tensor<2xi64>
}

// -----

// CHECK-LABEL: func.func @sample_top_k_1_default_temperature(
// CHECK-NEXT:    %[[S:.*]] = llm.sample %{{.*}} {temperature = 0.000000e+00 : f64} : tensor<1x128xbf16> -> tensor<1xi32>
// CHECK-NEXT:    return %[[S]]
func.func @sample_top_k_1_default_temperature(%logits: tensor<1x128xbf16>) -> tensor<1xi32> {
  %0 = llm.sample %logits {top_k = 1} : tensor<1x128xbf16> -> tensor<1xi32>
  return %0 : tensor<1xi32>
}

// -----

// CHECK-LABEL: func.func @sample_temperature_0(
// CHECK-SAME:    %[[L:[a-z0-9_]+]]: tensor<2x32000xf16>)
// CHECK-NEXT:    %[[S:.*]] = llm.sample %[[L]] {temperature = 0.000000e+00 : f64} : tensor<2x32000xf16> -> tensor<2xi64>
// CHECK-NEXT:    return %[[S]]
func.func @sample_temperature_0(%logits: tensor<2x32000xf16>) -> tensor<2xi64> {
  %0 = llm.sample %logits {temperature = 0.0, top_k = 40, top_p = 0.95, min_p = 0.1, seed = 7}
      : tensor<2x32000xf16> -> tensor<2xi64>
  return %0 : tensor<2xi64>
}

// -----

// The repetition penalty applies before the argmax: it and prev_tokens stay.
// CHECK-LABEL: func.func @sample_greedy_keeps_repetition_penalty(
// CHECK-SAME:    %[[L:[a-z0-9_]+]]: tensor<2x32000xf32>, %[[P:[a-z0-9_]+]]: tensor<2x?xi64>)
// CHECK-NEXT:    %[[S0:.*]] = llm.sample %[[L]] prev(%[[P]] : tensor<2x?xi64>) {repetition_penalty = 1.200000e+00 : f64, temperature = 0.000000e+00 : f64} : tensor<2x32000xf32> -> tensor<2xi64>
// CHECK-NEXT:    %[[S1:.*]] = llm.sample %[[L]] prev(%[[P]] : tensor<2x?xi64>) {repetition_penalty = 1.300000e+00 : f64, temperature = 0.000000e+00 : f64} : tensor<2x32000xf32> -> tensor<2xi64>
// CHECK-NEXT:    return %[[S0]], %[[S1]]
func.func @sample_greedy_keeps_repetition_penalty(%logits: tensor<2x32000xf32>, %prev: tensor<2x?xi64>)
    -> (tensor<2xi64>, tensor<2xi64>) {
  %0 = llm.sample %logits prev(%prev : tensor<2x?xi64>)
          {temperature = 0.0, top_p = 0.5, seed = 3, repetition_penalty = 1.2}
      : tensor<2x32000xf32> -> tensor<2xi64>
  %1 = llm.sample %logits prev(%prev : tensor<2x?xi64>)
          {temperature = 0.8, top_k = 1, repetition_penalty = 1.3}
      : tensor<2x32000xf32> -> tensor<2xi64>
  return %0, %1 : tensor<2xi64>, tensor<2xi64>
}

// -----

// Already canonical: unchanged.
// CHECK-LABEL: func.func @sample_canonical_greedy(
// CHECK-NEXT:    %[[S:.*]] = llm.sample %{{.*}} {temperature = 0.000000e+00 : f64} : tensor<2x32000xf32> -> tensor<2xi64>
// CHECK-NEXT:    return %[[S]]
func.func @sample_canonical_greedy(%logits: tensor<2x32000xf32>) -> tensor<2xi64> {
  %0 = llm.sample %logits {temperature = 0.0} : tensor<2x32000xf32> -> tensor<2xi64>
  return %0 : tensor<2xi64>
}

// -----

// Sampling that is not greedy is left alone.
// CHECK-LABEL: func.func @sample_not_greedy(
// CHECK-SAME:    %[[L:[a-z0-9_]+]]: tensor<2x32000xf32>, %[[P:[a-z0-9_]+]]: tensor<2x16xi32>)
// CHECK-NEXT:    %[[S0:.*]] = llm.sample %[[L]] {seed = 42 : i64, temperature = 0.69999999999999996 : f64, top_k = 40 : i64, top_p = 9.000000e-01 : f64} : tensor<2x32000xf32> -> tensor<2xi64>
// CHECK-NEXT:    %[[S1:.*]] = llm.sample %[[L]] {top_k = 2 : i64} : tensor<2x32000xf32> -> tensor<2xi64>
// CHECK-NEXT:    %[[S2:.*]] = llm.sample %[[L]] prev(%[[P]] : tensor<2x16xi32>) {min_p = 5.000000e-02 : f64, repetition_penalty = 1.100000e+00 : f64} : tensor<2x32000xf32> -> tensor<2xi64>
// CHECK-NEXT:    %[[S3:.*]] = llm.sample %[[L]] : tensor<2x32000xf32> -> tensor<2xi64>
// CHECK-NEXT:    return %[[S0]], %[[S1]], %[[S2]], %[[S3]]
func.func @sample_not_greedy(%logits: tensor<2x32000xf32>, %prev: tensor<2x16xi32>)
    -> (tensor<2xi64>, tensor<2xi64>, tensor<2xi64>, tensor<2xi64>) {
  %0 = llm.sample %logits {temperature = 0.7, top_k = 40, top_p = 0.9, seed = 42}
      : tensor<2x32000xf32> -> tensor<2xi64>
  %1 = llm.sample %logits {top_k = 2} : tensor<2x32000xf32> -> tensor<2xi64>
  %2 = llm.sample %logits prev(%prev : tensor<2x16xi32>) {min_p = 0.05, repetition_penalty = 1.1}
      : tensor<2x32000xf32> -> tensor<2xi64>
  %3 = llm.sample %logits : tensor<2x32000xf32> -> tensor<2xi64>
  return %0, %1, %2, %3 : tensor<2xi64>, tensor<2xi64>, tensor<2xi64>, tensor<2xi64>
}

// -----

//===----------------------------------------------------------------------===//
// llm.rope: a scaling that leaves the frequencies unchanged is dropped.
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @rope_scaling_none(
// CHECK-SAME:    %[[Q:[a-z0-9_]+]]: tensor<1x8x512xf32>, %[[P:[a-z0-9_]+]]: tensor<1x8xi64>)
// CHECK-NEXT:    %[[R0:.*]] = llm.rope %[[Q]], %[[P]] {num_heads = 8 : i64} : tensor<1x8x512xf32>, tensor<1x8xi64>
// CHECK-NEXT:    %[[R1:.*]] = llm.rope %[[Q]], %[[P]] {num_heads = 8 : i64, pairing = #llm.pairing<gptj>, rotary_dim = 32 : i64, theta = 5.000000e+05 : f64} : tensor<1x8x512xf32>, tensor<1x8xi64>
// CHECK-NEXT:    return %[[R0]], %[[R1]]
func.func @rope_scaling_none(%q: tensor<1x8x512xf32>, %pos: tensor<1x8xi64>)
    -> (tensor<1x8x512xf32>, tensor<1x8x512xf32>) {
  %0 = llm.rope %q, %pos {num_heads = 8, scaling = #llm.rope_scaling<kind = none>}
      : tensor<1x8x512xf32>, tensor<1x8xi64>
  // `none` ignores its parameters.
  %1 = llm.rope %q, %pos {num_heads = 8, theta = 500000.0, pairing = #llm.pairing<gptj>, rotary_dim = 32,
                          scaling = #llm.rope_scaling<kind = none, factor = 4.0, original_max_position = 2048>}
      : tensor<1x8x512xf32>, tensor<1x8xi64>
  return %0, %1 : tensor<1x8x512xf32>, tensor<1x8x512xf32>
}

// -----

// CHECK-LABEL: func.func @rope_scaling_linear_1(
// CHECK-NEXT:    %[[R0:.*]] = llm.rope %{{.*}}, %{{.*}} {num_heads = 8 : i64} : tensor<1x8x512xf32>, tensor<1x8xi64>
// CHECK-NEXT:    %[[R1:.*]] = llm.rope %{{.*}}, %{{.*}} {num_heads = 2 : i64} : tensor<1x8x128xbf16>, tensor<1x8xi32>
// CHECK-NEXT:    return %[[R0]], %[[R1]]
func.func @rope_scaling_linear_1(%q: tensor<1x8x512xf32>, %pos: tensor<1x8xi64>,
                                 %k: tensor<1x8x128xbf16>, %pos32: tensor<1x8xi32>)
    -> (tensor<1x8x512xf32>, tensor<1x8x128xbf16>) {
  %0 = llm.rope %q, %pos {num_heads = 8, scaling = #llm.rope_scaling<kind = linear, factor = 1.0>}
      : tensor<1x8x512xf32>, tensor<1x8xi64>
  // factor defaults to 1.0.
  %1 = llm.rope %k, %pos32 {num_heads = 2, scaling = #llm.rope_scaling<kind = linear>}
      : tensor<1x8x128xbf16>, tensor<1x8xi32>
  return %0, %1 : tensor<1x8x512xf32>, tensor<1x8x128xbf16>
}

// -----

// Scalings that change the frequencies stay, even with factor = 1.0 when the
// kind is not linear.
// CHECK-LABEL: func.func @rope_scaling_kept(
// CHECK-NEXT:    %[[R0:.*]] = llm.rope %{{.*}}, %{{.*}} {num_heads = 8 : i64, scaling = #llm.rope_scaling<kind = linear, factor = 2.0>} : tensor<1x8x512xf32>, tensor<1x8xi64>
// CHECK-NEXT:    %[[R1:.*]] = llm.rope %{{.*}}, %{{.*}} {num_heads = 8 : i64, scaling = #llm.rope_scaling<kind = dynamic, original_max_position = 2048>} : tensor<1x8x512xf32>, tensor<1x8xi64>
// CHECK-NEXT:    %[[R2:.*]] = llm.rope %{{.*}}, %{{.*}} {num_heads = 8 : i64, scaling = #llm.rope_scaling<kind = yarn, original_max_position = 4096>} : tensor<1x8x512xf32>, tensor<1x8xi64>
// CHECK-NEXT:    %[[R3:.*]] = llm.rope %{{.*}}, %{{.*}} {num_heads = 8 : i64, scaling = #llm.rope_scaling<kind = llama3, factor = 8.0, original_max_position = 8192>} : tensor<1x8x512xf32>, tensor<1x8xi64>
// CHECK-NEXT:    return %[[R0]], %[[R1]], %[[R2]], %[[R3]]
func.func @rope_scaling_kept(%q: tensor<1x8x512xf32>, %pos: tensor<1x8xi64>)
    -> (tensor<1x8x512xf32>, tensor<1x8x512xf32>, tensor<1x8x512xf32>, tensor<1x8x512xf32>) {
  %0 = llm.rope %q, %pos {num_heads = 8, scaling = #llm.rope_scaling<kind = linear, factor = 2.0>}
      : tensor<1x8x512xf32>, tensor<1x8xi64>
  %1 = llm.rope %q, %pos {num_heads = 8,
                          scaling = #llm.rope_scaling<kind = dynamic, factor = 1.0, original_max_position = 2048>}
      : tensor<1x8x512xf32>, tensor<1x8xi64>
  %2 = llm.rope %q, %pos {num_heads = 8,
                          scaling = #llm.rope_scaling<kind = yarn, factor = 1.0, original_max_position = 4096>}
      : tensor<1x8x512xf32>, tensor<1x8xi64>
  %3 = llm.rope %q, %pos {num_heads = 8,
                          scaling = #llm.rope_scaling<kind = llama3, factor = 8.0, original_max_position = 8192>}
      : tensor<1x8x512xf32>, tensor<1x8xi64>
  return %0, %1, %2, %3 : tensor<1x8x512xf32>, tensor<1x8x512xf32>, tensor<1x8x512xf32>, tensor<1x8x512xf32>
}

// -----

// A rope without scaling is unchanged.
// CHECK-LABEL: func.func @rope_no_scaling(
// CHECK-NEXT:    %[[R:.*]] = llm.rope %{{.*}}, %{{.*}} {num_heads = 8 : i64} : tensor<1x8x512xf32>, tensor<1x8xi64>
// CHECK-NEXT:    return %[[R]]
func.func @rope_no_scaling(%q: tensor<1x8x512xf32>, %pos: tensor<1x8xi64>) -> tensor<1x8x512xf32> {
  %0 = llm.rope %q, %pos {num_heads = 8} : tensor<1x8x512xf32>, tensor<1x8xi64>
  return %0 : tensor<1x8x512xf32>
}
