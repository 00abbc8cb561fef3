"""Padding: does padding change the real tokens' outputs, per norm, and BatchNorm's statistics with and without pads.

torch only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from norm_viz.core.compute import normalize
from norm_viz.core.config import parse_lengths
from norm_viz.core.data import checked_lengths_mask, default_lengths
from norm_viz.core.numbers import fmt_delta, tex
from norm_viz.core.table import NORMS
from norm_viz.questions.common import Bars, attempt, maxdiff, names, run, significant, table_keys


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
        return not significant(self.max_diff, 1.0) and not significant(self.pad_content_diff or 0.0, 1.0)


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
    mask = checked_lengths_mask(lengths, s)
    x = x.double()
    padded = torch.where(mask[:, :, None], x, torch.full_like(x, float(pad_value)))
    g = torch.Generator().manual_seed(seed)
    other = torch.where(mask[:, :, None], x, 3.0 * torch.randn(x.shape, generator=g, dtype=torch.float64) + 1.0)
    with_pads = normalize(padded, "batchnorm") if b * s > 1 else None
    real_rows = x[mask]
    rows = []
    for key in table_keys(keys):
        spec = NORMS[key]
        y, err = attempt(lambda: run(padded, key, groups=groups, mask=mask).output)  # noqa: B023
        y2, _ = attempt(lambda: run(other, key, groups=groups, mask=mask).output)  # noqa: B023
        ref, err_r = attempt(lambda: _without_pads(x, key, mask, groups))  # noqa: B023
        if y is None or ref is None:
            rows.append(PaddingRow(key, spec.label, None, None, err or err_r))
            continue
        content = None if y2 is None else maxdiff(y[mask], y2[mask])
        rows.append(PaddingRow(key, spec.label, maxdiff(y[mask], ref), content))
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


# --- the page: one call from the controls to everything it shows -----------------------------------


@dataclass(frozen=True)
class PaddingConfig:
    """The Padding page's controls, as primitives."""

    lengths: str = ""
    """The real length of each sequence as typed ('6, 3, 6, 3'; one number for all; empty: the default pattern)."""
    pad_value: float = 0.0
    source_lengths: tuple[int, ...] = ()
    """The tensor's own lengths (real sentences), used instead of the default pattern when `lengths` is empty."""


@dataclass(frozen=True, eq=False)
class PaddingView:
    """Everything the Padding page shows, computed from its tensor and config."""

    check: PaddingCheck | None
    error: str | None
    """Why the lengths cannot be used, and what is valid."""
    no_pads: str | None
    """A warning when these lengths leave no position padded."""
    mean_intro: str
    latex: tuple[str, ...]
    """BatchNorm's mean of feature 0 with the pads counted, then over the real tokens only."""
    zeros_note: str | None
    bars: Bars | None
    content_note: str
    warnings: tuple[str, ...]
    takeaway: str | None
    """None when there is no padding to judge."""


def padding_takeaway(rows: Sequence[PaddingRow], pads: int) -> str | None:
    """Which norms change the real tokens' outputs under padding and which do not, from the numbers (None: no pads)."""
    if not pads:
        return None
    safe = [r.label for r in rows if r.safe]
    hurt = sorted((r for r in rows if r.safe is False), key=lambda r: -(r.max_diff or 0.0))
    if hurt:
        return (
            f"With {pads} padded positions, {', '.join(r.label for r in hurt)} change the real tokens' outputs "
            f"(up to {hurt[0].max_diff:.3g} for {hurt[0].label}); {names(safe)} give identical "
            "outputs for the real tokens whatever the padding."
        )
    return (
        f"With these lengths every norm gives the real tokens the same outputs as without padding ({', '.join(safe)})."
    )


def padding_view(x: Tensor, cfg: PaddingConfig) -> PaddingView:
    """Pad x after the given lengths with the given value and measure every norm; bad lengths give a message."""
    b, s, _f = x.shape
    default = cfg.source_lengths if len(cfg.source_lengths) == b else default_lengths(b, s)
    try:
        lengths = parse_lengths(cfg.lengths, b, s) if cfg.lengths.strip() else default
        check = padding_effect(x, lengths, cfg.pad_value)
    except ValueError as e:
        error = f"{e}. Valid: {b} whole numbers between 0 and {s}, at least one of them ≥ 1, e.g. {', '.join(map(str, default))}."
        return PaddingView(None, error, None, "", (), None, None, "", (), None)
    no_pads = None
    if check.pads == 0:
        no_pads = (
            f"No position is padding with these lengths (all equal S = {s}): every norm is trivially unaffected. "
            f"Give some sequences a length below {s}" + (" (and S ≥ 2 in the sidebar)." if s < 2 else ".")
        )
    n_real = int(check.mask.sum())
    real_sum = float(x.double()[check.mask][:, 0].sum()) if n_real else 0.0
    latex = (
        rf"\mu_0 = \frac{{{tex(real_sum)} + {check.pads}\cdot{tex(check.pad_value, paren=True)}}}{{{b * s}}}"
        rf" = {tex(float(check.bn_mean_padded[0]))}"
        if b * s > 1
        else r"\mu_0 \text{ with pads: BatchNorm cannot train on one value}",
        rf"\mu_0^{{\text{{real}}}} = \frac{{{tex(real_sum)}}}{{{n_real}}} = {tex(float(check.bn_mean_real[0]))}",
    )
    zeros = abs(check.pads * check.pad_value) == 0 and check.pads
    return PaddingView(
        check=check,
        error=None,
        no_pads=no_pads,
        mean_intro=(
            f"BatchNorm's mean of feature 0 with the pads counted, then over the **{n_real} real tokens** only "
            "(what masked BatchNorm computes):"
        ),
        latex=latex,
        zeros_note="The zeros add nothing to the sum but still count in the denominator, so the mean shrinks."
        if zeros
        else None,
        bars=Bars(
            tuple(r.label for r in check.rows),
            tuple(r.max_diff for r in check.rows),
            tuple(None if r.safe is None else not r.safe for r in check.rows),
            "Real tokens' outputs: padded batch vs the same tokens without any padding",
            "max |Δ output| over the real tokens",
            tuple("(cannot run)" if r.error else "" for r in check.rows),
        ),
        content_note=(
            "Without padding means: batch-statistics norms see only the real tokens; per-sequence norms see each sequence "
            "cut to its real length. A second run with random values in the pads gives the same verdicts: "
            + ", ".join(f"{r.label} {fmt_delta(r.pad_content_diff)}" for r in check.rows if r.error is None)
            + "."
        ),
        warnings=tuple(f"**{r.label}** cannot be compared on these lengths: {r.error}" for r in check.rows if r.error),
        takeaway=padding_takeaway(check.rows, check.pads),
    )
