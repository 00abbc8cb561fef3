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
    return rstd.to(torch.float64, copy=True).pow_(-2).sub_(eps).clamp_min_(0).to(dtype)


@lru_cache(maxsize=16)
def unit_affine(shape: tuple[int, ...], dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    """γ = 1 and β = 0 of a given shape (never written to, so they can be shared)."""
    return torch.ones(shape, dtype=dtype), torch.zeros(shape, dtype=dtype)


def batchnorm_stats(x: Tensor, groups: int, eps: float, mask: Tensor | None) -> Stats:
    """BatchNorm: one native batch-norm call on the (B·S, F) rows; with a mask, two passes over the real rows."""
    b, s, f = x.shape
    if mask is not None:
        return _masked_rows_stats(x, mask, eps)
    xhat, mean, rstd = torch.ops.aten.native_batch_norm(x.reshape(b * s, f), None, None, None, None, True, 0.0, eps)
    return xhat.view(b, s, f), mean, var_from_rstd(rstd, eps, x.dtype)


def _masked_rows_stats(x: Tensor, mask: Tensor, eps: float) -> Stats:
    """Masked BatchNorm: mean, then mean squared deviation of the real rows, in a copy of them that is then dropped.

    Centring and squaring that copy in place keeps the peak memory at one tensor the size of x (the output).
    """
    b, s, f = x.shape
    rows = x.reshape(b * s, f)[mask.reshape(-1)]
    n = rows.shape[0]
    mean = rows.sum(0).div_(n)
    var = rows.sub_(mean).square_().sum(0).div_(n)
    del rows
    rstd = torch.rsqrt(var + eps)
    return torch.addcmul(-mean * rstd, x, rstd), mean, var


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


def _sequence_stats(x: Tensor, groups: int, eps: float) -> Stats:
    """Per (sample, feature group) over the sequence and the group's features, for the whole batch at once.

    Two passes (mean, then mean squared deviation) over sums along the sequence, which torch vectorizes across the
    contiguous features; the statistics are spread back per feature so that every elementwise step broadcasts a
    (B, 1, F) row. One buffer the size of x holds the deviations, their squares in place, then the output.
    """
    b, s, f = x.shape
    width = f // groups
    n = s * width
    mean = x.sum(1).view(b, groups, width).sum(-1).div_(n)
    mean_f = mean.view(b, groups, 1).expand(b, groups, width).reshape(b, 1, f)
    out = torch.sub(x, mean_f)
    var = out.square_().sum(1).view(b, groups, width).sum(-1).div_(n)
    rstd_f = torch.rsqrt(var + eps).view(b, groups, 1).expand(b, groups, width).reshape(b, 1, f)
    torch.addcmul(-mean_f * rstd_f, x, rstd_f, out=out)
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
