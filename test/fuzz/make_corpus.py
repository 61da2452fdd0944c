#!/usr/bin/env python3
"""Regenerates the seed corpora of test/fuzz/corpus/ from the test suite.

corpus/config/<fixture>.json: the config.json of every test/e2e fixture.
corpus/pipeline/<file>-<n>.mlir: the .mlir tests of test/dialects,
test/passes, test/codegen and test/Pipelines split at `// -----`, leaving out
the pieces that expect an error (`expected-error`), with comment lines
(RUN, CHECK, prose) dropped; a piece of several top-level functions that call
none of each other is split into one file per function (small seeds mutate
better).
pipeline.dict: the llm op, attribute and type mnemonics and enum keywords of
the ODS (include/llm/dialects/LLM/IR), the attribute names and the other
dialects' ops the seeds use, and edge numbers.
(config.dict is written by hand: the keys lib/Import/HF reads.)
Run from anywhere: test/fuzz/make_corpus.py
"""

import pathlib
import re
import shutil

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORPUS = ROOT / "test" / "fuzz" / "corpus"
PIPELINE_DIRS = ["test/dialects", "test/passes", "test/codegen", "test/Pipelines"]


def split_functions(piece: str) -> list[str]:
    """One string per top-level func.func, or [piece] when they can't part."""
    if "call @" in piece or re.search(r"^module", piece, re.M):
        return [piece]
    starts = [m.start() for m in re.finditer(r"^func\.func ", piece, re.M)]
    if len(starts) < 2 or piece[: starts[0]].strip():
        return [piece]
    starts.append(len(piece))
    return [piece[a:b] for a, b in zip(starts, starts[1:])]


def write_pipeline_dict() -> None:
    ods = ROOT / "include" / "llm" / "dialects" / "LLM" / "IR"
    ops = re.findall(r'LLM_Op<"([a-z_]+)"', (ods / "LLMOps.td").read_text())
    attrs = (ods / "LLMAttrs.td").read_text()
    types = (ods / "LLMTypes.td").read_text()
    seeds = "".join(p.read_text() for p in sorted((CORPUS / "pipeline").glob("*.mlir")))
    tokens = [f"llm.{op}" for op in ops]
    tokens += [f"#llm.{m}<" for m in re.findall(r'LLM_Attr<"\w+", "([a-z_]+)"', attrs)]
    tokens += [f"#llm.{m}<" for m in re.findall(r'EnumAttr<LLM_Dialect, \w+, "([a-z_]+)"', attrs)]
    tokens += [f"!llm.{m}<" for m in re.findall(r'LLM_Type<"\w+", "([a-z_]+)"', types)]
    tokens += re.findall(r'EnumAttrCase<"\w+", \d+, "([a-z_0-9]+)">', attrs)
    tokens += sorted(set(re.findall(r"\b([a-z_]{3,}) = ", seeds)))
    tokens += sorted(set(re.findall(r"\b((?:arith|tensor|linalg|func|math)\.[a-z_]+)", seeds)))
    tokens += ["llm.model", "llm.arg_kind", "llm.params", "llm.arena_bytes",
               "tensor<", "xf32>", "xf16>", "xbf16>", "xi64>", "xi32>", "xi8>", "x?x",
               "dense<", "dense_resource<", ": i64", ": f64", "-1", "0", "1",
               "9223372036854775807", "-9223372036854775808", "2147483648",
               "0x7FC00000", "1.0e+38", "-0.0", "inf", "nan"]
    seen, lines = set(), ["# libFuzzer dictionary for PipelineFuzzer, written by test/fuzz/make_corpus.py."]
    for t in tokens:
        if t not in seen:
            seen.add(t)
            lines.append('"' + t.replace("\\", "\\\\").replace('"', '\\"') + '"')
    (ROOT / "test" / "fuzz" / "pipeline.dict").write_text("\n".join(lines) + "\n")


def main() -> None:
    for sub in ("config", "pipeline"):
        shutil.rmtree(CORPUS / sub, ignore_errors=True)
        (CORPUS / sub).mkdir(parents=True)

    for config in sorted((ROOT / "test" / "e2e").glob("*/config.json")):
        shutil.copy(config, CORPUS / "config" / f"{config.parent.name}.json")

    count = 0
    for d in PIPELINE_DIRS:
        for path in sorted((ROOT / d).rglob("*.mlir")):
            text = path.read_text()
            pieces = re.split(r"^// -----\s*$", text, flags=re.M)
            n = 0
            for piece in pieces:
                if "expected-error" in piece:
                    continue
                lines = [l for l in piece.splitlines() if not l.lstrip().startswith("//")]
                body = "\n".join(lines).strip()
                if not body:
                    continue
                for part in split_functions(body + "\n"):
                    name = f"{path.stem}-{n:03d}.mlir"
                    (CORPUS / "pipeline" / name).write_text(part.strip() + "\n")
                    n += 1
                    count += 1
    write_pipeline_dict()
    print(f"{len(list((CORPUS / 'config').iterdir()))} config seeds, {count} pipeline seeds")


if __name__ == "__main__":
    main()
