"""Shareable state, for every page of app.py's PAGES: state -> URL -> fresh session -> the same view,
and malformed links (garbage, out-of-range numbers, unknown names and keys) fall back with a notice."""

from __future__ import annotations

import functools
from typing import Any

import pytest
from conftest import ROOT, app_test, charts, no_exception, page_entries

from norm_viz import ui
from norm_viz.core.data import KINDS, PRESETS
from norm_viz.core.table import NORMS
from norm_viz.ui.real import REAL_PARAMS

PAGES = page_entries()
WIDGET_TYPES = (
    "slider",
    "select_slider",
    "selectbox",
    "number_input",
    "radio",
    "toggle",
    "checkbox",
    "text_input",
    "text_area",
)
TEXT_TYPES = ("text_input", "text_area")
FREE_TEXT = {"rl_text"}
"""Parameters whose every value is valid text (the real sentences; their box is keyed '_rl_text_w')."""
assert {p.key for p in REAL_PARAMS} >= FREE_TEXT
STRUCTURAL = {"src"}
"""Changing these swaps the page's controls (the tensor's source): covered by their own test below."""
POOL: list[Any] = [*NORMS, *KINDS, *PRESETS, *ui.SOURCES, *range(0, 65), "batch", "sequence"]
"""Underlying values to try for select boxes whose labels are formatted (AppTest selects by value)."""
GARBAGE = "%%garbage%%"


def widgets(at) -> dict[str, Any]:
    """Every keyed widget of a run that the URL should carry (keys starting with '_' are transient)."""
    out = {}
    for t in WIDGET_TYPES:
        for w in getattr(at, t):
            if w.key and not w.key.startswith("_"):
                out[w.key] = w
    return out


def values(at) -> dict[str, Any]:
    return {k: w.value for k, w in widgets(at).items()}


def latex(at) -> list[str]:
    return [el.value for el in at.latex]


def url_notices(at) -> str:
    return " ".join(w.value for w in at.warning if "URL parameter" in w.value)


def _label(fmt: Any, value: Any) -> str | None:
    try:
        return str(fmt(value))
    except (KeyError, IndexError, TypeError, ValueError):  # the format function knows only its own options
        return None


@functools.cache
def defaults(url_path: str) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """(widget values, query params, widget types) of a page opened without parameters."""
    at = app_test(url_path)
    no_exception(at)
    return values(at), dict(at.query_params), {k: w.type for k, w in widgets(at).items()}


def other_value(w: Any) -> Any:
    """A valid value different from the widget's current one, or None when there is none to try."""
    v = w.value
    if w.type in ("toggle", "checkbox"):
        return not v
    if w.type in ("slider", "number_input"):
        if isinstance(v, (tuple, list)):
            return None
        step = w.step or 1
        hi = w.max if w.max is not None else v + step
        lo = w.min if w.min is not None else v - step
        new = v + step if v + step <= hi else v - step
        return new if lo <= new <= hi and new != v else None
    if w.type in ("selectbox", "radio"):
        labels, fmt = list(w.options), w.format_func
        here = labels.index(fmt(v)) if fmt(v) in labels else -1
        wanted = labels[(here + 1) % len(labels)] if labels else None
        for c in POOL:
            if type(c) is type(v) and c != v and _label(fmt, c) == wanted:
                return c
        return None
    return None


@pytest.mark.parametrize("entry", PAGES, ids=lambda e: e.url_path)
def test_round_trip_reproduces_the_view(entry):
    """Change every widget, copy the URL, open it in a fresh session: same widgets, same figures, same maths."""
    default_values, query, _ = defaults(entry.url_path)
    assert ("norm" in query) == (entry in NORM_PAGES), "NORM_PAGES lists exactly the pages with a norm in the URL"
    at = app_test(entry.url_path)
    changed = []
    for key, w in widgets(at).items():
        new = other_value(w)
        if key not in STRUCTURAL and new is not None:
            w.set_value(new)
            changed.append(key)
    at.run()
    at.run()  # let values that depend on others settle (e.g. a cell clamped into a smaller tensor)
    no_exception(at)
    state = values(at)
    assert any(state.get(k) != default_values.get(k) for k in changed), f"nothing changed on {entry.url_path}"
    query = dict(at.query_params)
    missing = [k for k in state if k not in query]
    assert not missing, f"widgets {missing} of {entry.url_path} are not in the URL, so a link loses them"

    fresh = app_test(entry.url_path, query)
    no_exception(fresh)
    assert values(fresh) == state
    assert charts(fresh) == charts(at)
    assert latex(fresh) == latex(at)
    assert url_notices(fresh) == "", "the app's own link must not trigger notices"
    assert dict(fresh.query_params) == query


@pytest.mark.parametrize("entry", PAGES, ids=lambda e: e.url_path)
def test_garbage_values_fall_back_with_a_notice(entry):
    default_values, default_query, types = defaults(entry.url_path)
    query = {k: GARBAGE for k in default_query} | {"zz_unknown": "1"}
    at = app_test(entry.url_path, query)
    no_exception(at)
    notes = url_notices(at)
    got = values(at)
    for k in default_query:
        if types.get(k) in TEXT_TYPES or k in FREE_TEXT:
            continue
        assert f"`{k}={GARBAGE}`" in notes, f"no notice for {k}"
        if k in got:
            assert got[k] == default_values[k], k
    assert "`zz_unknown`" in notes
    assert "zz_unknown" not in at.query_params
    kept = [v for k, v in at.query_params.items() if k not in FREE_TEXT]  # any text is a valid sentence
    assert GARBAGE not in kept, "the URL must be rewritten with the values in use"


@pytest.mark.parametrize("entry", PAGES, ids=lambda e: e.url_path)
@pytest.mark.parametrize("sign", ["", "-"])
def test_out_of_range_numbers_fall_back_with_a_notice(entry, sign):
    default_values, _, types = defaults(entry.url_path)
    numeric = [
        k for k, t in types.items() if t in ("slider", "number_input") and not isinstance(default_values[k], tuple)
    ]
    if not numeric:
        pytest.skip(f"{entry.url_path} has no numeric widget")
    query = {k: sign + ("999999999999" if isinstance(default_values[k], int) else "1e300") for k in numeric}
    at = app_test(entry.url_path, query)
    no_exception(at)
    notes, got = url_notices(at), values(at)
    for k in numeric:
        assert f"`{k}={query[k]}`" in notes, f"no notice for {k}"
        assert got[k] == default_values[k]
        assert "out of range" in notes


NORM_PAGES = [
    e
    for e in PAGES
    if any(f"ui.{f}(" in (ROOT / e.file).read_text() for f in ("norm_controls", "user_result"))
    or "explorer_controls(" in (ROOT / e.file).read_text()  # the Explorer: its norm picker is in its component
]
"""The pages with the norm picker, read from their source (collection runs no page)."""


@pytest.mark.parametrize("entry", NORM_PAGES, ids=lambda e: e.url_path)
def test_unknown_norm_name_lists_the_valid_ones(entry):
    assert "norm" in defaults(entry.url_path)[1], "a page with the norm picker keeps the norm in its URL"
    at = app_test(entry.url_path, {"norm": "superNorm"})
    no_exception(at)
    notes = url_notices(at)
    assert "`norm=superNorm`" in notes
    assert all(k in notes for k in NORMS), "the notice says which names are valid"
    assert at.query_params["norm"] == defaults(entry.url_path)[1]["norm"]


def test_cell_outside_the_tensor_is_clamped_with_a_notice():
    at = app_test("explorer", {"B": "2", "S": "3", "F": "4", "cb": "1", "cs": "50", "cf": "3"})
    no_exception(at)
    assert tuple(at.session_state[k] for k in ("cb", "cs", "cf")) == (1, 2, 3)  # the Explorer's cell
    assert "`cs=50` is outside this tensor" in url_notices(at)
    assert at.query_params["cs"] == "2"


def test_group_count_that_does_not_divide_f_is_replaced_with_a_notice():
    at = app_test("explorer", {"F": "8", "norm": "groupnorm", "G": "3"})
    no_exception(at)
    assert at.selectbox(key="G").value in (1, 2, 4, 8)
    notes = url_notices(at)
    assert "`G=3` does not divide F = 8" in notes and "1, 2, 4, 8" in notes


def test_a_preset_link_opens_the_preset():
    at = app_test("explorer", {"src": "preset", "preset": "interview", "norm": "batchnorm"})
    no_exception(at)
    assert at.radio(key="src").value == "preset"
    fresh = app_test("explorer", dict(at.query_params))
    assert charts(fresh) == charts(at)
    assert fresh.selectbox(key="preset").value == "interview"


def test_url_values_from_a_link_win_over_the_session_values():
    """A page link with query parameters (e.g. from an interview card) must show its settings, not the old ones."""
    at = app_test("explorer")
    at.slider(key="B").set_value(7).run()
    at.query_params.update({"B": "3", "norm": "batchnorm"})
    at.run()
    assert at.slider(key="B").value == 3
    assert at.session_state["norm"] == "batchnorm"
    at.slider(key="B").set_value(5).run()  # and later changes by the user stick
    assert at.slider(key="B").value == 5
    assert at.query_params["B"] == "5"


def test_presentation_mode_is_in_the_link():
    at = app_test("explorer", {"present": "1"})
    no_exception(at)
    assert at.toggle(key="present").value is True
    assert at.query_params["present"] == "1"
    assert any(".st-key-eps" in m.value for m in at.markdown), "presentation mode hides the norm's fine print"
    fresh = app_test("explorer", {"present": "maybe"})
    assert fresh.toggle(key="present").value is False
    assert "`present=maybe`" in url_notices(fresh)


def test_the_tensor_and_the_norm_survive_a_visit_to_a_page_without_them():
    """The sidebar's tensor and the chosen norm come back after a page that draws neither (Streamlit forgets a widget's
    value when a run does not draw it; ui.state keeps a copy), with no URL to carry them."""
    at = app_test("explorer")
    at.slider(key="B").set_value(7).run()
    at.session_state["norm"] = "batchnorm"
    at.run()
    at.switch_page("pages/sources.py")
    at.query_params.clear()
    at.run()
    no_exception(at)
    assert "B" not in at.session_state  # Streamlit has dropped the widget's own value
    at.switch_page("pages/explorer.py")
    at.query_params.clear()
    at.run()
    no_exception(at)
    assert at.slider(key="B").value == 7
    assert at.session_state["norm"] == "batchnorm"
