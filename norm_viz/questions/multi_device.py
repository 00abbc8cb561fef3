"""Multi-device training: per-device BatchNorm vs SyncBatchNorm vs the whole batch, and what each norm must send.

torch only; SyncBatchNorm itself lives in norm_viz.core.distributed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import torch
from torch import Tensor, nn

from norm_viz.core.compute import normalize
from norm_viz.core.distributed import split_batch, sync_batchnorm
from norm_viz.core.table import NORMS
from norm_viz.questions.common import attempt, maxdiff, run, significant, table_keys


@dataclass(frozen=True)
class CommRow:
    """One norm split across devices: does per-device normalization differ from the global one, and what to send."""

    key: str
    label: str
    local_vs_global: float | None
    """max |output with statistics from each device's shard − output with statistics from the whole batch|."""
    statistics: int
    """How many statistics the global computation shares across the batch (0 when it need not)."""
    values_per_device: int
    """Numbers each device contributes per forward step to stay exact: 2 per statistic (mean, 1/std) + a count."""
    bytes_per_device: int
    values_backward: int = 0
    """Numbers each device all-reduces in the backward pass: two sums per statistic (as torch.nn.SyncBatchNorm)."""
    error: str | None = None

    @property
    def needs_sync(self) -> bool | None:
        return None if self.local_vs_global is None else significant(self.local_vs_global, 1.0)


@dataclass(frozen=True, eq=False)
class MultiDeviceCheck:
    """The batch split over K devices: per-device BN statistics, SyncBN, and what every norm must communicate."""

    devices: int
    device_mean: Tensor
    """(K, F) BatchNorm mean each device computes from its own shard."""
    device_var: Tensor
    global_mean: Tensor
    global_var: Tensor
    syncbn_vs_global: float
    """max |SyncBN output (shard statistics combined by count) − nn.BatchNorm1d on the whole batch|."""
    local_bn_vs_global: float
    rows: tuple[CommRow, ...]

    def row(self, key: str) -> CommRow:
        return next(r for r in self.rows if r.key == key)


def _output(x: Tensor, key: str, groups: int | None) -> Tensor:
    return run(x, key, groups=groups).output


def multi_device(
    x: Tensor, devices: int, groups: int | None = None, keys: Sequence[str] | None = None, bytes_per_value: int = 4
) -> MultiDeviceCheck:
    """Split x's batch over `devices` devices; compare per-device, synchronized and global statistics for every norm."""
    x = x.double()
    b, s, f = x.shape
    shards = split_batch(x, devices)
    n_local = (b // devices) * s
    if n_local < 2:
        raise ValueError(
            f"each device holds B/K × S = {n_local} value per feature; BatchNorm's training mode needs at least 2 "
            f"(use fewer devices or longer sequences)"
        )
    glob = normalize(x, "batchnorm")
    assert glob.group_mean is not None
    local = [normalize(sh, "batchnorm") for sh in shards]
    sync_out, _, _ = sync_batchnorm(shards)
    with torch.no_grad():
        ref = nn.BatchNorm1d(f, dtype=torch.float64).train()(x.transpose(1, 2)).transpose(1, 2)
    local_out = torch.cat([r.output for r in local])
    rows = []
    for key in table_keys(keys):
        spec = NORMS[key]
        g, err = attempt(lambda: run(x, key, groups=groups))  # noqa: B023
        parts = [attempt(partial(_output, sh, key, groups)) for sh in shards]
        bad = next((e for _, e in parts if e), None)
        if g is None or bad:
            rows.append(CommRow(key, spec.label, None, 0, 0, 0, 0, err or bad))
            continue
        diff = maxdiff(torch.cat([p for p, _ in parts if p is not None]), g.output)
        shared = "batch" in spec.reduce and significant(diff, 1.0)
        n_stats = g.n_groups if shared else 0
        per_stat = 2 if spec.centered else 1
        values = n_stats * per_stat + 1 if shared else 0
        rows.append(CommRow(key, spec.label, diff, n_stats, values, values * bytes_per_value, 2 * n_stats))
    return MultiDeviceCheck(
        devices,
        torch.stack([r.group_mean for r in local]),  # type: ignore[misc]
        torch.stack([r.group_var for r in local]),
        glob.group_mean,
        glob.group_var,
        maxdiff(sync_out, ref),
        maxdiff(local_out, glob.output),
        tuple(rows),
    )
