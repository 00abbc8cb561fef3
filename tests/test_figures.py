"""Figures tested by their structure: traces, lit cells = group size, axis titles, clickable cells."""

from __future__ import annotations

import re

import numpy as np
import pytest

from norm_viz import NORMS, make_tensor, normalize
from norm_viz.core import theme
from norm_viz.core.table import lit_box
from norm_viz.cube import static
from norm_viz.cube.rule import block, tile
from norm_viz.explore import figures


@pytest.fixture(autouse=True)
def validate_figures(monkeypatch):
    """Have plotly validate every property of every figure built in these tests."""
    monkeypatch.setattr(theme, "VALIDATE", True)


def trace(fig, name_start):
    return next(t for t in fig.data if (t.name or "").startswith(name_start))


@pytest.mark.parametrize(
    "key", ["batchnorm", "layernorm", "layernorm_sample", "instancenorm", "groupnorm", "groupnorm_token", "rmsnorm"]
)
def test_cube_lights_exactly_the_group(key):
    """The shared cube's rule lights the cells normalize() puts in the cell's group; its drawing names the axes."""
    r = normalize(make_tensor(3, 4, 8, seed=0), key, groups=2)
    cell = (1, 2, 5)
    (b0, b1), (s0, s1), (f0, f1) = tile(block(key, r.shape, r.groups), cell)
    gid = r.group_id.numpy()
    inside = np.zeros(gid.shape, dtype=bool)
    inside[b0:b1, s0:s1, f0:f1] = True
    assert ((gid == gid[cell]) == inside).all() and inside.sum() == r.group_size
    svg = static.cube_svg(r.shape, key, cell, groups=r.groups)
    for name in ("feature (f) →", "sequence (s) →", "batch (b) →"):
        assert name in svg


def test_cube_marks_padding_and_keeps_large_tensors_small():
    big = static.cube_svg((16, 32, 64), "layernorm", (0, 0, 0))
    assert len(big) < 20_000  # grid lines thinned out, one block: no per-cell shapes
    svg = static.cube_svg((2, 4, 3), "masked_batchnorm", (0, 0, 0), lengths=(4, 2))
    assert svg.count('fill="#CC79A7" fill-opacity="0.55"') == 1  # the floor under sequence 1's two pad tokens
    assert svg.count('class="pad"') == 3  # the padded part of the lit block, solid pink (front, top, side)


def test_overview_has_one_panel_per_norm_with_its_box():
    shape, cell = (4, 6, 8), (1, 2, 3)
    svg = static.multiples_svg(shape, cell, groups=2, highlight="layernorm")
    labels = re.findall(r'<text class="tick"[^>]*>([^<]+)</text>', svg)
    assert labels == [n.label for n in NORMS.values()]
    assert (
        '<text class="tick" x="225.0" y="118" text-anchor="middle" style="font-weight:700">LayerNorm</text>' in svg
        or ('style="font-weight:700">LayerNorm</text>' in svg)
    )
    for key in NORMS:
        (b0, b1), (s0, s1), (f0, f1) = lit_box(key, shape, cell, 2)
        assert tile(block(key, shape, 2), cell) == ((b0, b1), (s0, s1), (f0, f1))


@pytest.mark.parametrize(
    ("key", "kind", "n"),
    [
        ("batchnorm", "bar", 8),
        ("layernorm", "heatmap", None),
        ("rmsnorm", "heatmap", None),
        ("layernorm_sample", "bar", 3),
    ],
)
def test_stats_figure_shape(key, kind, n):
    r = normalize(make_tensor(3, 4, 8), key)
    fig = figures.stats_figure(r, (2, 1, 5))
    main = [t for t in fig.data if t.type == kind]
    assert len(main) == (2 if NORMS[key].centered else 1)
    if kind == "bar":
        assert len(main[0].x) == n == r.n_groups
        colors = list(main[0].marker.color)
        assert colors.count(figures.SELECTED) == 1 and colors.index(figures.SELECTED) == int(r.group_id[2, 1, 5])
    else:
        assert np.asarray(main[0].z).shape == r.stats_shape
    assert fig.layout.title.text.startswith(f"{r.n_groups} statistics")


def test_heatmaps_make_every_cell_clickable():
    r = normalize(make_tensor(2, 5, 7), "instancenorm")
    fig = figures.heatmaps_figure(r, 1, (1, 3, 4))
    clickers = [t for t in fig.data if t.name == "click to choose"]
    assert len(clickers) == 2
    cd = np.asarray(clickers[0].customdata)
    assert cd.shape == (35, 4) and set(cd[:, 0]) == {1}
    assert {tuple(row) for row in cd[:, 1:3]} == {(s, f) for s in range(5) for f in range(7)}
    np.testing.assert_allclose(cd[:, 3], r.input[1].numpy().ravel(), rtol=1e-6)  # the hover shows the value
    lit = next(t for t in fig.data if t.name == "shares the statistic")
    assert len(lit.x) == 5  # instance norm: the whole sequence of one feature


def test_histogram_has_input_and_output():
    r = normalize(make_tensor(2, 3, 4), "layernorm")
    fig = figures.histogram_figure(r)
    assert [t.name for t in fig.data] == ["input", "output"]
    assert len(fig.data[0].x) == len(fig.data[1].x) == 24


def test_presentation_scaling_keeps_colours():
    r = normalize(make_tensor(2, 3, 4), "layernorm")
    fig = figures.histogram_figure(r)
    big = theme.scaled(fig, 1.5)
    assert [t.marker.color for t in big.data] == [t.marker.color for t in fig.data]
    assert big.layout.font.size > fig.layout.font.size


def test_heatmaps_without_a_cell_do_not_change_with_the_cell_and_print_small_values():
    r = normalize(make_tensor(2, 5, 7), "layernorm")
    fig = figures.heatmaps_figure(r, 1)
    assert fig.to_json() == figures.heatmaps_figure(r, 1, None).to_json()
    assert not [t for t in fig.data if t.name in ("shares the statistic", "chosen cell")]
    maps = [t for t in fig.data if t.type == "heatmap"]
    assert [t.texttemplate for t in maps] == ["%{z:.2f}", "%{z:.2f}"]  # 5 × 7 ≤ 8 × 8: the values are printed
    np.testing.assert_allclose(np.asarray(maps[1].z), r.output[1].numpy(), rtol=1e-6)
    big = normalize(make_tensor(1, 9, 4), "layernorm")
    assert all(t.texttemplate is None for t in figures.heatmaps_figure(big, 0).data if t.type == "heatmap")


def test_stats_figure_without_a_cell_marks_no_group():
    r = normalize(make_tensor(3, 4, 8), "batchnorm")
    bars = [t for t in figures.stats_figure(r).data if t.type == "bar"]
    assert figures.SELECTED not in list(bars[0].marker.color)
    grid = normalize(make_tensor(3, 4, 8), "layernorm")
    assert [t.type for t in figures.stats_figure(grid).data] == ["heatmap", "heatmap"]
