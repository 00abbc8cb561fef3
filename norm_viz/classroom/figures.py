"""Figures of the classroom pages: the walkthrough's number line.

plotly only (no streamlit).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from norm_viz.core.compute import NormResult
from norm_viz.core.numbers import plural
from norm_viz.core.theme import (
    INPUT,
    LIT,
    OUTPUT,
    SELECTED,
    apply_layout,
)

# --- the walkthrough's number line ---

_ROW_GAP = 1.35
_ROWS = {"x": "x (input)", "x_hat": "x̂ (normalized)", "y": "y (output)"}


def number_line_figure(
    result: NormResult, cell: tuple[int, int, int], upto: str, group: np.ndarray | None = None
) -> go.Figure:
    """The chosen cell's group on number lines: x with μ and ±σ, then x̂ with 0 and ±1, then y with β and ±γ.

    `upto` is the walkthrough step ("mean", "variance", "normalized", "affine", "output"): later rows and marks
    appear only once their step is reached. `group` is the (B, S, F) mask of the cells that fed the statistic.
    """
    order = ("mean", "variance", "normalized", "affine", "output")
    k = order.index(upto) if upto in order else 0
    mask = group if group is not None else (result.group_id == result.group_id[cell]).numpy()
    v = result.cell(*cell)
    centered = result.norm.centered
    rows = [("x", result.input, INPUT)]
    if k >= 2:
        rows.append(("x_hat", result.normalized, LIT))
    if k >= 3:
        rows.append(("y", result.output, OUTPUT))
    names = [_ROWS[r[0]] for r in rows][::-1]
    fig = go.Figure()
    jitter_base = np.array([0.0, 0.12, -0.12, 0.24, -0.24])

    def band(y0: str, lo: float, hi: float, color: str, label: str) -> None:
        yi = _ROW_GAP * names.index(y0)
        fig.add_shape(
            type="rect", x0=lo, x1=hi, y0=yi - 0.36, y1=yi + 0.36, fillcolor=color, opacity=0.16, line_width=0
        )
        fig.add_annotation(x=hi, y=yi + 0.36, text=label, showarrow=False, xanchor="left", yanchor="bottom")

    def vline(y0: str, at: float, color: str, label: str) -> None:
        yi = _ROW_GAP * names.index(y0)
        fig.add_shape(
            type="line", x0=at, x1=at, y0=yi - 0.4, y1=yi + 0.4, line={"color": color, "width": 3, "dash": "dash"}
        )
        fig.add_annotation(x=at, y=yi - 0.4, text=label, showarrow=False, yanchor="top", font={"color": color})

    for key, t, color in rows:
        vals = t.detach().double().numpy()[mask]
        yi = _ROW_GAP * names.index(_ROWS[key])
        jit = jitter_base[np.arange(vals.size) % len(jitter_base)]
        fig.add_trace(
            go.Scatter(
                x=vals,
                y=yi + jit,
                mode="markers",
                name=f"{_ROWS[key]}: the {vals.size} lit values",
                marker={"size": 11, "color": color, "opacity": 0.8, "line": {"width": 0}},
                hovertemplate="%{x:.4g}<extra></extra>",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=[v[key]],
                y=[yi],
                mode="markers",
                name="chosen cell" if key == "x" else None,
                showlegend=key == "x",
                marker={"size": 20, "color": SELECTED, "symbol": "diamond", "line": {"width": 2, "color": "white"}},
                hovertemplate=f"chosen cell: %{{x:.4g}}<extra>{_ROWS[key]}</extra>",
            )
        )
    sd = float(np.sqrt(v["var"] + result.eps))
    if centered:
        vline(_ROWS["x"], v["mean"], INPUT, f"μ = {v['mean']:.3g}")
        if k >= 1:
            band(_ROWS["x"], v["mean"] - sd, v["mean"] + sd, INPUT, f"μ ± σ (σ = {sd:.3g})")
    elif k >= 1:
        band(_ROWS["x"], -sd, sd, INPUT, f"± rms (rms = {sd:.3g})")
    if k >= 2:
        if centered:
            vline(_ROWS["x_hat"], 0.0, LIT, "0")
        band(_ROWS["x_hat"], -1.0, 1.0, LIT, "±1")
    if k >= 3:
        vline(_ROWS["y"], v["beta"], OUTPUT, f"β = {v['beta']:.3g}")
        band(
            _ROWS["y"],
            v["beta"] - abs(v["gamma"]),
            v["beta"] + abs(v["gamma"]),
            OUTPUT,
            f"β ± |γ| (γ = {v['gamma']:.3g})",
        )
    fig.update_yaxes(
        tickvals=[_ROW_GAP * i for i in range(len(names))],
        ticktext=names,
        range=[-0.75, _ROW_GAP * (len(names) - 1) + 0.7],
        showgrid=False,
        zeroline=False,
    )
    fig.update_xaxes(title_text="value", zeroline=False)
    k_vals = int(mask.sum())
    title = (
        f"The {plural(k_vals, 'value')} of the lit group"  # short: the picture is half the page beside the cube
        if k_vals > 1
        else "The chosen cell alone makes its statistic"
    )
    # the legend at the figure's foot, under the x axis's title (placed at y = -0.22 it covered the title once
    # presentation mode enlarged the fonts)
    return apply_layout(fig, title, 200 + 110 * len(names), legend_below=True)
