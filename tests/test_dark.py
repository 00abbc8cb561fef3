"""Every figure follows the theme: on the dark theme no page keeps a white plot, black lines or dark text.

Streamlit's plotly theme gives figures a transparent background and the theme's text colour; a figure that sets its
own opaque white (or black) background, text or line colour overrides it and shows a white box (or invisible lines)
on the dark theme. Checked on the figures every page emits, so a new figure is checked too.
"""

from __future__ import annotations

import re

import pytest
from conftest import app_test, charts, no_exception, page_entries

from norm_viz.core import theme

PAGES = [e.url_path for e in page_entries()]


def _rgba(colour: str) -> tuple[float, float, float, float] | None:
    """'#RGB', '#RRGGBB', 'rgb(...)', 'rgba(...)' or a few names -> (r, g, b, alpha) in 0..1; None if unknown."""
    c = colour.strip().lower()
    names = {"white": "#ffffff", "black": "#000000", "transparent": "rgba(0,0,0,0)"}
    c = names.get(c, c)
    if re.fullmatch(r"#[0-9a-f]{3}", c):
        c = "#" + "".join(ch * 2 for ch in c[1:])
    if re.fullmatch(r"#[0-9a-f]{6}", c):
        return (int(c[1:3], 16) / 255, int(c[3:5], 16) / 255, int(c[5:7], 16) / 255, 1.0)
    m = re.fullmatch(r"rgba?\(([^)]*)\)", c)
    if m:
        parts = [float(p) for p in m.group(1).split(",")]
        return (parts[0] / 255, parts[1] / 255, parts[2] / 255, parts[3] if len(parts) > 3 else 1.0)
    return None


def luminance(colour: str) -> float | None:
    """WCAG relative luminance of an opaque colour (None for a transparent or unknown one)."""
    rgba = _rgba(colour)
    if rgba is None or rgba[3] < 0.5:
        return None
    lin = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in rgba[:3]]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def extreme(colour: object) -> bool:
    """An opaque near-white or near-black colour: it clashes with one of the two themes."""
    lum = luminance(colour) if isinstance(colour, str) else None
    return lum is not None and (lum > 0.85 or lum < 0.05)


def theme_clashes(fig: dict) -> list[str]:
    """The places where a figure's JSON fixes a colour that one of the two themes cannot show."""
    lay = fig.get("layout", {})
    found = []
    for key in ("plot_bgcolor", "paper_bgcolor"):
        if key in lay and (_rgba(lay[key]) or (0, 0, 0, 1))[3] > 0:
            found.append(f"layout.{key} = {lay[key]} (the theme's background must show through)")
    for name, scene in ((k, v) for k, v in lay.items() if k.startswith("scene") and isinstance(v, dict)):
        if extreme(scene.get("bgcolor")):
            found.append(f"{name}.bgcolor = {scene['bgcolor']}")
    for where, font in (("font", lay.get("font")), ("title.font", (lay.get("title") or {}).get("font"))):
        if isinstance(font, dict) and extreme(font.get("color")):
            found.append(f"layout.{where}.color = {font['color']} (text in one fixed colour)")
    for a in lay.get("annotations", []):
        if extreme(a.get("bgcolor")):
            found.append(f"annotation {a.get('text')!r} bgcolor = {a['bgcolor']}")
    for sh in lay.get("shapes", []):
        if extreme(sh.get("fillcolor")):
            found.append(f"shape fillcolor = {sh['fillcolor']}")
        if extreme((sh.get("line") or {}).get("color")):
            found.append(f"shape line = {sh['line']['color']}")
    for t in fig.get("data", []):
        label = t.get("name") or t.get("type")
        if extreme((t.get("line") or {}).get("color")):
            found.append(f"trace {label!r} line = {t['line']['color']}")
        marker_colour = (t.get("marker") or {}).get("color")
        if isinstance(marker_colour, str) and extreme(marker_colour):
            found.append(f"trace {label!r} marker = {marker_colour}")
    return found


def test_the_checker_catches_a_white_plot_and_black_lines():
    assert theme_clashes({"layout": {"plot_bgcolor": "white"}, "data": []})
    assert theme_clashes({"layout": {}, "data": [{"type": "scatter", "line": {"color": "#000000"}}]})
    assert theme_clashes({"layout": {"font": {"color": "#333333"}}, "data": []})
    assert not theme_clashes({"layout": {"font": {"size": 16}}, "data": [{"line": {"color": theme.INK}}]})
    assert luminance(theme.GRID) is None  # a translucent grid over either background


@pytest.mark.parametrize("page", PAGES)
def test_every_figure_of_the_page_follows_the_theme(page):
    at = app_test(page)
    no_exception(at)
    figs = charts(at)
    clashes = {i: c for i, f in enumerate(figs) if (c := theme_clashes(f))}
    assert not clashes, clashes
