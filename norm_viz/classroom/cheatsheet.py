"""The one-page cheat sheet: the five things interviewers ask (axes, batch size 1 and eval mode, padding, causal
decoding, multi-device) plus γ/β's role and why normalize at all. Every number in it is computed here, on a seeded
tensor, by normalize() and torch.nn. No streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from norm_viz.classroom.lesson import alone_changes, causal_changes, padding_changes
from norm_viz.core.compute import normalize
from norm_viz.core.data import make_tensor
from norm_viz.core.numbers import fmt, fmt_delta, small
from norm_viz.core.table import NORMS

SHAPE = (4, 6, 8)
"""(B, S, F) of the tensor the sheet's numbers are measured on (seed 0): the sidebar's default tensor."""
SEED = 0
MAIN = ("batchnorm", "layernorm", "instancenorm", "groupnorm", "rmsnorm")
"""The norms of the axis table: the ones interviewers name."""


@dataclass(frozen=True)
class Section:
    """One box of the sheet: a heading, its lines in Markdown, and the page that shows it live."""

    title: str
    lines: tuple[str, ...]
    page: str = ""


def _x() -> torch.Tensor:
    return make_tensor(*SHAPE, "normal", SEED)


def axes_rows() -> list[dict[str, str]]:
    """The axis table of the main norms, with the cells one statistic covers on the sheet's tensor (computed)."""
    from norm_viz.classroom.cards import axis_rows

    x = _x()
    rows = []
    for r in axis_rows(SHAPE):
        if r["key"] not in MAIN:
            continue
        rows.append(
            {
                "norm": r["norm"],
                "one statistic per": r["per"],
                "averages over": r["over"],
                f"cells per statistic ({'×'.join(map(str, SHAPE))})": str(normalize(x, r["key"]).group_size),
                "subtracts the mean": r["centered"],
            }
        )
    return rows


def _batch1_refusal() -> str:
    """What PyTorch says when BatchNorm in training mode gets one value per feature (run, not quoted)."""
    bn = torch.nn.BatchNorm1d(SHAPE[2])
    try:
        bn(torch.ones(1, SHAPE[2]))
    except ValueError as e:
        return str(e).split(",")[0]
    return "no error"


def _gamma_beta() -> tuple[float, float]:
    """LayerNorm with γ = 2, β = 1 on the sheet's tensor: the mean and standard deviation of one token's output."""
    y = normalize(_x(), "layernorm", weight=torch.full((SHAPE[2],), 2.0), bias=torch.ones(SHAPE[2])).output[0, 0]
    return float(y.mean()), float(y.double().var(unbiased=False).sqrt())


def depth_growth(layers: int = 24, width: int = 64, gain: float = 1.5, seed: int = 0) -> tuple[float, float]:
    """RMS of the activations after `layers` random linear layers (weights of gain/√width), without and with a
    LayerNorm after each: why normalize at all."""
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(32, width, generator=g, dtype=torch.float64)
    plain, normed = h, h
    for _ in range(layers):
        w = torch.randn(width, width, generator=g, dtype=torch.float64) * gain / width**0.5
        plain = plain @ w
        normed = torch.nn.functional.layer_norm(normed @ w, (width,))
    rms = lambda t: float(t.pow(2).mean().sqrt())  # noqa: E731
    return rms(plain), rms(normed)


def _multi_device() -> tuple[float, int]:
    """Per-device BatchNorm on 2 shards vs the whole batch (largest |Δ|), and SyncBatchNorm's numbers per layer."""
    x = _x()
    whole = normalize(x, "batchnorm").output
    half = SHAPE[0] // 2
    shards = torch.cat([normalize(x[:half], "batchnorm").output, normalize(x[half:], "batchnorm").output])
    return float((whole - shards).abs().max()), 4 * SHAPE[2] + 1


def sections() -> tuple[Section, ...]:
    """The sheet, box by box, every number computed now."""
    b, _, f = SHAPE
    x = _x()
    bn_alone, ln_alone = alone_changes(x)
    pad = _changes(padding_changes(x))
    causal = _changes(causal_changes(x))
    mean, std = _gamma_beta()
    plain, normed = depth_growth()
    dev, numbers = _multi_device()
    return (
        Section(
            "1. Axes: which values share one mean and variance",
            (
                "x has shape (batch B, sequence S, features F). **LayerNorm** (transformers): per token, over its F "
                "features. **BatchNorm**: per feature, over every token of the batch (B·S values).",
            ),
            "explorer",
        ),
        Section(
            "2. Batch size 1 and eval mode",
            (
                f"BatchNorm in training mode, one example alone vs in its batch of {b}: output moves by up to "
                f"**{fmt_delta(bn_alone)}**; LayerNorm: {fmt_delta(ln_alone)}.",
                f"One value per feature: PyTorch refuses (“{_batch1_refusal()}”). In eval mode BatchNorm uses running "
                "averages instead: right only while they match the data. LayerNorm computes the same in both modes.",
            ),
            "train-eval",
        ),
        Section(
            "3. Padding and variable lengths",
            (
                f"Pads 0 → 100, largest change of a real token's output: {pad}. Mask the pads out of BatchNorm, or use a per-token norm.",
            ),
            "padding",
        ),
        Section(
            "4. Causal decoding",
            (
                f"A later token changed by +1, largest change at an earlier position: {causal}. Per-token norms cannot look ahead, so training and one-token-at-a-time generation agree.",
            ),
            "causal",
        ),
        Section(
            "5. Multi-device (data parallel)",
            (
                f"Per-device BatchNorm on 2 shards differs from the whole batch by up to **{fmt_delta(dev)}**. "
                f"SyncBatchNorm exchanges 2·F + 1 numbers per layer forward and 2·F backward ({numbers} for F = {f}); "
                "LayerNorm exchanges nothing.",
            ),
            "multi-device",
        ),
        Section(
            "γ and β: why a norm has parameters",
            (
                "y = γ·x̂ + β per feature: after normalizing, the layer learns back the scale and shift it needs "
                "(it can even undo the normalization). LayerNorm with γ = 2, β = 1: a token's output has mean "
                f"{small(mean - 1) if abs(mean - 1) >= 1e-6 else '1'} and std {fmt(std)} instead of 0 and 1.",
            ),
            "explorer",
        ),
        Section(
            "Why normalize at all",
            (
                f"24 random linear layers (gain 1.5): activations' RMS grows to **{plain:,.0f}** without normalization, "
                f"stays at **{normed:.2f}** with a LayerNorm after each layer. A fixed scale keeps gradients usable "
                "and learning rates transferable across depth.",
            ),
            "placement",
        ),
    )


def _changes(moved: dict[str, float]) -> str:
    """'BatchNorm 2.98; LayerNorm 0' from measured changes per norm key."""
    return "; ".join(f"{NORMS[k].label} {fmt_delta(v)}" for k, v in moved.items())


def markdown() -> str:
    """The sheet as one Markdown file (the page's download), axis table included."""
    rows = axes_rows()
    heads = list(rows[0])
    out = ["# Normalization cheat sheet (norm-viz)", ""]
    for sec in sections():
        out += [f"## {sec.title}", ""]
        if sec.title.startswith("1."):
            out += ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
            out += ["| " + " | ".join(r[h] for h in heads) + " |" for r in rows]
            out.append("")
        out += [*sec.lines, ""]
    out.append(f"Numbers computed by norm-viz on a seeded {'×'.join(map(str, SHAPE))} tensor (seed {SEED}).")
    return "\n".join(out)


__all__ = ["MAIN", "NORMS", "SHAPE", "Section", "axes_rows", "depth_growth", "markdown", "sections"]
