#!/usr/bin/env python3
"""(Re)creates the end-to-end parity fixtures in test/e2e/.

Every fixture is a tiny model with random weights, built from a config with a
fixed seed, saved with `save_pretrained` into test/e2e/<name>/, together with
the reference outputs transformers computes for it in float32 with eager
attention:

  input_ids.txt          the prompt, comma-separated ids (never a special id)
  decoder_input_ids.txt  T5 only: decoder prompt, starting with decoder_start_token_id
  logits.npy             float32 [sequence, vocab] (T5: decoder logits)
  hidden.npy             bert/roberta only: float32 last_hidden_state [sequence, hidden]
  greedy_ids.txt         decoders and T5: generate(do_sample=False, num_beams=1,
                         max_new_tokens=8) without the prompt (T5: without the
                         decoder start token), stopping at eos as transformers does
  beam_ids.txt           BEAM_FIXTURES only: generate(do_sample=False, num_beams=4,
                         length_penalty=1.0, max_new_tokens=8), same convention
  greedy_ids_<N>.txt     LONG_FIXTURES only (mistral: N=500): generate(do_sample=False,
                         num_beams=1, max_new_tokens=N, min_new_tokens=N) without the
                         prompt: exactly N ids, eos suppressed until then, positions
                         far past max_position_embeddings and the sliding window
                         applied over the whole generation (checked against greedy
                         decoding recomputed without a KV cache)

plus the lit test test/e2e/<name>.test. The references are computed from the
weights as they were saved (loaded back with from_pretrained in float32), and
each reference uses a freshly loaded model (dynamic RoPE keeps state across
calls). Re-running gives the same bytes.

Run with the fixtures venv, e.g.:
  /opt/llmc-fixtures/bin/python scripts/make_fixtures.py [--only NAME,...] [--verbose]

--long-window computes only the LONG_FIXTURES references (greedy_ids_<N>.txt),
from the fixture folders already saved (weights and input_ids.txt are not
regenerated, no other file is written); a full run writes them too.
"""

import argparse
import json
import os
import random
import shutil
import sys
import zlib

import numpy as np
import torch
import transformers
from transformers.utils import logging as hf_logging

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
E2E = os.path.join(ROOT, "test", "e2e")
MAX_NEW_TOKENS = 8
TOTAL_BUDGET = 3 * 1024 * 1024

# Greedy decoding is only a meaningful parity check where the reference is far
# from a tie: every generation step must have a top-1/top-2 logit gap of at
# least MIN_LOGIT_GAP, and every MoE routing decision (prompt and generation)
# a 2nd/3rd router-probability gap of at least MIN_ROUTER_GAP. A generation
# that repeats one token tells little about the decode path, so it must also
# hold MIN_DISTINCT different ids. The fixtures marked "eos" instead need a
# generation that stops at eos after at least EOS_AFTER other tokens. The
# prompt is re-drawn (deterministically) until these hold, and until greedy
# decoding recomputed without a KV cache gives the same ids (it differs in the
# logits for dynamic RoPE, whose cached keys keep the frequencies of the step
# that computed them).
MIN_LOGIT_GAP = 1e-2
MIN_ROUTER_GAP = 1e-3
MIN_DISTINCT = 3
EOS_AFTER = 3
MAX_DRAWS = 1000

# Fixtures that also store a beam-search reference (beam_ids.txt); it does not
# take part in the choice of the prompt.
BEAM_FIXTURES = {"gpt2", "llama_gqa", "t5", "t5_v11"}
NUM_BEAMS = 4

# Fixtures that also store a long greedy reference, name -> new tokens
# (greedy_ids_<N>.txt), with min_new_tokens=N so that it has exactly N ids. For
# mistral (window 4, max_position_embeddings 64) it checks a runtime that frees
# the KV-cache blocks falling out of the window over hundreds of steps.
# Positions go past max_position_embeddings: with default RoPE transformers
# just computes the rotation (generate only logs a "friendly reminder" once
# the sequence is longer than max_position_embeddings; an explicit
# max_new_tokens is not clamped to it). The reference must agree with greedy
# decoding recomputed without a KV cache (the whole sequence through the
# sliding-window mask at every step, the same eos suppression as
# min_new_tokens), the cache of generate must hold window-1 keys per layer, the
# eager attention weights over the final sequence must be non-zero exactly
# inside the window, and every step keeps a top-1/top-2 logit gap of at least
# LONG_MIN_LOGIT_GAP: the prompt was drawn for the 8-token reference and is
# kept, so the MIN_LOGIT_GAP bar is not required here, only one far above
# float32 noise (about 1e-6 on these logits). It does not take part in the
# choice of the prompt.
LONG_FIXTURES = {"mistral": 500}
LONG_MIN_LOGIT_GAP = 1e-4

# Common sizes: 2 layers, hidden 32-64, vocab 96-160.
LLAMA = dict(
    vocab_size=96,
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=4,
    max_position_embeddings=64,
    bos_token_id=1,
    eos_token_id=2,
    initializer_range=0.1,
)


def with_(base, **kw):
    d = dict(base)
    d.update(kw)
    return d


# name -> (model class, config class, config kwargs, options, description)
FIXTURES = [
    (
        "gpt2",
        "GPT2LMHeadModel",
        "GPT2Config",
        dict(
            vocab_size=112,
            n_embd=32,
            n_layer=2,
            n_head=4,
            n_positions=64,
            activation_function="gelu_new",
            bos_token_id=111,
            eos_token_id=111,
            initializer_range=0.1,
        ),
        {},
        "learned positions, Conv1D weights, fused c_attn, gelu_new, tied lm_head, n_inner default (4*n_embd)",
    ),
    (
        "llama",
        "LlamaForCausalLM",
        "LlamaConfig",
        LLAMA,
        {"eos": True},
        "multi-head attention, RMSNorm, SwiGLU, default RoPE, untied lm_head; generation stops at eos before 8 new tokens",
    ),
    (
        "llama_gqa",
        "LlamaForCausalLM",
        "LlamaConfig",
        with_(
            LLAMA,
            vocab_size=120,
            num_attention_heads=4,
            num_key_value_heads=2,
            head_dim=16,
            attention_bias=True,
            mlp_bias=True,
        ),
        {},
        "grouped-query attention (4 heads, 2 kv heads), explicit head_dim 16 != 32/4, attention_bias and mlp_bias",
    ),
    (
        "llama_mqa_tied",
        "LlamaForCausalLM",
        "LlamaConfig",
        with_(LLAMA, vocab_size=104, num_key_value_heads=1, tie_word_embeddings=True),
        {},
        "multi-query attention (1 kv head), tied word embeddings (no lm_head.weight saved)",
    ),
    (
        "llama_rope_linear",
        "LlamaForCausalLM",
        "LlamaConfig",
        with_(LLAMA, rope_parameters=dict(rope_type="linear", rope_theta=10000.0, factor=2.0)),
        {},
        "RoPE scaling 'linear' (factor 2: positions divided by 2)",
    ),
    (
        "llama_rope_dynamic",
        "LlamaForCausalLM",
        "LlamaConfig",
        # Dynamic NTK rescales the base once the sequence is longer than
        # max_position_embeddings (not original_max_position_embeddings): keep
        # it below the prompt length so the rescaled path is taken.
        with_(
            LLAMA,
            max_position_embeddings=6,
            rope_parameters=dict(rope_type="dynamic", rope_theta=10000.0, factor=2.0),
        ),
        {},
        "RoPE scaling 'dynamic' NTK (factor 2) with max_position_embeddings 6 < prompt length, so the base is rescaled",
    ),
    (
        "llama_rope_yarn",
        "LlamaForCausalLM",
        "LlamaConfig",
        with_(
            LLAMA,
            head_dim=16,
            num_attention_heads=2,
            num_key_value_heads=2,
            max_position_embeddings=128,
            rope_parameters=dict(
                rope_type="yarn",
                rope_theta=10000.0,
                factor=4.0,
                original_max_position_embeddings=32,
                beta_fast=32.0,
                beta_slow=1.0,
            ),
        ),
        {},
        "RoPE scaling 'yarn' (factor 4, original_max_position_embeddings 32: ramped frequencies and attention factor 0.1*ln(4)+1)",
    ),
    (
        "llama_rope_llama3",
        "LlamaForCausalLM",
        "LlamaConfig",
        with_(
            LLAMA,
            head_dim=16,
            num_attention_heads=2,
            num_key_value_heads=2,
            max_position_embeddings=128,
            # head_dim 16, theta 10000: wavelengths 6.3 .. 19869; with an
            # original context of 64 and factors 1/4 the wavelengths 6.3 stay,
            # 19.9 and 62.8 are smoothed, 199 and up are divided by 8.
            rope_parameters=dict(
                rope_type="llama3",
                rope_theta=10000.0,
                factor=8.0,
                low_freq_factor=1.0,
                high_freq_factor=4.0,
                original_max_position_embeddings=64,
            ),
        ),
        {},
        "RoPE scaling 'llama3' (factor 8, low/high freq factors 1/4, original context 64: unchanged, smoothed and scaled bands all present)",
    ),
    (
        "llama_bf16",
        "LlamaForCausalLM",
        "LlamaConfig",
        LLAMA,
        {"dtype": torch.bfloat16},
        "weights stored in bfloat16 (reference computed from the stored values upcast to float32)",
    ),
    (
        "llama_f16",
        "LlamaForCausalLM",
        "LlamaConfig",
        LLAMA,
        {"dtype": torch.float16},
        "weights stored in float16 (reference computed from the stored values upcast to float32)",
    ),
    (
        "llama_sharded",
        "LlamaForCausalLM",
        "LlamaConfig",
        LLAMA,
        {"max_shard_size": "50KB"},
        "checkpoint split into several model-0000x-of-0000n.safetensors shards with model.safetensors.index.json",
    ),
    (
        "mistral",
        "MistralForCausalLM",
        "MistralConfig",
        with_(LLAMA, num_key_value_heads=2, sliding_window=4),
        {},
        "sliding-window attention (window 4 < prompt length: a query sees itself and the 3 previous tokens), GQA",
    ),
    (
        "qwen2",
        "Qwen2ForCausalLM",
        "Qwen2Config",
        with_(LLAMA, vocab_size=128, num_key_value_heads=2, use_sliding_window=False, rope_parameters=dict(rope_type="default", rope_theta=1000000.0)),
        {},
        "q/k/v projection biases (no o_proj bias), GQA, rope_theta 1e6, no sliding window",
    ),
    (
        "bloom",
        "BloomForCausalLM",
        "BloomConfig",
        dict(
            vocab_size=136,
            hidden_size=40,
            n_layer=2,
            n_head=5,
            bos_token_id=1,
            eos_token_id=2,
            pad_token_id=3,
            # Tied embeddings plus the embedding LayerNorm make a weakly
            # initialised Bloom copy its last input token forever; larger
            # weights give the blocks a say.
            initializer_range=0.4,
        ),
        {},
        "ALiBi with 5 heads (not a power of two), fused per-head-interleaved query_key_value, embedding LayerNorm, tied lm_head",
    ),
    (
        "bert",
        "BertModel",
        "BertConfig",
        dict(
            vocab_size=100,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=64,
            max_position_embeddings=64,
            type_vocab_size=2,
            pad_token_id=0,
            initializer_range=0.1,
        ),
        {"kind": "encoder"},
        "bidirectional encoder, post-LayerNorm, learned absolute positions from 0, token_type_ids all 0, exact gelu",
    ),
    (
        "roberta",
        "RobertaModel",
        "RobertaConfig",
        dict(
            vocab_size=110,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=64,
            max_position_embeddings=64,
            type_vocab_size=1,
            pad_token_id=1,
            bos_token_id=0,
            eos_token_id=2,
            initializer_range=0.1,
        ),
        {"kind": "encoder"},
        "BERT architecture with position ids starting at padding_idx+1 = 2 (no pad in the prompt), one token type",
    ),
    (
        "t5",
        "T5ForConditionalGeneration",
        "T5Config",
        dict(
            vocab_size=112,
            d_model=32,
            d_kv=12,
            d_ff=64,
            num_layers=2,
            num_decoder_layers=2,
            num_heads=2,
            relative_attention_num_buckets=8,
            relative_attention_max_distance=16,
            feed_forward_proj="relu",
            tie_word_embeddings=True,
            # With the default factor 1 the decoder repeats one token whatever
            # the prompt.
            initializer_factor=2.0,
            pad_token_id=0,
            eos_token_id=1,
            decoder_start_token_id=0,
        ),
        {"kind": "t5"},
        "T5 v1.0: encoder-decoder, relative position buckets (8 buckets, max distance 16), d_kv 12 != 32/2, ReLU FFN, tied embeddings with d_model**-0.5 output scaling",
    ),
    (
        "t5_v11",
        "T5ForConditionalGeneration",
        "T5Config",
        dict(
            vocab_size=112,
            d_model=32,
            d_kv=12,
            d_ff=64,
            num_layers=2,
            num_decoder_layers=2,
            num_heads=2,
            relative_attention_num_buckets=8,
            relative_attention_max_distance=16,
            feed_forward_proj="gated-gelu",
            tie_word_embeddings=False,
            pad_token_id=0,
            eos_token_id=1,
            decoder_start_token_id=0,
        ),
        # transformers 5 turns tie_word_embeddings=False into
        # scale_decoder_outputs=False and still ties lm_head to shared; real
        # T5 v1.1 checkpoints carry their own lm_head.weight, so give it one.
        {"kind": "t5", "untie_lm_head": True},
        "T5 v1.1: gated-gelu (gelu_new) FFN, no decoder output scaling, separate lm_head.weight although config.json says tie_word_embeddings true",
    ),
    (
        "mixtral",
        "MixtralForCausalLM",
        "MixtralConfig",
        with_(
            LLAMA,
            num_key_value_heads=2,
            num_local_experts=4,
            num_experts_per_tok=2,
            sliding_window=None,
        ),
        {},
        "sparse MoE (4 experts, top-2, softmax then renormalised top-k weights), GQA",
    ),
    (
        "mixtral_top1",
        "MixtralForCausalLM",
        "MixtralConfig",
        with_(LLAMA, num_key_value_heads=2, num_local_experts=4, num_experts_per_tok=1, sliding_window=None),
        {},
        "sparse MoE with top-1 routing (4 experts: the renormalised weight is 1)",
    ),
    (
        "mixtral_e8",
        "MixtralForCausalLM",
        "MixtralConfig",
        with_(LLAMA, num_key_value_heads=2, num_local_experts=8, num_experts_per_tok=2, sliding_window=None),
        {},
        "sparse MoE with 8 experts, top-2",
    ),
    (
        "qwen2_moe",
        "Qwen2MoeForCausalLM",
        "Qwen2MoeConfig",
        with_(
            LLAMA,
            num_hidden_layers=3,
            num_key_value_heads=2,
            num_experts=8,
            num_experts_per_tok=2,
            moe_intermediate_size=32,
            shared_expert_intermediate_size=48,
            norm_topk_prob=False,
            mlp_only_layers=[1],
            use_sliding_window=False,
        ),
        {},
        "Qwen2-MoE: 8 experts top-2 without renormalisation, a shared expert scaled by a sigmoid gate, "
        "q/k/v biases (qkv_bias), layer 1 a dense MLP (mlp_only_layers)",
    ),
    (
        "qwen3_moe",
        "Qwen3MoeForCausalLM",
        "Qwen3MoeConfig",
        with_(
            LLAMA,
            num_key_value_heads=2,
            head_dim=16,
            num_experts=8,
            num_experts_per_tok=2,
            moe_intermediate_size=32,
            norm_topk_prob=True,
            decoder_sparse_step=2,
            use_sliding_window=False,
        ),
        {},
        "Qwen3-MoE: per-head q/k RMSNorm before RoPE, head_dim 16 != hidden/heads, 8 experts top-2 "
        "renormalised, layer 0 dense (decoder_sparse_step 2)",
    ),
]


def seed_of(name):
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def special_ids(config):
    ids = set()
    for key in ("bos_token_id", "eos_token_id", "pad_token_id", "decoder_start_token_id"):
        v = getattr(config, key, None)
        if v is None:
            continue
        ids.update(v if isinstance(v, (list, tuple)) else [v])
    return ids


def draw_ids(rng, config, lo, hi, first=None):
    n = rng.randint(lo, hi)
    banned = special_ids(config)
    ids = [] if first is None else [first]
    while len(ids) < n:
        t = rng.randrange(1, config.vocab_size)
        if t not in banned:
            ids.append(t)
    return ids


def fmt_ids(ids):
    return ",".join(str(int(i)) for i in ids) + "\n"


def load(model_cls, path):
    model = model_cls.from_pretrained(path, dtype=torch.float32, attn_implementation="eager")
    model.float()
    model.eval()
    return model


class RouterProbe:
    """Records the smallest gap between the k-th and (k+1)-th router probability."""

    def __init__(self, model):
        self.gap = float("inf")
        self.handles = []
        for mod in model.modules():
            if type(mod).__name__.endswith("TopKRouter"):
                self.handles.append(mod.register_forward_hook(self.hook))

    def hook(self, mod, inputs, outputs):
        logits = outputs[0].float()
        probs = torch.softmax(logits, dim=-1)
        top = torch.topk(probs, mod.top_k + 1, dim=-1).values
        self.gap = min(self.gap, float((top[:, mod.top_k - 1] - top[:, mod.top_k]).min()))

    def close(self):
        for h in self.handles:
            h.remove()


def greedy(model_cls, path, config, input_ids, kind):
    """Runs generate on a fresh model; returns (new ids, min logit gap, min router gap)."""
    model = load(model_cls, path)
    probe = RouterProbe(model)
    with torch.no_grad():
        out = model.generate(
            torch.tensor([input_ids]),
            do_sample=False,
            num_beams=1,
            max_new_tokens=MAX_NEW_TOKENS,
            return_dict_in_generate=True,
            output_logits=True,
        )
    probe.close()
    seq = out.sequences[0].tolist()
    if kind == "t5":
        assert seq[0] == config.decoder_start_token_id, seq
        new = seq[1:]
    else:
        assert seq[: len(input_ids)] == input_ids
        new = seq[len(input_ids) :]
    assert len(new) == len(out.logits), (len(new), len(out.logits))
    gap = float("inf")
    for step, logits in enumerate(out.logits):
        top2 = torch.topk(logits[0].float(), 2)
        assert int(top2.indices[0]) == new[step]
        gap = min(gap, float(top2.values[0] - top2.values[1]))
    return new, gap, probe.gap


def beam_search(model_cls, path, config, input_ids, kind):
    """Beam-search ids (num_beams=NUM_BEAMS) of a fresh model, as greedy() returns them."""
    model = load(model_cls, path)
    with torch.no_grad():
        seq = model.generate(
            torch.tensor([input_ids]),
            do_sample=False,
            num_beams=NUM_BEAMS,
            length_penalty=1.0,
            early_stopping=False,
            num_return_sequences=1,
            max_new_tokens=MAX_NEW_TOKENS,
        )[0].tolist()
    if kind == "t5":
        assert seq[0] == config.decoder_start_token_id, seq
        return seq[1:]
    assert seq[: len(input_ids)] == input_ids
    return seq[len(input_ids) :]


def recompute_greedy(model_cls, path, config, input_ids, kind, steps, suppress=()):
    """Greedy ids recomputed without a KV cache, each step on a fresh model.

    The ids in suppress are never chosen (what min_new_tokens does to eos)."""
    seq = [config.decoder_start_token_id] if kind == "t5" else list(input_ids)
    new = []
    for _ in range(steps):
        model = load(model_cls, path)
        with torch.no_grad():
            if kind == "t5":
                logits = model(input_ids=torch.tensor([input_ids]), decoder_input_ids=torch.tensor([seq]), use_cache=False).logits
            else:
                logits = model(input_ids=torch.tensor([seq]), use_cache=False).logits
        last = logits[0, -1].clone()
        for t in suppress:
            last[t] = -float("inf")
        seq.append(int(last.argmax()))
        new.append(seq[-1])
    return new


def check_window_mask(model_cls, path, seq, window):
    """Asserts that eager attention over all of seq (no cache) gives every
    query exactly the keys of itself and its window-1 predecessors."""
    model = load(model_cls, path)
    with torch.no_grad():
        attentions = model(input_ids=torch.tensor([seq]), use_cache=False, output_attentions=True).attentions
    q = torch.arange(len(seq))[:, None]
    k = torch.arange(len(seq))[None, :]
    inside = (k <= q) & (q - k < window)
    for probs in attentions:
        assert bool((probs[..., ~inside] == 0).all()), "attention outside the sliding window"
        assert bool((probs[..., inside] > 0).all()), "no attention inside the sliding window"


def long_greedy(name, verbose):
    """Writes greedy_ids_<N>.txt of LONG_FIXTURES[name] from the saved fixture."""
    steps = LONG_FIXTURES[name]
    model_name, opts = next((f[1], f[4]) for f in FIXTURES if f[0] == name)
    kind = opts.get("kind", "decoder")
    assert kind == "decoder", f"{name}: long references are for decoder-only fixtures"
    model_cls = getattr(transformers, model_name)
    out_dir = os.path.join(E2E, name)
    with open(os.path.join(out_dir, "input_ids.txt")) as f:
        input_ids = [int(t) for t in f.read().split(",")]
    model = load(model_cls, out_dir)
    config = model.config
    eos = config.eos_token_id
    eos_ids = sorted(set(eos if isinstance(eos, (list, tuple)) else [eos]))
    with torch.no_grad():
        out = model.generate(
            torch.tensor([input_ids]),
            do_sample=False,
            num_beams=1,
            max_new_tokens=steps,
            min_new_tokens=steps,
            return_dict_in_generate=True,
            output_logits=True,
        )
    seq = out.sequences[0].tolist()
    assert seq[: len(input_ids)] == input_ids
    new = seq[len(input_ids) :]
    assert len(new) == steps == len(out.logits), (len(new), len(out.logits))
    window = getattr(config, "sliding_window", None)
    if window is not None:
        # The cache of generate keeps only the window-1 keys a next query sees.
        for layer in out.past_key_values.layers:
            assert layer.keys.shape[-2] == window - 1, (type(layer).__name__, tuple(layer.keys.shape))
        check_window_mask(model_cls, out_dir, seq, window)
    gap = float("inf")
    raw_eos = 0  # steps at which eos was the top logit, suppressed by min_new_tokens
    for step, logits in enumerate(out.logits):
        top2 = torch.topk(logits[0].float(), 2)
        assert int(top2.indices[0]) == new[step]
        gap = min(gap, float(top2.values[0] - top2.values[1]))
        raw_eos += int(top2.indices[0]) in eos_ids
    if gap < LONG_MIN_LOGIT_GAP:
        sys.exit(f"{name}: {steps}-token reference too close to a tie (logit gap {gap:.3g})")
    recomputed = recompute_greedy(model_cls, out_dir, config, input_ids, kind, steps, suppress=eos_ids)
    if recomputed != new:
        first = next(i for i in range(steps) if recomputed[i] != new[i])
        sys.exit(f"{name}: {steps} greedy ids without a KV cache differ from generate() at step {first}")
    fn = f"greedy_ids_{steps}.txt"
    with open(os.path.join(out_dir, fn), "w") as f:
        f.write(fmt_ids(new))
    os.chmod(os.path.join(out_dir, fn), 0o644)
    print(
        f"{name:20s} {fn}: {steps} ids, {len(set(new))} distinct, min top1-top2 gap {gap:.3g}, "
        f"eos top-1 (suppressed) at {raw_eos} steps, same ids without a KV cache"
        + (f", first 20 {new[:20]}" if verbose else "")
    )


def reference(model_cls, path, input_ids, decoder_ids, kind):
    model = load(model_cls, path)
    probe = RouterProbe(model)
    with torch.no_grad():
        ids = torch.tensor([input_ids])
        if kind == "encoder":
            out = model(input_ids=ids).last_hidden_state
        elif kind == "t5":
            out = model(input_ids=ids, decoder_input_ids=torch.tensor([decoder_ids])).logits
        else:
            out = model(input_ids=ids).logits
    probe.close()
    return out[0].float().numpy().astype(np.float32), probe.gap


def build(name, model_name, config_name, config_kw, opts, verbose):
    model_cls = getattr(transformers, model_name)
    config_cls = getattr(transformers, config_name)
    kind = opts.get("kind", "decoder")
    out_dir = os.path.join(E2E, name)
    shutil.rmtree(out_dir, ignore_errors=True)

    seed = seed_of(name)
    torch.manual_seed(seed)
    config = config_cls(**config_kw)
    model = model_cls._from_config(config, attn_implementation="eager")
    if opts.get("untie_lm_head"):
        model.lm_head.weight = torch.nn.Parameter(
            torch.randn(model.lm_head.weight.shape) * model.config.initializer_factor
        )  # the std T5's _init_weights gives an untied lm_head
    model.eval()
    if "dtype" in opts:
        model.to(opts["dtype"])
    save_kw = {}
    if "max_shard_size" in opts:
        save_kw["max_shard_size"] = opts["max_shard_size"]
    model.save_pretrained(out_dir, **save_kw)
    del model
    config = config_cls.from_pretrained(out_dir)

    # Draw prompts until greedy decoding is well away from ties.
    rng = random.Random(seed)
    eos = config.eos_token_id
    eos_ids = set(eos if isinstance(eos, (list, tuple)) else [eos])
    for attempt in range(MAX_DRAWS):
        input_ids = draw_ids(rng, config, 8, 12)
        decoder_ids = None
        if kind == "t5":
            decoder_ids = draw_ids(rng, config, 5, 7, first=config.decoder_start_token_id)
        ref, ref_router_gap = reference(model_cls, out_dir, input_ids, decoder_ids, kind)
        if kind == "encoder":
            new, gap, router_gap = None, float("inf"), float("inf")
            break
        new, gap, router_gap = greedy(model_cls, out_dir, config, input_ids, kind)
        router_gap = min(router_gap, ref_router_gap)
        if gap < MIN_LOGIT_GAP or router_gap < MIN_ROUTER_GAP:
            why = f"too close to a tie (logit gap {gap:.3g}, router gap {router_gap:.3g})"
        elif recompute_greedy(model_cls, out_dir, config, input_ids, kind, len(new)) != new:
            why = "greedy ids without a KV cache differ"
        elif opts.get("eos") and not (EOS_AFTER <= len(new) - 1 < MAX_NEW_TOKENS - 1 and new[-1] in eos_ids):
            why = f"no early eos: {new}"
        elif not opts.get("eos") and len(set(new)) < MIN_DISTINCT:
            why = f"fewer than {MIN_DISTINCT} distinct ids: {new}"
        else:
            break
        if verbose:
            print(f"  {name}: draw {attempt}: {why}")
    else:
        sys.exit(f"{name}: no prompt with a clear greedy decision")

    with open(os.path.join(out_dir, "input_ids.txt"), "w") as f:
        f.write(fmt_ids(input_ids))
    if decoder_ids is not None:
        with open(os.path.join(out_dir, "decoder_input_ids.txt"), "w") as f:
            f.write(fmt_ids(decoder_ids))
    np.save(os.path.join(out_dir, "hidden.npy" if kind == "encoder" else "logits.npy"), ref)
    if new is not None:
        with open(os.path.join(out_dir, "greedy_ids.txt"), "w") as f:
            f.write(fmt_ids(new))
    if name in BEAM_FIXTURES:
        with open(os.path.join(out_dir, "beam_ids.txt"), "w") as f:
            f.write(fmt_ids(beam_search(model_cls, out_dir, config, input_ids, kind)))
    for fn in os.listdir(out_dir):  # safetensors writes its files 0600
        os.chmod(os.path.join(out_dir, fn), 0o644)
    return dict(
        name=name,
        prompt=len(input_ids),
        shape=ref.shape,
        greedy=new,
        gap=gap,
        router_gap=router_gap,
        attempts=attempt + 1,
        eos=config.eos_token_id,
    )


TEST_HEADER = "# Parity of {name} with transformers: {desc}.\n"


def write_test(name, opts, desc):
    kind = opts.get("kind", "decoder")
    d = "%S/" + name
    inp = f'--input-ids "$(cat {d}/input_ids.txt)"'
    lines = [TEST_HEADER.format(name=name, desc=desc)]
    if kind == "encoder":
        lines.append(f"# RUN: llm-run {d} {inp} --dump-hidden %t.npy\n")
        lines.append(f"# RUN: %python %S/compare.py logits %t.npy {d}/hidden.npy\n")
    else:
        dec = f' --decoder-input-ids "$(cat {d}/decoder_input_ids.txt)"' if kind == "t5" else ""
        lines.append(f"# RUN: llm-run {d} {inp}{dec} --dump-logits %t.npy\n")
        lines.append(f"# RUN: %python %S/compare.py logits %t.npy {d}/logits.npy\n")
        lines.append(f"# RUN: llm-run {d} {inp} --max-new-tokens {MAX_NEW_TOKENS} --dump-ids %t.ids\n")
        lines.append(f"# RUN: %python %S/compare.py ids %t.ids {d}/greedy_ids.txt\n")
    with open(os.path.join(E2E, name + ".test"), "w") as f:
        f.writelines(lines)


def du(path):
    total = 0
    for root, _, files in os.walk(path):
        for fn in files:
            total += os.path.getsize(os.path.join(root, fn))
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", help="comma-separated fixture names")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument(
        "--long-window",
        action="store_true",
        help="only write the LONG_FIXTURES references (greedy_ids_<N>.txt) from the saved fixtures",
    )
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    os.makedirs(E2E, exist_ok=True)

    only = set(args.only.split(",")) if args.only else None
    known = {f[0] for f in FIXTURES}
    if only and not only <= known:
        sys.exit(f"unknown fixtures: {sorted(only - known)}")
    if args.long_window:
        if only and not only & set(LONG_FIXTURES):
            sys.exit(f"no long reference among {sorted(only)}: LONG_FIXTURES is {sorted(LONG_FIXTURES)}")
        for name in LONG_FIXTURES:
            if not only or name in only:
                long_greedy(name, args.verbose)
        return
    for name, model_name, config_name, config_kw, opts, desc in FIXTURES:
        if only and name not in only:
            continue
        info = build(name, model_name, config_name, config_kw, opts, args.verbose)
        write_test(name, opts, desc)
        size = du(os.path.join(E2E, name))
        extra = ""
        if info["greedy"] is not None:
            extra = (
                f" greedy={info['greedy']} (eos {info['eos']}) min top1-top2 gap {info['gap']:.3g}"
                + (f", router gap {info['router_gap']:.3g}" if info["router_gap"] != float("inf") else "")
                + f", prompt draws {info['attempts']}"
            )
        print(f"{name:20s} {size:8d} B  prompt {info['prompt']:2d}  ref {tuple(info['shape'])}{extra}")
        if name in LONG_FIXTURES:
            long_greedy(name, args.verbose)
    total = du(E2E)
    print(f"total test/e2e: {total} B")
    if total > TOTAL_BUDGET:
        sys.exit(f"test/e2e is {total} B, over the {TOTAL_BUDGET} B budget")


if __name__ == "__main__":
    main()
