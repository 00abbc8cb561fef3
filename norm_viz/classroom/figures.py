"""Figures of the classroom pages: the walkthrough's number line and the quiz's grid of cells.

plotly only (no streamlit).
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import plotly.graph_objects as go

from norm_viz.core.compute import NormResult
from norm_viz.core.numbers import plural
from norm_viz.core.theme import (
    AXIS_TITLES,
    FAINT,
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
        f"The {plural(k_vals, 'value')} that share the chosen cell's statistic"
        if k_vals > 1
        else "The chosen cell alone makes its statistic"
    )
    apply_layout(fig, title, 240 + 130 * len(names))
    fig.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0})  # below: titles stay clear
    return fig


# --- a clickable 2D map of every cell (the quiz): one sequence × feature panel per batch item ---

GRID_MOUSE = {
    "click": "Click a cell to pick it (click again to drop it)",
    "box": "Drag a box over cells to add them all",
}
"""What the mouse does on the quiz grid, and the grid's title that says so."""


def cell_grid_figure(
    shape: tuple[int, int, int],
    cell: tuple[int, int, int],
    picked: Collection[tuple[int, int, int]] = (),
    answer: Collection[tuple[int, int, int]] | None = None,
    mouse: str = "click",
) -> go.Figure:
    """Every cell as a square, batch items side by side; `picked` cells filled, the `answer` outlined if given.

    Each square carries customdata [b, s, f], so a click (or a box/lasso selection) tells which cells were chosen.
    `mouse` is "click" (a click toggles a cell) or "box" (a dragged box adds its cells): Streamlit turns point clicks
    off while plotly's drag mode is a box or lasso selection, so one figure cannot do both.
    """
    if mouse not in GRID_MOUSE:
        raise ValueError(f"mouse must be one of {', '.join(GRID_MOUSE)}, not {mouse!r}")
    b, s, f = shape
    bb, ss, ff = (a.ravel() for a in np.indices((b, s, f)))
    x = ff + bb * (f + 1)
    size = float(np.clip(520 / max(s, (f + 1) * b), 10, 34))
    chosen = {tuple(c) for c in picked}
    is_picked = np.array([(i, j, k) in chosen for i, j, k in zip(bb, ss, ff, strict=True)], dtype=bool)
    fig = go.Figure()
    for sel, name, color in ((~is_picked, "cell", FAINT), (is_picked, f"your pick ({int(is_picked.sum())})", INPUT)):
        fig.add_trace(
            go.Scatter(
                x=x[sel],
                y=ss[sel],
                mode="markers",
                name=name,
                showlegend=bool(sel.any()) and name != "cell",
                marker={"symbol": "square", "size": size, "color": color, "opacity": 0.85 if name != "cell" else 0.35},
                customdata=np.stack([bb[sel], ss[sel], ff[sel]], axis=1),
                hovertemplate="b=%{customdata[0]} s=%{customdata[1]} f=%{customdata[2]}<extra></extra>",
            )
        )
    if answer is not None:
        ans = np.array(sorted(tuple(c) for c in answer)).reshape(-1, 3)
        fig.add_trace(
            go.Scatter(
                x=ans[:, 2] + ans[:, 0] * (f + 1),
                y=ans[:, 1],
                mode="markers",
                name=f"the right answer ({len(ans)})",
                marker={"symbol": "square-open", "size": size + 4, "color": LIT, "line": {"width": 4}},
                hoverinfo="skip",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=[cell[2] + cell[0] * (f + 1)],
            y=[cell[1]],
            mode="markers",
            name=f"cell {tuple(cell)}",
            marker={"symbol": "diamond", "size": size * 0.6, "color": SELECTED, "line": {"width": 1, "color": "white"}},
            hoverinfo="skip",
        )
    )
    for i in range(b):
        fig.add_annotation(
            x=i * (f + 1) + (f - 1) / 2, y=-0.9, text=f"batch b = {i}", showarrow=False, yanchor="bottom"
        )
    ticks = [k + i * (f + 1) for i in range(b) for k in range(f)]
    fig.update_xaxes(
        tickvals=ticks,
        ticktext=[str(t % (f + 1)) for t in ticks],
        title_text="feature (f), one panel per batch item",
        showgrid=False,
        zeroline=False,
    )
    fig.update_yaxes(
        title_text=AXIS_TITLES["sequence"],
        autorange="reversed",
        tickvals=list(range(s)),
        showgrid=False,
        zeroline=False,
    )
    # fixed ranges: a drag in click mode neither zooms nor pans the grid away from under the student's mouse
    fig.update_xaxes(fixedrange=True)
    fig.update_yaxes(fixedrange=True)
    # selectdirection "d": a box is the rectangle dragged; with plotly's default a flat box along a row (what
    # students drag) becomes a band over every row, which picked cells nobody chose
    fig.update_layout(clickmode="event+select", dragmode="zoom" if mouse == "click" else "select", selectdirection="d")
    return apply_layout(fig, GRID_MOUSE[mouse], 200 + 46 * s)
