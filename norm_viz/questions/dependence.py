"""Batch dependence: does one sample's output move when another sample of the batch is rescaled, per norm.

torch only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torch import Tensor

from norm_viz.questions.common import attempt, maxdiff, run, significant, table_keys


@dataclass(frozen=True, eq=False)
class DependenceCheck:
    """How much sample `target`'s output moves when sample `changed` is rescaled by each factor, per norm."""

    target: int
    changed: int
    factors: tuple[float, ...]
    deltas: dict[str, tuple[float, ...] | None]
    """key -> max |Δ output of the target| for each factor (None where the norm cannot run)."""
    errors: dict[str, str]

    def depends(self, key: str) -> bool | None:
        d = self.deltas.get(key)
        return None if d is None else any(significant(v, 1.0) for v in d)

    def largest(self, key: str) -> float | None:
        d = self.deltas.get(key)
        return None if d is None else max(d)


def batch_dependence(
    x: Tensor,
    target: int = 0,
    changed: int = 1,
    factors: Sequence[float] = (0.0, 0.5, 2.0, 5.0, 10.0),
    groups: int | None = None,
    keys: Sequence[str] | None = None,
) -> DependenceCheck:
    """Replace sample `changed` by factor × itself (0 = zeros) and measure the change of sample `target`'s output."""
    b = x.shape[0]
    if b < 2:
        raise ValueError(f"batch dependence needs at least 2 sequences in the batch, got B = {b}")
    if not (0 <= target < b and 0 <= changed < b) or target == changed:
        raise ValueError(
            f"target and changed must be two different batch indices in 0..{b - 1}, got {target}, {changed}"
        )
    x = x.double()
    deltas: dict[str, tuple[float, ...] | None] = {}
    errors: dict[str, str] = {}
    for key in table_keys(keys):
        base, err = attempt(lambda: run(x, key, groups=groups).output[target])  # noqa: B023
        out: list[float] = []
        for a in factors:
            xc = x.clone()
            xc[changed] *= a
            y, err2 = attempt(lambda: run(xc, key, groups=groups).output[target])  # noqa: B023
            if base is None or y is None:
                err = err or err2
                break
            out.append(maxdiff(y, base))
        deltas[key] = tuple(out) if len(out) == len(factors) else None
        if deltas[key] is None:
            errors[key] = err or "cannot run"
    return DependenceCheck(target, changed, tuple(float(a) for a in factors), deltas, errors)
