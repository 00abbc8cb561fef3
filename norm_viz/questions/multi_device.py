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
from norm_viz.core.numbers import fmt_delta, tex
from norm_viz.core.table import NORMS, valid_group_counts
from norm_viz.questions.common import TOL, attempt, maxdiff, names, run, significant, table_keys


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


# --- the page: one call from the controls to everything it shows -----------------------------------

BYTES = {"float32": 4, "bfloat16": 2, "float16": 2, "float64": 8}
"""Bytes per exchanged value, by the dtype of the statistics."""


@dataclass(frozen=True)
class MultiDeviceConfig:
    """The Multi-device page's controls, as primitives."""

    devices: int = 2
    dtype: str = "float32"
    """The dtype of the exchanged statistics (a key of BYTES)."""


@dataclass(frozen=True)
class Metric:
    """One headline number: its label, its value as text, and the small text under it."""

    label: str
    value: str
    note: str


@dataclass(frozen=True, eq=False)
class MultiDeviceView:
    """Everything the Multi-device page shows, computed from its tensor and config."""

    check: MultiDeviceCheck | None
    error: str | None
    single: str | None
    """A warning when K = 1 splits nothing."""
    metrics: tuple[Metric, ...]
    verified: bool
    """Whether SyncBN matches nn.BatchNorm1d on the whole batch."""
    verification: str
    latex: tuple[str, ...]
    table: tuple[dict[str, str | int], ...]
    takeaway: str | None


def default_devices(batch: int) -> int:
    """Two devices when they can share the batch equally, else one."""
    return 2 if batch % 2 == 0 and batch > 1 else 1


def devices_label(batch: int) -> str:
    """The device-count control's label, listing the valid counts (the divisors of B)."""
    return f"devices K (must divide B = {batch}: {', '.join(map(str, valid_group_counts(batch)))})"


def multi_device_takeaway(check: MultiDeviceCheck) -> str:
    """Which norms must communicate across devices, how much, and which need nothing, from the numbers."""
    k = check.devices
    sync = [r for r in check.rows if r.needs_sync]
    free = [r.label for r in check.rows if r.needs_sync is False]
    if k == 1:
        return "With one device nothing is split, so no norm needs to communicate; choose K ≥ 2."
    if sync:
        return (
            f"Split over {k} devices, {', '.join(r.label for r in sync)} normalize differently per device (up to "
            f"{max(r.local_vs_global or 0.0 for r in sync):.3g}) unless each device sends {sync[0].values_per_device} values "
            f"({sync[0].bytes_per_device} bytes) per step, after which SyncBN matches the global batch to "
            f"{check.syncbn_vs_global:.0e}; {names(free)} need no communication at all."
        )
    return f"Split over {k} devices, no norm's output changes: none needs communication on this tensor."


def _table_row(r: CommRow, dtype: str) -> dict[str, str | int]:
    return {
        "norm": r.label,
        "needs sync?": {True: "yes", False: "no", None: "—"}[r.needs_sync],
        "max |Δ| per-device vs global": fmt_delta(r.local_vs_global),
        "statistics shared across devices": r.statistics,
        "values sent (forward)": r.values_per_device,
        "values (backward)": r.values_backward,
        f"bytes sent ({dtype})": r.bytes_per_device,
        "note": r.error or "",
    }


def multi_device_view(x: Tensor, cfg: MultiDeviceConfig) -> MultiDeviceView:
    """Split x's batch over K devices and gather every number, table row and sentence the page shows."""
    b, s, f = x.shape
    k = cfg.devices
    try:
        check = multi_device(x, k, bytes_per_value=BYTES[cfg.dtype])
    except ValueError as e:
        return MultiDeviceView(None, f"{e}.", None, (), False, "", (), (), None)
    single = None
    if k == 1:
        single = "With K = 1 there is a single device: every norm sees the whole batch. Choose K ≥ 2 to split it."
    metrics = [
        Metric("per-device BN vs whole-batch BN", f"{check.local_bn_vs_global:.3g}", "max |Δ output|"),
        Metric("SyncBN vs whole-batch nn.BatchNorm1d", f"{check.syncbn_vs_global:.1e}", "max |Δ output|"),
    ]
    ln = next((r for r in check.rows if r.key == "layernorm"), None)
    if ln is not None:
        metrics.append(
            Metric(
                "per-device LN vs whole-batch LN", fmt_delta(ln.local_vs_global), f"{ln.values_per_device} values sent"
            )
        )
    spread = float((check.device_mean - check.global_mean).abs().max())
    verified = check.syncbn_vs_global < TOL
    verification = (
        "SyncBN (each device's mean, variance and count combined by count) equals "
        f"`nn.BatchNorm1d({f})` on the whole batch: max |Δ| = {check.syncbn_vs_global:.1e}. "
        f"The device means differ from the whole batch's by up to {spread:.3g}."
    )
    w = b // k * s / (b * s)
    terms = " + ".join(rf"{w:.3g}\cdot{tex(float(m), paren=True)}" for m in check.device_mean[:, 0])
    latex = (
        rf"\mu_0 = {terms} = {tex(float(check.global_mean[0]))}",
        r"\mu = \sum_d \tfrac{n_d}{n}\,\mu_d, \qquad \sigma^2 = \sum_d \tfrac{n_d}{n}\left(\sigma_d^2 + (\mu_d - \mu)^2\right),"
        rf"\qquad n_d = \tfrac{{B}}{{K}}\cdot S = {b // k}\cdot {s} = {b // k * s}",
    )
    table = tuple(_table_row(r, cfg.dtype) for r in check.rows)
    return MultiDeviceView(
        check, None, single, tuple(metrics), verified, verification, latex, table, multi_device_takeaway(check)
    )
