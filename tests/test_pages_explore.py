"""AppTest runs of the Explorer and the 'Which LayerNorm?' page: every norm, presets, cells, bad inputs, bad URLs."""

from __future__ import annotations

import json

import pytest

from norm_viz import NORMS, make_tensor
from norm_viz.core.numbers import fmt
from tests.conftest import app_test, charts, no_exception

EXPLORER = "pages/explorer.py"
WHICH = "pages/which-layernorm.py"


def tex(el) -> str:
    """The LaTeX source of an st.latex element, without the $$ fences."""
    return el.value.strip("$\n ")


def message(at) -> dict:
    """The Explorer component's message (explore/payload.py): every row of NORMS, unpacked."""
    from norm_viz.explore.payload import unpack

    (el,) = [el for el in at.get("bidi_component") if el.proto.component_name == "norm_viz.explorer"]
    return unpack(el.proto.bytes)


def raw(at) -> bytes:
    (el,) = [el for el in at.get("bidi_component") if el.proto.component_name == "norm_viz.explorer"]
    return el.proto.bytes


def view(at) -> dict:
    """The view the page last told the browser (norm, cell, item, shared) and its revision."""
    rev, _, (norm, cell, item, shared) = at.session_state["_nvx_known"]  # what the browser shows
    return {"rev": rev, "norm": norm, "cell": list(cell), "item": item, "shared": shared}


def sent_views(at) -> list[dict]:
    """The view commands this run sent (the small JSON component)."""
    return [json.loads(el.proto.json) for el in at.get("bidi_component") if el.proto.component_name.endswith("_view")]


def browser_shows(at, norm: str, cell=(0, 0, 0), item: int = 0, shared: bool = False):
    """What explorer.js does after a norm switch or a click: it writes the view into the hidden input (which reruns
    nothing in a browser); the next run, here run at once, reads it."""
    at.text_input(key="_nvx_report").input(f"{norm}|{','.join(map(str, cell))}|{item}|{int(shared)}")
    return at.run()


def row(at, key: str | None = None) -> dict:
    return message(at)["rows"][key or view(at)["norm"]]


def y_of(at, key: str, cell) -> float:
    _, s, f = message(at)["shape"]
    return float(row(at, key)["y"][(cell[0] * s + cell[1]) * f + cell[2]])


def test_explorer_default_view_verifies_against_torch():
    at = app_test(EXPLORER)
    no_exception(at)
    m = message(at)
    assert m["rows"]["layernorm"]["verdict"]["kind"] == "success"
    assert "matches `nn.LayerNorm(8)(x)`" in m["rows"]["layernorm"]["verdict"]["text"]
    assert view(at)["norm"] == "layernorm" and m["shape"] == [4, 6, 8] and list(m["cube_rules"]) == list(NORMS)
    assert m["rows"]["layernorm"]["stats_title"] == "24 statistics, one per batch × sequence, each over 8 cells"
    assert not charts(at), "the statistics and heatmaps are drawn in the browser, not sent as plotly charts"


def test_every_norm_is_in_one_message_verified_and_with_its_own_statistics():
    at = app_test(EXPLORER)
    m = message(at)
    seen = {}
    for key, r in m["rows"].items():
        assert "error" not in r, key
        checked = "success" if NORMS[key].has_torch_module else "info"  # no torch.nn module: a neutral line
        assert r["verdict"]["kind"] == checked and (
            "matches" in r["verdict"]["text"] or "agrees with" in r["verdict"]["text"]
        )
        if not NORMS[key].reduce:  # DyT: no statistics at all, each cell is its own group
            assert r["var"] is None
            continue
        seen[key] = r["var"].tobytes() + (b"" if r["mean"] is None else r["mean"].tobytes())
    assert len(set(seen.values())) == len(seen) - 1  # masked BN without padding = BN; every other pair differs
    assert seen["masked_batchnorm"] == seen["batchnorm"]
    before = raw(at)
    browser_shows(at, "batchnorm", (1, 2, 3))  # a norm switch in the browser reaches Python with the next run
    no_exception(at)
    assert at.session_state["norm"] == "batchnorm" and at.query_params["norm"] == "batchnorm"
    assert [at.session_state[k] for k in ("cb", "cs", "cf")] == [1, 2, 3] and at.query_params["cf"] == "3"
    assert raw(at) == before and sent_views(at) == []  # nothing to resend: the browser shows it already


def test_groups_and_padding_change_the_numbers():
    at = app_test(EXPLORER)
    assert at.selectbox(key="G").options == ["1", "2", "4", "8"]
    at.selectbox(key="G").select(2).run()
    assert row(at, "groupnorm")["stats_title"].startswith("8 statistics, one per batch × group")
    full = row(at, "masked_batchnorm")["var"].copy()
    at.text_input(key="lengths").input("6, 3, 2, 1").run()
    no_exception(at)
    assert message(at)["lengths"] == [6, 3, 2, 1]
    assert row(at, "masked_batchnorm")["var"].tolist() != full.tolist()
    assert row(at, "batchnorm")["var"].tolist() == full.tolist()  # lengths mask only the masked row


@pytest.mark.parametrize(("norm", "expected"), [("layernorm", "-1"), ("batchnorm", "-1")])
def test_d2l_preset_reproduces_the_seed(norm, expected):
    at = app_test(EXPLORER)
    at.radio(key="src").set_value("preset").run()
    at.selectbox(key="preset").select("d2l").run()
    no_exception(at)
    assert fmt(y_of(at, norm, (0, 0, 0))) == expected
    assert fmt(y_of(at, norm, (1, 0, 0))) == ("1" if norm == "batchnorm" else "-1")
    # the source document's example as numeric matrices, LayerNorm and BatchNorm side by side
    matrices = [tex(el) for el in at.latex if "bmatrix" in tex(el)]
    assert matrices == [
        r"X = \begin{bmatrix}1 & 2 \\ 2 & 3\end{bmatrix}",
        r"Y = \begin{bmatrix}-1 & 1 \\ -1 & 1\end{bmatrix}",
        r"Y = \begin{bmatrix}-1 & -1 \\ 1 & 1\end{bmatrix}",
    ]


def test_a_cell_from_a_link_reaches_the_view_and_the_message_holds_its_numbers():
    at = app_test(EXPLORER, query={"cb": "1", "cs": "2", "cf": "3"})
    x = make_tensor(4, 6, 8, kind="normal", seed=0)
    assert view(at)["cell"] == [1, 2, 3] and view(at)["item"] == 1  # the heatmaps start at the cell's batch item
    assert float(message(at)["x"][(1 * 6 + 2) * 8 + 3]) == float(x[1, 2, 3])


@pytest.mark.parametrize(
    ("setup", "message_"),
    [
        ({"norm": "masked_batchnorm", "lengths": "3, x"}, "whole numbers separated by commas"),
        ({"norm": "masked_batchnorm", "lengths": "1, 2"}, "give one length per sequence: 4 numbers"),
        ({"norm": "masked_batchnorm", "lengths": "9"}, "between 0 and S = 6"),
        ({"norm": "masked_batchnorm", "lengths": "0"}, "no valid token"),
        ({"norm": "batchnorm", "B": 1, "S": 1}, "needs more than one value per statistic"),
        ({"norm": "instancenorm", "S": 1}, "sequence length = 1"),
    ],
)
def test_bad_inputs_give_messages_not_tracebacks(setup, message_):
    at = app_test(EXPLORER, query={"norm": setup["norm"]})
    if "B" in setup:
        at.slider(key="B").set_value(setup["B"]).run()
    if "S" in setup:
        at.slider(key="S").set_value(setup["S"]).run()
    if "lengths" in setup:
        at.text_input(key="lengths").input(setup["lengths"]).run()
    no_exception(at)
    shown = [e.value for e in at.error] + [row(at, setup["norm"]).get("error", "")]
    assert any(message_ in t for t in shown), shown
    if not at.error:  # the row cannot run: the browser shows its message instead of its figures
        assert "y" not in row(at, setup["norm"])


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
    assert view(at)["norm"] == "groupnorm" and view(at)["cell"] == [1, 4, 6] and at.selectbox(key="G").value == 4
    assert message(at)["rows"]["groupnorm"]["groups"] == 4
    assert float(message(at)["x"][(1 * 5 + 4) * 8 + 6]) == float(make_tensor(2, 5, 8, seed=7)[1, 4, 6])


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
    r = row(at, "groupnorm")
    assert r["verdict"]["kind"] == "warning" and "refuses this input" in r["verdict"]["text"]
    assert r["y"] is not None, "the page still shows norm-viz's own numbers"


def test_eps_zero_on_a_constant_group_warns_and_still_verifies():
    at = app_test(EXPLORER, query={"src": "preset", "preset": "d2l", "norm": "batchnorm"})
    at.number_input(key="eps").set_value(0.0).run()
    no_exception(at)
    assert row(at, "layernorm_sample")["warning"] == ""  # the D2L sample has variance > 0: no NaN
    at.radio(key="src").set_value("generate").run()
    at.number_input(key="scale").set_value(1e-6).run()
    at.slider(key="F").set_value(1).run()
    no_exception(at)
    r = row(at, "layernorm")  # F = 1: every token's variance is exactly 0
    assert "x̂ = 0 / √0 = NaN" in r["warning"] and r["verdict"]["text"].startswith("matches")


def test_norm_parameters_come_from_the_table_and_their_url_values_are_checked():
    """Every row's parameters (NORMS[key].params) get their widgets from the table, each in a container the browser
    shows while its row is chosen; a GroupScaling count that does not divide F from a link falls back to 0 (off)
    with a notice."""
    at = app_test(EXPLORER, query={"norm": "powernorm", "gscale": "3", "F": "8"})
    no_exception(at)
    assert at.selectbox(key="gscale").value == 0 and at.toggle(key="warmup").value is True
    warnings = " ".join(w.value for w in at.warning)
    assert "`gscale=3` does not divide F = 8; valid: 0, 1, 2, 4, 8 (0 = off)" in warnings
    assert message(at)["rows"]["powernorm"]["params"] == ["warmup", "gscale"]
    at.selectbox(key="gscale").select(2).run()
    at.toggle(key="warmup").set_value(False).run()
    no_exception(at)
    r = row(at, "powernorm")
    assert "agrees with an independent implementation" in r["verdict"]["text"]
    assert "xg = x.reshape(4, 6, 2, 4)" in r["snippet"] and "divisor = running_psi2" in r["snippet"]
    at.number_input(key="alpha").set_value(1.5).run()
    no_exception(at)
    assert "alpha = 1.5" in row(at, "dyt")["snippet"] and row(at, "dyt")["alpha"] == [1.5] * 8


def test_masked_lengths_hint_is_not_a_value_and_the_padding_pattern_is_one_click_away():
    """The grey placeholder is a hint only (the page says no padding is applied); the button applies the Padding
    page's pattern, which then reaches the statistics and the cube."""
    from norm_viz.core.data import default_lengths

    at = app_test(EXPLORER, query={"norm": "masked_batchnorm"})
    no_exception(at)
    box = at.text_input(key="lengths")
    assert box.value == "" and box.placeholder.startswith("empty = no padding")
    assert any("No padding applied" in c.value for c in at.caption)
    assert message(at)["lengths"] == [6, 6, 6, 6]  # every token real
    unmasked = row(at, "masked_batchnorm")["var"].tolist()
    at.button(key="_pad_like").click().run()
    no_exception(at)
    pattern = list(default_lengths(4, 6))
    assert at.text_input(key="lengths").value == ", ".join(map(str, pattern))
    assert message(at)["lengths"] == pattern and row(at, "masked_batchnorm")["var"].tolist() != unmasked
    assert not any("No padding applied" in c.value for c in at.caption)


def test_the_message_is_sent_once_and_the_view_only_when_python_changes_it():
    """The big message does not change with the view; the small view command goes out when Python changes the view
    (a link, a clamped cell), not on a rerun that changes neither, nor for a view the browser reported."""
    at = app_test(EXPLORER)
    first = raw(at)
    assert [(c["rev"], c["cell"]) for c in sent_views(at)] == [(0, [0, 0, 0])]
    at.run()
    assert raw(at) == first and view(at)["rev"] == 0
    browser_shows(at, "rmsnorm", (0, 0, 5))
    assert raw(at) == first and view(at)["rev"] == 0 and view(at)["cell"] == [0, 0, 5]
    at.slider(key="F").set_value(4).run()  # the chosen cell's f = 5 no longer exists: Python moves it
    assert view(at)["rev"] == 1 and view(at)["cell"] == [0, 0, 3] and view(at)["norm"] == "rmsnorm"
    assert raw(at) != first


def test_a_large_tensor_ships_the_chosen_rows_output_and_the_others_on_first_use():
    at = app_test(EXPLORER, query={"B": "16", "S": "32", "F": "64", "norm": "batchnorm"})
    no_exception(at)
    outputs = [k for k, r in message(at)["rows"].items() if r.get("y") is not None]
    assert outputs == ["batchnorm"] and len(raw(at)) < 400_000
    at.session_state["nvx"] = {"need": "rmsnorm"}  # what explorer.js's setTriggerValue("need") sends
    at.run()
    assert sorted(k for k, r in message(at)["rows"].items() if r.get("y") is not None) == ["batchnorm", "rmsnorm"]
