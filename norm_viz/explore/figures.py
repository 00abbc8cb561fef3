"""Plotly figures of normalization results: statistics maps, input/output heatmaps and histograms (the cube is
norm_viz/cube/, drawn in the browser).

plotly and numpy only (no streamlit): every function takes results or primitives and returns a go.Figure.
Figures are assembled from plain dicts with hand-placed axis domains (no make_subplots), which keeps an
Explorer rerun fast; tests set VALIDATE = True to have plotly check every property.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from norm_viz.core.compute import NormResult
from norm_viz.core.theme import (
    AXIS_TITLES,
    DIVERGING,
    INPUT,
    LIT,
    OUTPUT,
    SELECTED,
    SEQUENTIAL,
    figure,
)
from norm_viz.explore.explorer import stats_title


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
    return figure(data, layout, stats_title(result), 400)


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
