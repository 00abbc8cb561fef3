"""README.md stays true: its test command is the one CI runs, its files exist, its example runs."""

from __future__ import annotations

import re
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    blocks = re.findall(r"```bash\n(.*?)\n```", README, re.S)
    test_cmd = next(b for b in blocks if "pytest" in b)
    assert test_cmd in ci.splitlines(), f"{test_cmd!r} is not a line of .ci/run"
    assert any(b.endswith("streamlit run app.py") for b in blocks)


def test_every_file_in_the_map_exists():
    for path in re.findall(r"^\| `([\w./]+)` \|", README, re.M):
        if "/" in path or path.endswith(".py"):
            assert (ROOT / path).exists(), path


def test_the_python_example_runs():
    code = re.search(r"```python\n(.*?)\n```", README, re.S).group(1)
    scope: dict = {}
    exec(code, scope)
    r = scope["r"]
    assert isinstance(r.output, torch.Tensor) and r.key == "groupnorm"
    assert r.n_groups == r.shape[0] * r.groups == 16, "one statistic per (sample, feature group)"
    torch.testing.assert_close(r.output, scope["normalize"](scope["x"], "groupnorm", groups=4).output)


def test_every_norm_of_the_table_is_in_the_readme():
    from norm_viz import NORMS

    for key in NORMS:
        assert f"| `{key}` |" in README, key
