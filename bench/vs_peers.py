#!/usr/bin/env python3
"""LLMC against llama.cpp, ONNX Runtime and PyTorch on two model shapes.

The helper of bench/vs-peers.sh, which installs the peers into a cache and
runs this file with the cache's Python (torch, transformers, onnxruntime,
onnxruntime-genai, gguf); see that script for the whole story. It:

  1. writes random-weight Hugging Face folders (config.json,
     model.safetensors and a made-up word-level tokenizer, which the ONNX
     model builder insists on) of a SmolLM-135M shape and a Qwen2-0.5B shape
     in f32, f16 and bf16, weights normal(0, 0.02), norms 1;
  2. converts each to GGUF with llama.cpp's own convert_hf_to_gguf.py
     (--outtype the folder's dtype). The models have no real vocabulary, so
     the converter's vocabulary step is replaced by a made-up SentencePiece
     vocabulary of the model's size (llama-bench draws random token ids);
     for the quantized formats (--dtypes q8_0,q4_0,q4_k_m), llama.cpp's
     llama-quantize makes them from the F16 GGUF, and LLMC runs the same
     files (--llmc-input gguf makes it read the float GGUFs too);
  3. exports the f32 folders to ONNX with onnxruntime-genai's model builder
     (python -m onnxruntime_genai.models.builder -p fp32 -e cpu, with
     prune_lm_head=true so that a prefill computes the last position's
     logits only, as LLMC, llama-bench and transformers' logits_to_keep=1 do);
     it runs offline on a local folder;
  4. measures, alternating the peers within each round:
       LLMC        build/bin/llm-run --input-ids (random ids): the "prefill:"
                   line (compile time is not in it) of a run with
                   --max-new-tokens 1, and the "decode:" line of a run with a
                   one-token prompt and --max-new-tokens N+1 --ignore-eos
                   (N decode steps from position 1, as llama-bench's tgN);
       llama.cpp   llama-bench -p P -n N -t T -r 1 -o json (ppP and tgN, after
                   llama-bench's own warm-up run);
       ORT         one warm-up, then one timed InferenceSession.run of the
                   P-token prefill (empty KV cache in, present KV out),
                   intra_op_num_threads T, f32 only;
       PyTorch     one warm-up, then one timed forward of transformers'
                   model (use_cache=True, logits_to_keep=1) under
                   torch.inference_mode, torch.set_num_threads(T), f32 only.
     Each sample is a fresh process. LLMC's prefill is the first one after
     compiling (no warm-up run; the checkpoint is read once beforehand so
     that it is in the page cache, but the page faults on LLMC's mapping of
     it stay in its time), which if anything favours the peers.
  5. prints each cell's medians, the LLMC / peer ratios (peer time / LLMC
     time: above 1 means LLMC is faster) as a markdown table, and the
     machine (CPU model, AVX-512 flags, a one-thread numpy copy bandwidth).
"""

import argparse
import datetime
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import time

SHAPES = {
    "smollm": {
        "label": "SmolLM-135M",
        "config": {
            "architectures": ["LlamaForCausalLM"], "model_type": "llama",
            "attention_bias": False, "mlp_bias": False, "bos_token_id": 1,
            "eos_token_id": 2, "hidden_act": "silu", "hidden_size": 576,
            "initializer_range": 0.02, "intermediate_size": 1536,
            "max_position_embeddings": 2048, "num_attention_heads": 9,
            "num_hidden_layers": 30, "num_key_value_heads": 3,
            "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
            "tie_word_embeddings": True, "use_cache": True,
            "vocab_size": 49152,
        },
        "qkv_bias": False,
        "seed": 135,
    },
    "qwen": {
        "label": "Qwen2-0.5B",
        "config": {
            "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2",
            "attention_dropout": 0.0, "bos_token_id": 151643,
            "eos_token_id": 151645, "hidden_act": "silu", "hidden_size": 896,
            "initializer_range": 0.02, "intermediate_size": 4864,
            "max_position_embeddings": 32768, "max_window_layers": 24,
            "num_attention_heads": 14, "num_hidden_layers": 24,
            "num_key_value_heads": 2, "rms_norm_eps": 1e-6,
            "rope_theta": 1000000.0, "sliding_window": 32768,
            "tie_word_embeddings": True, "use_cache": True,
            "use_sliding_window": False, "vocab_size": 151936,
        },
        "qkv_bias": True,
        "seed": 500,
    },
}
DTYPES = {"f32": "float32", "f16": "float16", "bf16": "bfloat16"}
# llama.cpp's quantization formats: GGUFs that llama-quantize makes from the
# F16 GGUF (the way users make them), run by both LLMC and llama.cpp.
QUANT_TYPES = {"q8_0": "Q8_0", "q4_0": "Q4_0", "q4_k_m": "Q4_K_M"}
PEERS = ["llama.cpp", "ort", "torch"]
PEER_NAMES = {"llama.cpp": "llama.cpp", "ort": "ONNX Runtime",
              "torch": "PyTorch"}


class StepError(Exception):
    """A step that failed; main() prints it and exits 1."""


def plural(n, word):
    return f"{n} {word}{'s' if n != 1 else ''}"


def log(msg):
    print(f"vs-peers: {msg}", file=sys.stderr, flush=True)


def run_step(what, cmd, logfile, env=None):
    """Runs cmd with its output in logfile; StepError naming `what` if it
    fails."""
    os.makedirs(os.path.dirname(logfile), exist_ok=True)
    # Preparation steps need no speed: one thread, to leave the other cores
    # alone.
    env = dict(env or os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    with open(logfile, "w") as out:
        out.write("$ " + " ".join(cmd) + "\n")
        out.flush()
        proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT,
                              env=env)
    if proc.returncode != 0:
        with open(logfile) as f:
            tail = "".join(f.readlines()[-25:])
        raise StepError(f"{what} failed (exit {proc.returncode}); the end of "
                        f"{logfile}:\n{tail}")


def run_sample(what, cmd, env=None, stdout_only=False):
    """Runs one measurement; its stdout + stderr (stdout only with
    stdout_only), or StepError."""
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        text = (proc.stdout + proc.stderr).strip().splitlines()
        raise StepError(f"{what} failed (exit {proc.returncode}):\n  $ "
                        + " ".join(c if len(c) < 200 else c[:60] + "..."
                                   for c in cmd)
                        + "\n" + "\n".join(text[-25:]))
    return proc.stdout if stdout_only else proc.stdout + proc.stderr


# ---------------------------------------------------------------- models ---

def write_tokenizer(out, config):
    """A word-level tokenizer with one made-up word per id. Nothing here
    tokenizes text (every run takes token ids); onnxruntime-genai's model
    builder loads the folder's tokenizer and copies it next to the model."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    vocab_size = config["vocab_size"]
    bos, eos = config["bos_token_id"], config["eos_token_id"]
    names = {0: "<unk>", bos: "<s>", eos: "</s>"}
    vocab = {names.get(i, f"t{i}"): i for i in range(vocab_size)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.add_special_tokens(["<unk>", "<s>", "</s>"])
    tok.save(os.path.join(out, "tokenizer.json"))
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "PreTrainedTokenizerFast",
                   "unk_token": "<unk>", "bos_token": "<s>",
                   "eos_token": "</s>", "model_max_length":
                   config["max_position_embeddings"]}, f, indent=2)


def random_weights(shape):
    """The f32 tensors of a shape, normal(0, 0.02) (biases too), norms 1;
    the same for every dtype and every run (seeded)."""
    import torch
    c = SHAPES[shape]["config"]
    gen = torch.Generator().manual_seed(SHAPES[shape]["seed"])
    h, inter = c["hidden_size"], c["intermediate_size"]
    d = h // c["num_attention_heads"]
    q, kv = c["num_attention_heads"] * d, c["num_key_value_heads"] * d

    def normal(*size):
        return torch.randn(*size, generator=gen) * 0.02

    t = {"model.embed_tokens.weight": normal(c["vocab_size"], h)}
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        t[p + "input_layernorm.weight"] = torch.ones(h)
        t[p + "self_attn.q_proj.weight"] = normal(q, h)
        t[p + "self_attn.k_proj.weight"] = normal(kv, h)
        t[p + "self_attn.v_proj.weight"] = normal(kv, h)
        if SHAPES[shape]["qkv_bias"]:
            t[p + "self_attn.q_proj.bias"] = normal(q)
            t[p + "self_attn.k_proj.bias"] = normal(kv)
            t[p + "self_attn.v_proj.bias"] = normal(kv)
        t[p + "self_attn.o_proj.weight"] = normal(h, q)
        t[p + "post_attention_layernorm.weight"] = torch.ones(h)
        t[p + "mlp.gate_proj.weight"] = normal(inter, h)
        t[p + "mlp.up_proj.weight"] = normal(inter, h)
        t[p + "mlp.down_proj.weight"] = normal(h, inter)
    t["model.norm.weight"] = torch.ones(h)
    return t


def hf_dir(cache, shape, dtype):
    return os.path.join(cache, "models", f"{shape}-{dtype}")


def make_models(cache, shapes, dtypes):
    for shape in shapes:
        missing = [d for d in dtypes if not os.path.exists(
            os.path.join(hf_dir(cache, shape, d), "model.safetensors"))]
        if not missing:
            continue
        import torch
        from safetensors.torch import save_file
        torch.set_num_threads(1)
        log(f"writing random {SHAPES[shape]['label']}-shaped models "
            f"({', '.join(missing)})")
        weights = random_weights(shape)
        for dtype in missing:
            final = hf_dir(cache, shape, dtype)
            tmp = final + ".tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            os.makedirs(tmp)
            config = dict(SHAPES[shape]["config"])
            config["torch_dtype"] = DTYPES[dtype]
            with open(os.path.join(tmp, "config.json"), "w") as f:
                json.dump(config, f, indent=2)
            tdtype = getattr(torch, DTYPES[dtype])
            save_file({k: v.to(tdtype).contiguous()
                       for k, v in weights.items()},
                      os.path.join(tmp, "model.safetensors"),
                      metadata={"format": "pt"})
            write_tokenizer(tmp, config)
            shutil.rmtree(final, ignore_errors=True)
            os.rename(tmp, final)


# ------------------------------------------------------------ llama.cpp ---

def gguf_path(cache, shape, dtype):
    return os.path.join(cache, "models", f"{shape}-{dtype}.gguf")


def convert_gguf_main(argv):
    """`convert-gguf LLAMA_DIR HF_DIR OUT TYPE`: llama.cpp's
    convert_hf_to_gguf.py with a made-up SentencePiece vocabulary of the
    model's size in place of its tokenizer step (the models have no real
    vocabulary; llama-bench only needs the ids to be valid)."""
    llama_dir, model, out, outtype = argv
    sys.path.insert(0, llama_dir)
    sys.argv = [os.path.join(llama_dir, "convert_hf_to_gguf.py"), model,
                "--outfile", out, "--outtype", outtype]
    import convert_hf_to_gguf as conv
    import gguf

    def set_vocab(self):
        n = self.hparams["vocab_size"]
        bos = self.hparams.get("bos_token_id", 1)
        eos = self.hparams.get("eos_token_id", 2)
        tokens, types = [], []
        byte_ids = iter(range(256))
        for i in range(n):
            if i == 0:
                tokens.append(b"<unk>")
                types.append(gguf.TokenType.UNKNOWN)
            elif i in (bos, eos):
                tokens.append(b"<s>" if i == bos else b"</s>")
                types.append(gguf.TokenType.CONTROL)
            elif i < 259 and (b := next(byte_ids, None)) is not None:
                tokens.append(f"<0x{b:02X}>".encode())
                types.append(gguf.TokenType.BYTE)
            else:
                tokens.append(f"\u2581t{i}".encode())
                types.append(gguf.TokenType.NORMAL)
        w = self.gguf_writer
        w.add_tokenizer_model("llama")
        w.add_tokenizer_pre("default")
        w.add_token_list(tokens)
        w.add_token_scores([0.0] * n)
        w.add_token_types(types)
        w.add_bos_token_id(bos)
        w.add_eos_token_id(eos)
        w.add_unk_token_id(0)
        w.add_add_bos_token(False)

    get_model_class = conv.get_model_class

    def patched(*args, **kwargs):
        cls = get_model_class(*args, **kwargs)
        cls.set_vocab = set_vocab
        return cls

    conv.get_model_class = patched
    conv.main()


def make_ggufs(args, shapes, dtypes):
    for shape in shapes:
        for dtype in dtypes:
            out = gguf_path(args.cache, shape, dtype)
            if os.path.exists(out):
                continue
            log(f"converting {shape}-{dtype} to GGUF")
            tmp = out + ".tmp"
            run_step(f"converting {shape}-{dtype} to GGUF "
                     "(llama.cpp's convert_hf_to_gguf.py)",
                     [sys.executable, os.path.abspath(__file__),
                      "convert-gguf", args.llama_dir,
                      hf_dir(args.cache, shape, dtype), tmp, dtype],
                     os.path.join(args.cache, "logs",
                                  f"gguf-{shape}-{dtype}.log"))
            os.rename(tmp, out)


def make_quantized(args, shapes, qtypes):
    for shape in shapes:
        for qtype in qtypes:
            out = gguf_path(args.cache, shape, qtype)
            if os.path.exists(out):
                continue
            log(f"quantizing {shape}-f16.gguf to {QUANT_TYPES[qtype]}")
            tmp = out + ".tmp"
            run_step(f"quantizing {shape} to {QUANT_TYPES[qtype]} "
                     "(llama.cpp's llama-quantize)",
                     [args.llama_quantize, gguf_path(args.cache, shape, "f16"),
                      tmp, QUANT_TYPES[qtype]],
                     os.path.join(args.cache, "logs",
                                  f"quantize-{shape}-{qtype}.log"))
            os.rename(tmp, out)


def llama_bench(args, shape, dtype, threads):
    out = run_sample(
        f"llama-bench ({shape}-{dtype}, {plural(threads, 'thread')})",
        [args.llama_bench, "-m", gguf_path(args.cache, shape, dtype),
         "-p", str(args.prefill_tokens), "-n", str(args.decode_tokens),
         "-t", str(threads), "-r", "1", "-o", "json"], stdout_only=True)
    start = out.index("[")
    results = json.loads(out[start:out.rindex("]") + 1])
    pp = [r for r in results if r["n_prompt"] > 0 and r["n_gen"] == 0]
    tg = [r for r in results if r["n_gen"] > 0 and r["n_prompt"] == 0]
    if not pp or not tg:
        raise StepError(f"llama-bench printed no pp/tg results:\n{out}")
    if "build_commit" in results[0]:
        args.versions["llama.cpp"] = (f"{results[0]['build_commit']} "
                                      f"(build {results[0]['build_number']})")
    return {"prefill_s": pp[0]["avg_ns"] / 1e9,
            "decode_tok_s": tg[0]["avg_ts"]}


# ----------------------------------------------------------------- ONNX ---

def onnx_dir(cache, shape):
    return os.path.join(cache, "models", f"{shape}-f32-onnx")


def make_onnx(args, shapes):
    for shape in shapes:
        out = onnx_dir(args.cache, shape)
        if os.path.exists(os.path.join(out, "model.onnx")):
            continue
        log(f"exporting {shape}-f32 to ONNX (onnxruntime-genai's builder)")
        tmp = out + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
        run_step(f"exporting {shape}-f32 to ONNX "
                 "(python -m onnxruntime_genai.models.builder)",
                 [sys.executable, "-m", "onnxruntime_genai.models.builder",
                  "-i", hf_dir(args.cache, shape, "f32"), "-o", tmp,
                  "-p", "fp32", "-e", "cpu",
                  "-c", os.path.join(args.cache, "onnx-builder-cache"),
                  "--extra_options", "prune_lm_head=true", "hf_token=false"],
                 os.path.join(args.cache, "logs", f"onnx-{shape}.log"),
                 env=env)
        if not os.path.exists(os.path.join(tmp, "model.onnx")):
            raise StepError(f"the ONNX builder wrote no {tmp}/model.onnx")
        shutil.rmtree(out, ignore_errors=True)
        os.rename(tmp, out)


def ort_worker(argv):
    """`ort-prefill ONNX_DIR THREADS IDS`: seconds of one prefill, after a
    warm-up, printed as JSON."""
    import numpy as np
    import onnxruntime as ort
    model, threads, ids = argv[0], int(argv[1]), argv[2]
    ids = np.array([[int(i) for i in ids.split(",")]], dtype=np.int64)
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(os.path.join(model, "model.onnx"), so,
                                providers=["CPUExecutionProvider"])
    types = {"tensor(float)": np.float32, "tensor(float16)": np.float16,
             "tensor(int64)": np.int64, "tensor(int32)": np.int32}
    seq = ids.shape[1]
    with open(os.path.join(model, "genai_config.json")) as f:
        decoder = json.load(f)["model"]["decoder"]
    feed = {}
    for inp in sess.get_inputs():
        if inp.name == "input_ids":
            feed[inp.name] = ids.astype(types[inp.type])
        elif inp.name == "attention_mask":
            feed[inp.name] = np.ones((1, seq), dtype=types[inp.type])
        elif inp.name == "position_ids":
            feed[inp.name] = np.arange(seq, dtype=types[inp.type])[None]
        elif inp.name.startswith("past_key_values."):
            # [batch, kv heads, past length, head size]
            dims = [1, decoder["num_key_value_heads"], 0,
                    decoder["head_size"]]
            feed[inp.name] = np.zeros(dims, dtype=types[inp.type])
        else:
            raise SystemExit(f"ort-prefill: unexpected input {inp.name} "
                             f"{inp.shape}")
    outputs = sess.run(None, feed)
    logits = outputs[[o.name for o in sess.get_outputs()].index("logits")]
    start = time.perf_counter()
    sess.run(None, feed)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "logits_shape": list(logits.shape),
                      "next_token": int(logits[0, -1].argmax()),
                      "version": ort.__version__}))


def ort_prefill(args, shape, threads, ids):
    out = run_sample(
        f"ONNX Runtime prefill ({shape}, {plural(threads, 'thread')})",
        [sys.executable, os.path.abspath(__file__), "ort-prefill",
         onnx_dir(args.cache, shape), str(threads), ids], stdout_only=True)
    result = json.loads(out.strip().splitlines()[-1])
    args.versions["onnxruntime"] = result["version"]
    return {"prefill_s": result["seconds"],
            "next_token": result["next_token"]}


# -------------------------------------------------------------- PyTorch ---

def torch_worker(argv):
    """`torch-prefill HF_DIR THREADS IDS`: seconds of one prefill, after a
    warm-up, printed as JSON."""
    import torch
    torch.set_num_threads(int(argv[1]))
    torch.set_num_interop_threads(1)
    import transformers
    model = transformers.AutoModelForCausalLM.from_pretrained(
        argv[0], dtype=torch.float32)
    model.eval()
    ids = torch.tensor([[int(i) for i in argv[2].split(",")]])
    with torch.inference_mode():
        model(input_ids=ids, use_cache=True, logits_to_keep=1)
        start = time.perf_counter()
        out = model(input_ids=ids, use_cache=True, logits_to_keep=1)
        seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds,
                      "logits_shape": list(out.logits.shape),
                      "next_token": int(out.logits[0, -1].argmax()),
                      "version": f"torch {torch.__version__}, transformers "
                                 f"{transformers.__version__}"}))


def torch_prefill(args, shape, threads, ids):
    out = run_sample(
        f"PyTorch prefill ({shape}, {plural(threads, 'thread')})",
        [sys.executable, os.path.abspath(__file__), "torch-prefill",
         hf_dir(args.cache, shape, "f32"), str(threads), ids],
        stdout_only=True)
    result = json.loads(out.strip().splitlines()[-1])
    args.versions["torch"] = result["version"]
    return {"prefill_s": result["seconds"],
            "next_token": result["next_token"]}


# ----------------------------------------------------------------- LLMC ---

def warm_page_cache(model):
    """Reads the checkpoint once, so that LLMC's run does not read it from
    disk (the peers have warm-up runs; LLMC maps the file and its first
    prefill would otherwise pay for the reads)."""
    path = model if model.endswith(".gguf") else os.path.join(
        model, "model.safetensors")
    with open(path, "rb") as f:
        while f.read(16 << 20):
            pass


def llmc_model(args, shape, dtype):
    """What LLMC runs: the GGUF file llama.cpp runs for a quantized format
    (and for every format with --llmc-input gguf), else the folder."""
    if dtype in QUANT_TYPES or args.llmc_input == "gguf":
        return gguf_path(args.cache, shape, dtype)
    return hf_dir(args.cache, shape, dtype)


def llmc_prefill(args, shape, dtype, threads, ids):
    warm_page_cache(llmc_model(args, shape, dtype))
    out = run_sample(
        f"LLMC prefill ({shape}-{dtype}, {plural(threads, 'thread')})",
        [args.llm_run, llmc_model(args, shape, dtype), "--input-ids", ids,
         "--max-new-tokens", "1", "--ignore-eos", "--num-threads",
         str(threads)])
    m = re.search(r"prefill: (\d+) tokens in ([0-9.]+) s", out)
    if not m or int(m[1]) != args.prefill_tokens:
        raise StepError(f"no 'prefill: {args.prefill_tokens} tokens' line "
                        f"in llm-run's output:\n{out}")
    token = re.search(r"^generated: (\d+)", out, re.M)
    return {"prefill_s": float(m[2]),
            "next_token": int(token[1]) if token else None}


def llmc_decode(args, shape, dtype, threads, first_id):
    warm_page_cache(llmc_model(args, shape, dtype))
    out = run_sample(
        f"LLMC decode ({shape}-{dtype}, {plural(threads, 'thread')})",
        [args.llm_run, llmc_model(args, shape, dtype), "--input-ids",
         str(first_id), "--max-new-tokens", str(args.decode_tokens + 1),
         "--ignore-eos", "--num-threads", str(threads)])
    m = re.search(r"decode: (\d+) tokens in \d+ steps of batch 1, ([0-9.]+) s",
                  out)
    if not m or int(m[1]) != args.decode_tokens:
        raise StepError(f"no 'decode: {args.decode_tokens} tokens' line in "
                        f"llm-run's output:\n{out}")
    return {"decode_tok_s": int(m[1]) / float(m[2])}


# -------------------------------------------------------------- machine ---

def machine_info(quick):
    info = {"cpu": platform.processor() or "?", "flags": [],
            "cores": os.cpu_count()}
    try:
        text = subprocess.run(["lscpu"], capture_output=True,
                              text=True).stdout
        m = re.search(r"^Model name:\s*(.+)$", text, re.M)
        if m:
            info["cpu"] = m[1].strip()
    except OSError:
        pass
    try:
        with open("/proc/cpuinfo") as f:
            flags = set(re.search(r"^flags\s*:(.*)$", f.read(), re.M)[1]
                        .split())
        info["flags"] = [f for f in ("avx2", "avx512f", "avx512_bf16",
                                     "avx512_vnni", "avx512_fp16",
                                     "amx_bf16") if f in flags]
    except (OSError, TypeError):
        pass
    try:
        import numpy as np
        n = (64 if quick else 256) << 20
        a = np.ones(n // 8)
        b = np.empty_like(a)
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            np.copyto(b, a)
            best = min(best, time.perf_counter() - start)
        info["copy_gb_s"] = 2 * n / best / 1e9
    except Exception:  # optional
        pass
    return info


# ----------------------------------------------------------------- main ---

def median(xs):
    return statistics.median(xs) if xs else None


def fmt_ratio(x):
    return "—" if x is None else f"{x:.2f}"


def main():
    p = argparse.ArgumentParser(
        prog="bench/vs-peers.sh",
        usage="bench/vs-peers.sh [--cache DIR] [--llm-run PATH] [options]",
        description="LLMC / peer ratios (llama.cpp, ONNX Runtime, PyTorch) "
                    "on SmolLM-135M- and Qwen2-0.5B-shaped random models.")
    # Set by vs-peers.sh:
    p.add_argument("--cache", required=True, help=argparse.SUPPRESS)
    p.add_argument("--llm-run", required=True, help=argparse.SUPPRESS)
    p.add_argument("--llama-dir", required=True, help=argparse.SUPPRESS)
    p.add_argument("--llama-bench", required=True, help=argparse.SUPPRESS)
    p.add_argument("--llama-quantize", required=True, help=argparse.SUPPRESS)
    p.add_argument("--shapes", default="smollm,qwen")
    p.add_argument("--dtypes", default="f32,f16,bf16",
                   help="f32, f16, bf16 and llama.cpp's q8_0, q4_0, q4_k_m "
                        "(GGUFs from llama-quantize, run by both)")
    p.add_argument("--llmc-input", choices=("folder", "gguf"),
                   default="folder",
                   help="what LLMC reads for f32/f16/bf16: the Hugging Face "
                        "folder, or the GGUF file llama.cpp reads "
                        "(quantized formats: always the GGUF)")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--peers", default="llama.cpp,ort,torch")
    p.add_argument("--all-threads", action="store_true",
                   help="F16 and BF16 at every --threads count, not only "
                        "the largest")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--prefill-tokens", type=int, default=512)
    p.add_argument("--decode-tokens", type=int, default=64)
    p.add_argument("--quick", action="store_true",
                   help="prefill 64 tokens, 8 decode tokens, 1 round")
    p.add_argument("--out", help="also write the markdown report here")
    args = p.parse_args()
    args.llm_run = os.path.abspath(args.llm_run)

    def choice(value, allowed, what):
        items = [x for x in value.split(",") if x]
        bad = [x for x in items if x not in allowed]
        if bad or not items:
            p.error(f"--{what}: {','.join(bad) or 'empty'}; choose from "
                    f"{','.join(allowed)}")
        return [x for x in allowed if x in items]

    shapes = choice(args.shapes, list(SHAPES), "shapes")
    peers = choice(args.peers, PEERS, "peers")
    dtypes = choice(args.dtypes, list(DTYPES) + list(QUANT_TYPES), "dtypes")
    qtypes = [d for d in dtypes if d in QUANT_TYPES]
    if (qtypes or args.llmc_input == "gguf") and "llama.cpp" not in peers:
        p.error("quantized formats and --llmc-input gguf need llama.cpp "
                "among the --peers (its converter and llama-quantize write "
                "the files)")
    try:
        threads = sorted({int(t) for t in args.threads.split(",") if t})
        assert threads and all(t > 0 for t in threads)
    except (ValueError, AssertionError):
        p.error("--threads: a list of positive integers, e.g. 1,2")
    if args.quick:
        args.prefill_tokens, args.decode_tokens, args.rounds = 64, 8, 1
    for name in ("rounds", "prefill_tokens", "decode_tokens"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    args.versions = {}

    # Models and peer formats.
    floats = [d for d in dtypes if d in DTYPES]
    if qtypes and "f16" not in floats:
        floats.append("f16")  # llama-quantize's input
    make_models(args.cache, shapes, floats)
    if "llama.cpp" in peers:
        make_ggufs(args, shapes, floats)
        make_quantized(args, shapes, qtypes)
    if "ort" in peers and "f32" in dtypes:
        make_onnx(args, shapes)

    rng = random.Random(512)
    # The columns: F32 at every thread count, F16 and BF16 at the largest
    # one (every one with --all-threads).
    # ONNX Runtime and PyTorch: F32 only.
    columns = [(d, t) for d in dtypes for t in threads
               if d == "f32" or t == threads[-1] or args.all_threads
               if d == "f32" or "llama.cpp" in peers]
    if not columns:
        p.error("nothing to measure: ONNX Runtime and PyTorch are measured "
                "in f32 only")
    cells = [(s, d, t) for s in shapes for d, t in columns]
    samples = {}  # (shape, dtype, threads, what) -> [values]
    checks = []  # ORT's and PyTorch's next token == LLMC's

    def add(cell, what, value):
        samples.setdefault(cell + (what,), []).append(value)

    for r in range(args.rounds):
        for cell in cells:
            shape, dtype, t = cell
            vocab = SHAPES[shape]["config"]["vocab_size"]
            ids = ",".join(str(rng.randrange(3, vocab))
                           for _ in range(args.prefill_tokens))
            log(f"round {r + 1}/{args.rounds}: {shape} {dtype} "
                f"{plural(t, 'thread')}")
            llmc = llmc_prefill(args, shape, dtype, t, ids)
            add(cell, "llmc_prefill_s", llmc["prefill_s"])
            if "llama.cpp" in peers:
                add(cell, "llmc_decode_tok_s",
                    llmc_decode(args, shape, dtype, t,
                                rng.randrange(3, vocab))["decode_tok_s"])
                res = llama_bench(args, shape, dtype, t)
                add(cell, "llama.cpp_prefill_s", res["prefill_s"])
                add(cell, "llama.cpp_decode_tok_s", res["decode_tok_s"])
            for peer, measure in (("ort", ort_prefill),
                                  ("torch", torch_prefill)):
                if dtype != "f32" or peer not in peers:
                    continue
                res = measure(args, shape, t, ids)
                add(cell, f"{peer}_prefill_s", res["prefill_s"])
                # Same model, same prompt: the same greedy next token (a
                # check that the peers run the model LLMC runs).
                same = res["next_token"] == llmc["next_token"]
                checks.append(same)
                if not same:
                    log(f"warning: {PEER_NAMES[peer]} picks token "
                        f"{res['next_token']} after the prompt, LLMC "
                        f"{llmc['next_token']} ({shape} f32)")

    med = {k: median(v) for k, v in samples.items()}

    def ratio(cell, peer, kind):
        llmc = med.get(cell + (f"llmc_{kind}",))
        other = med.get(cell + (f"{peer}_{kind}",))
        if llmc is None or other is None:
            return None
        # prefill: peer seconds / LLMC seconds; decode: LLMC tok/s / peer.
        return other / llmc if kind == "prefill_s" else llmc / other

    lines = []
    info = machine_info(args.quick)
    lines.append(f"Machine: {info['cpu']}, {info['cores']} cores; flags: "
                 + (" ".join(info["flags"]) or "none of avx2/avx512*")
                 + (f"; numpy copy bandwidth (1 thread) "
                    f"{info['copy_gb_s']:.1f} GB/s" if "copy_gb_s" in info
                    else ""))
    llmc_desc = args.llm_run
    try:
        sha = subprocess.run(
            ["git", "-C", os.path.dirname(args.llm_run), "log", "-1",
             "--format=%h %cs"], capture_output=True, text=True)
        if sha.returncode == 0 and sha.stdout.strip():
            dirty = subprocess.run(
                ["git", "-C", os.path.dirname(args.llm_run), "status",
                 "--porcelain", "--untracked-files=no"],
                capture_output=True, text=True).stdout.strip()
            llmc_desc += (f" (checkout at {sha.stdout.strip()}"
                          f"{', with uncommitted changes' if dirty else ''})")
    except OSError:
        pass
    lines.append(f"LLMC: {llmc_desc}"
                 + "".join(f"; {k}: {v}" for k, v in
                           sorted(args.versions.items())))
    lines.append(f"Prefill {args.prefill_tokens} tokens, decode "
                 f"{args.decode_tokens} tokens, median of {args.rounds} "
                 f"round{'s' if args.rounds > 1 else ''}"
                 f"{' (--quick)' if args.quick else ''}; "
                 + datetime.datetime.now().strftime("%Y-%m-%d %H:%M"))
    lines.append("")

    # Medians.
    lines.append("| shape | dtype | threads | LLMC prefill s | llama.cpp "
                 "prefill s | ORT prefill s | PyTorch prefill s | LLMC "
                 "decode tok/s | llama.cpp decode tok/s |")
    lines.append("|---|---|---|---|---|---|---|---|---|")

    def f(key, cell, digits):
        v = med.get(cell + (key,))
        return "—" if v is None else f"{v:.{digits}f}"

    for cell in cells:
        lines.append(
            f"| {SHAPES[cell[0]]['label']} | {cell[1]} | {cell[2]} | "
            f"{f('llmc_prefill_s', cell, 4)} | "
            f"{f('llama.cpp_prefill_s', cell, 4)} | "
            f"{f('ort_prefill_s', cell, 4)} | "
            f"{f('torch_prefill_s', cell, 4)} | "
            f"{f('llmc_decode_tok_s', cell, 1)} | "
            f"{f('llama.cpp_decode_tok_s', cell, 1)} |")
    lines.append("")

    # Ratios: one column per (dtype, threads), "smollm / qwen" in a cell.
    labels = " / ".join(SHAPES[s]["label"] for s in shapes)
    lines.append(f"| LLMC ÷ peer ({labels}) | "
                 + " | ".join(f"{d.upper()}, {plural(t, 'thread')}"
                              for d, t in columns) + " |")
    lines.append("|---|" + "---|" * len(columns))
    rows = []
    if "llama.cpp" in peers:
        rows.append((f"prefill {args.prefill_tokens} vs llama.cpp",
                     "llama.cpp", "prefill_s"))
    if "ort" in peers:
        rows.append(("prefill vs ONNX Runtime", "ort", "prefill_s"))
    if "torch" in peers:
        rows.append(("prefill vs PyTorch", "torch", "prefill_s"))
    if "llama.cpp" in peers:
        rows.append((f"decode {args.decode_tokens} vs llama.cpp",
                     "llama.cpp", "decode_tok_s"))
    for title, peer, kind in rows:
        cells_text = []
        for d, t in columns:
            if peer in ("ort", "torch") and d != "f32":
                cells_text.append("—")
                continue
            cells_text.append(" / ".join(
                fmt_ratio(ratio((s, d, t), peer, kind)) for s in shapes))
        lines.append(f"| {title} | " + " | ".join(cells_text) + " |")
    lines.append("")
    if checks:
        lines.append(f"Greedy next token after the prompt, f32: ONNX Runtime "
                     f"and PyTorch agree with LLMC in {sum(checks)} of "
                     f"{len(checks)} runs.")
    lines.append("Ratios: peer time / LLMC time (decode: LLMC tokens/s / "
                 "peer tokens/s); above 1 means LLMC is faster. ONNX Runtime "
                 "and PyTorch: f32 only.")

    report = "\n".join(lines) + "\n"
    print(report, end="")
    results = os.path.join(args.cache, "results")
    os.makedirs(results, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    for path in [os.path.join(results, f"vs-peers-{stamp}.md")] + (
            [args.out] if args.out else []):
        with open(path, "w") as out:
            out.write(report)
    with open(os.path.join(results, f"vs-peers-{stamp}.json"), "w") as out:
        json.dump({"machine": info, "versions": args.versions,
                   "prefill_tokens": args.prefill_tokens,
                   "decode_tokens": args.decode_tokens,
                   "rounds": args.rounds,
                   "samples": {"|".join(map(str, k)): v
                               for k, v in samples.items()}}, out, indent=1)
    log(f"report and raw samples in {results}/vs-peers-{stamp}.{{md,json}}")


if __name__ == "__main__":
    workers = {"convert-gguf": convert_gguf_main, "ort-prefill": ort_worker,
               "torch-prefill": torch_worker}
    if len(sys.argv) > 1 and sys.argv[1] in workers:
        workers[sys.argv[1]](sys.argv[2:])
        sys.exit(0)
    try:
        main()
    except StepError as err:
        log(f"error: {err}")
        sys.exit(1)
