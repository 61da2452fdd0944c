#!/usr/bin/env python3
"""Compares LLMC outputs with the transformers references of test/e2e.

  compare.py logits OUT.npy REF.npy
      Same shape, and max|OUT - REF| <= 1e-4 * max(1, max|REF|). Used for
      logits.npy and hidden.npy alike.
  compare.py logits OUT.npy REF.npy RTOL
      As above with RTOL in place of 1e-4 (the stated bound of a lossy
      path such as an int8 KV cache).
  compare.py stacked OUT.npy REF1.npy REF2.npy ...
      As `logits`, against the REFs concatenated along the first axis
      (several prompts' rows, one prompt's after another's).
  compare.py ids OUT.txt REF.txt
      The comma-separated id lists are identical.

Prints the result; exits 0 on a match, 1 on a mismatch, 2 on bad usage or
unreadable input. Needs no torch; reads .npy files with numpy when the Python
running it has numpy, and otherwise with a small reader of its own (C-order
float and integer arrays), so lit's own Python will do.
"""

import ast
import math
import struct
import sys

RTOL = 1e-4


def fail(msg, code=1):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(code)


def load_npy_pure(path):
    """Returns (shape, flat C-order list of floats) of a .npy file without numpy."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:6] != b"\x93NUMPY":
        raise ValueError("not a .npy file (bad magic)")
    major = data[6]
    if major == 1:
        (hlen,) = struct.unpack_from("<H", data, 8)
        start = 10
    elif major in (2, 3):
        (hlen,) = struct.unpack_from("<I", data, 8)
        start = 12
    else:
        raise ValueError(f"unsupported .npy version {major}")
    header = ast.literal_eval(data[start : start + hlen].decode("latin1"))
    descr, fortran, shape = header["descr"], header["fortran_order"], tuple(header["shape"])
    codes = {"f2": "e", "f4": "f", "f8": "d", "i1": "b", "i2": "h", "i4": "i", "i8": "q",
             "u1": "B", "u2": "H", "u4": "I", "u8": "Q"}
    if not isinstance(descr, str) or descr[1:] not in codes or descr[0] not in "<>|=":
        raise ValueError(f"unsupported dtype {descr!r} (install numpy to read it)")
    if fortran and len(shape) > 1:
        raise ValueError("Fortran-order array (install numpy to read it)")
    count = math.prod(shape)
    order = ">" if descr[0] == ">" else "<"
    values = struct.unpack_from(f"{order}{count}{codes[descr[1:]]}", data, start + hlen)
    return shape, [float(v) for v in values]


def load_array(path):
    try:
        try:
            import numpy as np
        except ImportError:
            return load_npy_pure(path)
        arr = np.load(path, allow_pickle=False)
        return tuple(arr.shape), arr.astype(np.float64).ravel().tolist()
    except Exception as e:  # noqa: BLE001 - any reading error is a usage error here
        fail(f"cannot read {path}: {e}", 2)


def unravel(flat, shape):
    idx = []
    for dim in reversed(shape):
        idx.append(flat % dim)
        flat //= dim
    return tuple(reversed(idx))


def compare_logits(out_path, ref_path, rtol=RTOL, more_refs=()):
    out_shape, out = load_array(out_path)
    ref_shape, ref = load_array(ref_path)
    for path in more_refs:
        shape, values = load_array(path)
        if shape[1:] != ref_shape[1:]:
            fail(f"{path}: rows of shape {shape[1:]}, {ref_path} has {ref_shape[1:]}", 2)
        ref_shape = (ref_shape[0] + shape[0],) + tuple(ref_shape[1:])
        ref = ref + values
        ref_path += " + " + path
    if out_shape != ref_shape:
        fail(f"shape mismatch: expected {ref_shape} (from {ref_path}), found {out_shape} (from {out_path})")
    if not ref:
        print(f"OK: empty arrays of shape {ref_shape}")
        return
    ref_max = max(abs(r) for r in ref)
    tol = rtol * max(1.0, ref_max)
    worst, max_err, n_bad = 0, -1.0, 0
    for i, (o, r) in enumerate(zip(out, ref)):
        err = abs(o - r) if math.isfinite(o) else math.inf
        if err > tol:
            n_bad += 1
        if err > max_err:
            worst, max_err = i, err
    msg = (f"max |out - ref| = {max_err:.6g}, tolerance = {tol:.6g} "
           f"({rtol:g} * max(1, max|ref| = {ref_max:.6g})), shape {ref_shape}")
    if n_bad:
        fail(f"{msg}\n  worst index {unravel(worst, ref_shape)}: found {out[worst]!r}, expected {ref[worst]!r}\n"
             f"  {n_bad} of {len(ref)} elements out of tolerance")
    print(f"OK: {msg}")


def read_ids(path):
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError as e:
        fail(f"cannot read {path}: {e}", 2)
    try:
        return [int(t) for t in text.replace("\n", ",").split(",") if t.strip()]
    except ValueError as e:
        fail(f"{path} is not a comma-separated list of ids: {e}", 2)


def compare_ids(out_path, ref_path):
    out = read_ids(out_path)
    ref = read_ids(ref_path)
    if out != ref:
        first = next((i for i, (a, b) in enumerate(zip(out, ref)) if a != b), min(len(out), len(ref)))
        fail(f"id lists differ (first difference at position {first}; found {len(out)} ids, expected {len(ref)})\n"
             f"  expected ({ref_path}): {','.join(map(str, ref))}\n"
             f"  found    ({out_path}): {','.join(map(str, out))}")
    print(f"OK: {len(ref)} ids match: {','.join(map(str, ref))}")


def main(argv):
    if (argv[1:2] == ["logits"] and len(argv) not in (4, 5)) or \
            (argv[1:2] == ["ids"] and len(argv) != 4) or \
            (argv[1:2] == ["stacked"] and len(argv) < 5) or \
            argv[1:2] not in (["logits"], ["ids"], ["stacked"]):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    if argv[1] == "logits":
        try:
            rtol = float(argv[4]) if len(argv) == 5 else RTOL
        except ValueError:
            fail(f"RTOL: expected a number, found {argv[4]!r}", 2)
        compare_logits(argv[2], argv[3], rtol)
    elif argv[1] == "stacked":
        compare_logits(argv[2], argv[3], RTOL, argv[4:])
    else:
        compare_ids(argv[2], argv[3])


if __name__ == "__main__":
    main(sys.argv)
