"""The training lab's run summaries and CPU-time estimates, split by concern: `summary` (one line of the session's
runs table per run), `cost` (CPU estimates of a run); the shipped grids live in `experiments` (computing them),
`results` (reading them, the verdict rule) and `verdicts` (the pages' tables and sentences). This module re-exports
`summary` and `cost`, so `grid.estimate_lm` etc. work as before.
"""

from __future__ import annotations

from norm_viz.training.cost import (
    cnn_seconds_per_step,
    estimate_cnn,
    estimate_lm,
    lm_cost,
    lm_seconds_per_step,
    scaled_lm_step,
)
from norm_viz.training.summary import CNNSummary, LMSummary, fmt, summarize_cnn, summarize_lm

__all__ = [
    "CNNSummary",
    "LMSummary",
    "cnn_seconds_per_step",
    "estimate_cnn",
    "estimate_lm",
    "fmt",
    "lm_cost",
    "lm_seconds_per_step",
    "scaled_lm_step",
    "summarize_cnn",
    "summarize_lm",
]
