"""The "real sentences" tensor source without streamlit: its URL parameters, the sentences box's parsing, the
batch it holds and which of the model's features the shared views show (norm_viz/ui/real.py is its sidebar)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from norm_viz.core.params import Param
from norm_viz.real import minilm as real
from norm_viz.real import smollm
from norm_viz.real.common import MODELS

MAX_VIEW_F = 64
"""Features the shared views show at most (the sidebar's F limit)."""
MAX_VIEW_S = 32
"""Token positions the shared views show at most."""
MAX_TEXT = 4000
"""Characters in the sentences box (each sentence is cut at 128 tokens anyway)."""
DEFAULT_TEXT = "\n".join(real.DEFAULT_SENTENCES)
SITE_LABELS = {"embeddings": "embeddings", "attention": "after attention", "ffn": "after FFN"}
SMOL_SITE_LABELS = {"attention": "before attention", "ffn": "before FFN", "final": "output norm"}
MODEL_LABELS = {
    "minilm": "MiniLM: BERT encoder, post-LayerNorm",
    "smollm2-135m": "SmolLM2-135M: LLaMA decoder, pre-RMSNorm",
}
HIDDEN = {"minilm": real.HIDDEN, "smollm2-135m": smollm.HIDDEN}
N_LAYERS = {"minilm": real.N_LAYERS, "smollm2-135m": smollm.N_LAYERS}
SITES = {"minilm": SITE_LABELS, "smollm2-135m": SMOL_SITE_LABELS}
"""Per model: its width, its layers and its norm sites as the sidebar names them."""
FEATURE_MODES = {
    "outliers": "the biggest outliers (largest |x|)",
    "topvar": "the most variable (largest variance)",
    "window": "a window of consecutive features",
}


def _text(raw: str) -> str:
    """URL parser of the sentences: any text up to MAX_TEXT characters."""
    if len(raw) > MAX_TEXT:
        raise ValueError(f"at most {MAX_TEXT} characters of sentences, got {len(raw)}")
    return raw


REAL_PARAMS: tuple[Param, ...] = (
    Param("rl_text", "", parser=_text),  # empty = the default set, so the URL stays short until you write your own
    Param("rl_model", "minilm", options=MODELS),
    Param("rl_layer", 0, 0, max(N_LAYERS.values()) - 1),
    Param("rl_site", "ffn", options=("embeddings", "attention", "ffn", "final")),
    Param("rl_feat", "outliers", options=tuple(FEATURE_MODES)),
    Param("rl_nf", 16, 1, MAX_VIEW_F),
    Param("rl_f0", 0, 0, max(HIDDEN.values()) - 1),
)
"""The real-sentences source's parameters (part of the shared tensor parameters)."""


@dataclass(frozen=True, eq=False)
class RealBatch:
    """A LayerNorm's input on the sentences (all 384 features) and what the tokenizer did."""

    x: np.ndarray
    mask: np.ndarray
    tokens: list[list[str]]
    notes: tuple[str, ...]
    name: str


def parse_sentences(text: str) -> tuple[list[str], list[str]]:
    """One sentence per non-empty line; returns (sentences, problems) and keeps at most 16."""
    lines = [ln.strip() for ln in text.splitlines()]
    sents = [ln for ln in lines if ln]
    problems = []
    if not sents:
        problems.append("Write at least one sentence (one per line): showing the default sentences instead.")
        return list(real.DEFAULT_SENTENCES), problems
    if len(sents) > real.MAX_SENTENCES:
        problems.append(
            f"At most {real.MAX_SENTENCES} sentences (one per line), got {len(sents)}: using the first {real.MAX_SENTENCES}."
        )
        sents = sents[: real.MAX_SENTENCES]
    return sents, problems


def choose_features(x: np.ndarray, mask: np.ndarray, mode: str, n: int, start: int) -> np.ndarray:
    """Indices (sorted) of the n features to show: the biggest outliers, the most variable, or a window."""
    f = x.shape[-1]
    n = max(1, min(n, f))
    if mode == "window":
        start = max(0, min(start, f - n))
        return np.arange(start, start + n)
    rows = x[mask]
    score = np.abs(rows).max(0) if mode == "outliers" else rows.var(0)
    return np.sort(np.argsort(-score, kind="stable")[:n])
