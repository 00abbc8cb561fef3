"""Figures tested by their structure: traces, lit cells = group size, axis titles, clickable cells."""

from __future__ import annotations

import numpy as np
import pytest

from norm_viz import NORMS, make_tensor, normalize
from norm_viz.core import theme
from norm_viz.core.table import lit_box
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
    r = normalize(make_tensor(3, 4, 8, seed=0), key, groups=2)
    cell = (1, 2, 5)
    fig = figures.cube_figure(r, cell)
    lit = trace(fig, "shares the statistic")
    assert len(lit.x) == r.group_size
    gid = r.group_id.numpy()
    assert all(gid[b, s, f] == gid[cell] for b, s, f in zip(lit.z, lit.y, lit.x, strict=True))
    assert len(trace(fig, "other cells").x) == 3 * 4 * 8 - r.group_size
    chosen = trace(fig, "chosen cell")
    assert (chosen.z[0], chosen.y[0], chosen.x[0]) == cell
    assert fig.layout.scene.xaxis.title.text == "feature (f)"
    assert fig.layout.scene.yaxis.title.text == "sequence (s)"
    assert fig.layout.scene.zaxis.title.text == "batch (b)"


def test_cube_degrades_for_large_tensors_and_marks_padding():
    big = normalize(make_tensor(16, 32, 64), "layernorm")
    fig = figures.cube_figure(big, (0, 0, 0))
    assert not any((t.name or "").startswith("other cells") for t in fig.data)
    assert "only the lit group" in fig.layout.title.text
    mask = np.ones((2, 4), dtype=bool)
    mask[1, 2:] = False
    r = normalize(make_tensor(2, 4, 3), "masked_batchnorm", mask=mask)
    pads = trace(figures.cube_figure(r, (0, 0, 0)), "padding")
    assert len(pads.x) == 2 * 3
    assert len(trace(figures.cube_figure(r, (0, 0, 0)), "shares the statistic").x) == int(mask.sum())


def test_overview_has_one_panel_per_norm_with_its_box():
    shape, cell = (4, 6, 8), (1, 2, 3)
    fig = figures.groups_overview_figure(shape, cell, groups=2, highlight="layernorm")
    titles = [a.text for a in fig.layout.annotations if "→" not in a.text]
    assert len(titles) == len(NORMS) and "<b>▶ LayerNorm</b>" in titles
    hover = fig.data[-1].text
    for key, text in zip(NORMS, hover, strict=True):
        (b0, b1), (s0, s1), (f0, f1) = lit_box(key, shape, cell, 2)
        assert text.endswith(f"{(b1 - b0) * (s1 - s0) * (f1 - f0)} cells share one statistic")
    front = fig.data[1]
    assert list(front.x).count(None) == len(NORMS)  # one lit front face per norm


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
    fig = figures.groups_overview_figure(r.shape, (0, 0, 0), highlight="layernorm")
    big = theme.scaled(fig, 1.5)
    lit = [a for a in big.layout.annotations if "LayerNorm</b>" in a.text]
    assert lit and lit[0].font.color == figures.SELECTED and lit[0].font.size > 15


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
