"""The one cube (norm_viz/cube/): the lighting rule sent to the browser is the tile `table.lit_box` lights, for every
norm, shape, group count and cell; the JavaScript (cube.js) and the server's drawing (static.py) light the same
cells and draw the same SVG; the static export's lit cells are the rule's; the payload checks what it is given."""

from __future__ import annotations

import io
import json
import re
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
from norm_viz.cube import static
from norm_viz.cube.data import cube_command, cube_data
from norm_viz.cube.rule import block, custom_block, rule, rules, tile

CUBE_JS = Path(__file__).resolve().parent.parent / "norm_viz" / "cube" / "cube.js"
needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run cube.js outside a browser")


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
def test_the_rule_sent_to_the_browser_lights_the_box_lit_box_names(case):
    key, shape, groups, cell = case
    sent = json.loads(json.dumps(rule(key, shape, groups)))  # what the browser receives
    assert tile(tuple(sent["block"]), cell) == lit_box(key, shape, cell, groups)
    assert static.lit_box(sent, cell) == [list(r) for r in lit_box(key, shape, cell, groups)]


def test_every_norm_of_the_table_lights_its_box_everywhere():
    """Exhaustively on small shapes: for every norm the groups are the tiles of one block."""
    for key in NORMS:
        for shape in [(1, 1, 1), (2, 3, 4), (3, 2, 6)]:
            for groups in valid_group_counts(shape[2]):
                blk = block(key, shape, groups)
                for cell in torch.cartesian_prod(*(torch.arange(n) for n in shape)).tolist():
                    assert tile(blk, tuple(cell)) == lit_box(key, shape, tuple(cell), groups), (key, shape, cell)


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
    (b0, b1), (s0, s1), (f0, f1) = tile(block(key, (b, s, f), r.groups), cell)
    inside = torch.zeros(b, s, f, dtype=torch.bool)
    inside[b0:b1, s0:s1, f0:f1] = True
    assert torch.equal(r.group_id == r.group_id[cell], inside)


def test_custom_axes_light_the_groups_of_their_own_normalization():
    from norm_viz.beyond.custom_axes import custom_normalize

    x = torch.randn(2, 3, 8, generator=torch.Generator().manual_seed(0))
    for axes in [(), ("batch",), ("sequence", "feature"), ("batch", "sequence", "feature"), ("feature",)]:
        for groups in (1, 2, 4):
            r = custom_normalize(x, axes, groups=groups)
            blk = custom_block(axes, (2, 3, 8), groups)
            for cell in [(0, 0, 0), (1, 2, 7), (1, 1, 3)]:
                (b0, b1), (s0, s1), (f0, f1) = tile(blk, cell)
                inside = torch.zeros(2, 3, 8, dtype=torch.bool)
                inside[b0:b1, s0:s1, f0:f1] = True
                assert torch.equal(r.group_id == r.group_id[cell], inside), (axes, groups, cell)


def test_rules_come_from_every_row_of_the_table_in_order():
    got = rules((4, 6, 8), groups=2)
    assert list(got) == list(NORMS)
    assert got["layernorm"]["block"] == [1, 1, 8]
    assert got["batchnorm"]["block"] == [4, 6, 1]
    assert got["groupnorm"]["block"] == [1, 6, 4]
    assert not got["dyt"]["statistic"]


def test_cube_data_and_command_check_what_they_are_given():
    data = cube_data((2, 3, 4), groups=2, lengths=(3, 1))
    assert data["shape"] == [2, 3, 4] and data["lengths"] == [3, 1] and data["rules"] == rules((2, 3, 4), 2)
    assert "cell" not in json.dumps(data), "the cube's data does not change with the chosen cell"
    assert cube_command((2, 3, 4), "groupnorm", (1, 2, 3), 5, data["rules"], lit=False) == {
        "id": "cube",
        "rev": 5,
        "norm": "groupnorm",
        "cell": [1, 2, 3],
        "lit": False,
    }
    with pytest.raises(ValueError, match="outside the tensor"):
        cube_command((2, 3, 4), "layernorm", (2, 0, 0), 0, NORMS)
    with pytest.raises(ValueError, match="not among the cube's norms"):
        cube_command((2, 3, 4), "batchnorm", (0, 0, 0), 0, ["layernorm"])
    with pytest.raises(ValueError, match="one length per sequence"):
        cube_data((2, 3, 4), lengths=(3,))
    with pytest.raises(ValueError, match="does not divide"):
        cube_data((2, 3, 4), groups=3)
    with pytest.raises(ValueError, match="outside the tensor"):
        cube_data((2, 3, 4), marks=[(0, 3, 0)])
    with pytest.raises(ValueError, match="mode"):
        cube_data((2, 3, 4), mode="drag")


def _grid() -> list[tuple[str, tuple[int, int, int], int, tuple[int, int, int]]]:
    out = []
    for key in NORMS:
        for shape in [(1, 1, 1), (2, 3, 4), (4, 6, 8), (3, 5, 12), (16, 32, 64)]:
            for groups in valid_group_counts(shape[2]):
                for cell in {(0, 0, 0), tuple(n - 1 for n in shape), tuple(n // 2 for n in shape)}:
                    out.append((key, shape, groups, cell))
    return out


def _node(tmp_path: Path, body: str, payload: object) -> object:
    (tmp_path / "cube.mjs").write_text(CUBE_JS.read_text())
    runner = tmp_path / "run.mjs"
    runner.write_text(
        "import * as cube from './cube.mjs';\nimport { readFileSync } from 'node:fs';\n"
        "const input = JSON.parse(readFileSync(0, 'utf8'));\n" + body
    )
    out = subprocess.run(
        ["node", str(runner)], input=json.dumps(payload), capture_output=True, text=True, check=True, timeout=60
    )
    return json.loads(out.stdout)


@needs_node
def test_the_javascript_lights_the_box_lit_box_names(tmp_path):
    """cube.js's own litBox and realCells, run by node on the rules, over every norm and many shapes and cells."""
    grid = _grid()
    lengths = [2, 0, 3]  # for the (3, 5, 12) shape: padding after 2, everything, after 3 tokens
    payload = {"rules": [rule(k, shape, g) for k, shape, g, _ in grid], "cells": [c for *_, c in grid]}
    got = _node(
        tmp_path,
        f"const boxes = input.rules.map((r, i) => cube.litBox(r, input.cells[i]));\n"
        f"const real = boxes.map((b) => cube.realCells(b, {lengths}));\n"
        "process.stdout.write(JSON.stringify({ boxes, real }));\n",
        payload,
    )
    for (key, shape, groups, cell), box, real in zip(grid, got["boxes"], got["real"], strict=True):  # type: ignore[index]
        want = lit_box(key, shape, cell, groups)
        assert [tuple(r) for r in box] == list(want), (key, shape, groups, cell)
        if shape == (3, 5, 12):
            (b0, b1), (s0, s1), (f0, f1) = want
            mask = torch.arange(5)[None, :] < torch.tensor(lengths)[:, None]
            assert real == int(mask[b0:b1, s0:s1].sum()) * (f1 - f0)


_NUM = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?")


def _same_drawing(a: str, b: str) -> None:
    """Two SVGs are the same drawing: the same markup, and every number equal within a rounding step (0.1 px)."""
    assert _NUM.sub("#", a) == _NUM.sub("#", b)
    na, nb = [float(v) for v in _NUM.findall(a)], [float(v) for v in _NUM.findall(b)]
    assert len(na) == len(nb)
    worst = max((abs(x - y) for x, y in zip(na, nb, strict=True)), default=0.0)
    assert worst <= 0.10001, worst


@needs_node
def test_the_server_draws_the_same_cube_as_the_browser(tmp_path):
    """static.draw_cube and draw_mini against cube.js's drawCube and drawMini, on the same data: same SVG."""
    cases = []
    for shape, lengths in [((2, 3, 4), ()), ((4, 6, 8), (6, 3, 0, 1)), ((1, 7, 2), ()), ((32, 128, 64), ())]:
        for key in ("layernorm", "batchnorm", "groupnorm", "masked_batchnorm", "dyt"):
            for view in static.VIEWS:  # every view the browser's buttons offer (test below: the same list)
                marks = [[0, 0, 0], [shape[0] - 1, shape[1] - 1, 0]] if view == "left" else []
                data = cube_data(shape, groups=2, lengths=lengths, marks=marks, lit=view != "above")
                cell = [n // 2 for n in shape]
                cases.append((data, key, cell, view))
    payload = [
        {"data": d, "st": {"norm": k, "cell": c, "view": v, "marks": d["marks"]}, "w": 640 + 7 * i, "h": 430}
        for i, (d, k, c, v) in enumerate(cases)
    ]
    got = _node(
        tmp_path,
        "process.stdout.write(JSON.stringify(input.map(({ data, st, w, h }) => ({\n"
        "  cube: cube.drawCube(st, data, w, h).svg, mini: cube.drawMini(data, st.norm, st.cell) }))));\n",
        payload,
    )
    for p, g in zip(payload, got, strict=True):  # type: ignore[arg-type]
        d, s = p["data"], p["st"]
        svg, _ = static.draw_cube(d, s["norm"], s["cell"], p["w"], p["h"], s["view"])
        _same_drawing(svg, g["cube"])
        _same_drawing(static.draw_mini(d, s["norm"], s["cell"]), g["mini"])


def test_the_server_knows_every_view_the_browser_offers_with_the_same_slant():
    js = dict(
        (m.group(1), (float(m.group(2)), float(m.group(3))))
        for m in re.finditer(
            r'(\w+): \{ icon: "[^"]*", title: "[^"]*", dx: ([-\d.]+), dy: ([-\d.]+) \}', CUBE_JS.read_text()
        )
    )
    assert js == static.VIEWS and len(js) >= 3


def test_the_exported_cube_is_drawn_from_the_view_asked_for():
    shape, cell = (4, 6, 8), (1, 2, 3)
    svgs = {v: static.cube_svg(shape, "layernorm", cell, view=v) for v in static.VIEWS}
    assert len(set(svgs.values())) == len(static.VIEWS), "each view is another drawing"
    for v, svg in svgs.items():  # the document holds exactly the drawing of that view
        body, _ = static.draw_cube(cube_data(shape), "layernorm", cell, 800, 560, v)
        assert body in svg
    assert static.cube_svg(shape, "layernorm", cell) == svgs["right"]  # the browser's first view
    with pytest.raises(ValueError, match="right, left, above"):
        static.cube_svg(shape, "layernorm", cell, view="front")


def _lit_polygons(svg: str) -> list[list[tuple[float, float]]]:
    return [
        [tuple(float(v) for v in p.split(",")) for p in m.group(1).split()]  # type: ignore[misc]
        for m in re.finditer(r'<polygon class="lit" points="([^"]+)"', svg)
    ]


@pytest.mark.parametrize("key", list(NORMS))
def test_the_static_export_lights_the_rules_cells(key):
    """The exported SVG's lit block covers exactly the corners of lit_box's box (under the same geometry)."""
    shape, cell, groups = (3, 4, 6), (1, 2, 5), 3
    svg = static.cube_svg(shape, key, cell, groups=groups, width=800, height=560)
    lit = _lit_polygons(svg)
    if not NORMS[key].has_statistic:
        assert lit == []
        return
    (b0, b1), (s0, s1), (f0, f1) = lit_box(key, shape, cell, groups)
    G = static.geometry(shape, "right", 800, 560)
    corners = {
        (round(x, 1), round(y, 1)) for x, y in (G.P(s, f, b) for s in (s0, s1) for f in (f0, f1) for b in (b0, b1))
    }
    drawn = {(round(x, 1), round(y, 1)) for poly in lit for x, y in poly}
    assert len(lit) == 3  # front, top and side of one block
    assert {min(drawn), max(drawn)} <= {(round(x, 1), round(y, 1)) for x, y in corners} | drawn
    assert all(any(abs(x - cx) <= 0.06 and abs(y - cy) <= 0.06 for cx, cy in corners) for x, y in drawn)
    assert len({(round(x), round(y)) for x, y in drawn}) == 7  # the seven visible corners of the box


def test_the_png_is_the_svg_rasterised():
    """The PNG has the SVG's size (times the scale) and shows the lit block's colour where the SVG puts it."""
    from PIL import Image

    shape, cell = (2, 3, 4), (0, 1, 2)
    svg = static.cube_svg(shape, "layernorm", cell, width=600, height=420)
    img = Image.open(io.BytesIO(static.svg_to_png(svg, scale=2.0))).convert("RGB")
    assert img.size == (1200, 840)
    G = static.geometry(shape, "right", 600, 420)
    x, y = G.P(1.5, 0.5, 0)  # the middle of the front face of cell (0, 1, 0): lit, not chosen
    r, g, b = img.getpixel((round(2 * x), round(2 * y)))
    assert (r, g, b) == pytest.approx((0xF5, 0xC2, 0x6B), abs=6)
    x, y = G.P(1.5, 2.5, 0)  # the chosen cell (0, 1, 2) itself: dark orange
    assert img.getpixel((round(2 * x), round(2 * y))) == pytest.approx((0xF0, 0x8A, 0x4B), abs=6)
    assert img.getpixel((3, 3)) == (255, 255, 255)  # outside the cube: the white page
    with pytest.raises(ValueError, match="out of bounds"):
        static.cube_svg(shape, "layernorm", cell, width=5000)
