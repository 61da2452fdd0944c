#!/usr/bin/env python3
"""Trains LLMC's bundled default model, models/llmc-tiny-en/.

A small LLaMA-architecture causal LM (transformers.LlamaForCausalLM,
model_type "llama") with its own byte-level BPE tokenizer, trained on CPU
from scratch on Jane Austen's six completed novels. The text comes from
Debian's package r-cran-janeaustenr 1.0.0-1 (package: MIT, Julia Silge; the
novels themselves are in the public domain, from Project Gutenberg), read
straight out of the package's R lazy-load database (no R needed).

What it writes into --out:
  config.json, generation_config.json, model.safetensors (float16),
  tokenizer.json, tokenizer_config.json   the model folder LLMC imports
  eval.txt          about 20 KB of held-out text (the first paragraphs of the
                    validation split, never trained on)
  calib.txt         about 36 KB of the training split, calibration text for
                    LLMC's GPTQ and AWQ (--calib-only writes it alone)
  perplexity.json   sliding-window perplexity of the saved model on eval.txt
  reference.json    prompt ids, greedy ids/text and top-5 last-position logits
  samples.json      greedy and sampled text for the default prompt
  train_log.txt     the training log (losses, timings)
README.md in the model folder is written by hand from these files.

Environment (CPU; PyPI's torch wheel also installs CUDA libraries, about
4 GB in all, which are not used):

  python3 -m venv /opt/llmc-train
  /opt/llmc-train/bin/pip install torch==2.15.0 transformers==5.24.0 \
      tokenizers==0.23.3 safetensors==0.8.0 numpy==2.4.6
  apt-get download r-cran-janeaustenr=1.0.0-1   # or let the script run it

Run (about 25 minutes on one core of a 2.6 GHz Xeon shared with other work):

  nice -n 10 /opt/llmc-train/bin/python scripts/train_default_model.py \
      --out models/llmc-tiny-en --deb r-cran-janeaustenr_1.0.0-1_all.deb

Everything is deterministic given --seed and --threads: the data split, the
tokenizer, the initialization, the order of the training windows and the
number of steps (--steps). The default is one thread: on a 2-core machine
that is also compiling, two threads were measured slower (every parallel
region waits for the thread that lost its core; 3-4 s per step against
2 s). A different thread count can change the last bits of every step.
--minutes is only a safety limit: if the time runs out before --steps,
training stops early, which the log says (and the result is then no longer
reproducible). --eval-only recomputes perplexity.json, reference.json and
samples.json from a saved folder and its eval.txt.
"""

import argparse
import gzip
import hashlib
import json
import math
import os
import struct
import subprocess
import sys
import tempfile
import time
import zlib

DEB_NAME = "r-cran-janeaustenr"
DEB_VERSION = "1.0.0-1"
DEB_SHA256 = "df6bddf211906d1ff404f8ff662c21b34e6660e7f54a311084e749050c019c95"
RDATA = "usr/lib/R/site-library/janeaustenr/data/Rdata"
BOOKS = ["sensesensibility", "prideprejudice", "mansfieldpark", "emma",
         "northangerabbey", "persuasion"]

DEFAULT_PROMPT = "It was"

VAL_FRACTION = 0.02
EVAL_BYTES = 20000

# ---------------------------------------------------------------- the corpus


class _RVec(list):
    attr = {}


class _RReader:
    """The subset of R's XDR serialization (format 2 and 3) that the
    janeaustenr data uses: character, integer, double and generic vectors,
    symbols, pairlists and references."""

    def __init__(self, b):
        self.b, self.p, self.refs = b, 0, []

    def int(self):
        v = struct.unpack_from(">i", self.b, self.p)[0]
        self.p += 4
        return v

    def take(self, k):
        v = self.b[self.p:self.p + k]
        self.p += k
        return v

    def length(self):
        n = self.int()
        if n == -1:
            hi, lo = self.int(), self.int()
            n = (hi << 32) + lo
        return n

    def item(self):
        flags = self.int()
        t, has_attr, has_tag = flags & 0xFF, flags & (1 << 9), flags & (1 << 10)
        if t == 254:  # NILVALUE_SXP
            return None
        if t in (253, 252, 251, 250, 242, 241):
            return ("special", t)
        if t == 255:  # REFSXP
            idx = flags >> 8 or self.int()
            return self.refs[idx - 1]
        if t == 1:  # SYMSXP
            v = ("sym", self.item())
            self.refs.append(v)
            return v
        if t in (2, 3, 5, 6, 17, 239, 240):  # pairlist-like
            attr = self.item() if has_attr else None
            tag = self.item() if has_tag else None
            car = self.item()
            cdr = self.item()
            return ("pair", tag, car, cdr, attr)
        if t == 9:  # CHARSXP
            n = self.int()
            return None if n == -1 else self.take(n).decode("utf-8")
        if t in (10, 13):
            n = self.length()
            v = list(struct.unpack_from(">%di" % n, self.b, self.p))
            self.p += 4 * n
        elif t == 14:
            n = self.length()
            v = list(struct.unpack_from(">%dd" % n, self.b, self.p))
            self.p += 8 * n
        elif t in (16, 19, 20):
            v = [self.item() for _ in range(self.length())]
        else:
            raise ValueError("unsupported R object type %d" % t)
        v = _RVec(v)
        if has_attr:
            v.attr = _pairlist(self.item())
        return v


def _pairlist(p):
    out = {}
    while p is not None:
        _, tag, car, cdr, _ = p
        out[tag[1]] = car
        p = cdr
    return out


def _unserialize(b):
    r = _RReader(b)
    if r.take(2) != b"X\n":
        raise ValueError("not an XDR serialization")
    version = r.int()
    r.int()
    r.int()
    if version == 3:
        r.take(r.int())
    return r.item()


def read_lazyload_db(prefix):
    raw = open(prefix + ".rdx", "rb").read()
    index = _unserialize(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b"
                         else zlib.decompress(raw[4:]))
    names = index[0].attr["names"]
    db = open(prefix + ".rdb", "rb").read()
    out = {}
    for name, (off, n) in zip(names, index[0]):
        out[name] = _unserialize(zlib.decompress(db[off + 4:off + n]))
    return out


def fetch_deb(deb, workdir):
    if deb is None:
        subprocess.run(["apt-get", "download", "%s=%s" % (DEB_NAME, DEB_VERSION)],
                       cwd=workdir, check=True)
        deb = os.path.join(workdir, "%s_%s_all.deb" % (DEB_NAME, DEB_VERSION))
    digest = hashlib.sha256(open(deb, "rb").read()).hexdigest()
    if digest != DEB_SHA256:
        sys.exit("%s: sha256 %s, expected %s" % (deb, digest, DEB_SHA256))
    root = os.path.join(workdir, "deb")
    subprocess.run(["dpkg-deb", "-x", deb, root], check=True)
    return root


def load_books(root):
    """Returns [(book, [paragraph, ...])]: the hard-wrapped lines of each
    novel joined into paragraphs (blank lines separate paragraphs)."""
    data = read_lazyload_db(os.path.join(root, RDATA))
    books = []
    for name in BOOKS:
        lines = list(data[name])
        if name == "northangerabbey":
            # The package appends a modern edition's note on the text; only
            # the novel is kept.
            lines = lines[:lines.index("A NOTE ON THE TEXT")]
        paras, cur = [], []
        for line in lines + [""]:
            line = line.strip()
            if line:
                cur.append(line)
            elif cur:
                paras.append(" ".join(cur))
                cur = []
        books.append((name, paras))
    return books


def split_books(books):
    """Per book, a contiguous block of paragraphs of about VAL_FRACTION of its
    characters, starting at the middle of the book, is held out. Returns
    (train_docs, val_docs), each a list of paragraph lists."""
    train, val = [], []
    for _, paras in books:
        total = sum(len(p) + 1 for p in paras)
        start = len(paras) // 2
        end, size = start, 0
        while size < VAL_FRACTION * total:
            size += len(paras[end]) + 1
            end += 1
        train += [paras[:start], paras[end:]]
        val.append(paras[start:end])
    return train, val


def doc_text(paras):
    return "".join(p + "\n" for p in paras)


CALIB_BYTES_PER_BOOK = 6000


def calib_text(books):
    """Calibration text for LLMC's quantizers (llm-run --calib): from each
    novel, whole paragraphs of its training split (never its held-out block)
    starting a quarter of the way in, until CALIB_BYTES_PER_BOOK bytes."""
    out = []
    for _, paras in books:
        start = len(paras) // 4  # before the held-out block at the middle
        size = 0
        for p in paras[start:len(paras) // 2]:
            if size >= CALIB_BYTES_PER_BOOK:
                break
            out.append(p + "\n")
            size += len(p) + 1
    return "".join(out)


# ----------------------------------------------------------------- tokenizer


def train_tokenizer(train_docs, vocab_size):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=2, show_progress=False,
        special_tokens=["<unk>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator((doc_text(d) for d in train_docs), trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s>:1 $B:1",
        special_tokens=[("<s>", tok.token_to_id("<s>"))])
    return tok


def encode_docs(tok, docs, eos_id):
    """One token stream: every document's paragraphs, each ending in "\\n",
    and </s> after each document. Also returns the stream offsets where
    paragraphs begin."""
    import numpy as np

    ids, starts = [], []
    for paras in docs:
        enc = tok.encode_batch([p + "\n" for p in paras], add_special_tokens=False)
        for e in enc:
            starts.append(len(ids))
            ids += e.ids
        ids.append(eos_id)
    return np.array(ids, dtype=np.int64), np.array(starts, dtype=np.int64)


# -------------------------------------------------------------------- training


def build_config(args, vocab_size, bos, eos):
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=vocab_size, hidden_size=args.hidden, intermediate_size=args.intermediate,
        num_hidden_layers=args.layers, num_attention_heads=args.heads,
        num_key_value_heads=args.kv_heads, head_dim=args.hidden // args.heads,
        max_position_embeddings=args.max_positions, rms_norm_eps=1e-5,
        rope_theta=10000.0, hidden_act="silu", initializer_range=0.02,
        tie_word_embeddings=args.tie, attention_bias=False, mlp_bias=False,
        bos_token_id=bos, eos_token_id=eos, pad_token_id=None, use_cache=True)


class Batcher:
    """Training windows of --ctx tokens: with probability 3/4 one starts at a
    paragraph with <s> in front (as a prompt does), otherwise at any token
    without <s> (as a sliding perplexity window does)."""

    def __init__(self, ids, starts, ctx, bos, seed):
        import numpy as np

        self.ids, self.ctx, self.bos = ids, ctx, bos
        self.starts = starts[starts + ctx < len(ids)]
        self.rng = np.random.default_rng(seed)

    def batch(self, n):
        import numpy as np
        import torch

        rows = []
        for _ in range(n):
            if self.rng.random() < 0.75:
                s = int(self.starts[self.rng.integers(len(self.starts))])
                rows.append(np.concatenate([[self.bos], self.ids[s:s + self.ctx - 1]]))
            else:
                s = int(self.rng.integers(len(self.ids) - self.ctx))
                rows.append(self.ids[s:s + self.ctx])
        return torch.from_numpy(np.stack(rows))


def eval_windows(ids, starts, ctx, bos, limit=None):
    """Deterministic evaluation windows: <s> + ctx-1 tokens from consecutive
    paragraph starts, non-overlapping."""
    import numpy as np
    import torch

    rows, pos = [], 0
    for s in starts:
        if s < pos or s + ctx - 1 > len(ids):
            continue
        rows.append(np.concatenate([[bos], ids[s:s + ctx - 1]]))
        pos = s + ctx - 1
        if limit and len(rows) == limit:
            break
    return torch.from_numpy(np.stack(rows))


def mean_loss(model, windows, bs=16):
    import torch

    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(windows), bs):
            x = windows[i:i + bs]
            logits = model(x).logits[:, :-1].float()
            loss = torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.size(-1)), x[:, 1:].reshape(-1), reduction="sum")
            total += loss.item()
            count += x[:, 1:].numel()
    model.train()
    return total / count


def train(args, log):
    import numpy as np
    import torch
    from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

    torch.manual_seed(args.seed)
    t_start = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        books = load_books(fetch_deb(args.deb, tmp))
    train_docs, val_docs = split_books(books)
    train_text = "".join(doc_text(d) for d in train_docs)
    val_text = "".join(doc_text(d) for d in val_docs)
    corpus_bytes = sum(len(doc_text(p).encode()) for _, p in books)
    log("corpus: %s %s, %d books, %d paragraphs, %d bytes (train %d, validation %d)" % (
        DEB_NAME, DEB_VERSION, len(books), sum(len(p) for _, p in books), corpus_bytes,
        len(train_text.encode()), len(val_text.encode())))

    tok = train_tokenizer(train_docs, args.vocab)
    bos, eos = tok.token_to_id("<s>"), tok.token_to_id("</s>")
    train_ids, train_starts = encode_docs(tok, train_docs, eos)
    val_ids, val_starts = encode_docs(tok, val_docs, eos)
    log("tokenizer: byte-level BPE, vocab %d; tokens: train %d, validation %d (%.2f bytes/token)" % (
        tok.get_vocab_size(), len(train_ids), len(val_ids), len(train_text.encode()) / len(train_ids)))

    config = build_config(args, tok.get_vocab_size(), bos, eos)
    model = LlamaForCausalLM(config)
    model.train()
    n_params = sum(p.numel() for p in model.parameters())
    log("model: hidden %d, %d layers, %d heads (%d kv), intermediate %d, tied %s: %d parameters" % (
        args.hidden, args.layers, args.heads, args.kv_heads, args.intermediate, args.tie, n_params))

    batcher = Batcher(train_ids, train_starts, args.ctx, bos, args.seed)
    val_windows = eval_windows(val_ids, val_starts, args.ctx, bos)
    train_windows = eval_windows(train_ids, train_starts, args.ctx, bos, limit=len(val_windows))
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8, fused=True)

    def lr_at(step):
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        t = (step - args.warmup) / max(1, args.steps - args.warmup)
        return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))

    t_train = time.time()
    deadline = t_train + 60 * args.minutes
    step, running = 0, []
    for step in range(args.steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        x = batcher.batch(args.batch)
        loss = model(x, labels=x).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        running.append(loss.item())
        if (step + 1) % args.log_every == 0:
            el = time.time() - t_train
            log("step %d/%d  lr %.2e  train loss %.4f  %.0f tokens/s  %.1f min" % (
                step + 1, args.steps, lr_at(step), sum(running) / len(running),
                (step + 1) * args.batch * args.ctx / el, el / 60))
            running = []
        if (step + 1) % args.eval_every == 0 and step + 1 < args.steps:
            log("step %d  validation loss %.4f" % (step + 1, mean_loss(model, val_windows)))
        if time.time() > deadline:
            log("WARNING: --minutes %g ran out at step %d of %d; stopped early (not reproducible)"
                % (args.minutes, step + 1, args.steps))
            break
    steps_done = step + 1
    train_minutes = (time.time() - t_train) / 60
    final_train = mean_loss(model, train_windows)
    final_val = mean_loss(model, val_windows)
    log("final (float32, %d steps, %.1f min): train loss %.4f, validation loss %.4f (%d windows of %d tokens each)" % (
        steps_done, train_minutes, final_train, final_val, len(val_windows), args.ctx))

    os.makedirs(args.out, exist_ok=True)
    model.generation_config.bos_token_id = bos
    model.generation_config.eos_token_id = eos
    model.to(torch.float16).save_pretrained(args.out, safe_serialization=True)
    hf_tok = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>",
                                     unk_token="<unk>", model_max_length=args.max_positions)
    hf_tok.save_pretrained(args.out)

    eval_text = ""
    for p in [p for d in val_docs for p in d]:
        if len((eval_text + p + "\n").encode()) > EVAL_BYTES:
            break
        eval_text += p + "\n"
    with open(os.path.join(args.out, "eval.txt"), "w", encoding="utf-8") as f:
        f.write(eval_text)

    model16 = LlamaForCausalLM.from_pretrained(args.out, dtype=torch.float32)
    val16 = mean_loss(model16, val_windows)
    train16 = mean_loss(model16, train_windows)
    log("saved float16 weights, run in float32: train loss %.4f, validation loss %.4f" % (train16, val16))
    summary = {
        "corpus": {"package": DEB_NAME, "version": DEB_VERSION, "sha256": DEB_SHA256,
                   "bytes": corpus_bytes, "train_bytes": len(train_text.encode()),
                   "validation_bytes": len(val_text.encode()),
                   "train_tokens": int(len(train_ids)), "validation_tokens": int(len(val_ids))},
        "parameters": n_params, "steps": steps_done, "batch": args.batch, "ctx": args.ctx,
        "tokens_seen": steps_done * args.batch * args.ctx,
        "train_minutes": round(train_minutes, 2),
        "total_minutes": round((time.time() - t_start) / 60, 2),
        "final_train_loss_f32": final_train, "final_validation_loss_f32": final_val,
        "final_train_loss_f16_weights": train16, "final_validation_loss_f16_weights": val16,
        "threads": torch.get_num_threads(), "args": vars(args),
    }
    with open(os.path.join(args.out, "training.json"), "w") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")


# ------------------------------------------------------------ the references


def load_saved(out):
    import torch
    from transformers import AutoTokenizer, LlamaForCausalLM

    tok = AutoTokenizer.from_pretrained(out)
    model = LlamaForCausalLM.from_pretrained(out, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    return tok, model


def perplexity(model, ids, ctx, stride):
    """transformers' perplexity guide, sliding window, verbatim in what it
    computes (the loss of each window weighted by num_valid_tokens - 1), plus
    the exact per-token sum of the same predictions."""
    import torch

    seq_len = ids.size(1)
    nll_sum, n_tokens, prev_end_loc = 0.0, 0, 0
    exact_nll, exact_n, windows = 0.0, 0, 0
    for begin_loc in range(0, seq_len, stride):
        end_loc = min(begin_loc + ctx, seq_len)
        trg_len = end_loc - prev_end_loc
        input_ids = ids[:, begin_loc:end_loc]
        target_ids = input_ids.clone()
        target_ids[:, :-trg_len] = -100
        with torch.no_grad():
            outputs = model(input_ids, labels=target_ids)
        neg_log_likelihood = outputs.loss
        num_valid_tokens = (target_ids != -100).sum().item()
        batch_size = target_ids.size(0)
        num_loss_tokens = num_valid_tokens - batch_size
        nll_sum += neg_log_likelihood.item() * num_loss_tokens
        n_tokens += num_loss_tokens
        # What outputs.loss averaged: the shifted labels that are not -100.
        logp = torch.log_softmax(outputs.logits[:, :-1].double(), dim=-1)
        labels = target_ids[:, 1:]
        mask = labels != -100
        tok_nll = -logp.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
        exact_nll += tok_nll[mask].sum().item()
        exact_n += int(mask.sum().item())
        windows += 1
        prev_end_loc = end_loc
        if end_loc == seq_len:
            break
    return {
        "ctx": ctx, "stride": stride, "windows": windows,
        "perplexity": math.exp(nll_sum / n_tokens),
        "nll_sum": nll_sum, "n_tokens": n_tokens,
        "exact": {"perplexity": math.exp(exact_nll / exact_n),
                  "nll_sum": exact_nll, "n_predicted_tokens": exact_n},
    }


def write_references(out, prompt):
    import tokenizers
    import torch
    import transformers

    tok, model = load_saved(out)
    text = open(os.path.join(out, "eval.txt"), encoding="utf-8").read()
    enc = tok(text, return_tensors="pt", add_special_tokens=True)
    ids = enc.input_ids
    ppl = {
        "file": "eval.txt",
        "eval_bytes": len(text.encode()),
        "tokenization": {
            "call": "tokenizer(text, add_special_tokens=True)",
            "add_special_tokens": True,
            "note": "the post-processor puts <s> (id %d) first; no </s>" % tok.bos_token_id,
            "n_tokens": int(ids.size(1)), "first_ids": ids[0, :8].tolist(),
        },
        "model": {"weights": "model.safetensors (float16)", "dtype": "float32",
                  "attn_implementation": "eager"},
        "results": [perplexity(model, ids, 128, 64), perplexity(model, ids, 256, 128)],
        "versions": {"transformers": transformers.__version__, "torch": torch.__version__,
                     "tokenizers": tokenizers.__version__},
    }
    with open(os.path.join(out, "perplexity.json"), "w") as f:
        json.dump(ppl, f, indent=2)
        f.write("\n")

    prompt_ids = tok(prompt, return_tensors="pt").input_ids
    with torch.no_grad():
        last = model(prompt_ids).logits[0, -1]
        gen = model.generate(prompt_ids, do_sample=False, num_beams=1, max_new_tokens=32)
    top = torch.topk(last, 5)
    new = gen[0, prompt_ids.size(1):].tolist()
    ref = {
        "prompt": prompt,
        "prompt_ids": prompt_ids[0].tolist(),
        "greedy": {"call": "generate(do_sample=False, num_beams=1, max_new_tokens=32)",
                   "ids": new, "text": tok.decode(new),
                   "full_text": tok.decode(gen[0], skip_special_tokens=True)},
        "last_position_top5": {"ids": top.indices.tolist(), "logits": top.values.tolist()},
        "model": {"dtype": "float32", "attn_implementation": "eager"},
        "versions": {"transformers": transformers.__version__, "torch": torch.__version__},
    }
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(ref, f, indent=2)
        f.write("\n")

    samples = {"prompt": prompt, "greedy_64": None, "sampled": []}
    with torch.no_grad():
        g = model.generate(prompt_ids, do_sample=False, max_new_tokens=64)
        samples["greedy_64"] = tok.decode(g[0], skip_special_tokens=True)
        for seed in (1, 2, 3):
            torch.manual_seed(seed)
            s = model.generate(prompt_ids, do_sample=True, temperature=0.8, top_k=40,
                               top_p=0.95, max_new_tokens=64)
            samples["sampled"].append({
                "call": "torch.manual_seed(%d); generate(do_sample=True, temperature=0.8, "
                        "top_k=40, top_p=0.95, max_new_tokens=64)" % seed,
                "text": tok.decode(s[0], skip_special_tokens=True)})
    with open(os.path.join(out, "samples.json"), "w") as f:
        json.dump(samples, f, indent=2)
        f.write("\n")
    return ppl, ref, samples


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="model folder to write")
    ap.add_argument("--deb", help="%s_%s_all.deb (default: apt-get download it)" % (DEB_NAME, DEB_VERSION))
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=1600, help="optimizer steps (sets the LR schedule)")
    ap.add_argument("--minutes", type=float, default=45, help="safety limit on the training loop")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--ctx", type=int, default=256)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--kv-heads", type=int, default=4)
    ap.add_argument("--intermediate", type=int, default=704)
    ap.add_argument("--max-positions", type=int, default=512)
    ap.add_argument("--tie", action="store_true", help="tie_word_embeddings")
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--prompt", default=DEFAULT_PROMPT)
    ap.add_argument("--eval-only", action="store_true",
                    help="only recompute perplexity.json, reference.json, samples.json")
    ap.add_argument("--calib-only", action="store_true",
                    help="only write calib.txt (calibration text from the training split)")
    args = ap.parse_args()

    if args.calib_only:
        with tempfile.TemporaryDirectory() as work:
            books = load_books(fetch_deb(args.deb, work))
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "calib.txt"), "w", encoding="utf-8") as f:
            f.write(calib_text(books))
        return

    import torch

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.out, exist_ok=True)
    log_file = None if args.eval_only else open(os.path.join(args.out, "train_log.txt"), "w")

    def log(msg):
        print(msg, flush=True)
        if log_file:
            log_file.write(msg + "\n")
            log_file.flush()

    if not args.eval_only:
        log("command: " + " ".join(sys.argv))
        train(args, log)
    ppl, ref, samples = write_references(args.out, args.prompt)
    for r in ppl["results"]:
        log("perplexity of eval.txt (%d tokens), ctx %d stride %d: %.6f (exact per-token: %.6f)" % (
            ppl["tokenization"]["n_tokens"], r["ctx"], r["stride"], r["perplexity"],
            r["exact"]["perplexity"]))
    log("prompt %r ids %s" % (ref["prompt"], ref["prompt_ids"]))
    log("greedy: %r" % ref["greedy"]["full_text"])
    for s in samples["sampled"]:
        log("sampled: %r" % s["text"])


if __name__ == "__main__":
    main()
