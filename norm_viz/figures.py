"""Plotly figures of normalization results: the 3D cube, the paper-style group overview,
statistics maps, input/output heatmaps and histograms.

plotly and numpy only (no streamlit): every function takes results or primitives and returns a go.Figure.
Figures are assembled from plain dicts with hand-placed axis domains (no make_subplots), which keeps an
Explorer rerun fast; tests set VALIDATE = True to have plotly check every property.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from norm_viz.compute import NormResult
from norm_viz.specs import NORMS, lit_box

# Okabe-Ito colour-blind-safe palette: the same colour means the same thing on every page.
LIT = "#E69F00"  # cells that share the chosen cell's statistic
SELECTED = "#D55E00"  # the chosen cell itself
INPUT = "#0072B2"  # the input tensor
OUTPUT = "#009E73"  # the output tensor
PAD = "#CC79A7"  # padding: cells that feed no statistic
FAINT = "#9AA5B1"  # every other cell
LIT_SHADES = ("#F5C26B", "#E69F00", "#B57A00")  # front, top and side faces of a lit box
DIVERGING = "RdBu_r"
SEQUENTIAL = "Cividis"

FONT = {"size": 16}
CUBE_FULL_LIMIT = 4096
"""Above this many cells the cube draws only the lit group and the outline (WebGL cost)."""

AXIS_TITLES = {"batch": "batch (b)", "sequence": "sequence (s)", "feature": "feature (f)", "group": "group (g)"}

VALIDATE = False
"""Whether plotly validates every property when a figure is built (slow; the tests turn it on)."""


def _figure(data: list[dict[str, Any]], layout: dict[str, Any], title: str, height: int) -> go.Figure:
    base = {
        "title": {"text": title, "font": {"size": 20}},
        "font": FONT,
        "height": height,
        "margin": {"l": 10, "r": 10, "t": 70, "b": 10},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
    }
    return go.Figure({"data": data, "layout": {**base, **layout}}, _validate=VALIDATE)


def apply_layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    """The common title, font, size and legend of a figure built with go.Figure methods."""
    fig.update_layout(
        title={"text": title, "font": {"size": 20}},
        font=FONT,
        height=height,
        margin={"l": 10, "r": 10, "t": 70, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
    )
    return fig


def _panel_axes(n: int, gap: float = 0.1) -> list[tuple[float, float]]:
    """x domains of n side-by-side panels."""
    width = (1 - gap * (n - 1)) / n
    return [(i * (width + gap), i * (width + gap) + width) for i in range(n)]


def _panel_title(text: str, domain: tuple[float, float], color: str | None = None) -> dict[str, Any]:
    """A bold title centred above one side-by-side panel."""
    return {
        "text": f"<b>{text}</b>",
        "x": (domain[0] + domain[1]) / 2,
        "y": 1.02,
        "xref": "paper",
        "yref": "paper",
        "showarrow": False,
        "yanchor": "bottom",
        "font": {"size": 17, **({"color": color} if color else {})},  # no colour: the theme's (light or dark)
    }


def _ticks(n: int) -> dict[str, Any]:
    """Integer ticks for an index axis: every index while they fit, else plotly's own choice."""
    return {"tickmode": "linear", "tick0": 0, "dtick": 1} if n <= 16 else {}


def _axis_name(kind: str, i: int) -> str:
    return kind if i == 0 else f"{kind}{i + 1}"


# --- the 3D cube ---------------------------------------------------------------------------------


def _cube_outline(b: int, s: int, f: int) -> dict[str, Any]:
    xs, ys, zs = (-0.5, f - 0.5), (-0.5, s - 0.5), (-0.5, b - 0.5)
    px: list[float | None] = []
    py: list[float | None] = []
    pz: list[float | None] = []
    for i in range(2):
        for j in range(2):
            px += [xs[0], xs[1], None, xs[i], xs[i], None, xs[i], xs[i], None]
            py += [ys[i], ys[i], None, ys[0], ys[1], None, ys[j], ys[j], None]
            pz += [zs[j], zs[j], None, zs[j], zs[j], None, zs[0], zs[1], None]
    return {
        "type": "scatter3d",
        "x": px,
        "y": py,
        "z": pz,
        "mode": "lines",
        "line": {"color": "#555555", "width": 3},
        "hoverinfo": "skip",
        "showlegend": False,
    }


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
    size = float(np.clip(220 / max(b, s, f), 3, 26))

    def cells(sel: np.ndarray, name: str, color: str, opacity: float, symbol: str, msize: float) -> dict[str, Any]:
        return {
            "type": "scatter3d",
            "x": ff[sel],
            "y": ss[sel],
            "z": bb[sel],
            "customdata": values[sel],
            "mode": "markers",
            "name": name,
            "opacity": opacity,
            "marker": {"size": msize, "color": color, "symbol": symbol, "line": {"width": 0}},
            "hovertemplate": "b=%{z} s=%{y} f=%{x}<br>x=%{customdata:.4g}<extra></extra>",
        }

    full = b * s * f <= CUBE_FULL_LIMIT
    lit_cells = lit & contributes
    traces = [_cube_outline(b, s, f)]
    if full:
        traces.append(cells(~lit & contributes, "other cells", FAINT, 0.12, "square", size))
    if show_group:
        traces.append(
            cells(lit_cells, f"shares the statistic ({int(lit_cells.sum())} cells)", LIT, 0.9, "square", size)
        )
    pads = ~contributes & (np.ones_like(lit) if full else lit)
    if pads.any() and not result.uses_running_stats:
        traces.append(cells(pads, "padding (not counted)", PAD, 0.5, "x", size * 0.8))
    one = np.zeros_like(lit)
    one[cell] = True
    traces.append(cells(one, f"chosen cell {tuple(cell)}", SELECTED, 1.0, "diamond", size * 1.3))
    axis = {"showbackground": False, "tickfont": {"size": 12}, "tickmode": "linear", "tick0": 0}
    scene = {
        "xaxis": {**axis, "title": {"text": AXIS_TITLES["feature"]}, "range": [-0.6, f - 0.4], "dtick": max(1, f // 8)},
        "yaxis": {
            **axis,
            "title": {"text": AXIS_TITLES["sequence"]},
            "range": [-0.6, s - 0.4],
            "dtick": max(1, s // 8),
        },
        "zaxis": {**axis, "title": {"text": AXIS_TITLES["batch"]}, "range": [-0.6, b - 0.4], "dtick": max(1, b // 8)},
        "aspectmode": "cube",
        "camera": {"eye": {"x": 1.6, "y": -1.6, "z": 1.1}},
    }
    note = "" if full else f"<br><sup>{b * s * f:,} cells: only the lit group and the outline are drawn</sup>"
    return _figure(
        traces, {"scene": scene}, (title or f"{result.norm.label}: which cells share one statistic") + note, 560
    )


# --- the paper-style overview (GroupNorm paper, figure 2), drawn in 2D so that it costs no WebGL ---

_DEPTH = (0.45, 0.32)  # where the whole batch axis goes in the oblique projection
_PANEL = (1.75, 1.75)  # distance between neighbouring small cubes


def _project(
    seq: float, feat: float, bat: float, shape: tuple[int, int, int], at: tuple[float, float]
) -> tuple[float, float]:
    b, s, f = shape
    return at[0] + seq / s + _DEPTH[0] * bat / b, at[1] + feat / f + _DEPTH[1] * bat / b


def _faces(
    box: tuple[tuple[int, int], tuple[int, int], tuple[int, int]], shape: tuple[int, int, int], at: tuple[float, float]
) -> list[list[tuple[float, float]]]:
    """The three visible faces (front, top, side) of a box, as polygons in 2D."""
    (b0, b1), (s0, s1), (f0, f1) = box

    def p(s_: float, f_: float, b_: float) -> tuple[float, float]:
        return _project(s_, f_, b_, shape, at)

    front = [p(s0, f0, b0), p(s1, f0, b0), p(s1, f1, b0), p(s0, f1, b0)]
    top = [p(s0, f1, b0), p(s1, f1, b0), p(s1, f1, b1), p(s0, f1, b1)]
    side = [p(s1, f0, b0), p(s1, f0, b1), p(s1, f1, b1), p(s1, f1, b0)]
    return [front, top, side]


def _polygons(polys: list[list[tuple[float, float]]]) -> tuple[list[float | None], list[float | None]]:
    """Closed polygons in one x/y list separated by None (fill="toself" fills each one)."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    for poly in polys:
        xs += [q[0] for q in poly] + [poly[0][0], None]
        ys += [q[1] for q in poly] + [poly[0][1], None]
    return xs, ys


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
    cols = min(cols, len(keys))
    rows = -(-len(keys) // cols)
    b, s, f = shape
    whole = ((0, b), (0, s), (0, f))
    cube_polys: list[list[tuple[float, float]]] = []
    lit_polys: list[list[list[tuple[float, float]]]] = [[], [], []]
    annotations: list[dict[str, Any]] = []
    hover_x, hover_y, hover_text = [], [], []
    for i, key in enumerate(keys):
        at = (i % cols * _PANEL[0], -(i // cols) * _PANEL[1])
        cube_polys += _faces(whole, shape, at)
        box = lit_box(key, shape, cell, groups)
        for face, poly in enumerate(_faces(box, shape, at)):
            lit_polys[face].append(poly)
        n_lit = (box[0][1] - box[0][0]) * (box[1][1] - box[1][0]) * (box[2][1] - box[2][0])
        label = NORMS[key].label
        annotations.append(
            {
                "x": at[0] + 0.72,
                "y": at[1] + 1.45,
                "text": f"<b>▶ {label}</b>" if key == highlight else label,
                "showarrow": False,
                "font": {"size": 15, **({"color": SELECTED} if key == highlight else {})},
            }
        )
        hover_x.append(at[0] + 0.5)
        hover_y.append(at[1] + 0.5)
        hover_text.append(f"{label}: {n_lit} cells share one statistic")
    x0, y0 = 0.0, 0.0
    for text, (x, y), angle in (
        ("sequence →", _project(s / 2, -0.12 * f, 0, shape, (x0, y0)), 0),
        ("feature →", _project(-0.1 * s, f / 2, 0, shape, (x0, y0)), -90),
        ("batch →", _project(1.08 * s, 0, b / 2, shape, (x0, y0)), -35),
    ):
        annotations.append(
            {
                "x": x,
                "y": y,
                "text": text,
                "showarrow": False,
                "textangle": angle,
                "font": {"size": 13},
            }
        )
    cx, cy = _polygons(cube_polys)
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "x": cx,
            "y": cy,
            "fill": "toself",
            "fillcolor": "rgba(154,165,177,0.18)",
            "mode": "lines",
            "line": {"color": "#555", "width": 1.5},
            "hoverinfo": "skip",
            "showlegend": False,
        }
    ]
    for polys, shade in zip(lit_polys, LIT_SHADES, strict=True):
        lx, ly = _polygons(polys)
        data.append(
            {
                "type": "scatter",
                "x": lx,
                "y": ly,
                "fill": "toself",
                "fillcolor": shade,
                "mode": "lines",
                "line": {"color": "#7A5200", "width": 1},
                "hoverinfo": "skip",
                "showlegend": False,
            }
        )
    data.append(
        {
            "type": "scatter",
            "x": hover_x,
            "y": hover_y,
            "text": hover_text,
            "mode": "markers",
            "marker": {"opacity": 0, "size": 40},
            "hoverinfo": "text",
            "showlegend": False,
        }
    )
    layout = {
        "annotations": annotations,
        "xaxis": {"visible": False, "range": [-0.25, (cols - 1) * _PANEL[0] + 1.55]},
        "yaxis": {"visible": False, "range": [-(rows - 1) * _PANEL[1] - 0.25, 1.5], "scaleanchor": "x"},
        "dragmode": False,
    }
    title = f"Every norm at once: the cells that share cell (b, s, f) = {tuple(cell)}'s statistic"
    return _figure(data, layout, title, 250 * rows + 90)


# --- statistics in the shape of the group index space ----------------------------------------------


def stats_figure(result: NormResult, cell: tuple[int, int, int]) -> go.Figure:
    """μ and σ² (or mean square) of every group, laid out over the axes that index them."""
    axes, shape = result.stats_axes, result.stats_shape
    gid = int(result.group_id[cell])
    var_name = "variance σ²" if result.norm.centered else "mean square"
    panels = ([("mean μ", result.group_mean)] if result.group_mean is not None else []) + [(var_name, result.group_var)]
    domains = _panel_axes(len(panels), 0.18)
    data: list[dict[str, Any]] = []
    layout: dict[str, Any] = {"annotations": [], "margin": {"l": 10, "r": 10, "t": 100, "b": 10}}
    for i, ((name, t), dom) in enumerate(zip(panels, domains, strict=True)):
        xa, ya = _axis_name("x", i), _axis_name("y", i)
        v = t.detach().double().numpy()
        layout["annotations"].append(_panel_title(name, dom))
        if len(axes) <= 1:
            colors = [SELECTED if k == gid else INPUT for k in range(v.size)]
            data.append(
                {
                    "type": "bar",
                    "x": np.arange(v.size),
                    "y": v,
                    "marker": {"color": colors},
                    "xaxis": xa,
                    "yaxis": ya,
                    "showlegend": False,
                    "hovertemplate": "%{x}: %{y:.4g}<extra></extra>",
                }
            )
            x_title, y_title, y_rev = (AXIS_TITLES.get(axes[0], axes[0]) if axes else "group"), name, False
        else:
            cols_n = shape[-1]
            grid = v.reshape(-1, cols_n)
            data.append(
                {
                    "type": "heatmap",
                    "z": grid,
                    "colorscale": SEQUENTIAL,
                    "xaxis": xa,
                    "yaxis": ya,
                    "colorbar": {"x": dom[1] + 0.005, "len": 0.9, "thickness": 14},
                    "hovertemplate": "row %{y}, col %{x}: %{z:.4g}<extra></extra>",
                }
            )
            r_i, c_i = divmod(gid, cols_n)
            data.append(
                {
                    "type": "scatter",
                    "x": [c_i],
                    "y": [r_i],
                    "mode": "markers",
                    "marker": {"symbol": "square-open", "size": 18, "color": SELECTED, "line": {"width": 3}},
                    "xaxis": xa,
                    "yaxis": ya,
                    "showlegend": False,
                    "hoverinfo": "skip",
                }
            )
            x_title, y_title, y_rev = AXIS_TITLES[axes[-1]], " × ".join(AXIS_TITLES[a] for a in axes[:-1]), True
        n_cols, n_rows = (shape[-1], v.size // shape[-1]) if len(axes) > 1 else (v.size, 0)
        layout[_axis_name("xaxis", i)] = {
            "domain": [dom[0], dom[1] - (0.05 if len(axes) > 1 else 0)],
            "anchor": ya,
            "title": {"text": x_title},
            **_ticks(n_cols),
        }
        y_axis: dict[str, Any] = {"anchor": xa, "title": {"text": y_title}}
        if y_rev:
            y_axis |= {"autorange": "reversed", **_ticks(n_rows)}
        layout[_axis_name("yaxis", i)] = y_axis
    per = " × ".join(axes) if axes else "the whole tensor"
    counts = sorted({int(c) for c in result.counts})
    if result.uses_running_stats:
        source = "taken from the running statistics (eval mode)"
    elif counts == [result.group_size]:
        source = f"each over {result.group_size} cells"
    else:
        source = f"each over {', '.join(map(str, counts))} real values of {result.group_size} cells"
    title = f"{result.n_groups} statistics, one per {per}, {source}"
    return _figure(data, layout, title, 400)


# --- input and output ------------------------------------------------------------------------------


def heatmaps_figure(
    result: NormResult, batch_item: int, cell: tuple[int, int, int], shared_scale: bool = False
) -> go.Figure:
    """Input and output of one batch item as sequence × feature heatmaps; clicking a cell selects it."""
    _, s, f = result.shape
    xin = result.input[batch_item].detach().double().numpy()
    xout = result.output[batch_item].detach().double().numpy()
    lim_in = float(np.abs(xin).max()) or 1.0
    lim_out = float(np.abs(xout).max()) or 1.0
    if shared_scale:
        lim_in = lim_out = max(lim_in, lim_out)
    ss, ff = np.nonzero((result.group_id[batch_item] == result.group_id[cell]).numpy())
    all_s, all_f = np.indices((s, f)).reshape(2, -1)
    mark = max(6, min(26, 420 // max(s, f)))
    data: list[dict[str, Any]] = []
    layout: dict[str, Any] = {
        "annotations": [],
        "clickmode": "event+select",
        "dragmode": False,
        "legend": {"orientation": "h", "yanchor": "top", "y": -0.18, "x": 0},
        "margin": {"l": 10, "r": 10, "t": 100, "b": 70},
    }
    panels = (
        (f"input, batch item {batch_item}", xin, lim_in, INPUT),
        (f"output, batch item {batch_item}", xout, lim_out, OUTPUT),
    )
    for i, ((name, z, lim, color), dom) in enumerate(zip(panels, _panel_axes(2, 0.12), strict=True)):
        xa, ya = _axis_name("x", i), _axis_name("y", i)
        on = {"xaxis": xa, "yaxis": ya}
        layout["annotations"].append(_panel_title(name, dom, color))
        data.append(
            {
                "type": "heatmap",
                "z": z,
                "zmin": -lim,
                "zmax": lim,
                "colorscale": DIVERGING,
                "colorbar": {"x": dom[1] + 0.005, "len": 0.9, "thickness": 14},
                "hovertemplate": "s=%{y} f=%{x}: %{z:.4g}<extra></extra>",
                **on,
            }
        )
        data.append(
            {
                "type": "scatter",
                "x": ff,
                "y": ss,
                "mode": "markers",
                "marker": {"symbol": "square-open", "size": mark, "color": LIT, "line": {"width": 2}},
                "name": "shares the statistic",
                "showlegend": i == 0,
                "hoverinfo": "skip",
                **on,
            }
        )
        if cell[0] == batch_item:
            data.append(
                {
                    "type": "scatter",
                    "x": [cell[2]],
                    "y": [cell[1]],
                    "mode": "markers",
                    "marker": {"symbol": "diamond", "size": 14, "color": SELECTED},
                    "name": "chosen cell",
                    "showlegend": i == 0,
                    "hoverinfo": "skip",
                    **on,
                }
            )
        data.append(
            {
                "type": "scatter",
                "x": all_f,
                "y": all_s,
                "mode": "markers",
                "marker": {"size": mark, "opacity": 0, "symbol": "square"},
                "customdata": np.stack([np.full(all_s.size, batch_item), all_s, all_f, z[all_s, all_f]], axis=1),
                "hovertemplate": "b=%{customdata[0]} s=%{y} f=%{x}: %{customdata[3]:.4g}<extra></extra>",
                "showlegend": False,
                "name": "click to choose",
                **on,
            }
        )
        layout[_axis_name("xaxis", i)] = {
            "domain": [dom[0], dom[1] - 0.04],
            "anchor": ya,
            "title": {"text": AXIS_TITLES["feature"]},
            **_ticks(f),
        }
        layout[_axis_name("yaxis", i)] = {
            "anchor": xa,
            "title": {"text": AXIS_TITLES["sequence"]},
            "autorange": "reversed",
            **_ticks(s),
        }
    return _figure(data, layout, "Input and output side by side (click a cell to choose it)", 470)


def histogram_figure(result: NormResult) -> go.Figure:
    """Distribution of every input value and every output value."""
    data = [
        {
            "type": "histogram",
            "x": result.input.detach().double().numpy().ravel(),
            "name": "input",
            "marker": {"color": INPUT},
            "opacity": 0.6,
            "nbinsx": 40,
        },
        {
            "type": "histogram",
            "x": result.output.detach().double().numpy().ravel(),
            "name": "output",
            "marker": {"color": OUTPUT},
            "opacity": 0.6,
            "nbinsx": 40,
        },
    ]
    layout = {"barmode": "overlay", "xaxis": {"title": {"text": "value"}}, "yaxis": {"title": {"text": "cells"}}}
    return _figure(data, layout, "All values before and after", 340)


def scaled(fig: go.Figure, factor: float) -> go.Figure:
    """A copy of `fig` with every font and the height enlarged by `factor` (presentation mode)."""
    out = go.Figure(fig)
    lay = out.layout

    def grow(font: object, default: float) -> dict:
        size = getattr(font, "size", None) or default
        color = getattr(font, "color", None)  # keep a font's colour (highlighted titles, coloured labels)
        return {"size": round(size * factor, 1), **({"color": color} if color else {})}

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
    apply_layout(fig, title, 240 + 130 * len(names))
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
    return apply_layout(fig, "Click cells (shift-click or drag a box to add several)", 200 + 46 * s)
