"""Batch dependence: does one sample's output move when another sample of the batch is rescaled, per norm.

torch only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torch import Tensor

from norm_viz.core.table import NORMS
from norm_viz.questions.common import Bars, attempt, maxdiff, names, run, significant, table_keys


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


# --- the page: one call from the controls to everything it shows -----------------------------------


@dataclass(frozen=True)
class DependenceConfig:
    """The Batch dependence page's controls, as primitives."""

    target: int = 0
    """Your sample: the one whose output is watched."""
    changed: int = 1
    """The other sample, multiplied by 0 … top."""
    top: float = 10.0
    """The largest factor."""


@dataclass(frozen=True, eq=False)
class DependenceView:
    """Everything the Batch dependence page shows, computed from its tensor and config."""

    check: DependenceCheck | None
    error: str | None
    labels: dict[str, str]
    """NORMS key -> label, for the norms checked."""
    bars: Bars | None
    warnings: tuple[str, ...]
    takeaway: str | None


def batch_requirement(batch: int) -> str | None:
    """Why the page cannot run on a batch this small, and what to do (None: it can)."""
    if batch >= 2:
        return None
    return (
        f"The batch holds B = {batch} sequence, so there is no other example to change. Set the batch size B to 2 or more "
        "in the sidebar (or choose a preset with two examples)."
    )


def factors_up_to(top: float) -> tuple[float, ...]:
    """Six factors from 0 (the other sample zeroed out) to `top`, evenly spaced, plus ×1 (the sample as it is, where
    every output is unchanged): without it a line from ×0 to ×2 drew a change at ×1 that is not there."""
    return tuple(sorted({round(top * i / 5, 6) for i in range(6)} | {1.0}))


def dependence_takeaway(check: DependenceCheck, labels: dict[str, str]) -> str:
    """Under which norms the target's output moved when the other sample changed, from the numbers."""
    keys = list(check.deltas)
    dep = [k for k in keys if check.depends(k)]
    indep = [labels[k] for k in keys if check.depends(k) is False]
    if dep:
        worst = max(dep, key=lambda k: check.largest(k) or 0.0)
        return (
            f"Changing sample {check.changed} moved sample {check.target}'s output under {', '.join(labels[k] for k in dep)} (up to "
            f"{check.largest(worst):.3g} for {labels[worst]}); under {names(indep)} it stayed exactly the same."
        )
    return (
        f"Sample {check.target}'s output never moved when sample {check.changed} changed, under any norm: "
        "none depends on the batch here."
    )


def dependence_view(x: Tensor, cfg: DependenceConfig) -> DependenceView:
    """Rescale the other sample of x by 0 … top and measure every norm's change of the target's output."""
    b = x.shape[0]
    need = batch_requirement(b)
    if need:
        return DependenceView(None, need, {}, None, (), None)
    if cfg.target == cfg.changed:
        error = f"Choose two different samples: both are {cfg.target}. Valid: any two different indices in 0..{b - 1}."
        return DependenceView(None, error, {}, None, (), None)
    check = batch_dependence(x, cfg.target, cfg.changed, factors_up_to(cfg.top))
    labels = {k: NORMS[k].label for k in check.deltas}
    keys = list(check.deltas)
    bars = Bars(
        tuple(labels[k] for k in keys),
        tuple(check.largest(k) for k in keys),
        tuple(check.depends(k) for k in keys),
        f"Largest change of sample {cfg.target}'s output",
        "max |Δ output| over every factor",
        tuple("(cannot run)" if check.deltas[k] is None else "" for k in keys),
    )
    warnings = tuple(f"**{labels[k]}** cannot run on this tensor: {msg}" for k, msg in check.errors.items())
    return DependenceView(check, None, labels, bars, warnings, dependence_takeaway(check, labels))
