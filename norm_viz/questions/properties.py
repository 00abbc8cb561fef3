"""The property table: every transformer-question check run on one tensor, answers tabulated per norm.

torch only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torch import Tensor

from norm_viz.core.compute import normalize
from norm_viz.core.data import default_lengths
from norm_viz.core.table import NORMS
from norm_viz.questions.causal import causal_leakage
from norm_viz.questions.common import attempt, run, significant, table_keys
from norm_viz.questions.dependence import batch_dependence
from norm_viz.questions.multi_device import multi_device
from norm_viz.questions.padding import padding_effect
from norm_viz.questions.train_eval import train_vs_eval


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


def property_table(x: Tensor, groups: int | None = None, keys: Sequence[str] | None = None) -> tuple[Properties, ...]:
    """Run every check above on x and tabulate the answers per norm."""
    b, s, _ = x.shape
    ks = table_keys(keys)
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
        r, err = attempt(lambda: run(x.double(), key, groups=groups))  # noqa: B023
        if err:
            notes[key].append(err)
        m = mode.row(key)
        te = None if m.train_eval_diff is None else not significant(m.train_eval_diff, 1.0)
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
