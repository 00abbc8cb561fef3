"""The math: normalize a (batch, sequence, features) tensor and return every intermediate.

torch only (no streamlit, no plotly). The statistics come out of the same native kernels that
torch.nn uses, so returning them costs nothing extra; `reference` runs the real torch.nn modules.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import torch
import torch.autograd.forward_ad as fwAD
import torch.nn.functional as F
from torch import Tensor, nn

from norm_viz.core import extra_norms, kernels
from norm_viz.core.table import AXES, NORMS, Norm, default_groups, torch_call, valid_group_counts

ArrayLike = Tensor | Sequence[float] | float


@dataclass(frozen=True, eq=False)
class NormResult:
    """Everything one normalization computed: output, statistics, and which cells share them."""

    key: str
    input: Tensor
    output: Tensor
    normalized: Tensor
    """x̂ = (x - μ) / √(σ² + ε), before γ and β."""
    group_mean: Tensor | None
    """(n_groups,) mean of each group, indexed by group id; None for norms that do not center."""
    group_var: Tensor
    """(n_groups,) biased variance of each group; for RMS-type norms the mean square."""
    counts: Tensor
    """(n_groups,) how many values each statistic averaged (0 when running statistics were used)."""
    groups: int
    eps: float
    training: bool
    weight: Tensor | None = None
    bias: Tensor | None = None
    mask: Tensor | None = None
    running_mean: Tensor | None = None
    """Running mean after this step (training) or the one used (eval); batch-statistics norms only."""
    running_var: Tensor | None = None
    """Running variance (unbiased, as torch stores it) after this step or the one used."""
    alpha: float | None = None
    """DyT's α; None for other norms."""
    scaling_groups: int = 0
    """PowerNorm's GroupScaling group count (0 = off)."""
    running_prior: Tensor | None = None
    """PowerNorm: the running ψ² before this step (the one a post-warm-up step divides by)."""
    running_used: bool = False
    """True when a training step divided by running statistics (PowerNorm after warm-up)."""

    @property
    def norm(self) -> Norm:
        return NORMS[self.key]

    @property
    def shape(self) -> tuple[int, int, int]:
        b, s, f = self.input.shape
        return b, s, f

    @property
    def uses_running_stats(self) -> bool:
        """True when the statistics came from running estimates (eval mode, or PowerNorm after warm-up)."""
        return (self.norm.batch_stats and not self.training) or self.running_used

    @property
    def _view4(self) -> tuple[int, int, int, int]:
        b, s, f = self.shape
        return b, s, self.groups, f // self.groups

    @property
    def _kept4(self) -> tuple[int, int, int, int]:
        """The (B, S, G, F//G) sizes with the reduced axes set to 1: the statistics' 4D shape."""
        return tuple(1 if a in self.norm.reduce else n for a, n in zip(AXES, self._view4, strict=True))

    @property
    def stats_axes(self) -> tuple[str, ...]:
        """Names of the axes that index the statistics, e.g. ("batch", "sequence") for LayerNorm."""
        return tuple(a for a in self.norm.kept if a != "group" or self.norm.uses_groups)

    @property
    def stats_shape(self) -> tuple[int, ...]:
        """Sizes of `stats_axes`: group_mean.view(stats_shape) is the statistics map."""
        sizes = dict(zip(AXES, self._view4, strict=True))
        return tuple(sizes[a] for a in self.stats_axes)

    @property
    def n_groups(self) -> int:
        return int(self.group_var.numel())

    @property
    def group_size(self) -> int:
        """How many cells of the tensor share one statistic."""
        return self.input.numel() // self.n_groups

    def _keepdim(self, t: Tensor) -> Tensor:
        b, s, g, fg = self._kept4
        t4 = t.view(b, s, g, fg)
        if g == 1 and fg == 1:
            return t4.reshape(b, s, 1)
        return t4.expand(b, s, self.groups, self._view4[3]).reshape(b, s, self.shape[2])

    @cached_property
    def mean(self) -> Tensor | None:
        """The mean, broadcastable against x (keepdim shape); None for norms that do not center."""
        return None if self.group_mean is None else self._keepdim(self.group_mean)

    @cached_property
    def var(self) -> Tensor:
        """The variance (mean square for RMS norms), broadcastable against x."""
        return self._keepdim(self.group_var)

    @cached_property
    def group_id(self) -> Tensor:
        """(B, S, F) int64: cells with the same id share one statistic; ids are 0..n_groups-1."""
        ids = torch.arange(self.n_groups).view(self._kept4)
        return ids.expand(self._view4).reshape(self.shape)

    @cached_property
    def contributes(self) -> Tensor:
        """(B, S, F) bool: the cells whose values went into a statistic (False for padding)."""
        b, s, f = self.shape
        if self.mask is not None and self.norm.masked:
            return self.mask[:, :, None].expand(b, s, f)
        return torch.full((b, s, f), not self.uses_running_stats)

    def cell(self, b: int, s: int, f: int) -> dict[str, float | int]:
        """The numbers of one cell's computation: x, its group's μ, σ², n, x̂, γ, β, y."""
        gid = int(self.group_id[b, s, f])
        w = 1.0 if self.weight is None else float(self._affine(self.weight)[b, s, f])
        bias = 0.0 if self.bias is None else float(self._affine(self.bias)[b, s, f])
        return {
            "x": float(self.input[b, s, f]),
            "group": gid,
            "mean": 0.0 if self.group_mean is None else float(self.group_mean[gid]),
            "var": float(self.group_var[gid]),
            "n": int(self.counts[gid]),
            "x_hat": float(self.normalized[b, s, f]),
            "gamma": w,
            "beta": bias,
            "y": float(self.output[b, s, f]),
        }

    def _affine(self, p: Tensor) -> Tensor:
        return p.expand(self.shape) if p.dim() == 1 else p.unsqueeze(0).expand(self.shape)


def _fail(msg: str) -> None:
    raise ValueError(msg)


def _as_param(value: ArrayLike | None, shape: tuple[int, ...], name: str, like: Tensor) -> Tensor | None:
    if value is None:
        return None
    t = torch.as_tensor(value, dtype=like.dtype)
    if t.dim() == 0:
        t = t.expand(shape)
    if tuple(t.shape) != shape:
        _fail(f"{name} has shape {tuple(t.shape)}, but this norm needs shape {shape} (or one number)")
    if not torch.isfinite(t).all():
        _fail(f"{name} contains NaN or inf; use finite numbers")
    return t


def _check_input(x: Tensor) -> tuple[int, int, int]:
    if not isinstance(x, Tensor):
        _fail(f"expected a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 3:
        _fail(
            f"expected a (batch, sequence, features) tensor with 3 dimensions, got shape "
            f"{tuple(x.shape)} with {x.dim()}; add dimensions of size 1 (e.g. x[None] or x[:, None])"
        )
    if not x.is_floating_point():
        _fail(f"expected a floating-point tensor, got {x.dtype}; convert it with x.float()")
    b, s, f = x.shape
    if min(b, s, f) < 1:
        _fail(f"every dimension must be at least 1, got shape {(b, s, f)}")
    return b, s, f


def _check_groups(norm: Norm, groups: int | None, features: int) -> int:
    if not norm.uses_groups:
        return 1
    if groups is None:
        return default_groups(features)
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1 or features % groups:
        valid = ", ".join(map(str, valid_group_counts(features)))
        _fail(
            f"groups={groups!r} does not divide features={features}; valid group counts for {features} features: {valid}"
        )
    return groups


def _check_mask(mask: Tensor | Sequence | None, b: int, s: int) -> Tensor | None:
    if mask is None:
        return None
    m = torch.as_tensor(mask)
    if tuple(m.shape) != (b, s):
        _fail(f"mask has shape {tuple(m.shape)}, but it must be (batch, sequence) = ({b}, {s}), True = real token")
    m = m.bool()
    if not m.any():
        _fail("the mask has no valid token: every position is padding, so there is nothing to average")
    return m


def _nonfinite_message(x: Tensor) -> str:
    bad = (~torch.isfinite(x)).nonzero()
    if len(bad):
        b, s, f = (int(v) for v in bad[0])
        return (
            f"the input has {float(x[b, s, f])} at [b, s, f] = [{b}, {s}, {f}] ({len(bad)} non-finite values "
            "in all); normalization needs finite numbers"
        )
    big = float(x.abs().max())
    return (
        f"the statistics overflowed {x.dtype} (largest |x| = {big:.3g}, its square exceeds the dtype's range); "
        "rescale the input or use float64"
    )


def _single_value_message(norm: Norm, n: int, where: str) -> str:
    return (
        f"{norm.label} in training mode needs more than one value per statistic to compute a variance, "
        f"but {where} = {n}. torch.nn raises 'Expected more than 1 value per channel when training'. "
        "Use eval mode with running statistics, or a larger batch or sequence."
    )


def _tracks_derivatives(x: Tensor) -> bool:
    """True when autograd (reverse or forward mode, or torch.func) differentiates through x.

    Some fast kernels return statistics that autograd treats as constants, so then the generic path is used.
    """
    if torch.is_grad_enabled() and x.requires_grad:
        return True
    if fwAD.unpack_dual(x).tangent is not None:
        return True
    return bool(torch._C._functorch.is_functorch_wrapped_tensor(x))


def _generic_stats(
    x: Tensor, norm: Norm, groups: int, eps: float, mask: Tensor | None = None
) -> tuple[Tensor, Tensor | None, Tensor]:
    """The same numbers from the table alone: reduce x viewed as (B, S, G, F//G) over the norm's axes."""
    b, s, f = x.shape
    if mask is not None:  # masked BatchNorm: the real tokens only
        rows = x.reshape(b * s, f)[mask.reshape(-1)]
        var, mean = torch.var_mean(rows, dim=0, correction=0)
        return (x - mean) * torch.rsqrt(var + eps), mean, var
    x4 = x.reshape(b, s, groups, f // groups)
    dims = tuple(AXES.index(a) for a in norm.reduce)
    if not dims:  # every cell its own group: torch reads dim=() as "reduce everything", so do not reduce
        ms = x4.square()
        return (x4 * torch.rsqrt(ms + eps)).reshape(b, s, f), None, ms.reshape(-1)
    if norm.centered:
        var, mean = torch.var_mean(x4, dim=dims, keepdim=True, correction=0)
        xhat = (x4 - mean) * torch.rsqrt(var + eps)
        return xhat.reshape(b, s, f), mean.reshape(-1), var.reshape(-1)
    ms = x4.square().mean(dim=dims, keepdim=True)
    return (x4 * torch.rsqrt(ms + eps)).reshape(b, s, f), None, ms.reshape(-1)


def normalize(
    x: Tensor,
    norm: str,
    eps: float = 1e-5,
    *,
    groups: int | None = None,
    mask: Tensor | Sequence | None = None,
    weight: ArrayLike | None = None,
    bias: ArrayLike | None = None,
    training: bool = True,
    running_mean: ArrayLike | None = None,
    running_var: ArrayLike | None = None,
    momentum: float = 0.1,
    alpha: float = extra_norms.DYT_ALPHA,
    warmup: bool = True,
    scaling_groups: int = 0,
) -> NormResult:
    """Normalize x (B, S, F) with one norm of `NORMS`; raise ValueError saying what is wrong and what is valid."""
    if norm not in NORMS:
        _fail(f"unknown norm {norm!r}; valid norms: {', '.join(NORMS)}")
    spec = NORMS[norm]
    b, s, f = _check_input(x)
    if not isinstance(eps, (int, float)) or not math.isfinite(eps) or eps < 0:
        _fail(f"eps must be a finite number ≥ 0, got {eps!r}")
    eps = float(eps)
    g = _check_groups(spec, groups, f)
    m = _check_mask(mask, b, s) if spec.masked else None
    affine_shape = (s, f) if spec.affine == "sequence_feature" else (f,)
    w = _as_param(weight, affine_shape, "weight (γ)", x)
    bb = _as_param(bias, affine_shape, "bias (β)", x)
    run_mean = run_var = None
    if spec.batch_stats:
        run_mean = _as_param(running_mean, (f,), "running_mean", x)
        run_var = _as_param(running_var, (f,), "running_var", x)
        run_mean = torch.zeros(f, dtype=x.dtype) if run_mean is None else run_mean
        run_var = torch.ones(f, dtype=x.dtype) if run_var is None else run_var
        if not training and (run_var < 0).any():
            _fail("running_var must be ≥ 0 (it is a variance)")

    extra: dict = {}
    if spec.key in extra_norms.EXTRA:
        xhat, mean, var, counts, run_var, extra = _extra_forward(
            x, spec.key, eps, m, training, run_var, momentum, alpha, warmup, scaling_groups
        )
        run_mean = None
    elif spec.batch_stats and not training:
        if not torch.isfinite(x).all():
            _fail(_nonfinite_message(x))
        rstd = torch.rsqrt(run_var + eps)
        xhat = torch.addcmul(-run_mean * rstd, x, rstd)
        mean, var, counts = run_mean, run_var, torch.zeros(f, dtype=torch.int64)
    else:
        n_values = (int(m.sum()) if m is not None else b * s) if spec.batch_stats else s
        if spec.key in ("batchnorm", "masked_batchnorm", "instancenorm") and n_values < 2:
            where = {"batchnorm": "batch × sequence", "masked_batchnorm": "the number of real tokens"}
            _fail(_single_value_message(spec, n_values, where.get(spec.key, "sequence length")))
        if spec.key in kernels.KERNELS and not _tracks_derivatives(x):
            xhat, mean, var = kernels.KERNELS[spec.key](x, g, eps, m)
        else:
            xhat, mean, var = _generic_stats(x, spec, g, eps, m)
        per_group = x.numel() // var.numel()
        counts = torch.tensor([per_group if m is None else int(m.sum())]).expand(var.numel())
        # one float64 sum per statistic finds any NaN/inf (finite float32 values cannot overflow it)
        if not (
            math.isfinite(float(var.sum(dtype=torch.float64)))
            and (mean is None or math.isfinite(float(mean.sum(dtype=torch.float64))))
        ):
            _fail(_nonfinite_message(x))
        if spec.batch_stats:
            n = int(counts[0])
            run_mean = (1 - momentum) * run_mean + momentum * mean
            run_var = (1 - momentum) * run_var + momentum * var * (n / (n - 1))

    out = xhat
    if w is not None:
        out = out * w
    if bb is not None:
        out = out + bb
    return NormResult(
        key=spec.key,
        input=x,
        output=out,
        normalized=xhat,
        group_mean=mean,
        group_var=var,
        counts=counts,
        groups=g,
        eps=eps,
        training=training,
        weight=w,
        bias=bb,
        mask=m,
        running_mean=run_mean,
        running_var=run_var,
        **extra,
    )


def _extra_forward(
    x: Tensor,
    key: str,
    eps: float,
    mask: Tensor | None,
    training: bool,
    running: Tensor | None,
    momentum: float,
    alpha: float,
    warmup: bool,
    scaling_groups: int,
) -> tuple[Tensor, None, Tensor, Tensor, Tensor | None, dict]:
    """(x̂, mean, statistic, counts, running, extra NormResult fields) for the norms of extra_norms."""
    if not torch.isfinite(x).all():
        _fail(_nonfinite_message(x))
    f = x.shape[2]
    if key == "dyt":
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not math.isfinite(alpha):
            _fail(f"DyT's alpha must be a finite number, got {alpha!r}")
        # DyT divides by nothing; each one-cell group carries its own x² so the shared figures have a number
        top = torch.finfo(x.dtype).max
        ms = x.double().square().clamp_max(top).to(x.dtype).reshape(-1)
        return (
            extra_norms.dyt(x, float(alpha)),
            None,
            ms,
            torch.ones_like(ms, dtype=torch.int64),
            None,
            {"alpha": float(alpha)},
        )
    if isinstance(scaling_groups, bool) or not isinstance(scaling_groups, int) or scaling_groups < 0:
        _fail(f"scaling_groups must be 0 (off) or a whole number that divides features={f}, got {scaling_groups!r}")
    if scaling_groups and f % scaling_groups:
        valid = ", ".join(map(str, valid_group_counts(f)))
        _fail(f"GroupScaling groups={scaling_groups} does not divide features={f}; valid: 0 (off), {valid}")
    step = extra_norms.powernorm_step(
        x,
        eps,
        mask=mask,
        running=running,
        training=training,
        warmup=warmup,
        alpha=1 - momentum,
        scaling_groups=scaling_groups,
    )
    if not torch.isfinite(step.divisor).all():
        _fail(_nonfinite_message(x))
    n = 0 if step.used_running else step.n_tokens
    counts = torch.full((f,), n, dtype=torch.int64)
    extra = {"scaling_groups": scaling_groups, "running_prior": step.running_before, "running_used": step.used_running}
    return step.normalized, None, step.divisor, counts, step.running_after, extra


_FAST = frozenset(kernels.KERNELS)


def reference(
    x: Tensor,
    norm: str,
    eps: float = 1e-5,
    *,
    groups: int | None = None,
    mask: Tensor | None = None,
    training: bool = True,
    running_mean: Tensor | None = None,
    running_var: Tensor | None = None,
    alpha: float = extra_norms.DYT_ALPHA,
    warmup: bool = True,
    scaling_groups: int = 0,
) -> Tensor:
    """The output of the real torch.nn module named in the table (γ = 1, β = 0); for norms without one,
    an independent direct implementation (PowerNorm: a cell-by-cell loop; DyT: torch.tanh(α·x))."""
    spec = NORMS[norm]
    b, s, f = x.shape
    g = _check_groups(spec, groups, f)
    if norm == "powernorm":
        return extra_norms.powernorm_loop(
            x, eps, mask=mask, running=running_var, training=training, warmup=warmup, scaling_groups=scaling_groups
        )
    if norm == "dyt":
        return torch.tanh(alpha * x)
    kw = {"dtype": x.dtype}
    if spec.batch_stats and (norm == "batchnorm" or not training):
        bn = nn.BatchNorm1d(f, eps=eps, **kw).train(training)
        if running_mean is not None:
            bn.running_mean.copy_(running_mean)
        if running_var is not None:
            bn.running_var.copy_(running_var)
        return bn(x.transpose(1, 2)).transpose(1, 2)
    if norm == "layernorm":
        return nn.LayerNorm(f, eps=eps, **kw)(x)
    if norm == "layernorm_sample":
        return nn.LayerNorm((s, f), eps=eps, **kw)(x)
    if norm == "instancenorm":
        return nn.InstanceNorm1d(f, eps=eps, **kw)(x.transpose(1, 2)).transpose(1, 2)
    if norm == "groupnorm":
        return nn.GroupNorm(g, f, eps=eps, **kw)(x.transpose(1, 2)).transpose(1, 2)
    if norm == "groupnorm_token":
        return F.group_norm(x.reshape(b * s, f), g, eps=eps).reshape(b, s, f)
    if norm == "rmsnorm":
        return nn.RMSNorm(f, eps=eps, **kw)(x)
    if norm == "masked_batchnorm":
        m = torch.ones(b, s, dtype=torch.bool) if mask is None else torch.as_tensor(mask).bool()
        bn = nn.BatchNorm1d(f, eps=eps, momentum=1.0, **kw).train()
        bn(x[m])  # momentum 1: the running statistics become this batch's (unbiased var)
        n = int(m.sum())
        mean, var = bn.running_mean, bn.running_var * (n - 1) / n
        return (x - mean) / torch.sqrt(var + eps)
    raise ValueError(f"no torch counterpart for {norm!r}")


@dataclass(frozen=True)
class Verification:
    """How far `normalize` is from the torch.nn module named in the table."""

    torch_call: str
    max_abs_diff: float
    ok: bool
    refused: str = ""
    """torch's own error when the module refuses an input that normalize() accepts (e.g. one value in all)."""


def verify(result: NormResult) -> Verification:
    """Run the torch.nn counterpart on the same input and compare its output with x̂ (γ = 1, β = 0)."""
    b, s, f = result.shape
    call = torch_call(result.key, b, s, f, result.groups, result.eps)
    try:
        with torch.no_grad():
            ref = reference(
                result.input,
                result.key,
                result.eps,
                groups=result.groups,
                mask=result.mask,
                training=result.training,
                running_mean=result.running_mean,
                running_var=result.running_var if result.running_prior is None else result.running_prior,
                alpha=result.alpha if result.alpha is not None else extra_norms.DYT_ALPHA,
                scaling_groups=result.scaling_groups,
                warmup=not result.running_used,
            )
    except (ValueError, RuntimeError) as e:
        return Verification(call, float("nan"), False, refused=str(e))
    gap = (ref - result.normalized).abs()
    gap[ref.isnan() & result.normalized.isnan()] = 0  # 0/0 where torch gives NaN too (ε = 0, constant group)
    diff = float(gap.max())
    tol = 1e-4 if result.input.dtype == torch.float32 else 1e-9
    return Verification(call, diff, diff <= tol * max(1.0, float(ref.abs().max())))


def output_moments(result: NormResult) -> tuple[Tensor, Tensor]:
    """(mean, mean square minus squared mean) of x̂ within each group, over the cells that fed a statistic.

    For a centering norm every group of x̂ should have mean 0 and variance σ²/(σ² + ε) ≈ 1; for an RMS norm,
    mean square ≈ 1: this is the check line the Explorer prints, computed, not asserted.
    """
    keep = result.contributes.reshape(-1)
    ids = result.group_id.reshape(-1)[keep]
    v = result.normalized.detach().double().reshape(-1)[keep]
    n = torch.zeros(result.n_groups, dtype=torch.float64).index_add_(0, ids, torch.ones_like(v)).clamp_min(1)
    mean = torch.zeros(result.n_groups, dtype=torch.float64).index_add_(0, ids, v) / n
    sq = torch.zeros(result.n_groups, dtype=torch.float64).index_add_(0, ids, v * v) / n
    return mean, sq - mean.square()
