"""Norms beyond the standard ones: PowerNorm (Shen et al., 2020) and DyT (Zhu et al., 2025).

torch only. `powernorm_step`/`dyt` are what normalize() dispatches to; `powernorm_loop` is an
independent cell-by-cell implementation written from the paper's formulas, used as the reference.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

EXTRA = frozenset(("powernorm", "dyt"))
"""Keys of NORMS computed here rather than by a torch.nn kernel."""

PN_ALPHA = 0.9
"""PowerNorm's running-average factor: ψ²_running ← α·ψ²_running + (1 − α)·ψ²_batch."""
DYT_ALPHA = 0.5
"""DyT's initial α in the paper (α₀ = 0.5)."""


def group_scaling(x: Tensor, groups: int, eps: float) -> Tensor:
    """PowerNorm's GroupScaling: each token's feature groups divided by √(mean x² + ε) of that group."""
    b, s, f = x.shape
    if groups < 1 or f % groups:
        raise ValueError(f"GroupScaling groups={groups} does not divide features={f}")
    xg = x.reshape(b, s, groups, f // groups)
    return (xg * torch.rsqrt(xg.square().mean(-1, keepdim=True) + eps)).reshape(b, s, f)


@dataclass(frozen=True, eq=False)
class PowerStep:
    """One PowerNorm forward pass: the scaled input, both statistics and which one divided."""

    scaled: Tensor
    """The input after GroupScaling (the input itself when GroupScaling is off)."""
    normalized: Tensor
    psi2_batch: Tensor
    """(F,) quadratic mean of each feature over the real tokens of this batch."""
    divisor: Tensor
    """(F,) the ψ² that x was divided by: the batch's during warm-up, the running one after."""
    running_before: Tensor
    running_after: Tensor
    used_running: bool
    n_tokens: int


def powernorm_step(
    x: Tensor,
    eps: float = 1e-5,
    *,
    mask: Tensor | None = None,
    running: Tensor | None = None,
    training: bool = True,
    warmup: bool = True,
    alpha: float = PN_ALPHA,
    scaling_groups: int = 0,
) -> PowerStep:
    """One PowerNorm step on x (B, S, F): divide by √(ψ² + ε) per feature, then update the running ψ²."""
    b, s, f = x.shape
    xs = group_scaling(x, scaling_groups, eps) if scaling_groups else x
    rows = xs.reshape(b * s, f)
    if mask is not None:
        rows = rows[mask.reshape(-1)]
    psi2 = rows.square().mean(0)
    before = torch.ones(f, dtype=x.dtype) if running is None else running.to(x.dtype)
    use_running = not training or not warmup
    divisor = before if use_running else psi2
    xhat = xs * torch.rsqrt(divisor + eps)
    after = alpha * before + (1 - alpha) * psi2 if training else before
    return PowerStep(xs, xhat, psi2, divisor, before, after, use_running, int(rows.shape[0]))


def powernorm_loop(
    x: Tensor,
    eps: float = 1e-5,
    *,
    mask: Tensor | None = None,
    running: Sequence[float] | Tensor | None = None,
    training: bool = True,
    warmup: bool = True,
    scaling_groups: int = 0,
) -> Tensor:
    """PowerNorm written cell by cell from the paper's formulas (python floats), for checking powernorm_step."""
    b, s, f = x.shape
    vals = x.double().tolist()
    keep = [[True] * s for _ in range(b)] if mask is None else torch.as_tensor(mask).bool().tolist()
    if scaling_groups:
        width = f // scaling_groups
        for i in range(b):
            for j in range(s):
                for g in range(scaling_groups):
                    part = vals[i][j][g * width : (g + 1) * width]
                    scale = math.sqrt(sum(v * v for v in part) / width + eps)
                    for k in range(width):
                        vals[i][j][g * width + k] /= scale
    run = [1.0] * f if running is None else [float(v) for v in running]
    out = [[[0.0] * f for _ in range(s)] for _ in range(b)]
    for k in range(f):
        total, n = 0.0, 0
        for i in range(b):
            for j in range(s):
                if keep[i][j]:
                    total += vals[i][j][k] ** 2
                    n += 1
        psi2 = total / n
        denom = math.sqrt((psi2 if training and warmup else run[k]) + eps)
        for i in range(b):
            for j in range(s):
                out[i][j][k] = vals[i][j][k] / denom
    return torch.tensor(out, dtype=torch.float64).to(x.dtype)


@dataclass(frozen=True, eq=False)
class PowerRun:
    """PowerNorm over a sequence of batches: every step, and what BatchNorm-style batch statistics would do."""

    steps: tuple[PowerStep, ...]
    warmup_steps: int

    @property
    def psi2_batch(self) -> Tensor:
        """(steps, F) each batch's ψ²."""
        return torch.stack([st.psi2_batch for st in self.steps])

    @property
    def divisors(self) -> Tensor:
        """(steps, F) the ψ² each step divided by."""
        return torch.stack([st.divisor for st in self.steps])

    @property
    def running(self) -> Tensor:
        """(steps, F) the running ψ² after each step."""
        return torch.stack([st.running_after for st in self.steps])


def powernorm_run(
    batches: Sequence[Tensor],
    masks: Sequence[Tensor | None],
    warmup_steps: int,
    eps: float = 1e-5,
    alpha: float = PN_ALPHA,
    scaling_groups: int = 0,
) -> PowerRun:
    """Train-mode PowerNorm over batches: the first `warmup_steps` divide by their own ψ², the rest by the running one."""
    if len(batches) != len(masks) or not batches:
        raise ValueError("give one mask (or None) per batch, and at least one batch")
    running: Tensor | None = None
    steps = []
    for t, (xb, mb) in enumerate(zip(batches, masks, strict=True)):
        step = powernorm_step(
            xb, eps, mask=mb, running=running, warmup=t < warmup_steps, alpha=alpha, scaling_groups=scaling_groups
        )
        steps.append(step)
        running = step.running_after
    return PowerRun(tuple(steps), warmup_steps)


def dyt(x: Tensor, alpha: float = DYT_ALPHA) -> Tensor:
    """Dynamic Tanh before γ and β: tanh(α·x), element by element; no statistic at all."""
    return torch.tanh(alpha * x)


def fit_tanh_alpha(x: Tensor, y: Tensor, lo: float = 1e-3, hi: float = 20.0) -> tuple[float, float]:
    """The α (and its scale a) that best fit y ≈ a·tanh(α·x) in least squares, by a log-spaced search."""
    xd, yd = x.double().reshape(-1), y.double().reshape(-1)
    alphas = torch.logspace(math.log10(lo), math.log10(hi), 400, dtype=torch.float64)
    t = torch.tanh(alphas[:, None] * xd[None, :])
    a = (t * yd).sum(1) / t.square().sum(1).clamp_min(1e-30)
    err = (a[:, None] * t - yd).square().mean(1)
    i = int(err.argmin())
    return float(alphas[i]), float(a[i])


def tanh_fit(x: Tensor, y: Tensor, alpha: float) -> tuple[float, float]:
    """For a given α, the least-squares scale a of y ≈ a·tanh(α·x) and the RMS error of that fit."""
    xd, yd = x.double().reshape(-1), y.double().reshape(-1)
    t = torch.tanh(alpha * xd)
    a = float((t * yd).sum() / t.square().sum().clamp_min(1e-30))
    return a, float((a * t - yd).square().mean().sqrt())


def line_fit_error(x: Tensor, y: Tensor) -> float:
    """RMS error of the best straight line through the origin, y ≈ k·x (what a single token's LayerNorm is)."""
    xd, yd = x.double().reshape(-1), y.double().reshape(-1)
    k = (xd * yd).sum() / xd.square().sum().clamp_min(1e-30)
    return float((k * xd - yd).square().mean().sqrt())
