"""The app's frozen configs: everything that determines the tensor and the norm, as primitives (cache keys).

Pure Python (no torch, no streamlit): the ui layer fills them from widgets, the package computes from them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


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
    """The chosen norm and its parameters, as primitives: normalize(x, config) runs it.

    `params` holds the row's own parameters (NORMS[key].params) as (field, value) pairs, in the row's order:
    ("groups", 4) for GroupNorm, ("alpha", 0.5) for DyT, ("warmup", True), ("scaling_groups", 0) for PowerNorm.
    """

    key: str
    eps: float = 1e-5
    gamma: float = 1.0
    beta: float = 0.0
    lengths: tuple[int, ...] = ()
    params: tuple[tuple[str, Any], ...] = ()

    def get(self, name: str, default: Any = None) -> Any:
        """The value of one of the row's parameters, or `default` when the row has no such parameter."""
        return dict(self.params).get(name, default)

    @property
    def groups(self) -> int:
        """The group count (1 for norms without groups)."""
        return int(self.get("groups", 1))

    @property
    def alpha(self) -> float:
        """DyT's α (its default for other norms)."""
        return float(self.get("alpha", 0.5))

    @property
    def warmup(self) -> bool:
        """PowerNorm: True = a warm-up step (divide by the batch's ψ²), False = divide by the running ψ²."""
        return bool(self.get("warmup", True))

    @property
    def scaling_groups(self) -> int:
        """PowerNorm's GroupScaling groups (0 = off)."""
        return int(self.get("scaling_groups", 0))


def not_a_number(parts: list[str]) -> str:
    """The first part of a typed list that is not a whole number, quoted only if it holds nothing but letters,
    digits and signs (an error message shows it, and a visitor's text must not be rendered as markup)."""
    bad = next((p for p in parts if not p.lstrip("+-").isdigit()), "")
    return repr(bad[:20]) if re.fullmatch(r"[0-9A-Za-z.+\-]+", bad) else "a part with other characters"


def parse_lengths(text: str, batch: int, sequence: int) -> tuple[int, ...]:
    """'3, 5, 2' -> one length per sequence, each 0..S; ValueError says what is valid."""
    parts = [p for p in text.replace(";", ",").replace(" ", ",").split(",") if p]
    if not parts:
        return (sequence,) * batch
    try:
        vals = tuple(int(p) for p in parts)
    except ValueError:
        raise ValueError(f"lengths must be whole numbers separated by commas, not {not_a_number(parts)}") from None
    if len(vals) == 1:
        vals = vals * batch
    if len(vals) != batch:
        raise ValueError(f"give one length per sequence: {batch} numbers (or one for all), got {len(vals)}")
    if any(not 0 <= v <= sequence for v in vals):
        raise ValueError(f"each length must be between 0 and S = {sequence}, got {list(vals)}")
    return vals
