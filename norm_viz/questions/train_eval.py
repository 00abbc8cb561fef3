"""Train vs eval: BatchNorm's running statistics (PyTorch and Keras conventions), the two modes, batch size 1.

torch only; every number is checked against torch.nn.BatchNorm1d.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from norm_viz.core.compute import normalize
from norm_viz.core.table import NORMS
from norm_viz.questions.common import attempt, maxdiff, run, table_keys


def drifting_batches(steps: int, batch: int, sequence: int, features: int, drift: float = 0.2, seed: int = 0) -> Tensor:
    """(steps, B, S, F) float64 batches whose mean grows by `drift` and whose spread by `drift`/2 per step."""
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    g = torch.Generator().manual_seed(int(seed))
    offset = torch.randn(features, generator=g, dtype=torch.float64)
    t = torch.arange(steps, dtype=torch.float64).view(steps, 1, 1, 1)
    noise = torch.randn(steps, batch, sequence, features, generator=g, dtype=torch.float64)
    return offset + drift * t + (1 + 0.5 * drift * t) * noise


@dataclass(frozen=True, eq=False)
class RunningStats:
    """Per-step batch statistics and the running estimates two frameworks keep (all (steps, F))."""

    batch_mean: Tensor
    batch_var: Tensor
    """Biased variance of each step's batch (what training-mode BN divides by)."""
    torch_mean: Tensor
    torch_var: Tensor
    """PyTorch: running ← (1 − m)·running + m·new, with m = momentum and the unbiased batch variance."""
    keras_mean: Tensor
    keras_var: Tensor
    """Keras: moving ← k·moving + (1 − k)·new, with k = keras_momentum and the biased batch variance."""
    momentum: float
    keras_momentum: float
    values_per_statistic: int
    nn_mean_diff: float
    """max |our running_mean − nn.BatchNorm1d(momentum=m).running_mean| over every step."""
    nn_var_diff: float
    keras_nn_mean_diff: float
    """max |Keras moving mean − nn.BatchNorm1d(momentum=1 − k).running_mean|: the same rule for the mean."""

    @property
    def steps(self) -> int:
        return int(self.batch_mean.shape[0])


def simulate_running_stats(batches: Tensor, momentum: float = 0.1, keras_momentum: float = 0.99) -> RunningStats:
    """Run BatchNorm's running-statistics updates over (steps, B, S, F) batches; verify against nn.BatchNorm1d each step."""
    if batches.dim() != 4:
        raise ValueError(f"expected (steps, batch, sequence, features) batches, got shape {tuple(batches.shape)}")
    if not 0 < momentum <= 1 or not 0 <= keras_momentum < 1:
        raise ValueError(f"need 0 < momentum ≤ 1 and 0 ≤ keras_momentum < 1, got {momentum} and {keras_momentum}")
    steps, b, s, f = batches.shape
    n = b * s
    if n < 2:
        raise ValueError(
            f"each batch has B × S = {n} value per feature; BatchNorm's training mode needs at least 2 "
            "(the unbiased variance divides by n − 1 = 0)"
        )
    x = batches.double()
    bn = nn.BatchNorm1d(f, momentum=momentum, dtype=torch.float64).train()
    bn_keras = nn.BatchNorm1d(f, momentum=1 - keras_momentum, dtype=torch.float64).train()
    rm, rv = torch.zeros(f, dtype=torch.float64), torch.ones(f, dtype=torch.float64)
    km, kv = rm.clone(), rv.clone()
    rows: dict[str, list[Tensor]] = {k: [] for k in ("bm", "bv", "tm", "tv", "km", "kv")}
    d_mean = d_var = d_keras = 0.0
    with torch.no_grad():
        for t in range(steps):
            r = normalize(x[t], "batchnorm", running_mean=rm, running_var=rv, momentum=momentum)
            assert r.group_mean is not None and r.running_mean is not None and r.running_var is not None
            rm, rv = r.running_mean, r.running_var
            km = keras_momentum * km + (1 - keras_momentum) * r.group_mean
            kv = keras_momentum * kv + (1 - keras_momentum) * r.group_var
            for k, v in zip(rows, (r.group_mean, r.group_var, rm, rv, km, kv), strict=True):
                rows[k].append(v)
            bn(x[t].transpose(1, 2))
            bn_keras(x[t].transpose(1, 2))
            assert bn.running_mean is not None and bn.running_var is not None and bn_keras.running_mean is not None
            d_mean = max(d_mean, maxdiff(rm, bn.running_mean))
            d_var = max(d_var, maxdiff(rv, bn.running_var))
            d_keras = max(d_keras, maxdiff(km, bn_keras.running_mean))
    st = {k: torch.stack(v) for k, v in rows.items()}
    return RunningStats(
        st["bm"], st["bv"], st["tm"], st["tv"], st["km"], st["kv"], momentum, keras_momentum, n, d_mean, d_var, d_keras
    )


@dataclass(frozen=True)
class ModeRow:
    """One norm in training and eval mode, in the batch and on one example alone."""

    key: str
    label: str
    train_eval_diff: float | None
    """max |training-mode output − eval-mode output| on the whole batch."""
    alone_train_diff: float | None
    """max |the example's output when run alone (training mode) − its output inside the batch|."""
    alone_train_error: str | None
    """Why training mode cannot run on the example alone, if it cannot."""
    alone_eval_diff: float | None
    """The same comparison in eval mode."""
    alone_vs_instancenorm: float | None
    """For batch-statistics norms run alone: max |output − InstanceNorm of that sequence| (≈ 0: it became InstanceNorm)."""
    error: str | None = None


@dataclass(frozen=True)
class ModeCheck:
    """Train vs eval and batch size 1, for every norm of the table."""

    item: int
    rows: tuple[ModeRow, ...]
    torch_single_value_error: str
    """What torch.nn.BatchNorm1d itself says when training on one value per feature."""

    def row(self, key: str) -> ModeRow:
        return next(r for r in self.rows if r.key == key)


def torch_single_value_message(features: int = 1) -> str:
    """The error nn.BatchNorm1d raises in training mode on a batch with one value per feature."""
    try:
        nn.BatchNorm1d(features).train()(torch.zeros(1, features, 1))
    except ValueError as e:
        return str(e)
    return ""


def train_vs_eval(
    x: Tensor,
    item: int = 0,
    running_mean: Tensor | None = None,
    running_var: Tensor | None = None,
    groups: int | None = None,
    keys: Sequence[str] | None = None,
) -> ModeCheck:
    """Every norm on x in training and eval mode, and on example `item` alone (batch size 1) in both modes."""
    b, _s, f = x.shape
    if not 0 <= item < b:
        raise ValueError(f"item must be a batch index 0..{b - 1}, got {item}")
    x = x.double()
    rm = None if running_mean is None else torch.as_tensor(running_mean, dtype=torch.float64)
    rv = None if running_var is None else torch.as_tensor(running_var, dtype=torch.float64)
    one = x[item : item + 1]
    rows = []
    for key in table_keys(keys):
        spec = NORMS[key]

        def out(t: Tensor, training: bool, key: str = key) -> Tensor:
            return run(t, key, groups=groups, training=training, running_mean=rm, running_var=rv).output

        train, err = attempt(lambda: out(x, True))
        evl, err_e = attempt(lambda: out(x, False))
        if train is None or evl is None:
            rows.append(ModeRow(key, spec.label, None, None, None, None, None, err or err_e))
            continue
        alone_t, alone_err = attempt(lambda: out(one, True))
        alone_e, _ = attempt(lambda: out(one, False))
        inst = None
        if spec.batch_stats and alone_t is not None and "instancenorm" in NORMS:
            inst_out, _ = attempt(lambda: normalize(one, "instancenorm").output)
            inst = None if inst_out is None else maxdiff(alone_t, inst_out)
        rows.append(
            ModeRow(
                key,
                spec.label,
                maxdiff(train, evl),
                None if alone_t is None else maxdiff(alone_t, train[item : item + 1]),
                alone_err,
                None if alone_e is None else maxdiff(alone_e, evl[item : item + 1]),
                inst,
            )
        )
    return ModeCheck(item, tuple(rows), torch_single_value_message(f))
