"""The norm picker, the normalized tensor with friendly errors, and the chosen cell."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import streamlit as st
import torch

from norm_viz.core.compute import NormResult, normalize
from norm_viz.core.config import NormConfig, parse_lengths
from norm_viz.core.data import default_lengths
from norm_viz.core.params import NormParam, Param, choice, int_in, number_list
from norm_viz.core.table import NORMS, norm_params
from norm_viz.explore.explorer import nonfinite_output_message
from norm_viz.ui.real import source_lengths
from norm_viz.ui.safety import literal
from norm_viz.ui.state import CELL_KEYS, declare, init_state, notice
from norm_viz.ui.tensor import MAX_F


def user_result(x: torch.Tensor) -> tuple[NormConfig, NormResult]:
    """The norm picker and the normalized tensor; the page stops here (with a message shown) when they are invalid."""
    ncfg = norm_controls(tuple(x.shape))  # type: ignore[arg-type]
    r = None if ncfg is None else run_norm(x, ncfg)
    if ncfg is None or r is None:
        st.info(
            "Change the tensor or the parameters above; the rest of the page returns when the normalization can run."
        )
        st.stop()
    return ncfg, r  # type: ignore[return-value]


def _url_parser(p: NormParam) -> Callable[[str], Any]:
    """The URL parser of a norm parameter; a whole-number one without an upper limit stops at the largest F."""
    if p.hi is None and isinstance(p.default, int) and not isinstance(p.default, bool) and p.options is None:
        return int_in(int(p.lo or 0), MAX_F)
    return p.parse


def param_widget(box: Any, p: NormParam, f: int) -> Any:
    """Show one norm parameter's widget (generated from its NormParam) and return its value."""
    label = p.label.format(F=f)
    if p.widget == "select":
        return box.selectbox(label, p.valid(f), key=p.key, help=p.help or None)
    if p.widget == "toggle":
        return box.toggle(label, key=p.key, help=p.help or None)
    lo = None if p.lo is None else float(p.lo)
    hi = None if p.hi is None else float(p.hi)
    return box.number_input(label, lo, hi, step=p.step, key=p.key, help=p.help or None)


def _known_norm(raw: str) -> str:
    return str(choice(list(NORMS))(raw))  # read NORMS on use: rows may be added at run time


NORM_PARAMS: tuple[Param, ...] = (
    Param("norm", "layernorm", parser=_known_norm),
    Param("eps", 1e-5, 0.0, 10.0),
    Param("gamma", 1.0, -100.0, 100.0),
    Param("beta", 0.0, -100.0, 100.0),
    Param("lengths", "", parser=number_list),
)
"""The norm picker's own parameters; each row's parameters (groups, α, …) come from NORMS (table.norm_params)."""


def declare_norm_params() -> dict[str, bool]:
    """Give the picker's parameters and every row's own (groups, α, …) their values (URL, session, default); a norm
    that is gone (a row registered at run time) falls back to LayerNorm. Returns which row parameters came from the
    URL (for settle_params' notices)."""
    declare(NORM_PARAMS[:1])
    from_url = {p.key: init_state(p.key, p.default, _url_parser(p)) for p in norm_params()}
    declare(NORM_PARAMS[1:])
    if st.session_state.norm not in NORMS:
        st.session_state.norm = "layernorm"
    return from_url


def settle_params(params: Iterable[NormParam], f: int, from_url: Mapping[str, bool]) -> None:
    """A value not valid for F features falls back to a valid one (a group count that does not divide F, say), with
    a notice when it came from a link."""
    for p in params:
        v = st.session_state[p.key]
        ok = p.settle(v, f)
        if ok != v:
            if from_url.get(p.key):
                valid = ", ".join(map(str, p.valid(f) or ()))
                notice(f"URL parameter {literal(f'{p.key}={v}')} {p.invalid.format(F=f, valid=valid)}. Using {ok}.")
            st.session_state[p.key] = ok


def norm_controls(shape: tuple[int, int, int], container: Any = None) -> NormConfig | None:
    """The normalization picker and its parameters; None (with a message shown) when they are invalid.

    The picker lists the rows of NORMS; each row's own parameters (NORMS[key].params) get their widgets, URL keys
    and NormConfig entries from their NormParam: an inline one next to the picker, the others in a row below.
    """
    box = container or st
    f = shape[2]
    from_url = declare_norm_params()
    c1, c2, c3, c4 = box.columns([3, 2, 2, 2])
    key = c1.selectbox("Normalization", list(NORMS), format_func=lambda k: NORMS[k].label, key="norm")
    spec = NORMS[key]
    settle_params(spec.params, f, from_url)
    c3.number_input("ε (eps)", 0.0, 10.0, format="%.0e", key="eps", help="added to the variance inside the square root")
    g1, g2 = c4.columns(2)
    g1.number_input(
        "γ", -100.0, 100.0, key="gamma", help="scale applied after normalizing (same for every feature here)"
    )
    g2.number_input("β", -100.0, 100.0, key="beta", help="shift applied after scaling")
    inline = [p for p in spec.params if p.inline]
    below = [p for p in spec.params if not p.inline]
    for p, col in zip(inline, [c2] * len(inline), strict=True):
        param_widget(col, p, f)
    if below:
        for p, col in zip(below, box.columns(len(below)), strict=True):
            param_widget(col, p, f)
    lengths: tuple[int, ...] | None = lengths_input(box, shape) if spec.masked else ()
    if lengths is None:  # the field says what is wrong
        return None
    ss = st.session_state
    return NormConfig(
        key,
        float(ss.eps),
        float(ss.gamma),
        float(ss.beta),
        lengths,
        tuple((p.name, ss[p.key]) for p in spec.params),
    )


def lengths_input(box: Any, shape: tuple[int, int, int]) -> tuple[int, ...] | None:
    """The padding lengths field of a masked norm (with its "Pad like the Padding page" button) in `box`: the parsed
    lengths, () for no padding, the real sentences' own lengths while the box is empty on that source, or None after
    showing what is wrong with the text and an example that would be valid."""
    b, s, _ = shape
    real = source_lengths(shape)  # real sentences bring their own padding mask
    pattern = ", ".join(map(str, default_lengths(b, s)))
    t1, t2 = box.columns([3, 1], vertical_alignment="bottom")
    text = t1.text_input(
        f"Sequence lengths (one per sequence, 0..{s}; the rest is padding)",
        key="lengths",
        placeholder=f"empty = no padding (all {s} tokens real); e.g. {pattern}"
        if real is None
        else ", ".join(map(str, real)),
        help="The grey text is a hint, not a value: while the box is empty every token is real."
        if real is None
        else "Empty: the real sentences' own lengths (shown in grey) are applied.",
    )
    t2.button(
        "Pad like the Padding page",
        key="_pad_like",
        on_click=lambda: st.session_state.update(lengths=pattern),
        help=f"Fills in {pattern}: full sequences and half-length ones.",
    )
    try:
        lengths = real if real is not None and not text.strip() else parse_lengths(text, b, s)
    except ValueError as e:
        box.error(f"{e}. Example for B = {b}: {pattern}")
        return None
    if not text.strip():
        box.caption(
            f"No padding applied: every sequence keeps all {s} tokens, so the mask removes nothing."
            if real is None
            else f"The real sentences' own lengths are applied: {', '.join(map(str, real))}."
        )
    return lengths


def run_norm(x: torch.Tensor, cfg: NormConfig) -> NormResult | None:
    """normalize(x, cfg); a ValueError becomes an error box saying what is wrong."""
    try:
        r = normalize(x, cfg)
    except ValueError as e:
        st.error(f"{NORMS[cfg.key].label} cannot run on this tensor: {e}")
        return None
    if not torch.isfinite(r.output).all():
        st.warning(nonfinite_output_message(r), icon=":material/warning:")
    return r


def init_cell(shape: tuple[int, int, int]) -> tuple[int, int, int]:
    """The chosen cell (cb, cs, cf) from the URL or session, clamped into the tensor with a notice."""
    out = []
    for k, n, axis in zip(CELL_KEYS, shape, ("batch", "sequence", "feature"), strict=True):
        from_url = init_state(k, 0, int_in(0, 10**6))
        v = int(st.session_state[k])
        if v >= n:
            if from_url:
                notice(f"URL parameter {literal(f'{k}={v}')} is outside this tensor ({axis} has {n}); using {n - 1}.")
            st.session_state[k] = v = n - 1
        out.append(v)
    return out[0], out[1], out[2]


def cell_inputs(shape: tuple[int, int, int], container: Any = None, row: bool = False) -> tuple[int, int, int]:
    """Three number inputs for the chosen cell (call init_cell first): in three columns, or (`row`) straight into
    one horizontal container (fewer elements to resend when the cell changes)."""
    box = container or st
    b, s, f = shape
    if row:
        box = box.container(horizontal=True)
    c1, c2, c3 = (box, box, box) if row else box.columns(3)
    size: Any = {"width": 84} if row else {}  # three in a row fit a 290 px column (the Explorer at 1280 px)
    c1.number_input("b (batch)", 0, b - 1, key="cb", **size)
    c2.number_input("s (sequence)", 0, s - 1, key="cs", **size)
    c3.number_input("f (feature)", 0, f - 1, key="cf", **size)
    ss = st.session_state
    return int(ss.cb), int(ss.cs), int(ss.cf)


def clicked_cell(chart_state: Any, shape: tuple[int, int, int]) -> tuple[int, int, int] | None:
    """The (b, s, f) of the point clicked on a heatmaps_figure chart, or None (nothing valid clicked)."""
    try:
        point = chart_state["selection"]["points"][0]
        data = point["customdata"]
        if isinstance(data, dict):  # the browser may send a JSON array as an index-keyed object
            data = [data[k] for k in sorted(data, key=int)]
        cell = tuple(int(v) for v in list(data)[:3])
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    if len(cell) != 3 or not all(0 <= v < n for v, n in zip(cell, shape, strict=True)):
        return None
    return cell  # type: ignore[return-value]
