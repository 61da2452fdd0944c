#!/usr/bin/env python3
"""Writes a changed copy of Inputs/tiny/tokenizer.json, for the error tests.

    edit.py OUT CODE
    edit.py --bytes OUT CODE

Runs the Python statements CODE with `t`, the parsed JSON of the tiny
tokenizer, and writes `t` to OUT as UTF-8 JSON; a lone surrogate U+DC80 to
U+DCFF in a string becomes the raw byte 0x80 to 0xFF (not UTF-8). With
--bytes, `b` is the file's bytes and OUT gets `b`. Standard library only.
"""

import json
import os
import sys

TINY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tiny", "tokenizer.json")


def main():
    args = sys.argv[1:]
    raw = args[:1] == ["--bytes"]
    if raw:
        args = args[1:]
    if len(args) != 2:
        sys.exit(__doc__)
    out, code = args
    with open(TINY, "rb") as f:
        data = f.read()
    if raw:
        scope = {"b": data}
        exec(code, scope)
        result = scope["b"]
    else:
        scope = {"t": json.loads(data)}
        exec(code, scope)
        text = json.dumps(scope["t"], ensure_ascii=False, indent=2) + "\n"
        result = text.encode("utf-8", "surrogateescape")
    with open(out, "wb") as f:
        f.write(result)


if __name__ == "__main__":
    main()
