"""The app's frozen configs: everything that determines the tensor and the norm, as primitives (cache keys).

Pure Python (no torch, no streamlit): the ui layer fills them from widgets, the package computes from them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TensorConfig:
    """Everything that determines the input tensor, as primitives (the cache key)."""

    source: str
    batch: int
    sequence: int
    features: int
    kind: str = "normal"
    seed: int = 0
    scale: float = 1.0
    shift: float = 0.0
    preset: str = "d2l"
    upload_digest: str = ""

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.batch, self.sequence, self.features


@dataclass(frozen=True)
class NormConfig:
    """The chosen norm and its parameters, as primitives."""

    key: str
    groups: int
    eps: float
    gamma: float
    beta: float
    lengths: tuple[int, ...] = ()
    alpha: float = 0.5
    """DyT's α."""
    warmup: bool = True
    """PowerNorm: True = warm-up step (divide by the batch's ψ²), False = divide by the running ψ²."""
    scaling_groups: int = 0
    """PowerNorm's GroupScaling groups (0 = off)."""


def parse_lengths(text: str, batch: int, sequence: int) -> tuple[int, ...]:
    """'3, 5, 2' -> one length per sequence, each 0..S; ValueError says what is valid."""
    parts = [p for p in text.replace(";", ",").replace(" ", ",").split(",") if p]
    if not parts:
        return (sequence,) * batch
    try:
        vals = tuple(int(p) for p in parts)
    except ValueError:
        raise ValueError(f"lengths must be whole numbers separated by commas, got {text!r}") from None
    if len(vals) == 1:
        vals = vals * batch
    if len(vals) != batch:
        raise ValueError(f"give one length per sequence: {batch} numbers (or one for all), got {len(vals)}")
    if any(not 0 <= v <= sequence for v in vals):
        raise ValueError(f"each length must be between 0 and S = {sequence}, got {list(vals)}")
    return vals
