"""The signature cube as a Streamlit component (st.components.v2): drawn and relit in the browser (cube.js), a
click reported back to Python, which then moves the chosen cell (cb, cs, cf) and the norm in session state.

Usage: `cube(shape, norm, groups=…, lengths=…, key="…")` inside an `st.fragment`, before the cell inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import streamlit as st

from norm_viz.explore.cube import cube_command, cube_data
from norm_viz.ui.state import CELL_KEYS

JS = (Path(__file__).resolve().parent / "cube.js").read_text()

CSS = """
.nvcube { color: var(--st-text-color, #31333F); font-family: var(--st-font, sans-serif); }
.nvcube .head { display: flex; gap: 0.75rem; align-items: flex-start; justify-content: space-between; }
.nvcube .summary { font-size: 1rem; line-height: 1.4; min-height: 2.8em; }
.nvcube .views { display: flex; gap: 0.25rem; flex: none; }
.nvcube button { font: inherit; color: inherit; background: transparent; cursor: pointer;
  border: 1px solid rgba(128, 128, 128, 0.45); border-radius: 0.4rem; }
.nvcube .views button { width: 2.2rem; height: 2.2rem; font-size: 1.1rem; }
.nvcube button[aria-pressed="true"] { border: 2px solid #D55E00; font-weight: 700; }
.nvcube svg.main { display: block; width: 100%; user-select: none; }
.nvcube .wall { fill: currentColor; fill-opacity: 0.045; stroke: currentColor; stroke-opacity: 0.3; }
.nvcube .grid { fill: none; stroke: currentColor; stroke-opacity: 0.16; stroke-width: 1; }
.nvcube .glass { fill: none; stroke: currentColor; stroke-opacity: 0.85; stroke-width: 1.6; }
.nvcube .pad { fill-opacity: 0.92; }
.nvcube .row { fill: none; stroke-dasharray: 4 3; stroke-width: 1.5; }
.nvcube .ghost { opacity: 0.45; }
.nvcube .tick { fill: currentColor; font-size: 0.86rem; opacity: 0.8; }
.nvcube .axis { fill: currentColor; font-size: 0.95rem; font-weight: 600; }
.nvcube .hint { font-size: 0.85rem; opacity: 0.75; margin: 0.2rem 0 0.5rem; }
.nvcube .multiples { display: flex; flex-wrap: wrap; gap: 0.4rem; }
.nvcube .multiples button { display: flex; flex-direction: column; align-items: center; padding: 0.15rem 0.2rem;
  width: 7.4rem; }
.nvcube .multiples svg { width: 100%; height: auto; }
.nvcube .multiples span { font-size: 0.78rem; line-height: 1.15; text-align: center; min-height: 2.3em; }
.nvcube .mini-face { fill: currentColor; fill-opacity: 0.07; stroke: currentColor; stroke-opacity: 0.6; }
"""

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
"""Per cube key: (revision, cell, norm) of the last command sent and what the browser is known to show."""


def _on_pick(key: str, on_norm: Callable[[str], None] | None) -> None:
    """A click in the browser: move the chosen cell (and the norm) in session state before the rerun."""
    ss = st.session_state
    pick = (ss.get(key) or {}).get("pick")
    if not isinstance(pick, dict):
        return
    try:
        cell = tuple(int(v) for v in pick["cell"])
        norm = str(pick["norm"])
    except (KeyError, TypeError, ValueError):
        return
    known = ss.setdefault(_KNOWN, {}).get(key)
    if known is not None:
        ss[_KNOWN][key] = (known[0], known[1], known[2], cell, norm)  # the browser already shows it
    if len(cell) == 3:
        for k, v in zip(CELL_KEYS, cell, strict=True):
            ss[k] = v
    if on_norm is not None:
        on_norm(norm)


def _set_norm(norm: str) -> None:
    st.session_state["norm"] = norm


def cube(
    shape: tuple[int, int, int],
    norm: str,
    *,
    groups: int = 1,
    lengths: Sequence[int] = (),
    keys: Sequence[str] | None = None,
    key: str = "cube",
    multiples: bool = True,
    height: int = 430,
    on_norm: Callable[[str], None] | None = _set_norm,
) -> tuple[tuple[int, int, int], str]:
    """Draw the cube of a (B, S, F) tensor with the chosen cell (session state cb, cs, cf) and `norm` lit.

    A click on a face chooses a cell (written to cb, cs, cf); a click on a small cube chooses a norm (passed to
    `on_norm`, by default written to session state "norm"; None: the small cubes still relight the big one but the
    page's norm stays). Both redraw in the browser at once; the rerun that follows only updates what depends on them.
    `keys`: the norms of the small multiples (default: every row of NORMS). Returns (cell, norm) as the page has them.
    """
    ss = st.session_state
    cell = tuple(int(ss.get(k, 0)) for k in CELL_KEYS)
    cell = tuple(min(max(v, 0), n - 1) for v, n in zip(cell, shape, strict=True))
    known = ss.setdefault(_KNOWN, {}).get(key)
    stale = known is not None and not all(0 <= v < n for v, n in zip(known[1], shape, strict=True))
    changed = known is None or stale or (known[3], known[4]) != (cell, norm)
    if changed:
        rev = 0 if known is None else known[0] + 1
        known = (rev, cell, norm, cell, norm)
        ss[_KNOWN][key] = known
    rev, cmd_cell, cmd_norm = known[0], known[1], known[2]
    command = cube_command(shape, cmd_norm, cmd_cell, rev, keys, key)  # type: ignore[arg-type]
    data = cube_data(shape, groups=groups, lengths=lengths, keys=keys, cube_id=key, multiples=multiples, height=height)
    if changed:  # the browser keeps the last command it took (a page reload starts a new session: rev 0 again)
        _COMMAND(key=f"{key}_command", data=command, height=0)
    kwargs: dict[str, Any] = {"on_pick_change": lambda: _on_pick(key, on_norm)}
    _COMPONENT(key=key, data=data, height="content", **kwargs)
    return cell, norm  # type: ignore[return-value]
