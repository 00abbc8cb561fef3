"""Figures of the modern story (massive activations, attention sinks, the DyT observation, residual growth).
plotly only (no streamlit); each figure is a pure function of the ModernView."""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from norm_viz.core.theme import FAINT, INPUT, LIT, OUTPUT, PAD, SELECTED, SEQUENTIAL, apply_layout, log_ticks
from norm_viz.real.modern import Fit, ModernView

DEPTHS = [f"block {i}" for i in range(30)] + ["the output norm"]


def _line(x: object, y: object, name: str, color: str, width: int = 3, dash: str = "solid", **kw: object) -> go.Scatter:
    """One measured series as lines and markers (the look every line of this module shares)."""
    return go.Scatter(
        x=x, y=y, name=name, mode="lines+markers", line={"color": color, "width": width, "dash": dash}, **kw
    )


def massive_figure(v: ModernView) -> go.Figure:
    """The largest |x| of the residual stream at each depth against the median |x|, log scale."""
    big = [abs(m.value) for m in v.massive]
    med = [m.median for m in v.massive]
    hover = [
        f"“{html.escape(m.token)}” ({m.where}), feature {m.feature}: x = {m.value:,.1f}<br>{m.ratio:,.0f}× the median"
        for m in v.massive
    ]
    fig = go.Figure()
    fig.add_trace(_line(DEPTHS, big, "largest |x|", SELECTED, hovertext=hover, hoverinfo="text"))
    fig.add_trace(_line(DEPTHS, med, "median |x|", INPUT))
    fig.update_yaxes(type="log", title_text="|x| in the residual stream (log)", **log_ticks(big + med))
    fig.update_xaxes(title_text="the residual stream entering each block, then the output norm", dtick=5)
    return apply_layout(fig, "SmolLM2: the largest residual entry vs the median entry", 430, grid=True)


def sink_figure(v: ModernView) -> go.Figure:
    """Attention on the first token per block and head (heatmap) beside the first token's RMS / the others' (line)."""
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.55, 0.45],
        horizontal_spacing=0.12,
        subplot_titles=("attention on the first token (block × head)", "first token's RMS ÷ the others' (log)"),
    )
    z = v.sink.numpy()
    fig.add_trace(
        go.Heatmap(
            z=z.T,
            x=list(range(30)),
            y=[f"head {h}" for h in range(z.shape[1])],
            zmin=0,
            zmax=1,
            colorscale=SEQUENTIAL,
            colorbar={"title": {"text": "share"}, "x": 0.5, "len": 0.9},
            hovertemplate="block %{x}, %{y}: %{z:.0%} of the attention<extra></extra>",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        _line(
            list(range(31)),
            v.first_rms_ratio.numpy(),
            "first token's RMS ÷ median of the others",
            SELECTED,
            hovertemplate="%{y:.1f}×<extra></extra>",
        ),
        row=1,
        col=2,
    )
    fig.update_xaxes(title_text="block", row=1, col=1)
    fig.update_xaxes(title_text="depth (30 = output norm)", row=1, col=2)
    fig.update_yaxes(type="log", row=1, col=2, **log_ticks(v.first_rms_ratio.tolist()))
    return apply_layout(fig, "Attention sinks and the massive first token", 430, showlegend=False)


def _stretch(x: np.ndarray) -> tuple[float, bool]:
    """The scale c of the x axis's asinh(x / c) stretch (the median |x|: linear below it, logarithmic far above),
    and whether to stretch: when the largest |x| is over 50× the median (a massive activation, or outlier features),
    a linear axis squashes the bulk of the dots into one vertical line."""
    if x.size == 0:
        return 1.0, False
    mag = np.abs(x)
    c = float(np.median(mag)) or 1.0
    return c, float(mag.max()) > 50 * c


def dyt_figure(points: tuple[torch.Tensor, torch.Tensor], fit: Fit, title: str) -> go.Figure:
    """One norm's x̂ against x (one dot per token and feature), with the fitted tanh (DyT) and erf (Derf) curves.
    With a massive activation among the inputs the x axis is stretched by asinh (ticks in x's own values), so the bulk
    of the dots and the far points both show."""
    x, y = points[0].numpy(), points[1].numpy()
    lo, hi = (float(x.min()), float(x.max())) if x.size else (-1.0, 1.0)
    c, stretched = _stretch(x)
    if stretched:
        grid = c * np.sinh(np.linspace(np.arcsinh(lo / c), np.arcsinh(hi / c), 600))
        at = lambda v: np.arcsinh(np.asarray(v) / c)  # noqa: E731
    else:
        grid = np.linspace(lo, hi, 400)
        at = np.asarray
    a, al, b = fit.tanh
    ea, eal, es, eb = fit.erf
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=at(x),
            y=y,
            customdata=x,
            mode="markers",
            name="x̂ of one token's feature",
            marker={"color": INPUT, "size": 4, "opacity": 0.45},
            hovertemplate="x = %{customdata:,.2f}, x̂ = %{y:.2f}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=at(grid),
            y=a * np.tanh(al * grid) + b,
            mode="lines",
            line={"color": LIT, "width": 3},
            name=f"tanh fit (DyT): {fit.tanh_error:.0%} of the spread left",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=at(grid),
            y=ea * torch.erf(torch.from_numpy(eal * grid + es)).numpy() + eb,
            mode="lines",
            line={"color": OUTPUT, "width": 3, "dash": "dash"},
            name=f"erf fit (Derf): {fit.erf_error:.0%} left",
        )
    )
    if stretched:
        top = int(np.ceil(np.log10(max(abs(lo), abs(hi), 1e-30))))
        ticks = sorted({0.0, *(sgn * 10.0**k for k in range(top - 5, top + 1) for sgn in (-1, 1))})
        ticks = [t for t in ticks if t == 0.0 or (lo <= t <= hi and abs(t) >= 3 * c)]  # none crowding the 0
        fig.update_xaxes(
            title_text="input x (stretched: asinh scale, so the massive entries and the rest both show)",
            tickmode="array",
            tickvals=at(ticks).tolist(),
            ticktext=[f"{t:,.0f}" if abs(t) >= 1 else f"{t:g}" for t in ticks],
        )
    else:
        fig.update_xaxes(title_text="input x")
    fig.update_yaxes(title_text="x̂ (before γ)")
    return apply_layout(fig, title, 460, grid=True, legend_below=True)


def fit_errors_figure(v: ModernView) -> go.Figure:
    """Each norm's unexplained share of x̂ for tanh, erf and a straight line, against relative depth."""
    fig = go.Figure()
    for fits, model, dash in ((v.fits, "SmolLM2", "solid"), (v.minilm_fits, "MiniLM", "dot")):
        depth = np.linspace(0, 1, len(fits))
        names = [f.name for f in fits]
        for attr, label, color in (
            ("tanh_error", "tanh", LIT),
            ("erf_error", "erf", OUTPUT),
            ("line_error", "line", FAINT),
        ):
            fig.add_trace(
                _line(
                    depth,
                    [getattr(f, attr) for f in fits],
                    f"{model}: {label}",
                    color,
                    2,
                    dash,
                    marker={"size": 5},
                    text=names,
                    hovertemplate="%{text}: %{y:.0%} left<extra>" + f"{model} {label}" + "</extra>",
                )
            )
    fig.update_xaxes(title_text="relative depth (0 = first norm, 1 = last)")
    fig.update_yaxes(title_text="share of x̂'s spread not explained", tickformat=".0%")
    return apply_layout(
        fig, "How well one curve explains every norm: tanh, erf, a line", 440, grid=True, legend_below=True
    )


def growth_figure(v: ModernView) -> go.Figure:
    """The residual stream's median token RMS across depth: SmolLM2 (pre-norm) vs MiniLM (post-norm), log scale."""
    fig = go.Figure()
    for start, rms, name, color, width, dash in (
        (0.0, v.resid_rms, "SmolLM2 residual stream (pre-norm: never normalized)", SELECTED, 3, "solid"),
        (0.0, v.minilm_stream_rms, "MiniLM stream (post-norm: after each LayerNorm)", INPUT, 3, "solid"),
        (1 / 6, v.minilm_sum_rms, "MiniLM sums before each layer's last LayerNorm", PAD, 2, "dot"),
    ):
        fig.add_trace(_line(np.linspace(start, 1, len(rms)), rms.numpy(), name, color, width, dash))
    fig.update_yaxes(
        type="log",
        title_text="median RMS of a token (log)",
        **log_ticks([*v.resid_rms.tolist(), *v.minilm_stream_rms.tolist(), *v.minilm_sum_rms.tolist()]),
    )
    fig.update_xaxes(title_text="relative depth (0 = input, 1 = last block)")
    return apply_layout(
        fig, "Residual growth: pre-norm keeps adding, post-norm resets", 440, grid=True, legend_below=True
    )
