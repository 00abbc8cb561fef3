"""Quiz questions generated from the NORMS table on seeded random shapes and cells, their answer checking, and
what the quiz page shows (score, the answer's titles).

Pure (no streamlit, no plotly): the answers come from the table (table.lit_box and the reduced axes); the tests
check them against what normalize() computes. Torch only for the cube drawn with the answer (`answer_result`).
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from norm_viz.core.compute import NormResult, normalize
from norm_viz.core.data import make_tensor
from norm_viz.core.numbers import plural
from norm_viz.core.table import AXES, NORMS, lit_box, unit_name, valid_group_counts

KINDS: tuple[str, ...] = ("which_norm", "share_cells", "count_stats")


def quiz_norms() -> tuple[str, ...]:
    """The norms a question is about (the quiz has no padding, so masked norms would repeat their plain twin).

    Read from NORMS on every call, so that a row added to the table is asked about too; `QUIZ_NORMS` is the same.
    """
    return tuple(sorted(k for k, n in NORMS.items() if not n.masked))


def __getattr__(name: str) -> tuple[str, ...]:
    if name == "QUIZ_NORMS":  # computed on access, not frozen at import
        return quiz_norms()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


COUNT_WORDS = {"batch": "sequences", "sequence": "positions", "group": "feature groups", "feature": "features"}
Cell = tuple[int, int, int]


@dataclass(frozen=True)
class Question:
    """One quiz question: the tensor's shape, the cell it is about, the norm (the hidden answer for which_norm)."""

    kind: str
    seed: int
    index: int
    shape: tuple[int, int, int]
    cell: Cell
    norm: str
    groups: int
    prompt: str

    @property
    def qid(self) -> str:
        return f"{self.seed}:{self.index}"


@dataclass(frozen=True)
class Feedback:
    """Whether an answer is right, what the right answer is, and a sentence that explains it."""

    correct: bool
    message: str
    expected: str


def _divisors(n: int) -> list[int]:
    """The group counts that make a real GroupNorm question: neither one group nor one feature per group."""
    return [g for g in valid_group_counts(n) if 1 < g < n]


def make_question(seed: int, index: int) -> Question:
    """Question number `index` of the quiz with this seed: its kind cycles, its shape and cell are random."""
    rng = random.Random(seed * 1_000_003 + index)
    kind = KINDS[index % len(KINDS)]
    f = rng.choice((4, 6, 8, 12))
    shape = (rng.randint(2, 4), rng.randint(2, 5), f)
    groups = rng.choice(_divisors(f))
    cell = (rng.randrange(shape[0]), rng.randrange(shape[1]), rng.randrange(f))
    norm = rng.choice(quiz_norms())
    b, s, _ = shape
    size = f"(B, S, F) = ({b}, {s}, {f})"
    g_note = f", G = {groups} groups" if NORMS[norm].uses_groups else ""
    label = NORMS[norm].label
    prompts = {
        "which_norm": f"Which normalization lights these cells? The tensor is {size} (group norms use G = {groups}); "
        f"the diamond is cell (b, s, f) = {cell}.",
        "share_cells": f"Click every cell that shares cell {cell}'s statistic under {label} (tensor {size}{g_note}).",
        "count_stats": f"How many statistics (one mean and variance, or one mean square, each) does {label} compute for a tensor "
        f"of shape {size}{g_note}?",
    }
    return Question(kind, seed, index, shape, cell, norm, groups, prompts[kind])


def _groups_for(key: str, q: Question) -> int:
    return q.groups if NORMS[key].uses_groups else 1


def correct_norms(q: Question) -> frozenset[str]:
    """Every norm that lights exactly the cells of the question's norm (e.g. LayerNorm and RMSNorm agree)."""
    box = lit_box(q.norm, q.shape, q.cell, _groups_for(q.norm, q))
    return frozenset(k for k in NORMS if lit_box(k, q.shape, q.cell, _groups_for(k, q)) == box)


def shared_cells(q: Question) -> frozenset[Cell]:
    """The cells that share the question cell's statistic (the cell itself included)."""
    (b0, b1), (s0, s1), (f0, f1) = lit_box(q.norm, q.shape, q.cell, _groups_for(q.norm, q))
    return frozenset((i, j, k) for i in range(b0, b1) for j in range(s0, s1) for k in range(f0, f1))


def stats_axes(q: Question) -> tuple[str, ...]:
    """The axes that index the statistics, e.g. ('batch', 'sequence') for LayerNorm."""
    norm = NORMS[q.norm]
    return tuple(a for a in norm.kept if a != "group" or norm.uses_groups)


def stat_count(q: Question) -> int:
    """How many statistics the question's norm computes: the product of the sizes of the kept axes."""
    b, s, f = q.shape
    g = _groups_for(q.norm, q)
    sizes = dict(zip(AXES, (b, s, g, f // g), strict=True))
    return math.prod(sizes[a] for a in stats_axes(q))


def _cells_text(cells: Iterable[Cell], limit: int = 6) -> str:
    cs = sorted(cells)
    txt = ", ".join(str(c) for c in cs[:limit])
    return txt + (f" and {len(cs) - limit} more" if len(cs) > limit else "")


def check(q: Question, answer: object) -> Feedback:
    """Check an answer: a norm key (which_norm), a set of (b, s, f) cells (share_cells) or a count (count_stats)."""
    label = NORMS[q.norm].label
    if q.kind == "which_norm":
        right = correct_norms(q)
        names = " or ".join(NORMS[k].label for k in sorted(right))
        ok = answer in right
        primary = min(right, key=lambda k: (NORMS[k].masked, not NORMS[k].centered, k))
        why = f"{names}: {NORMS[primary].summary}."
        return Feedback(ok, ("Right — " if ok else "Not quite — it is ") + why, names)
    if q.kind == "share_cells":
        want = shared_cells(q)
        got: frozenset[Cell] = frozenset(answer)  # type: ignore[call-overload]
        missing, extra = want - got, got - want
        ok = not missing and not extra
        msg = f"{label} shares one statistic among {plural(len(want), 'cell')}: {NORMS[q.norm].summary}."
        if not ok:
            parts = []
            if missing:
                parts.append(f"missed {len(missing)}: {_cells_text(missing)}")
            if extra:
                parts.append(f"{len(extra)} extra: {_cells_text(extra)}")
            msg = f"You picked {len(got & want)} of the {len(want)} cells ({'; '.join(parts)}). " + msg
        return Feedback(ok, ("Right — " if ok else "") + msg, _cells_text(want))
    if q.kind == "count_stats":
        n = stat_count(q)
        axes = stats_axes(q)
        b, s, f = q.shape
        g = _groups_for(q.norm, q)
        sizes = dict(zip(AXES, (b, s, g, f // g), strict=True))
        product = " × ".join(f"{sizes[a]} {COUNT_WORDS[a]}" for a in axes) or "the whole tensor"
        unit = unit_name(axes)
        try:
            ok = int(answer) == n  # type: ignore[call-overload]
        except (TypeError, ValueError):
            ok = False
        msg = f"{label} computes {n}: one per {unit} ({product}), each over {plural(b * s * f // n, 'value')}."
        return Feedback(ok, ("Right — " if ok else "Not quite — ") + msg, str(n))
    raise ValueError(f"unknown question kind {q.kind!r}; kinds: {', '.join(KINDS)}")


def parse_cells(text: str, shape: tuple[int, int, int]) -> frozenset[Cell]:
    """'0,1,2; 1 1 2' -> {(0, 1, 2), (1, 1, 2)}; ValueError saying what is wrong and what would be valid."""
    groups = [g for g in re.split(r"[;\n]|\)\s*,?\s*\(", text) if g.strip(" ()")]
    out = set()
    for g in groups:
        nums = re.findall(r"-?\d+", g)
        if len(nums) != 3 or re.search(r"[^\d\s,()\-]", g):
            raise ValueError(f"'{g.strip()}' is not a cell: write three whole numbers b, s, f, e.g. 0, 1, 2")
        c = tuple(int(v) for v in nums)
        if not all(0 <= v < n for v, n in zip(c, shape, strict=True)):
            raise ValueError(f"cell {c} is outside the tensor: b < {shape[0]}, s < {shape[1]}, f < {shape[2]}")
        out.add((c[0], c[1], c[2]))
    return frozenset(out)


def norm_label(key: str) -> str:
    """The answer options' labels: the table's name of each norm."""
    return NORMS[key].label


def answer_result(q: Question) -> NormResult:
    """The question's norm computed on its seeded tensor: the cube that shows the answer."""
    return normalize(make_tensor(*q.shape, seed=q.seed), q.norm, groups=q.groups if NORMS[q.norm].uses_groups else None)


def score(results: Mapping[str, Feedback]) -> str:
    """'right / checked' over the answers checked so far."""
    return f"{sum(fb.correct for fb in results.values())} / {len(results)}"


@dataclass(frozen=True)
class QuizConfig:
    """The quiz page's settings: the series (seed) and the question number in it."""

    seed: int = 1
    index: int = 1


@dataclass(frozen=True)
class QuizView:
    """What the quiz page shows for one question: the question, its checked answer (if any), the score and the
    title of the cube that shows the answer."""

    question: Question
    done: Feedback | None
    """The feedback on this question's checked answer; None while unanswered."""
    score: str
    cube_title: str | None
    """The answer cube's title; None when no cube is shown (a grid or count question not yet checked)."""
    answer_cells: frozenset[Cell] | None
    """The cells to mark on the grid once a share-cells question is checked."""


def quiz_view(cfg: QuizConfig, results: Mapping[str, Feedback]) -> QuizView:
    """Question `cfg.index` of series `cfg.seed`, with what has been checked so far (`results`, by question id)."""
    q = make_question(cfg.seed, cfg.index)
    done = results.get(q.qid)
    if q.kind == "which_norm":
        title: str | None = f"The answer: {done.expected}" if done else "Which normalization lights these cells?"
    else:
        title = f"{NORMS[q.norm].label}: the cells that share cell {q.cell}'s statistic" if done else None
    cells = shared_cells(q) if done is not None and q.kind == "share_cells" else None
    return QuizView(q, done, score(results), title, cells)
