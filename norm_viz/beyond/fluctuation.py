"""Batch-statistics fluctuation: how far one mini-batch's per-feature μ and σ² stray from batch to batch and from
BatchNorm's running averages, for token-like vs image-like data (the PowerNorm paper's observation).

torch only (no streamlit, no plotly); the page's one call is `fluctuation_view`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from norm_viz.core import budget
from norm_viz.core.config import not_a_number
from norm_viz.core.data import make_tensor

KINDS: tuple[str, ...] = ("token_like", "image_like")
"""The two kinds of data the page compares."""
MAX_BATCH = 256
"""The largest batch size: the size of the dataset the batches are drawn from."""


@dataclass(frozen=True, eq=False)
class Fluctuation:
    """Per-feature batch statistics over many mini-batches, for each batch size, of one kind of data."""

    kind: str
    batch_sizes: tuple[int, ...]
    kurtosis: float
    """E[z⁴] of the standardized values (3 for a Gaussian): heavy tails make σ² fluctuate."""
    mean_spread: Tensor
    """(len(batch_sizes),) std across batches of the per-feature batch mean, averaged over features (units of σ)."""
    var_spread: Tensor
    """(len(batch_sizes),) std across batches of the per-feature batch variance, relative to the dataset's."""
    mean_distance: Tensor
    """(len(batch_sizes),) RMS over features of |μ_batch − μ_running|, averaged over steps."""
    var_distance: Tensor
    """(len(batch_sizes),) RMS over features of |σ²_batch − σ²_running|, averaged over steps."""
    tokens_per_batch: Tensor
    """(len(batch_sizes),) mean number of real tokens per batch."""
    example_means: Tensor
    """(n_batches, F) the batch means at the smallest batch size (for a strip plot)."""


def _masked_moments(x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    rows = x[mask]
    var, mean = torch.var_mean(rows, dim=0, correction=0)
    return mean, var


def fluctuation(
    kind: str,
    batch_sizes: Sequence[int],
    n_batches: int = 64,
    sequence: int = 16,
    features: int = 16,
    seed: int = 0,
    variable_lengths: bool = True,
    pool: int = MAX_BATCH,
    momentum: float = 0.1,
    tick: Callable[[], None] | None = None,
) -> Fluctuation:
    """Draw `n_batches` mini-batches of each size from one dataset of `kind` and measure their statistics.

    Each feature is first standardized over the whole dataset, so spreads are in units of its own σ and
    the two kinds compare fairly. Token-like data gets random lengths (1..S, the rest padding) when asked;
    image-like data always has all S positions.
    """
    if not batch_sizes or min(batch_sizes) < 1 or max(batch_sizes) > pool:
        raise ValueError(f"batch sizes must be between 1 and the dataset size {pool}, got {list(batch_sizes)}")
    if n_batches < 2:
        raise ValueError(f"need at least 2 batches to measure a spread, got {n_batches}")
    data = make_tensor(pool, sequence, features, kind, seed, dtype=torch.float64)
    g = torch.Generator().manual_seed(int(seed) + 1)
    if variable_lengths and kind == "token_like":  # sentences vary in length; images all have S pixels
        lengths = torch.randint(1, sequence + 1, (pool,), generator=g)
    else:
        lengths = torch.full((pool,), sequence)
    mask = torch.arange(sequence)[None, :] < lengths[:, None]
    return measure(data, mask, kind, batch_sizes, n_batches, g, momentum, tick=tick)


def measure(
    data: Tensor,
    mask: Tensor,
    kind: str,
    batch_sizes: Sequence[int],
    n_batches: int,
    g: torch.Generator,
    momentum: float = 0.1,
    tick: Callable[[], None] | None = None,
) -> Fluctuation:
    """The batch statistics of `n_batches` random mini-batches of each size drawn from `data` (N, S, F) with its
    `mask` of real tokens; every feature first standardized over the whole dataset. Real text uses it too.
    `tick` is called every 8 batches and after each size, so that the caller can stop work nobody waits for."""
    pool, _s, features = data.shape
    data = data.double()
    mu, var = _masked_moments(data, mask)
    data = (data - mu) / var.sqrt()
    kurt = float(data[mask].pow(4).mean())
    # a batch's moments are sums over its samples' real tokens divided by their count: each sample's sum and sum of
    # squares over its positions (padding set to 0 counts for nothing) are taken once, so a batch costs (bs, F) sums
    # instead of a (bs, S, F) copy (real text at 128 sentences: 3.5 CPU-s of batches before, a few ms now)
    data = data * mask[..., None]
    sums, squares = data.sum(1), data.square().sum(1)
    real = mask.sum(1)
    spreads_m, spreads_v, dist_m, dist_v, toks = [], [], [], [], []
    example = torch.zeros(0)
    for bs in batch_sizes:
        m_t = torch.empty(n_batches, features, dtype=data.dtype)
        v_t = torch.empty(n_batches, features, dtype=data.dtype)
        n_tok = torch.empty(n_batches, dtype=data.dtype)
        for i in range(n_batches):
            if tick is not None and i % 8 == 7:
                tick()
            idx = torch.randperm(pool, generator=g)[:bs]
            n = real[idx].sum()
            m_t[i] = sums[idx].sum(0) / n
            v_t[i] = squares[idx].sum(0) / n - m_t[i].square()
            n_tok[i] = n
        run_m, run_v = torch.zeros(features, dtype=torch.float64), torch.ones(features, dtype=torch.float64)
        dm, dv = [], []
        for m_b, v_b in zip(m_t, v_t, strict=True):
            dm.append(float((m_b - run_m).square().mean().sqrt()))
            dv.append(float((v_b - run_v).square().mean().sqrt()))
            run_m = (1 - momentum) * run_m + momentum * m_b
            run_v = (1 - momentum) * run_v + momentum * v_b
        spreads_m.append(float(m_t.std(0).mean()))
        spreads_v.append(float(v_t.std(0).mean()))
        dist_m.append(sum(dm) / len(dm))
        dist_v.append(sum(dv) / len(dv))
        toks.append(float(n_tok.mean()))
        if bs == min(batch_sizes):
            example = m_t
        if tick is not None:
            tick()
    t = torch.tensor
    return Fluctuation(
        kind, tuple(batch_sizes), kurt, t(spreads_m), t(spreads_v), t(dist_m), t(dist_v), t(toks), example.float()
    )


def parse_sizes(text: str) -> tuple[int, ...]:
    """'2, 4, 8' -> (2, 4, 8), sorted and without repeats; ValueError saying what is wrong and what is valid."""
    parts = [p for p in text.replace(";", ",").replace(" ", ",").split(",") if p]
    try:
        sizes = tuple(sorted({int(p) for p in parts}))
    except ValueError:
        raise ValueError(f"batch sizes must be whole numbers separated by commas, not {not_a_number(parts)}") from None
    if not sizes:
        raise ValueError("give at least one batch size")
    if sizes[0] < 1 or sizes[-1] > MAX_BATCH:
        raise ValueError(f"every batch size must be between 1 and {MAX_BATCH}, got {list(sizes)}")
    return sizes


def compare(ratio: float, what: str) -> str:
    """'token-like batch σ² fluctuates 2.1× more than image-like' for a token-like / image-like ratio of spreads."""
    if ratio > 1.1:
        return f"token-like batch {what} fluctuates {ratio:.1f}× more than image-like"
    if ratio < 1 / 1.1:
        return f"image-like batch {what} fluctuates {1 / ratio:.1f}× more than token-like"
    return f"batch {what} fluctuates about as much for both kinds ({ratio:.2f}×)"


def fluctuation_takeaway(token: Fluctuation, image: Fluctuation) -> str:
    """Which kind's batch statistics fluctuate more at the smallest batch size, and how much a larger batch helps."""
    sizes = token.batch_sizes
    ratio_var = float(token.var_spread[0] / image.var_spread[0])
    ratio_mean = float(token.mean_spread[0] / image.mean_spread[0])
    shrink = float(token.var_spread[0] / token.var_spread[-1]) if len(sizes) > 1 else 1.0
    size_note = (
        f"; going from {sizes[0]} to {sizes[-1]} sequences per batch shrinks the token-like σ² spread {shrink:.1f}×"
        if len(sizes) > 1
        else ""
    )
    return f"at batch size {sizes[0]}, {compare(ratio_var, 'σ²')} and {compare(ratio_mean, 'μ')}{size_note}."


def drivers(token: Fluctuation, image: Fluctuation) -> str:
    """What drives the spread at the smallest batch size: real tokens per batch and tail weight, in Markdown."""
    return (
        f"**What drives the spread** (smallest batch, {token.batch_sizes[0]} sequences):  \n"
        f"- real tokens per batch: token-like {float(token.tokens_per_batch[0]):.1f}, image-like "
        f"{float(image.tokens_per_batch[0]):.1f}  \n"
        f"- tail weight E[z⁴] (3 = Gaussian): token-like {token.kurtosis:.2f}, image-like {image.kurtosis:.2f}  \n"
        "- image-like values are smooth along the sequence, so neighbouring pixels repeat each other: fewer "
        "independent values than tokens."
    )


@dataclass(frozen=True)
class FluctuationConfig:
    """The fluctuation page's settings: the batch sizes (as typed), batches per size, the data's shape and seed."""

    sizes: str = "2, 4, 8, 16, 32"
    batches: int = 64
    sequence: int = 16
    features: int = 16
    variable: bool = True
    """Token-like sentences of random lengths (the rest padding)."""
    seed: int = 0


@dataclass(frozen=True, eq=False)
class FluctuationView:
    """What the fluctuation page shows: one measurement per kind of data, what drives the spread, the takeaway."""

    runs: tuple[Fluctuation, ...]
    """One per KINDS, in that order."""
    sizes: tuple[int, ...]
    drivers: str
    takeaway: str


def cost(sizes: Sequence[int], batches: int, sequence: int, features: int) -> budget.Cost:
    """The estimated cost of fluctuation_view: every drawn value is read about once per kind of data, plus a fixed
    cost per drawn batch and for making the dataset. Fitted to runs of 78 to 6,400 batches and 1.6 to 210 million
    values (one thread, one reused batch buffer; `python -m norm_viz.tools.worstcase --page fluctuation`), then raised by
    60%, the margin whole-page runs at the budget's edge needed on the busy machine."""
    values = batches * sum(sizes) * sequence * features
    per_kind = values * 3.1e-9 + batches * len(sizes) * 1.1e-4 + MAX_BATCH * sequence * features * 8e-8
    pool = MAX_BATCH * sequence * features * 8 * 6 / 1e6  # the dataset, its mask and standardized copies, in MB
    batch = max(sizes) * sequence * features * 8 / 1e6  # the one batch buffer
    return budget.Cost(cpu_s=len(KINDS) * per_kind, mb=pool + batch + batches * features * 8 * 4 / 1e6)


def check_cost(sizes: Sequence[int], batches: int, sequence: int, features: int) -> None:
    """Raise budget.TooMuchWork, naming how many batches per size would fit, when the measurement is too large."""
    most = budget.largest(lambda n: cost(sizes, n, sequence, features), 2, batches)
    valid = (
        f"with these batch sizes at S = {sequence}, F = {features} choose at most {most} batches per size"
        if most
        else f"choose fewer or smaller batch sizes (they add up to {sum(sizes)} sequences per round), or a smaller S or F"
    )
    if most:
        valid += ", or fewer or smaller batch sizes, or a smaller S or F"
    what = f"{batches} batches of each of {len(sizes)} sizes (adding up to {sum(sizes)} sequences of {sequence} × {features})"
    budget.check(what, cost(sizes, batches, sequence, features), valid)


def fluctuation_view(cfg: FluctuationConfig, tick: Callable[[], None] | None = None) -> FluctuationView:
    """Both kinds of data measured at `cfg`'s batch sizes; ValueError (with an example) for unreadable sizes, and
    budget.TooMuchWork (a ValueError) for a measurement too large for one rerun. `tick` is called after each batch
    size (the page passes a function that stops the work when its viewer has left)."""
    try:
        sizes = parse_sizes(cfg.sizes)
    except ValueError as e:
        raise ValueError(f"{e}. Example: 2, 4, 8, 16, 32") from None
    check_cost(sizes, cfg.batches, cfg.sequence, cfg.features)
    runs = tuple(
        fluctuation(kind, sizes, cfg.batches, cfg.sequence, cfg.features, cfg.seed, cfg.variable, tick=tick)
        for kind in KINDS
    )
    token, image = runs
    return FluctuationView(runs, sizes, drivers(token, image), fluctuation_takeaway(token, image))
