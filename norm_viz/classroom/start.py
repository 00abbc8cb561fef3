"""The start page: why do transformers use LayerNorm and not BatchNorm? Answered in one scroll from live numbers.

The D2L worked example (LN and BN outputs computed by normalize() and checked against torch.nn), then the four
transformer properties, each with one number measured by the checks of norm_viz.questions on a small seeded tensor
and the page that goes deeper. torch only (no streamlit, no plotly): pages/start.py renders it.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from norm_viz.core.compute import NormResult, Verification, normalize, verify
from norm_viz.core.data import PRESETS, default_lengths, make_tensor
from norm_viz.core.numbers import fmt_delta, tex
from norm_viz.core.table import NORMS
from norm_viz.questions.causal import causal_leakage
from norm_viz.questions.dependence import batch_dependence
from norm_viz.questions.padding import padding_effect
from norm_viz.questions.train_eval import train_vs_eval

DEMO_SHAPE = (4, 6, 8)
"""The tensor the property numbers are measured on: the sidebar's default (4 sequences × 6 tokens × 8 features)."""
DEMO_SEED = 0
CUBE_CELL = (1, 2, 5)
"""The cell whose statistic the cubes at the top light (any cell would do; this one is inside the cube)."""
PAIR = ("batchnorm", "layernorm")
EXAMPLE_CELL = (0, 0, 1)
"""The worked example's cell whose arithmetic is shown: x = 2, the second feature of the first example."""


@dataclass(frozen=True)
class Side:
    """One norm on the worked example: its output as rows (batch items) × features, one cell's arithmetic, the check."""

    key: str
    label: str
    output: tuple[tuple[float, ...], ...]
    matrix: str
    """The output as a LaTeX bmatrix."""
    arithmetic: str
    """One cell's arithmetic in LaTeX, with the numbers plugged in."""
    shares: str
    """Which values share one statistic, in words."""
    check: Verification


@dataclass(frozen=True)
class WorkedExample:
    """The D2L example X = [[1, 2], [2, 3]] under BatchNorm and LayerNorm."""

    label: str
    source: str
    input: tuple[tuple[float, ...], ...]
    matrix: str
    sides: tuple[Side, ...]


@dataclass(frozen=True)
class Property:
    """One transformer property: the question, the number the check measured for BN and LN, and where to go deeper."""

    key: str
    title: str
    question: str
    batchnorm: float | None
    layernorm: float | None
    finding: str
    """The measured numbers in a sentence (markdown)."""
    url_path: str
    link: str


@dataclass(frozen=True)
class StartView:
    """Everything the start page shows besides the cube."""

    shape: tuple[int, int, int]
    answer: str
    example: WorkedExample
    properties: tuple[Property, ...]
    measured_on: str


def demo_tensor() -> Tensor:
    """The seeded tensor the property numbers are measured on."""
    return make_tensor(*DEMO_SHAPE, "normal", DEMO_SEED)


def _rows(t: Tensor) -> tuple[tuple[float, ...], ...]:
    """A (B, 1, F) tensor as rows (batch items) × features."""
    return tuple(tuple(float(v) for v in row) for row in t.reshape(-1, t.shape[-1]).tolist())


def bmatrix(rows: tuple[tuple[float, ...], ...], digits: int = 4) -> str:
    """Rows of numbers as a LaTeX bmatrix."""
    return r"\begin{bmatrix}" + r" \\ ".join(" & ".join(tex(v, digits) for v in r) for r in rows) + r"\end{bmatrix}"


def cell_arithmetic(r: NormResult, cell: tuple[int, int, int]) -> str:
    """y = (x − μ) / √(σ² + ε) for one cell, with its group's values and numbers plugged in (LaTeX)."""
    c = r.cell(*cell)
    members = r.input[r.group_id == c["group"]].tolist()
    values = " + ".join(tex(v) for v in members)
    return (
        rf"\mu = \tfrac{{{values}}}{{{c['n']}}} = {tex(c['mean'])},\quad "
        rf"\sigma^2 = {tex(c['var'])},\quad "
        rf"y = \frac{{{tex(c['x'])} - {tex(c['mean'], paren=True)}}}{{\sqrt{{{tex(c['var'])} + {tex(r.eps)}}}}}"
        rf" = {tex(c['y'], 6)}"
    )


def d2l_example() -> WorkedExample:
    """D2L's X = [[1, 2], [2, 3]] (two examples, two features) normalized by BatchNorm and by LayerNorm, live."""
    p = PRESETS["d2l"]
    x = p.tensor()
    shares = {
        "batchnorm": "each **feature (column)** over the batch: one μ, σ² per column",
        "layernorm": "each **example (row)** over its own features: one μ, σ² per row",
    }
    sides = []
    for key in PAIR:
        r = normalize(x, key)
        out = _rows(r.output)
        sides.append(
            Side(key, NORMS[key].label, out, bmatrix(out, 3), cell_arithmetic(r, EXAMPLE_CELL), shares[key], verify(r))
        )
    rows = _rows(x)
    return WorkedExample(p.label, p.source, rows, bmatrix(rows), tuple(sides))


def _pair(values: dict[str, float | None]) -> tuple[float | None, float | None]:
    return values.get("batchnorm"), values.get("layernorm")


def transformer_properties(x: Tensor) -> tuple[Property, ...]:
    """The four properties, each measured by its check in norm_viz.questions on x (BatchNorm and LayerNorm only)."""
    b, s, _ = x.shape
    dep = batch_dependence(x, 0, 1, keys=PAIR)
    bn, ln = _pair({k: dep.largest(k) for k in PAIR})
    props = [
        Property(
            "batch",
            "Batch dependence",
            "Does my sentence's output change when another sentence in the batch changes?",
            bn,
            ln,
            f"Rescaling sequence 1 (×0 … ×10) moved sequence 0's output by up to **{fmt_delta(bn)}** under BatchNorm "
            f"and by **{fmt_delta(ln)}** under LayerNorm.",
            "batch-dependence",
            "Batch dependence: change another sample and watch yours",
        )
    ]
    lengths = default_lengths(b, s)
    pad = padding_effect(x, lengths, keys=PAIR)
    bn, ln = _pair({k: pad.row(k).max_diff for k in PAIR})
    props.append(
        Property(
            "padding",
            "Padding",
            "Do the pad tokens of short sentences change the real tokens' outputs?",
            bn,
            ln,
            f"Padding sequences to lengths {', '.join(map(str, lengths))} ({pad.pads} pad tokens) moved the real tokens' "
            f"outputs by up to **{fmt_delta(bn)}** under BatchNorm and **{fmt_delta(ln)}** under LayerNorm.",
            "padding",
            "Padding: which norms the pads reach",
        )
    )
    cz = causal_leakage(x, (0, s - 1), keys=PAIR)
    bn, ln = _pair({k: cz.leaks(k).get("past") for k in PAIR})
    props.append(
        Property(
            "causal",
            "Causal leakage",
            "In a decoder, can the last token change the outputs of earlier tokens?",
            bn,
            ln,
            f"Changing the last token (position {s - 1}) moved earlier positions by up to **{fmt_delta(bn)}** under "
            f"BatchNorm and **{fmt_delta(ln)}** under LayerNorm: BatchNorm's mean lets the future leak into the past.",
            "causal",
            "Causal leakage: a map of which outputs move",
        )
    )
    first = normalize(x.double(), "batchnorm")  # one training step, so eval mode has running statistics to use
    mode = train_vs_eval(x, 0, first.running_mean, first.running_var, keys=PAIR)
    bn, ln = _pair({k: mode.row(k).train_eval_diff for k in PAIR})
    alone = mode.row("batchnorm")
    one = (
        f"run alone (batch size 1) its output changes by **{fmt_delta(alone.alone_train_diff)}**"
        if alone.alone_train_error is None
        else "run alone (batch size 1) it cannot train at all"
    )
    props.append(
        Property(
            "train_eval",
            "Train vs eval, batch size 1",
            "Does the model compute the same thing in training and at inference, one sentence at a time?",
            bn,
            ln,
            f"After one training step, BatchNorm's eval-mode output differs from its training-mode output by "
            f"**{fmt_delta(bn)}**, and {one}; LayerNorm's by **{fmt_delta(ln)}**.",
            "train-eval",
            "Train vs eval: running statistics and batch size 1",
        )
    )
    return tuple(props)


def start_view() -> StartView:
    """The start page's numbers: the D2L example and the four properties on the demo tensor."""
    x = demo_tensor()
    b, s, f = x.shape
    return StartView(
        (b, s, f),
        "LayerNorm computes one mean and variance **per token, over that token's own features**; BatchNorm computes "
        "them **per feature, over every token of the batch**. So under LayerNorm a token's output depends on nothing "
        "but the token — not on the other sentences, the padding, the later tokens or the batch size — and training "
        "and inference compute the same thing. Each number below is measured live, not typed in.",
        d2l_example(),
        transformer_properties(x),
        f"Measured on a seeded tensor of {b} sequences × {s} tokens × {f} features (the sidebar's default), "
        "by the same checks the linked pages run.",
    )
