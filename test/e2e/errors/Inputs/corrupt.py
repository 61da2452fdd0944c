#!/usr/bin/env python3
"""Copies a model fixture folder and applies one corruption to the copy.

    corrupt.py SRC DST ACTION [ARGS...]

DST is removed first, then SRC is copied to it and ACTION is applied to the
copy (file names are relative to DST). Standard library only: lit's
interpreter may lack numpy.

Safetensors files (8-byte little-endian header length N, N bytes of JSON
header, data section):
  truncate FILE                 cut FILE in the middle of its data section
  header-length FILE N|eof      overwrite the header length with N, or with
                                the file size ("eof": runs past the end)
  header-text FILE OLD NEW      replace the first OLD in the header with NEW
                                (same length, so the layout is unchanged)
  overlap FILE TENSOR           move TENSOR's data_offsets 4 bytes back, into
                                the tensor before it
  retype FILE TENSOR DTYPE      rewrite TENSOR as DTYPE (zeros), same shape
  reshape FILE TENSOR D0,D1,..  rewrite TENSOR with another shape (zeros; ""
                                for a scalar)
  drop FILE TENSOR              remove TENSOR
  add FILE TENSOR DTYPE D0,D1,.. append a new TENSOR (zeros)
  nan FILE TENSOR [INDEX]       set element INDEX (default 0) of TENSOR (F32,
                                F16 or BF16) to NaN
JSON files:
  set-json FILE KEY[/KEY..] RAW set a field to the raw JSON text RAW (kept
                                verbatim: "1e300", "9223372036854775808")
  delete-json FILE KEY          remove a top-level field
Files:
  write FILE TEXT               replace FILE with TEXT (TEXT "@nest:N": N '[')
  remove FILE                   delete FILE
  none                          copy only
"""

import json
import os
import shutil
import struct
import sys

DTYPE_SIZES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "F8_E8M0": 1,
    "I16": 2, "U16": 2, "F16": 2, "BF16": 2, "I32": 4, "U32": 4, "F32": 4,
    "C64": 8, "F64": 8, "I64": 8, "U64": 8,
}


def read_raw(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    return data, n


def load(path):
    """Returns (metadata or None, [[name, dtype, shape, bytes]]) in file order."""
    data, n = read_raw(path)
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    metadata = header.pop("__metadata__", None)
    tensors = []
    for name, t in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
        begin, end = t["data_offsets"]
        tensors.append([name, t["dtype"], t["shape"], body[begin:end]])
    return metadata, tensors


def save(path, metadata, tensors, offsets=None):
    """Writes tensors back to back; `offsets` overrides {name: [begin, end]}."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    cursor = 0
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [cursor, cursor + len(raw)]}
        cursor += len(raw)
    for name, range_ in (offsets or {}).items():
        header[name]["data_offsets"] = range_
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for t in tensors:
            f.write(t[3])


def find(tensors, name):
    for t in tensors:
        if t[0] == name:
            return t
    sys.exit(f"corrupt.py: no tensor {name!r}")


def zeros(dtype, shape):
    count = 1
    for d in shape:
        count *= d
    return bytes(count * DTYPE_SIZES[dtype])


def set_json(path, keys, raw):
    with open(path) as f:
        obj = json.load(f)
    sentinel = "@@corrupt.py@@"
    target = obj
    for key in keys[:-1]:
        target = target[key]
    target[keys[-1]] = sentinel
    text = json.dumps(obj, indent=2).replace(json.dumps(sentinel), raw)
    with open(path, "w") as f:
        f.write(text + "\n")


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__)
    src, dst, action, args = argv[1], argv[2], argv[3], argv[4:]
    if os.path.lexists(dst):
        if os.path.isdir(dst) and not os.path.islink(dst):
            shutil.rmtree(dst)
        else:
            os.remove(dst)
    shutil.copytree(src, dst)
    path = os.path.join(dst, args[0]) if args else None

    if action == "none":
        pass
    elif action == "truncate":
        data, n = read_raw(path)
        body = len(data) - 8 - n
        with open(path, "wb") as f:
            f.write(data[:8 + n + body // 2])
    elif action == "header-length":
        data, _ = read_raw(path)
        n = len(data) if args[1] == "eof" else int(args[1])
        with open(path, "wb") as f:
            f.write(struct.pack("<Q", n) + data[8:])
    elif action == "header-text":
        data, n = read_raw(path)
        old, new = args[1].encode(), args[2].encode()
        assert len(old) == len(new), "header-text keeps the length"
        header = data[8:8 + n]
        assert old in header, f"{args[1]!r} is not in the header"
        with open(path, "wb") as f:
            f.write(data[:8] + header.replace(old, new, 1) + data[8 + n:])
    elif action == "overlap":
        metadata, tensors = load(path)
        cursor, offsets = 0, {}
        for name, _, _, raw in tensors:
            if name == args[1]:
                assert cursor >= 4, "overlap needs a tensor after the first"
                offsets[name] = [cursor - 4, cursor + len(raw) - 4]
            cursor += len(raw)
        save(path, metadata, tensors, offsets)
    elif action in ("retype", "reshape"):
        metadata, tensors = load(path)
        t = find(tensors, args[1])
        if action == "retype":
            t[1] = args[2]
        else:
            t[2] = [int(d) for d in args[2].split(",") if d]  # "": scalar
        t[3] = zeros(t[1], t[2])
        save(path, metadata, tensors)
    elif action == "drop":
        metadata, tensors = load(path)
        tensors.remove(find(tensors, args[1]))
        save(path, metadata, tensors)
    elif action == "add":
        metadata, tensors = load(path)
        shape = [int(d) for d in args[3].split(",") if d]
        tensors.append([args[1], args[2], shape, zeros(args[2], shape)])
        save(path, metadata, tensors)
    elif action == "nan":
        metadata, tensors = load(path)
        t = find(tensors, args[1])
        nan = {"F32": b"\x00\x00\xc0\x7f", "F16": b"\x00\x7e",
               "BF16": b"\xc0\x7f"}[t[1]]
        at = (int(args[2]) if len(args) > 2 else 0) * len(nan)
        t[3] = t[3][:at] + nan + t[3][at + len(nan):]
        save(path, metadata, tensors)
    elif action == "set-json":
        set_json(path, args[1].split("/"), args[2])
    elif action == "delete-json":
        with open(path) as f:
            obj = json.load(f)
        del obj[args[1]]
        with open(path, "w") as f:
            json.dump(obj, f, indent=2)
    elif action == "write":
        text = args[1]
        if text.startswith("@nest:"):
            text = "[" * int(text[len("@nest:"):])
        with open(path, "w") as f:
            f.write(text)
    elif action == "remove":
        os.remove(path)
    else:
        sys.exit(f"corrupt.py: unknown action {action!r}\n{__doc__}")


if __name__ == "__main__":
    main(sys.argv)
