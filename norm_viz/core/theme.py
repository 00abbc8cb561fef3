"""One theme for every figure: the colour-blind-safe palette, fonts, axis names and the one layout helper.

plotly only. The same colour means the same thing on every page (input, output, the lit group).
"""

from __future__ import annotations

import re
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


TITLE_SIZE = 20
LEGEND_WIDTH = 400
"""The plot width (px) a legend above the plot is assumed to wrap at: a narrow column at 1280 px, so that the
room kept for it is enough on a projector's 1280×720 and merely generous on a wide screen."""


def _legend_names(data: Any, layout: dict[str, Any]) -> list[str]:
    """The names a figure's legend will list (plotly shows a legend for two or more named traces, or when asked)."""
    traces = [t if isinstance(t, dict) else t.to_plotly_json() for t in data]
    shown = [t for t in traces if t.get("showlegend", True) is not False and t.get("name")]
    asked = layout.get("showlegend")
    if asked is False or (asked is None and len(shown) < 2 and not any(t.get("showlegend") for t in shown)):
        return []
    return [str(t["name"]) for t in shown]


def legend_rows(names: list[str], width: int = LEGEND_WIDTH, font: float = FONT["size"]) -> int:
    """How many text lines a horizontal legend of these entries takes at `width` px (each entry: a symbol and a gap,
    then its text; an entry broken with <br> is as tall as its lines)."""
    rows: list[int] = []
    used = float(width)
    for name in names:
        lines = name.split("<br>")
        w = 40 + 0.55 * font * max(len(re.sub(r"<[^>]+>", "", ln)) for ln in lines)
        if used + w > width:
            rows.append(0)
            used = 0.0
        rows[-1] = max(rows[-1], len(lines))
        used += w
    return sum(rows)


def top_margin(title: str, names: list[str], at_least: int = 0, font: float = FONT["size"]) -> int:
    """The top margin that holds the title (one line per <br>) above a legend of `names` above the plot."""
    lines = 1 + title.count("<br>") if title else 0
    return max(at_least, 14 + round(1.45 * TITLE_SIZE * lines) + round(1.5 * font * legend_rows(names, font=font)))


def wrap_label(text: str, width: int = 60) -> str:
    """A long legend entry broken into lines of about `width` characters at its commas (plotly never wraps one)."""
    lines: list[str] = []
    for part in text.split(", "):
        if lines and len(lines[-1]) + 2 + len(part) <= width:
            lines[-1] += ", " + part
        else:
            lines.append(part)
    return ",<br>".join(lines)


def _title(text: str) -> dict[str, Any]:
    # at the top of the figure, not centred in the top margin: the legend sits below it, just above the plot
    return {"text": text, "font": {"size": TITLE_SIZE}, "yref": "container", "y": 1, "yanchor": "top", "pad": {"t": 10}}


def figure(data: list[dict[str, Any]], layout: dict[str, Any], title: str, height: int) -> go.Figure:
    margin = {"l": 10, "r": 10, "t": top_margin(title, _legend_names(data, layout), 50), "b": 10}
    base = {
        "title": _title(title),
        "font": FONT,
        "height": height,
        "margin": margin,
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
    }
    out = {**base, **layout}
    if "margin" in layout:  # a figure's own margins, with at least the room its title and legend need
        out["margin"] = {**layout["margin"], "t": max(layout["margin"].get("t", 0), margin["t"])}
    return go.Figure({"data": data, "layout": out}, _validate=VALIDATE)


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
    lay = fig.layout.to_plotly_json() | ({} if showlegend is None else {"showlegend": showlegend})
    names = [] if legend_below else _legend_names(fig.data, lay)
    plot_h = height - top - 10
    above = round(max(0.0, legend_y - 1.0) * plot_h)  # a legend raised above the plot's top needs that much more
    fig.update_layout(
        title=_title(title),
        font=FONT,
        height=height,
        margin={"l": 10, "r": 10, "t": max(top, top_margin(title, names) + above), "b": 10},
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
    if lay.margin and lay.margin.t:  # the title and the legend above the plot grow too
        out.update_layout(margin_t=round(lay.margin.t * factor))
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
