"""The lighting rule of the cube, said once: `table.lit_box` decides which cells share a statistic, and for every
norm that set is one tile of a regular tiling of the tensor. Its tile size (`block`) is all the browser needs to
light the group of any cell: cell i of an axis lies in the tile [i // w * w, (i // w + 1) * w).

No streamlit, no torch, no plotly.
"""

from __future__ import annotations

from collections.abc import Sequence

from norm_viz.core.table import NORMS, Box, lit_box

Block = tuple[int, int, int]
"""The tile size (batch, sequence, feature) of a rule: 1 keeps an axis, its length averages over it."""


def block(key: str, shape: tuple[int, int, int], groups: int = 1) -> Block:
    """The tile that `table.lit_box` lights around cell (0, 0, 0): every other cell's group is the same tile moved."""
    (b0, b1), (s0, s1), (f0, f1) = lit_box(key, shape, (0, 0, 0), groups)
    return (b1 - b0, s1 - s0, f1 - f0)


def custom_block(axes: Sequence[str], shape: tuple[int, int, int], groups: int = 1) -> Block:
    """The tile of an average over any of batch, sequence, feature (features in `groups` groups): the custom-axes
    page's own normalization, which has no row in the table."""
    b, s, f = shape
    if f % max(groups, 1):
        raise ValueError(f"groups = {groups} does not divide F = {f}")
    return (
        b if "batch" in axes else 1,
        s if "sequence" in axes else 1,
        f // max(groups, 1) if "feature" in axes else 1,
    )


def tile(blk: Block, cell: tuple[int, int, int]) -> Box:
    """The half-open box of the tile of size `blk` that holds `cell` (what cube.js's litBox computes)."""
    return tuple((i // w * w, (i // w + 1) * w) for i, w in zip(cell, blk, strict=True))  # type: ignore[return-value]


def rule(key: str, shape: tuple[int, int, int], groups: int = 1) -> dict[str, object]:
    """One norm's rule for the browser: its label, its tile, whether padding is left out, whether it has a statistic."""
    norm = NORMS[key]
    return {
        "label": norm.label,
        "block": list(block(key, shape, groups if norm.uses_groups else 1)),
        "masked": norm.masked,
        "statistic": norm.has_statistic,
    }


def rules(shape: tuple[int, int, int], groups: int = 1, keys: Sequence[str] | None = None) -> dict[str, dict]:
    """The rule of every norm in `keys` (default: every row of NORMS, in table order) on a tensor of `shape`."""
    return {k: rule(k, shape, groups) for k in (keys or NORMS)}
