"""The data of the browser cube (norm_viz/ui/cube.js): the table's sharing rule of every norm as JSON, and the
payload one cube is drawn from.

No streamlit, no torch: the rule is read from NORMS (the same decisions `table.lit_box` makes), so the browser can
light the group of any cell under any norm without asking the server.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from norm_viz.core.table import NORMS, Box


def feature_mode(key: str) -> str:
    """How one statistic spans the feature axis: "one" (only the cell's feature), "all", or "group" (its group)."""
    reduce = NORMS[key].reduce
    if "feature" not in reduce:
        return "one"
    return "all" if "group" in reduce else "group"


def norm_rule(key: str) -> dict[str, Any]:
    """One norm's sharing rule: which of batch and sequence a statistic spans, how it spans the features."""
    norm = NORMS[key]
    return {
        "label": norm.label,
        "batch": "batch" in norm.reduce,
        "sequence": "sequence" in norm.reduce,
        "feature": feature_mode(key),
        "groups": norm.uses_groups,
        "masked": norm.masked,
        "statistic": norm.has_statistic,
    }


def norm_rules(keys: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
    """The rule of every norm in `keys` (default: every row of NORMS, in table order)."""
    return {k: norm_rule(k) for k in (keys or NORMS)}


def box_from_rule(rule: dict[str, Any], shape: tuple[int, int, int], cell: tuple[int, int, int], groups: int) -> Box:
    """The box a rule lights, read the way cube.js reads it (its `litBox`): the tests hold both to lit_box."""
    b, s, f = shape
    cb, cs, cf = cell
    g = groups if rule["groups"] else 1

    def span(reduced: bool, n: int, i: int) -> tuple[int, int]:
        return (0, n) if reduced else (i, i + 1)

    if rule["feature"] == "one":
        feat = (cf, cf + 1)
    elif rule["feature"] == "all":
        feat = (0, f)
    else:
        width = f // g
        feat = (cf // width * width, (cf // width + 1) * width)
    return span(rule["batch"], b, cb), span(rule["sequence"], s, cs), feat


def cube_data(
    shape: tuple[int, int, int],
    *,
    groups: int = 1,
    lengths: Sequence[int] = (),
    keys: Sequence[str] | None = None,
    cube_id: str = "cube",
    multiples: bool = True,
    height: int = 430,
) -> dict[str, Any]:
    """The JSON one cube component draws from: the tensor's shape, padding and every norm's rule. It holds neither
    the chosen cell nor the norm (cube_command carries those), so it stays byte-identical while they change and
    Streamlit then sends only a reference to it.

    `lengths`: real tokens per sequence (the rest is padding) for masked norms; empty: no padding.
    """
    b, s, f = shape
    if lengths and len(lengths) != b:
        raise ValueError(f"give one length per sequence: {b} numbers, got {len(lengths)}")
    if f % max(groups, 1):
        raise ValueError(f"groups = {groups} does not divide F = {f}")
    return {
        "id": cube_id,
        "shape": [b, s, f],
        "groups": max(int(groups), 1),
        "lengths": [int(v) for v in lengths],
        "rules": norm_rules(keys),
        "multiples": multiples,
        "height": height,
    }


def cube_command(
    shape: tuple[int, int, int],
    norm: str,
    cell: tuple[int, int, int],
    rev: int,
    keys: Sequence[str] | None = None,
    cube_id: str = "cube",
) -> dict[str, Any]:
    """What the page tells cube `cube_id` to show: `norm` and `cell`, with revision `rev`. The browser applies a
    command only when its revision is newer than the last one it applied, so a click made in the browser (which
    Python then repeats with the same revision) is never undone by a late or repeated command."""
    if norm not in (keys or NORMS):
        raise ValueError(f"norm {norm!r} is not among the cube's norms: {', '.join(keys or NORMS)}")
    if not all(0 <= i < n for i, n in zip(cell, shape, strict=True)):
        raise ValueError(f"cell {tuple(cell)} is outside the tensor of shape {tuple(shape)}")
    return {"id": cube_id, "rev": int(rev), "norm": norm, "cell": [int(v) for v in cell]}
