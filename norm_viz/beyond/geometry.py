"""The geometry of normalization: a cloud of tokens with F = 2 or 3 features before and after LayerNorm, RMSNorm
and BatchNorm, measured (lengths, distance from the plane ⟂ (1, …, 1), per-feature spread).

torch only (no streamlit, no plotly); the page's one call is `geometry_view`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from norm_viz.core.compute import normalize
from norm_viz.core.table import NORMS


@dataclass(frozen=True, eq=False)
class Geometry:
    """A cloud of tokens in F = 2 or 3 dimensions before and after each normalization."""

    tokens: Tensor
    """(n, F) the input tokens."""
    centered: Tensor
    """(n, F) each token minus its own mean: its projection onto the plane ⟂ (1, …, 1)."""
    layernorm: Tensor
    rmsnorm: Tensor
    batchnorm: Tensor

    @property
    def features(self) -> int:
        return int(self.tokens.shape[1])

    def norms(self, name: str) -> Tensor:
        """Euclidean length of every token of one cloud."""
        return torch.linalg.vector_norm(getattr(self, name), dim=1)

    def output(self, name: str) -> Tensor:
        """The cloud after one of GEOMETRY_NORMS."""
        return getattr(self, name)

    def along_ones(self, name: str) -> Tensor:
        """Each token's component along (1, …, 1)/√F: 0 means the token lies on the plane."""
        return getattr(self, name).sum(1) / math.sqrt(self.features)


def token_cloud(n: int, features: int, seed: int = 0, shift: float = 1.0, stretch: float = 2.0) -> Tensor:
    """n seeded tokens in F dimensions: a stretched, rotated Gaussian cloud moved by `shift` along (1, 0.5, …)."""
    if features not in (2, 3):
        raise ValueError(f"the geometry view draws F = 2 or 3 features, got {features}")
    if n < 2:
        raise ValueError(f"at least 2 tokens are needed (BatchNorm averages over them), got {n}")
    g = torch.Generator().manual_seed(int(seed))
    z = torch.randn(n, features, generator=g, dtype=torch.float64)
    scales = torch.linspace(stretch, 1.0, features, dtype=torch.float64)
    q, _ = torch.linalg.qr(torch.randn(features, features, generator=g, dtype=torch.float64))
    direction = torch.linspace(1.0, 0.5, features, dtype=torch.float64)
    return (z * scales) @ q.T + shift * direction


def geometry(tokens: Tensor, eps: float = 1e-6) -> Geometry:
    """LayerNorm, RMSNorm and BatchNorm of a token cloud (n, F), all through normalize()."""
    x = tokens[None]  # one sequence of n tokens
    return Geometry(
        tokens,
        tokens - tokens.mean(1, keepdim=True),
        normalize(x, "layernorm", eps).normalized[0],
        normalize(x, "rmsnorm", eps).normalized[0],
        normalize(x, "batchnorm", eps).normalized[0],
    )


GEOMETRY_NORMS: dict[str, str] = {k: NORMS[k].label for k in ("layernorm", "rmsnorm", "batchnorm")}
"""The norms the geometry view draws, with their labels."""


@dataclass(frozen=True)
class GeometryConfig:
    """The geometry page's settings: a seeded token cloud and the norm to show."""

    features: int = 3
    norm: str = "layernorm"
    tokens: int = 60
    shift: float = 1.0
    stretch: float = 1.5
    seed: int = 0


@dataclass(frozen=True, eq=False)
class GeometryView:
    """What the geometry page shows: the clouds, the chosen norm's token lengths and the takeaway in words."""

    geometry: Geometry
    norm: str
    shortest: float
    longest: float
    off_plane: float
    """Largest |component along (1, …, 1)/√F| after the norm: 0 means every token has mean 0."""
    feature_stds: tuple[float, ...]
    takeaway: str

    @property
    def features(self) -> int:
        return self.geometry.features

    @property
    def radius(self) -> float:
        """√F: the length every token has after a per-token norm."""
        return math.sqrt(self.features)


def geometry_view(cfg: GeometryConfig) -> GeometryView:
    """The token cloud of `cfg` through its norm, measured, with a takeaway that follows the numbers."""
    if cfg.norm not in GEOMETRY_NORMS:
        raise ValueError(f"unknown norm {cfg.norm!r}; the geometry view shows {', '.join(GEOMETRY_NORMS)}")
    geo = geometry(token_cloud(cfg.tokens, cfg.features, cfg.seed, cfg.shift, cfg.stretch))
    lengths = geo.norms(cfg.norm)
    lo, hi, mean = float(lengths.min()), float(lengths.max()), float(lengths.mean())
    off_plane = float(geo.along_ones(cfg.norm).abs().max())
    stds = tuple(float(v) for v in geo.output(cfg.norm).std(0, correction=0).tolist())
    takeaway = geometry_takeaway(cfg.norm, cfg.features, lo, hi, mean, off_plane, stds)
    return GeometryView(geo, cfg.norm, lo, hi, off_plane, stds, takeaway)


def geometry_takeaway(
    norm: str, features: int, shortest: float, longest: float, mean: float, off_plane: float, stds: Sequence[float]
) -> str:
    """What the norm did to the cloud, in words, from its numbers: a norm with batch statistics standardizes each
    axis (no sphere); a per-token norm puts tokens at length √F, on the plane ⟂ (1, …, 1) when it centers."""
    spec = NORMS[norm]
    lo, hi, f = shortest, longest, features
    if "batch" in spec.reduce:
        return (
            f"after {spec.label} the tokens' lengths range from {lo:.2f} to {hi:.2f}: no sphere. Instead each feature "
            f"has mean 0 and std {', '.join(f'{v:.3f}' for v in stds)} across the tokens — the cloud is standardized "
            "axis by axis."
        )
    if spec.centered:
        return (
            f"after {spec.label} every token has length {mean:.4f} (spread {hi - lo:.1e}) = √{f} and lies on the "
            f"plane (largest distance {off_plane:.1e}): {'two points' if f == 2 else 'a circle'}, the sphere ∩ the plane."
        )
    return (
        f"after {spec.label} every token has length {mean:.4f} (spread {hi - lo:.1e}) = √{f}, but it keeps "
        f"its direction, so it can sit anywhere on the sphere (largest distance from the plane {off_plane:.2f})."
    )
