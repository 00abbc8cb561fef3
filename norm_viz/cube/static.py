"""The cube drawn on the server, as the browser draws it: a line-by-line port of cube.js's drawCube and drawMini
(the tests run both on the same input and hold their SVGs equal), written out as a standalone SVG or rasterised to
PNG with Pillow from the same shapes (no browser, no kaleido).

No streamlit, no torch, no plotly.
"""

from __future__ import annotations

import io
import math
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from norm_viz.cube.data import cube_data

LIT = ("#F5C26B", "#E69F00", "#B57A00")
CHOSEN = ("#F08A4B", "#D55E00", "#A34700")
PAD = "#CC79A7"
MARK = ("#56B4E9", "#0072B2", "#004C7A")
VIEWS = {"right": (0.62, 0.42), "left": (-0.62, 0.42), "above": (0.3, 0.78)}
MAX_SIDE = 2400
"""The largest width or height (px) of an exported picture."""

Box = Sequence[Sequence[int]]
Point = tuple[float, float]


def fixed1(x: float) -> str:
    """x with one decimal, rounded as JavaScript's toFixed(1) rounds (half away from zero on the exact value)."""
    if x == 0:
        return "0.0"
    return str(Decimal(x).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Geometry:
    P: Callable[[float, float, float], Point]
    shape: tuple[int, int, int]
    right: bool
    lw: float
    lh: float
    dx: float
    dy: float
    ox: float
    oy: float


def geometry(shape: Sequence[int], view: str, width: float, height: float, mini: bool = False) -> Geometry:
    """cube.js geometry(): where cell corners land on the drawing."""
    b, s, f = shape
    vdx, vdy = VIEWS.get(view, VIEWS["right"])

    def grow(n: float) -> float:
        return max(0.45, math.pow(n, 0.45))

    k = max(grow(s), grow(f), grow(b))
    lw, lh, ld = grow(s) / k, grow(f) / k, (0.75 * grow(b)) / k
    dx, dy = vdx * ld, vdy * ld
    xs, ys = [0, lw, dx, lw + dx], [0, lh, dy, lh + dy]
    w0, h0 = max(xs) - min(xs), max(ys)
    ml, mr, mt, mb = (6, 6, 6, 6) if mini else (95, 55, 40, 55)
    scale = min((width - ml - mr) / w0, (height - mt - mb) / h0)
    ox = ml - min(0, dx) * scale + ((width - ml - mr) - w0 * scale) / 2
    oy = height - mb

    def P(si: float, fi: float, bi: float) -> Point:
        return (ox + (si / s) * lw * scale + (bi / b) * dx * scale, oy - (fi / f) * lh * scale - (bi / b) * dy * scale)

    return Geometry(P, (b, s, f), dx >= 0, lw * scale, lh * scale, dx * scale, dy * scale, ox, oy)


def pts(ps: Sequence[Point]) -> str:
    return " ".join(f"{fixed1(x)},{fixed1(y)}" for x, y in ps)


def faces(G: Geometry, box: Box) -> dict[str, list[Point]]:
    (b0, b1), (s0, s1), (f0, f1) = box
    P = G.P
    sx = s1 if G.right else s0
    return {
        "front": [P(s0, f0, b0), P(s1, f0, b0), P(s1, f1, b0), P(s0, f1, b0)],
        "top": [P(s0, f1, b0), P(s1, f1, b0), P(s1, f1, b1), P(s0, f1, b1)],
        "side": [P(sx, f0, b0), P(sx, f0, b1), P(sx, f1, b1), P(sx, f1, b0)],
    }


def solid(G: Geometry, box: Box, shades: Sequence[str], cls: str, edge: str) -> str:
    F = faces(G, box)
    return "".join(
        f'<polygon class="{cls}" points="{pts(F[k])}" fill="{shades[i]}" stroke="{edge}" stroke-width="1"/>'
        for i, k in enumerate(("front", "top", "side"))
    )


def step(n: int, length: float = 400, px: float = 9) -> int:
    return max(1, math.ceil(n / max(1, math.floor(length / px))))


def back_grid(G: Geometry, which: str) -> str:
    b, s, f = G.shape
    P = G.P
    sx = 0 if G.right else s
    lines: list[str] = []

    def add(a: Point, c: Point) -> None:
        lines.append(f"M{fixed1(a[0])},{fixed1(a[1])}L{fixed1(c[0])},{fixed1(c[1])}")

    if which == "back":
        for i in range(0, s + 1, step(s)):
            add(P(i, 0, b), P(i, f, b))
        for j in range(0, f + 1, step(f)):
            add(P(0, j, b), P(s, j, b))
    elif which == "floor":
        for i in range(0, s + 1, step(s)):
            add(P(i, 0, 0), P(i, 0, b))
        for k in range(0, b + 1, step(b)):
            add(P(0, 0, k), P(s, 0, k))
    else:
        for k in range(0, b + 1, step(b)):
            add(P(sx, 0, k), P(sx, f, k))
        for j in range(0, f + 1, step(f)):
            add(P(sx, j, 0), P(sx, j, b))
    return "".join(lines)


def shadows(G: Geometry, box: Box, color: str, opacity: float) -> str:
    b, s, _ = G.shape
    (b0, b1), (s0, s1), (f0, f1) = box
    P = G.P
    sx = 0 if G.right else s
    polys = [
        [P(s0, 0, b0), P(s1, 0, b0), P(s1, 0, b1), P(s0, 0, b1)],
        [P(s0, f0, b), P(s1, f0, b), P(s1, f1, b), P(s0, f1, b)],
        [P(sx, f0, b0), P(sx, f0, b1), P(sx, f1, b1), P(sx, f1, b0)],
    ]
    return "".join(f'<polygon points="{pts(p)}" fill="{color}" fill-opacity="{_num(opacity)}"/>' for p in polys)


def _num(x: float) -> str:
    """A number as JavaScript's String(x) writes it, for the few constants interpolated as they are."""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def ticks(G: Geometry) -> str:
    b, s, f = G.shape
    P = G.P
    out: list[str] = []

    def t(x: float, y: float, text: object, anchor: str) -> None:
        out.append(f'<text class="tick" x="{fixed1(x)}" y="{fixed1(y)}" text-anchor="{anchor}">{text}</text>')

    depth = math.hypot(G.dx, G.dy)
    for i in range(0, s, step(s, G.lw, 22)):
        x, y = P(i + 0.5, 0, 0)
        t(x, y + 16, i, "middle")
    for j in range(0, f, step(f, G.lh, 16)):
        x, y = P(0, j + 0.5, 0)
        t(x - 6, y + 4, j, "end")
    se = s if G.right else 0
    for k in range(0, b, step(b, depth, 16)):
        x, y = P(se, 0, k + 0.5)
        t(x + (8 if G.right else -8), y + 12, k, "start" if G.right else "end")
    x1, y1 = P(s / 2, 0, 0)
    out.append(f'<text class="axis" x="{fixed1(x1)}" y="{fixed1(y1 + 36)}" text-anchor="middle">sequence (s) →</text>')
    x2, y2 = P(0, f / 2, 0)
    ax, ay = fixed1(x2 - 34), fixed1(y2)
    out.append(
        f'<text class="axis" x="{ax}" y="{ay}" text-anchor="middle" transform="rotate(-90 {ax} {ay})">feature (f) →</text>'
    )
    x3, y3 = P(se, 0, b / 2)
    ang = math.atan2(-G.dy, G.dx) * 180 / math.pi
    a = ang if G.right else ang + 180
    bx, by = x3 + (30 if G.right else -30), y3 + 26
    out.append(
        f'<text class="axis" x="{fixed1(bx)}" y="{fixed1(by)}" text-anchor="middle" '
        f'transform="rotate({fixed1(a)} {fixed1(bx)} {fixed1(by)})">batch (b) →</text>'
    )
    return "".join(out)


def padding(G: Geometry, lengths: Sequence[int], box: Box) -> tuple[str, str]:
    _, s, _ = G.shape
    (b0, b1), (s0, s1), (f0, f1) = box
    floor, solid_pads = "", ""
    P = G.P
    for i in range(len(lengths) - 1, -1, -1):
        n = lengths[i]
        if n >= s:
            continue
        floor += f'<polygon points="{pts([P(n, 0, i), P(s, 0, i), P(s, 0, i + 1), P(n, 0, i + 1)])}" fill="{PAD}" fill-opacity="0.55"/>'
        lo = max(n, s0)
        if b0 <= i < b1 and lo < s1:
            solid_pads += solid(G, ((i, i + 1), (lo, s1), (f0, f1)), (PAD, PAD, PAD), "pad", "#6B2C55")
    return floor, solid_pads


def lit_box(rule: dict[str, Any], cell: Sequence[int]) -> list[list[int]]:
    """cube.js litBox(): the tile of the rule's block that holds the cell."""
    return [[i // w * w, (i // w + 1) * w] for i, w in zip(cell, rule["block"], strict=True)]


def marked(G: Geometry, marks: Sequence[Sequence[int]]) -> str:
    order = sorted(marks, key=lambda m: (-m[0], m[2], m[1] if G.right else -m[1]))
    return "".join(solid(G, ((i, i + 1), (j, j + 1), (k, k + 1)), MARK, "mark", "#00324F") for i, j, k in order)


def draw_cube(
    data: dict[str, Any], norm: str, cell: Sequence[int], width: float, height: float, view: str = "right"
) -> tuple[str, list[list[int]]]:
    """cube.js drawCube(): the cube's SVG markup (without the <svg> element) and the lit box."""
    b, s, f = data["shape"]
    rule = data["rules"][norm]
    G = geometry(data["shape"], view, width, height)
    box = lit_box(rule, cell)
    lit = data.get("lit") is not False and rule["statistic"]
    one = [[cell[0], cell[0] + 1], [cell[1], cell[1] + 1], [cell[2], cell[2] + 1]]
    whole = [[0, b], [0, s], [0, f]]
    P = G.P
    sx = 0 if G.right else s
    back = [
        [P(0, 0, b), P(s, 0, b), P(s, f, b), P(0, f, b)],
        [P(0, 0, 0), P(s, 0, 0), P(s, 0, b), P(0, 0, b)],
        [P(sx, 0, 0), P(sx, 0, b), P(sx, f, b), P(sx, f, 0)],
    ]
    svg = "".join(f'<polygon class="wall" points="{pts(p)}"/>' for p in back)
    svg += f'<path class="grid" d="{back_grid(G, "back")}{back_grid(G, "floor")}{back_grid(G, "far")}"/>'
    if lit:
        svg += shadows(G, box, LIT[1], 0.45)
    svg += shadows(G, one, CHOSEN[1], 0.8)
    floor, solid_pads = padding(G, data["lengths"] if rule["masked"] else [], box)
    svg += floor
    if lit:
        svg += solid(G, box, LIT, "lit", "#7A5200") + solid_pads
    svg += solid(G, one, CHOSEN, "chosen", "#5A2600")
    svg += marked(G, data.get("marks") or [])
    F = faces(G, whole)
    svg += "".join(f'<polygon class="glass" points="{pts(F[k])}"/>' for k in ("front", "top", "side"))
    svg += ticks(G)
    return svg, box


def draw_mini(data: dict[str, Any], key: str, cell: Sequence[int]) -> str:
    """cube.js drawMini(): one small cube (120 × 84) of the multiples."""
    b, s, f = data["shape"]
    G = geometry(data["shape"], "right", 120, 84, True)
    box = lit_box(data["rules"][key], cell)
    F = faces(G, [[0, b], [0, s], [0, f]])
    svg = "".join(f'<polygon class="mini-face" points="{pts(F[k])}"/>' for k in ("front", "top", "side"))
    if data["rules"][key]["statistic"]:
        svg += solid(G, box, LIT, "", "#7A5200")
    else:
        one = [[cell[0], cell[0] + 1], [cell[1], cell[1] + 1], [cell[2], cell[2] + 1]]
        svg += solid(G, one, CHOSEN, "", "#5A2600")
    return svg


# --- standalone SVG and PNG ------------------------------------------------------------------------------------

INK = "#31333F"
STYLE: dict[str, dict[str, Any]] = {
    "wall": {"fill": INK, "fill-opacity": 0.045, "stroke": INK, "stroke-opacity": 0.3},
    "grid": {"fill": "none", "stroke": INK, "stroke-opacity": 0.16, "stroke-width": 1},
    "glass": {"fill": "none", "stroke": INK, "stroke-opacity": 0.85, "stroke-width": 1.6},
    "mini-face": {"fill": INK, "fill-opacity": 0.07, "stroke": INK, "stroke-opacity": 0.6},
    "pad": {"fill-opacity": 0.92},
    "tick": {"fill": INK, "font-size": 14, "fill-opacity": 0.8},
    "axis": {"fill": INK, "font-size": 15, "font-weight": 700},
}
"""cube.css's rules with the light theme's ink for currentColor (a file has no page around it)."""


def _css() -> str:
    return (
        "".join(f".{k}{{{';'.join(f'{p}:{v}' for p, v in rules.items())}}}" for k, rules in STYLE.items())
        + "text{font-family:'DejaVu Sans',Arial,sans-serif}"
    )


def _check_size(width: int, height: int) -> None:
    if not (100 <= width <= MAX_SIDE and 100 <= height <= MAX_SIDE):
        raise ValueError(
            f"a picture of {width} × {height} pixels is out of bounds: width and height must be 100 to {MAX_SIDE}"
        )


def cube_svg(
    shape: tuple[int, int, int],
    norm: str,
    cell: tuple[int, int, int],
    *,
    groups: int = 1,
    lengths: Sequence[int] = (),
    width: int = 800,
    height: int = 560,
    title: str = "",
    view: str = "right",
    **options: Any,
) -> str:
    """The cube of a (B, S, F) tensor with `cell`'s group under `norm` lit, as a standalone SVG document (the same
    drawing as the browser's, seen from `view`: one of VIEWS, the browser cube's view buttons). `options`: the rest
    of cube_data's arguments (rules, lit, marks)."""
    _check_size(width, height)
    if view not in VIEWS:
        raise ValueError(f"view {view!r} is not one of {', '.join(VIEWS)}")
    data = cube_data(shape, groups=groups, lengths=lengths, **options)
    if not all(0 <= c < n for c, n in zip(cell, shape, strict=True)):
        raise ValueError(f"cell {tuple(cell)} is outside the tensor of shape {tuple(shape)}")
    top = 34 if title else 0
    body, _ = draw_cube(data, norm, cell, width, height - top, view)
    head = f'<text class="axis" x="{width / 2:.1f}" y="24" text-anchor="middle">{_esc(title)}</text>' if title else ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
        f'<style>{_css()}</style><rect width="100%" height="100%" fill="#FFFFFF"/>{head}'
        f'<g transform="translate(0 {top})">{body}</g></svg>'
    )


def multiples_svg(
    shape: tuple[int, int, int],
    cell: tuple[int, int, int],
    *,
    groups: int = 1,
    keys: Sequence[str] | None = None,
    columns: int = 5,
    highlight: str | None = None,
) -> str:
    """Every norm's small cube (the browser's multiples), `columns` to a row, labelled, as a standalone SVG."""
    data = cube_data(shape, groups=groups, keys=keys)
    names = list(data["rules"])
    rows = math.ceil(len(names) / columns)
    cw, ch, sc = 150, 130, 1.2  # a cell of the sheet, and the scale of a 120 × 84 small cube in it
    width, height = columns * cw, rows * ch
    parts = []
    for i, k in enumerate(names):
        x, y = (i % columns) * cw, (i // columns) * ch
        label = _esc(data["rules"][k]["label"])
        weight = ' style="font-weight:700"' if k == highlight else ""
        parts.append(
            f'<g transform="translate({x + 3} {y + 4}) scale({sc})">{draw_mini(data, k, cell)}</g>'
            f'<text class="tick" x="{x + cw / 2:.1f}" y="{y + ch - 12}" text-anchor="middle"{weight}>{label}</text>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
        f'<style>{_css()}</style><rect width="100%" height="100%" fill="#FFFFFF"/>{"".join(parts)}</svg>'
    )


def _esc(t: str) -> str:
    return str(t).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- PNG: Pillow draws the SVG's shapes (this module's SVG only: polygons, one path of lines, texts) ----------

_TAG = re.compile(r"<(polygon|path|text|g|/g|rect)\b([^>]*?)/?>(?:([^<]*)</text>)?")
_ATTR = re.compile(r'([\w-]+)="([^"]*)"')
_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
)


def _rgba(color: str, opacity: float) -> tuple[int, int, int, int]:
    c = color.lstrip("#")
    return (int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16), round(255 * max(0.0, min(1.0, opacity))))


def _font(size: float, bold: bool = False) -> Any:
    from PIL import ImageFont

    names = ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", *_FONTS) if bold else _FONTS
    for name in names:
        if Path(name).exists():
            return ImageFont.truetype(name, round(size))
    return ImageFont.load_default(size=round(size))


MAX_DRAWING = 2
"""How many PNGs the server rasterises at once (~0.2 s of one core each); more wait up to WAIT_S, then Busy."""
WAIT_S = 10.0
_SLOTS = threading.BoundedSemaphore(MAX_DRAWING)


class Busy(RuntimeError):
    """Too many pictures are being drawn: try again in a few seconds."""


def svg_to_png(svg: str, scale: float = 2.0) -> bytes:
    """`svg_to_png_unbounded`, at most MAX_DRAWING at a time in this process (Busy after WAIT_S)."""
    if not _SLOTS.acquire(timeout=WAIT_S):
        raise Busy(f"{MAX_DRAWING} pictures are being drawn; try again in a few seconds")
    try:
        return svg_to_png_unbounded(svg, scale)
    finally:
        _SLOTS.release()


def svg_to_png_unbounded(svg: str, scale: float = 2.0) -> bytes:
    """Rasterise an SVG written by this module (cube_svg, multiples_svg) with Pillow, `scale` px per SVG unit.

    Not a general SVG renderer: it reads the few shapes this module writes, with their classes' styles."""
    from PIL import Image, ImageDraw

    w = float(re.search(r'width="([\d.]+)"', svg).group(1))  # type: ignore[union-attr]
    h = float(re.search(r'height="([\d.]+)"', svg).group(1))  # type: ignore[union-attr]
    _check_size(round(w * scale), round(h * scale))
    ss = 2 if scale < 2 else 1  # small pictures are drawn at twice the size, then shrunk: smooth edges
    k0 = scale * ss
    img = Image.new("RGB", (round(w * k0), round(h * k0)), (255, 255, 255))
    d = ImageDraw.Draw(img, "RGBA")  # an RGB canvas drawn in RGBA: every shape is blended over what is below
    stack: list[tuple[float, float, float]] = [(0.0, 0.0, 1.0)]  # translate x, y and scale of the enclosing <g>s

    def at(x: float, y: float) -> tuple[float, float]:
        tx, ty, s = stack[-1]
        return ((tx + x * s) * k0, (ty + y * s) * k0)

    for m in _TAG.finditer(svg):
        tag, attrs, text = m.group(1), dict(_ATTR.findall(m.group(2))), m.group(3)
        style: dict[str, Any] = dict(STYLE.get(attrs.get("class", ""), {}))
        if tag == "g":
            nums = [float(v) for v in re.findall(r"-?[\d.]+", attrs.get("transform", ""))]
            tx, ty, s = stack[-1]
            dx, dy = [*nums, 0.0, 0.0][:2]
            sc = nums[2] if len(nums) > 2 else 1.0
            stack.append((tx + dx * s, ty + dy * s, s * sc))
            continue
        if tag == "/g":
            stack.pop()
            continue
        if tag == "rect":
            continue  # the white background: the canvas starts white
        if tag == "polygon":
            xy = [at(*(float(v) for v in p.split(","))) for p in attrs["points"].split()]
            fill = attrs.get("fill", style.get("fill", "none"))
            op = float(attrs.get("fill-opacity", style.get("fill-opacity", 1)))
            stroke = attrs.get("stroke", style.get("stroke", "none"))
            sw = float(attrs.get("stroke-width", style.get("stroke-width", 1)))
            if fill not in ("none", "currentColor"):
                d.polygon(xy, fill=_rgba(fill, op))
            if stroke not in ("none", "currentColor"):
                d.line(
                    [*xy, xy[0]],
                    fill=_rgba(stroke, float(style.get("stroke-opacity", 1))),
                    width=max(1, round(sw * k0)),
                )
        elif tag == "path":
            col = _rgba(str(style["stroke"]), float(style["stroke-opacity"]))
            for seg in re.findall(r"M([-\d.]+),([-\d.]+)L([-\d.]+),([-\d.]+)", attrs.get("d", "")):
                x0, y0, x1, y1 = (float(v) for v in seg)
                d.line([at(x0, y0), at(x1, y1)], fill=col, width=max(1, round(k0)))
        elif tag == "text" and text:
            bold = "font-weight:700" in attrs.get("style", "") or style.get("font-weight") == 700
            size = float(style.get("font-size", 14)) * stack[-1][2] * k0
            font = _font(size, bold)
            col = _rgba(str(style.get("fill", INK)), float(style.get("fill-opacity", 1)))
            label = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
            left, top, right, bottom = font.getbbox(label)
            tw, th = right - left, bottom - top
            patch = Image.new("RGBA", (tw + 4, th + 4), (0, 0, 0, 0))
            ImageDraw.Draw(patch).text((2 - left, 2 - top), label, font=font, fill=col)
            anchor = attrs.get("text-anchor", "start")
            shift = {"start": 0.0, "middle": tw / 2, "end": float(tw)}[anchor]
            x, y = at(float(attrs["x"]), float(attrs["y"]))
            rot = re.search(r"rotate\(([-\d.]+)", attrs.get("transform", ""))
            # (x, y) is the baseline's anchor point: the patch's centre sits half its height above it
            cx, cy = x - shift + tw / 2, y - th / 2 - th * 0.15
            if rot:
                angle = float(rot.group(1))
                patch = patch.rotate(-angle, expand=True, resample=Image.Resampling.BICUBIC)
                rad = math.radians(angle)
                ox, oy = cx - x, cy - y  # the centre turns around the anchor with the text
                cx = x + ox * math.cos(rad) - oy * math.sin(rad)
                cy = y + ox * math.sin(rad) + oy * math.cos(rad)
            img.paste(patch, (round(cx - patch.width / 2), round(cy - patch.height / 2)), patch)
    out = img if ss == 1 else img.resize((round(w * scale), round(h * scale)), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    out.save(buf, "PNG", optimize=False)
    return buf.getvalue()
