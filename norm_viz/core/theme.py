"""One theme for every figure: the colour-blind-safe palette, fonts, axis names and the one layout helper.

plotly only. The same colour means the same thing on every page (input, output, the lit group).
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

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
AXIS_TITLES = {"batch": "batch (b)", "sequence": "sequence (s)", "feature": "feature (f)", "group": "group (g)"}

VALIDATE = False
"""Whether plotly validates every property when a figure is built (slow; the tests turn it on)."""


def figure(data: list[dict[str, Any]], layout: dict[str, Any], title: str, height: int) -> go.Figure:
    base = {
        "title": {"text": title, "font": {"size": 20}},
        "font": FONT,
        "height": height,
        "margin": {"l": 10, "r": 10, "t": 70, "b": 10},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
    }
    return go.Figure({"data": data, "layout": {**base, **layout}}, _validate=VALIDATE)


def apply_layout(
    fig: go.Figure,
    title: str,
    height: int,
    *,
    top: int = 70,
    legend_y: float = 1.0,
    showlegend: bool | None = None,
    grid: bool = False,
    legend_below: bool = False,
) -> go.Figure:
    """The common title, font, size and legend of a figure built with go.Figure methods.

    Options: `top` margin (room for a legend above the plot), `legend_y` (the legend's bottom, in plot heights),
    `showlegend` (None: plotly decides), `grid` (white background, light grid lines, larger tick labels),
    `legend_below` (a legend with many or long entries goes below the plot, not over the title).
    """
    fig.update_layout(
        title={"text": title, "font": {"size": 20}},
        font=FONT,
        height=height,
        margin={"l": 10, "r": 10, "t": top, "b": 10},
        legend={"orientation": "h", "yanchor": "top", "y": -0.18, "x": 0}
        if legend_below
        else {"orientation": "h", "yanchor": "bottom", "y": legend_y, "x": 0},
    )
    if showlegend is not None:
        fig.update_layout(showlegend=showlegend)
    if grid:
        fig.update_layout(plot_bgcolor="white")
        fig.update_xaxes(showgrid=True, gridcolor="#E5E5E5", zeroline=False, tickfont={"size": 15})
        fig.update_yaxes(showgrid=True, gridcolor="#E5E5E5", zeroline=False, tickfont={"size": 15})
    return fig


def _grow_fonts(
    node: Any, factor: float, base: float, min_size: float, inherit: bool, seen: set[int] | None = None
) -> None:
    """Enlarge, in place, every font dict under `node` (keys 'font', 'tickfont', 'textfont', …): its size times
    `factor`, at least `min_size`; a font without a size gets one only where `inherit` (else plotly's default).
    A font dict shared by several places (one dict for three 3D axes) grows once."""
    seen = set() if seen is None else seen
    if isinstance(node, dict):
        for k, v in node.items():
            if k.endswith("font") and isinstance(v, dict):
                if id(v) in seen:
                    continue
                seen.add(id(v))
                size = v.get("size")
                if isinstance(size, (int, float)) and not isinstance(size, bool):
                    v["size"] = round(max(size * factor, min_size), 1)
                elif size is None and inherit:
                    v["size"] = round(max(base * factor, min_size), 1)
            elif isinstance(v, (dict, list)):
                _grow_fonts(v, factor, base, min_size, inherit, seen)
    elif isinstance(node, list) and node and isinstance(node[0], dict):
        for item in node:
            _grow_fonts(item, factor, base, min_size, inherit, seen)


def scaled(fig: go.Figure, factor: float, min_size: float = 0.0, max_height: float | None = None) -> go.Figure:
    """A copy of `fig` for presentation mode: every font of its layout and traces (titles, tick labels, legends,
    annotations, numbers in cells, colour bars) enlarged by `factor` and to at least `min_size` px, and its height
    by `factor` (up to `max_height`, but never lower than it was)."""
    spec = fig.to_dict()  # a deep copy: the figure may be cached and shown again
    layout = spec.setdefault("layout", {})
    base = float((layout.get("font") or {}).get("size") or 12)
    big = round(max(base * factor, min_size), 1)
    tick = round(max(base * 0.85 * factor, min_size), 1)
    layout["font"] = {**(layout.get("font") or {}), "size": big}
    seen: set[int] = set()
    _grow_fonts({k: v for k, v in layout.items() if k != "font"}, factor, base, min_size, False, seen)
    _grow_fonts(spec.get("data", []), factor, base, min_size, False, seen)
    # Streamlit's plotly theme sets some fonts itself (legend, axis titles, colour bars), smaller than the layout
    # font, so an inherited size does not reach them: give them one
    layout.setdefault("legend", {}).setdefault("font", {}).setdefault("size", big)
    if isinstance(layout.get("title"), dict):
        layout["title"].setdefault("font", {}).setdefault("size", round(max(base * 1.25 * factor, min_size), 1))
    axes = [v for k, v in layout.items() if k.startswith(("xaxis", "yaxis")) and isinstance(v, dict)]
    for scene in (v for k, v in layout.items() if k.startswith("scene") and isinstance(v, dict)):
        axes += [scene.setdefault(a, {}) for a in ("xaxis", "yaxis", "zaxis")]
    for axis in axes:  # tick labels: set (a copy per axis), so that a figure's own smaller tickfont is overridden too
        size = max(tick, axis.get("tickfont", {}).get("size", 0))
        if axis.get("type") == "log":  # plotly draws a log axis's in-between labels (2, 5) at 3/4 of the size
            size = max(size, round(min_size / 0.75, 1))
        axis["tickfont"] = {**axis.get("tickfont", {}), "size": size}
        title = axis.get("title")
        if isinstance(title, dict):
            title.setdefault("font", {}).setdefault("size", big)
    for trace in spec.get("data", []):
        if trace.get("texttemplate"):  # numbers in cells: plotly shrinks them to fit the cell unless told a size
            trace.setdefault("textfont", {}).setdefault("size", tick)
        bar = trace.get("colorbar")
        if isinstance(bar, dict) or trace.get("type") in ("heatmap", "contour", "histogram2d"):
            bar = trace.setdefault("colorbar", {})
            bar.setdefault("tickfont", {}).setdefault("size", tick)
            if isinstance(bar.get("title"), dict):
                bar["title"].setdefault("font", {}).setdefault("size", big)
    margin = layout.get("margin")
    if isinstance(margin, dict) and isinstance(margin.get("t"), (int, float)):  # room for the larger title and legend
        layout["margin"] = {**margin, "t": round(margin["t"] * factor)}
    height = float(layout.get("height") or 450)
    grown = height * factor if max_height is None else max(height, min(height * factor, max_height))
    layout["height"] = round(grown)
    return go.Figure(spec, _validate=VALIDATE)
