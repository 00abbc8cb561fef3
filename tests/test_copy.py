"""What users read: tables without {F}-style placeholders or empty columns, plurals, neutral boxes for neutral news."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from conftest import app_test, no_exception

from norm_viz.classroom import cards
from norm_viz.core.compute import normalize, verify
from norm_viz.core.data import make_tensor
from norm_viz.core.numbers import plural
from norm_viz.core.table import NORMS, default_groups
from norm_viz.explore.explorer import verdict

PLACEHOLDER = re.compile(r"\{[A-Za-z_]+\}")  # {F}, {S}, {B}, {G}, {eps}, {mask}: a template nobody filled in


def table_texts(at) -> list[str]:
    """Every header and cell of every st.table and st.dataframe of an AppTest run."""
    out: list[str] = []
    for el in [*at.get("table"), *at.get("arrow_data_frame")]:
        df = el.value if hasattr(el, "value") else None
        if isinstance(df, pd.DataFrame):
            out += [str(c) for c in df.columns] + [str(v) for v in df.to_numpy().ravel()]
    return out


def test_the_axis_table_writes_out_every_torch_call_for_the_example_tensor():
    b, s, f = cards.EXAMPLE_SHAPE
    rows = {r["key"]: r["torch"] for r in cards.axis_rows()}
    assert not [t for t in rows.values() if PLACEHOLDER.search(t)]
    assert rows["layernorm"] == f"nn.LayerNorm({f})(x)"
    assert all(r["over"] for r in cards.axis_rows())  # no blank cell (DyT averages over nothing, and says so)
    assert rows["layernorm_sample"] == f"nn.LayerNorm(({s}, {f}))(x)"
    assert rows["groupnorm"] == f"nn.GroupNorm({default_groups(f)}, {f})(x.transpose(1, 2)).transpose(1, 2)"
    assert f"({b}, {s}, {f})" in cards.example_note() and f"G = {default_groups(f)}" in cards.example_note()
    md = cards.cheat_sheet()
    assert not PLACEHOLDER.search(md.split("## Interview questions")[0]) and cards.example_note() in md
    assert cards.EXAMPLE_SHAPE == (4, 6, 8)  # the sidebar's default tensor (ui/tensor.py's B, S, F defaults)


@pytest.mark.parametrize("page", ["interview", "compare", "causal", "multi-device"])
def test_no_table_cell_is_a_placeholder_or_a_blank_column(page):
    at = app_test(page)
    no_exception(at)
    texts = table_texts(at)
    assert texts, "the page shows a table"
    assert not [t for t in texts if PLACEHOLDER.search(t)]
    for el in at.get("table"):
        df = el.value
        blank = [c for c in df.columns if df[c].map(lambda v: str(v).strip() in ("", "None", "nan")).all()]
        assert not blank, f"columns with nothing in them: {blank}"


def test_interview_table_says_which_tensor_its_calls_are_for():
    at = app_test("interview")
    assert cards.example_note() in [c.value for c in at.caption]
    assert not at.success  # the page's summary is news, not a success


@pytest.mark.parametrize("key", [k for k, n in NORMS.items() if not n.has_torch_module])
def test_a_norm_without_a_torch_module_gets_a_neutral_line_not_a_green_match(key):
    r = normalize(make_tensor(2, 3, 4, seed=0), key)
    msg = verdict(verify(r))
    assert msg.kind == "info"
    assert "matches `no torch.nn" not in msg.text and "no module for this norm" in msg.text
    assert "agrees with an independent implementation" in msg.text


def test_a_norm_with_a_torch_module_still_matches_in_green():
    msg = verdict(verify(normalize(make_tensor(2, 3, 4, seed=0), "layernorm")))
    assert msg.kind == "success" and msg.text.startswith("matches `nn.LayerNorm(4)(x)`")


@pytest.mark.parametrize(("n", "text"), [(0, "0 cells"), (1, "1 cell"), (2, "2 cells"), (21, "21 cells")])
def test_plural(n, text):
    assert plural(n, "cell") == text
    assert plural(1, "batch item", "batch items") == "1 batch item"
    assert plural(3, "statistic") == "3 statistics"


def test_the_walkthrough_counts_one_of_a_thing_in_the_singular():
    from norm_viz.classroom import walkthrough

    r = normalize(make_tensor(1, 1, 4, seed=0), "layernorm")  # one sequence of one token: one group
    text = " ".join(s.text for s in walkthrough.steps(r, (0, 0, 1)))
    assert "1 sequence of 1 token, each token with 4 features" in text
    assert "it is the only group" in text and "other 0 groups" not in text
    two = " ".join(s.text for s in walkthrough.steps(normalize(make_tensor(2, 1, 4, seed=0), "layernorm"), (0, 0, 1)))
    assert "the other 1 group was normalized" in two
    assert not re.search(r"\b1 (cells|values|groups|statistics|sequences|tokens|features)\b", text + two)


def test_the_variance_colour_bar_starts_at_zero():
    from norm_viz.explore.figures import stats_figure

    r = normalize(make_tensor(2, 3, 4, seed=0), "layernorm")  # statistics per (batch, sequence): heatmaps
    heat = [t for t in stats_figure(r, (0, 0, 0)).data if t.type == "heatmap"]
    assert [t.zmin for t in heat] == [None, 0]  # the mean may be negative; σ² never
