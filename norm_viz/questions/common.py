"""What every transformer-question check shares: run any row of the NORMS table, catch what cannot run, compare.

torch only. Each check runs `compute.normalize` (so it holds for every row of `table.NORMS`, including rows added
later) and returns a frozen dataclass of measured numbers; nothing is asserted by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from torch import Tensor

from norm_viz.core.compute import NormResult, normalize
from norm_viz.core.table import NORMS

T = TypeVar("T")

TOL = 1e-9
"""Relative size below which a change counts as none (the checks run in float64, so unaffected cells move by 0)."""


# --- running normalize on any row of the table ---------------------------------------------------


def run(
    x: Tensor,
    key: str,
    *,
    groups: int | None = None,
    mask: Tensor | None = None,
    training: bool = True,
    running_mean: Tensor | None = None,
    running_var: Tensor | None = None,
) -> NormResult:
    """normalize() with only the arguments this norm takes (a mask only for masked norms, running stats only for batch-stat norms)."""
    spec = NORMS[key]
    kw: dict = {}
    if spec.uses_groups and groups is not None:
        kw["groups"] = groups
    if spec.masked and mask is not None:
        kw["mask"] = mask
    if spec.batch_stats:
        kw["training"] = training
        if running_mean is not None:
            kw["running_mean"] = running_mean
        if running_var is not None:
            kw["running_var"] = running_var
    return normalize(x, key, **kw)


def attempt(fn: Callable[[], T]) -> tuple[T | None, str | None]:
    """(value, None), or (None, the message) when the norm cannot run on this input."""
    try:
        return fn(), None
    except ValueError as e:
        return None, str(e)


def maxdiff(a: Tensor, b: Tensor) -> float:
    """max |a − b| (0 for empty tensors)."""
    return float((a - b).abs().max()) if a.numel() else 0.0


def significant(delta: float, scale: float) -> bool:
    """Whether a change `delta` counts as one, relative to `scale` (at least 1)."""
    return delta > TOL * max(1.0, scale)


def table_keys(keys: Sequence[str] | None) -> list[str]:
    """The NORMS keys to check: all rows, or those of `keys` that are rows."""
    return list(NORMS) if keys is None else [k for k in keys if k in NORMS]


@dataclass(frozen=True)
class Bars:
    """One bar per norm, as the per-norm bar chart draws it: the value, whether it changed, a note."""

    labels: tuple[str, ...]
    values: tuple[float | None, ...]
    changed: tuple[bool | None, ...]
    """True: the outputs moved; False: they did not; None: the norm could not run."""
    title: str
    axis_title: str
    notes: tuple[str, ...] = ()


def names(labels: Sequence[str], none: str = "no norm") -> str:
    """Labels joined by commas, or `none` when there are none."""
    return ", ".join(labels) or none
