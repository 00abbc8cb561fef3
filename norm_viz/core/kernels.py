"""Fast statistics kernels: (x̂, group_mean, group_var) for one norm, from torch's native kernels where they fit.

torch only. Each kernel takes (x, groups, eps, mask) for x of shape (B, S, F) and returns x̂ = (x - μ)/√(σ² + ε),
the mean of each group (None for norms that do not center) and its biased variance (mean square for RMS norms),
both flat and indexed by group id. A NORMS row names its kernel; a row without one uses the generic reduction.
Where a native torch kernel fits x's layout (BatchNorm on the (B·S, F) rows, LayerNorm, GroupNorm per token) the
statistics come out of the same call that makes the output. No native kernel reduces along the middle axis of
a contiguous (B, S, F) tensor per sample without a transposed copy, so InstanceNorm, GroupNorm and masked BatchNorm
use two passes of sums instead, with one buffer the size of x (bench.py measures both against torch).
Also here, for a row with its own forward: mean_square_rows (PowerNorm's ψ²).
"""

from __future__ import annotations

from functools import lru_cache

import torch
import torch.autograd.forward_ad as fwAD
from torch import Tensor

Stats = tuple[Tensor, Tensor | None, Tensor]

_LOW_PRECISION = (torch.float16, torch.bfloat16)
"""Dtypes whose sums and squares would round or overflow: the hand-written passes run in float32 for them."""


def var_from_rstd(rstd: Tensor, eps: float, dtype: torch.dtype) -> Tensor:
    """Recover σ² from 1/√(σ² + ε), computed in float64 (rstd is left as it is)."""
    return rstd.to(torch.float64, copy=True).pow_(-2).sub_(eps).clamp_min_(0).to(dtype)


def _var_over_rstd(rstd: Tensor, eps: float) -> Tensor:
    """σ² = 1/rstd² − ε written over the native call's own rstd, so returning σ² costs no memory.

    float32 arithmetic here loses nothing measurable: the float32 rstd already limits σ² to about 2·10⁻⁷·(σ² + ε),
    and recomputing in float64 changed that error by under 10% (σ from 10⁻⁵ to 1, offsets 0 and 5, 4096 groups).
    Half precision goes through float64, as its 1/rstd² can leave the range.
    """
    if rstd.dtype in _LOW_PRECISION:
        return var_from_rstd(rstd, eps, rstd.dtype)
    return rstd.pow_(-2).sub_(eps).clamp_min_(0)


@lru_cache(maxsize=16)
def unit_affine(shape: tuple[int, ...], dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    """γ = 1 and β = 0 of a given shape (never written to, so they can be shared)."""
    return torch.ones(shape, dtype=dtype), torch.zeros(shape, dtype=dtype)


def batchnorm_stats(x: Tensor, groups: int, eps: float, mask: Tensor | None) -> Stats:
    """BatchNorm: one native batch-norm call on the (B·S, F) rows; with a mask, two passes over the real rows."""
    b, s, f = x.shape
    if mask is not None and not bool(mask.all()):  # a mask without padding is plain BatchNorm, to the last bit
        return _masked_rows_stats(x, mask, eps)
    xhat, mean, rstd = torch.native_batch_norm(x.reshape(b * s, f), None, None, None, None, True, 0.0, eps)
    return xhat.view(b, s, f), mean, _var_over_rstd(rstd, eps)


def _masked_rows_stats(x: Tensor, mask: Tensor, eps: float) -> Stats:
    """Masked BatchNorm: the native batch-norm call on a copy of the real rows gives μ and 1/√(σ² + ε), both copies
    are dropped, and one pass normalizes every row (padding included) with them.

    Faster with two threads than two hand-written passes over the rows (1.0× vs 1.3× the torch call here), at a peak
    of the copy plus its normalized copy, 0.6× the usual `y[mask] = bn(x[mask])`.
    """
    b, s, f = x.shape
    rows = x.reshape(b * s, f)[mask.reshape(-1)]
    _, mean, rstd = torch.native_batch_norm(rows, None, None, None, None, True, 0.0, eps)
    del rows, _
    return torch.addcmul(-mean * rstd, x, rstd), mean, _var_over_rstd(rstd, eps)


def _cast(stats: Stats, dtype: torch.dtype) -> Stats:
    xhat, mean, var = stats
    return xhat.to(dtype), None if mean is None else mean.to(dtype), var.to(dtype)


def _layer_norm_stats(x: Tensor, dims: list[int], eps: float) -> Stats:
    ones, zeros = unit_affine(tuple(dims), x.dtype)  # torch's CPU kernel is ~2x faster with an affine
    xhat, mean, rstd = torch.native_layer_norm(x, dims, ones, zeros, eps)
    return xhat, mean.reshape(-1), _var_over_rstd(rstd.reshape(-1), eps)


def layernorm_stats(x: Tensor, groups: int, eps: float, mask: Tensor | None) -> Stats:
    """LayerNorm over the features of each token."""
    return _layer_norm_stats(x, [x.shape[2]], eps)


def layernorm_sample_stats(x: Tensor, groups: int, eps: float, mask: Tensor | None) -> Stats:
    """LayerNorm over (sequence, features) of each sample."""
    return _layer_norm_stats(x, [x.shape[1], x.shape[2]], eps)


_CHUNK = 1 << 18
"""Values per chunk when squaring deviations: a 1 MB float32 temporary that stays in cache."""


def _sequence_stats(x: Tensor, groups: int, eps: float) -> Stats:
    """Per (sample, feature group) over the sequence and the group's features, for the whole batch at once.

    Two passes over sums along the sequence (torch vectorizes them across the contiguous features): the mean, then
    the mean squared deviation, squared a chunk of the sequence at a time so that the only large buffer is the
    output, which holds x − μ and is then scaled in place. The statistics are spread back per feature so every
    elementwise step broadcasts one (B, 1, F) row.
    """
    if x.dtype in _LOW_PRECISION:
        return _cast(_sequence_stats(x.float(), groups, eps), x.dtype)
    b, s, f = x.shape
    width = f // groups
    n = s * width
    mean = x.sum(1).view(b, groups, width).sum(-1).div_(n)
    out = torch.sub(x, mean.view(b, groups, 1).expand(b, groups, width).reshape(b, 1, f))
    squares = torch.zeros(b, f, dtype=x.dtype)
    for part in out.split(max(1, _CHUNK // (b * f)), dim=1):
        squares += part.square().sum(1)
    var = squares.view(b, groups, width).sum(-1).div_(n)
    out.mul_(torch.rsqrt(var + eps).view(b, groups, 1).expand(b, groups, width).reshape(b, 1, f))
    return out, mean.reshape(-1), var.reshape(-1)


def instancenorm_stats(x: Tensor, groups: int, eps: float, mask: Tensor | None) -> Stats:
    """InstanceNorm: per (sample, feature) over the sequence."""
    return _sequence_stats(x, x.shape[2], eps)


def groupnorm_stats(x: Tensor, groups: int, eps: float, mask: Tensor | None) -> Stats:
    """GroupNorm: per (sample, feature group) over the sequence and the group's features."""
    return _sequence_stats(x, groups, eps)


def groupnorm_token_stats(x: Tensor, groups: int, eps: float, mask: Tensor | None) -> Stats:
    """GroupNorm per token: a LayerNorm over each (token, group)'s features (F.group_norm on (B·S, F), faster)."""
    b, s, f = x.shape
    ones, zeros = unit_affine((f // groups,), x.dtype)
    out, mean, rstd = torch.native_layer_norm(x.reshape(b, s, groups, f // groups), [f // groups], ones, zeros, eps)
    return out.view(b, s, f), mean.reshape(-1), _var_over_rstd(rstd.reshape(-1), eps)


def rmsnorm_stats(x: Tensor, groups: int, eps: float, mask: Tensor | None) -> Stats:
    """RMSNorm: the mean square over each token's features, no centering."""
    f = x.shape[2]
    ms = torch.linalg.vector_norm(x, dim=-1, keepdim=True).square_().div_(f)
    return x * torch.rsqrt(ms + eps), None, ms.reshape(-1)


def _differentiated(*ts: Tensor | float) -> bool:
    """True when autograd (reverse or forward mode, or torch.func) may differentiate through one of ts."""
    for t in ts:
        if not isinstance(t, Tensor):
            continue
        if t.requires_grad or fwAD.unpack_dual(t).tangent is not None:
            return True
        if torch._C._functorch.is_functorch_wrapped_tensor(t):
            return True
    return False


def mean_square_rows(x: Tensor, mask: Tensor | None) -> Tensor:
    """(F,) mean of x² over the tokens of x (B, S, F), the real ones only under a mask: PowerNorm's ψ².

    A chunk of rows at a time (its real rows copied and squared in place), so that no temporary the size of x is
    made and the chunk stays in cache.
    """
    b, s, f = x.shape
    rows = x.reshape(b * s, f)
    keep = None if mask is None else mask.reshape(-1)
    if _differentiated(x):
        return (rows if keep is None else rows[keep]).square().mean(0)
    if x.dtype in _LOW_PRECISION:
        return mean_square_rows(x.float(), mask).to(x.dtype)
    total = torch.zeros(f, dtype=x.dtype)
    step = max(1, _CHUNK // f)
    for i, part in enumerate(rows.split(step)):
        total += (part.square() if keep is None else part[keep[i * step : (i + 1) * step]].square_()).sum(0)
    return total.div_(b * s if keep is None else int(keep.sum()))
