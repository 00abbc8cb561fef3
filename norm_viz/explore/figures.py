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

from norm_viz.core.compute import NormResult
from norm_viz.core.table import NORMS, lit_box
from norm_viz.core.theme import (
    AXIS_TITLES,
    DIVERGING,
    FAINT,
    INPUT,
    LIT,
    LIT_SHADES,
    OUTPUT,
    PAD,
    SELECTED,
    SEQUENTIAL,
    figure,
)

CUBE_FULL_LIMIT = 4096
"""Above this many cells the cube draws only the lit group and the outline (WebGL cost)."""


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
    return figure(
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
    return figure(data, layout, title, 250 * rows + 90)


# --- statistics in the shape of the group index space ----------------------------------------------


def stats_figure(result: NormResult, cell: tuple[int, int, int] | None = None) -> go.Figure:
    """μ and σ² (or mean square) of every group, laid out over the axes that index them; `cell`'s group marked
    (None: nothing marked, so that the figure does not change with the chosen cell)."""
    axes, shape = result.stats_axes, result.stats_shape
    gid = -1 if cell is None else int(result.group_id[cell])
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
                    **({"zmin": 0} if t is result.group_var else {}),  # a variance or mean square is never below 0
                    "xaxis": xa,
                    "yaxis": ya,
                    # at the panel's right edge (its x axis ends 0.04 before the domain): the input's colour bar stood
                    # over the output panel's axis title at 1280 px
                    "colorbar": {"x": dom[1] - 0.035, "xanchor": "left", "len": 0.9, "thickness": 14},
                    "hovertemplate": "row %{y}, col %{x}: %{z:.4g}<extra></extra>",
                }
            )
            if gid >= 0:
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
    return figure(data, layout, title, 400)


# --- input and output ------------------------------------------------------------------------------


NUMBERS_UP_TO = 8
"""A heatmap prints the value in every cell while both of its sides are at most this long."""


def heatmaps_figure(
    result: NormResult, batch_item: int, cell: tuple[int, int, int] | None = None, shared_scale: bool = False
) -> go.Figure:
    """Input and output of one batch item as sequence × feature heatmaps (values printed in small ones); clicking a
    cell selects it. `cell`: its group and itself are marked (None: nothing marked, so that the figure does not
    change with the chosen cell)."""
    _, s, f = result.shape
    xin = result.input[batch_item].detach().double().numpy()
    xout = result.output[batch_item].detach().double().numpy()
    lim_in = float(np.abs(xin).max()) or 1.0
    lim_out = float(np.abs(xout).max()) or 1.0
    if shared_scale:
        lim_in = lim_out = max(lim_in, lim_out)
    numbers = s <= NUMBERS_UP_TO and f <= NUMBERS_UP_TO
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
    for i, ((name, z, lim, color), dom) in enumerate(zip(panels, _panel_axes(2, 0.14), strict=True)):
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
                # at the panel's right edge (its x axis ends 0.04 before the domain): the input's colour bar stood
                # over the output panel's axis title at 1280 px
                "colorbar": {"x": dom[1] - 0.035, "xanchor": "left", "len": 0.9, "thickness": 14},
                "hovertemplate": "s=%{y} f=%{x}: %{z:.4g}<extra></extra>",
                **({"texttemplate": "%{z:.2f}", "textfont": {"size": 15 if max(s, f) <= 4 else 11}} if numbers else {}),
                **on,
            }
        )
        if cell is not None:
            ss, ff = np.nonzero((result.group_id[batch_item] == result.group_id[cell]).numpy())
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
        if cell is not None and cell[0] == batch_item:
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
            # one title for the two panels' shared rows: the output's would sit between the input's colour bar
            # and its own tick labels, where there is no room at 1280 px
            "title": {"text": AXIS_TITLES["sequence"] if i == 0 else ""},
            "autorange": "reversed",
            **_ticks(s),
        }
    return figure(data, layout, "Input and output side by side (click a cell to choose it)", 470)


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
    return figure(data, layout, "All values before and after", 340)
