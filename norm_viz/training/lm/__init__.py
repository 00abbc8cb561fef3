"""A tiny character-level transformer language model trained on real English (the standard library's docstrings).

torch only. `train_lm` trains a small causal decoder with the chosen norm (a key of the table, or 'none') placed pre
or post, seeded, and returns its per-step history: losses, gradient norms per layer, the batch statistics of one norm
layer (the PowerNorm paper's figure 1, measured on this run), and an honest final evaluation: eval mode with running
statistics, batch size 1, and the causal leak of batch statistics over the sequence.

Split by concern: `config` (the run's config and what it returns), `data` (sentences, batches), `model` (the
decoder), `evaluate` (the final evaluation and the causal-leak measurements), `train` (the training loop). This module
re-exports all of it, so `lm.train_lm`, `lm.CharLM`, … work as before.
"""

from __future__ import annotations

from norm_viz.training.lm.config import PLACEMENTS, FutureLeak, Leak, LMConfig, LMEval, LMHistory, LMStep
from norm_viz.training.lm.data import TextData, make_batch, text_data, unigram_loss
from norm_viz.training.lm.evaluate import (
    causal_leak,
    evaluate,
    future_leak,
    inputs_and_saturation,
    leak_batches,
    mean_loss,
)
from norm_viz.training.lm.model import Block, CharLM, layout, loss_of, param_groups
from norm_viz.training.lm.train import (
    Callback,
    lr_at,
    partial_history,
    run_lm,
    train_lm,
    uses_batch_statistics,
)

__all__ = [
    "PLACEMENTS",
    "Block",
    "Callback",
    "CharLM",
    "FutureLeak",
    "LMConfig",
    "LMEval",
    "LMHistory",
    "LMStep",
    "Leak",
    "TextData",
    "causal_leak",
    "evaluate",
    "future_leak",
    "inputs_and_saturation",
    "layout",
    "leak_batches",
    "loss_of",
    "lr_at",
    "make_batch",
    "mean_loss",
    "param_groups",
    "partial_history",
    "run_lm",
    "text_data",
    "train_lm",
    "unigram_loss",
    "uses_batch_statistics",
]
