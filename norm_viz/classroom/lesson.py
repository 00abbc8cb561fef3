"""The 20-minute lesson "why LayerNorm, not BatchNorm": an ordered path over existing pages, each step with a
*predict, then reveal* question whose answer is computed by normalize() on the tensor the page shows.

No streamlit here: ui/lesson.py places the steps on the pages (app.py's begin_page), this module says what each
step asks and computes what it reveals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import Tensor

from norm_viz.core.compute import normalize
from norm_viz.core.data import default_lengths, lengths_mask
from norm_viz.core.numbers import fmt_delta, small
from norm_viz.real.view import Composition


@dataclass(frozen=True)
class LessonInput:
    """What a reveal is computed from: the page's tensor and, for the real-model step, the model's measurement."""

    x: Tensor
    described: str
    """The tensor in words, e.g. 'the seeded 4×6×8 tensor the page shows'."""
    composition: Composition | None = None
    real_problem: str = ""
    """Why the pretrained model is unavailable ('' when it is there)."""


@dataclass(frozen=True)
class Reveal:
    """The computed answer: which option is right and the numbers that show it (Markdown)."""

    answer: str
    text: str


@dataclass(frozen=True)
class Step:
    """One step of the lesson: a page, the settings it opens with, the question and how to compute its answer."""

    url_path: str
    title: str
    query: tuple[tuple[str, str], ...]
    question: str
    options: tuple[str, ...]
    reveal: Callable[[LessonInput], Reveal]
    minutes: float
    """The time a teacher spends on the step (talk, the class's guess, the reveal): an estimate."""
    uses: str = "tensor"
    """What the reveal needs: 'tensor' (the page's tensor), 'demo' (the start page's tensor) or 'real' (the model)."""


def _cells(x: Tensor, key: str, cell: tuple[int, int, int]) -> Tensor:
    """(B, S, F) bool: the cells that share `cell`'s statistic under norm `key` (from normalize's group ids)."""
    gid = normalize(x, key).group_id
    return gid == gid[cell]


def _span(lit: Tensor) -> str:
    """Which indices of each axis a set of lit cells covers, in words ('b 0–3, s 0–5, f 0')."""
    parts = []
    for name, axis in (("b", 0), ("s", 1), ("f", 2)):
        idx = lit.any(dim=tuple(a for a in range(3) if a != axis)).nonzero().flatten().tolist()
        parts.append(f"{name} {idx[0]}" if len(idx) == 1 else f"{name} {idx[0]}–{idx[-1]}")
    return ", ".join(parts)


def _shape(x: Tensor) -> str:
    return "×".join(str(n) for n in x.shape)


# ------------------------------------------------------------------ the steps' answers, computed


def _start(inp: LessonInput) -> Reveal:
    x = inp.x
    bn = int(_cells(x, "batchnorm", (0, 0, 0)).sum())
    ln = int(_cells(x, "layernorm", (0, 0, 0)).sum())
    answer = f"BatchNorm {bn}, LayerNorm {ln}"
    b, s, f = x.shape
    return Reveal(
        answer,
        f"On {inp.described} (B×S×F = {_shape(x)}): BatchNorm shares one mean among **{bn} cells** (one feature, "
        f"every token of every sequence: B·S = {b}·{s}); LayerNorm among **{ln} cells** (one token's F = {f} "
        "features). Only LayerNorm's group stays inside one token.",
    )


def _what_lit(lit: Tensor) -> str:
    """Which of the explorer step's options a set of lit cells is (a description when none is)."""
    b, s, f = lit.shape
    n = [int(lit.any(dim=tuple(a for a in range(3) if a != axis)).sum()) for axis in range(3)]
    return {
        (b, s, 1): "feature 0 of every token of every sequence",
        (1, 1, f): "one token's features",
        (1, s, f): "one whole sequence",
        (b, s, f): "every cell",
    }.get((n[0], n[1], n[2]), _span(lit))


def _explorer(inp: LessonInput) -> Reveal:
    lit = _cells(inp.x, "batchnorm", (0, 0, 0))
    return Reveal(
        _what_lit(lit),
        f"BatchNorm lights **{int(lit.sum())} cells**: {_span(lit)}. One feature, across the whole batch: changing "
        "any other sequence changes this cell's mean.",
    )


def _walkthrough(inp: LessonInput) -> Reveal:
    y = normalize(inp.x, "layernorm").output[0, 0].double()
    mean, var = float(y.mean()), float(y.var(unbiased=False))
    standard = abs(mean) < 1e-6 and abs(var - 1) < 1e-3
    return Reveal(
        "mean 0, variance 1" if standard else f"mean {small(mean)}, variance {var:.5f}",
        f"Token (b 0, s 0) after LayerNorm: mean {small(mean)}, variance {var:.5f} (ε = 1e-5 keeps it just "
        "below 1). Its own features decide both numbers; no other token enters.",
    )


_PAD_NORMS = ("batchnorm", "masked_batchnorm", "layernorm")


def padding_changes(x: Tensor) -> dict[str, float]:
    """Per norm of _PAD_NORMS: the largest change of a real token's output when the pads go from 0 to 100."""
    b, s, _ = x.shape
    mask = lengths_mask(default_lengths(b, s), s)
    moved = {}
    for key in _PAD_NORMS:
        outs = []
        for pad in (0.0, 100.0):
            xp = x.double().clone()
            xp[~mask] = pad
            outs.append(normalize(xp, key, mask=mask).output[mask])
        moved[key] = float((outs[0] - outs[1]).abs().max())
    return moved


def _padding(inp: LessonInput) -> Reveal:
    moved = padding_changes(inp.x)
    from norm_viz.core.table import NORMS

    changed = [NORMS[k].label for k, v in moved.items() if v > 1e-9]
    lines = "; ".join(f"{NORMS[k].label} {fmt_delta(v)}" for k, v in moved.items())
    return Reveal(
        "all three" if len(changed) == len(moved) else " and ".join(changed) or "none",
        f"Pad value 0 → 100, largest change of a **real** token's output: {lines}. Plain BatchNorm counts the pads; "
        "masked BatchNorm and LayerNorm never see them.",
    )


_CAUSAL_NORMS = ("batchnorm", "layernorm", "rmsnorm", "instancenorm", "layernorm_sample")


def causal_changes(x: Tensor) -> dict[str, float]:
    """Per norm of _CAUSAL_NORMS: the largest change at an earlier position when sequence 0's last token moves by
    +1 (S ≥ 2)."""
    x = x.double()
    s = x.shape[1]
    x2 = x.clone()
    x2[0, -1] += 1.0
    return {
        key: float((normalize(x, key).output - normalize(x2, key).output)[:, : s - 1].abs().max())
        for key in _CAUSAL_NORMS
    }


def _causal(inp: LessonInput) -> Reveal:
    from norm_viz.core.table import NORMS

    if inp.x.shape[1] < 2:
        return Reveal("—", "This tensor has one token per sequence: set S ≥ 2 to have a past.")
    moved = causal_changes(inp.x)
    leak = {k for k, v in moved.items() if v > 0}
    per_token = {k for k in _CAUSAL_NORMS if NORMS[k].reduce and set(NORMS[k].reduce) <= {"group", "feature"}}
    lines = "; ".join(f"{NORMS[k].label} {fmt_delta(v)}" for k, v in moved.items())
    options = {
        frozenset({"batchnorm"}): "BatchNorm only",
        frozenset(_CAUSAL_NORMS): "every norm",
        frozenset(set(_CAUSAL_NORMS) - per_token): "the norms that average over tokens (not LayerNorm, not RMSNorm)",
        frozenset(): "none",
    }
    return Reveal(
        options.get(frozenset(leak), ", ".join(NORMS[k].label for k in _CAUSAL_NORMS if k in leak)),
        f"Last token of sequence 0 changed by +1; largest change at an **earlier** position: {lines}. "
        "A per-token norm cannot look ahead; the others would let training see the future.",
    )


YES_NO_MOVE = ("BatchNorm's output moves; LayerNorm's does not", "both move", "neither moves")


def _moves(bn: float, ln: float, tol: float = 1e-9) -> str:
    """The option of YES_NO_MOVE that two measured changes make true (float32 model: tol 1e-5)."""
    if bn > tol:
        return YES_NO_MOVE[1] if ln > tol else YES_NO_MOVE[0]
    return "LayerNorm's output moves; BatchNorm's does not" if ln > tol else YES_NO_MOVE[2]


def alone_changes(x: Tensor) -> tuple[float, float]:
    """How far example 0's output moves when it runs alone instead of in its batch: BatchNorm (training mode) and
    LayerNorm (S ≥ 2: one value per feature has no variance)."""
    x = x.double()

    def moved(key: str) -> float:
        return float((normalize(x, key).output[0] - normalize(x[:1], key).output[0]).abs().max())

    return moved("batchnorm"), moved("layernorm")


def _train_eval(inp: LessonInput) -> Reveal:
    b, s, _ = inp.x.shape
    if s < 2:
        return Reveal(
            "—",
            "One example of one token has one value per feature: BatchNorm in training mode cannot compute a "
            "variance ('Expected more than 1 value per channel when training').",
        )
    d, ln = alone_changes(inp.x)
    return Reveal(
        _moves(d, ln),
        f"Example 0 alone vs in its batch of {b}: BatchNorm (training mode) moves by up to **{d:.3g}**, LayerNorm by "
        f"{fmt_delta(ln)}. At inference BatchNorm switches to running averages instead, which only help while they "
        "match the data.",
    )


def _real(inp: LessonInput) -> Reveal:
    cp = inp.composition
    if cp is None:
        return Reveal(
            "—", f"The pretrained model is not installed here, so this step cannot measure it: {inp.real_problem}"
        )
    ln = "exactly 0" if cp.ln_change == 0 else fmt_delta(cp.ln_change)
    return Reveal(
        _moves(cp.bn_change, cp.ln_change, tol=1e-5),
        f"All-MiniLM-L6-v2, layer {cp.layer}: the sentence “{cp.sentence[:40]}” in {cp.n_batches} batches of "
        f"{cp.batch_size} with different companions. Masked BatchNorm moves its output by up to "
        f"**{cp.bn_change:.3g}**; the model's own LayerNorm by {ln}.",
    )


STEPS: tuple[Step, ...] = (
    Step(
        "start",
        "Start",
        (),
        "How many cells share one mean with a given cell: under BatchNorm, and under LayerNorm?",
        ("BatchNorm 24, LayerNorm 8", "BatchNorm 8, LayerNorm 24", "BatchNorm 4, LayerNorm 6", "both 192"),
        _start,
        2.5,
        uses="demo",
    ),
    Step(
        "explorer",
        "Explorer",
        (("norm", "batchnorm"), ("cb", "0"), ("cs", "0"), ("cf", "0")),
        "BatchNorm, cell (b 0, s 0, f 0): which cells light up?",
        (
            "one token's features",
            "feature 0 of every token of every sequence",
            "one whole sequence",
            "every cell",
        ),
        _explorer,
        3.0,
    ),
    Step(
        "walkthrough",
        "Walkthrough",
        (("norm", "layernorm"), ("cb", "0"), ("cs", "0"), ("cf", "0")),
        "After LayerNorm, what are the mean and variance of token (b 0, s 0)'s features?",
        ("mean 0, variance 1", "the input's own mean and variance", "it depends on the other tokens"),
        _walkthrough,
        3.0,
    ),
    Step(
        "padding",
        "Padding",
        (("norm", "batchnorm"),),
        "The pads' value goes from 0 to 100: whose outputs for the real tokens change?",
        ("BatchNorm", "BatchNorm and masked BatchNorm", "LayerNorm", "all three"),
        _padding,
        3.0,
    ),
    Step(
        "causal",
        "Causal",
        (("norm", "batchnorm"),),
        "Change the last token of sequence 0: which norms change an earlier token's output?",
        ("BatchNorm only", "every norm", "the norms that average over tokens (not LayerNorm, not RMSNorm)", "none"),
        _causal,
        3.0,
    ),
    Step(
        "train-eval",
        "Train vs eval",
        (("norm", "batchnorm"),),
        "Run example 0 alone instead of in its batch (training mode): does its output change?",
        YES_NO_MOVE,
        _train_eval,
        3.0,
    ),
    Step(
        "real-model",
        "Real model",
        (),
        "A real transformer: one sentence with different batch companions. Whose output moves?",
        YES_NO_MOVE,
        _real,
        2.5,
        uses="real",
    ),
)
"""The lesson path, in order: Start → Explorer → Walkthrough → Padding → Causal → Train vs eval → Real model."""

PARAM = "lesson"
"""The URL parameter holding the step (1 … len(STEPS)); 0 or absent: no lesson."""


def parse_step(raw: str) -> int:
    """The step number of a URL value; ValueError naming the valid range."""
    try:
        k = int(raw)
    except ValueError:
        raise ValueError(f"lesson must be a whole number from 0 to {len(STEPS)}") from None
    if not 0 <= k <= len(STEPS):
        raise ValueError(f"lesson must be from 0 (no lesson) to {len(STEPS)}, got {k}")
    return k


def step_query(k: int, present: bool) -> dict[str, str]:
    """The query parameters of step k's link: its page's settings, the step, presentation mode."""
    q = dict(STEPS[k - 1].query) | {PARAM: str(k)}
    return q | ({"present": "1"} if present else {})


def total_minutes() -> float:
    """The lesson's estimated length in minutes."""
    return sum(s.minutes for s in STEPS)


def is_right(guess: str, reveal: Reveal) -> bool | None:
    """Whether a guess (one of the step's options) is the computed answer; None when nothing could be computed."""
    if reveal.answer == "—":
        return None
    return guess == reveal.answer
