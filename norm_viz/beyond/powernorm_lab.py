"""PowerNorm stepped through a sequence of batches: each batch's ψ², the running ψ², what each step divided by,
and normalize(x, 'powernorm') checked against a cell-by-cell loop (Shen et al., 2020).

torch only (no streamlit, no plotly); the norm itself is core.extra_norms'; the page's one call is `powernorm_view`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import Tensor

from norm_viz.core.compute import normalize
from norm_viz.core.data import KINDS, lengths_mask, make_tensor
from norm_viz.core.extra_norms import PN_ALPHA, PowerRun, PowerStep, powernorm_loop, powernorm_run
from norm_viz.core.numbers import fmt
from norm_viz.core.table import valid_group_counts

EPS = 1e-5
"""PowerNorm's ε here (the formulas show it as 10^{-5})."""


@dataclass(frozen=True)
class PowerNormConfig:
    """The PowerNorm page's settings: the run (batches, warm-up, data, GroupScaling) and what to inspect."""

    steps: int = 12
    warmup: int = 4
    batch: int = 4
    sequence: int = 8
    features: int = 8
    kind: str = "token_like"
    variable: bool = True
    """Sentences of random lengths (the rest of each sequence is padding)."""
    scaling_groups: int = 0
    """GroupScaling's groups; 0 = off."""
    seed: int = 0
    step: int = 1
    """The step to inspect, 1-based."""
    feature: int = 0

    @property
    def for_run(self) -> PowerNormConfig:
        """The settings the run depends on (not which step or feature is inspected): what a cache keys on."""
        return replace(self, step=1, feature=0)


def scaling_group_options(features: int) -> list[int]:
    """GroupScaling's possible group counts for `features` features, 0 (off) first."""
    return [0, *valid_group_counts(features)]


def powernorm_batches(cfg: PowerNormConfig) -> tuple[list[Tensor], list[Tensor]]:
    """One seeded dataset cut into `cfg.steps` batches, with one mask of real tokens per batch."""
    n = cfg.steps * cfg.batch
    data = make_tensor(n, cfg.sequence, cfg.features, cfg.kind, cfg.seed)
    g = torch.Generator().manual_seed(cfg.seed + 1)
    lengths = torch.randint(1, cfg.sequence + 1, (n,), generator=g) if cfg.variable else torch.full((n,), cfg.sequence)
    mask = lengths_mask(lengths, cfg.sequence)
    return list(data.split(cfg.batch)), list(mask.split(cfg.batch))


def powernorm_takeaway(run: PowerRun, feature: int) -> str:
    """How much steadier the divisor is than the batch ψ² after warm-up, or that every step is still in warm-up."""
    n_steps, warm = len(run.steps), run.warmup_steps
    batch_psi = run.psi2_batch[:, feature].double()
    cv_batch = float(batch_psi.std() / batch_psi.mean()) if n_steps > 1 else 0.0
    later = run.divisors[warm:, feature].double() if warm < n_steps else None
    if later is not None and later.numel() > 1:
        cv_div = float(later.std() / later.mean())
        return (
            f"over {n_steps} batches, feature {feature}'s batch ψ² varied by {cv_batch:.0%} (std / mean), "
            f"while the ψ² PowerNorm divided by after warm-up varied by {cv_div:.0%}: the running average makes the "
            f"scale {cv_batch / max(cv_div, 1e-12):.1f}× steadier."
        )
    return (
        f"every step here is in warm-up, so PowerNorm divides by each batch's own ψ², which varied by "
        f"{cv_batch:.0%} (std / mean) for feature {feature}; shorten the warm-up to see the running ψ² take over."
    )


def step_latex(step: PowerStep, feature: int) -> tuple[str, ...]:
    """The batch ψ², the division and the running update of one feature at one step, with the numbers in."""
    psi_b = float(step.psi2_batch[feature])
    before, after = float(step.running_before[feature]), float(step.running_after[feature])
    if step.cumulative:  # the authors' warm-up: the cumulative mean of the batches' ψ² first, then the average
        k = step.step
        prior = rf"\left(\tfrac{{{k - 1}}}{{{k}}} \cdot {fmt(before)} + \tfrac{{1}}{{{k}}} \cdot {fmt(psi_b)}\right)"
    else:
        prior = fmt(before)
    return (
        rf"\psi^2_{{\text{{batch}}}} = \frac{{1}}{{{step.n_tokens}}}\sum_{{\text{{real tokens}}}} x^2 = {fmt(psi_b)}",
        rf"\hat x = \frac{{x}}{{\sqrt{{{fmt(float(step.divisor[feature]))} + 10^{{-5}}}}}}",
        # three lines: the update's two terms, then its value (one line ran past the page's narrow column)
        rf"\begin{{aligned}}\psi^2_{{\text{{run}}}} &\leftarrow {PN_ALPHA:g} \cdot {prior} \\ &\quad + "
        rf"{1 - PN_ALPHA:.1g} \cdot {fmt(psi_b)} \\ &= {fmt(after)}\end{{aligned}}",
    )


def step_note(step: PowerStep, warmup: int) -> str:
    """Why the running update has a bracket at this step (empty when it has none)."""
    if not step.cumulative:
        return ""
    return (
        f"Step {step.step} is before the last warm-up step ({warmup}), so, as in the authors' code, the running ψ² "
        "first becomes the cumulative mean of the batches' ψ² so far (the bracket), then takes the moving average."
    )


@dataclass(frozen=True, eq=False)
class PowerNormView:
    """What the PowerNorm page shows: the run, the inspected step and feature in numbers and words, the check
    against the loop, and the takeaway."""

    run: PowerRun
    index: int
    """The inspected step, 0-based."""
    feature: int
    warning: str | None
    """Set when the warm-up is longer than the run."""
    summary: str
    latex: tuple[str, ...]
    note: str
    """Why the running update has a bracket at this step (the authors' cumulative warm-up), or empty."""
    loop_diff: float
    """max |Δ| between normalize(x, 'powernorm') and the cell-by-cell loop at this step."""
    check: str
    mean_square: str
    """The mean square of x̂ per feature at this step, and why it is (not) 1."""
    takeaway: str

    @property
    def step(self) -> PowerStep:
        return self.run.steps[self.index]

    @property
    def check_ok(self) -> bool:
        return self.loop_diff < 1e-4


@dataclass(frozen=True, eq=False)
class PowerNormData:
    """The batches of a run, their masks of real tokens, and PowerNorm over them (for one `PowerNormConfig.for_run`)."""

    config: PowerNormConfig
    batches: tuple[Tensor, ...]
    masks: tuple[Tensor, ...]
    run: PowerRun


def powernorm_data(cfg: PowerNormConfig) -> PowerNormData:
    """`cfg`'s batches and the PowerNorm run over them; ValueError saying what is valid for a bad setting."""
    if cfg.kind not in KINDS:
        raise ValueError(f"unknown kind of data {cfg.kind!r}; choose one of {', '.join(KINDS)}")
    if cfg.scaling_groups not in scaling_group_options(cfg.features):
        raise ValueError(
            f"GroupScaling groups={cfg.scaling_groups} does not divide features={cfg.features}; "
            f"choose one of {', '.join(map(str, scaling_group_options(cfg.features)))}"
        )
    xs, masks = powernorm_batches(cfg)
    run = powernorm_run(xs, masks, cfg.warmup, scaling_groups=cfg.scaling_groups)
    return PowerNormData(cfg.for_run, tuple(xs), tuple(masks), run)


def powernorm_view(cfg: PowerNormConfig, data: PowerNormData | None = None) -> PowerNormView:
    """PowerNorm over `cfg`'s batches (`data`: powernorm_data(cfg), computed if not given), with step `cfg.step`
    and feature `cfg.feature` taken apart."""
    if not 1 <= cfg.step <= cfg.steps:
        raise ValueError(f"step {cfg.step} is outside the run; choose a step from 1 to {cfg.steps}")
    if not 0 <= cfg.feature < cfg.features:
        raise ValueError(f"feature {cfg.feature} does not exist; choose one from 0 to {cfg.features - 1}")
    if data is None:
        data = powernorm_data(cfg)
    elif data.config != cfg.for_run:
        raise ValueError(f"the run is of {data.config}, not of this page's settings {cfg.for_run}")
    xs, masks, run = data.batches, data.masks, data.run
    t, feat = cfg.step - 1, cfg.feature
    step = run.steps[t]
    warning = (
        f"The warm-up ({cfg.warmup} steps) is longer than the run ({cfg.steps} steps): every step uses batch statistics."
        if cfg.warmup > cfg.steps
        else None
    )
    phase = "after warm-up: the running ψ² from before this step" if step.used_running else "warm-up: this batch's ψ²"
    summary = (
        f"**Step {t + 1}, feature {feat}** — {step.n_tokens} real tokens of {cfg.batch * cfg.sequence}; "
        f"divides by {phase}."
    )
    warm, gs = not step.used_running, cfg.scaling_groups
    r = normalize(
        xs[t], "powernorm", EPS, mask=masks[t], running_var=step.running_before, warmup=warm, scaling_groups=gs
    )
    loop = powernorm_loop(xs[t], EPS, mask=masks[t], running=step.running_before, warmup=warm, scaling_groups=gs)
    diff = float((r.normalized - loop).abs().max())
    check = f"normalize(x, 'powernorm') vs a cell-by-cell loop written from the paper's formulas: max |Δ| = {diff:.1e}"
    ms = r.normalized[masks[t]].square().mean(0)
    why = "exactly 1 up to ε: divided by its own ψ²" if not step.used_running else "not 1: divided by the running ψ²"
    mean_square = f"Mean square of x̂ per feature at this step: {float(ms.min()):.3f} to {float(ms.max()):.3f} ({why})."
    return PowerNormView(
        run,
        t,
        feat,
        warning,
        summary,
        step_latex(step, feat),
        step_note(step, cfg.warmup),
        diff,
        check,
        mean_square,
        powernorm_takeaway(run, feat),
    )
