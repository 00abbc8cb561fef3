"""Plotly figures for the transformer-question pages: running statistics, per-norm bars, padding, leak maps,
devices, and pre- vs post-norm (the residual stream, the gradient per block, the two block layouts).

plotly and numpy only (no streamlit): every function takes a result of a norm_viz.questions module and returns a
go.Figure; the colours and the layout come from norm_viz.core.theme so that the same thing looks the same everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from norm_viz.core.numbers import fmt_delta, plural
from norm_viz.core.theme import (
    AXIS_TITLES,
    FAINT,
    FONT,
    INK,
    INPUT,
    LIT,
    OUTPUT,
    PAD,
    SELECTED,
    apply_layout,
    log_ticks,
    wrap_label,
)
from norm_viz.questions.causal import CausalCheck
from norm_viz.questions.common import Bars
from norm_viz.questions.dependence import DependenceCheck
from norm_viz.questions.multi_device import MultiDeviceCheck
from norm_viz.questions.padding import PaddingCheck
from norm_viz.questions.placement import LABELS, PLACEMENTS, Comparison
from norm_viz.questions.train_eval import RunningStats

CHANGED = SELECTED  # a norm whose outputs moved
UNCHANGED = OUTPUT  # a norm whose outputs did not move
NOT_RUN = FAINT
DEVICE_COLOURS = ("#56B4E9", "#E69F00", "#009E73", "#CC79A7", "#0072B2", "#D55E00", "#F0E442", INK)
"""Okabe-Ito colours, one per simulated device."""
MOVING_COLOURS = tuple(c for c in (*DEVICE_COLOURS[1:], DEVICE_COLOURS[0]) if c not in (UNCHANGED, INK))
"""Lines of norms that moved: never the green of 'unchanged' (the second one once was), nor the neutral grey."""
MOVING_DASHES = ("solid", "dot", "dashdot")
LEAK_SCALE = [[0.0, "rgba(253, 224, 178, 0)"], [0.15, "#FDE0B2"], [0.5, LIT], [1.0, "#7A3B00"]]
"""Blank (the theme's background, light or dark) for 'did not change', then orange to dark brown as it grows."""


# --- train vs eval -------------------------------------------------------------------------------


def running_stats_figure(rs: RunningStats, feature: int = 0) -> go.Figure:
    """One feature's batch μ and σ² per step against the running estimates of PyTorch and Keras."""
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=(f"mean of feature {feature}", f"variance of feature {feature}"),
        horizontal_spacing=0.1,
    )
    steps = np.arange(1, rs.steps + 1)
    series = (
        (rs.batch_mean, rs.batch_var, "this step's batch", INPUT, "markers", None),
        (rs.torch_mean, rs.torch_var, f"PyTorch running (momentum {rs.momentum:g} on the new)", OUTPUT, "lines", None),
        (
            rs.keras_mean,
            rs.keras_var,
            f"Keras moving (momentum {rs.keras_momentum:g} on the old)",
            LIT,
            "lines",
            "dash",
        ),
    )
    for mean, var, name, colour, mode, dash in series:
        for c, t in ((1, mean), (2, var)):
            fig.add_trace(
                go.Scatter(
                    x=steps,
                    y=t[:, feature].numpy(),
                    name=name,
                    mode=mode,
                    showlegend=c == 1,
                    legendgroup=name,
                    marker={"color": colour, "size": 8},
                    line={"color": colour, "width": 3, "dash": dash},
                    hovertemplate=f"{name}<br>step %{{x}}: %{{y:.4g}}<extra></extra>",
                ),
                row=1,
                col=c,
            )
    fig.update_xaxes(title_text="training step")
    fig.update_yaxes(title_text="mean μ", row=1, col=1)
    fig.update_yaxes(title_text="variance σ²", row=1, col=2)
    return apply_layout(
        fig,
        "Running statistics lag behind a drifting distribution",
        430,
        top=120,
        legend_y=1.09,
        showlegend=True,
        grid=True,
    )


# --- one bar per norm ----------------------------------------------------------------------------


def norm_bars_figure(
    labels: Sequence[str],
    values: Sequence[float | None],
    changed: Sequence[bool | None],
    title: str,
    axis_title: str,
    notes: Sequence[str] | None = None,
) -> go.Figure:
    """One horizontal bar per norm, its number written on it; red-orange when it changed, green when it did not."""
    colours = [NOT_RUN if c is None else CHANGED if c else UNCHANGED for c in changed]
    text = [fmt_delta(v) for v in values]
    if notes:
        text = [f"{t}  {n}" if n else t for t, n in zip(text, notes, strict=True)]
    fig = go.Figure(
        go.Bar(
            y=list(labels),
            x=[0.0 if v is None else v for v in values],
            orientation="h",
            marker_color=colours,
            text=text,
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}: %{x:.4g}<extra></extra>",
        )
    )
    top = max([v for v in values if v is not None] + [1e-12])
    fig.update_xaxes(title_text=axis_title, range=[0, top * 1.35])
    fig.update_yaxes(autorange="reversed", tickfont={"size": 16})
    return apply_layout(fig, title, 60 + 42 * len(labels), showlegend=False, grid=True)


def bars_figure(bars: Bars) -> go.Figure:
    """The per-norm bar chart of a Bars result."""
    return norm_bars_figure(bars.labels, bars.values, bars.changed, bars.title, bars.axis_title, bars.notes or None)


# --- padding -------------------------------------------------------------------------------------


def padding_mask_figure(check: PaddingCheck) -> go.Figure:
    """The (batch, sequence) grid of real tokens and pads."""
    m = check.mask.numpy().astype(float)
    b, s = m.shape
    fig = go.Figure(
        go.Heatmap(
            z=m,
            zmin=0,
            zmax=1,
            colorscale=[[0, PAD], [0.5, PAD], [0.5, INPUT], [1, INPUT]],
            showscale=False,
            xgap=2,
            ygap=2,
            text=np.where(m > 0, "real", "pad"),
            texttemplate="%{text}" if b * s <= 160 else None,
            hovertemplate="b=%{y} s=%{x}: %{text}<extra></extra>",
        )
    )
    fig.update_xaxes(title_text=AXIS_TITLES["sequence"], showgrid=False, dtick=1 if s <= 16 else None)
    fig.update_yaxes(
        title_text=AXIS_TITLES["batch"], autorange="reversed", showgrid=False, dtick=1 if b <= 16 else None
    )
    return apply_layout(
        fig,
        # short: the grid sits in a narrow column (its title, with the pad value, was cut at 1280 px); the cells and
        # the hover say "pad", the field above says the value
        f"{check.pads} of {plural(b * s, 'position')} padded",
        130 + 30 * b,
        showlegend=False,
        grid=True,
    )


def padding_stats_figure(check: PaddingCheck) -> go.Figure:
    """BatchNorm's per-feature mean and variance with the pads counted and over the real tokens only."""
    f = check.bn_mean_padded.numel()
    feats = np.arange(f)
    fig = make_subplots(rows=1, cols=2, subplot_titles=("mean μ per feature", "variance σ² per feature"))
    for c, (padded, real) in enumerate(
        ((check.bn_mean_padded, check.bn_mean_real), (check.bn_var_padded, check.bn_var_real)), start=1
    ):
        for t, name, colour in ((padded, "BatchNorm (pads counted)", PAD), (real, "real tokens only (masked)", INPUT)):
            fig.add_trace(
                go.Bar(
                    x=feats,
                    y=t.numpy(),
                    name=name,
                    marker_color=colour,
                    showlegend=c == 1,
                    legendgroup=name,
                    hovertemplate=f"{name}<br>feature %{{x}}: %{{y:.4g}}<extra></extra>",
                ),
                row=1,
                col=c,
            )
    fig.update_layout(barmode="group")
    fig.update_xaxes(title_text=AXIS_TITLES["feature"], dtick=1 if f <= 16 else None)
    return apply_layout(
        fig, "BatchNorm's statistics with and without the pads", 420, top=120, legend_y=1.09, showlegend=True, grid=True
    )


# --- causal leakage ------------------------------------------------------------------------------


def _leak_label(v: float) -> str:
    """A change as a cell label of at most four characters ('.57', '1.2', '<.01'); blank for exactly none."""
    if v == 0:
        return ""
    if v < 0.005:
        return "<.01"
    return f"{v:.2f}".lstrip("0") if v < 1 else f"{v:.2g}"


LEAK_LABEL_PX = 34
"""The narrowest cell (px) that holds a four-character label at size 11."""
LEAK_MAPS_PX = 780
"""The width the maps are assumed to span: the page's full width at 1280 px less the sidebar and the colour bar."""


def leak_maps_figure(check: CausalCheck, keys: Sequence[str] | None = None, cols: int = 3) -> go.Figure:
    """Small multiples, one (batch × sequence) map per norm: max |Δ output| after perturbing one token.

    Three maps a row, so that the long names ('LayerNorm over (sequence, features)') stay apart; the cells print
    their change only where the label fits in the cell (`LEAK_LABEL_PX`), so labels never run together.
    """
    rows_ = [r for r in check.rows if keys is None or r.key in keys]
    n = len(rows_)
    cols = min(cols, n)
    nrows = -(-n // cols)
    fig = make_subplots(
        rows=nrows,
        cols=cols,
        subplot_titles=[r.label for r in rows_],
        horizontal_spacing=0.04,
        vertical_spacing=0.16 if nrows > 1 else 0.1,
    )
    vmax = max([float(r.delta.max()) for r in rows_ if r.delta is not None] + [1e-12])
    tb, ts = check.token
    for i, r in enumerate(rows_):
        rr, cc = i // cols + 1, i % cols + 1
        if r.delta is None:
            fig.add_annotation(
                text="cannot run", showarrow=False, xref="x domain", yref="y domain", x=0.5, y=0.5, row=rr, col=cc
            )
            continue
        d = r.delta.numpy()
        b, s = d.shape
        fig.add_trace(
            go.Heatmap(
                z=d,
                zmin=0,
                zmax=vmax,
                colorscale=LEAK_SCALE,
                showscale=i == 0,
                colorbar={"title": {"text": "max |Δ output|"}, "len": 0.8},
                xgap=1,
                ygap=1,
                text=[[_leak_label(float(v)) for v in row] for row in d],
                texttemplate="%{text}" if LEAK_MAPS_PX / cols / s >= LEAK_LABEL_PX and b <= 12 else None,
                textfont={"size": 11},
                hovertemplate="b=%{y} s=%{x}: max |Δ| = %{z:.3g}<extra>" + r.label + "</extra>",
            ),
            row=rr,
            col=cc,
        )
        fig.add_trace(
            go.Scatter(
                x=[ts],
                y=[tb],
                mode="markers",
                marker={"symbol": "square-open", "size": 22, "color": INPUT, "line": {"width": 4}},
                name="perturbed token",
                showlegend=i == 0,
                hoverinfo="skip",
            ),
            row=rr,
            col=cc,
        )
        if ts > 0:  # everything left of this line is the past of the perturbed token
            fig.add_shape(
                type="line",
                x0=ts - 0.5,
                x1=ts - 0.5,
                y0=-0.5,
                y1=b - 0.5,
                line={"color": INK, "width": 2, "dash": "dot"},
                row=rr,
                col=cc,
            )
        fig.update_yaxes(autorange="reversed", showgrid=False, dtick=1 if b <= 16 else None, row=rr, col=cc)
        fig.update_xaxes(showgrid=False, dtick=1 if s <= 16 else None, row=rr, col=cc)
    for c in range(1, cols + 1):
        fig.update_xaxes(title_text=AXIS_TITLES["sequence"], row=nrows, col=c)
    for r_ in range(1, nrows + 1):
        fig.update_yaxes(title_text=AXIS_TITLES["batch"], row=r_, col=1)
    title = f"Perturb token (b, s) = ({tb}, {ts}): which outputs move? (left of the dotted line = its past)"
    b_max = max((r.delta.shape[0] for r in rows_ if r.delta is not None), default=1)
    row_h = int(np.clip(110 + 26 * b_max, 170, 260))
    fig.update_annotations(font={"size": 14})  # the maps' titles
    return apply_layout(fig, title, 80 + row_h * nrows, showlegend=False, grid=True)


# --- batch dependence ----------------------------------------------------------------------------


def dependence_figure(check: DependenceCheck, labels: dict[str, str]) -> go.Figure:
    """Change of sample `target`'s output as sample `changed` is scaled; norms with identical curves share one line."""
    curves: dict[tuple[float, ...], list[str]] = {}
    for key, d in check.deltas.items():
        if d is not None:
            curves.setdefault(tuple(round(v, 12) for v in d), []).append(key)
    fig = go.Figure()
    moving = 0
    for ys, keys in curves.items():
        moved = bool(check.depends(keys[0]))
        colour = MOVING_COLOURS[moving % len(MOVING_COLOURS)] if moved else UNCHANGED
        moving += moved
        name = (
            " = ".join(labels.get(k, k) for k in keys)
            if moved
            else ", ".join(labels.get(k, k) for k in keys) + " (no change)"
        )
        legend_name = wrap_label(name)
        fig.add_trace(
            go.Scatter(
                x=list(check.factors),
                y=list(ys),
                name=legend_name,
                mode="lines+markers",
                # past the palette's length a moving line repeats a colour, so it takes a dash pattern too
                line={
                    "width": 4 if moved else 3,
                    "dash": MOVING_DASHES[(moving - 1) // len(MOVING_COLOURS) % 3] if moved else "dash",
                    "color": colour,
                },
                marker={"size": 10},
                hovertemplate=name + "<br>×%{x:g}: %{y:.3g}<extra></extra>",
            )
        )
    fig.update_xaxes(title_text=f"sample {check.changed} multiplied by")
    fig.update_yaxes(title_text=f"max |Δ output of sample {check.target}|", rangemode="tozero")
    return apply_layout(
        fig,
        f"Does sample {check.target}'s output depend on sample {check.changed}?",
        560,
        showlegend=True,
        grid=True,
        legend_below=True,  # long lists of norms: below the axis title, never over the chart's title
    )


# --- multi-device --------------------------------------------------------------------------------


def device_stats_figure(md: MultiDeviceCheck) -> go.Figure:
    """BatchNorm's per-feature mean and variance on each device's shard, and the global (= SyncBN) values."""
    k, f = md.device_mean.shape
    feats = np.arange(f)
    fig = make_subplots(rows=1, cols=2, subplot_titles=("mean μ per feature", "variance σ² per feature"))
    for c, (per, glob) in enumerate(((md.device_mean, md.global_mean), (md.device_var, md.global_var)), start=1):
        for d in range(k):
            fig.add_trace(
                go.Scatter(
                    x=feats,
                    y=per[d].numpy(),
                    mode="markers",
                    name=f"device {d}",
                    legendgroup=f"d{d}",
                    showlegend=c == 1,
                    marker={"size": 11, "color": DEVICE_COLOURS[d % 8], "symbol": "circle"},
                    hovertemplate=f"device {d}<br>feature %{{x}}: %{{y:.4g}}<extra></extra>",
                ),
                row=1,
                col=c,
            )
        fig.add_trace(
            go.Scatter(
                x=feats,
                y=glob.numpy(),
                mode="markers+lines",
                name="whole batch = SyncBN",
                legendgroup="g",
                showlegend=c == 1,
                marker={"size": 14, "color": INK, "symbol": "line-ew-open", "line": {"width": 3}},
                line={"color": INK, "width": 1.5, "dash": "dot"},
                hovertemplate="whole batch<br>feature %{x}: %{y:.4g}<extra></extra>",
            ),
            row=1,
            col=c,
        )
    fig.update_xaxes(title_text=AXIS_TITLES["feature"], dtick=1 if f <= 16 else None)
    return apply_layout(
        fig,
        f"BatchNorm statistics on each of {k} devices vs the whole batch",
        430,
        top=120,
        legend_y=1.09,
        showlegend=True,
        grid=True,
    )


# --- pre- vs post-norm ---------------------------------------------------------------------------

PLACEMENT_COLOURS = {"post": INPUT, "pre": SELECTED}
"""Blue for post-norm, vermillion for pre-norm (Okabe-Ito: distinguishable with every common colour blindness)."""
DASH = {"post": "solid", "pre": "dash"}
BANDS = {"post": "rgba(0, 114, 178, 0.15)", "pre": "rgba(213, 94, 0, 0.15)"}


def _layer_ticks(layers: int) -> dict[str, Any]:
    step = max(1, round(layers / 12))
    return {"tickmode": "array", "tickvals": list(range(0, layers + 1, step))}


def stream_figure(comp: Comparison) -> go.Figure:
    """RMS of the residual stream after each block, with the range of per-token RMS as a band."""
    fig = go.Figure()
    layers = list(range(comp.post.layers + 1))
    for p in PLACEMENTS:
        r = comp.result(p)
        fig.add_trace(
            go.Scatter(
                x=layers + layers[::-1],
                y=list(r.token_rms_max) + list(r.token_rms_min)[::-1],
                fill="toself",
                fillcolor=BANDS[p],
                line={"width": 0},
                hoverinfo="skip",
                name=f"{LABELS[p]}: range over tokens",
                showlegend=False,  # the page's text explains the band; two legend rows would hit the title
                legendgroup=p,
            )
        )
        fig.add_trace(
            go.Scatter(
                x=layers,
                y=list(r.stream_rms),
                mode="lines+markers",
                line={"color": PLACEMENT_COLOURS[p], "width": 3, "dash": DASH[p]},
                marker={"size": 7},
                name=f"{LABELS[p]} (band: smallest … largest token)",
                legendgroup=p,
                hovertemplate=f"{LABELS[p]}<br>after block %{{x}}: RMS %{{y:.3f}}<extra></extra>",
            )
        )
    apply_layout(fig, "How large is the residual stream after each block?", 460, top=110, legend_y=1.04, grid=True)
    fig.update_xaxes(title="block (0 = the input)", **_layer_ticks(comp.post.layers))
    fig.update_yaxes(title="RMS of the residual stream", rangemode="tozero")
    return fig


def grad_figure(comp: Comparison) -> go.Figure:
    """‖∂loss/∂x‖ at the input of every block and at the output, log scale (zeros are left out)."""
    fig = go.Figure()
    n = comp.post.layers
    xs = list(range(1, n + 2))
    for p in PLACEMENTS:
        g = comp.result(p).grad_norm
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=[v if v > 0 else None for v in g],  # log axes cannot show 0
                mode="lines+markers",
                line={"color": PLACEMENT_COLOURS[p], "width": 3, "dash": DASH[p]},
                marker={"size": 7},
                name=LABELS[p],
                hovertemplate=f"{LABELS[p]}<br>%{{x}}: ‖∂loss/∂x‖ = %{{y:.3g}}<extra></extra>",
            )
        )
    apply_layout(
        fig, "How much gradient reaches each block's input? (log scale)", 460, top=110, legend_y=1.04, grid=True
    )
    step = max(1, round(n / 12))
    ticks = [*range(1, n + 1, step), n + 1]
    fig.update_xaxes(
        title="input of block (output = after the last block)",
        tickmode="array",
        tickvals=ticks,
        ticktext=[str(t) if t <= n else "output" for t in ticks],
    )
    values = [v for p in PLACEMENTS for v in comp.result(p).grad_norm if 0 < v < math.inf]
    fig.update_yaxes(title="gradient norm ‖∂loss/∂x‖", type="log", **log_ticks(values))
    return fig


# --- the two block layouts ----------------------------------------------------------------------------------

_POST = ("x", "Attention", "+", "LN", "FFN", "+", "LN", "out")
_PRE = ("x", "LN", "Attention", "+", "LN", "FFN", "+", "out")
_BOX_W = {"Attention": 1.25, "FFN": 0.9, "LN": 0.7}


def _row(fig: go.Figure, nodes: tuple[str, ...], y: float, title: str, branch: int) -> None:
    xs = [i * 1.45 for i in range(len(nodes))]
    fig.add_trace(go.Scatter(x=xs, y=[y] * len(xs), mode="lines", line={"color": INK, "width": 2}, hoverinfo="skip"))
    fig.add_annotation(x=-0.6, y=y + 0.55, text=f"<b>{title}</b>", showarrow=False, xanchor="left", font={"size": 18})
    plus = [i for i, n in enumerate(nodes) if n == "+"]
    for i in plus:
        # the skip connection leaves the stream just before the branch (the sub-layer, and its LN in pre-norm)
        start = (xs[i - branch - 1] + xs[i - branch]) / 2
        fig.add_trace(
            go.Scatter(
                x=[start, start, xs[i], xs[i]],
                y=[y, y + 0.42, y + 0.42, y + 0.12],
                mode="lines",
                line={"color": FAINT, "width": 3},
                hoverinfo="skip",
            )
        )
    for x, n in zip(xs, nodes, strict=True):
        if n in _BOX_W:
            w = _BOX_W[n] / 2
            fill = LIT if n == "LN" else "rgba(128, 128, 128, 0.18)"  # a tint of the theme's own background
            fig.add_shape(type="rect", x0=x - w, x1=x + w, y0=y - 0.2, y1=y + 0.2, fillcolor=fill, line={"color": INK})
            fig.add_annotation(  # dark text on the orange LN box; the theme's text colour on the grey ones
                x=x,
                y=y,
                text=f"<b>{n}</b>" if n == "LN" else n,
                showarrow=False,
                font={"size": 16, **({"color": "#1F2328"} if n == "LN" else {})},
            )
        elif n != "+":
            label = "x<sub>l</sub>" if n == "x" else "x<sub>l+1</sub>"
            fig.add_annotation(
                x=x,
                y=y,
                text=label,
                showarrow=False,
                font={"size": 20},
                xanchor="center",
            )
    fig.add_trace(  # the ⊕ as markers, which stay round at any aspect ratio (a circle shape would not)
        go.Scatter(
            x=[xs[i] for i in plus],
            y=[y] * len(plus),
            mode="markers",
            marker={"symbol": "circle-cross-open", "size": 26, "color": INK, "line": {"color": INK, "width": 2}},
            hoverinfo="skip",
        )
    )


def layout_figure() -> go.Figure:
    """The two block layouts: where the LayerNorm (orange) sits relative to the residual additions (⊕)."""
    fig = go.Figure()
    _row(fig, _POST, 1.6, "post-norm: LN after each ⊕", branch=1)
    _row(fig, _PRE, 0.0, "pre-norm: LN only on the branch", branch=2)
    fig.update_layout(
        font=FONT,  # the theme's text colour, light or dark; presentation mode's scaled() grows it
        height=300,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        showlegend=False,
    )
    fig.update_xaxes(visible=False, range=[-0.7, 7 * 1.45 + 0.5], fixedrange=True)
    fig.update_yaxes(visible=False, range=[-0.4, 2.35], fixedrange=True)
    return fig
