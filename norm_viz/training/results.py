"""The shipped results of the training lab and the one rule every verdict follows.

`shipped_results("lm" | "cnn")` returns the records committed in norm_viz/training/results/ (computed by
`python -m norm_viz.training.experiments`, see there), `provenance` says how. A verdict compares two sets of seeds:
"A beats B" only when the difference of their means exceeds the sum of their sample standard deviations
(|mean_A − mean_B| > sd_A + sd_B, each over ≥ 3 seeds); otherwise "no difference at this scale". The rule is
deliberately simple and conservative: for 3 seeds each with equal spreads it means Welch's t > 2.45 (two-sided
p ≈ 0.07). torch-free; no streamlit.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).with_name("results")
GRIDS = ("lm", "cnn", "init", "mnist", "powernorm")
MIN_SEEDS = 3
LM_WARMUP = 30
"""The LM's default learning-rate warm-up in steps (lm.LMConfig.warmup; a record without "warmup" had it)."""


def lm_key(norm: str, placement: str, warmup: int = LM_WARMUP) -> str:
    """An LM cell's key: "norm/placement", with "/warmup<n>" when the warm-up is not the default."""
    return f"{norm}/{placement}" + ("" if warmup == LM_WARMUP else f"/warmup{warmup}")


def lm_record_key(r: dict[str, Any]) -> str:
    """The cell key of an LM record."""
    return lm_key(r["norm"], r["placement"], r.get("warmup", LM_WARMUP))


def lm_chosen_rates(records: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Each LM cell's chosen rate, from its records: the swept rate with the lowest selection ("probe") loss on
    seed 0 (ties: the smaller rate); a cell without a sweep (the warm-up study) has one rate, its runs'."""
    out: dict[str, float] = {}
    for key in dict.fromkeys(lm_record_key(r) for r in records):
        rs_ = [r for r in records if lm_record_key(r) == key]
        sweep = sorted((r for r in rs_ if r["phase"] == "sweep"), key=lambda r: r["lr"])
        if sweep:
            out[key] = min(sweep, key=lambda r: _finite(r.get("probe_loss")))["lr"]
        elif len({r["lr"] for r in rs_}) == 1:
            out[key] = rs_[0]["lr"]
    return out


def fmt_loss(v: float | None) -> str:
    """A loss with 3 decimals, or 'diverged' when the run has none."""
    return "diverged" if v is None or not math.isfinite(v) else f"{v:.3f}"


def _finite(v: float | None) -> float:
    return v if v is not None and math.isfinite(v) else math.inf


@functools.cache
def _shipped(grid: str) -> dict[str, Any]:
    if grid not in GRIDS:
        raise ValueError(f"unknown grid {grid!r}; valid: {', '.join(GRIDS)}")
    path = RESULTS_DIR / f"{grid}.json"
    if not path.exists():
        return {"provenance": {"parts": []}, "records": []}
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def shipped_results(grid: str) -> list[dict[str, Any]]:
    """The shipped records of one grid ("lm" or "cnn"): one dict per run with norm, placement (LM) or batch_size and
    budget (ConvNet), seed, lr, steps, phase ("sweep": seed 0 at a swept rate; else a run at the chosen rate) and
    val_loss (LM, eval mode) or val_error (ConvNet, fraction, eval mode), and the rest the run measured."""
    return copy.deepcopy(_shipped(grid)["records"])


def provenance(grid: str) -> dict[str, Any]:
    """How the grid was computed: per part the command, commit, torch version, threads, CPU time and chosen
    learning rates; and the settings every run shares (seeds, the sweep, model and data)."""
    return copy.deepcopy(_shipped(grid)["provenance"])


def learning_rates(grid: str) -> dict[str, float]:
    """The learning rate each cell's sweep chose ("norm/placement" for the LM, "norm" for the ConvNet)."""
    if grid == "lm":
        return lm_chosen_rates(shipped_results("lm"))
    out: dict[str, float] = {}
    for part in provenance(grid).get("parts", []):
        out.update(part.get("learning_rates", {}))
    return out


def cpu_seconds(grid: str) -> float:
    """CPU seconds the shipped grid took (the sum over its parts, or over its runs where a part did not say)."""
    parts = provenance(grid).get("parts", [])
    return float(sum(p.get("cpu_s", 0.0) for p in parts)) or float(sum(r["cpu_s"] for r in shipped_results(grid)))


@dataclass(frozen=True)
class Spread:
    """Mean and sample standard deviation (n − 1) of one metric over seeds."""

    values: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values) if self.values else math.nan

    @property
    def sd(self) -> float:
        return statistics.stdev(self.values) if self.n > 1 else math.nan

    def text(self, digits: int = 3, scale: float = 1.0) -> str:
        """'1.572 ± 0.012' (mean ± sd), scaled (100 for percentages)."""
        if not self.values:
            return "—"
        if self.n == 1:
            return f"{scale * self.mean:.{digits}f} (1 seed)"
        return f"{scale * self.mean:.{digits}f} ± {scale * self.sd:.{digits}f}"


def spread(values: Iterable[float | None]) -> Spread:
    """A Spread of the finite values (a run that diverged or stopped has none)."""
    return Spread(tuple(float(v) for v in values if v is not None and math.isfinite(v)))


@dataclass(frozen=True)
class Verdict:
    """The comparison of A with B on one metric (lower is better unless said otherwise)."""

    a: str
    b: str
    sa: Spread
    sb: Spread
    outcome: str
    """"a" (A beats B), "b" (B beats A), "tie" (no difference at this scale) or "few" (fewer than 3 seeds)."""
    text: str


def compare(
    a: str,
    va: Iterable[float | None],
    b: str,
    vb: Iterable[float | None],
    *,
    metric: str,
    scale: str,
    cannot: str,
    lower_is_better: bool = True,
    digits: int = 3,
    factor: float = 1.0,
    unit: str = "",
) -> Verdict:
    """The verdict sentence of A against B: "A beats B" when |mean_A − mean_B| > sd_A + sd_B over ≥ 3 seeds each,
    else "no difference at this scale"; it names the scale and what the setup cannot test."""
    sa, sb = spread(va), spread(vb)

    def num(s: Spread) -> str:
        return f"{s.text(digits, factor)}{unit}"

    nums = f"{a} {num(sa)} vs {b} {num(sb)} ({metric}, mean ± sd over {sa.n} and {sb.n} seeds)"
    tail = f" Scale: {scale}. What it cannot test: {cannot}."
    if min(sa.n, sb.n) < MIN_SEEDS:
        return Verdict(a, b, sa, sb, "few", f"**Not enough seeds to compare**: {nums}.{tail}")
    diff, margin = sa.mean - sb.mean, sa.sd + sb.sd
    while digits < 6 and f"{factor * abs(diff):.{digits}f}" == f"{factor * margin:.{digits}f}":
        digits += 1  # a difference just beyond (or inside) the spread must not print as equal to it
    if abs(diff) <= margin:
        return Verdict(
            a, b, sa, sb, "tie",
            f"**No difference at this scale** between {a} and {b}: {nums}; the difference "
            f"{factor * abs(diff):.{digits}f}{unit} is inside the seed spread (sd sum {factor * margin:.{digits}f}{unit})."
            + tail,
        )  # fmt: skip
    a_wins = (diff < 0) == lower_is_better
    win, lose = (a, b) if a_wins else (b, a)
    return Verdict(
        a, b, sa, sb, "a" if a_wins else "b",
        f"**{win} beats {lose}**: {nums}; the difference {factor * abs(diff):.{digits}f}{unit} exceeds the seed "
        f"spread (sd sum {factor * margin:.{digits}f}{unit})." + tail,
    )  # fmt: skip


def select(records: Sequence[dict[str, Any]], **match: Any) -> list[dict[str, Any]]:
    """The records whose fields equal every `match` value."""
    return [r for r in records if all(r.get(k) == v for k, v in match.items())]


def at_chosen_rate(records: Sequence[dict[str, Any]], rates: dict[str, float], grid: str) -> list[dict[str, Any]]:
    """The runs at each cell's chosen learning rate (the seeds behind every verdict), sweep runs at other rates
    left out."""
    key = lm_record_key if grid == "lm" else (lambda r: str(r["norm"]))
    return [r for r in records if key(r) in rates and math.isclose(r["lr"], rates[key(r)])]
