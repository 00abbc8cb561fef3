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
INK = "#7F7F7F"  # lines, outlines and neutral marks: a mid grey that reads on the light and the dark theme alike
GRID = "rgba(128, 128, 128, 0.25)"  # grid lines over whatever background the theme gives
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
    `showlegend` (None: plotly decides), `grid` (light grid lines, larger tick labels; the background stays the
    theme's, so that a dark theme gets a dark plot),
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
        fig.update_xaxes(showgrid=True, gridcolor=GRID, zeroline=False, tickfont={"size": 15})
        fig.update_yaxes(showgrid=True, gridcolor=GRID, zeroline=False, tickfont={"size": 15})
    return fig


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
