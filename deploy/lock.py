"""Write deploy/requirements.lock from a folder of wheels: `python deploy/lock.py WHEELS > deploy/requirements.lock`.

Get the wheels first, for the image's platform (Linux x86_64, CPython 3.11), e.g. on such a machine:
`pip download -r requirements.txt -d WHEELS --only-binary=:all:` (torch: its +cpu wheel, from
https://download.pytorch.org/whl/cpu). Each line pins a package to the wheel's version and its sha256.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from packaging.utils import parse_wheel_filename

HEADER = """\
# Every runtime package with its exact version and the sha256 of its wheel (Linux x86_64, CPython 3.11: the image's
# python:3.11-slim). deploy/Dockerfile installs it with pip's --require-hashes and --no-deps, so a changed or
# substituted file fails the build. Regenerate after changing requirements.txt (see deploy/lock.py).
"""


def lock(folder: Path) -> str:
    """The lock file's text for the wheels in `folder`, sorted by name."""
    lines = [HEADER]
    for f in sorted(folder.glob("*.whl"), key=lambda p: p.name.lower()):
        name, version, _, _ = parse_wheel_filename(f.name)
        digest = hashlib.sha256(f.read_bytes()).hexdigest()
        lines.append(f"{name}=={version} \\\n    --hash=sha256:{digest}\n")
    return "".join(lines)


if __name__ == "__main__":
    sys.stdout.write(lock(Path(sys.argv[1])))
