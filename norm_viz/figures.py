"""Plotly figures of normalization results: the 3D cube, the paper-style group overview,
statistics maps, input/output heatmaps and histograms.

plotly and numpy only (no streamlit): every function takes results or primitives and returns a go.Figure.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from norm_viz.compute import NormResult
from norm_viz.specs import NORMS, lit_box

# Okabe-Ito colour-blind-safe palette: the same colour means the same thing on every page.
LIT = "#E69F00"  # cells that share the chosen cell's statistic
SELECTED = "#D55E00"  # the chosen cell itself
INPUT = "#0072B2"  # the input tensor
OUTPUT = "#009E73"  # the output tensor
PAD = "#CC79A7"  # padding: cells that feed no statistic
FAINT = "#9AA5B1"  # every other cell
DIVERGING = "RdBu_r"

FONT = {"size": 16}
CUBE_FULL_LIMIT = 4096
"""Above this many cells the cube draws only the lit group and the outline (WebGL cost)."""

AXIS_TITLES = {"batch": "batch (b)", "sequence": "sequence (s)", "feature": "feature (f)", "group": "group (g)"}


def _layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(
        title={"text": title, "font": {"size": 20}},
        font=FONT,
        height=height,
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
    )
    return fig


def _cube_outline(b: int, s: int, f: int) -> go.Scatter3d:
    lo = -0.5
    xs, ys, zs = [lo, f - 0.5], [lo, s - 0.5], [lo, b - 0.5]
    px: list[float | None] = []
    py: list[float | None] = []
    pz: list[float | None] = []
    for i in range(2):
        for j in range(2):
            px += [xs[0], xs[1], None, xs[i], xs[i], None, xs[i], xs[i], None]
            py += [ys[i], ys[i], None, ys[0], ys[1], None, ys[j], ys[j], None]
            pz += [zs[j], zs[j], None, zs[j], zs[j], None, zs[0], zs[1], None]
    return go.Scatter3d(
        x=px, y=py, z=pz, mode="lines", line={"color": "#555555", "width": 3}, hoverinfo="skip", showlegend=False
    )


def cube_figure(
    result: NormResult, cell: tuple[int, int, int], title: str | None = None, show_group: bool = True
) -> go.Figure:
    """The (B, S, F) tensor in 3D: the cells sharing `cell`'s statistic lit, the rest faint (or only the cell)."""
    b, s, f = result.shape
    gid = result.group_id.numpy()
    lit = gid == gid[cell] if show_group else np.zeros(gid.shape, dtype=bool)
    contributes = result.contributes.numpy()
    values = result.input.detach().double().numpy()
    bb, ss, ff = np.indices((b, s, f))
    marker_size = float(np.clip(220 / max(b, s, f), 3, 26))

    def cells(sel: np.ndarray, name: str, color: str, opacity: float, symbol: str, size: float) -> go.Scatter3d:
        text = [
            f"b={i} s={j} f={k}<br>x={v:.4g}" for i, j, k, v in zip(bb[sel], ss[sel], ff[sel], values[sel], strict=True)
        ]
        return go.Scatter3d(
            x=ff[sel],
            y=ss[sel],
            z=bb[sel],
            mode="markers",
            name=name,
            opacity=opacity,
            marker={"size": size, "color": color, "symbol": symbol, "line": {"width": 0}},
            text=text,
            hoverinfo="text",
        )

    traces = [_cube_outline(b, s, f)]
    full = b * s * f <= CUBE_FULL_LIMIT
    if full:
        traces.append(cells(~lit & contributes, "other cells", FAINT, 0.12, "square", marker_size))
    if show_group:
        traces.append(
            cells(
                lit & contributes,
                f"shares the statistic ({int((lit & contributes).sum())} cells)",
                LIT,
                0.9,
                "square",
                marker_size,
            )
        )
    pads = ~contributes & (lit if not full else np.ones_like(lit))
    if pads.any() and not result.uses_running_stats:
        traces.append(cells(pads, "padding (not counted)", PAD, 0.5, "x", marker_size * 0.8))
    one = np.zeros_like(lit)
    one[cell] = True
    traces.append(cells(one, f"chosen cell {tuple(cell)}", SELECTED, 1.0, "diamond", marker_size * 1.3))
    fig = go.Figure(traces)
    note = "" if full else f" — {b * s * f:,} cells: only the lit group and the outline are drawn"
    scene_axis = {"showbackground": False, "tickfont": {"size": 12}}
    fig.update_layout(
        scene={
            "xaxis": {**scene_axis, "title": {"text": AXIS_TITLES["feature"]}, "range": [-0.6, f - 0.4]},
            "yaxis": {**scene_axis, "title": {"text": AXIS_TITLES["sequence"]}, "range": [-0.6, s - 0.4]},
            "zaxis": {**scene_axis, "title": {"text": AXIS_TITLES["batch"]}, "range": [-0.6, b - 0.4]},
            "aspectmode": "cube",
            "camera": {"eye": {"x": 1.6, "y": -1.6, "z": 1.1}},
        }
    )
    return _layout(fig, (title or f"{result.norm.label}: which cells share one statistic") + note, 560)


# --- the paper-style overview (GroupNorm paper, figure 2), drawn in 2D so that it costs no WebGL ---

_DEPTH = np.array([0.45, 0.32])  # where one unit of batch goes in the oblique projection


def _project(seq: float, feat: float, bat: float, shape: tuple[int, int, int]) -> tuple[float, float]:
    b, s, f = shape
    x, y = seq / s, feat / f
    d = bat / b
    return x + _DEPTH[0] * d, y + _DEPTH[1] * d


def _faces(
    box: tuple[tuple[int, int], tuple[int, int], tuple[int, int]], shape: tuple[int, int, int]
) -> list[tuple[list, list]]:
    """The three visible faces (front, top, side) of a box, as closed polygons in 2D."""
    (b0, b1), (s0, s1), (f0, f1) = box
    p = _project
    front = [p(s0, f0, b0, shape), p(s1, f0, b0, shape), p(s1, f1, b0, shape), p(s0, f1, b0, shape)]
    top = [p(s0, f1, b0, shape), p(s1, f1, b0, shape), p(s1, f1, b1, shape), p(s0, f1, b1, shape)]
    side = [p(s1, f0, b0, shape), p(s1, f0, b1, shape), p(s1, f1, b1, shape), p(s1, f1, b0, shape)]
    out = []
    for poly in (front, top, side):
        xs = [q[0] for q in poly] + [poly[0][0]]
        ys = [q[1] for q in poly] + [poly[0][1]]
        out.append((xs, ys))
    return out


def groups_overview_figure(
    shape: tuple[int, int, int],
    cell: tuple[int, int, int],
    groups: int = 1,
    keys: Sequence[str] | None = None,
    highlight: str | None = None,
    cols: int = 4,
) -> go.Figure:
    """Small multiples, one cube per norm, with the cells sharing `cell`'s statistic shaded (as in the GN paper)."""
    keys = list(keys or NORMS)
    rows = -(-len(keys) // cols)
    titles = [("▶ " if k == highlight else "") + NORMS[k].label for k in keys]
    fig = make_subplots(
        rows=rows, cols=min(cols, len(keys)), subplot_titles=titles, horizontal_spacing=0.03, vertical_spacing=0.12
    )
    b, s, f = shape
    whole = ((0, b), (0, s), (0, f))
    shades = ("#F5C26B", "#E69F00", "#B57A00")
    for i, key in enumerate(keys):
        r, c = i // cols + 1, i % cols + 1
        box = lit_box(key, shape, cell, groups)
        for xs, ys in _faces(whole, shape):
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=ys,
                    fill="toself",
                    fillcolor="rgba(154,165,177,0.18)",
                    line={"color": "#555", "width": 1.5},
                    hoverinfo="skip",
                    showlegend=False,
                    mode="lines",
                ),
                row=r,
                col=c,
            )
        lit_cells = (box[0][1] - box[0][0]) * (box[1][1] - box[1][0]) * (box[2][1] - box[2][0])
        for (xs, ys), shade in zip(_faces(box, shape), shades, strict=True):
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=ys,
                    fill="toself",
                    fillcolor=shade,
                    line={"color": "#7A5200", "width": 1},
                    mode="lines",
                    showlegend=False,
                    hoverinfo="text",
                    text=f"{NORMS[key].label}: {lit_cells} cells share one statistic",
                ),
                row=r,
                col=c,
            )
        if i == 0:
            for text, (x, y), angle in (
                ("sequence →", _project(s / 2, 0, 0, shape), 0),
                ("feature →", _project(0, f / 2, 0, shape), -90),
                ("batch →", _project(s, 0, b / 2, shape), -35),
            ):
                fig.add_annotation(
                    x=x,
                    y=y,
                    text=text,
                    showarrow=False,
                    textangle=angle,
                    font={"size": 13, "color": "#333"},
                    xshift=-14 if angle == -90 else 0,
                    yshift=-12 if angle == 0 else 0,
                    row=r,
                    col=c,
                )
    fig.update_xaxes(visible=False, range=[-0.12, 1.5])
    fig.update_yaxes(visible=False, range=[-0.12, 1.38], scaleanchor=None)
    for ann in fig.layout.annotations[: len(keys)]:
        ann.font = {"size": 15}
    return _layout(
        fig, f"Every norm at once: the cells that share cell (b, s, f) = {tuple(cell)}'s statistic", 260 * rows + 70
    )


# --- statistics in the shape of the group index space ---


def stats_figure(result: NormResult, cell: tuple[int, int, int]) -> go.Figure:
    """μ and σ² (or mean square) of every group, laid out over the axes that index them."""
    axes, shape = result.stats_axes, result.stats_shape
    gid = int(result.group_id[cell])
    var_name = "mean square" if not result.norm.centered else "variance σ²"
    panels = ([("mean μ", result.group_mean)] if result.group_mean is not None else []) + [(var_name, result.group_var)]
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[p[0] for p in panels], horizontal_spacing=0.12)
    for c, (name, t) in enumerate(panels, start=1):
        v = t.detach().double().numpy()
        if len(axes) <= 1:
            x = np.arange(v.size)
            colors = [SELECTED if i == gid else INPUT for i in range(v.size)]
            fig.add_trace(
                go.Bar(
                    x=x,
                    y=v,
                    marker_color=colors,
                    name=name,
                    showlegend=False,
                    hovertemplate=f"{axes[0] if axes else 'group'} %{{x}}: %{{y:.4g}}<extra></extra>",
                ),
                row=1,
                col=c,
            )
            fig.update_xaxes(title_text=AXIS_TITLES.get(axes[0], axes[0]) if axes else "", row=1, col=c)
        else:
            rows_n = int(np.prod(shape[:-1]))
            grid = v.reshape(rows_n, shape[-1])
            fig.add_trace(
                go.Heatmap(
                    z=grid,
                    colorscale="Cividis",
                    showscale=True,
                    colorbar={"len": 0.9, "x": 0.44 if c == 1 and len(panels) == 2 else 1.0},
                    hovertemplate="row %{y}, col %{x}: %{z:.4g}<extra></extra>",
                ),
                row=1,
                col=c,
            )
            r_i, c_i = divmod(gid, shape[-1])
            fig.add_trace(
                go.Scatter(
                    x=[c_i],
                    y=[r_i],
                    mode="markers",
                    marker={"symbol": "square-open", "size": 18, "color": SELECTED, "line": {"width": 3}},
                    showlegend=False,
                    hoverinfo="skip",
                ),
                row=1,
                col=c,
            )
            row_title = " × ".join(AXIS_TITLES[a] for a in axes[:-1])
            fig.update_yaxes(title_text=row_title, autorange="reversed", row=1, col=c)
            fig.update_xaxes(title_text=AXIS_TITLES[axes[-1]], row=1, col=c)
    per = " × ".join(axes) if axes else "the whole tensor"
    title = f"{result.n_groups} statistics, one per {per}, each over {result.group_size} cells"
    return _layout(fig, title, 380)


# --- input and output ---


def heatmaps_figure(
    result: NormResult, batch_item: int, cell: tuple[int, int, int], shared_scale: bool = False
) -> go.Figure:
    """Input and output of one batch item as sequence × feature heatmaps; clicking a cell selects it."""
    _b, s, f = result.shape
    xin = result.input[batch_item].detach().double().numpy()
    xout = result.output[batch_item].detach().double().numpy()
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=(f"input, batch item {batch_item}", f"output, batch item {batch_item}"),
        horizontal_spacing=0.1,
    )
    lim_in = float(np.abs(xin).max()) or 1.0
    lim_out = float(np.abs(xout).max()) or 1.0
    if shared_scale:
        lim_in = lim_out = max(lim_in, lim_out)
    lit = (result.group_id[batch_item] == result.group_id[cell]).numpy()
    ss, ff = np.nonzero(lit)
    allss, allff = np.indices((s, f)).reshape(2, -1)
    for c, (z, lim) in enumerate(((xin, lim_in), (xout, lim_out)), start=1):
        fig.add_trace(
            go.Heatmap(
                z=z,
                zmin=-lim,
                zmax=lim,
                colorscale=DIVERGING,
                colorbar={"x": 0.45 if c == 1 else 1.0, "len": 0.9},
                hovertemplate="s=%{y} f=%{x}: %{z:.4g}<extra></extra>",
            ),
            row=1,
            col=c,
        )
        fig.add_trace(
            go.Scatter(
                x=ff,
                y=ss,
                mode="markers",
                marker={
                    "symbol": "square-open",
                    "size": max(6, min(22, 420 // max(s, f))),
                    "color": LIT,
                    "line": {"width": 2},
                },
                name="shares the statistic",
                showlegend=c == 1,
                hoverinfo="skip",
            ),
            row=1,
            col=c,
        )
        if cell[0] == batch_item:
            fig.add_trace(
                go.Scatter(
                    x=[cell[2]],
                    y=[cell[1]],
                    mode="markers",
                    marker={"symbol": "diamond", "size": 14, "color": SELECTED},
                    name="chosen cell",
                    showlegend=c == 1,
                    hoverinfo="skip",
                ),
                row=1,
                col=c,
            )
        fig.add_trace(
            go.Scatter(
                x=allff,
                y=allss,
                mode="markers",
                marker={"size": max(6, min(30, 420 // max(s, f))), "opacity": 0, "symbol": "square"},
                customdata=np.stack([np.full(allss.size, batch_item), allss, allff], axis=1),
                hoverinfo="skip",
                showlegend=False,
                name="click to choose",
            ),
            row=1,
            col=c,
        )
        fig.update_xaxes(title_text=AXIS_TITLES["feature"], row=1, col=c)
        fig.update_yaxes(title_text=AXIS_TITLES["sequence"], autorange="reversed", row=1, col=c)
    fig.update_layout(clickmode="event+select", dragmode=False)
    return _layout(fig, "Input and output side by side (click a cell to choose it)", 420)


def histogram_figure(result: NormResult) -> go.Figure:
    """Distribution of every input value and every output value."""
    fig = go.Figure(
        [
            go.Histogram(
                x=result.input.detach().double().numpy().ravel(),
                name="input",
                marker_color=INPUT,
                opacity=0.6,
                nbinsx=40,
            ),
            go.Histogram(
                x=result.output.detach().double().numpy().ravel(),
                name="output",
                marker_color=OUTPUT,
                opacity=0.6,
                nbinsx=40,
            ),
        ]
    )
    fig.update_layout(barmode="overlay", xaxis_title="value", yaxis_title="cells")
    return _layout(fig, "All values before and after", 340)


def scaled(fig: go.Figure, factor: float) -> go.Figure:
    """A copy of `fig` with every font and the height enlarged by `factor` (presentation mode)."""
    out = go.Figure(fig)
    lay = out.layout

    def grow(font: object, default: float) -> dict:
        size = getattr(font, "size", None) or default
        return {"size": round(size * factor, 1)}

    base = (lay.font.size if lay.font and lay.font.size else 12) or 12
    out.update_layout(font=grow(lay.font, base), height=round((lay.height or 450) * factor))
    if lay.title and lay.title.text:
        out.update_layout(title_font=grow(lay.title.font, base * 1.25))
    for ann in lay.annotations or ():
        ann.font = grow(ann.font, base)
    out.update_xaxes(tickfont={"size": round(base * 0.85 * factor, 1)}, title_font={"size": round(base * factor, 1)})
    out.update_yaxes(tickfont={"size": round(base * 0.85 * factor, 1)}, title_font={"size": round(base * factor, 1)})
    if any(t.type in ("scatter3d", "mesh3d") for t in out.data):
        axis = {
            "tickfont": {"size": round(base * 0.75 * factor, 1)},
            "title": {"font": {"size": round(base * factor, 1)}},
        }
        out.update_scenes(xaxis=axis, yaxis=axis, zaxis=axis)
    return out


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
    title = f"The {int(mask.sum())} values that share the chosen cell's statistic"
    _layout(fig, title, 240 + 130 * len(names))
    fig.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0})  # below: titles stay clear
    return fig


# --- a clickable 2D map of every cell (the quiz): one sequence × feature panel per batch item ---


def cell_grid_figure(
    shape: tuple[int, int, int],
    cell: tuple[int, int, int],
    picked: Sequence[tuple[int, int, int]] = (),
    answer: Sequence[tuple[int, int, int]] | None = None,
) -> go.Figure:
    """Every cell as a square, batch items side by side; `picked` cells filled, the `answer` outlined if given.

    Each square carries customdata [b, s, f], so a click (or a box/lasso selection) tells which cells were chosen.
    """
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
    fig.update_layout(clickmode="event+select", dragmode="select")
    return _layout(fig, "Click cells (shift-click or drag a box to add several)", 200 + 46 * s)
