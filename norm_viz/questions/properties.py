"""The property table: every transformer-question check run on one tensor, answers tabulated per norm.

torch only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torch import Tensor

from norm_viz.core.compute import normalize
from norm_viz.core.data import default_lengths
from norm_viz.core.table import NORMS, default_groups
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


# --- the Compare page: one call from the controls to everything it shows -------------------------

COLUMNS = {
    "batch_independent": ("batch-independent?", "batch-dependence page: another sample rescaled, this one unchanged"),
    "causal_safe": ("causal-safe?", "causal page: last token perturbed, no earlier position moved"),
    "train_eval_same": ("same in train and eval?", "train-vs-eval page: running statistics after one step"),
    "padding_safe": ("padding-safe?", "padding page: real tokens unchanged by pads and their values"),
    "needs_sync": ("needs cross-device sync?", "multi-device page: per-device output differs from global"),
}
"""Each property: its column in the table and how it is measured."""
WANT = {
    "batch_independent": "batch-independent",
    "causal_safe": "causal-safe",
    "train_eval_same": "the same in train and eval",
    "padding_safe": "padding-safe",
    "needs_sync": "free of cross-device sync",
}
"""What a transformer wants of each property, in words."""
GOOD = {name: "no" if attr == "needs_sync" else "yes" for attr, (name, _) in COLUMNS.items()}
"""The answer a transformer wants in each column."""


@dataclass(frozen=True)
class CompareConfig:
    """The Compare page's controls: the cell whose statistic the small cubes light."""

    cell_b: int = 0
    cell_s: int = 0
    cell_f: int = 0

    @property
    def cell(self) -> tuple[int, int, int]:
        return self.cell_b, self.cell_s, self.cell_f


@dataclass(frozen=True)
class CompareView:
    """Everything the Compare page shows besides the chosen cell, computed from its tensor (the costly part: every
    check runs, so it does not depend on the cell)."""

    shape: tuple[int, int, int]
    groups: int
    """The group count the cubes use for grouped norms."""
    properties: tuple[Properties, ...]
    heading: str
    table: tuple[dict[str, str], ...]
    caption: str
    unmeasurable: str | None
    warnings: tuple[str, ...]
    takeaway: str


def mark(v: bool | None) -> str:
    """A measured answer as a table cell."""
    return "— (n/a)" if v is None else "yes" if v else "no"


def measured(props: Sequence[Properties]) -> list[str]:
    """The properties that could be measured on the tensor (for at least one norm)."""
    return [attr for attr in COLUMNS if any(getattr(p, attr) is not None for p in props)]


def passes(p: Properties, attrs: Sequence[str]) -> bool:
    """Every measured answer is the one a transformer wants (a norm that cannot run does not pass)."""
    return p.statistics is not None and all(getattr(p, a) is (a != "needs_sync") for a in attrs)


def compare_takeaway(props: Sequence[Properties]) -> str:
    """Which norms pass every check measurable on this tensor, from the measured answers."""
    attrs = measured(props)
    passing = [p.label for p in props if passes(p, attrs)]
    return (
        f"Of {len(props)} norms, {', '.join(passing) or 'none'} pass all {len(attrs)} checks measurable on this "
        f"tensor ({', '.join(WANT[a] for a in attrs)})."
    )


def compare_view(x: Tensor) -> CompareView:
    """Every check run on x, tabulated per norm, with what could not be measured and the takeaway."""
    b, s, f = x.shape
    props = property_table(x)
    rows = []
    for p in props:
        row = {"norm": p.label}
        for attr, (name, _) in COLUMNS.items():
            row[name] = mark(getattr(p, attr))
        row["statistics"] = "—" if p.statistics is None else str(p.statistics)
        row["values per statistic"] = "—" if p.values_per_statistic is None else str(p.values_per_statistic)
        row["note"] = "; ".join(p.notes)
        rows.append(row)
    attrs = measured(props)
    missing = [name for attr, (name, _) in COLUMNS.items() if attr not in attrs]
    unmeasurable = None
    if missing:
        unmeasurable = (
            f"Not measurable on a {b} × {s} × {f} tensor: {', '.join(missing)}. Batch dependence and devices need B ≥ 2, "
            "causality and padding need S ≥ 2 (set them in the sidebar)."
        )
    return CompareView(
        shape=(b, s, f),
        groups=default_groups(f),
        properties=props,
        heading=f"Properties measured on this {b} × {s} × {f} tensor",
        table=tuple(rows),
        caption=" · ".join(f"**{name}** — {how}" for name, how in COLUMNS.values())
        + ". — means the check needs a larger tensor.",
        unmeasurable=unmeasurable,
        warnings=tuple(f"**{p.label}** cannot run on this tensor: {'; '.join(p.notes)}" for p in props if p.notes),
        takeaway=compare_takeaway(props),
    )
