"""The browser cube's data: the sharing rule sent as JSON (norm_viz.explore.cube) and the JavaScript that reads it
(norm_viz/ui/cube.js) light exactly the cells `table.lit_box` names, and that `normalize()` puts in one group."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from norm_viz.core.compute import normalize
from norm_viz.core.config import NormConfig
from norm_viz.core.table import NORMS, lit_box, valid_group_counts
from norm_viz.explore.cube import box_from_rule, cube_command, cube_data, norm_rule, norm_rules

CUBE_JS = Path(__file__).resolve().parent.parent / "norm_viz" / "ui" / "cube.js"


@st.composite
def cases(draw):
    """A norm, a shape, a valid group count for it and a cell inside it."""
    key = draw(st.sampled_from(list(NORMS)))
    b, s, f = draw(st.integers(1, 16)), draw(st.integers(1, 32)), draw(st.integers(1, 64))
    groups = draw(st.sampled_from(valid_group_counts(f)))
    cell = (draw(st.integers(0, b - 1)), draw(st.integers(0, s - 1)), draw(st.integers(0, f - 1)))
    return key, (b, s, f), groups, cell


@settings(max_examples=400, deadline=None)
@given(cases())
def test_the_json_rule_lights_the_box_lit_box_names(case):
    key, shape, groups, cell = case
    rule = json.loads(json.dumps(norm_rule(key)))  # what the browser receives
    assert box_from_rule(rule, shape, cell, groups) == lit_box(key, shape, cell, groups)


@settings(max_examples=60, deadline=None)
@given(cases())
def test_the_lit_box_is_the_group_normalize_computes(case):
    """The box is the set of cells whose group id equals the chosen cell's (the statistic they share)."""
    key, (b, s, f), groups, cell = case
    if not NORMS[key].reduce:
        groups = 1
    x = torch.randn(b, s, f, generator=torch.Generator().manual_seed(0))
    params = tuple((p.name, groups if p.name == "groups" else p.default) for p in NORMS[key].params)
    try:
        r = normalize(x, NormConfig(key, params=params))
    except ValueError:  # e.g. BatchNorm of one value: torch refuses it, so does normalize
        return
    (b0, b1), (s0, s1), (f0, f1) = box_from_rule(norm_rule(key), (b, s, f), cell, r.groups)
    inside = torch.zeros(b, s, f, dtype=torch.bool)
    inside[b0:b1, s0:s1, f0:f1] = True
    assert torch.equal(r.group_id == r.group_id[cell], inside)


def test_rules_come_from_every_row_of_the_table_in_order():
    rules = norm_rules()
    assert list(rules) == list(NORMS)
    assert rules["layernorm"]["feature"] == "all" and not rules["layernorm"]["batch"]
    assert rules["batchnorm"]["batch"] and rules["batchnorm"]["sequence"] and rules["batchnorm"]["feature"] == "one"
    assert rules["groupnorm"]["feature"] == "group" and rules["groupnorm"]["groups"]
    assert not rules["dyt"]["statistic"]


def test_cube_data_and_command_check_what_they_are_given():
    data = cube_data((2, 3, 4), groups=2, lengths=(3, 1))
    assert data["shape"] == [2, 3, 4] and data["lengths"] == [3, 1] and data["rules"] == norm_rules()
    assert "cell" not in json.dumps(data), "the cube's data does not change with the chosen cell"
    assert cube_command((2, 3, 4), "groupnorm", (1, 2, 3), rev=5) == {
        "id": "cube",
        "rev": 5,
        "norm": "groupnorm",
        "cell": [1, 2, 3],
    }
    with pytest.raises(ValueError, match="outside the tensor"):
        cube_command((2, 3, 4), "layernorm", (2, 0, 0), 0)
    with pytest.raises(ValueError, match="not among the cube's norms"):
        cube_command((2, 3, 4), "batchnorm", (0, 0, 0), 0, keys=["layernorm"])
    with pytest.raises(ValueError, match="one length per sequence"):
        cube_data((2, 3, 4), lengths=(3,))
    with pytest.raises(ValueError, match="does not divide"):
        cube_data((2, 3, 4), groups=3)


def _grid() -> list[tuple[str, tuple[int, int, int], int, tuple[int, int, int]]]:
    out = []
    for key in NORMS:
        for shape in [(1, 1, 1), (2, 3, 4), (4, 6, 8), (3, 5, 12), (16, 32, 64)]:
            for groups in valid_group_counts(shape[2]):
                for cell in {(0, 0, 0), tuple(n - 1 for n in shape), tuple(n // 2 for n in shape)}:
                    out.append((key, shape, groups, cell))
    return out


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run cube.js outside a browser")
def test_the_javascript_lights_the_box_lit_box_names(tmp_path):
    """cube.js's own litBox and realCells, run by node on the JSON rules, over every norm and many shapes and cells."""
    module = tmp_path / "cube.mjs"
    module.write_text(CUBE_JS.read_text())
    cases = _grid()
    lengths = [2, 0, 3]  # for the (3, 5, 12) shape: padding after 2, everything, after 3 tokens
    runner = tmp_path / "run.mjs"
    runner.write_text(
        "import { litBox, realCells } from './cube.mjs';\n"
        "import { readFileSync } from 'node:fs';\n"
        "const { rules, cases, lengths } = JSON.parse(readFileSync(0, 'utf8'));\n"
        "const boxes = cases.map(([k, shape, g, cell]) => litBox(rules[k], shape, cell, g));\n"
        "const real = boxes.map((b) => realCells(b, lengths));\n"
        "process.stdout.write(JSON.stringify({ boxes, real }));\n"
    )
    payload = json.dumps({"rules": norm_rules(), "cases": cases, "lengths": lengths})
    out = subprocess.run(["node", str(runner)], input=payload, capture_output=True, text=True, check=True, timeout=60)
    got = json.loads(out.stdout)
    for (key, shape, groups, cell), box, real in zip(cases, got["boxes"], got["real"], strict=True):
        want = lit_box(key, shape, cell, groups)
        assert [tuple(r) for r in box] == list(want), (key, shape, groups, cell)
        if shape == (3, 5, 12):
            (b0, b1), (s0, s1), (f0, f1) = want
            mask = torch.arange(5)[None, :] < torch.tensor(lengths)[:, None]
            assert real == int(mask[b0:b1, s0:s1].sum()) * (f1 - f0)
