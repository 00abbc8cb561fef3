"""Real English text that is already on the machine: sentences from the Python standard library's docstrings.

No download and nothing to ship: every CPython install carries its standard library's source, whose docstrings are
plain English written by people (licence: the Python Software Foundation License, like the interpreter itself).
The real-activations source and the training lab read their sentences from here. The list depends on the Python
version (3.11 here and in CI) and is deterministic for one version: modules in sorted order, docstrings in source order.
"""

from __future__ import annotations

import ast
import functools
import json
import random
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

SOURCE = (
    "sentences from the docstrings of the Python standard library on this machine "
    f"({Path(sysconfig.get_paths()['stdlib'])}); licence: Python Software Foundation License"
)

_MIN_CHARS, _MAX_CHARS = 30, 160
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def _is_prose(s: str) -> bool:
    """A sentence of words: starts with a capital, ends with a full stop, and is mostly letters and spaces."""
    if not (_MIN_CHARS <= len(s) <= _MAX_CHARS and s[0].isupper() and s.endswith(".")):
        return False
    return sum(c.isalpha() or c == " " for c in s) / len(s) > 0.9


@functools.cache
def sentences() -> tuple[str, ...]:
    """Every distinct prose sentence of the standard library's top-level modules' docstrings, in a fixed order.

    Read in a child process (the same `_read_stdlib`; in this process only if that fails): parsing ~200 modules takes
    ~3 CPU-seconds, mostly inside `compile`, which holds the GIL throughout, so in a server every other visitor's rerun
    stalled meanwhile (issue 18: the first placement link of a heavy visitor, whose page shows the training lab's
    verdicts, raised 100 students' p95 to 4.6 s)."""
    try:
        out = subprocess.run(
            [sys.executable, "-I", "-c", _CHILD, __file__], capture_output=True, check=True, timeout=120
        ).stdout
        found = json.loads(out)
        if isinstance(found, list) and found and all(isinstance(s, str) for s in found):
            return tuple(found)
    except (OSError, subprocess.SubprocessError, ValueError):
        pass
    return _read_stdlib()


_CHILD = (
    "import os, sys, json, runpy\n"
    "os.nice(10)\n"
    "sys.stdout.write(json.dumps(runpy.run_path(sys.argv[1])['_read_stdlib']()))\n"
)
"""The child's program: this file run on its own (it imports only the standard library), at a lower priority."""


def _read_stdlib() -> tuple[str, ...]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    seen: dict[str, None] = {}
    for path in sorted(stdlib.glob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            doc = ast.get_docstring(node)
            if not doc:
                continue
            for para in re.split(r"\n\s*\n", doc):
                for s in _SENTENCE_END.split(" ".join(para.split())):
                    if _is_prose(s):
                        seen.setdefault(s, None)
    return tuple(seen)


def sample(n: int, seed: int = 0) -> list[str]:
    """n distinct sentences drawn with a seeded generator (the same n and seed give the same list)."""
    pool = sentences()
    if not 0 < n <= len(pool):
        raise ValueError(f"asked for {n} sentences; between 1 and {len(pool)} are available")
    return random.Random(seed).sample(pool, n)


def text() -> str:
    """All sentences, one per line: a character-level corpus for the training lab."""
    return "\n".join(sentences()) + "\n"
