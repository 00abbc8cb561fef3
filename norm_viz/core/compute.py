"""The math: normalize a (batch, sequence, features) tensor and return every intermediate.

torch only (no streamlit, no plotly). Everything norm-specific comes from the norm's NORMS row: its kernel (the
same native kernels torch.nn uses, so returning the statistics costs nothing extra) or its own forward, its
oracle (`reference` runs the row's own torch.nn module, built by Norm.module, or its independent implementation),
its parameters and its minimum value count.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import torch
import torch.autograd.forward_ad as fwAD
from torch import Tensor

from norm_viz.core.config import NormConfig
from norm_viz.core.data import lengths_mask
from norm_viz.core.table import AXES, NORMS, Call, Norm, default_groups, torch_call, valid_group_counts

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
    computed_var: Tensor | None
    """The statistic the norm divided by, as computed (see `group_var`); None when it divides by none (DyT)."""
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
    alpha: float | Tensor | None = None
    """DyT's α as given (a number, a 0-d or a per-feature tensor); None for other norms."""
    scaling_groups: int = 0
    """PowerNorm's GroupScaling group count (0 = off)."""
    running_prior: Tensor | None = None
    """PowerNorm: the running ψ² before this step (the one a post-warm-up step divides by)."""
    running_used: bool = False
    """True when a training step divided by running statistics (PowerNorm after warm-up)."""
    options: tuple[tuple[str, Any], ...] = ()
    """The row's own parameter values used (Norm.params, by field name), e.g. (("alpha", 0.5),)."""

    @cached_property
    def group_var(self) -> Tensor:
        """(n_groups,) biased variance of each group; for RMS-type norms the mean square.

        A norm that divides by no statistic (DyT) has one-cell groups; each carries its own x² so that the shared
        figures have a number. That costs a pass over x, so it is computed only when something asks for it.
        """
        if self.computed_var is not None:
            return self.computed_var
        x = self.input.detach()
        return x.double().square().clamp_max(torch.finfo(x.dtype).max).to(x.dtype).reshape(-1)

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
        b, s, g, fg = (1 if a in self.norm.reduce else n for a, n in zip(AXES, self._view4, strict=True))
        return b, s, g, fg

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
        return math.prod(self.stats_shape)

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

    def option_numbers(self, feature: int = 0) -> dict[str, float]:
        """The row's numeric parameter values as plain numbers at one feature (a per-feature α gives its entry)."""
        out = {}
        for k, v in self.options:
            if isinstance(v, Tensor):
                out[k] = float(v.detach().reshape(-1)[feature if v.numel() > 1 else 0])
            elif isinstance(v, (int, float)):
                out[k] = float(v)
        return out

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


def _all_finite(x: Tensor) -> bool:
    """True when x holds no NaN or inf: its min and max are finite (NaN propagates); one cheap reduction."""
    lo, hi = torch.aminmax(x.detach())
    return math.isfinite(float(lo)) and math.isfinite(float(hi))


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


def _norm_of(norm: str | NormConfig) -> Norm:
    key = norm.key if isinstance(norm, NormConfig) else norm
    if not isinstance(key, str) or key not in NORMS:
        _fail(f"unknown norm {key!r}; valid norms: {', '.join(NORMS)}")
    return NORMS[key]


def _options(spec: Norm, named: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """The row's parameter values by field name: its defaults, then the named keyword arguments that are its own
    (others are ignored, as for groups on LayerNorm), then any further keyword arguments, which must be its own."""
    own = {p.name for p in spec.params} | set(spec.keywords)
    unknown = sorted(k for k in extra if k not in own)
    if unknown:
        takes = ", ".join(sorted(own)) or "none"
        _fail(f"{spec.label} takes no parameter {', '.join(unknown)}; its parameters: {takes}")
    out = {k: v for k, v in spec.defaults().items() if k != "groups"}
    out.update({k: v for k, v in named.items() if v is not None and k in own and k != "groups"})
    out.update({k: v for k, v in extra.items() if k != "groups"})
    return out


def normalize(
    x: Tensor,
    norm: str | NormConfig,
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
    alpha: float | Tensor | None = None,
    warmup: bool | None = None,
    scaling_groups: int | None = None,
    **options: Any,
) -> NormResult:
    """Normalize x (B, S, F) with one norm of `NORMS` (a key, or a NormConfig holding the key, ε, γ, β, the
    sequence lengths and the row's parameters); raise ValueError saying what is wrong and what is valid.

    Each row's parameters are keyword arguments by field name: groups (GroupNorm rows), alpha (DyT: a number, a
    0-d or per-feature tensor), warmup / step / warmup_steps / rule / scaling_groups / scaling_eps (PowerNorm).
    """
    spec = _norm_of(norm)
    b, s, f = _check_input(x)
    named: dict[str, Any] = {"alpha": alpha, "warmup": warmup, "scaling_groups": scaling_groups}
    if isinstance(norm, NormConfig):
        eps = norm.eps
        cfg = dict(norm.params)
        groups = cfg.pop("groups", groups)
        named = {**cfg, **{k: v for k, v in named.items() if v is not None}}
        if spec.masked and norm.lengths:
            mask = lengths_mask(norm.lengths, s)
        affine_shape = (s, f) if spec.affine == "sequence_feature" else (f,)
        weight = None if norm.gamma == 1.0 else torch.full(affine_shape, norm.gamma, dtype=x.dtype)
        bias = None if norm.beta == 0.0 else torch.full(affine_shape, norm.beta, dtype=x.dtype)
    if not isinstance(eps, (int, float)) or not math.isfinite(eps) or eps < 0:
        _fail(f"eps must be a finite number ≥ 0, got {eps!r}")
    eps = float(eps)
    g = _check_groups(spec, groups, f)
    m = _check_mask(mask, b, s) if spec.masked else None
    affine_shape = (s, f) if spec.affine == "sequence_feature" else (f,)
    w = _as_param(weight, affine_shape, "weight (γ)", x)
    bb = _as_param(bias, affine_shape, "bias (β)", x)
    opts = _options(spec, named, options)
    run_mean: Tensor | None = None
    run_var: Tensor | None = None
    if spec.batch_stats:
        given_mean = _as_param(running_mean, (f,), "running_mean", x)
        given_var = _as_param(running_var, (f,), "running_var", x)
        run_mean = torch.zeros(f, dtype=x.dtype) if given_mean is None else given_mean
        run_var = torch.ones(f, dtype=x.dtype) if given_var is None else given_var
        if not training and (run_var < 0).any():
            _fail("running_var must be ≥ 0 (it is a variance)")

    extra: dict[str, Any] = {}
    mean: Tensor | None
    var: Tensor | None
    if spec.forward is not None:  # the row's own forward (PowerNorm, DyT)
        if not _all_finite(x):
            _fail(_nonfinite_message(x))
        call = Call(eps, g, m, training, run_mean, run_var, momentum, opts)
        xhat, mean, var, counts, run_var, extra = spec.forward(x, call)
        run_mean = None
        if var is not None and not _all_finite(var):
            _fail(_nonfinite_message(x))  # finite inputs whose squares overflowed the dtype
    elif not training and run_mean is not None and run_var is not None:  # batch statistics in eval mode
        if not _all_finite(x):
            _fail(_nonfinite_message(x))
        rstd = torch.rsqrt(run_var + eps)
        xhat = torch.addcmul(-run_mean * rstd, x, rstd)
        mean, var, counts = run_mean, run_var, torch.zeros(f, dtype=torch.int64)
    else:
        n_values = spec.values_per_statistic((b, s, f), g, m)
        if n_values < spec.min_values:
            _fail(_single_value_message(spec, n_values, spec.count_words))
        if spec.kernel is not None and not _tracks_derivatives(x):
            xhat, mean, var = spec.kernel(x, g, eps, m)
        else:
            xhat, mean, var = _generic_stats(x, spec, g, eps, m)
        per_group = x.numel() // var.numel()
        counts = torch.tensor([per_group if m is None else int(m.sum())]).expand(var.numel())
        # any NaN/inf in x shows in the statistics: a min/max pass over them, without a float64 copy
        if not (_all_finite(var) and (mean is None or _all_finite(mean))):
            _fail(_nonfinite_message(x))
        if run_mean is not None and run_var is not None and mean is not None:  # batch statistics: update them
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
        computed_var=var,
        counts=counts,
        groups=g,
        eps=eps,
        training=training,
        weight=w,
        bias=bb,
        mask=m,
        running_mean=run_mean,
        running_var=run_var,
        options=tuple(opts.items()),
        **extra,
    )


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
    momentum: float = 0.1,
    alpha: float | Tensor | None = None,
    warmup: bool | None = None,
    scaling_groups: int | None = None,
    **options: Any,
) -> Tensor:
    """The output of the real torch.nn module named in the table (γ = 1, β = 0): the row's layer, built fresh by
    Norm.module with the given running statistics, momentum and train/eval mode; for norms without one, the row's
    independent implementation (PowerNorm: a cell-by-cell loop; DyT: torch.tanh(α·x); masked BatchNorm:
    nn.BatchNorm1d on x[mask])."""
    spec = _norm_of(norm)
    if spec.reference is None and spec.make is None:
        raise ValueError(f"no torch counterpart for {spec.key!r}")
    g = _check_groups(spec, groups, x.shape[2])
    opts = _options(spec, {"alpha": alpha, "warmup": warmup, "scaling_groups": scaling_groups}, options)
    call = Call(eps, g, mask, training, running_mean, running_var, momentum, opts)
    if spec.reference is not None:
        return spec.reference(x, call)
    return _module_output(spec, x, call)


def _module_output(spec: Norm, x: Tensor, c: Call) -> Tensor:
    """x through a fresh Norm.module of the row (γ = 1, β = 0) with the Call's mode, running statistics and momentum.

    The module runs in float64 and its output is cast back to x's dtype: in float32 the affine modules' fused kernels
    cancel badly where a statistic has one value (nn.GroupNorm(1, 1) gives ±5e-5 instead of 0 at ε = 1e-5), and an
    oracle should not add its own rounding to the difference it reports."""
    _, s, f = x.shape
    wide = torch.promote_types(x.dtype, torch.float64)
    layer = spec.module(f, eps=c.eps, groups=c.groups, sequence=s, **c.options).to(wide).train(c.training)
    for name, given in (("running_mean", c.running_mean), ("running_var", c.running_var)):
        buffer = getattr(layer, name, None)  # nn.BatchNorm1d's running statistics
        if isinstance(buffer, Tensor) and given is not None:
            buffer.copy_(torch.as_tensor(given).detach().to(wide))
    if isinstance(getattr(layer, "momentum", None), float):
        setattr(layer, "momentum", c.momentum)  # noqa: B010 (nn.Module's attribute type hides nn.BatchNorm1d's)
    mask = None if c.mask is None else torch.as_tensor(c.mask).bool()
    return layer(x.to(wide), mask).to(x.dtype)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Verification:
    """How far `normalize` is from the torch.nn module named in the table."""

    torch_call: str
    max_abs_diff: float
    ok: bool
    refused: str = ""
    """torch's own error when the module refuses an input that normalize() accepts (e.g. one value in all)."""
    torch_module: bool = True
    """False when torch.nn has no module for the norm and the check ran an independent implementation."""


def verify(result: NormResult) -> Verification:
    """Run the torch.nn counterpart on the same input and compare its output with x̂ (γ = 1, β = 0)."""
    b, s, f = result.shape
    call = torch_call(result.key, b, s, f, result.groups, result.eps)
    opts = dict(result.options)
    if result.running_used or result.running_prior is not None:  # PowerNorm: what this step divided by
        opts["warmup"] = not result.running_used
        opts.pop("warmup_steps", None)
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
                **opts,
            )
    except (ValueError, RuntimeError) as e:
        return Verification(call, float("nan"), False, refused=str(e), torch_module=result.norm.has_torch_module)
    ours = result.normalized.detach()
    gap = (ref - ours).abs()
    gap[ref.isnan() & ours.isnan()] = 0  # 0/0 where torch gives NaN too (ε = 0, constant group)
    diff = float(gap.max())
    tol = 1e-4 if result.input.dtype == torch.float32 else 1e-9
    ok = diff <= tol * max(1.0, float(ref.abs().max()))
    return Verification(call, diff, ok, torch_module=result.norm.has_torch_module)


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
