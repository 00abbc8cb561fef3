"""Norms beyond the standard ones: PowerNorm (Shen et al., 2020) and DyT (Zhu et al., 2025).

torch only. Their NORMS rows point at `powernorm_forward`/`dyt_forward` (what normalize() runs) and at their
references; `powernorm_loop` is an independent cell-by-cell implementation written from the paper's formulas and
the authors' code (github.com/sIncerass/powernorm, MaskPowerNorm), used as the reference.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from norm_viz.core import kernels

if TYPE_CHECKING:
    from norm_viz.core.table import Call

PN_ALPHA = 0.9
"""PowerNorm's running-average factor: ψ²_running ← α·ψ²_running + (1 − α)·ψ²_batch (the authors' alpha_fwd)."""
GS_EPS = 1e-5
"""GroupScaling's own ε, fixed in the authors' code (GroupScaling1D(eps=1e-5)), independent of the norm's ε."""
PN_GROUP_SCALING = 0
"""GroupScaling groups by default here: 0 = off. The authors' MaskPowerNorm always applies it, with group_num=1
(each token divided by the RMS of all its features); the paper's text does not describe it, so this app shows
PowerNorm as the paper writes it unless GroupScaling is switched on."""
RULES = ("authors", "ema")
"""How the running ψ² is updated in training: "authors" = the authors' code (a cumulative mean of the batches'
ψ² while step < warm-up steps, then, at every step, the moving average); "ema" = the moving average from the
first step (this app's rule before it followed the authors' code)."""
DYT_ALPHA = 0.5
"""DyT's initial α in the paper (α₀ = 0.5)."""

ForwardOut = tuple[Tensor, Tensor | None, Tensor | None, Tensor, Tensor | None, dict[str, Any]]
"""What a row's own forward returns: (x̂, mean or None, statistic or None (per cell, derived on demand), counts,
running statistic after the step or None, extra NormResult fields)."""


def group_scaling(x: Tensor, groups: int, eps: float = GS_EPS) -> Tensor:
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
    step: int = 1
    """The 1-based training step (the authors' `iters` after its increment)."""
    cumulative: bool = False
    """True when the running ψ² first took the cumulative mean (authors' rule, step < warm-up steps)."""


def _phase(step: int, warmup: bool, warmup_steps: int | None, rule: str) -> tuple[bool, bool]:
    """(divide by this batch's ψ², update the running ψ² by the cumulative mean first) for one training step."""
    if isinstance(step, bool) or not isinstance(step, int) or step < 1:
        raise ValueError(f"PowerNorm's step must be a whole number ≥ 1 (the first training step is 1), got {step!r}")
    if rule not in RULES:
        raise ValueError(f"PowerNorm's running rule must be one of {', '.join(RULES)}, got {rule!r}")
    if warmup_steps is None:  # only "is this a warm-up step" is known: a warm-up that goes on after it
        return warmup, warmup and rule == "authors"
    if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or warmup_steps < 0:
        raise ValueError(f"PowerNorm's warmup_steps must be a whole number ≥ 0, got {warmup_steps!r}")
    # the authors' code: divide by the batch while iters <= warmup_iters, cumulative mean while iters < warmup_iters
    return step <= warmup_steps, rule == "authors" and step < warmup_steps


def powernorm_step(
    x: Tensor,
    eps: float = 1e-5,
    *,
    mask: Tensor | None = None,
    running: Tensor | None = None,
    training: bool = True,
    warmup: bool = True,
    step: int = 1,
    warmup_steps: int | None = None,
    rule: str = "authors",
    alpha: float = PN_ALPHA,
    scaling_groups: int = PN_GROUP_SCALING,
    scaling_eps: float = GS_EPS,
) -> PowerStep:
    """One PowerNorm step on x (B, S, F): divide by √(ψ² + ε) per feature, then update the running ψ².

    In training, step t (1-based) divides by this batch's ψ² while t ≤ warmup_steps, else by the running ψ²; with
    warmup_steps=None, `warmup` says which. The running ψ² follows `rule` (see RULES). Eval divides by `running`.
    """
    b, s, f = x.shape
    in_warmup, cumulative = _phase(step, warmup, warmup_steps, rule)
    xs = group_scaling(x, scaling_groups, scaling_eps) if scaling_groups else x
    psi2 = kernels.mean_square_rows(xs, mask)  # without a squared copy of x
    n_tokens = b * s if mask is None else int(mask.sum())
    before = torch.ones(f, dtype=x.dtype) if running is None else running.to(x.dtype)
    use_running = not training or not in_warmup
    divisor = before if use_running else psi2
    xhat = xs * torch.rsqrt(divisor + eps)
    after = before
    if training:
        if cumulative:
            after = after * ((step - 1) / step) + psi2 / step
        after = alpha * after + (1 - alpha) * psi2
    return PowerStep(xs, xhat, psi2, divisor, before, after, use_running, n_tokens, step, training and cumulative)


def powernorm_loop_step(
    x: Tensor,
    eps: float = 1e-5,
    *,
    mask: Tensor | None = None,
    running: Sequence[float] | Tensor | None = None,
    training: bool = True,
    warmup: bool = True,
    step: int = 1,
    warmup_steps: int | None = None,
    rule: str = "authors",
    alpha: float = PN_ALPHA,
    scaling_groups: int = PN_GROUP_SCALING,
    scaling_eps: float = GS_EPS,
) -> tuple[Tensor, Tensor]:
    """PowerNorm written cell by cell from the paper's formulas and the authors' code (python floats):
    (x̂, running ψ² after the step), for checking powernorm_step."""
    b, s, f = x.shape
    in_warmup, cumulative = _phase(step, warmup, warmup_steps, rule)
    vals = x.double().tolist()
    keep = [[True] * s for _ in range(b)] if mask is None else torch.as_tensor(mask).bool().tolist()
    if scaling_groups:
        width = f // scaling_groups
        for i in range(b):
            for j in range(s):
                for g in range(scaling_groups):
                    part = vals[i][j][g * width : (g + 1) * width]
                    scale = math.sqrt(sum(v * v for v in part) / width + scaling_eps)
                    for k in range(width):
                        vals[i][j][g * width + k] /= scale
    run = [1.0] * f if running is None else [float(v) for v in running]
    after = list(run)
    out = [[[0.0] * f for _ in range(s)] for _ in range(b)]
    for k in range(f):
        total, n = 0.0, 0
        for i in range(b):
            for j in range(s):
                if keep[i][j]:
                    total += vals[i][j][k] ** 2
                    n += 1
        psi2 = total / n
        denom = math.sqrt((psi2 if training and in_warmup else run[k]) + eps)
        for i in range(b):
            for j in range(s):
                out[i][j][k] = vals[i][j][k] / denom
        if training:
            r = run[k] * (step - 1) / step + psi2 / step if cumulative else run[k]
            after[k] = alpha * r + (1 - alpha) * psi2
    return torch.tensor(out, dtype=torch.float64).to(x.dtype), torch.tensor(after, dtype=torch.float64).to(x.dtype)


def powernorm_loop(
    x: Tensor,
    eps: float = 1e-5,
    *,
    mask: Tensor | None = None,
    running: Sequence[float] | Tensor | None = None,
    training: bool = True,
    warmup: bool = True,
    step: int = 1,
    warmup_steps: int | None = None,
    scaling_groups: int = PN_GROUP_SCALING,
    scaling_eps: float = GS_EPS,
) -> Tensor:
    """The output x̂ of powernorm_loop_step: PowerNorm cell by cell, the reference for normalize()."""
    return powernorm_loop_step(
        x,
        eps,
        mask=mask,
        running=running,
        training=training,
        warmup=warmup,
        step=step,
        warmup_steps=warmup_steps,
        scaling_groups=scaling_groups,
        scaling_eps=scaling_eps,
    )[0]


@dataclass(frozen=True, eq=False)
class PowerRun:
    """PowerNorm over a sequence of batches: every step, and what BatchNorm-style batch statistics would do."""

    steps: tuple[PowerStep, ...]
    warmup_steps: int
    rule: str = "authors"

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
    scaling_groups: int = PN_GROUP_SCALING,
    rule: str = "authors",
    scaling_eps: float = GS_EPS,
) -> PowerRun:
    """Train-mode PowerNorm over batches (steps 1, 2, …): steps ≤ `warmup_steps` divide by their own ψ², later
    ones by the running ψ², which follows `rule` (the authors' code by default, see RULES)."""
    if len(batches) != len(masks) or not batches:
        raise ValueError("give one mask (or None) per batch, and at least one batch")
    running: Tensor | None = None
    steps = []
    for t, (xb, mb) in enumerate(zip(batches, masks, strict=True)):
        step = powernorm_step(
            xb,
            eps,
            mask=mb,
            running=running,
            step=t + 1,
            warmup_steps=warmup_steps,
            rule=rule,
            alpha=alpha,
            scaling_groups=scaling_groups,
            scaling_eps=scaling_eps,
        )
        steps.append(step)
        running = step.running_after
    return PowerRun(tuple(steps), warmup_steps, rule)


def check_alpha(alpha: Any, features: int) -> float | Tensor:
    """DyT's α as given when valid: a finite number, a 0-d tensor or a per-feature (F,) tensor (e.g. an
    nn.Parameter, so that gradients reach it); ValueError says what is valid."""
    if isinstance(alpha, Tensor):
        if alpha.dim() > 1 or (alpha.dim() == 1 and alpha.shape[0] != features):
            raise ValueError(
                f"DyT's alpha has shape {tuple(alpha.shape)}; it must be one number, a 0-d tensor or shape ({features},)"
            )
        if not alpha.is_floating_point() or not bool(torch.isfinite(alpha.detach()).all()):
            raise ValueError("DyT's alpha must be a finite number (a floating-point tensor without NaN or inf)")
        return alpha
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not math.isfinite(alpha):
        raise ValueError(f"DyT's alpha must be a finite number, got {alpha!r}")
    return float(alpha)


def dyt(x: Tensor, alpha: float | Tensor = DYT_ALPHA) -> Tensor:
    """Dynamic Tanh before γ and β: tanh(α·x), element by element (α one number or one per feature)."""
    return (alpha * x).tanh_()  # in place on the fresh product: one tensor allocated instead of two


def dyt_forward(x: Tensor, call: Call) -> ForwardOut:
    """DyT for normalize(): tanh(α·x) and no statistic (each one-cell group's x² is derived only if asked)."""
    alpha = check_alpha(call.options.get("alpha", DYT_ALPHA), x.shape[2])
    out = dyt(x, alpha)
    n = x.numel()
    return out, None, None, torch.ones(1, dtype=torch.int64).expand(n), None, {"alpha": alpha}


DERF_SHIFT = 0.0
"""Derf's shift s (a learnable scalar in the paper, initialized at 0)."""


def derf(x: Tensor, alpha: float | Tensor = DYT_ALPHA, shift: float | Tensor = DERF_SHIFT) -> Tensor:
    """Dynamic erf before γ and β: erf(α·x + s), element by element ("Stronger Normalization-Free Transformers",
    2025: Derf, the point-wise function that replaced LayerNorm best in its search, DyT's tanh among them)."""
    return torch.erf(alpha * x + shift)


def derf_forward(x: Tensor, call: Call) -> ForwardOut:
    """Derf for normalize(): erf(α·x + s) and no statistic (like DyT)."""
    alpha = check_alpha(call.options.get("alpha", DYT_ALPHA), x.shape[2])
    shift = call.options.get("shift", DERF_SHIFT)
    if isinstance(shift, bool) or not isinstance(shift, (int, float)) or not math.isfinite(shift):
        raise ValueError(f"Derf's shift must be a finite number, got {shift!r}")
    out = derf(x, alpha, float(shift))
    return out, None, None, torch.ones(1, dtype=torch.int64).expand(x.numel()), None, {"alpha": alpha}


class Derf(torch.nn.Module):
    """Derf as a layer: γ·erf(α·x + s) + β with learnable scalars α, s and per-feature γ, β (the paper's module)."""

    def __init__(self, features: int, alpha: float = DYT_ALPHA, shift: float = DERF_SHIFT) -> None:
        super().__init__()
        self.alpha = torch.nn.Parameter(torch.tensor(float(alpha)))
        self.shift = torch.nn.Parameter(torch.tensor(float(shift)))
        self.weight = torch.nn.Parameter(torch.ones(features))
        self.bias = torch.nn.Parameter(torch.zeros(features))

    def forward(self, x: Tensor) -> Tensor:
        return self.weight * derf(x, self.alpha, self.shift) + self.bias


def powernorm_forward(x: Tensor, call: Call) -> ForwardOut:
    """PowerNorm for normalize(): one step (see powernorm_step) with the row's options, after checking them."""
    f = x.shape[2]
    o = call.options
    gs = o.get("scaling_groups", PN_GROUP_SCALING)
    if isinstance(gs, bool) or not isinstance(gs, int) or gs < 0:
        raise ValueError(f"scaling_groups must be 0 (off) or a whole number that divides features={f}, got {gs!r}")
    if gs and f % gs:
        valid = ", ".join(str(g) for g in range(1, f + 1) if f % g == 0)
        raise ValueError(f"GroupScaling groups={gs} does not divide features={f}; valid: 0 (off), {valid}")
    ps = powernorm_step(
        x,
        call.eps,
        mask=call.mask,
        running=call.running_var,
        training=call.training,
        warmup=bool(o.get("warmup", True)),
        step=o.get("step", 1),
        warmup_steps=o.get("warmup_steps"),
        rule=o.get("rule", "authors"),
        alpha=1 - call.momentum,
        scaling_groups=gs,
        scaling_eps=o.get("scaling_eps", GS_EPS),
    )
    n = 0 if ps.used_running else ps.n_tokens
    counts = torch.full((f,), n, dtype=torch.int64)
    extra = {"scaling_groups": gs, "running_prior": ps.running_before, "running_used": ps.used_running}
    return ps.normalized, None, ps.divisor, counts, ps.running_after, extra


def powernorm_reference(x: Tensor, call: Call) -> Tensor:
    """PowerNorm's reference: the cell-by-cell loop (no torch.nn module exists)."""
    o = call.options
    return powernorm_loop(
        x,
        call.eps,
        mask=call.mask,
        running=call.running_var,
        training=call.training,
        warmup=bool(o.get("warmup", True)),
        step=o.get("step", 1),
        warmup_steps=o.get("warmup_steps"),
        scaling_groups=o.get("scaling_groups", PN_GROUP_SCALING),
        scaling_eps=o.get("scaling_eps", GS_EPS),
    )


def powernorm_snippet(v: Mapping[str, Any]) -> str:
    """PowerNorm's PyTorch lines (γ = 1, β = 0) from the snippet values: sizes, eps, mask, warmup, scaling_groups."""
    b, s, f, eps, gs = v["B"], v["S"], v["F"], v["eps"], v.get("scaling_groups") or 0
    scaling = (
        f"xg = x.reshape({b}, {s}, {gs}, {f // gs})  # GroupScaling (the authors' code), its own ε = {GS_EPS:g}\n"
        f"xs = (xg / torch.sqrt(xg.pow(2).mean(-1, keepdim=True) + {GS_EPS:g})).reshape({b}, {s}, {f})\n"
        if gs
        else "xs = x  # no GroupScaling\n"
    )
    divide = (
        "divisor = psi2  # a warm-up step divides by this batch's ψ² (after warm-up: by running_psi2)\n"
        if v.get("warmup", True)
        else "divisor = running_psi2  # after warm-up: the running ψ² (a warm-up step: this batch's psi2)\n"
    ) + f"y = xs / torch.sqrt(divisor + {eps})\n"
    return (
        f"{v['mask']}\n"
        f"running_psi2 = torch.ones({f})  # the running quadratic mean PowerNorm keeps\n"
        + scaling
        + "psi2 = xs[mask].pow(2).mean(0)  # per feature, over the real tokens; no mean is subtracted\n"
        + divide
        + "step, warmup_steps = 1, 10000  # the authors' training-step counter and warm-up length\n"
        "if step < warmup_steps:  # the authors' code: a cumulative mean of the batches' ψ² during warm-up …\n"
        "    running_psi2 = running_psi2 * (step - 1) / step + psi2 / step\n"
        f"running_psi2 = {PN_ALPHA:g} * running_psi2 + {1 - PN_ALPHA:.1g} * psi2  # … and the moving average at every step"
    )


def fit_tanh_alpha(x: Tensor, y: Tensor, lo: float = 1e-3, hi: float = 20.0) -> tuple[float, float]:
    """The α (and its scale a) that best fit y ≈ a·tanh(α·x) in least squares, by a log-spaced search."""
    xd, yd = x.double().reshape(-1), y.double().reshape(-1)
    alphas = torch.logspace(math.log10(lo), math.log10(hi), 400, dtype=torch.float64)
    # α in chunks of ~0.5 M tanh values, one chunk-sized tensor at a time (65,536 values × 400 α at once held
    # 600 MB; the error comes from the sums, (a²·Σt² − 2a·Σty + Σy²) / n, so no second copy of t is made)
    step = max(1, 500_000 // max(1, xd.numel()))
    syy = float(yd.square().sum())
    a_parts, err_parts = [], []
    for chunk in alphas.split(step):
        t = torch.tanh_(chunk[:, None] * xd[None, :])
        sty = t @ yd
        stt = torch.linalg.vector_norm(t, dim=1).square()
        del t
        a_c = sty / stt.clamp_min(1e-30)
        err_parts.append((a_c.square() * stt - 2 * a_c * sty + syy).clamp_min(0) / xd.numel())
        a_parts.append(a_c)
    a, err = torch.cat(a_parts), torch.cat(err_parts)
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
