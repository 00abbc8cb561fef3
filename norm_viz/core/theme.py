"""One theme for every figure: the colour-blind-safe palette, fonts, axis names and the one layout helper.

plotly only. The same colour means the same thing on every page (input, output, the lit group).
"""

from __future__ import annotations

import math
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


BELOW_AXIS = 80
"""px under a plot for its x tick labels and axis title (a legend placed below starts under them)."""


def log_ticks(values: Any, max_ticks: int = 9) -> dict[str, Any]:
    """Readable ticks for a log axis over `values` (positive ones count): 1, 2, 5 × 10^k for short ranges, every
    decade (or every n-th) for long ones, labelled '0.5', '20', '1e-7' (never plotly's bare '5' for 0.5, nor SI
    prefixes such as '1p' or '100μ')."""
    vals = [float(v) for v in _flat(values) if v is not None and math.isfinite(float(v)) and float(v) > 0]
    if not vals:
        return {"exponentformat": "e", "minorloglabels": "none"}
    lo, hi = math.floor(math.log10(min(vals))), math.ceil(math.log10(max(vals)))
    hi = max(hi, lo + 1)
    span = hi - lo
    mantissas = (1, 2, 5) if span <= 2 else (1, 3) if span <= 4 else (1,)
    step = max(1, math.ceil((span + 1) / max_ticks))
    ticks = [m * 10.0**k for k in range(lo, hi + 1) if (k - lo) % step == 0 for m in mantissas]
    ticks = [t for t in ticks if min(vals) / 3 <= t <= max(vals) * 3] or [10.0**lo, 10.0**hi]
    return {"tickmode": "array", "tickvals": ticks, "ticktext": [log_label(t) for t in ticks]}


def log_label(t: float) -> str:
    """A tick label of a log axis: plain from 0.001 to 9999 ('0.5', '20'), else '2e-5' (no zero-padded exponent)."""
    if 1e-3 <= t < 1e4:
        return f"{t:g}"
    mant, exp = f"{t:.0e}".split("e")
    return f"{mant}e{int(exp)}"


def _flat(values: Any) -> list[Any]:
    out: list[Any] = []
    for v in values if isinstance(values, (list, tuple)) else list(getattr(values, "flatten", lambda: values)()):
        out.extend(_flat(v) if isinstance(v, (list, tuple)) else [v])
    return out


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
    listed = _legend_names(fig.data, lay)
    names = [] if legend_below else listed
    plot_h = height - top - 10
    above = round(max(0.0, legend_y - 1.0) * plot_h)  # a legend raised above the plot's top needs that much more
    bottom = 10
    if legend_below:  # the legend at the figure's foot, in a bottom margin that also holds the x axis's title
        bottom = BELOW_AXIS + round(1.5 * FONT["size"] * legend_rows(listed)) + 10
    fig.update_layout(
        title=_title(title),
        font=FONT,
        height=height + (bottom - 10 if legend_below else 0),
        margin={"l": 10, "r": 10, "t": max(top, top_margin(title, names) + above), "b": bottom},
        # below: anchored to the figure's bottom edge (container), never to the plot, whose x title it covered
        legend={"orientation": "h", "yref": "container", "yanchor": "bottom", "y": 0, "x": 0}
        if legend_below
        else {"orientation": "h", "yanchor": "bottom", "y": legend_y, "x": 0},
    )
    if showlegend is not None:
        fig.update_layout(showlegend=showlegend)
    if grid:
        fig.update_xaxes(showgrid=True, gridcolor=GRID, zeroline=False, tickfont={"size": 15})
        fig.update_yaxes(showgrid=True, gridcolor=GRID, zeroline=False, tickfont={"size": 15})
    return fig


def _grow_fonts(
    node: Any, factor: float, base: float, min_size: float, inherit: bool, seen: set[int] | None = None
) -> None:
    """Enlarge, in place, every font dict under `node` (keys 'font', 'tickfont', 'textfont', …): its size times
    `factor`, at least `min_size`; a font without a size gets one only where `inherit` (else plotly's default).
    A font dict shared by several places (one tick font for several axes) grows once."""
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
    # numbers in heatmap cells sized by the figure itself (to fit its cells): checked again below at their new size
    fitted = [
        i
        for i, tr in enumerate(spec.get("data", []))
        if tr.get("type") == "heatmap"
        and tr.get("texttemplate")
        and isinstance((tr.get("textfont") or {}).get("size"), (int, float))
    ]
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
        if isinstance(margin.get("b"), (int, float)) and margin["b"] > 10:  # a legend below: it grows too
            layout["margin"]["b"] = round(margin["b"] * factor)
    height = float(layout.get("height") or 450)
    grown = height * factor if max_height is None else max(height, min(height * factor, max_height))
    layout["height"] = round(grown)
    for i in fitted:  # a number taller than its row now would run into the next row's: the colour alone tells it
        trace = spec["data"][i]
        row = _row_height(layout, trace)
        # 1.6: a line of text is 1.35 font sizes tall in the page's font, and plotly's automatic margins take up to
        # 15% of the estimated row (Causal's maps at 1920: rows of 22 px drawn, 27 estimated, 24 px labels)
        if row is not None and trace["textfont"]["size"] * 1.6 > row:
            trace["texttemplate"] = None
    return go.Figure(spec, _validate=VALIDATE)


def _row_height(layout: dict[str, Any], trace: dict[str, Any]) -> float | None:
    """The height (px) of one row of a heatmap's cells in a figure laid out with `layout` (None: unknown)."""
    z, height, margin = trace.get("z"), layout.get("height"), layout.get("margin") or {}
    # plotly's typed array {"dtype", "bdata", "shape": "rows, columns"}, or a list of rows
    rows = int(str(z.get("shape", "0")).split(",")[0] or 0) if isinstance(z, dict) else (0 if z is None else len(z))
    if not rows or not isinstance(height, (int, float)):
        return None
    axis = layout.get("yaxis" + str(trace.get("yaxis", "y"))[1:]) or {}
    lo, hi = axis.get("domain") or (0.0, 1.0)
    return (height - margin.get("t", 100) - margin.get("b", 80)) * (hi - lo) / rows
