"""Plotly figures for pre-norm vs post-norm: the residual stream's RMS and the gradient per layer, and the two
block layouts as a diagram.

plotly only (no streamlit): each function takes a norm_viz.questions.placement.Comparison (or nothing) and returns a go.Figure;
the colours come from norm_viz.explore.figures.
"""

from __future__ import annotations

import math
from typing import Any

import plotly.graph_objects as go

from norm_viz.core.theme import FAINT, FONT, INPUT, LIT, SELECTED, apply_layout
from norm_viz.questions.placement import LABELS, PLACEMENTS, Comparison

COLOURS = {"post": INPUT, "pre": SELECTED}
"""Blue for post-norm, vermillion for pre-norm (Okabe-Ito: distinguishable with every common colour blindness)."""
DASH = {"post": "solid", "pre": "dash"}
BANDS = {"post": "rgba(0, 114, 178, 0.15)", "pre": "rgba(213, 94, 0, 0.15)"}
INK = "#333333"


def _layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    """The app's common layout, with room for a two-row legend and light grid lines."""
    apply_layout(fig, title, height)
    fig.update_layout(
        margin={"l": 10, "r": 10, "t": 110, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.04, "x": 0},
        plot_bgcolor="white",
    )
    fig.update_xaxes(showgrid=True, gridcolor="#E5E5E5", zeroline=False, tickfont={"size": 15})
    fig.update_yaxes(showgrid=True, gridcolor="#E5E5E5", zeroline=False, tickfont={"size": 15})
    return fig


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
                line={"color": COLOURS[p], "width": 3, "dash": DASH[p]},
                marker={"size": 7},
                name=f"{LABELS[p]} (band: smallest … largest token)",
                legendgroup=p,
                hovertemplate=f"{LABELS[p]}<br>after block %{{x}}: RMS %{{y:.3f}}<extra></extra>",
            )
        )
    _layout(fig, "How large is the residual stream after each block?", 460)
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
                line={"color": COLOURS[p], "width": 3, "dash": DASH[p]},
                marker={"size": 7},
                name=LABELS[p],
                hovertemplate=f"{LABELS[p]}<br>%{{x}}: ‖∂loss/∂x‖ = %{{y:.3g}}<extra></extra>",
            )
        )
    _layout(fig, "How much gradient reaches each block's input? (log scale)", 460)
    step = max(1, round(n / 12))
    ticks = [*range(1, n + 1, step), n + 1]
    fig.update_xaxes(
        title="input of block (output = after the last block)",
        tickmode="array",
        tickvals=ticks,
        ticktext=[str(t) if t <= n else "output" for t in ticks],
    )
    values = [v for p in PLACEMENTS for v in comp.result(p).grad_norm if 0 < v < math.inf]
    fig.update_yaxes(title="gradient norm ‖∂loss/∂x‖", type="log", **_log_ticks(values))
    return fig


def _log_ticks(values: list[float]) -> dict[str, Any]:
    """Ticks at 1, 2, 5 × 10^k over the data's range, written as plain numbers (plotly labels minor ticks 2…9)."""
    if not values:
        return {}
    lo, hi = math.floor(math.log10(min(values))), math.ceil(math.log10(max(values)))
    mantissas = (1, 2, 5) if hi - lo <= 4 else (1,)
    ticks = [m * 10.0**k for k in range(lo, hi + 1) for m in mantissas]
    ticks = [t for t in ticks if min(values) / 2 <= t <= max(values) * 2]
    return {
        "tickmode": "array",
        "tickvals": ticks,
        "ticktext": [f"{t:.0e}" if t < 1e-3 or t >= 1e4 else f"{t:g}" for t in ticks],
    }


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
            fill = LIT if n == "LN" else "#F2F2F2"
            fig.add_shape(type="rect", x0=x - w, x1=x + w, y0=y - 0.2, y1=y + 0.2, fillcolor=fill, line={"color": INK})
            fig.add_annotation(x=x, y=y, text=f"<b>{n}</b>" if n == "LN" else n, showarrow=False, font={"size": 16})
        elif n != "+":
            label = "x<sub>l</sub>" if n == "x" else "x<sub>l+1</sub>"
            fig.add_annotation(
                x=x,
                y=y,
                text=label,
                showarrow=False,
                bgcolor="white",
                font={"size": 20},
                xanchor="center",
            )
    fig.add_trace(  # the ⊕ as markers, which stay round at any aspect ratio (a circle shape would not)
        go.Scatter(
            x=[xs[i] for i in plus],
            y=[y] * len(plus),
            mode="markers",
            marker={"symbol": "circle-cross", "size": 26, "color": "white", "line": {"color": INK, "width": 2}},
            hoverinfo="skip",
        )
    )


def layout_figure() -> go.Figure:
    """The two block layouts: where the LayerNorm (orange) sits relative to the residual additions (⊕)."""
    fig = go.Figure()
    _row(fig, _POST, 1.6, "post-norm: LN after each ⊕", branch=1)
    _row(fig, _PRE, 0.0, "pre-norm: LN only on the branch", branch=2)
    fig.update_layout(
        font={**FONT, "color": INK},  # on the layout: presentation mode's scaled() replaces annotation fonts
        height=300,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        showlegend=False,
        plot_bgcolor="white",
    )
    fig.update_xaxes(visible=False, range=[-0.7, 7 * 1.45 + 0.5], fixedrange=True)
    fig.update_yaxes(visible=False, range=[-0.4, 2.35], fixedrange=True)
    return fig
