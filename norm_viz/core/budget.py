"""Work budgets: what one rerun may cost, estimated from a view's parameters before its work starts.

Pure Python. Each heavy view declares a cost function next to its config (placement.cost, fluctuation.cost,
causal.cost) returning a `Cost`; `check` refuses a config over budget with a message that says what is too large
and what would be valid. The coefficients were measured on the 2-core development machine with
`python -m norm_viz.tools.worstcase` (one torch thread); the limits sit below the issue's goal of 2 CPU-seconds and
300 MB per rerun, to leave room for the page around the view (its figures and tables).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

MAX_CPU_S = 1.5
"""The estimated CPU seconds one view may spend in one rerun."""
MAX_MB = 200.0
"""The estimated peak memory (MB) one view may hold in one rerun."""


@dataclass(frozen=True)
class Cost:
    """The estimated cost of one view's work: CPU seconds on one core, and peak memory in MB."""

    cpu_s: float
    mb: float

    @property
    def within(self) -> bool:
        return self.cpu_s <= MAX_CPU_S and self.mb <= MAX_MB

    def __str__(self) -> str:
        return f"about {self.cpu_s:.1f} CPU-seconds and {self.mb:.0f} MB"


class TooMuchWork(ValueError):
    """A configuration whose estimated cost is over the budget of one rerun."""


def check(what: str, cost: Cost, valid: str) -> None:
    """Raise TooMuchWork when `cost` is over budget: '`what` would take …; `valid`'."""
    if not cost.within:
        raise TooMuchWork(
            f"{what} would take {cost}, more than one view may use ({MAX_CPU_S:g} CPU-seconds, {MAX_MB:.0f} MB); {valid}"
        )


def largest(cost: Callable[[int], Cost], lo: int, hi: int) -> int | None:
    """The largest n in [lo, hi] with cost(n) within budget (cost grows with n), or None if not even lo is."""
    if not cost(lo).within:
        return None
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if cost(mid).within:
            lo = mid
        else:
            hi = mid - 1
    return lo
