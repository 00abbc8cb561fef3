"""The start page: its D2L numbers are torch.nn's, its four numbers are the checks' own, its links lead somewhere;
and the frame around every page: the next link along PAGES, presentation mode's enlarged figures."""

from __future__ import annotations

import json
import re

import plotly.graph_objects as go
import pytest
import torch
from conftest import app_test, no_exception, page_entries
from hypothesis import given, settings
from hypothesis import strategies as hs

from norm_viz.classroom import start
from norm_viz.core.compute import normalize
from norm_viz.core.data import PRESETS, default_lengths, make_tensor
from norm_viz.core.numbers import fmt_delta
from norm_viz.core.theme import scaled
from norm_viz.questions.causal import causal_leakage
from norm_viz.questions.dependence import batch_dependence
from norm_viz.questions.padding import padding_effect
from norm_viz.questions.train_eval import train_vs_eval


def torch_outputs() -> dict[str, torch.Tensor]:
    """D2L's X through the real torch.nn modules, as rows (examples) × features."""
    x = PRESETS["d2l"].tensor()  # (2, 1, 2): two examples of one token with two features
    rows = x.reshape(2, 2)
    with torch.no_grad():
        return {"layernorm": torch.nn.LayerNorm(2)(rows), "batchnorm": torch.nn.BatchNorm1d(2).train()(rows)}


def check_numbers(x: torch.Tensor) -> dict[str, tuple[float | None, float | None]]:
    """Each property's (BatchNorm, LayerNorm) number, measured here by calling the checks directly."""
    b, s, _ = x.shape
    keys = ("batchnorm", "layernorm")
    dep = batch_dependence(x, 0, 1)
    pad = padding_effect(x, default_lengths(b, s))
    cz = causal_leakage(x, (0, s - 1))
    first = normalize(x.double(), "batchnorm")
    mode = train_vs_eval(x, 0, first.running_mean, first.running_var)
    return {
        "batch": tuple(dep.largest(k) for k in keys),  # type: ignore[dict-item]
        "padding": tuple(pad.row(k).max_diff for k in keys),  # type: ignore[dict-item]
        "causal": tuple(cz.leaks(k)["past"] for k in keys),  # type: ignore[dict-item]
        "train_eval": tuple(mode.row(k).train_eval_diff for k in keys),  # type: ignore[dict-item]
    }


def test_the_d2l_example_is_what_torch_nn_computes():
    ex = start.d2l_example()
    ref = torch_outputs()
    assert ex.input == ((1.0, 2.0), (2.0, 3.0))
    for side in ex.sides:
        torch.testing.assert_close(torch.tensor(side.output), ref[side.key], atol=1e-6, rtol=0)
        assert side.check.ok and side.check.max_abs_diff < 1e-6
    ln, bn = ref["layernorm"], ref["batchnorm"]
    assert (ln.sign() == torch.tensor([[-1.0, 1.0], [-1.0, 1.0]])).all()  # each row normalized on its own
    assert (bn.sign() == torch.tensor([[-1.0, -1.0], [1.0, 1.0]])).all()  # each column over the batch


def test_the_arithmetic_of_the_chosen_cell_names_its_own_group():
    """x = 2 sits in row (1, 2) for LayerNorm but in column (2, 3) for BatchNorm: different μ, opposite outputs."""
    sides = {s.key: s for s in start.d2l_example().sides}
    assert r"\tfrac{1 + 2}{2} = 1.5" in sides["layernorm"].arithmetic
    assert r"\tfrac{2 + 3}{2} = 2.5" in sides["batchnorm"].arithmetic
    y = {k: float(re.findall(r"= (-?[\d.]+)$", s.arithmetic)[0]) for k, s in sides.items()}
    ref = torch_outputs()
    assert y["layernorm"] == pytest.approx(float(ref["layernorm"][0, 1]), abs=1e-5)
    assert y["batchnorm"] == pytest.approx(float(ref["batchnorm"][0, 1]), abs=1e-5)


def test_the_four_numbers_are_the_checks_own():
    x = start.demo_tensor()
    want = check_numbers(x)
    props = start.transformer_properties(x)
    assert [p.key for p in props] == list(want)
    for p in props:
        assert (p.batchnorm, p.layernorm) == pytest.approx(want[p.key], abs=0), p.key
        assert fmt_delta(p.batchnorm) in p.finding and fmt_delta(p.layernorm) in p.finding


@settings(max_examples=8, deadline=None)
@given(b=hs.integers(2, 4), s=hs.integers(3, 5), f=hs.integers(2, 6), seed=hs.integers(0, 10**6))
def test_layernorm_passes_and_batchnorm_fails_every_property_on_any_tensor(b, s, f, seed):
    props = start.transformer_properties(make_tensor(b, s, f, "normal", seed))
    for p in props:
        assert p.layernorm == 0.0, p.key  # one token's statistic: nothing else reaches it, exactly
        assert p.batchnorm is not None and p.batchnorm > 1e-6, p.key


def test_the_start_page_is_the_root_and_shows_the_checks_numbers():
    at = app_test()  # "/"
    no_exception(at)
    assert [e.url_path for e in page_entries() if e.default] == [""]
    assert at.title[0].value.startswith("Why do transformers use LayerNorm")
    want = check_numbers(start.demo_tensor())
    shown = [m.value for m in at.metric]
    assert shown == [fmt_delta(v) for k in want for v in want[k]]
    latex = " ".join(el.value for el in at.latex)
    for key, out in torch_outputs().items():
        rows = r" \\ ".join(" & ".join(f"{v:.3g}" for v in r) for r in out.tolist())
        assert rows in latex, key  # 3 significant digits: −0.99998 shows as −1
    links = [(el.proto.page, el.proto.label) for el in at.get("page_link")]
    for path in ("batch-dependence", "padding", "causal", "train-eval"):
        assert any(p == path for p, _ in links), path
    assert ("explorer", "Next: Explorer") in links and sum(p == "explorer" for p, _ in links) == 2  # one click away
    # the two browser cubes: BatchNorm's and LayerNorm's rule for one shape, with the chosen cell sent to each
    cubes = [json.loads(el.proto.json) for el in at.get("bidi_component")]
    data = [d for d in cubes if "rules" in d]
    assert [list(d["rules"]) for d in data] == [["batchnorm"], ["layernorm"]]
    assert all(d["shape"] == list(start.start_view().shape) for d in data)
    commands = sorted((d["norm"], d["cell"]) for d in cubes if "rev" in d)
    assert commands == [("batchnorm", list(start.CUBE_CELL)), ("layernorm", list(start.CUBE_CELL))]


def test_every_page_ends_with_the_next_one_along_pages():
    from norm_viz.ui.layout import _ORDER, neighbours, register_pages

    class P:  # stands in for st.Page: neighbours reads url paths and titles only
        def __init__(self, url_path: str) -> None:
            self.url_path = url_path
            self.title = url_path

    entries = page_entries()
    pages = {e.url_path: P(e.url_path) for e in entries}
    sections: dict[str, list[P]] = {}
    for e in entries:
        sections.setdefault(e.section, []).append(pages[e.url_path])
    register_pages(sections)  # type: ignore[arg-type]
    order = [p.url_path for p in _ORDER]
    assert order == [e.url_path for e in entries]
    for i, path in enumerate(order):
        before, after = neighbours(pages[path])
        assert (before and before.url_path) == (order[i - 1] if i else None)
        assert (after and after.url_path) == (order[i + 1] if i + 1 < len(order) else None)


def test_a_page_run_through_app_py_links_the_next_page():
    at = app_test("padding")
    no_exception(at)
    labels = [el.proto.label for el in at.get("page_link")]
    assert "Previous: Batch dependence" in labels and "Next: Causal leakage" in labels


def test_scaled_grows_every_font_once_and_leaves_the_figure_alone():
    axis = {"tickfont": {"size": 12}}  # one dict shared by three axes
    fig = go.Figure(
        {
            "data": [{"type": "heatmap", "z": [[1, 2]], "texttemplate": "%{z}"}],
            "layout": {
                "font": {"size": 16},
                "height": 560,
                "yaxis": axis,
                "xaxis2": axis,
                "yaxis2": axis,
                "annotations": [{"text": "a", "font": {"size": 13}}],
                "xaxis": {"type": "log"},
            },
        }
    )
    before = fig.to_json()
    big = scaled(fig, 1.35, min_size=18, max_height=600)
    assert fig.to_json() == before, "the cached figure is not changed"
    lay = big.layout
    assert lay.yaxis.tickfont.size == lay.yaxis2.tickfont.size == 18.4  # 16 · 0.85 · 1.35, once
    assert lay.annotations[0].font.size == 18  # 13 · 1.35 = 17.55, raised to the floor
    assert lay.font.size == 21.6 and lay.height == 600  # 560 · 1.35 capped at 600
    assert big.data[0].textfont.size >= 18 and lay.legend.font.size >= 18
    assert lay.xaxis.tickfont.size * 0.75 >= 18  # a log axis's in-between labels are drawn at 3/4
    assert scaled(go.Figure(layout={"height": 700}), 1.35, 18, 600).layout.height == 700  # never shrinks


def test_scaled_drops_numbers_the_figure_fitted_to_its_cells_where_they_no_longer_fit():
    cells = {"type": "heatmap", "z": [[1, 2]] * 4, "texttemplate": "%{z}", "textfont": {"size": 11}}
    short = {"height": 240, "margin": {"t": 40, "b": 40}}  # margins grow to 54 px: rows of 33 px, room for 18 px
    fits = scaled(go.Figure({"data": [cells], "layout": short}), 1.35, min_size=18, max_height=240)
    assert fits.data[0].texttemplate == "%{z}" and fits.data[0].textfont.size == 18
    squeezed = {**short, "yaxis": {"domain": [0.0, 0.6]}}  # rows of 20 px: they would run into each other
    dropped = scaled(go.Figure({"data": [cells], "layout": squeezed}), 1.35, min_size=18, max_height=240)
    assert dropped.data[0].texttemplate is None and list(dropped.data[0].z[0]) == [1, 2]  # the colours stay
