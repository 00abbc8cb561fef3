"""Plotly figures for the 'beyond the standard norms' pages: PowerNorm's step-through, DyT's tanh fit,
custom-axes groups, equivalences, geometry, batch-statistics fluctuation and the ε / dtype lab.

plotly, numpy and torch tensors in (no streamlit); the palette and the layout helper are norm_viz.core.theme's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots
from torch import Tensor

from norm_viz.beyond.eps_dtype import DtypeRun, EpsPlacement
from norm_viz.beyond.equivalences import Equivalence
from norm_viz.beyond.fluctuation import Fluctuation
from norm_viz.beyond.geometry import Geometry
from norm_viz.core.extra_norms import PowerRun
from norm_viz.core.numbers import fmt_delta, plural
from norm_viz.core.table import NORMS
from norm_viz.core.theme import (
    AXIS_TITLES,
    FAINT,
    INK,
    INPUT,
    LIT,
    OUTPUT,
    PAD,
    SELECTED,
    apply_layout,
    log_ticks,
)

KIND_COLORS = {"token_like": INK, "image_like": "#56B4E9", "real text": "#D55E00"}
"""A neutral grey (Okabe-Ito black would vanish on the dark theme), sky blue and vermillion: the kinds of data,
distinct from input/output/lit."""
DTYPE_COLORS = {"float32": INPUT, "float16": SELECTED, "bfloat16": PAD}


def _np(t: Tensor) -> np.ndarray:
    return t.detach().double().numpy()


# --- PowerNorm -------------------------------------------------------------------------------------


def powernorm_steps_figure(run: PowerRun, feature: int, current: int) -> go.Figure:
    """One feature's ψ² over the steps: each batch's, the running one, and the one it was divided by."""
    n = len(run.steps)
    steps = np.arange(1, n + 1)
    batch = _np(run.psi2_batch[:, feature])
    running = _np(run.running[:, feature])
    divisor = _np(run.divisors[:, feature])
    fig = go.Figure()
    if run.warmup_steps:
        fig.add_vrect(
            x0=0.5,
            x1=min(run.warmup_steps, n) + 0.5,
            fillcolor=LIT,
            opacity=0.15,
            line_width=0,
            annotation_text="warm-up: divide by the batch's ψ²",
            annotation_position="top left",
        )
    fig.add_trace(
        go.Scatter(x=steps, y=batch, mode="lines+markers", name="this batch's ψ²", line={"color": INPUT, "width": 2})
    )
    fig.add_trace(
        go.Scatter(
            x=steps, y=running, mode="lines", name="running ψ² (after the step)", line={"color": OUTPUT, "width": 3}
        )
    )
    fig.add_trace(
        go.Scatter(
            x=steps,
            y=divisor,
            mode="markers",
            name="ψ² actually divided by",
            marker={"color": SELECTED, "size": 13, "symbol": "diamond-open", "line": {"width": 3}},
        )
    )
    fig.add_vline(x=current + 1, line={"color": INK, "dash": "dot"})
    fig.update_xaxes(title_text="training step (one batch each)", dtick=max(1, n // 10))
    fig.update_yaxes(title_text=f"ψ² of feature {feature}", rangemode="tozero")
    return apply_layout(fig, f"Feature {feature}: batch ψ² jumps around; the running ψ² is smooth", 430)


def powernorm_features_figure(run: PowerRun, current: int) -> go.Figure:
    """At one step, every feature's batch ψ², running ψ² before the step, and the divisor used."""
    st = run.steps[current]
    f = np.arange(st.psi2_batch.numel())
    fig = go.Figure(
        [
            go.Bar(x=f, y=_np(st.psi2_batch), name="this batch's ψ²", marker_color=INPUT),
            go.Bar(x=f, y=_np(st.running_before), name="running ψ² before the step", marker_color=OUTPUT),
            go.Scatter(
                x=f,
                y=_np(st.divisor),
                mode="markers",
                name="divided by",
                marker={"color": SELECTED, "size": 14, "symbol": "diamond"},
            ),
        ]
    )
    fig.update_layout(barmode="group")
    fig.update_xaxes(title_text=AXIS_TITLES["feature"], dtick=1 if f.size <= 24 else None)
    psi = [*_np(st.psi2_batch).tolist(), *_np(st.running_before).tolist(), *_np(st.divisor).tolist()]
    fig.update_yaxes(title_text="ψ² (quadratic mean, log scale)", type="log", **log_ticks(psi))
    which = "the running ψ²" if st.used_running else "this batch's ψ² (warm-up)"
    return apply_layout(fig, f"Step {current + 1}: every feature is divided by {which}", 400)


MAX_SVG_POINTS = 5000
"""The most markers one scatter draws (SVG, one element each; WebGL is not used, classroom machines may lack it)."""

# --- DyT -------------------------------------------------------------------------------------------


def dyt_scatter_figure(
    x: Tensor, y: Tensor, alpha: float, scale: float, best_alpha: float, best_scale: float, highlight: int = 3
) -> go.Figure:
    """LayerNorm input vs output of every value, a few tokens as lines, and a·tanh(αx) curves."""
    xs, ys = _np(x), _np(y)
    every = max(1, math.ceil(xs.size / MAX_SVG_POINTS))  # SVG points, not WebGL: keep the browser's work bounded
    name = "every value" if every == 1 else f"every {every}th of {xs.size} values"
    fig = go.Figure(
        [
            go.Scatter(
                x=xs.ravel()[::every],
                y=ys.ravel()[::every],
                mode="markers",
                name=f"{name} (input → LayerNorm output)",
                marker={"color": FAINT, "size": 5, "opacity": 0.5},
            )
        ]
    )
    for i in range(min(highlight, xs.shape[0])):
        order = np.argsort(xs[i])
        fig.add_trace(
            go.Scatter(
                x=xs[i][order],
                y=ys[i][order],
                mode="lines+markers",
                name=f"token {i}: a straight line of slope 1/σ = {1 / max(np.std(xs[i]), 1e-12):.2g}",
                line={"color": [INPUT, OUTPUT, PAD][i % 3], "width": 2},
                marker={"size": 5},
            )
        )
    grid = np.linspace(xs.min(), xs.max(), 300)
    fig.add_trace(
        go.Scatter(
            x=grid,
            y=best_scale * np.tanh(best_alpha * grid),
            mode="lines",
            name=f"best fit {best_scale:.2g}·tanh({best_alpha:.2g}x)",
            line={"color": INK, "width": 3, "dash": "dash"},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=grid,
            y=scale * np.tanh(alpha * grid),
            mode="lines",
            name=f"your α: {scale:.2g}·tanh({alpha:.3g}x)",
            line={"color": SELECTED, "width": 4},
        )
    )
    fig.update_xaxes(title_text="LayerNorm input x")
    fig.update_yaxes(title_text="LayerNorm output (γ = 1, β = 0)")
    return apply_layout(fig, "Each token is a line; together they bend like tanh", 680, legend_below=True)


def tanh_figure(alpha: float, lo: float = -6.0, hi: float = 6.0) -> go.Figure:
    """y = tanh(αx): the whole of DyT before γ and β."""
    grid = np.linspace(lo, hi, 300)
    fig = go.Figure(
        [
            go.Scatter(
                x=grid, y=np.tanh(alpha * grid), mode="lines", name="tanh(αx)", line={"color": OUTPUT, "width": 4}
            ),
            go.Scatter(
                x=grid, y=alpha * grid, mode="lines", name="αx (no squashing)", line={"color": FAINT, "dash": "dot"}
            ),
        ]
    )
    fig.update_yaxes(range=[-1.5, 1.5], title_text="DyT output")
    fig.update_xaxes(title_text="input x")
    return apply_layout(fig, f"DyT with α = {alpha:.3g}", 400, legend_below=True)  # a narrow column


# --- custom axes -----------------------------------------------------------------------------------


def group_stats_figure(mean: Tensor | None, var: Tensor, chosen: int) -> go.Figure:
    """Every group's μ and σ² (or mean square), the chosen cell's group in the selection colour."""
    panels = ([("mean μ", mean)] if mean is not None else []) + [
        ("variance σ²" if mean is not None else "mean square", var)
    ]
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[p[0] for p in panels], horizontal_spacing=0.1)
    for c, (_name, t) in enumerate(panels, start=1):
        v = _np(t)
        colors = [SELECTED if i == chosen else INPUT for i in range(v.size)]
        fig.add_trace(go.Bar(x=np.arange(v.size), y=v, marker_color=colors, showlegend=False), row=1, col=c)
        fig.update_xaxes(title_text="group id", row=1, col=c)
    return apply_layout(
        fig, f"{plural(var.numel(), 'statistic')}, one per group; the chosen cell's group highlighted", 340
    )


# --- equivalences ----------------------------------------------------------------------------------


SAME = 1e-4
"""Below this max |Δ| two outputs are the same up to float rounding (Equivalence.holds uses the same bound)."""


def equivalences_figure(eqs: Sequence[Equivalence]) -> go.Figure:
    """Each identity where its condition holds and where it is broken: a verdict cell ('same' or 'differ', by
    colour and word) with its max |Δ| written in it. Categories, not a log bar: 1e-7 is 'same', not half of 0.8."""
    names = [e.name for e in eqs]
    cols = ["condition holds", "condition broken"]
    diffs = [[e.max_abs_diff, e.broken_diff] for e in eqs]
    z = [[0 if d < SAME else 1 for d in row] for row in diffs]
    text = [[f"{'same' if d < SAME else 'differ'} · max |Δ| {fmt_delta(d)}" for d in row] for row in diffs]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=cols,
            y=names,
            zmin=0,
            zmax=1,
            colorscale=[[0, OUTPUT], [0.5, OUTPUT], [0.5, SELECTED], [1, SELECTED]],
            showscale=False,
            xgap=4,
            ygap=4,
            text=text,
            texttemplate="%{text}",
            textfont={"size": 16, "color": "#FFFFFF"},
            hovertemplate="%{y}, %{x}: %{text}<extra></extra>",
        )
    )
    fig.update_xaxes(side="top", tickfont={"size": 16}, showgrid=False)
    fig.update_yaxes(autorange="reversed", tickfont={"size": 16}, showgrid=False)
    return apply_layout(
        fig,
        f"Identities: the same up to rounding (max |Δ| < {SAME:g}) where the condition holds",
        110 + 52 * len(eqs),
        showlegend=False,
    )


# --- geometry --------------------------------------------------------------------------------------


def geometry_figure(geo: Geometry, norm: str) -> go.Figure:
    """Input tokens and their images under one norm, with the plane ⟂ (1, …, 1) and the sphere of radius √F."""
    f = geo.features
    r = math.sqrt(f)
    tokens, out = _np(geo.tokens), _np(geo.output(norm))
    spec = NORMS[norm]
    label = spec.label
    pts = [("input tokens", tokens, INPUT, 6), (f"after {label}", out, OUTPUT, 7)]
    if spec.centered and "batch" not in spec.reduce:  # each token centered on its own: first projected on the plane
        pts.insert(1, ("centered (x − mean): on the plane", _np(geo.centered), LIT, 5))
    lim = float(max(np.abs(tokens).max(), np.abs(out).max(), r)) * 1.1
    t = np.linspace(0, 2 * np.pi, 200)
    if f == 2:
        fig = go.Figure()
        fig.add_trace(
            go.Scatter(
                x=[-lim, lim],
                y=[lim, -lim],
                mode="lines",
                name="the line ⟂ (1, 1): mean 0",
                line={"color": FAINT, "width": 2, "dash": "dash"},
            )
        )
        fig.add_trace(
            go.Scatter(
                x=r * np.cos(t),
                y=r * np.sin(t),
                mode="lines",
                name="circle of radius √2",
                line={"color": INK, "width": 2},
            )
        )
        for name, p, color, size in pts:
            fig.add_trace(
                go.Scatter(x=p[:, 0], y=p[:, 1], mode="markers", name=name, marker={"color": color, "size": size + 3})
            )
        fig.update_xaxes(title_text="feature 0", range=[-lim, lim])
        fig.update_yaxes(title_text="feature 1", range=[-lim, lim], scaleanchor="x", scaleratio=1)
        return apply_layout(fig, f"{label} on {len(tokens)} tokens with F = 2", 680, legend_below=True)
    # F = 3, drawn flat (no WebGL): two orthographic views, one along (1, 1, 1), one along the plane
    u = np.array([1.0, -1.0, 0.0]) / math.sqrt(2)
    v = np.array([1.0, 1.0, -2.0]) / math.sqrt(6)
    n = np.ones(3) / math.sqrt(3)
    fig = make_subplots(
        rows=1,
        cols=2,
        horizontal_spacing=0.08,
        subplot_titles=[
            "seen along (1, 1, 1): the plane face-on",
            "seen along the plane: the plane is the line",
        ],
    )
    views = ((u, v), (u, n))  # the plane's two directions; then one of them and the normal
    for col, (e1, e2) in enumerate(views, start=1):
        first = col == 1
        fig.add_trace(
            go.Scatter(
                x=r * np.cos(t),
                y=r * np.sin(t),
                mode="lines",
                name="sphere of radius √3 (its outline)",
                legendgroup="sphere",
                showlegend=first,
                line={"color": FAINT, "width": 2, "dash": "dot"},
                hoverinfo="skip",
            ),
            row=1,
            col=col,
        )
        # where LayerNorm lands: the circle plane ∩ sphere; face-on it is the outline, edge-on a segment
        ring = r * (np.cos(t)[:, None] * u + np.sin(t)[:, None] * v)
        fig.add_trace(
            go.Scatter(
                x=ring @ e1,
                y=ring @ e2,
                mode="lines",
                name="where LayerNorm lands: the circle of radius √3 on the plane",
                legendgroup="ring",
                showlegend=first,
                line={"color": INK, "width": 4},
                hoverinfo="skip",
            ),
            row=1,
            col=col,
        )
        if not first:
            fig.add_trace(
                go.Scatter(
                    x=[-lim, lim],
                    y=[0, 0],
                    mode="lines",
                    name="the plane ⟂ (1, 1, 1): mean 0",
                    line={"color": FAINT, "width": 2, "dash": "dash"},
                    hoverinfo="skip",
                ),
                row=1,
                col=col,
            )
        for name, p, color, size in pts:
            fig.add_trace(
                go.Scatter(
                    x=p @ e1,
                    y=p @ e2,
                    mode="markers",
                    name=name,
                    legendgroup=name,
                    showlegend=first,
                    marker={"color": color, "size": size + 2},
                ),
                row=1,
                col=col,
            )
    # equal scales on both axes by narrowing the panel, not by widening the range: the circle keeps its size
    fig.update_xaxes(range=[-lim, lim], title_text="along (1, −1, 0)", constrain="domain")
    fig.update_yaxes(range=[-lim, lim], title_text="along (1, 1, −2)", scaleanchor="x", scaleratio=1, row=1, col=1)
    fig.update_yaxes(range=[-lim, lim], title_text="along (1, 1, 1)", scaleanchor="x2", scaleratio=1, row=1, col=2)
    return apply_layout(fig, f"{label} on {len(tokens)} tokens with F = 3, seen two ways", 620, legend_below=True)


# --- fluctuation -----------------------------------------------------------------------------------


def fluctuation_figure(runs: Sequence[Fluctuation]) -> go.Figure:
    """Spread of batch μ and σ² across batches, and their distance to the running statistics, vs batch size."""
    panels = (
        ("mean_spread", "spread of batch μ (units of σ)"),
        ("var_spread", "spread of batch σ² (relative)"),
        ("mean_distance", "|batch μ − running μ|"),
        ("var_distance", "|batch σ² − running σ²|"),
    )
    fig = make_subplots(rows=2, cols=2, subplot_titles=[p[1] for p in panels], vertical_spacing=0.18)
    for i, (attr, _title) in enumerate(panels):
        row, col = i // 2 + 1, i % 2 + 1
        for run in runs:
            fig.add_trace(
                go.Scatter(
                    x=list(run.batch_sizes),
                    y=_np(getattr(run, attr)),
                    mode="lines+markers",
                    name=run.kind,
                    legendgroup=run.kind,
                    showlegend=i == 0,
                    line={"color": KIND_COLORS.get(run.kind, INPUT), "width": 3},
                    marker={"size": 9},
                ),
                row=row,
                col=col,
            )
        sizes = list(runs[0].batch_sizes)
        fig.update_xaxes(
            type="log",
            title_text="batch size (sequences)" if row == 2 else None,  # once per column: above, it met a panel title
            tickvals=sizes,
            ticktext=[str(v) for v in sizes],
            row=row,
            col=col,
        )
        ys = [v for run in runs for v in _np(getattr(run, attr)).tolist()]
        fig.update_yaxes(type="log", row=row, col=col, **log_ticks(ys))
    return apply_layout(fig, "How far one mini-batch's statistics stray, against batch size", 760, legend_below=True)


def batch_means_figure(runs: Sequence[Fluctuation], feature: int = 0) -> go.Figure:
    """Each mini-batch's mean of one feature at the smallest batch size: the fluctuation itself."""
    fig = go.Figure()
    for run in runs:
        m = _np(run.example_means[:, feature])
        fig.add_trace(
            go.Scatter(
                x=np.arange(1, m.size + 1),
                y=m,
                mode="lines+markers",
                name=run.kind,
                line={"color": KIND_COLORS.get(run.kind, INPUT), "width": 2},
            )
        )
    fig.add_hline(y=0, line={"color": FAINT, "dash": "dot"})
    fig.update_xaxes(title_text="mini-batch")
    fig.update_yaxes(title_text=f"batch mean of feature {feature} (σ; dataset: 0)")
    return apply_layout(fig, f"Batch after batch, at batch size {min(runs[0].batch_sizes)}", 380)


# --- ε and dtype -----------------------------------------------------------------------------------


def eps_placement_figure(run: EpsPlacement, eps: float) -> go.Figure:
    """Output RMS against input RMS for ε inside vs outside the square root (log-log)."""
    fig = go.Figure(
        [
            go.Scatter(
                x=_np(run.rms),
                y=_np(run.inside),
                mode="lines",
                name="x / √(ms + ε)  (torch.nn.RMSNorm)",
                line={"color": INPUT, "width": 4},
            ),
            go.Scatter(
                x=_np(run.rms),
                y=_np(run.outside),
                mode="lines",
                name="x / (√ms + ε)  (RMSNorm paper's code)",
                line={"color": SELECTED, "width": 4, "dash": "dash"},
            ),
        ]
    )
    for at, text in ((math.sqrt(eps), "√ε"), (eps, "ε")):
        fig.add_vline(x=at, line={"color": FAINT, "dash": "dot"})
        # on a log axis an annotation's x is log10 of the value (add_vline's own label lands elsewhere)
        fig.add_annotation(x=math.log10(at), y=1.0, yref="paper", text=text, showarrow=False, xshift=14)
    fig.update_xaxes(type="log", title_text="RMS of the input token", **log_ticks(_np(run.rms).tolist()))
    outs = [*_np(run.inside).tolist(), *_np(run.outside).tolist()]
    fig.update_yaxes(type="log", title_text="RMS of the output token", **log_ticks(outs))
    return apply_layout(fig, f"Where ε sits matters for small tokens (ε = {eps:g})", 460, legend_below=True)


def dtype_figure(runs: Sequence[DtypeRun], noise: float) -> go.Figure:
    """LayerNorm's error against float64 for near-constant tokens, per dtype, as the offset grows."""
    fig = go.Figure()
    for run in runs:
        color = DTYPE_COLORS.get(run.dtype, INPUT)
        for attr, dash, what in (("torch_error", "solid", "F.layer_norm"), ("naive_error", "dot", "E[x²] − E[x]²")):
            err = _np(getattr(run, attr))
            fig.add_trace(
                go.Scatter(
                    x=_np(run.offsets),
                    y=np.where(np.isfinite(err), np.maximum(err, 1e-9), np.nan),
                    mode="lines+markers",
                    name=f"{run.dtype}, {what}",
                    line={"color": color, "dash": dash, "width": 3},
                    marker={"size": 5},
                )
            )
    fig.add_hline(y=1, line={"color": FAINT, "dash": "dash"}, annotation_text="error 1 = the output is noise")
    offsets = [v for run in runs for v in _np(run.offsets).tolist()]
    errors = [y for t in fig.data for y in (t.y if t.y is not None else ()) if y is not None] + [1.0]
    fig.update_xaxes(type="log", title_text=f"offset c of tokens c + {noise:g}·z", **log_ticks(offsets))
    fig.update_yaxes(type="log", title_text="max |error| vs float64", **log_ticks(errors))
    return apply_layout(fig, "Near-constant tokens: low precision loses the variation", 560, legend_below=True)


def damping_figure(stds: Tensor, outs: dict[float, Tensor]) -> go.Figure:
    """Output std against input std after LayerNorm, one line per ε."""
    colors = [INPUT, OUTPUT, SELECTED, PAD, LIT]
    fig = go.Figure()
    for (eps, out), color in zip(outs.items(), colors, strict=False):
        fig.add_trace(
            go.Scatter(x=_np(stds), y=_np(out), mode="lines", name=f"ε = {eps:g}", line={"color": color, "width": 3})
        )
    fig.update_xaxes(type="log", title_text="std of the input token", **log_ticks(_np(stds).tolist()))
    fig.update_yaxes(title_text="std of the output token", range=[0, 1.1])
    return apply_layout(fig, "ε shrinks tokens whose variance is not much larger than ε", 400)
