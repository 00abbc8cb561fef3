"""AppTest runs of the Explorer and the 'Which LayerNorm?' page: every norm, presets, cells, bad inputs, bad URLs."""

from __future__ import annotations

import json

import pytest

from norm_viz import NORMS, make_tensor
from tests.conftest import app_test, charts, no_exception

EXPLORER = "pages/explorer.py"
WHICH = "pages/which-layernorm.py"


def tex(el) -> str:
    """The LaTeX source of an st.latex element, without the $$ fences."""
    return el.value.strip("$\n ")


def cube_data(at) -> dict:
    """The data the Explorer's browser cube was given (st.components.v2: its JSON payload)."""
    (data,) = [d for d in (json.loads(el.proto.json) for el in at.get("bidi_component")) if "rules" in d]
    return data


def cube_command(at) -> dict:
    """The page's cell and norm as last sent to the cube (the small command component, rendered on a change only)."""
    sent = [d for d in (json.loads(el.proto.json) for el in at.get("bidi_component")) if "rev" in d]
    rev, cell, norm, *_ = at.session_state["_cube_known"]["explorer_cube"]
    if sent:
        assert sent == [{"id": "explorer_cube", "rev": rev, "norm": norm, "cell": list(cell), "lit": True}]
    return {"rev": rev, "norm": norm, "cell": list(cell)}


def derivation(at) -> list[str]:
    """The steps of the chosen cell's arithmetic (one st.latex element, a step per block)."""
    from norm_viz.explore.explorer import STEP

    block = next(tex(el) for el in at.latex if tex(el).startswith(r"\begin{gathered}"))
    return block.removeprefix(r"\begin{gathered}").removesuffix(r"\end{gathered}").split(STEP)


def y_line(at) -> str:
    """The last row of the chosen cell's y = γ x̂ + β derivation."""
    line = next(t for t in derivation(at) if t.startswith(r"\begin{aligned}y"))
    return line.removesuffix(r"\end{aligned}").split(r"\\")[-1].strip()


def stats_chart(at) -> dict:
    return next(c for c in charts(at) if "statistics, one per" in c["layout"]["title"]["text"])


def test_explorer_default_view_verifies_against_torch():
    at = app_test(EXPLORER)
    no_exception(at)
    assert any("matches `nn.LayerNorm(8)(x)`" in s.value for s in at.success)
    cube = cube_data(at)
    assert cube_command(at)["norm"] == "layernorm" and cube["shape"] == [4, 6, 8] and list(cube["rules"]) == list(NORMS)
    assert stats_chart(at)["layout"]["title"]["text"] == "24 statistics, one per batch × sequence, each over 8 cells"


def test_every_norm_runs_verifies_and_changes_the_statistics():
    at = app_test(EXPLORER)
    seen = {}
    for key in NORMS:
        at.selectbox(key="norm").select(key).run()
        no_exception(at)
        assert not at.error, [e.value for e in at.error]
        checked = at.success if NORMS[key].has_torch_module else at.info  # no torch.nn module: a neutral line
        assert any(s.value.startswith("matches") or "agrees with" in s.value for s in checked), key
        if not NORMS[key].reduce:  # DyT: no statistics at all, each cell is its own group
            assert not any("statistics, one per" in c["layout"]["title"]["text"] for c in charts(at))
            continue
        seen[key] = json.dumps(stats_chart(at)["data"])
    assert len(set(seen.values())) == len(seen) - 1  # masked BN without padding = BN; every other pair differs
    assert seen["masked_batchnorm"] == seen["batchnorm"]


def test_groups_and_padding_change_the_numbers():
    at = app_test(EXPLORER)
    at.selectbox(key="norm").select("groupnorm").run()
    assert at.selectbox(key="G").options == ["1", "2", "4", "8"]
    at.selectbox(key="G").select(2).run()
    assert stats_chart(at)["layout"]["title"]["text"].startswith("8 statistics, one per batch × group")
    at.selectbox(key="norm").select("masked_batchnorm").run()
    full = stats_chart(at)["data"]
    at.text_input(key="lengths").input("6, 3, 2, 1").run()
    no_exception(at)
    assert stats_chart(at)["data"] != full
    assert cube_data(at)["lengths"] == [6, 3, 2, 1] and cube_command(at)["norm"] == "masked_batchnorm"


@pytest.mark.parametrize(("norm", "expected"), [("layernorm", "-1"), ("batchnorm", "-1")])
def test_d2l_preset_reproduces_the_seed(norm, expected):
    at = app_test(EXPLORER)
    at.radio(key="src").set_value("preset").run()
    at.selectbox(key="preset").select("d2l").run()
    at.selectbox(key="norm").select(norm).run()
    no_exception(at)
    assert y_line(at) == f"&= {expected}"
    at.number_input(key="cb").set_value(1).run()
    assert y_line(at) == ("&= 1" if norm == "batchnorm" else "&= -1")
    # the source document's example as numeric matrices, LayerNorm and BatchNorm side by side
    matrices = [tex(el) for el in at.latex if "bmatrix" in tex(el)]
    assert matrices == [
        r"X = \begin{bmatrix}1 & 2 \\ 2 & 3\end{bmatrix}",
        r"Y = \begin{bmatrix}-1 & 1 \\ -1 & 1\end{bmatrix}",
        r"Y = \begin{bmatrix}-1 & -1 \\ 1 & 1\end{bmatrix}",
    ]


def test_choosing_a_cell_shows_its_numbers():
    at = app_test(EXPLORER)
    at.number_input(key="cb").set_value(1).run()
    at.number_input(key="cs").set_value(2).run()
    at.number_input(key="cf").set_value(3).run()
    x = make_tensor(4, 6, 8, kind="normal", seed=0)
    assert derivation(at)[0] == f"x = {float(x[1, 2, 3]):.4g}"
    assert cube_command(at)["cell"] == [1, 2, 3]
    assert not any("chosen cell" in json.dumps(c) for c in charts(at)), "no chart depends on the chosen cell"


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ({"norm": "masked_batchnorm", "lengths": "3, x"}, "whole numbers separated by commas"),
        ({"norm": "masked_batchnorm", "lengths": "1, 2"}, "give one length per sequence: 4 numbers"),
        ({"norm": "masked_batchnorm", "lengths": "9"}, "between 0 and S = 6"),
        ({"norm": "masked_batchnorm", "lengths": "0"}, "no valid token"),
        ({"norm": "batchnorm", "B": 1, "S": 1}, "needs more than one value per statistic"),
        ({"norm": "instancenorm", "S": 1}, "sequence length = 1"),
    ],
)
def test_bad_inputs_give_messages_not_tracebacks(setup, message):
    at = app_test(EXPLORER)
    if "B" in setup:
        at.slider(key="B").set_value(setup["B"]).run()
    if "S" in setup:
        at.slider(key="S").set_value(setup["S"]).run()
    at.selectbox(key="norm").select(setup["norm"]).run()
    if "lengths" in setup:
        at.text_input(key="lengths").input(setup["lengths"]).run()
    no_exception(at)
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert not charts(at), "the figures wait until the input is valid"


def test_malformed_url_parameters_fall_back_with_a_notice():
    at = app_test(EXPLORER, query={"B": "999", "norm": "superduper", "F": "abc", "S": "3"})
    no_exception(at)
    warnings = " ".join(w.value for w in at.warning)
    assert "`B=999` was ignored: out of range; it must be a whole number from 1 to 16" in warnings
    assert "`norm=superduper` was ignored" in warnings and "`F=abc` was ignored" in warnings
    assert at.slider(key="S").value == 3 and at.slider(key="B").value == 4
    assert at.query_params["B"] == "4"  # the URL is rewritten to the valid state


def test_url_reproduces_the_view():
    at = app_test(
        EXPLORER,
        query={
            "norm": "groupnorm",
            "G": "4",
            "B": "2",
            "S": "5",
            "F": "8",
            "seed": "7",
            "cb": "1",
            "cs": "4",
            "cf": "6",
        },
    )
    no_exception(at)
    assert at.selectbox(key="norm").value == "groupnorm" and at.selectbox(key="G").value == 4
    assert derivation(at)[0] == f"x = {float(make_tensor(2, 5, 8, seed=7)[1, 4, 6]):.4g}"


def test_edit_source_shows_a_table():
    at = app_test(EXPLORER)
    at.radio(key="src").set_value("edit").run()
    no_exception(at)
    assert any("Edit the values" in e.label for e in at.expander)


def test_which_layernorm_page_takeaway_follows_the_data():
    at = app_test(WHICH)
    no_exception(at)
    assert "PyTorch's transformer LayerNorm matches the per-token reading" in at.success[0].value
    metrics = {m.label: m.value for m in at.metric}
    assert float(metrics["max |Δ| vs LayerNorm per token"]) < 1e-5
    assert float(metrics["max |Δ| vs LayerNorm over (sequence, features)"]) > 0.1
    assert any("its output changes by **0**" in m.value for m in at.markdown)
    at.slider(key="S").set_value(1).run()
    no_exception(at)
    assert "cannot tell them apart" in at.success[0].value


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ({"selection": {"points": [{"customdata": [1, 2, 3, 0.5]}]}}, (1, 2, 3)),
        ({"selection": {"points": [{"customdata": {"0": 1, "1": 2, "2": 3, "3": 0.5}}]}}, (1, 2, 3)),
        ({"selection": {"points": [{"customdata": [9, 2, 3, 0.5]}]}}, None),
        ({"selection": {"points": []}}, None),
        ({"selection": {"points": [{"x": 1}]}}, None),
        (None, None),
    ],
)
def test_clicked_cell_reads_every_shape_of_selection(state, expected):
    from norm_viz.ui import clicked_cell

    assert clicked_cell(state, (4, 6, 8)) == expected


def test_a_single_value_tensor_is_explained_where_torch_refuses_it():
    at = app_test(EXPLORER, query={"B": "1", "S": "1", "F": "1", "norm": "groupnorm"})
    no_exception(at)
    assert any("refuses this input" in w.value for w in at.warning)
    assert charts(at), "the page still shows norm-viz's own numbers"


def test_eps_zero_on_a_constant_group_warns_and_still_verifies():
    at = app_test(EXPLORER, query={"src": "preset", "preset": "d2l", "norm": "batchnorm"})
    at.number_input(key="eps").set_value(0.0).run()
    at.selectbox(key="norm").select("layernorm_sample").run()
    no_exception(at)
    assert not at.warning  # the D2L sample has variance > 0: no NaN
    at.radio(key="src").set_value("generate").run()
    at.number_input(key="scale").set_value(1e-6).run()
    at.slider(key="F").set_value(1).run()
    at.selectbox(key="norm").select("layernorm").run()  # F = 1: every token's variance is exactly 0
    no_exception(at)
    assert any("x̂ = 0 / √0 = NaN" in w.value for w in at.warning)
    assert any(s.value.startswith("matches") for s in at.success)


def test_norm_parameters_come_from_the_table_and_their_url_values_are_checked():
    """Every row's parameters (NORMS[key].params) get their widgets from the table: DyT's α next to the picker,
    PowerNorm's warm-up toggle and GroupScaling groups below it; a GroupScaling count that does not divide F from a
    link falls back to 0 (off) with a notice."""
    at = app_test(EXPLORER, query={"norm": "powernorm", "gscale": "3", "F": "8"})
    no_exception(at)
    assert at.selectbox(key="gscale").value == 0 and at.toggle(key="warmup").value is True
    warnings = " ".join(w.value for w in at.warning)
    assert "`gscale=3` does not divide F = 8; valid: 0, 1, 2, 4, 8 (0 = off)" in warnings
    at.selectbox(key="gscale").select(2).run()
    at.toggle(key="warmup").set_value(False).run()
    no_exception(at)
    assert any("agrees with an independent implementation" in s.value for s in at.info)
    assert any("xg = x.reshape(4, 6, 2, 4)" in c.value and "divisor = running_psi2" in c.value for c in at.code)
    at.selectbox(key="norm").select("dyt").run()
    at.number_input(key="alpha").set_value(1.5).run()
    no_exception(at)
    assert any("alpha = 1.5" in c.value for c in at.code)
    assert r"\tanh(1.5 \cdot" in derivation(at)[1]
    assert not at.get("toggle") or all(t.key != "warmup" for t in at.toggle)


def test_masked_lengths_hint_is_not_a_value_and_the_padding_pattern_is_one_click_away():
    """The grey placeholder is a hint only (the page says no padding is applied); the button applies the Padding
    page's pattern, which then reaches the statistics and the cube."""
    from norm_viz.core.data import default_lengths

    at = app_test(EXPLORER, query={"norm": "masked_batchnorm"})
    no_exception(at)
    box = at.text_input(key="lengths")
    assert box.value == "" and box.placeholder.startswith("empty = no padding")
    assert any("No padding applied" in c.value for c in at.caption)
    assert cube_data(at)["lengths"] == [6, 6, 6, 6]  # every token real
    unmasked = stats_chart(at)["data"]
    at.button(key="_pad_like").click().run()
    no_exception(at)
    pattern = list(default_lengths(4, 6))
    assert at.text_input(key="lengths").value == ", ".join(map(str, pattern))
    assert cube_data(at)["lengths"] == pattern and stats_chart(at)["data"] != unmasked
    assert not any("No padding applied" in c.value for c in at.caption)


def test_the_cube_command_is_sent_only_when_the_page_changes_the_cell_or_norm():
    """The cube's own payload never holds the cell; the small command that carries it is sent when Python changes
    the cell or the norm (a new revision) and not on a rerun that changes neither."""

    def sent(at):
        return [d for d in (json.loads(el.proto.json) for el in at.get("bidi_component")) if "rev" in d]

    at = app_test(EXPLORER)
    first = cube_data(at)
    assert [(c["rev"], c["cell"]) for c in sent(at)] == [(0, [0, 0, 0])]
    at.run()
    assert sent(at) == [] and cube_data(at) == first
    at.number_input(key="cf").set_value(5).run()
    assert [(c["rev"], c["cell"], c["norm"]) for c in sent(at)] == [(1, [0, 0, 5], "layernorm")]
    assert cube_data(at) == first  # the cube itself is not resent with new data
    at.selectbox(key="norm").select("batchnorm").run()
    assert [(c["rev"], c["norm"]) for c in sent(at)] == [(2, "batchnorm")]
