"""Causal leakage: perturb one token and map which outputs of every norm move (finite difference or Jacobian).

torch only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.autograd.forward_ad as fwAD
from torch import Tensor

from norm_viz.core import budget
from norm_viz.core.numbers import fmt_delta
from norm_viz.core.table import NORMS
from norm_viz.questions.common import attempt, names, run, significant, table_keys


@dataclass(frozen=True, eq=False)
class LeakRow:
    """Which outputs of one norm change when token (b, s) changes: delta[b', s'] = max over features."""

    key: str
    label: str
    delta: Tensor | None
    error: str | None = None

    def _max(self, sel: Tensor) -> float:
        return float(self.delta[sel].max()) if self.delta is not None and sel.any() else 0.0


@dataclass(frozen=True, eq=False)
class CausalCheck:
    """The effect of perturbing one token on every output token, for every norm."""

    token: tuple[int, int]
    method: str
    size: float
    rows: tuple[LeakRow, ...]

    def row(self, key: str) -> LeakRow:
        return next(r for r in self.rows if r.key == key)

    def _region(self, shape: tuple[int, int]) -> dict[str, Tensor]:
        b, s = shape
        tb, ts = self.token
        bb, sq = torch.meshgrid(torch.arange(b), torch.arange(s), indexing="ij")
        return {
            "past": sq < ts,
            "same_sequence": (bb == tb) & (sq != ts),
            "other_sequences": bb != tb,
            "self": (bb == tb) & (sq == ts),
        }

    def leaks(self, key: str) -> dict[str, float]:
        """Largest |Δ output| in the past (any sequence), elsewhere in the same sequence, in other sequences, at the token."""
        r = self.row(key)
        if r.delta is None:
            return {}
        return {name: r._max(sel) for name, sel in self._region((r.delta.shape[0], r.delta.shape[1])).items()}

    def causal_safe(self, key: str) -> bool | None:
        """True when no earlier position (in any sequence) moved."""
        lk = self.leaks(key)
        return None if not lk else not significant(lk["past"], lk["self"])

    def batch_safe(self, key: str) -> bool | None:
        """True when no other sequence moved."""
        lk = self.leaks(key)
        return None if not lk else not significant(lk["other_sequences"], lk["self"])


def _direction(features: int, seed: int) -> Tensor:
    """A fixed, seeded unit direction: adding a constant to all features would be invisible to centring norms."""
    g = torch.Generator().manual_seed(seed)
    v = torch.randn(features, generator=g, dtype=torch.float64)
    return v / v.norm()


def _jacobian_map(
    fn: Callable[[Tensor], Tensor], x: Tensor, tb: int, ts: int, tick: Callable[[], None] | None = None
) -> Tensor:
    """max over (i, j) of |∂y[b', s', i] / ∂x[tb, ts, j]|: forward-mode AD, one pass per input feature j.

    Forward mode costs F passes; reverse mode (autograd.functional.jacobian) would cost one per output value.
    """
    f = x.shape[-1]
    out = torch.zeros(x.shape[:2], dtype=x.dtype)
    for j in range(f):
        tangent = torch.zeros_like(x)
        tangent[tb, ts, j] = 1.0
        with fwAD.dual_level():
            dy = fwAD.unpack_dual(fn(fwAD.make_dual(x, tangent))).tangent
        if dy is not None:
            out = torch.maximum(out, dy.abs().amax(-1))
        if tick is not None:
            tick()
    return out


def jacobian_cost(shape: tuple[int, int, int], norms: int) -> budget.Cost:
    """The estimated cost of the exact Jacobian: F forward passes over the B·S·F tensor per norm (fitted to one
    run of 14 norms on 16 × 32 × 64: 2.3 CPU-seconds, one thread, plus 60% for a busy machine); the memory is a few
    copies of the tensor."""
    b, s, f = shape
    return budget.Cost(cpu_s=norms * f * b * s * f * 1.3e-7, mb=b * s * f * 8 * 12 / 1e6)


def causal_leakage(
    x: Tensor,
    token: tuple[int, int],
    size: float = 1.0,
    method: str = "difference",
    groups: int | None = None,
    keys: Sequence[str] | None = None,
    seed: int = 0,
    tick: Callable[[], None] | None = None,
) -> CausalCheck:
    """Perturb token (b, s) and map, per norm, max |Δ output| over features at every (b', s').

    method="difference": add `size` times a seeded unit vector to the token and subtract the outputs.
    method="jacobian": the exact derivative (forward-mode AD), max |∂y[b', s', i] / ∂x[b, s, j]| over i, j (size is ignored).
    """
    b, s, f = x.shape
    tb, ts = token
    if not (0 <= tb < b and 0 <= ts < s):
        raise ValueError(f"token must be (b, s) with 0 ≤ b < {b} and 0 ≤ s < {s}, got {token}")
    if method not in ("difference", "jacobian"):
        raise ValueError(f"method must be 'difference' or 'jacobian', got {method!r}")
    x = x.double()
    v = _direction(f, seed)
    rows = []
    for key in table_keys(keys):
        spec = NORMS[key]

        def f_out(t: Tensor, key: str = key) -> Tensor:
            return run(t, key, groups=groups).output

        base, err = attempt(lambda: f_out(x))
        if base is None:
            rows.append(LeakRow(key, spec.label, None, err))
            continue
        if method == "difference":
            bumped = x.clone()
            bumped[tb, ts] += size * v
            y2, err = attempt(lambda: f_out(bumped))  # noqa: B023
            delta = None if y2 is None else (y2 - base).abs().amax(-1)
        else:
            try:
                delta, err = _jacobian_map(f_out, x, tb, ts, tick), None
            except (ValueError, RuntimeError, NotImplementedError) as e:
                delta, err = None, f"no forward-mode derivative for {spec.label}: {e}"
        rows.append(LeakRow(key, spec.label, None if delta is None else delta.detach(), err))
    return CausalCheck((tb, ts), method, float(size), tuple(rows))


# --- the page: one call from the controls to everything it shows -----------------------------------

METHODS = {
    "difference": "finite difference: add a vector of length ‘size’ to the token",
    "jacobian": "autograd Jacobian: the exact derivative ∂y / ∂x[b, s]",
}
"""The two ways to measure a leak, with the words the page shows for them."""


@dataclass(frozen=True)
class CausalConfig:
    """The Causal page's controls, as primitives."""

    batch: int = 0
    """Sequence b of the perturbed token."""
    position: int = -1
    """Position s of the perturbed token (−1: the last)."""
    method: str = "difference"
    size: float = 1.0


@dataclass(frozen=True, eq=False)
class CausalView:
    """Everything the Causal page shows, computed from its tensor and config."""

    check: CausalCheck
    notice: str | None
    """A warning when no earlier position exists to leak into."""
    table: tuple[dict[str, str], ...]
    """Per norm: the change at the token, in its past, in other sequences, the verdict and a note."""
    warnings: tuple[str, ...]
    takeaway: str | None
    """None when the token has no past."""


def token_position(position: int, sequence: int) -> int:
    """The perturbed position for a sequence of length S: −1 (unset) or past the end means the last token."""
    return sequence - 1 if position < 0 or position > sequence - 1 else position


def causal_takeaway(check: CausalCheck) -> str | None:
    """Which norms moved earlier positions (and other sequences) when the token changed, from the numbers."""
    tb, ts = check.token
    if ts == 0:
        return None
    leaky = [r for r in check.rows if check.causal_safe(r.key) is False]
    safe = [r.label for r in check.rows if check.causal_safe(r.key)]
    cross = [r.label for r in check.rows if check.batch_safe(r.key) is False]
    if leaky:
        worst = max(leaky, key=lambda r: check.leaks(r.key)["past"])
        return (
            f"Changing token ({tb}, {ts}) moved earlier positions under {', '.join(r.label for r in leaky)} (up to "
            f"{check.leaks(worst.key)['past']:.3g} for {worst.label})"
            + (f", and even other sequences of the batch under {', '.join(cross)}" if cross else "")
            + f"; {names(safe)} left every earlier position exactly unchanged: only they are causal-safe."
        )
    return f"Changing token ({tb}, {ts}) moved no earlier position under any norm: all are causal-safe on this tensor."


def causal_view(x: Tensor, cfg: CausalConfig, tick: Callable[[], None] | None = None) -> CausalView:
    """Perturb the chosen token of x and tabulate, per norm, where the outputs moved.

    An exact Jacobian too large for one rerun falls back to the finite difference, with a warning saying which
    sizes would allow it. `tick` is called between passes (the page passes a function that stops when nobody waits).
    """
    b, s, f = x.shape
    tb, ts = min(max(cfg.batch, 0), b - 1), token_position(cfg.position, s)
    method, too_large = cfg.method, []
    if method == "jacobian":
        n = len(table_keys(None))
        cost = jacobian_cost((b, s, f), n)
        if not cost.within:
            most = budget.largest(lambda k: jacobian_cost((b, s, k), n), 1, f)
            fit = f"F ≤ {most}" if most else "a smaller B or S"
            too_large.append(
                f"The exact Jacobian of {n} norms on a {b} × {s} × {f} tensor would take {cost} (one rerun may use "
                f"{budget.MAX_CPU_S:g} CPU-seconds): showing the finite difference instead. Choose {fit} in the sidebar "
                "for the exact derivative."
            )
            method = "difference"
    check = causal_leakage(x, (tb, ts), cfg.size, method, tick=tick)
    notice = None
    if s < 2:
        notice = (
            "With S = 1 every sequence holds a single token, so there is no earlier position to leak into: set the "
            "sequence length S to 2 or more in the sidebar."
        )
    elif ts == 0:
        notice = "Token s = 0 has no past: choose a later token (e.g. the last, s = S − 1) to see leaks into the past."
    verdicts = {True: "yes", False: "no: leaks into the past", None: "—"}
    table = []
    for r in check.rows:
        lk = check.leaks(r.key)
        table.append(
            {
                "norm": r.label,
                "perturbed token": fmt_delta(lk.get("self")),
                "its past (s′ < s)": fmt_delta(lk.get("past")),
                "other sequences": fmt_delta(lk.get("other_sequences")),
                "causal-safe?": verdicts[check.causal_safe(r.key)],
                "note": r.error or "",
            }
        )
    warnings = (*too_large, *(f"**{r.label}** cannot run on this tensor: {r.error}" for r in check.rows if r.error))
    return CausalView(check, notice, tuple(table), warnings, causal_takeaway(check))
