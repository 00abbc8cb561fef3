"""Issue 16 §2–§4 (text and charts): no internal references in what users read, the Sources and Cheat sheet pages,
the lesson's computed answers (checked against torch.nn), readable log axes and charts that do not mislead."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from conftest import ROOT, app_test, no_exception

from norm_viz.classroom import cheatsheet, lesson
from norm_viz.core.data import make_tensor
from norm_viz.core.sources import SOURCES
from norm_viz.core.theme import log_label, log_ticks

INTERNAL = re.compile(r"source documents?\b|seeds?/|seed documents?|document 00\d", re.I)
X = make_tensor(4, 6, 8, "normal", 0)


def _user_files() -> list[Path]:
    return [*Path(ROOT, "pages").glob("*.py"), *Path(ROOT, "norm_viz").rglob("*.py"), Path(ROOT, "app.py")]


def test_no_page_or_package_text_names_internal_files():
    hits = [
        f"{p.relative_to(ROOT)}:{i}: {line.strip()[:80]}"
        for p in _user_files()
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if INTERNAL.search(line)
    ]
    assert hits == []


def test_no_page_shows_a_server_path():
    # a path of the server's file system in a user-visible string: __file__, Path.home(), a cache folder
    bad = re.compile(
        r"st\.\w+\(.*(__file__|Path\.home|expanduser|CACHE_DIR|cache_dir)|\{[^}]*(__file__|cache_dir\(|Path\.home|expanduser)"
    )
    hits = [
        f"{p.relative_to(ROOT)}:{i}"
        for p in [*Path(ROOT, "pages").glob("*.py"), *Path(ROOT, "norm_viz", "ui").glob("*.py")]
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if bad.search(line)
    ]
    assert hits == []


def test_the_sources_page_quotes_the_claims_and_the_correction():
    at = app_test("sources")
    no_exception(at)
    text = " ".join(m.value for m in at.markdown)
    for src in SOURCES.values():
        assert src.title in text, src.key
        for claim in src.claims:
            assert claim.quote in text
    # the claim that transformer LN averages over all tokens too, and its correction
    assert "calculated across all features and all elements" in text
    assert "Wrong." in text and "per token, over that token's features only" in text
    assert not INTERNAL.search(text)


def test_the_cheat_sheet_numbers_are_torch_nn_s():
    x = X.double()
    bn = torch.nn.BatchNorm1d(8, dtype=torch.float64).requires_grad_(False)
    alone = bn(x[:1].transpose(1, 2)).transpose(1, 2)[0]
    whole = bn(x.transpose(1, 2)).transpose(1, 2)[0]
    bn_move, ln_move = lesson.alone_changes(X)
    assert bn_move == pytest.approx(float((alone - whole).abs().max()), rel=1e-6) and ln_move == 0
    rows = cheatsheet.axes_rows()
    cells = {r["norm"]: int(r["cells per statistic (4×6×8)"]) for r in rows}
    assert cells["BatchNorm"] == 4 * 6 and cells["LayerNorm"] == 8 and cells["InstanceNorm"] == 6
    plain, normed = cheatsheet.depth_growth()
    assert plain > 100 and normed == pytest.approx(1.0, abs=1e-3)
    md = cheatsheet.markdown()
    for word in ("Axes", "Batch size 1", "Padding", "Causal", "Multi-device", "γ and β", "Why normalize"):
        assert word in md
    assert f"{plain:,.0f}" in md


def test_the_cheat_sheet_page_prints_on_one_page_and_shows_the_numbers():
    at = app_test("cheatsheet")
    no_exception(at)
    text = " ".join(m.value for m in at.markdown)
    assert "@media print" in text and "Expected more than 1 value per channel" in text
    assert at.get("download_button")


def test_lesson_answers_are_computed_and_match_torch():
    inp = lesson.LessonInput(X, "t")
    by_path = {s.url_path: s for s in lesson.STEPS}
    assert [s.url_path for s in lesson.STEPS] == [
        "start",
        "explorer",
        "walkthrough",
        "padding",
        "causal",
        "train-eval",
        "real-model",
    ]
    for s in lesson.STEPS:
        if s.uses != "real":
            assert s.reveal(inp).answer in s.options, s.url_path
    # padding: with the pads at 0 vs 100, nn.LayerNorm's real tokens do not move, BatchNorm1d's do
    moved = lesson.padding_changes(X)
    assert moved["layernorm"] == 0 and moved["masked_batchnorm"] < 1e-9 and moved["batchnorm"] > 0.1
    # causal: a later token never reaches an earlier position under nn.LayerNorm
    x2 = X.clone()
    x2[0, -1] += 1
    ln = torch.nn.LayerNorm(8, elementwise_affine=False)
    assert float((ln(X) - ln(x2))[:, :-1].abs().max()) == lesson.causal_changes(X)["layernorm"] == 0
    # the answer follows the tensor: with a single feature, BatchNorm's group of a cell is every cell
    assert by_path["explorer"].reveal(lesson.LessonInput(make_tensor(2, 3, 1, "normal", 1), "")).answer == "every cell"
    assert lesson.is_right("both move", lesson.Reveal("neither moves", "")) is False
    with pytest.raises(ValueError, match="from 0"):
        lesson.parse_step("99")


@pytest.mark.parametrize("step", range(1, len(lesson.STEPS) + 1))
def test_every_lesson_step_shows_its_question_and_reveals_on_its_page(step):
    s = lesson.STEPS[step - 1]
    at = app_test(s.url_path, {**dict(s.query), "lesson": str(step)})
    no_exception(at)
    assert any(s.question in m.value for m in at.markdown)
    assert not at.success or all("Answer" not in m.value for m in at.success)
    at.toggle(key=f"_lesson_reveal_{step}").set_value(True).run()
    no_exception(at)
    assert any("Answer" in m.value or "not installed" in m.value for m in at.success)
    assert at.query_params.get("lesson") == str(step)


def test_log_ticks_are_readable():
    ticks = log_ticks([1e-12, 0.8])
    assert ticks["ticktext"][0] == "1e-12" and "1" in ticks["ticktext"]
    assert log_label(0.5) == "0.5" and log_label(2e-5) == "2e-5" and log_label(20) == "20"
    for values in ([1e-9, 1e3], [0.3, 40], [1, 128]):
        t = log_ticks(values)
        assert all(not re.search(r"[pμnm]$", s) for s in t["ticktext"])
        assert len(t["tickvals"]) <= 12


def test_no_log_axis_is_left_to_plotly_s_default_labels():
    # every type="log" in the figure builders comes with ticks from log_ticks (or its own tickvals and ticktext)
    for name in ("questions/figures.py", "beyond/figures.py", "training/figures.py"):
        for i, line in enumerate(Path(ROOT, "norm_viz", name).read_text().splitlines(), 1):
            if 'type="log"' in line and "log_ticks" not in line and "ticktext" not in line:
                # a multi-line call: its next lines carry the ticks
                src = Path(ROOT, "norm_viz", name).read_text().splitlines()[i - 1 : i + 6]
                assert any("ticktext" in s or "log_ticks" in s for s in src), f"{name}:{i}"


def test_equivalences_are_verdicts_not_log_bars():
    from norm_viz.beyond import figures as fb
    from norm_viz.beyond.equivalences import equivalences

    eqs = equivalences(X)
    fig = fb.equivalences_figure(eqs)
    (trace,) = fig.data
    assert trace.type == "heatmap"
    for e, row, z in zip(eqs, trace.text, trace.z, strict=True):
        assert row[0].startswith("same" if e.holds else "differ") and z[0] == (0 if e.holds else 1)
    assert "log" not in str(fig.layout.xaxis.type)


def test_batch_dependence_lines_pass_through_x1_and_never_share_a_colour():
    from norm_viz.questions import dependence as dep
    from norm_viz.questions import figures as fq

    view = dep.dependence_view(X, dep.DependenceConfig(0, 1, 10.0))
    assert 1.0 in view.check.factors
    i = view.check.factors.index(1.0)
    assert all(d is None or d[i] == 0 for d in view.check.deltas.values())  # computed: the sample unchanged
    fig = fq.dependence_figure(view.check, view.labels)
    styles = [(t.line.color, t.line.dash) for t in fig.data]
    assert len(set(styles)) == len(styles), styles
    assert len({c for c, _ in styles}) == len(styles) or len(styles) > len(fq.MOVING_COLOURS) + 1


def test_start_alias_is_registered_outside_the_page_order():
    src = Path(ROOT, "app.py").read_text()
    assert 'url_path="start", visibility="hidden"' in src and 'url_path="", default=True' in src


def _in_order(node):
    """Every element of an AppTest tree in the order the page shows them (containers opened in place)."""
    children = getattr(node, "children", None)
    if children is None:
        yield node
        return
    for child in children.values():
        yield from _in_order(child)


@pytest.mark.parametrize(
    "path",
    [
        "batch-dependence",
        "padding",
        "causal",
        "train-eval",
        "multi-device",
        "placement",
        "powernorm",
        "equivalences",
        "fluctuation",
        "eps-dtype",
    ],
)
def test_pages_open_with_their_picture_and_at_most_two_lines_above_it(path):
    at = app_test(path)
    no_exception(at)
    seen_title, words = False, 0
    for el in _in_order(at.main):
        kind = type(el).__name__
        if kind == "Title":
            seen_title = True
            continue
        if not seen_title:
            continue
        if getattr(el, "proto", None) is not None and el.proto.__class__.__name__ == "PlotlyChart":
            break
        if kind in ("Markdown", "Caption", "Latex", "Info", "Warning") and not str(el.value).startswith("<style"):
            words += len(str(el.value))
    else:
        pytest.fail(f"{path}: no chart")
    assert words <= 230, f"{path}: {words} characters of text above the first picture (two lines: ~230)"
