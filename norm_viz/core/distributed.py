"""Data-parallel training simulated on one machine: a batch cut into device shards, and SyncBatchNorm.

torch only. SyncBatchNorm (torch.nn.SyncBatchNorm) gathers each shard's per-feature mean, variance and count and
combines them by count, so that every device normalizes with the whole batch's statistics.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from norm_viz.core.table import valid_group_counts


def split_batch(x: Tensor, devices: int) -> list[Tensor]:
    """The batch dimension cut into `devices` equal shards; ValueError lists the valid device counts."""
    b = x.shape[0]
    if isinstance(devices, bool) or not isinstance(devices, int) or devices < 1 or b % devices:
        valid = ", ".join(map(str, valid_group_counts(b)))  # the divisors of B
        raise ValueError(f"K = {devices} devices cannot share a batch of B = {b} equally; valid K: {valid}")
    return list(x.split(b // devices))


def sync_batchnorm(shards: Sequence[Tensor], eps: float = 1e-5) -> tuple[Tensor, Tensor, Tensor]:
    """SyncBatchNorm on (B_d, S, F) shards (sizes may differ): -> (output of every shard concatenated, mean, var).

    Each shard's (mean, biased var, count) is gathered and combined by count; the variance by the law of total
    variance (within-shard variance plus the spread of the shard means), which stays exact where Σx² − n·μ² cancels.
    """
    if not shards:
        raise ValueError("SyncBatchNorm needs at least one shard")
    f = shards[0].shape[-1]
    dtype = shards[0].dtype
    counts = torch.tensor([sh.shape[0] * sh.shape[1] for sh in shards], dtype=dtype)
    if float(counts.sum()) == 0:
        raise ValueError("every shard is empty: SyncBatchNorm needs at least one value per feature")
    flat = [sh.reshape(-1, f) for sh in shards]
    zero = torch.zeros(f, dtype=dtype)
    means = torch.stack([t.mean(0) if len(t) else zero for t in flat])
    vars_ = torch.stack([t.var(0, unbiased=False) if len(t) else zero for t in flat])
    w = (counts / counts.sum())[:, None]
    mean = (w * means).sum(0)
    var = (w * (vars_ + (means - mean).square())).sum(0)
    out = torch.cat([(sh - mean) / torch.sqrt(var + eps) for sh in shards])
    return out, mean, var
