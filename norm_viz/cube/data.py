"""The payload one browser cube (cube.js) is drawn from, and the small command that moves its cell and norm.

No streamlit, no torch: the rules come from norm_viz.cube.rule (the tiles `table.lit_box` lights), so the browser can
light the group of any cell under any norm without asking the server.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from norm_viz.cube.rule import rules as table_rules

MODES = ("choose", "mark", "view")
"""What a click on the cube does: choose the cell (the Explorer), mark or unmark a cell (the quiz), nothing."""


def cube_data(
    shape: tuple[int, int, int],
    *,
    groups: int = 1,
    lengths: Sequence[int] = (),
    keys: Sequence[str] | None = None,
    rules: Mapping[str, Mapping[str, Any]] | None = None,
    cube_id: str = "cube",
    multiples: bool = True,
    height: int = 430,
    fit: float = 0.0,
    mode: str = "choose",
    lit: bool = True,
    marks: Iterable[tuple[int, int, int]] = (),
) -> dict[str, Any]:
    """The JSON one cube component draws from: the tensor's shape, padding and every norm's rule. It holds neither
    the chosen cell nor the norm (cube_command carries those), so it stays byte-identical while they change and
    Streamlit then sends only a reference to it.

    `lengths`: real tokens per sequence (the rest is padding) for masked norms; empty: no padding.
    `rules`: rules of one's own (label, block, masked, statistic) instead of the table's `keys`.
    `height`: the drawing's height in px; `fit` > 0: at least that fraction of the window's height instead.
    `mode`: see MODES. `lit`: False hides the lit group (a question not yet answered). `marks`: cells drawn marked.
    """
    b, s, f = shape
    if lengths and len(lengths) != b:
        raise ValueError(f"give one length per sequence: {b} numbers, got {len(lengths)}")
    if f % max(groups, 1):
        raise ValueError(f"groups = {groups} does not divide F = {f}")
    if mode not in MODES:
        raise ValueError(f"mode {mode!r} is not one of {', '.join(MODES)}")
    marked = sorted({tuple(int(v) for v in c) for c in marks})
    if not all(len(c) == 3 and all(0 <= v < n for v, n in zip(c, shape, strict=True)) for c in marked):
        raise ValueError(f"a marked cell is outside the tensor of shape {tuple(shape)}")
    return {
        "id": cube_id,
        "shape": [b, s, f],
        "groups": max(int(groups), 1),
        "lengths": [int(v) for v in lengths],
        "rules": {k: dict(v) for k, v in rules.items()} if rules else table_rules(shape, groups, keys),
        "multiples": multiples,
        "height": int(height),
        "fit": float(fit),
        "mode": mode,
        "lit": bool(lit),
        "marks": [list(c) for c in marked],
    }


def cube_command(
    shape: tuple[int, int, int],
    norm: str,
    cell: tuple[int, int, int],
    rev: int,
    keys: Iterable[str],
    cube_id: str = "cube",
    *,
    lit: bool = True,
) -> dict[str, Any]:
    """What the page tells cube `cube_id` to show: `norm` (one of `keys`, the cube's rules) and `cell`, with revision
    `rev`. The browser applies a command only when its revision is newer than the last one it applied, so a click
    made in the browser (which Python then repeats with the same revision) is never undone by a late or repeated
    command. `lit` False: the group is not shown (a question not yet answered, a step before the group's)."""
    names = list(keys)
    if norm not in names:
        raise ValueError(f"norm {norm!r} is not among the cube's norms: {', '.join(names)}")
    if not all(0 <= i < n for i, n in zip(cell, shape, strict=True)):
        raise ValueError(f"cell {tuple(cell)} is outside the tensor of shape {tuple(shape)}")
    return {"id": cube_id, "rev": int(rev), "norm": norm, "cell": [int(v) for v in cell], "lit": bool(lit)}
