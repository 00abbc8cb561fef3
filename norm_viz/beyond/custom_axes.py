"""Custom axes: a normalization over any subset of (batch, sequence, feature), its groups and statistics, and
which row of NORMS it equals on a tensor.

torch only (no streamlit, no plotly); the page's one call is `custom_view`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from norm_viz.core import formulas
from norm_viz.core.compute import normalize
from norm_viz.core.numbers import plural
from norm_viz.core.table import NORMS

EPS = 1e-5
"""The ε of the custom normalization (the page shows it in the formula)."""


@dataclass(frozen=True, eq=False)
class CustomResult:
    """A normalization defined by the user's choice of axes, with its groups and statistics."""

    output: Tensor
    group_id: Tensor
    """(B, S, F) int64: cells with the same id share one statistic."""
    mean: Tensor | None
    """(n_groups,) or None when not centered."""
    var: Tensor
    """(n_groups,) variance (or mean square when not centered)."""
    axes: tuple[str, ...]
    centered: bool
    groups: int

    @property
    def n_groups(self) -> int:
        return int(self.var.numel())

    @property
    def group_size(self) -> int:
        return self.output.numel() // self.n_groups


def custom_normalize(
    x: Tensor, axes: Sequence[str], centered: bool = True, groups: int = 1, eps: float = 1e-5
) -> CustomResult:
    """Normalize over any subset of {batch, sequence, feature} (features split into `groups` groups)."""
    b, s, f = x.shape
    unknown = set(axes) - {"batch", "sequence", "feature"}
    if unknown:
        raise ValueError(f"unknown axes {sorted(unknown)}; choose from batch, sequence, feature")
    if groups < 1 or f % groups:
        raise ValueError(f"groups={groups} does not divide features={f}")
    g = groups if "feature" in axes else 1
    x4 = x.reshape(b, s, g, f // g)
    dims = tuple(i for i, a in ((0, "batch"), (1, "sequence"), (3, "feature")) if a in axes)
    kept = [1 if i in dims else n for i, n in enumerate(x4.shape)]
    if dims and centered:
        var, mean = torch.var_mean(x4, dim=dims, keepdim=True, correction=0)
    elif dims:
        mean, var = None, x4.square().mean(dim=dims, keepdim=True)
    else:  # dim=() would reduce everything in torch: here each cell is its own group
        mean, var = (x4, torch.zeros_like(x4)) if centered else (None, x4.square())
    y = ((x4 - mean) if mean is not None else x4) * torch.rsqrt(var + eps)
    ids = torch.arange(math.prod(kept)).view(kept).expand(x4.shape).reshape(b, s, f)
    return CustomResult(
        y.reshape(b, s, f),
        ids,
        None if mean is None else mean.reshape(-1),
        var.reshape(-1),
        tuple(a for a in ("batch", "sequence", "feature") if a in axes),
        centered,
        g,
    )


def same_partition(a: Tensor, b: Tensor) -> bool:
    """True when two group-id tensors split the cells into the same groups (ids may differ)."""
    a, b = a.reshape(-1), b.reshape(-1)
    pairs = torch.unique(torch.stack([a, b]), dim=1).shape[1]
    return pairs == int(torch.unique(a).numel()) == int(torch.unique(b).numel())


@dataclass(frozen=True)
class Match:
    """How one row of NORMS compares with a custom normalization."""

    key: str
    label: str
    same_groups: bool
    same_centering: bool
    max_abs_diff: float | None
    """max |Δ| of the outputs; None when the row cannot run on this tensor."""
    note: str = ""

    @property
    def equal(self) -> bool:
        return self.same_groups and self.max_abs_diff is not None and self.max_abs_diff < 1e-4


def match_norms(x: Tensor, custom: CustomResult, eps: float = 1e-5) -> list[Match]:
    """Compare a custom normalization with every row of NORMS: same groups? same output?"""
    out = []
    for key, spec in NORMS.items():
        try:
            r = normalize(x, key, eps, groups=custom.groups if spec.uses_groups else None)
        except ValueError as e:
            out.append(Match(key, spec.label, False, spec.centered == custom.centered, None, str(e)))
            continue
        diff = float((r.normalized - custom.output).abs().max())
        out.append(
            Match(key, spec.label, same_partition(r.group_id, custom.group_id), spec.centered == custom.centered, diff)
        )
    return out


def custom_takeaway(matches: Sequence[Match]) -> str:
    """Which named norm the custom one is: equal outputs, the same groups only, or no row at all."""
    equal = [m.label for m in matches if m.equal]
    if equal:
        return f"on this tensor your choice **is** {' = '.join(equal)} (max |Δ| ≤ 1e-4 for each)."
    near = [m for m in matches if m.same_groups]
    if near:
        return (
            f"no named norm equals it: {', '.join(m.label for m in near)} {'has' if len(near) == 1 else 'have'} "
            f"the same groups but computes something else (max |Δ| ≥ {min(m.max_abs_diff or 0 for m in near):.2g})."
        )
    return "no row of the table has these groups: this normalization has no name here."


def match_table(matches: Sequence[Match]) -> dict[str, list[str]]:
    """The comparison with every row of NORMS as table columns (column name -> one text per row)."""
    return {
        "norm": [m.label for m in matches],
        "same groups": ["yes" if m.same_groups else "no" for m in matches],
        "same centering": ["yes" if m.same_centering else "no" for m in matches],
        "max |Δ| of outputs": [
            "cannot run: " + m.note if m.max_abs_diff is None else f"{m.max_abs_diff:.1e}" for m in matches
        ],
        "equal?": ["yes" if m.equal else "" for m in matches],
    }


@dataclass(frozen=True)
class CustomConfig:
    """The custom-axes page's settings: which axes are averaged, centering, feature groups and the chosen cell."""

    batch: bool = False
    sequence: bool = False
    feature: bool = True
    centered: bool = True
    groups: int = 1
    """Feature groups; used only when the features are averaged."""
    cb: int = 0
    cs: int = 0
    cf: int = 0

    @property
    def axes(self) -> tuple[str, ...]:
        return tuple(
            a for a, on in (("batch", self.batch), ("sequence", self.sequence), ("feature", self.feature)) if on
        )

    @property
    def cell(self) -> tuple[int, int, int]:
        return (self.cb, self.cs, self.cf)


MAX_BARS = 512
"""More statistics than this are not drawn as bars."""


@dataclass(frozen=True, eq=False)
class CustomView:
    """What the custom-axes page shows: the result, the chosen cell's derivation, the comparison and the takeaway."""

    result: CustomResult
    cell: tuple[int, int, int]
    group: int
    """The chosen cell's group id."""
    warning: str | None
    """Set when no axis is averaged (each cell is its own group)."""
    summary: str
    latex: tuple[str, ...]
    matches: tuple[Match, ...]
    table: dict[str, list[str]]
    takeaway: str

    @property
    def show_stats(self) -> bool:
        """Whether the statistics are few enough to draw as bars."""
        return self.result.n_groups <= MAX_BARS

    @property
    def stats_note(self) -> str:
        """What the page says instead of drawing too many statistics."""
        return (
            f"{self.result.n_groups} statistics are too many to draw as bars; the chosen cell's group is shown above."
        )


def custom_view(x: Tensor, cfg: CustomConfig) -> CustomView:
    """`cfg`'s normalization of x, the chosen cell's numbers, and how it compares with every row of NORMS."""
    b, s, f = x.shape
    cell = cfg.cell
    if not all(0 <= c < n for c, n in zip(cell, (b, s, f), strict=True)):
        raise ValueError(f"cell {cell} is outside the tensor: b < {b}, s < {s}, f < {f}")
    axes = cfg.axes
    groups = cfg.groups if cfg.feature else 1
    r = custom_normalize(x, axes, cfg.centered, groups, EPS)
    warning = None
    if not axes:
        warning = "No axis is averaged: every cell is its own group of 1." + (
            " Subtracting a mean of one value leaves 0 everywhere." if cfg.centered else " x / √(x² + ε) is just ± 1."
        )
    gid = int(r.group_id[cell])
    over = " and ".join(axes) if axes else "nothing"
    summary = (
        f"Averaging over **{over}**{f' in {groups} feature groups' if groups > 1 else ''} gives "
        f"**{plural(r.n_groups, 'group')} of {plural(r.group_size, 'cell')}**."
    )
    v = {
        "x": float(x[cell]),
        "mean": 0.0 if r.mean is None else float(r.mean[gid]),
        "var": float(r.var[gid]),
        "x_hat": float(r.output[cell]),
    }
    # the cell's value and its statistics on lines of their own: in the page's narrow column one line was clipped
    latex = (
        formulas.input_line(v),
        formulas.statistics_line(v, EPS, centered=r.mean is not None),
        formulas.normalized_line(v, EPS, centered=r.mean is not None),
    )
    matches = tuple(match_norms(x, r, EPS))
    return CustomView(r, cell, gid, warning, summary, latex, matches, match_table(matches), custom_takeaway(matches))
