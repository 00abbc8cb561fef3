"""Fast statistics kernels: (x̂, group_mean, group_var) for one norm from torch's native kernels.

torch only. Each kernel takes (x, groups, eps, mask) for x of shape (B, S, F) and returns x̂ = (x - μ)/√(σ² + ε),
the mean of each group (None for norms that do not center) and its biased variance (mean square for RMS norms),
both flat and indexed by group id. A NORMS row names its kernel; a row without one uses the generic reduction.
The statistics come out of the same native call that makes the output, so returning them costs nothing extra.
"""

from __future__ import annotations

from functools import lru_cache

import torch
from torch import Tensor

Stats = tuple[Tensor, Tensor | None, Tensor]


def var_from_rstd(rstd: Tensor, eps: float, dtype: torch.dtype) -> Tensor:
    """Recover σ² from 1/√(σ² + ε), in float64 so that small variances keep their digits."""
    return (rstd.double().pow(-2) - eps).clamp_min(0).to(dtype)


@lru_cache(maxsize=16)
def unit_affine(shape: tuple[int, ...], dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    """γ = 1 and β = 0 of a given shape (never written to, so they can be shared)."""
    return torch.ones(shape, dtype=dtype), torch.zeros(shape, dtype=dtype)


def batchnorm_stats(x: Tensor, groups: int, eps: float, mask: Tensor | None) -> Stats:
    """BatchNorm (and masked BatchNorm): one native batch-norm call on the (B·S, F) rows (the real rows only)."""
    b, s, f = x.shape
    flat = x.reshape(b * s, f)
    if mask is not None:
        rows = flat[mask.reshape(-1)]
        _, mean, rstd = torch.ops.aten.native_batch_norm(rows, None, None, None, None, True, 0.0, eps)
        xhat = torch.addcmul(-mean * rstd, x, rstd)
    else:
        xhat, mean, rstd = torch.ops.aten.native_batch_norm(flat, None, None, None, None, True, 0.0, eps)
        xhat = xhat.view(b, s, f)
    return xhat, mean, var_from_rstd(rstd, eps, x.dtype)


def _layer_norm_stats(x: Tensor, dims: list[int], eps: float) -> Stats:
    ones, zeros = unit_affine(tuple(dims), x.dtype)  # torch's CPU kernel is ~2x faster with an affine
    xhat, mean, rstd = torch.ops.aten.native_layer_norm(x, dims, ones, zeros, eps)
    return xhat, mean.reshape(-1), var_from_rstd(rstd.reshape(-1), eps, x.dtype)


def layernorm_stats(x: Tensor, groups: int, eps: float, mask: Tensor | None) -> Stats:
    """LayerNorm over the features of each token."""
    return _layer_norm_stats(x, [x.shape[2]], eps)


def layernorm_sample_stats(x: Tensor, groups: int, eps: float, mask: Tensor | None) -> Stats:
    """LayerNorm over (sequence, features) of each sample."""
    return _layer_norm_stats(x, [x.shape[1], x.shape[2]], eps)


def instancenorm_stats(x: Tensor, groups: int, eps: float, mask: Tensor | None) -> Stats:
    """InstanceNorm: per (sample, feature) over the sequence."""
    b = x.shape[0]
    parts = [torch.ops.aten.native_batch_norm(x[i], None, None, None, None, True, 0.0, eps) for i in range(b)]
    xhat = torch.stack([p[0] for p in parts])
    mean = torch.stack([p[1] for p in parts]).reshape(-1)
    rstd = torch.stack([p[2] for p in parts]).reshape(-1)
    return xhat, mean, var_from_rstd(rstd, eps, x.dtype)


def groupnorm_stats(x: Tensor, groups: int, eps: float, mask: Tensor | None) -> Stats:
    """GroupNorm: per (sample, feature group) over the sequence and the group's features."""
    b, s, f = x.shape
    # per-(sample, feature) moments over the sequence from the native kernel, then the groups' moments by the
    # law of total variance (mean of variances + variance of means): no transposed copy of x is needed
    parts = [torch.ops.aten.native_batch_norm(x[i], None, None, None, None, True, 0.0, eps) for i in range(b)]
    m = torch.stack([p[1] for p in parts]).double().view(b, groups, f // groups)
    v = (torch.stack([p[2] for p in parts]).double().pow(-2) - eps).clamp_min(0).view(b, groups, f // groups)
    mean_g = m.mean(-1, keepdim=True)
    var_g = v.mean(-1, keepdim=True) + (m - mean_g).square().mean(-1, keepdim=True)
    rstd = torch.rsqrt(var_g + eps).expand(b, groups, f // groups).reshape(b, 1, f).to(x.dtype)
    shift = (-mean_g * torch.rsqrt(var_g + eps)).expand(b, groups, f // groups).reshape(b, 1, f).to(x.dtype)
    return torch.addcmul(shift, x, rstd), mean_g.reshape(-1).to(x.dtype), var_g.reshape(-1).to(x.dtype)


def groupnorm_token_stats(x: Tensor, groups: int, eps: float, mask: Tensor | None) -> Stats:
    """GroupNorm per token: a LayerNorm over each (token, group)'s features (F.group_norm on (B·S, F), faster)."""
    b, s, f = x.shape
    ones, zeros = unit_affine((f // groups,), x.dtype)
    out, mean, rstd = torch.ops.aten.native_layer_norm(
        x.reshape(b, s, groups, f // groups), [f // groups], ones, zeros, eps
    )
    return out.view(b, s, f), mean.reshape(-1), var_from_rstd(rstd.reshape(-1), eps, x.dtype)


def rmsnorm_stats(x: Tensor, groups: int, eps: float, mask: Tensor | None) -> Stats:
    """RMSNorm: the mean square over each token's features, no centering."""
    f = x.shape[2]
    ms = torch.linalg.vector_norm(x, dim=-1, keepdim=True).square_().div_(f)
    return x * torch.rsqrt(ms + eps), None, ms.reshape(-1)


KERNELS = {
    "batchnorm": batchnorm_stats,
    "masked_batchnorm": batchnorm_stats,
    "layernorm": layernorm_stats,
    "layernorm_sample": layernorm_sample_stats,
    "instancenorm": instancenorm_stats,
    "groupnorm": groupnorm_stats,
    "groupnorm_token": groupnorm_token_stats,
    "rmsnorm": rmsnorm_stats,
}
"""Until each NORMS row names its own kernel: the kernel of each norm that has one."""
