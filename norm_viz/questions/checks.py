"""The transformer questions as checks: train vs eval, padding, causal leakage, batch dependence, multi-device.

torch only. Each check runs `compute.normalize` (so it holds for every row of `specs.NORMS`, including
rows added later) and returns a frozen dataclass of measured numbers; nothing here is asserted by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.autograd.forward_ad as fwAD
from torch import Tensor, nn

from norm_viz.core.compute import NormResult, normalize
from norm_viz.core.data import lengths_mask as data_lengths_mask
from norm_viz.core.table import NORMS

TOL = 1e-9
"""Relative size below which a change counts as none (the checks run in float64, so unaffected cells move by 0)."""


# --- running normalize on any row of the table ---------------------------------------------------


def run(
    x: Tensor,
    key: str,
    *,
    groups: int | None = None,
    mask: Tensor | None = None,
    training: bool = True,
    running_mean: Tensor | None = None,
    running_var: Tensor | None = None,
) -> NormResult:
    """normalize() with only the arguments this norm takes (a mask only for masked norms, running stats only for batch-stat norms)."""
    spec = NORMS[key]
    kw: dict = {}
    if spec.uses_groups and groups is not None:
        kw["groups"] = groups
    if spec.masked and mask is not None:
        kw["mask"] = mask
    if spec.batch_stats:
        kw["training"] = training
        if running_mean is not None:
            kw["running_mean"] = running_mean
        if running_var is not None:
            kw["running_var"] = running_var
    return normalize(x, key, **kw)


def _try(fn: Callable[[], Tensor]) -> tuple[Tensor | None, str | None]:
    """(value, None), or (None, the message) when the norm cannot run on this input."""
    try:
        return fn(), None
    except ValueError as e:
        return None, str(e)


def _maxdiff(a: Tensor, b: Tensor) -> float:
    return float((a - b).abs().max()) if a.numel() else 0.0


def _changed(delta: float, scale: float) -> bool:
    return delta > TOL * max(1.0, scale)


def _keys(keys: Sequence[str] | None) -> list[str]:
    return list(NORMS) if keys is None else [k for k in keys if k in NORMS]


# --- 1. train vs eval: BatchNorm's running statistics ----------------------------------------------


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
            d_mean = max(d_mean, _maxdiff(rm, bn.running_mean))
            d_var = max(d_var, _maxdiff(rv, bn.running_var))
            d_keras = max(d_keras, _maxdiff(km, bn_keras.running_mean))
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
    for key in _keys(keys):
        spec = NORMS[key]

        def out(t: Tensor, training: bool, key: str = key) -> Tensor:
            return run(t, key, groups=groups, training=training, running_mean=rm, running_var=rv).output

        train, err = _try(lambda: out(x, True))
        evl, err_e = _try(lambda: out(x, False))
        if train is None or evl is None:
            rows.append(ModeRow(key, spec.label, None, None, None, None, None, err or err_e))
            continue
        alone_t, alone_err = _try(lambda: out(one, True))
        alone_e, _ = _try(lambda: out(one, False))
        inst = None
        if spec.batch_stats and alone_t is not None and "instancenorm" in NORMS:
            inst_out, _ = _try(lambda: normalize(one, "instancenorm").output)
            inst = None if inst_out is None else _maxdiff(alone_t, inst_out)
        rows.append(
            ModeRow(
                key,
                spec.label,
                _maxdiff(train, evl),
                None if alone_t is None else _maxdiff(alone_t, train[item : item + 1]),
                alone_err,
                None if alone_e is None else _maxdiff(alone_e, evl[item : item + 1]),
                inst,
            )
        )
    return ModeCheck(item, tuple(rows), torch_single_value_message(f))


# --- 2. padding ----------------------------------------------------------------------------------


def lengths_mask(lengths: Sequence[int], sequence: int) -> Tensor:
    """(B, S) bool, True for the first lengths[b] tokens of sequence b."""
    bad = [n for n in lengths if not 0 <= int(n) <= sequence]
    if bad:
        raise ValueError(f"each length must be between 0 and S = {sequence}, got {list(lengths)}")
    if not any(lengths):
        raise ValueError("every token is padding (all lengths are 0): give at least one sequence a length ≥ 1")
    return data_lengths_mask([int(n) for n in lengths], sequence)


@dataclass(frozen=True)
class PaddingRow:
    """One norm: how much padding moves the outputs of the real tokens."""

    key: str
    label: str
    max_diff: float | None
    """max |output at real tokens with pads − output at the same tokens without pads|."""
    pad_content_diff: float | None
    """max |Δ output at real tokens| when the pads hold other values than `pad_value`."""
    error: str | None = None

    @property
    def safe(self) -> bool | None:
        if self.max_diff is None:
            return None
        return not _changed(self.max_diff, 1.0) and not _changed(self.pad_content_diff or 0.0, 1.0)


@dataclass(frozen=True, eq=False)
class PaddingCheck:
    """Padding's effect on every norm, and BatchNorm's per-feature statistics with and without the pads."""

    lengths: tuple[int, ...]
    mask: Tensor
    pad_value: float
    bn_mean_padded: Tensor
    bn_var_padded: Tensor
    bn_mean_real: Tensor
    bn_var_real: Tensor
    rows: tuple[PaddingRow, ...]

    @property
    def pads(self) -> int:
        return int((~self.mask).sum())

    def row(self, key: str) -> PaddingRow:
        return next(r for r in self.rows if r.key == key)


def _without_pads(x: Tensor, key: str, mask: Tensor, groups: int | None) -> Tensor:
    """Outputs at the real tokens (in mask order) when the pads are not there at all."""
    spec = NORMS[key]
    if "batch" in spec.reduce:
        if "sequence" not in spec.reduce:
            raise ValueError(f"{spec.label} averages over the batch but not the sequence: unpadded lengths differ")
        packed = x[mask].unsqueeze(0)  # every real token in one sequence: the same statistics over the real tokens
        return run(packed, key, groups=groups).output[0]
    parts = [run(x[i : i + 1, : int(n)], key, groups=groups).output[0] for i, n in enumerate(mask.sum(1)) if n > 0]
    return torch.cat(parts)


def padding_effect(
    x: Tensor,
    lengths: Sequence[int],
    pad_value: float = 0.0,
    groups: int | None = None,
    keys: Sequence[str] | None = None,
    seed: int = 0,
) -> PaddingCheck:
    """Pad each sequence b after lengths[b] tokens with `pad_value` and measure every norm's real-token outputs."""
    b, s, f = x.shape
    if len(lengths) != b:
        raise ValueError(f"give one length per sequence: {b} numbers, got {len(lengths)}")
    mask = lengths_mask(lengths, s)
    x = x.double()
    padded = torch.where(mask[:, :, None], x, torch.full_like(x, float(pad_value)))
    g = torch.Generator().manual_seed(seed)
    other = torch.where(mask[:, :, None], x, 3.0 * torch.randn(x.shape, generator=g, dtype=torch.float64) + 1.0)
    with_pads = normalize(padded, "batchnorm") if b * s > 1 else None
    real_rows = x[mask]
    rows = []
    for key in _keys(keys):
        spec = NORMS[key]
        y, err = _try(lambda: run(padded, key, groups=groups, mask=mask).output)  # noqa: B023
        y2, _ = _try(lambda: run(other, key, groups=groups, mask=mask).output)  # noqa: B023
        ref, err_r = _try(lambda: _without_pads(x, key, mask, groups))  # noqa: B023
        if y is None or ref is None:
            rows.append(PaddingRow(key, spec.label, None, None, err or err_r))
            continue
        content = None if y2 is None else _maxdiff(y[mask], y2[mask])
        rows.append(PaddingRow(key, spec.label, _maxdiff(y[mask], ref), content))
    nan = torch.full((f,), float("nan"), dtype=torch.float64)
    return PaddingCheck(
        tuple(int(n) for n in lengths),
        mask,
        float(pad_value),
        nan if with_pads is None else with_pads.group_mean,  # type: ignore[arg-type]
        nan if with_pads is None else with_pads.group_var,
        real_rows.mean(0),
        real_rows.var(0, unbiased=False) if len(real_rows) else nan,
        tuple(rows),
    )


# --- 3. causal leakage ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class LeakRow:
    """Which outputs of one norm change when token (b, s) changes: delta[b', s'] = max over features."""

    key: str
    label: str
    delta: Tensor | None
    error: str | None = None

    def _max(self, sel: Tensor) -> float:
        return float(self.delta[sel].max()) if self.delta is not None and sel.any() else 0.0


@dataclass(frozen=True, eq=False)
class CausalCheck:
    """The effect of perturbing one token on every output token, for every norm."""

    token: tuple[int, int]
    method: str
    size: float
    rows: tuple[LeakRow, ...]

    def row(self, key: str) -> LeakRow:
        return next(r for r in self.rows if r.key == key)

    def _region(self, shape: tuple[int, int]) -> dict[str, Tensor]:
        b, s = shape
        tb, ts = self.token
        bb, sq = torch.meshgrid(torch.arange(b), torch.arange(s), indexing="ij")
        return {
            "past": sq < ts,
            "same_sequence": (bb == tb) & (sq != ts),
            "other_sequences": bb != tb,
            "self": (bb == tb) & (sq == ts),
        }

    def leaks(self, key: str) -> dict[str, float]:
        """Largest |Δ output| in the past (any sequence), elsewhere in the same sequence, in other sequences, at the token."""
        r = self.row(key)
        if r.delta is None:
            return {}
        return {name: r._max(sel) for name, sel in self._region(tuple(r.delta.shape)).items()}

    def causal_safe(self, key: str) -> bool | None:
        """True when no earlier position (in any sequence) moved."""
        lk = self.leaks(key)
        return None if not lk else not _changed(lk["past"], lk["self"])

    def batch_safe(self, key: str) -> bool | None:
        """True when no other sequence moved."""
        lk = self.leaks(key)
        return None if not lk else not _changed(lk["other_sequences"], lk["self"])


def _direction(features: int, seed: int) -> Tensor:
    """A fixed, seeded unit direction: adding a constant to all features would be invisible to centring norms."""
    g = torch.Generator().manual_seed(seed)
    v = torch.randn(features, generator=g, dtype=torch.float64)
    return v / v.norm()


def _jacobian_map(fn: Callable[[Tensor], Tensor], x: Tensor, tb: int, ts: int) -> Tensor:
    """max over (i, j) of |∂y[b', s', i] / ∂x[tb, ts, j]|: forward-mode AD, one pass per input feature j.

    Forward mode costs F passes; reverse mode (autograd.functional.jacobian) would cost one per output value.
    """
    f = x.shape[-1]
    out = torch.zeros(x.shape[:2], dtype=x.dtype)
    for j in range(f):
        tangent = torch.zeros_like(x)
        tangent[tb, ts, j] = 1.0
        with fwAD.dual_level():
            dy = fwAD.unpack_dual(fn(fwAD.make_dual(x, tangent))).tangent
        if dy is not None:
            out = torch.maximum(out, dy.abs().amax(-1))
    return out


def causal_leakage(
    x: Tensor,
    token: tuple[int, int],
    size: float = 1.0,
    method: str = "difference",
    groups: int | None = None,
    keys: Sequence[str] | None = None,
    seed: int = 0,
) -> CausalCheck:
    """Perturb token (b, s) and map, per norm, max |Δ output| over features at every (b', s').

    method="difference": add `size` times a seeded unit vector to the token and subtract the outputs.
    method="jacobian": the exact derivative (forward-mode AD), max |∂y[b', s', i] / ∂x[b, s, j]| over i, j (size is ignored).
    """
    b, s, f = x.shape
    tb, ts = token
    if not (0 <= tb < b and 0 <= ts < s):
        raise ValueError(f"token must be (b, s) with 0 ≤ b < {b} and 0 ≤ s < {s}, got {token}")
    if method not in ("difference", "jacobian"):
        raise ValueError(f"method must be 'difference' or 'jacobian', got {method!r}")
    x = x.double()
    v = _direction(f, seed)
    rows = []
    for key in _keys(keys):
        spec = NORMS[key]

        def f_out(t: Tensor, key: str = key) -> Tensor:
            return run(t, key, groups=groups).output

        base, err = _try(lambda: f_out(x))
        if base is None:
            rows.append(LeakRow(key, spec.label, None, err))
            continue
        if method == "difference":
            bumped = x.clone()
            bumped[tb, ts] += size * v
            y2, err = _try(lambda: f_out(bumped))  # noqa: B023
            delta = None if y2 is None else (y2 - base).abs().amax(-1)
        else:
            try:
                delta, err = _jacobian_map(f_out, x, tb, ts), None
            except (ValueError, RuntimeError, NotImplementedError) as e:
                delta, err = None, f"no forward-mode derivative for {spec.label}: {e}"
        rows.append(LeakRow(key, spec.label, None if delta is None else delta.detach(), err))
    return CausalCheck((tb, ts), method, float(size), tuple(rows))


# --- 4. batch dependence -------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class DependenceCheck:
    """How much sample `target`'s output moves when sample `changed` is rescaled by each factor, per norm."""

    target: int
    changed: int
    factors: tuple[float, ...]
    deltas: dict[str, tuple[float, ...] | None]
    """key -> max |Δ output of the target| for each factor (None where the norm cannot run)."""
    errors: dict[str, str]

    def depends(self, key: str) -> bool | None:
        d = self.deltas.get(key)
        return None if d is None else any(_changed(v, 1.0) for v in d)

    def largest(self, key: str) -> float | None:
        d = self.deltas.get(key)
        return None if d is None else max(d)


def batch_dependence(
    x: Tensor,
    target: int = 0,
    changed: int = 1,
    factors: Sequence[float] = (0.0, 0.5, 2.0, 5.0, 10.0),
    groups: int | None = None,
    keys: Sequence[str] | None = None,
) -> DependenceCheck:
    """Replace sample `changed` by factor × itself (0 = zeros) and measure the change of sample `target`'s output."""
    b = x.shape[0]
    if b < 2:
        raise ValueError(f"batch dependence needs at least 2 sequences in the batch, got B = {b}")
    if not (0 <= target < b and 0 <= changed < b) or target == changed:
        raise ValueError(
            f"target and changed must be two different batch indices in 0..{b - 1}, got {target}, {changed}"
        )
    x = x.double()
    deltas: dict[str, tuple[float, ...] | None] = {}
    errors: dict[str, str] = {}
    for key in _keys(keys):
        base, err = _try(lambda: run(x, key, groups=groups).output[target])  # noqa: B023
        out = []
        for a in factors:
            xc = x.clone()
            xc[changed] *= a
            y, err2 = _try(lambda: run(xc, key, groups=groups).output[target])  # noqa: B023
            if base is None or y is None:
                err = err or err2
                break
            out.append(_maxdiff(y, base))
        deltas[key] = tuple(out) if len(out) == len(factors) else None
        if deltas[key] is None:
            errors[key] = err or "cannot run"
    return DependenceCheck(target, changed, tuple(float(a) for a in factors), deltas, errors)


# --- 5. multi-device training --------------------------------------------------------------------


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
        return None if self.local_vs_global is None else _changed(self.local_vs_global, 1.0)


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


def split_batch(x: Tensor, devices: int) -> list[Tensor]:
    """The batch dimension cut into `devices` equal shards; ValueError lists the valid device counts."""
    b = x.shape[0]
    if isinstance(devices, bool) or not isinstance(devices, int) or devices < 1 or b % devices:
        valid = ", ".join(str(k) for k in range(1, b + 1) if b % k == 0)
        raise ValueError(f"K = {devices} devices cannot share a batch of B = {b} equally; valid K: {valid}")
    return list(x.split(b // devices))


def sync_batchnorm(shards: Sequence[Tensor], eps: float = 1e-5) -> tuple[Tensor, Tensor, Tensor]:
    """SyncBatchNorm simulated: each shard's (mean, var, count) gathered and combined by count -> (output, mean, var)."""
    f = shards[0].shape[-1]
    counts = torch.tensor([sh.shape[0] * sh.shape[1] for sh in shards], dtype=torch.float64)
    means = torch.stack([sh.reshape(-1, f).mean(0) for sh in shards])
    vars_ = torch.stack([sh.reshape(-1, f).var(0, unbiased=False) for sh in shards])
    n = counts.sum()
    w = (counts / n)[:, None]
    mean = (w * means).sum(0)
    # law of total variance: within-shard variance plus the spread of the shard means
    var = (w * (vars_ + (means - mean).square())).sum(0)
    out = torch.cat([(sh - mean) / torch.sqrt(var + eps) for sh in shards])
    return out, mean, var


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
    for key in _keys(keys):
        spec = NORMS[key]
        g, err = _try(lambda: run(x, key, groups=groups))  # noqa: B023
        parts = [_try(lambda sh=sh: run(sh, key, groups=groups).output) for sh in shards]  # noqa: B023
        bad = next((e for _, e in parts if e), None)
        if g is None or bad:
            rows.append(CommRow(key, spec.label, None, 0, 0, 0, 0, err or bad))
            continue
        diff = _maxdiff(torch.cat([p for p, _ in parts]), g.output)  # type: ignore[misc]
        shared = "batch" in spec.reduce and _changed(diff, 1.0)
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
        _maxdiff(sync_out, ref),
        _maxdiff(local_out, glob.output),
        tuple(rows),
    )


# --- 6. the property table -----------------------------------------------------------------------


@dataclass(frozen=True)
class Properties:
    """One norm's answers to the transformer questions, each measured on the current tensor (None: not measurable)."""

    key: str
    label: str
    batch_independent: bool | None
    causal_safe: bool | None
    train_eval_same: bool | None
    padding_safe: bool | None
    needs_sync: bool | None
    statistics: int | None
    values_per_statistic: int | None
    notes: tuple[str, ...] = ()


def default_lengths(batch: int, sequence: int) -> tuple[int, ...]:
    """A padding pattern with pads whenever S ≥ 2: even sequences keep all S tokens, odd ones about half.

    Kept sequences hold at least 2 tokens when S ≥ 3, so per-sequence norms still have a variance without the pads.
    """
    short = max(2, (sequence + 1) // 2) if sequence >= 3 else 1
    return tuple(sequence if i % 2 == 0 and batch > 1 else short for i in range(batch))


def property_table(x: Tensor, groups: int | None = None, keys: Sequence[str] | None = None) -> tuple[Properties, ...]:
    """Run every check above on x and tabulate the answers per norm."""
    b, s, _ = x.shape
    ks = _keys(keys)
    notes: dict[str, list[str]] = {k: [] for k in ks}
    dep = batch_dependence(x, 0, 1, groups=groups, keys=ks) if b >= 2 else None
    cz = causal_leakage(x, (0, s - 1), groups=groups, keys=ks) if s >= 2 else None
    # running statistics after one training step on this tensor, so eval mode uses numbers that differ from the batch's
    rm = rv = None
    if b * s >= 2:
        first = normalize(x.double(), "batchnorm")
        rm, rv = first.running_mean, first.running_var
    mode = train_vs_eval(x, 0, rm, rv, groups=groups, keys=ks)
    pad = padding_effect(x, default_lengths(b, s), groups=groups, keys=ks) if s >= 2 and b * s >= 2 else None
    k_dev = next((k for k in range(2, b + 1) if b % k == 0 and (b // k) * s >= 2), None)
    md = multi_device(x, k_dev, groups=groups, keys=ks) if k_dev else None
    out = []
    for key in ks:
        spec = NORMS[key]
        r, err = _try(lambda: run(x.double(), key, groups=groups))  # noqa: B023
        if err:
            notes[key].append(err)
        m = mode.row(key)
        te = None if m.train_eval_diff is None else not _changed(m.train_eval_diff, 1.0)
        out.append(
            Properties(
                key,
                spec.label,
                None if dep is None or dep.depends(key) is None else not dep.depends(key),
                None if cz is None else cz.causal_safe(key),
                te,
                None if pad is None else pad.row(key).safe,
                None if md is None else md.row(key).needs_sync,
                None if r is None else r.n_groups,
                None if r is None else r.group_size,
                tuple(notes[key]),
            )
        )
    return tuple(out)
