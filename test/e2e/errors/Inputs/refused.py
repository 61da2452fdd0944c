#!/usr/bin/env python3
"""Runs a command that must be refused, and checks how.

    refused.py CMD [ARGS...]

Passes (exit 0) when CMD exits with code 1 (not a signal, not a sanitizer's
86, not another code) and changed nothing it was given: every argument that
names an existing file or folder (the model folder, its files, an existing
output; also VALUE in --flag=VALUE) is hashed before and after the run, and
any difference, removal or new file inside a given folder fails the check.
CMD's standard output and error are printed for FileCheck either way.
Standard library only.
"""

import hashlib
import os
import subprocess
import sys


def paths_in(args):
    for arg in args:
        for candidate in (arg, arg.split("=", 1)[-1]):
            if candidate and os.path.exists(candidate):
                yield candidate


def snapshot(paths):
    """{path: sha256} of every file under `paths` (links followed)."""
    digests = {}
    for path in paths:
        if os.path.isdir(path):
            for folder, _, files in os.walk(path, followlinks=True):
                for name in files:
                    file = os.path.join(folder, name)
                    digests[file] = digest(file)
        else:
            digests[path] = digest(path)
    return digests


def digest(path):
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError as e:  # a device, a dangling link: compare the error
        return f"<{e.strerror}>"


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    command = argv[1:]
    given = sorted(set(paths_in(command[1:])))
    # Devices (/dev/full) are not inputs to compare.
    given = [p for p in given if not p.startswith("/dev/")]
    before = snapshot(given)
    run = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    sys.stdout.buffer.write(run.stdout)
    sys.stdout.flush()
    problems = []
    if run.returncode != 1:
        problems.append(f"expected exit code 1, found {run.returncode}")
    after = snapshot(given)
    for path in sorted(set(before) | set(after)):
        if path not in after:
            problems.append(f"the run removed {path}")
        elif path not in before:
            problems.append(f"the run created {path}")
        elif before[path] != after[path]:
            problems.append(f"the run changed {path}")
    for problem in problems:
        print(f"refused.py: {problem}", file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main(sys.argv)
