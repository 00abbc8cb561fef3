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


def test_the_first_screen_says_what_it_is_how_to_run_and_test_it_and_what_the_suite_needs():
    first = README[: README.index("## What it shows")]
    assert "python -m pytest" in first and "streamlit run app.py" in first
    assert 'python -m pytest -m "not browser"' in first, "the quick subset's command"
    assert "15 minutes" in first, "how long the full suite takes"
    for need in ("chromium", "nginx"):  # what the full suite needs, and how to install it; CI installs the same
        assert "apt-get install -y chromium nginx" in first and need in (ROOT / ".ci" / "run").read_text()
    assert "docs/explorer.png" in first and (ROOT / "docs" / "explorer.png").exists()
    # internals are below the first screen
    for internal in ("norm_viz.tools.loadtest", "norm_viz.tools.bench", "deploy/"):
        assert internal not in first, internal
