"""Train vs eval: BatchNorm's running statistics (PyTorch and Keras conventions), the two modes, batch size 1.

torch only; every number is checked against torch.nn.BatchNorm1d.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from norm_viz.core.compute import normalize
from norm_viz.core.numbers import fmt_delta, tex
from norm_viz.core.table import NORMS
from norm_viz.questions.common import TOL, Bars, attempt, maxdiff, names, run, table_keys


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


# --- the page: one call from the controls to everything it shows -----------------------------------


@dataclass(frozen=True)
class TrainEvalConfig:
    """The Train vs eval page's controls, as primitives (the cache key with the tensor)."""

    steps: int = 30
    drift: float = 0.2
    momentum: float = 0.1
    keras_momentum: float = 0.99
    feature: int = 0
    """The feature whose running statistics are plotted and derived."""
    item: int = 0
    """The example run alone (batch size 1)."""
    seed: int = 0
    """Seed of the simulated training batches (the sidebar's seed for generated tensors)."""


@dataclass(frozen=True, eq=False)
class TrainEvalView:
    """Everything the Train vs eval page shows, computed from its tensor and config."""

    running: RunningStats | None
    """The simulated training run (None when it cannot run: B × S < 2)."""
    running_error: str | None
    verified: bool
    """Whether the running statistics match nn.BatchNorm1d step by step."""
    verification: str
    last_step: str
    """The heading of the last step's derivation."""
    latex: tuple[str, ...]
    """The last step's update rules with the numbers plugged in (PyTorch mean, PyTorch variance, Keras)."""
    lag: str
    modes_caption: str
    modes: ModeCheck
    mode_bars: Bars
    mode_warnings: tuple[str, ...]
    alone_level: str | None
    """'error' when training mode fails on one example alone, 'warning' when it silently becomes InstanceNorm."""
    alone_message: str
    alone_bars: Bars
    eval_alone: str
    takeaway: str


def last_step_latex(rs: RunningStats, feature: int) -> tuple[str, str, str]:
    """The last step's update of PyTorch's running mean and variance and of Keras's, with the numbers plugged in."""
    n, last = rs.values_per_statistic, rs.steps - 1
    prev_m = float(rs.torch_mean[last - 1, feature]) if last else 0.0
    prev_v = float(rs.torch_var[last - 1, feature]) if last else 1.0
    m, mk = rs.momentum, rs.keras_momentum
    return (
        rf"\text{{PyTorch: }} \hat\mu \leftarrow (1-{m:g})\,{tex(prev_m, paren=True)} + {m:g}\cdot"
        rf"{tex(float(rs.batch_mean[last, feature]), paren=True)} = {tex(float(rs.torch_mean[last, feature]))}",
        rf"\hat\sigma^2 \leftarrow (1-{m:g})\,{tex(prev_v)} + {m:g}\cdot \underbrace{{"
        rf"{tex(float(rs.batch_var[last, feature]))} \cdot \tfrac{{{n}}}{{{n - 1}}}}}_{{\text{{unbiased}}}}"
        rf" = {tex(float(rs.torch_var[last, feature]))}",
        rf"\text{{Keras: }} \hat\mu \leftarrow {mk:g}\cdot \hat\mu_{{\text{{old}}}} + {1 - mk:.3g}\cdot \mu_{{\text{{batch}}}}"
        rf" = {tex(float(rs.keras_mean[last, feature]))}, \quad \hat\sigma^2 = {tex(float(rs.keras_var[last, feature]))}"
        r"\ (\text{biased batch variance})",
    )


def lag_text(rs: RunningStats) -> str:
    """How far the running means trail the last batch, and how many steps each average remembers."""
    gap_t = float((rs.torch_mean[-1] - rs.batch_mean[-1]).abs().max())
    gap_k = float((rs.keras_mean[-1] - rs.batch_mean[-1]).abs().max())
    m, mk = rs.momentum, rs.keras_momentum
    return (
        f"After {rs.steps} steps the running mean trails the last batch's mean by up to **{gap_t:.3g}** (PyTorch) "
        f"and **{gap_k:.3g}** (Keras): an exponential average with weight {m:g} on the new value remembers about "
        f"{1 / m:.0f} steps, Keras's {1 - mk:.3g} about {1 / max(1 - mk, 1e-9):.0f}."
    )


def verification_text(rs: RunningStats, features: int) -> tuple[bool, str]:
    """(matches, the sentence) for the running statistics checked against nn.BatchNorm1d step by step."""
    ok = max(rs.nn_mean_diff, rs.nn_var_diff) < 1e-9
    return ok, (
        f"Checked against `nn.BatchNorm1d({features}, momentum={rs.momentum:g})` step by step: "
        f"max |Δ running_mean| = {rs.nn_mean_diff:.1e}, max |Δ running_var| = {rs.nn_var_diff:.1e}. "
        f"The Keras rule's mean equals `nn.BatchNorm1d(momentum={1 - rs.keras_momentum:.3g})`: max |Δ| = {rs.keras_nn_mean_diff:.1e}."
    )


def alone_message(mc: ModeCheck, sequence: int) -> tuple[str | None, str]:
    """What BatchNorm does in training mode on one example alone: ('error', why it fails), ('warning', what it became)."""
    bn = next((r for r in mc.rows if r.key == "batchnorm"), None)
    item, s = mc.item, sequence
    if bn is not None and bn.alone_train_error:
        return "error", (
            f"**BatchNorm in training mode on example {item} alone fails**: it has B × S = 1 × {s} = {s} value per feature. "
            f"PyTorch says: *{mc.torch_single_value_error}*. Why: with one value, the batch mean μ equals that value, so "
            r"x − μ = 0 and the output would be β for every input, whatever it is; and the running variance would need the "
            "unbiased variance, which divides by n − 1 = 0."
        )
    if bn is not None and bn.alone_train_diff is not None:
        return "warning", (
            f"**BatchNorm in training mode on example {item} alone does not fail, it silently changes meaning**: with B = 1 "
            f"it averages over the {s} tokens of that one sequence, which is InstanceNorm (max |Δ| vs InstanceNorm = "
            f"{fmt_delta(bn.alone_vs_instancenorm)}). Its output moves by {fmt_delta(bn.alone_train_diff)} compared "
            "with the same example inside the batch, and each token now depends on the later tokens of its sentence."
        )
    return None, ""


def train_eval_takeaway(rows: Sequence[ModeRow]) -> str:
    """Which norms give different outputs in training and eval mode (and which cannot train at all), from the numbers."""
    mode_dependent = [r.label for r in rows if r.train_eval_diff is not None and r.train_eval_diff > TOL]
    same = [r.label for r in rows if r.train_eval_diff is not None and r.train_eval_diff <= TOL]
    if mode_dependent:
        worst = max((r for r in rows if r.train_eval_diff is not None), key=lambda r: r.train_eval_diff or 0.0)
        takeaway = (
            f"On this tensor {', '.join(mode_dependent)} give different outputs in training and eval mode "
            f"(up to {worst.train_eval_diff:.3g} for {worst.label}), while {names(same)} give identical outputs "
            "in both modes: only norms with batch statistics carry a train/eval gap."
        )
    else:
        takeaway = (
            "On this tensor every norm that runs gives the same output in training and eval mode: the running statistics "
            "match this batch's own."
        )
    cannot = [r.label for r in rows if r.error]
    if cannot:
        takeaway += f" {', '.join(cannot)} cannot even run in training mode here: one value per statistic."
    return takeaway


def train_eval_view(x: Tensor, cfg: TrainEvalConfig) -> TrainEvalView:
    """Simulate training on drifting batches of x's shape, then compare the modes on x and on one example alone."""
    b, s, f = x.shape
    feature = min(max(cfg.feature, 0), f - 1)
    rs: RunningStats | None = None
    error = None
    try:
        batches = drifting_batches(cfg.steps, b, s, f, cfg.drift, cfg.seed)
        rs = simulate_running_stats(batches, cfg.momentum, cfg.keras_momentum)
    except ValueError as e:
        error = f"The training simulation cannot run: {e}. Set B × S ≥ 2 in the sidebar (e.g. B = 2)."
    verified, verification, lag = False, "", ""
    latex: tuple[str, ...] = ()
    if rs is not None:
        verified, verification = verification_text(rs, f)
        latex, lag = last_step_latex(rs, feature), lag_text(rs)
    mc = train_vs_eval(
        x,
        min(max(cfg.item, 0), b - 1),
        None if rs is None else rs.torch_mean[-1],
        None if rs is None else rs.torch_var[-1],
    )
    labels = tuple(r.label for r in mc.rows)
    diffs = tuple(r.train_eval_diff for r in mc.rows)
    alone = tuple(r.alone_train_diff for r in mc.rows)
    level, message = alone_message(mc, s)
    eval_same = [r.key for r in mc.rows if r.alone_eval_diff is not None and r.alone_eval_diff <= TOL]
    return TrainEvalView(
        running=rs,
        running_error=error,
        verified=verified,
        verification=verification,
        last_step=f"**The last step, feature {feature}** (n = B·S = {b * s} values per feature):",
        latex=latex,
        lag=lag,
        modes_caption=(
            "The sidebar's tensor, normalized once with its own batch statistics (training mode) and once with the running "
            + (
                "statistics at the end of the simulation above (eval mode)."
                if rs is not None
                else "statistics μ̂ = 0, σ̂² = 1 (a fresh layer)."
            )
        ),
        modes=mc,
        mode_bars=Bars(
            labels,
            diffs,
            tuple(None if d is None else d > TOL for d in diffs),
            "max |training-mode output − eval-mode output|",
            "max |Δ output|",
            tuple("(cannot train on this batch)" if r.error else "" for r in mc.rows),
        ),
        mode_warnings=tuple(
            f"**{r.label}** cannot run in training mode on this batch: {r.error}" for r in mc.rows if r.error
        ),
        alone_level=level,
        alone_message=message,
        alone_bars=Bars(
            labels,
            alone,
            tuple(None if d is None else d > TOL for d in alone),
            f"Training mode: example {mc.item} alone vs inside the batch",
            "max |Δ output|",
            tuple("(fails: one value per statistic)" if r.alone_train_error else "" for r in mc.rows),
        ),
        eval_alone=(
            f"In **eval** mode every norm gives example {mc.item} the same output alone as inside the batch "
            f"({len(eval_same)} of {len(mc.rows)} norms checked: max |Δ| = "
            f"{fmt_delta(max((r.alone_eval_diff or 0.0) for r in mc.rows))}): BatchNorm then uses fixed running statistics."
        ),
        takeaway=train_eval_takeaway(mc.rows),
    )
