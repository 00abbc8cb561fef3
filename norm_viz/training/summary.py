"""One line of the training lab's session runs table per run (LM or ConvNet) and the number format of its cells.
torch only through the histories (no streamlit, no plotly)."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from norm_viz.training import cnn, lm


@dataclass(frozen=True)
class LMSummary:
    """One LM run in a line of the results table."""

    norm: str
    placement: str
    seed: int
    steps: int
    train_loss: float
    """Mean training loss of the last 10% of the steps (training-mode statistics)."""
    val_loss: float | None
    """Final validation loss in eval mode (running statistics)."""
    val_loss_train_mode: float | None
    val_loss_batch1: float | None
    leak_gap: float | None
    leak_abs: float | None
    future_leak_abs: float | None
    """Mean |Δ loss| per token when the batch's future is swapped (lm.FutureLeak): 0 for a causal model."""
    cpu_s: float
    stopped: bool


@dataclass(frozen=True)
class CNNSummary:
    """One ConvNet run."""

    norm: str
    batch_size: int
    seed: int
    epochs: int
    val_error: float | None
    val_error_train_mode: float | None
    train_error: float | None
    cpu_s: float
    stopped: bool


def summarize_lm(h: lm.LMHistory) -> LMSummary:
    """The table line of an LM run."""
    tail = h.steps[-max(1, len(h.steps) // 10) :]
    f = h.final
    return LMSummary(
        norm=h.config.norm,
        placement=h.config.placement,
        seed=h.config.seed,
        steps=len(h.steps),
        train_loss=statistics.fmean(s.train_loss for s in tail),
        val_loss=h.last_val,
        val_loss_train_mode=f.val_loss_train_mode if f else None,
        val_loss_batch1=f.val_loss_batch1 if f else None,
        leak_gap=f.leak.gap if f else None,
        leak_abs=f.leak.mean_abs_diff if f else None,
        future_leak_abs=f.future.mean_abs_diff if f and f.future else None,
        cpu_s=h.cpu_s,
        stopped=h.stopped,
    )


def summarize_cnn(h: cnn.CNNHistory) -> CNNSummary:
    """The table line of a ConvNet run."""
    c = h.config
    return CNNSummary(
        c.norm, c.batch_size, c.seed, c.epochs, h.val_error, h.val_error_train_mode, h.train_error, h.cpu_s, h.stopped
    )


def fmt(v: float | None, digits: int = 3) -> str:
    return "—" if v is None or not math.isfinite(v) else f"{v:.{digits}f}"
