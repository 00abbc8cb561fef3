"""The norm picker, the normalized tensor with friendly errors, and the chosen cell."""

from __future__ import annotations

from typing import Any

import streamlit as st
import torch

from norm_viz.core.compute import NormResult, normalize
from norm_viz.core.config import NormConfig, parse_lengths
from norm_viz.core.data import lengths_mask
from norm_viz.core.params import choice, flag, float_in, int_in, number_list
from norm_viz.core.table import NORMS, default_groups, valid_group_counts
from norm_viz.ui.state import CELL_KEYS, init_state, notice
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


def norm_controls(shape: tuple[int, int, int], container: Any = None) -> NormConfig | None:
    """The normalization picker and its parameters; None (with a message shown) when they are invalid."""
    box = container or st
    b, s, f = shape
    init_state("norm", "layernorm", choice(list(NORMS)))
    g_from_url = init_state("G", 0, int_in(0, MAX_F))
    init_state("eps", 1e-5, float_in(0.0, 10.0))
    init_state("gamma", 1.0, float_in(-100, 100))
    init_state("beta", 0.0, float_in(-100, 100))
    init_state("lengths", "", number_list)
    init_state("alpha", 0.5, float_in(-100, 100))
    init_state("warmup", True, flag)
    init_state("gscale", 0, int_in(0, MAX_F))
    c1, c2, c3, c4 = box.columns([3, 2, 2, 2])
    key = c1.selectbox("Normalization", list(NORMS), format_func=lambda k: NORMS[k].label, key="norm")
    spec = NORMS[key]
    groups = 1
    if spec.uses_groups:
        valid = valid_group_counts(f)
        if st.session_state.G not in valid:
            if g_from_url:
                notice(
                    f"URL parameter `G={st.session_state.G}` does not divide F = {f}; valid group counts: "
                    f"{', '.join(map(str, valid))}. Using {default_groups(f)}."
                )
            st.session_state.G = default_groups(f)
        groups = c2.selectbox(f"groups (divisors of F = {f})", valid, key="G")
    c3.number_input("ε (eps)", 0.0, 10.0, format="%.0e", key="eps", help="added to the variance inside the square root")
    g1, g2 = c4.columns(2)
    g1.number_input(
        "γ", -100.0, 100.0, key="gamma", help="scale applied after normalizing (same for every feature here)"
    )
    g2.number_input("β", -100.0, 100.0, key="beta", help="shift applied after scaling")
    if spec.key == "dyt":
        c2.number_input("α (DyT)", -100.0, 100.0, step=0.1, key="alpha", help="y = γ·tanh(α·x) + β")
    if spec.key == "powernorm":
        p1, p2 = box.columns(2)
        p1.toggle(
            "warm-up step (divide by this batch's ψ²; off: by the running ψ², here its initial value 1)",
            key="warmup",
        )
        options = [0, *valid_group_counts(f)]
        if st.session_state.gscale not in options:
            st.session_state.gscale = 0
        p2.selectbox(
            "GroupScaling groups (0 = off; the authors' code applies it first)",
            options,
            key="gscale",
        )
    lengths: tuple[int, ...] = ()
    if spec.masked:
        text = box.text_input(
            f"Sequence lengths (one per sequence, 0..{s}; the rest is padding)",
            key="lengths",
            placeholder=", ".join(str(max(1, s - i)) for i in range(b)),
        )
        try:
            lengths = parse_lengths(text, b, s)
        except ValueError as e:
            box.error(f"{e}. Example for B = {b}: {', '.join(str(max(1, s - i)) for i in range(b))}")
            return None
    ss = st.session_state
    return NormConfig(
        key,
        groups,
        float(ss.eps),
        float(ss.gamma),
        float(ss.beta),
        lengths,
        float(ss.alpha),
        bool(ss.warmup),
        int(ss.gscale) if key == "powernorm" else 0,
    )


def run_norm(x: torch.Tensor, cfg: NormConfig) -> NormResult | None:
    """normalize() with the config; a ValueError becomes an error box saying what is wrong."""
    _b, s, f = x.shape
    spec = NORMS[cfg.key]
    mask = lengths_mask(cfg.lengths, s) if spec.masked and cfg.lengths else None
    affine = (s, f) if spec.affine == "sequence_feature" else (f,)
    weight = None if cfg.gamma == 1.0 else torch.full(affine, cfg.gamma)
    bias = None if cfg.beta == 0.0 else torch.full(affine, cfg.beta)
    try:
        r = normalize(
            x,
            cfg.key,
            cfg.eps,
            groups=cfg.groups,
            mask=mask,
            weight=weight,
            bias=bias,
            alpha=cfg.alpha,
            warmup=cfg.warmup,
            scaling_groups=cfg.scaling_groups,
        )
    except ValueError as e:
        st.error(f"{spec.label} cannot run on this tensor: {e}")
        return None
    if not torch.isfinite(r.output).all():
        st.warning(
            f"With ε = {cfg.eps:g}, a group whose values are all equal has variance 0, so x̂ = 0 / √0 = NaN "
            "(torch.nn gives NaN too). Set ε > 0, e.g. 1e-5, to get 0 instead.",
            icon=":material/warning:",
        )
    return r


def init_cell(shape: tuple[int, int, int]) -> tuple[int, int, int]:
    """The chosen cell (cb, cs, cf) from the URL or session, clamped into the tensor with a notice."""
    out = []
    for k, n, axis in zip(CELL_KEYS, shape, ("batch", "sequence", "feature"), strict=True):
        from_url = init_state(k, 0, int_in(0, 10**6))
        v = int(st.session_state[k])
        if v >= n:
            if from_url:
                notice(f"URL parameter `{k}={v}` is outside this tensor ({axis} has {n}); using {n - 1}.")
            st.session_state[k] = v = n - 1
        out.append(v)
    return out[0], out[1], out[2]


def cell_inputs(shape: tuple[int, int, int], container: Any = None) -> tuple[int, int, int]:
    """Three number inputs for the chosen cell (call init_cell first)."""
    box = container or st
    b, s, f = shape
    c1, c2, c3 = box.columns(3)
    c1.number_input("b (batch)", 0, b - 1, key="cb")
    c2.number_input("s (sequence)", 0, s - 1, key="cs")
    c3.number_input("f (feature)", 0, f - 1, key="cf")
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
