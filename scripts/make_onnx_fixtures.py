#!/usr/bin/env python3
"""Writes the ONNX test inputs: small graphs built with onnx.helper, one per
raising pattern of the ONNX importer and its near misses and one per bad
input (test/Import/ONNX/Inputs), and exports of e2e fixture models with
torch.onnx, with ONNX Runtime's outputs on the same files
(test/e2e/onnx/<model>).

Needs onnx, numpy and, for the exports, torch, transformers, onnxscript and
onnxruntime (pip). CI needs none of them: the outputs are committed.

    python scripts/make_onnx_fixtures.py            # everything
    python scripts/make_onnx_fixtures.py --graphs   # the small graphs only
"""

import argparse
import json
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GRAPHS = os.path.join(ROOT, "test", "Import", "ONNX", "Inputs")
E2E = os.path.join(ROOT, "test", "e2e", "onnx")

HIDDEN, VOCAB, FFN, HEADS = 8, 16, 16, 2
rng = np.random.default_rng(0)


def init(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def weights(*shape):
    return (rng.standard_normal(shape) * 0.3).astype(np.float32)


def scalar(name, value, dtype=np.float32):
    return init(name, np.array(value, dtype=dtype))


def ints(name, values):
    return init(name, np.array(values, dtype=np.int64))


def model(nodes, inits, output="y", opset=17, out_shape=None, inputs=None,
          contrib=False):
    """input_ids [1, seq] -> embedding -> x [1, seq, HIDDEN] -> nodes -> y."""
    inputs = inputs or [
        helper.make_tensor_value_info("input_ids", TensorProto.INT64,
                                      [1, "seq"])
    ]
    embed = helper.make_node("Gather", ["table", "input_ids"], ["x"],
                             name="embed")
    graph = helper.make_graph(
        [embed] + nodes, "g", inputs,
        [helper.make_tensor_value_info(output, TensorProto.FLOAT,
                                       out_shape or [1, "seq", HIDDEN])],
        [init("table", weights(VOCAB, HIDDEN))] + inits)
    opsets = [helper.make_opsetid("", opset)]
    if contrib:
        opsets.append(helper.make_opsetid("com.microsoft", 1))
    return helper.make_model(graph, opset_imports=opsets, ir_version=8)


def save(m, name, check=True):
    if check:
        onnx.checker.check_model(m)
    onnx.save(m, os.path.join(GRAPHS, name))


def node(op, inputs, outputs, name=None, **attrs):
    return helper.make_node(op, inputs, outputs, name=name or outputs[0],
                            **attrs)


def layer_norm_nodes(axis=-1):
    return [
        node("ReduceMean", ["x"], ["mean"], axes=[axis]),
        node("Sub", ["x", "mean"], ["d"]),
        node("Pow", ["d", "two"], ["sq"]),
        node("ReduceMean", ["sq"], ["var"], axes=[-1]),
        node("Add", ["var", "eps"], ["var_eps"]),
        node("Sqrt", ["var_eps"], ["std"]),
        node("Div", ["d", "std"], ["norm"]),
        node("Mul", ["norm", "ln_w"], ["scaled"]),
        node("Add", ["scaled", "ln_b"], ["y"]),
    ]


def layer_norm_inits():
    return [scalar("two", 2.0), scalar("eps", 1e-5),
            init("ln_w", weights(HIDDEN)), init("ln_b", weights(HIDDEN))]


def rms_nodes(exponent="two", torchscript=False):
    if torchscript:  # fp32 casts around it, 1 / sqrt as a Div
        return [
            node("Cast", ["x"], ["xf"], to=TensorProto.FLOAT),
            node("Pow", ["xf", exponent], ["sq"]),
            node("ReduceMean", ["sq"], ["ms"], axes=[-1]),
            node("Add", ["ms", "eps"], ["ms_eps"]),
            node("Sqrt", ["ms_eps"], ["rms"]),
            node("Div", ["one", "rms"], ["inv"]),
            node("Mul", ["xf", "inv"], ["normf"]),
            node("Cast", ["normf"], ["norm"], to=TensorProto.FLOAT),
            node("Mul", ["rms_w", "norm"], ["y"]),
        ]
    return [
        node("Pow", ["x", exponent], ["sq"]),
        node("ReduceMean", ["sq"], ["ms"], axes=[-1]),
        node("Add", ["ms", "eps"], ["ms_eps"]),
        node("Sqrt", ["ms_eps"], ["rms"]),
        node("Reciprocal", ["rms"], ["inv"]),
        node("Mul", ["x", "inv"], ["norm"]),
        node("Mul", ["rms_w", "norm"], ["y"]),
    ]


def gelu_erf_nodes(divisor="sqrt2", nested=False, half_last=False):
    body = [
        node("Div", ["x", divisor], ["scaled"]),
        node("Erf", ["scaled"], ["erf"]),
        node("Add", ["erf", "one"], ["gate1"]),
    ]
    if half_last:  # (x * (1 + erf)) * 0.5, as the TorchScript exporter
        return body + [node("Mul", ["x", "gate1"], ["xg"]),
                       node("Mul", ["xg", "half"], ["y"])]
    if nested:  # x * (0.5 * (1 + erf)), as the dynamo exporter writes it
        return body + [node("Mul", ["half", "gate1"], ["gate"]),
                       node("Mul", ["x", "gate"], ["y"])]
    return body + [node("Mul", ["x", "half"], ["xh"]),
                   node("Mul", ["xh", "gate1"], ["y"])]


def gelu_tanh_nodes():
    return [
        node("Pow", ["x", "three"], ["cube"]),
        node("Mul", ["c044715", "cube"], ["k"]),
        node("Add", ["x", "k"], ["inner"]),
        node("Mul", ["inner", "c_sqrt_2_pi"], ["arg"]),
        node("Tanh", ["arg"], ["t"]),
        node("Add", ["one", "t"], ["gate1"]),
        node("Mul", ["half", "x"], ["xh"]),
        node("Mul", ["xh", "gate1"], ["y"]),
    ]


def gelu_inits():
    return [scalar("sqrt2", np.sqrt(2.0)), scalar("one", 1.0),
            scalar("half", 0.5), scalar("two", 2.0), scalar("three", 3.0),
            scalar("c044715", 0.044715),
            scalar("c_sqrt_2_pi", np.sqrt(2.0 / np.pi))]


def attention_nodes():
    """Causal self-attention as the TorchScript exporter spells it: split
    heads by Reshape + Transpose, K transposed for the scores, a scale, a
    mask from Trilu over ones, softmax, merge heads."""
    d = HIDDEN // HEADS
    nodes = []
    for p in "qkv":
        nodes += [
            node("MatMul", ["x", f"w{p}"], [f"{p}_lin"]),
            node("Add", [f"{p}_lin", f"b{p}"], [p]),
            node("Reshape", [p, "heads_shape"], [f"{p}_4d"]),
            node("Transpose", [f"{p}_4d"], [f"{p}_h"], perm=[0, 2, 1, 3]),
        ]
    nodes += [
        node("Transpose", ["k_h"], ["k_t"], perm=[0, 1, 3, 2]),
        node("MatMul", ["q_h", "k_t"], ["scores"]),
        node("Div", ["scores", "sqrt_d"], ["scaled"]),
        # The mask: shape arithmetic and Trilu, all folded.
        node("Shape", ["x"], ["x_shape"]),
        node("Gather", ["x_shape", "one_index"], ["seq_len"], axis=0),
        node("Concat", ["seq_len", "seq_len"], ["mask_shape"], axis=0),
        node("ConstantOfShape", ["mask_shape"], ["ones"],
             value=helper.make_tensor("v", TensorProto.FLOAT, [1], [1.0])),
        node("Trilu", ["ones"], ["lower"], upper=0),
        node("Equal", ["lower", "zero"], ["masked"]),
        node("Where", ["masked", "neg_inf", "zero"], ["mask"]),
        node("Add", ["scaled", "mask"], ["masked_scores"]),
        node("Softmax", ["masked_scores"], ["probs"], axis=-1),
        node("MatMul", ["probs", "v_h"], ["o_h"]),
        node("Transpose", ["o_h"], ["o_t"], perm=[0, 2, 1, 3]),
        node("Reshape", ["o_t", "merged_shape"], ["y"]),
    ]
    inits = [ints("heads_shape", [1, -1, HEADS, d]),
             ints("merged_shape", [1, -1, HIDDEN]),
             scalar("sqrt_d", np.sqrt(d)), ints("one_index", [1]),
             scalar("zero", 0.0), scalar("neg_inf", -np.inf)]
    for p in "qkv":
        inits += [init(f"w{p}", weights(HIDDEN, HIDDEN)),
                  init(f"b{p}", weights(HIDDEN))]
    return nodes, inits


def relative_bias_nodes(swapped=False):
    """T5's self-attention (unscaled scores, no mask) with its relative
    position bias as the TorchScript exporter spells compute_bias: Range
    positions, memory - context, the bidirectional bucketing of 8 buckets
    and maximum distance 16 (abs, log, min, where), Gather from the
    [buckets, heads] table, Transpose(2, 0, 1), Unsqueeze(0), added to the
    scores. `swapped` subtracts the other way (context - memory): buckets
    that are not T5's in either direction."""
    d = HIDDEN // HEADS
    nodes = []
    for p in "qkv":
        nodes += [
            node("MatMul", ["x", f"w{p}"], [f"{p}_lin"]),
            node("Reshape", [f"{p}_lin", "heads_shape"], [f"{p}_4d"]),
            node("Transpose", [f"{p}_4d"], [f"{p}_h"], perm=[0, 2, 1, 3]),
        ]
    first, second = ("ctx", "mem") if swapped else ("mem", "ctx")
    nodes += [
        node("Transpose", ["k_h"], ["k_t"], perm=[0, 1, 3, 2]),
        node("MatMul", ["q_h", "k_t"], ["scores"]),
        node("Shape", ["input_ids"], ["ids_shape"]),
        node("Gather", ["ids_shape", "one_index"], ["seq_len"], axis=0),
        node("Range", ["zero_i", "seq_len", "one_i"], ["range"]),
        node("Unsqueeze", ["range", "last_axis"], ["ctx"]),
        node("Unsqueeze", ["range", "zero_axis"], ["mem"]),
        node("Sub", [first, second], ["rel"]),
        node("Greater", ["rel", "zero_i"], ["future"]),
        node("Cast", ["future"], ["future_i"], to=TensorProto.INT64),
        node("Mul", ["future_i", "half_buckets"], ["side"]),
        node("Abs", ["rel"], ["n"]),
        node("Less", ["n", "max_exact"], ["small"]),
        node("Cast", ["n"], ["n_f"], to=TensorProto.FLOAT),
        node("Div", ["n_f", "max_exact_f"], ["ratio"]),
        node("Log", ["ratio"], ["log_ratio"]),
        node("Div", ["log_ratio", "log_range"], ["scaled"]),
        node("Mul", ["scaled", "log_buckets"], ["spread"]),
        node("Cast", ["spread"], ["spread_i"], to=TensorProto.INT64),
        node("Add", ["spread_i", "max_exact"], ["large"]),
        node("Min", ["large", "last_bucket"], ["large_capped"]),
        node("Where", ["small", "n", "large_capped"], ["within"]),
        node("Add", ["side", "within"], ["buckets"]),
        node("Gather", ["rel_table", "buckets"], ["bias_qkh"], axis=0),
        node("Transpose", ["bias_qkh"], ["bias_hqk"], perm=[2, 0, 1]),
        node("Unsqueeze", ["bias_hqk", "zero_axis"], ["bias"]),
        node("Add", ["scores", "bias"], ["biased"]),
        node("Softmax", ["biased"], ["probs"], axis=-1),
        node("MatMul", ["probs", "v_h"], ["o_h"]),
        node("Transpose", ["o_h"], ["o_t"], perm=[0, 2, 1, 3]),
        node("Reshape", ["o_t", "merged_shape"], ["y"]),
    ]
    inits = [ints("heads_shape", [1, -1, HEADS, d]),
             ints("merged_shape", [1, -1, HIDDEN]), ints("one_index", 1),
             scalar("zero_i", 0, np.int64), scalar("one_i", 1, np.int64),
             ints("last_axis", [-1]), ints("zero_axis", [0]),
             scalar("half_buckets", 4, np.int64),
             scalar("max_exact", 2, np.int64), scalar("max_exact_f", 2.0),
             scalar("log_range", np.log(16 / 2)), scalar("log_buckets", 2.0),
             scalar("last_bucket", 3, np.int64),
             init("rel_table", weights(8, HEADS))]
    for p in "qkv":
        inits.append(init(f"w{p}", weights(HIDDEN, HIDDEN)))
    return nodes, inits


def write_graphs():
    os.makedirs(GRAPHS, exist_ok=True)
    save(model(layer_norm_nodes(), layer_norm_inits()), "layer-norm.onnx")
    save(model(layer_norm_nodes(axis=1), layer_norm_inits()),
         "layer-norm-wrong-axis.onnx")
    save(model([node("LayerNormalization", ["x", "ln_w", "ln_b"], ["y"],
                     epsilon=1e-6, axis=-1)],
               [init("ln_w", weights(HIDDEN)), init("ln_b", weights(HIDDEN))]),
         "layer-norm-node.onnx")
    rms_inits = [scalar("two", 2.0), scalar("three", 3.0),
                 scalar("eps", 1e-6), init("rms_w", weights(HIDDEN))]
    save(model(rms_nodes(), rms_inits), "rms-norm.onnx")
    save(model(rms_nodes("three"), rms_inits), "rms-norm-cube.onnx")
    save(model(rms_nodes(torchscript=True), rms_inits + [scalar("one", 1.0)]),
         "rms-norm-torchscript.onnx")
    save(model(gelu_erf_nodes(), gelu_inits()), "gelu-erf.onnx")
    save(model(gelu_erf_nodes(nested=True), gelu_inits()),
         "gelu-erf-nested.onnx")
    save(model(gelu_erf_nodes(half_last=True), gelu_inits()),
         "gelu-erf-half-last.onnx")
    save(model(gelu_erf_nodes(divisor="two"), gelu_inits()),
         "gelu-erf-wrong-constant.onnx")
    save(model(gelu_tanh_nodes(), gelu_inits()), "gelu-tanh.onnx")
    save(model([node("Gelu", ["x"], ["y"], approximate="tanh")], [],
               opset=20), "gelu-node.onnx")
    save(model([node("Sigmoid", ["x"], ["s"]), node("Mul", ["x", "s"], ["y"])],
               []), "silu.onnx")
    save(model([node("Neg", ["x"], ["nx"]), node("Sigmoid", ["x"], ["s"]),
                node("Mul", ["nx", "s"], ["y"])], []), "silu-other-operand.onnx")
    save(model([node("MatMul", ["x", "w"], ["xw"]),
                node("Add", ["xw", "b"], ["y"])],
               [init("w", weights(HIDDEN, FFN)), init("b", weights(FFN))],
               out_shape=[1, "seq", FFN]), "linear-matmul.onnx")
    save(model([node("Reshape", ["x", "flat"], ["x2"]),
                node("Gemm", ["x2", "w", "b"], ["y2"], transB=1),
                node("Reshape", ["y2", "unflat"], ["y"])],
               [init("w", weights(FFN, HIDDEN)), init("b", weights(FFN)),
                ints("flat", [-1, HIDDEN]), ints("unflat", [1, -1, FFN])],
               out_shape=[1, "seq", FFN]), "linear-gemm.onnx")
    save(model([node("Transpose", ["x"], ["x_t"], perm=[0, 2, 1]),
                node("MatMul", ["x", "x_t"], ["y"])], [],
               out_shape=[1, "seq", "seq"]), "matmul-activations.onnx")
    nodes, inits = attention_nodes()
    save(model(nodes, inits), "attention.onnx")
    # Positions from Range over the sequence, as exporters compute them.
    save(model([node("Shape", ["input_ids"], ["ids_shape"]),
                node("Gather", ["ids_shape", "one_index"], ["seq_len"], axis=0),
                node("Range", ["zero_i", "seq_len", "one_i"], ["range"]),
                node("Unsqueeze", ["range", "zero_axis"], ["positions"]),
                node("Gather", ["pos_table", "positions"], ["pos"]),
                node("Add", ["x", "pos"], ["y"])],
               [ints("one_index", 1), scalar("zero_i", 0, np.int64),
                scalar("one_i", 1, np.int64), ints("zero_axis", [0]),
                init("pos_table", weights(32, HIDDEN))]), "positions.onnx")

    # RoPE over Q split into 2 heads of 4: cos and sin from Range positions
    # times inv_freq, rotate_half by Slice, Neg and Concat; heads merged.
    def rope_graph(inv_freq):
        nodes = [
            node("MatMul", ["x", "wq"], ["q"]),
            node("Reshape", ["q", "heads_shape"], ["q4"]),
            node("Transpose", ["q4"], ["qh"], perm=[0, 2, 1, 3]),
            node("Shape", ["input_ids"], ["ids_shape"]),
            node("Gather", ["ids_shape", "one_index"], ["seq_len"], axis=0),
            node("Range", ["zero_i", "seq_len", "one_i"], ["range"]),
            node("Cast", ["range"], ["range_f"], to=TensorProto.FLOAT),
            node("Unsqueeze", ["range_f", "last_axis"], ["pos_col"]),
            node("Mul", ["pos_col", "inv_freq"], ["freqs"]),
            node("Concat", ["freqs", "freqs"], ["emb"], axis=-1),
            node("Cos", ["emb"], ["cos"]),
            node("Sin", ["emb"], ["sin"]),
            node("Mul", ["qh", "cos"], ["q_cos"]),
            node("Slice", ["qh", "zero_start", "half_end", "last_axis"],
                 ["q_lo"]),
            node("Slice", ["qh", "half_end", "big_end", "last_axis"],
                 ["q_hi"]),
            node("Neg", ["q_hi"], ["q_hi_neg"]),
            node("Concat", ["q_hi_neg", "q_lo"], ["q_rot"], axis=-1),
            node("Mul", ["q_rot", "sin"], ["q_sin"]),
            node("Add", ["q_cos", "q_sin"], ["q_rope"]),
            node("Transpose", ["q_rope"], ["q_t"], perm=[0, 2, 1, 3]),
            node("Reshape", ["q_t", "merged_shape"], ["y"]),
        ]
        inits = [init("wq", weights(HIDDEN, HIDDEN)),
                 ints("heads_shape", [1, -1, 2, 4]),
                 ints("merged_shape", [1, -1, HIDDEN]), ints("one_index", 1),
                 scalar("zero_i", 0, np.int64), scalar("one_i", 1, np.int64),
                 ints("last_axis", [-1]), ints("zero_start", [0]),
                 ints("half_end", [2]), ints("big_end", [1 << 62]),
                 init("inv_freq", np.array(inv_freq, dtype=np.float32))]
        return model(nodes, inits)

    default = (1.0 / 10000.0 ** (np.arange(0, 4, 2) / 4)).astype(np.float32)
    save(rope_graph(default), "rope.onnx")
    save(rope_graph(default * np.float32(0.25)), "rope-scaled.onnx")
    # GQA's repeat_kv: 1 kv head of 4 repeated for 2 heads.
    save(model([node("MatMul", ["x", "wv"], ["v"]),
                node("Reshape", ["v", "kv_shape"], ["v4"]),
                node("Transpose", ["v4"], ["vh"], perm=[0, 2, 1, 3]),
                node("Unsqueeze", ["vh", "axis2"], ["v5"]),
                node("Shape", ["input_ids"], ["ids_shape"]),
                node("Gather", ["ids_shape", "one_index"], ["seq_len"],
                     axis=0),
                node("Concat", ["one", "one", "two", "seq_len", "four"],
                     ["expand_shape"], axis=0),
                node("Expand", ["v5", "expand_shape"], ["v_rep"]),
                node("Reshape", ["v_rep", "rep_shape"], ["v_all"]),
                node("Transpose", ["v_all"], ["v_t"], perm=[0, 2, 1, 3]),
                node("Reshape", ["v_t", "merged_shape"], ["y"])],
               [init("wv", weights(HIDDEN, 4)), ints("kv_shape", [1, -1, 1, 4]),
                ints("axis2", [2]), ints("one_index", [1]), ints("one", [1]),
                ints("two", [2]), ints("four", [4]),
                ints("rep_shape", [1, 2, -1, 4]),
                ints("merged_shape", [1, -1, HIDDEN])]), "repeat-kv.onnx")
    # SwiGLU: silu(x Wg) * (x Wu).
    save(model([node("MatMul", ["x", "wg"], ["g"]),
                node("MatMul", ["x", "wu"], ["u"]),
                node("Sigmoid", ["g"], ["sg"]),
                node("Mul", ["g", "sg"], ["silu"]),
                node("Mul", ["silu", "u"], ["y"])],
               [init("wg", weights(HIDDEN, HIDDEN)),
                init("wu", weights(HIDDEN, HIDDEN))]), "glu.onnx")

    # ONNX Runtime's contrib ops (com.microsoft): SkipLayerNormalization
    # with the MatMul's bias moved into it and its sum output read too, and
    # FastGelu/BiasGelu over a linear layer; a bias on a value that is not a
    # linear layer's output is refused.
    def contrib_node(op, inputs, outputs, **attrs):
        return helper.make_node(op, inputs, outputs, name=outputs[0] or op,
                                domain="com.microsoft", **attrs)
    save(model([node("MatMul", ["x", "w"], ["xw"]),
                contrib_node("SkipLayerNormalization",
                             ["xw", "x", "gamma", "beta", "bias"],
                             ["norm", "", "", "sum"], epsilon=1e-5),
                node("Add", ["norm", "sum"], ["y"])],
               [init("w", weights(HIDDEN, HIDDEN)),
                init("gamma", weights(HIDDEN)), init("beta", weights(HIDDEN)),
                init("bias", weights(HIDDEN))], contrib=True),
         "contrib-skip-layer-norm.onnx", check=False)
    save(model([node("MatMul", ["x", "w"], ["xw"]),
                contrib_node("FastGelu", ["xw", "bias"], ["y"])],
               [init("w", weights(HIDDEN, HIDDEN)),
                init("bias", weights(HIDDEN))], contrib=True),
         "contrib-fast-gelu.onnx", check=False)
    # com.microsoft.Attention (fused QKV weights [in, 3 hidden]), causal
    # and bidirectional, with ONNX Runtime's output on ids 3,1,4,1,5.
    for name, unidirectional in [("contrib-attention-causal", 1),
                                 ("contrib-attention", 0)]:
        m = model([contrib_node("Attention", ["x", "w", "b"], ["y"],
                                num_heads=2, unidirectional=unidirectional)],
                  [init("w", weights(HIDDEN, 3 * HIDDEN)),
                   init("b", weights(3 * HIDDEN))], contrib=True)
        save(m, name + ".onnx", check=False)
        import onnxruntime as ort
        session = ort.InferenceSession(m.SerializeToString(),
                                       providers=["CPUExecutionProvider"])
        ids = np.array([[3, 1, 4, 1, 5]], dtype=np.int64)
        np.save(os.path.join(GRAPHS, name + ".ort.npy"),
                session.run(None, {"input_ids": ids})[0][0])
    save(model([contrib_node("BiasGelu", ["x", "bias"], ["y"])],
               [init("bias", weights(HIDDEN))], contrib=True),
         "contrib-bias-gelu-not-linear.onnx", check=False)

    # Bad inputs.
    good = model([node("Relu", ["x"], ["y"])], [])
    save(model([node("Einsum", ["x", "x"], ["y"], equation="bsh,bsh->bsh")],
               []), "unsupported-op.onnx")
    old = model(layer_norm_nodes(), layer_norm_inits(), opset=13)
    save(old, "opset-13.onnx", check=False)
    cycle = model([node("Add", ["x", "b"], ["a"], name="first"),
                   node("Neg", ["a"], ["b"], name="second"),
                   node("Add", ["a", "x"], ["y"])], [])
    save(cycle, "cycle.onnx", check=False)
    huge = model([node("ConstantOfShape", ["huge_shape"], ["big"]),
                  node("Add", ["x", "big"], ["y"])],
                 [ints("huge_shape", [1 << 20, 1 << 20, 8])])
    save(huge, "huge-constant.onnx", check=False)
    missing = model([node("Add", ["x", "missing_bias"], ["y"])], [])
    save(missing, "missing-initializer.onnx", check=False)
    wrong_input = model(
        [node("Add", ["x", "x"], ["y"])], [],
        inputs=[helper.make_tensor_value_info("input_ids", TensorProto.INT64,
                                              [1, "seq"]),
                helper.make_tensor_value_info("pixel_values",
                                              TensorProto.FLOAT, [1, 3])])
    save(wrong_input, "unknown-input.onnx", check=False)
    raw = model([node("Add", ["x", "bias"], ["y"])],
                [init("bias", weights(HIDDEN))])
    for t in raw.graph.initializer:
        if t.name == "bias":
            t.raw_data = t.raw_data[:-4]
    save(raw, "raw-data-short.onnx", check=False)
    with open(os.path.join(GRAPHS, "not-onnx.onnx"), "w") as f:
        f.write("this is not a protobuf\n" * 4)
    data = good.SerializeToString()
    with open(os.path.join(GRAPHS, "truncated.onnx"), "wb") as f:
        f.write(data[: len(data) - 40])
    # External data: a file inside the folder, a location escaping it, an
    # offset past the file's end.
    for name, location, offset in [("external-ok", "external.bin", 0),
                                   ("external-escape", "../secret.bin", 0),
                                   ("external-past-end", "external.bin", 4096)]:
        m = model([node("Add", ["x", "bias"], ["y"])],
                  [init("bias", weights(HIDDEN))])
        for t in m.graph.initializer:
            if t.name == "bias":
                with open(os.path.join(GRAPHS, "external.bin"), "wb") as f:
                    f.write(t.raw_data)
                t.ClearField("raw_data")
                t.data_location = TensorProto.EXTERNAL
                for key, value in [("location", location),
                                   ("offset", str(offset)),
                                   ("length", str(4 * HIDDEN))]:
                    entry = t.external_data.add()
                    entry.key, entry.value = key, value
        save(m, name + ".onnx", check=False)

    # Added last, so that the weights drawn above stay as they were.
    for name, swapped in [("relative-bias", False),
                          ("relative-bias-swapped", True)]:
        nodes, inits = relative_bias_nodes(swapped)
        save(model(nodes, inits), name + ".onnx")
    save(model([node("Relu", ["x"], ["y"])], []), "relu.onnx")
    # An encoder-decoder graph (decoder_input_ids) whose output is hidden
    # states, not logits.
    save(model([node("Gather", ["table", "decoder_input_ids"], ["dec"]),
                node("Add", ["dec", "dec"], ["y"])], [],
               inputs=[helper.make_tensor_value_info(
                   name, TensorProto.INT64, [1, axis])
                   for name, axis in [("input_ids", "seq"),
                                      ("decoder_input_ids", "dec")]],
               out_shape=[1, "dec", HIDDEN]), "seq2seq-hidden.onnx")
    # An export with past key values: the past [1, heads, past, head dim]
    # joined to the new keys; bound empty, the Concat is the new keys, also
    # where the past's heads are symbolic. Near misses: a Concat of two
    # computed tensors, and a past of rank 3.
    def past_graph(second="past_key_values.0.key", heads=HEADS, rank=4):
        return model(
            [node("Reshape", ["x", "heads_shape"], ["x4"]),
             node("Transpose", ["x4"], ["xh"], perm=[0, 2, 1, 3]),
             node("Concat", [second, "xh"], ["y"], axis=2)],
            [ints("heads_shape", [1, -1, HEADS, HIDDEN // HEADS])],
            inputs=[helper.make_tensor_value_info(
                        "input_ids", TensorProto.INT64, [1, "seq"]),
                    helper.make_tensor_value_info(
                        "past_key_values.0.key", TensorProto.FLOAT,
                        [1, heads, "past", HIDDEN // HEADS][:rank])],
            out_shape=[1, HEADS, "total", HIDDEN // HEADS])
    save(past_graph(), "past-concat.onnx")
    save(past_graph(second="xh"), "concat-computed.onnx", check=False)
    save(past_graph(heads="heads"), "past-dynamic-heads.onnx", check=False)
    # com.microsoft.MultiHeadAttention over three projections, the fused
    # bias [3 hidden] in the op, causal and bidirectional, with ONNX
    # Runtime's output on ids 3,1,4,1,5; with an attention bias input (not
    # supported) it is an error.
    def mha(unidirectional, attention_bias=False):
        nodes = [node("MatMul", ["x", f"w{p}"], [f"{p}_lin"]) for p in "qkv"]
        inputs = ["q_lin", "k_lin", "v_lin", "qkv_bias", "",
                  "x_bias" if attention_bias else ""]
        nodes.append(helper.make_node(
            "MultiHeadAttention", inputs[:6 if attention_bias else 4], ["y"],
            name="mha", domain="com.microsoft", num_heads=HEADS,
            unidirectional=unidirectional))
        inits = [init(f"w{p}", weights(HIDDEN, HIDDEN)) for p in "qkv"]
        inits.append(init("qkv_bias", weights(3 * HIDDEN)))
        if attention_bias:
            inits.append(init("x_bias", weights(1, HEADS, 5, 5)))
        return model(nodes, inits, contrib=True)
    import onnxruntime as ort
    for name, unidirectional in [("contrib-mha-causal", 1),
                                 ("contrib-mha", 0)]:
        m = mha(unidirectional)
        save(m, name + ".onnx", check=False)
        session = ort.InferenceSession(m.SerializeToString(),
                                       providers=["CPUExecutionProvider"])
        ids = np.array([[3, 1, 4, 1, 5]], dtype=np.int64)
        np.save(os.path.join(GRAPHS, name + ".ort.npy"),
                session.run(None, {"input_ids": ids})[0][0])
    save(mha(0, attention_bias=True), "contrib-mha-attention-bias.onnx",
         check=False)
    # com.microsoft.RotaryEmbedding over a projection [1, seq, 2 heads * 4]
    # at 0..seq-1 (Range), caches of 16 positions for θ = 10000, NeoX and
    # interleaved (GPT-J) pairs, with ONNX Runtime's output on 3,1,4,1,5;
    # caches of a linearly scaled RoPE (positions / 4) are refused.
    def rotary(interleaved, factor=1.0):
        inv_freq = 1.0 / 10000.0 ** (np.arange(0, 4, 2) / 4)
        angles = np.outer(np.arange(16) / factor, inv_freq)
        nodes = [node("MatMul", ["x", "wq"], ["q"]),
                 node("Shape", ["input_ids"], ["ids_shape"]),
                 node("Gather", ["ids_shape", "one_index"], ["seq_len"],
                      axis=0),
                 node("Range", ["zero_i", "seq_len", "one_i"], ["range"]),
                 node("Unsqueeze", ["range", "zero_axis"], ["positions"]),
                 helper.make_node("RotaryEmbedding",
                                  ["q", "positions", "cos_cache",
                                   "sin_cache"], ["y"], name="rotary",
                                  domain="com.microsoft", num_heads=HEADS,
                                  interleaved=interleaved)]
        inits = [init("wq", weights(HIDDEN, HIDDEN)), ints("one_index", 1),
                 scalar("zero_i", 0, np.int64), scalar("one_i", 1, np.int64),
                 ints("zero_axis", [0]),
                 init("cos_cache", np.cos(angles).astype(np.float32)),
                 init("sin_cache", np.sin(angles).astype(np.float32))]
        return model(nodes, inits, contrib=True)
    for name, interleaved in [("contrib-rotary", 0),
                              ("contrib-rotary-interleaved", 1)]:
        m = rotary(interleaved)
        save(m, name + ".onnx", check=False)
        session = ort.InferenceSession(m.SerializeToString(),
                                       providers=["CPUExecutionProvider"])
        ids = np.array([[3, 1, 4, 1, 5]], dtype=np.int64)
        np.save(os.path.join(GRAPHS, name + ".ort.npy"),
                session.run(None, {"input_ids": ids})[0][0])
    save(rotary(0, factor=4.0), "contrib-rotary-scaled.onnx", check=False)
    # RMSNormalization (opset 23), and over a middle axis (not raised).
    for name, axis in [("rms-norm-node", -1), ("rms-norm-node-axis", 1)]:
        save(model([node("RMSNormalization", ["x", "rms_w"], ["y"],
                         epsilon=1e-6, axis=axis)],
                   [init("rms_w", weights(HIDDEN))], opset=23),
             name + ".onnx", check=False)
    # Shape mismatches: an Add whose operands do not broadcast, a MatMul
    # whose inner dimensions differ.
    save(model([node("Add", ["x", "b5"], ["y"])], [init("b5", weights(5))]),
         "shape-mismatch-add.onnx", check=False)
    save(model([node("MatMul", ["x", "w16"], ["y"])],
               [init("w16", weights(16, 8))]),
         "shape-mismatch-matmul.onnx", check=False)
    save(past_graph(rank=3), "past-rank3.onnx", check=False)
    # com.microsoft.GroupQueryAttention with a local window (not raised;
    # the builder's graphs are tested end to end, onnx-genai.test).
    seq_nodes = [node("ReduceSum", ["ones", "zero_axis"], ["total"],
                      keepdims=0),
                 node("Sub", ["total", "one_i"], ["seqlens"]),
                 node("Cast", ["seqlens"], ["seqlens_k"], to=TensorProto.INT32),
                 node("Cast", ["total"], ["total_len"], to=TensorProto.INT32)]
    save(model([node("MatMul", ["x", "wqkv"], ["qkv"]),
                node("Shape", ["input_ids"], ["ids_shape"]),
                node("ConstantOfShape", ["ids_shape"], ["ones"],
                     value=helper.make_tensor("v", TensorProto.INT64, [1],
                                              [1]))] + seq_nodes +
               [helper.make_node("GroupQueryAttention",
                                 ["qkv", "", "", "", "", "seqlens_k",
                                  "total_len"], ["y"], name="gqa",
                                 domain="com.microsoft", num_heads=HEADS,
                                 kv_num_heads=1, local_window_size=2)],
               [init("wqkv", weights(HIDDEN, 16)), ints("zero_axis", [1]),
                scalar("one_i", 1, np.int64)], contrib=True),
         "contrib-gqa-window.onnx", check=False)


def export(fixture, task, output, inputs=False):
    """Exports test/e2e/<fixture> with torch.onnx (the dynamo exporter, a
    dynamic sequence axis) into test/e2e/onnx/<fixture>/model.onnx with its
    weights in model.onnx.data, and ONNX Runtime's output on the fixture's
    input ids. With `inputs`, the graph also takes attention_mask and
    position_ids (as Optimum's exports do), into <fixture>_inputs/."""
    import onnxruntime as ort
    import torch
    import transformers

    source = os.path.join(ROOT, "test", "e2e", fixture)
    folder = os.path.join(E2E, fixture + ("_inputs" if inputs else ""))
    os.makedirs(folder, exist_ok=True)
    cls = (transformers.AutoModelForCausalLM if task == "causal-lm"
           else transformers.AutoModel)
    hf = cls.from_pretrained(source, torch_dtype=torch.float32).eval()

    class Wrapper(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask=None, position_ids=None):
            extra = {"use_cache": False} if task == "causal-lm" else {}
            if inputs:
                extra.update(attention_mask=attention_mask,
                             position_ids=position_ids)
            out = self.m(input_ids=input_ids, **extra)
            return getattr(out, output)

    ids = torch.tensor([[int(t) for t in open(
        os.path.join(source, "input_ids.txt")).read().split(",")]])
    seq = torch.export.Dim("seq", min=2, max=64)
    args, names, shapes = (ids,), ["input_ids"], ({1: seq},)
    if inputs:
        args = (ids, torch.ones_like(ids), torch.arange(ids.shape[1])[None])
        names += ["attention_mask", "position_ids"]
        shapes = ({1: seq},) * 3
    path = os.path.join(folder, "model.onnx")
    torch.onnx.export(Wrapper(hf), args, path, input_names=names,
                      output_names=["output"], dynamic_shapes=shapes,
                      opset_version=18, dynamo=True, external_data=True)
    shutil.copy(os.path.join(source, "config.json"), folder)
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    result = session.run(None, dict(zip(names, [a.numpy() for a in args])))[0]
    np.save(os.path.join(folder, "ort_output.npy"), result[0])


def export_seq2seq(fixture):
    """Exports the encoder-decoder test/e2e/<fixture> (T5) into
    test/e2e/onnx/<fixture>/model.onnx: input_ids and decoder_input_ids to
    logits, both sequence axes dynamic, with ONNX Runtime's logits on the
    fixture's inputs. The TorchScript exporter: torch 2.15's dynamo
    exporter fails on T5 (decomposing the reshape of the transposed
    attention output: "Cannot view a tensor with shape [1, s, 2, 12] and
    strides ... as a tensor with shape (1, s, 24)")."""
    import onnxruntime as ort
    import torch
    import transformers

    source = os.path.join(ROOT, "test", "e2e", fixture)
    folder = os.path.join(E2E, fixture)
    os.makedirs(folder, exist_ok=True)
    hf = transformers.AutoModelForSeq2SeqLM.from_pretrained(
        source, torch_dtype=torch.float32).eval()

    class Wrapper(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, decoder_input_ids):
            return self.m(input_ids=input_ids,
                          decoder_input_ids=decoder_input_ids,
                          use_cache=False).logits

    def read(name):
        return torch.tensor([[int(t) for t in open(
            os.path.join(source, name)).read().split(",")]])

    args = (read("input_ids.txt"), read("decoder_input_ids.txt"))
    names = ["input_ids", "decoder_input_ids"]
    path = os.path.join(folder, "model.onnx")
    torch.onnx.export(Wrapper(hf), args, path, input_names=names,
                      output_names=["output"],
                      dynamic_axes={"input_ids": {1: "seq"},
                                    "decoder_input_ids": {1: "dec"}},
                      opset_version=17, dynamo=False)
    shutil.copy(os.path.join(source, "config.json"), folder)
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    result = session.run(None, dict(zip(names, [a.numpy() for a in args])))[0]
    np.save(os.path.join(folder, "ort_output.npy"), result[0])


def export_past(fixture):
    """The causal LM test/e2e/<fixture> exported with past key values, as
    Optimum's text-generation-with-past writes them: input_ids,
    attention_mask and past_key_values.<i>.key/value [1, kv heads, past,
    head dim] in, logits and present.<i>.key/value out (the TorchScript
    exporter, which traces transformers' DynamicCache; traced at 3 past and
    2 new tokens), into test/e2e/onnx/<fixture>_past, with ONNX Runtime's
    logits over the fixture's prompt from an empty past."""
    import onnxruntime as ort
    import torch
    import transformers

    source = os.path.join(ROOT, "test", "e2e", fixture)
    folder = os.path.join(E2E, fixture + "_past")
    os.makedirs(folder, exist_ok=True)
    hf = transformers.AutoModelForCausalLM.from_pretrained(
        source, torch_dtype=torch.float32).eval()
    config = hf.config
    layers = config.num_hidden_layers
    heads = getattr(config, "num_key_value_heads", None) or \
        config.num_attention_heads
    head_dim = getattr(config, "head_dim", None) or \
        config.hidden_size // config.num_attention_heads

    class Wrapper(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, *past):
            cache = transformers.DynamicCache()
            for i in range(layers):
                cache.update(past[2 * i], past[2 * i + 1], i)
            out = self.m(input_ids=input_ids, attention_mask=attention_mask,
                         past_key_values=cache, use_cache=True)
            present = []
            for layer in out.past_key_values.layers:
                present += [layer.keys, layer.values]
            return (out.logits, *present)

    past_names = [f"past_key_values.{i}.{kv}" for i in range(layers)
                  for kv in ("key", "value")]
    present_names = [n.replace("past_key_values", "present")
                     for n in past_names]
    axes = {"input_ids": {1: "seq"}, "attention_mask": {1: "total"}}
    axes.update({n: {2: "past"} for n in past_names})
    axes.update({n: {2: "total"} for n in present_names})
    past = [torch.zeros(1, heads, 3, head_dim) for _ in past_names]
    path = os.path.join(folder, "model.onnx")
    torch.onnx.export(Wrapper(hf), (torch.tensor([[5, 7]]),
                                    torch.ones(1, 5, dtype=torch.int64),
                                    *past), path,
                      input_names=["input_ids", "attention_mask"] + past_names,
                      output_names=["logits"] + present_names,
                      dynamic_axes=axes, opset_version=17, dynamo=False)
    shutil.copy(os.path.join(source, "config.json"), folder)
    ids = np.array([[int(t) for t in open(
        os.path.join(source, "input_ids.txt")).read().split(",")]])
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
    feeds.update({n: np.zeros((1, heads, 0, head_dim), np.float32)
                  for n in past_names})
    np.save(os.path.join(folder, "ort_output.npy"),
            session.run(None, feeds)[0][0])


def export_genai(fixture):
    """The causal LM test/e2e/<fixture> built by ONNX Runtime GenAI's model
    builder (onnxruntime-genai, fp32, CPU) into
    test/e2e/onnx/genai_<fixture>: GroupQueryAttention with RoPE from cos
    and sin caches, SimplifiedLayerNormalization and
    SkipSimplifiedLayerNormalization, past key values as inputs. The
    builder wants a tokenizer, which the tiny fixtures lack: it gets a
    word-level one over the vocabulary in a scratch copy (not kept). With
    ONNX Runtime's logits over the fixture's prompt from an empty past."""
    import subprocess
    import tempfile
    import onnxruntime as ort
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    source = os.path.join(ROOT, "test", "e2e", fixture)
    folder = os.path.join(E2E, "genai_" + fixture)
    shutil.rmtree(folder, ignore_errors=True)
    with tempfile.TemporaryDirectory() as scratch:
        copy = os.path.join(scratch, fixture)
        shutil.copytree(source, copy)
        vocab = json.load(open(os.path.join(copy, "config.json")))[
            "vocab_size"]
        words = Tokenizer(models.WordLevel(
            vocab={f"t{i}": i for i in range(vocab)}, unk_token="t0"))
        words.pre_tokenizer = pre_tokenizers.Whitespace()
        PreTrainedTokenizerFast(tokenizer_object=words, unk_token="t0",
                                bos_token="t1", eos_token="t2",
                                pad_token="t0").save_pretrained(copy)
        subprocess.run([sys.executable, "-m",
                        "onnxruntime_genai.models.builder", "-m", copy, "-i",
                        copy, "-o", folder, "-p", "fp32", "-e", "cpu"],
                       check=True)
    for name in os.listdir(folder):
        if name.startswith(("tokenizer", "special_tokens")):
            os.remove(os.path.join(folder, name))
    shutil.copy(os.path.join(source, "config.json"), folder)
    path = os.path.join(folder, "model.onnx")
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    ids = np.array([[int(t) for t in open(
        os.path.join(source, "input_ids.txt")).read().split(",")]])
    config = json.load(open(os.path.join(source, "config.json")))
    head_dim = config.get("head_dim") or \
        config["hidden_size"] // config["num_attention_heads"]
    feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
    for i in session.get_inputs():
        if i.name.startswith("past_key_values"):
            feeds[i.name] = np.zeros((1, i.shape[1], 0, head_dim), np.float32)
    np.save(os.path.join(folder, "ort_output.npy"),
            session.run(None, feeds)[0][0])


def export_optimum(fixture, task, optimum_path):
    """test/e2e/<fixture> exported by Optimum (optimum-onnx's
    optimum.exporters.onnx, its TorchScript-based exporter; it pins
    transformers 4.57, so it runs from `optimum_path`, a folder that pip
    install --target filled with optimum-onnx and its pins) into
    test/e2e/onnx/optimum_<fixture>, with ONNX Runtime's output (an
    encoder-decoder: encoder_model.onnx and decoder_model.onnx)."""
    import subprocess
    import onnxruntime as ort

    source = os.path.join(ROOT, "test", "e2e", fixture)
    folder = os.path.join(E2E, "optimum_" + fixture)
    shutil.rmtree(folder, ignore_errors=True)
    env = dict(os.environ, PYTHONPATH=optimum_path)
    subprocess.run([sys.executable, "-m", "optimum.exporters.onnx", "--model",
                    source, "--task", task, folder], check=True, env=env)
    ids = np.array([[int(t) for t in open(
        os.path.join(source, "input_ids.txt")).read().split(",")]])
    if task == "text2text-generation":
        # encoder_model.onnx and decoder_model.onnx: the decoder's logits
        # over the fixture's decoder ids, fed the encoder's output.
        decoder_ids = np.array([[int(t) for t in open(os.path.join(
            source, "decoder_input_ids.txt")).read().split(",")]])
        encoder = ort.InferenceSession(
            os.path.join(folder, "encoder_model.onnx"),
            providers=["CPUExecutionProvider"])
        hidden = encoder.run(None, {"input_ids": ids,
                                    "attention_mask": np.ones_like(ids)})[0]
        decoder = ort.InferenceSession(
            os.path.join(folder, "decoder_model.onnx"),
            providers=["CPUExecutionProvider"])
        np.save(os.path.join(folder, "ort_output.npy"), decoder.run(
            None, {"input_ids": decoder_ids,
                   "encoder_attention_mask": np.ones_like(ids),
                   "encoder_hidden_states": hidden})[0][0])
        return
    session = ort.InferenceSession(os.path.join(folder, "model.onnx"),
                                   providers=["CPUExecutionProvider"])
    feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids),
             "position_ids": np.arange(ids.shape[1])[None],
             "token_type_ids": np.zeros_like(ids)}
    names = [i.name for i in session.get_inputs()]
    np.save(os.path.join(folder, "ort_output.npy"),
            session.run(None, {n: feeds[n] for n in names})[0][0])


def optimize_bert():
    """The bert export through ONNX Runtime's transformer optimizer, which
    fuses SkipLayerNormalization and BiasGelu (com.microsoft), with ONNX
    Runtime's output on it."""
    import onnxruntime as ort
    from onnxruntime.transformers import optimizer

    source = os.path.join(E2E, "bert", "model.onnx")
    folder = os.path.join(E2E, "bert_ort_optimized")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "model.onnx")
    optimized = optimizer.optimize_model(source, model_type="bert",
                                         num_heads=4, hidden_size=32,
                                         opt_level=1)
    optimized.save_model_to_file(path, use_external_data_format=False)
    ids = np.array([[int(t) for t in open(os.path.join(
        ROOT, "test", "e2e", "bert", "input_ids.txt")).read().split(",")]])
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    np.save(os.path.join(folder, "ort_output.npy"),
            session.run(None, {"input_ids": ids})[0][0])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--graphs", action="store_true",
                        help="only the small graphs")
    parser.add_argument("--optimum-path",
                        help="a pip --target folder holding optimum-onnx "
                             "0.1.0 and its pins (transformers 4.57.6): "
                             "also write the Optimum exports")
    args = parser.parse_args()
    write_graphs()
    if not args.graphs:
        export("gpt2", "causal-lm", "logits")
        export("llama_gqa", "causal-lm", "logits")
        export("mistral", "causal-lm", "logits")
        export("llama_gqa", "causal-lm", "logits", inputs=True)
        export("bert", "base", "last_hidden_state")
        optimize_bert()
        export_seq2seq("t5")
        export_seq2seq("t5_v11")
        export_past("gpt2")
        export_past("llama_gqa")
        export_genai("llama_gqa")
    if args.optimum_path:
        export_optimum("gpt2", "text-generation", args.optimum_path)
        export_optimum("llama_gqa", "text-generation", args.optimum_path)
        export_optimum("bert", "feature-extraction", args.optimum_path)
        export_optimum("t5", "text2text-generation", args.optimum_path)


if __name__ == "__main__":
    main()
