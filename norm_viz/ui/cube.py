"""The cube of norm_viz/cube/ as a Streamlit component (st.components.v2): drawn and relit in the browser (cube.js),
a click reported back to Python, which then moves the chosen cell and the norm in session state (or, in the quiz,
records the marked cells).

Usage: `cube(shape, norm, groups=…, lengths=…, key="…")` inside an `st.fragment`, before the cell inputs. This file
is only the Streamlit side; the rule, the payload, the script and the static export live in norm_viz/cube/.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import streamlit as st

from norm_viz.cube.data import cube_command, cube_data
from norm_viz.cube.static import VIEWS
from norm_viz.ui.state import CELL_KEYS

_HOME = Path(__file__).resolve().parent.parent / "cube"
JS = (_HOME / "cube.js").read_text()
CSS = (_HOME / "cube.css").read_text()

_COMPONENT = st.components.v2.component("norm_viz.cube", js=JS, css=CSS)

COMMAND_JS = """
export default function ({ data }) {
  const all = (window.__nvcubeCmd = window.__nvcubeCmd || {});
  const last = all[data.id];
  if (last && last.rev >= data.rev) return;
  all[data.id] = data;
  window.dispatchEvent(new CustomEvent("nvcube-cmd", { detail: data }));
}
"""
_COMMAND = st.components.v2.component("norm_viz.cube_command", js=COMMAND_JS)
"""A tiny component that carries the page's cell and norm to the cube: when only they change, this (a few hundred
bytes) is resent and the cube itself (its script and data, ~20 KB) is not."""

_KNOWN = "_cube_known"
"""Per cube key: (revision, cell, norm, lit) of the last command sent, then the cell and norm the browser is known
to show."""

Cell = tuple[int, int, int]


def _on_pick(
    key: str,
    cell_keys: Sequence[str],
    on_norm: Callable[[str], None] | None,
    on_marks: Callable[[frozenset[Cell]], None] | None,
) -> None:
    """A click in the browser: move the chosen cell (and the norm), or record the marks, before the rerun."""
    ss = st.session_state
    pick = (ss.get(key) or {}).get("pick")
    if not isinstance(pick, dict):
        return
    try:
        cell = tuple(int(v) for v in pick["cell"])
        norm = str(pick["norm"])
        marks = frozenset(tuple(int(v) for v in m) for m in pick.get("marks") or ())
    except (KeyError, TypeError, ValueError):
        return
    if on_marks is not None:
        on_marks(frozenset(m for m in marks if len(m) == 3))  # type: ignore[misc]
        return
    known = ss.setdefault(_KNOWN, {}).get(key)
    if known is not None:
        ss[_KNOWN][key] = (*known[:4], cell, norm)  # the browser already shows it
    if len(cell) == 3:
        for k, v in zip(cell_keys, cell, strict=True):
            ss[k] = v
    if on_norm is not None:
        on_norm(norm)


_VIEWS = "_cube_view"
"""Per cube key: the view its buttons last chose (reported by cubes drawn with report_view=True)."""


def _on_view(key: str) -> None:
    view = (st.session_state.get(key) or {}).get("view")
    if isinstance(view, str) and view in VIEWS:
        st.session_state.setdefault(_VIEWS, {})[key] = view


def cube_view(key: str) -> str:
    """The view (one of cube.static.VIEWS) that cube `key`'s buttons chose, "right" until one is clicked; only cubes
    drawn with report_view=True report it."""
    return str(st.session_state.get(_VIEWS, {}).get(key, "right"))


def _set_norm(norm: str) -> None:
    st.session_state["norm"] = norm


def cube(
    shape: tuple[int, int, int],
    norm: str,
    *,
    groups: int = 1,
    lengths: Sequence[int] = (),
    keys: Sequence[str] | None = None,
    rules: Mapping[str, Mapping[str, Any]] | None = None,
    key: str = "cube",
    multiples: bool = True,
    height: int = 430,
    fit: float = 0.0,
    cell_keys: Sequence[str] = CELL_KEYS,
    mode: str = "choose",
    lit: bool = True,
    marks: Iterable[Cell] = (),
    on_norm: Callable[[str], None] | None = _set_norm,
    on_marks: Callable[[frozenset[Cell]], None] | None = None,
    report_view: bool = False,
) -> tuple[Cell, str]:
    """Draw the cube of a (B, S, F) tensor with the chosen cell (session state `cell_keys`) and `norm` lit.

    A click on a face chooses a cell (written to `cell_keys`); a click on a small cube chooses a norm (passed to
    `on_norm`, by default written to session state "norm"; None: the small cubes still relight the big one but the
    page's norm stays). Both redraw in the browser at once; the rerun that follows only updates what depends on them.
    `keys`: the norms of the small multiples (default: every row of NORMS); `rules`: rules of one's own instead.
    `mode` "mark": a click marks or unmarks a cell and `on_marks` gets every marked cell; "view": no clicks.
    `lit` False: the group is not shown. `fit` > 0: the drawing is at least that fraction of the window's height.
    `report_view`: a click on a view button is sent to Python (a rerun), read with `cube_view(key)`.
    Returns (cell, norm) as the page has them.
    """
    ss = st.session_state
    cell = tuple(int(ss.get(k, 0)) for k in cell_keys)
    cell = tuple(min(max(v, 0), n - 1) for v, n in zip(cell, shape, strict=True))
    known = ss.setdefault(_KNOWN, {}).get(key)
    stale = known is not None and not all(0 <= v < n for v, n in zip(known[1], shape, strict=True))
    changed = known is None or stale or (known[4], known[5], known[3]) != (cell, norm, lit)
    if changed:
        rev = 0 if known is None else known[0] + 1
        known = (rev, cell, norm, lit, cell, norm)
        ss[_KNOWN][key] = known
    rev, cmd_cell, cmd_norm, cmd_lit = known[:4]
    data = cube_data(
        shape,
        groups=groups,
        lengths=lengths,
        keys=keys,
        rules=rules,
        cube_id=key,
        multiples=multiples,
        height=height,
        fit=fit,
        mode=mode,
        marks=marks,
    )
    # what changes as the page goes (the cell, the norm, whether the group is lit) travels in the small command, so
    # the cube's own data (and script) stay unchanged and are not sent again
    command = cube_command(shape, cmd_norm, cmd_cell, rev, data["rules"], key, lit=cmd_lit)  # type: ignore[arg-type]
    if changed:  # the browser keeps the last command it took (a page reload starts a new session: rev 0 again)
        _COMMAND(key=f"{key}_command", data=command, height=0)
    kwargs: dict[str, Any] = {"on_pick_change": lambda: _on_pick(key, cell_keys, on_norm, on_marks)}
    if report_view:
        data["report_view"] = True
        kwargs["on_view_change"] = lambda: _on_view(key)
    _COMPONENT(key=key, data=data, height="content", **kwargs)
    return cell, norm  # type: ignore[return-value]
