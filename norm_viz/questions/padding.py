"""Padding: does padding change the real tokens' outputs, per norm, and BatchNorm's statistics with and without pads.

torch only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from norm_viz.core.compute import normalize
from norm_viz.core.data import checked_lengths_mask
from norm_viz.core.table import NORMS
from norm_viz.questions.common import attempt, maxdiff, run, significant, table_keys


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
