"""DyT's motivation: trained LayerNorm layers map input to output along tanh-shaped S-curves, because tokens
with larger values have larger σ (Zhu, Chen, He, LeCun & Liu, 2025). Here, on tokens of log-normal scales.

torch only (no streamlit, no plotly); the norm itself is core.extra_norms.dyt; the page's one call is `dyt_view`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from norm_viz.core.compute import normalize, verify
from norm_viz.core.extra_norms import fit_tanh_alpha, line_fit_error, tanh_fit


def ln_scatter(n_tokens: int, features: int, spread: float = 1.0, seed: int = 0) -> tuple[Tensor, Tensor]:
    """(x, LayerNorm(x)) for tokens whose scales vary log-normally by `spread`, as activations in deep layers do."""
    if n_tokens < 1 or features < 2:
        raise ValueError(f"need at least 1 token and 2 features, got {n_tokens} tokens and {features} features")
    if not 0 <= spread <= 5:
        raise ValueError(f"the spread of token scales must be between 0 and 5, got {spread}")
    g = torch.Generator().manual_seed(int(seed))
    scales = torch.exp(spread * torch.randn(n_tokens, 1, generator=g, dtype=torch.float64))
    x = torch.randn(n_tokens, features, generator=g, dtype=torch.float64) * scales
    return x, normalize(x[None], "layernorm").normalized[0]


def dyt_takeaway(best_alpha: float, best_err: float, line_err: float) -> str:
    """Whether LayerNorm acts as a squashing function here: tanh fits clearly better than any straight line."""
    gain = line_err / max(best_err, 1e-12)
    if gain > 1.2:
        return (
            f"a tanh curve (α = {best_alpha:.3g}) fits this LayerNorm's input→output map with RMS error {best_err:.3f}, "
            f"{gain:.1f}× better than any straight line ({line_err:.3f}): LayerNorm here acts as a squashing function, "
            "which DyT imitates without computing a statistic."
        )
    return (
        f"with token scales this uniform, a straight line fits nearly as well as tanh (RMS error {line_err:.3f} vs "
        f"{best_err:.3f}): LayerNorm is almost linear here; raise the spread of token scales to see the S-curve."
    )


@dataclass(frozen=True)
class DytSample:
    """The tokens of the DyT page: how many, their features, the spread of their scales, the seed."""

    tokens: int = 48
    features: int = 32
    spread: float = 1.0
    seed: int = 0


@dataclass(frozen=True)
class DytConfig:
    """The DyT page's settings: the user's α and the tokens (count, features, spread of scales, seed)."""

    alpha: float = 0.5
    tokens: int = 48
    features: int = 32
    spread: float = 1.0
    seed: int = 0

    @property
    def sample(self) -> DytSample:
        """The part of the settings that the fits depend on (α does not): what a cache keys on."""
        return DytSample(self.tokens, self.features, self.spread, self.seed)


@dataclass(frozen=True, eq=False)
class DytFit:
    """LayerNorm on a sample of tokens and the best tanh and straight-line fits of its input→output map."""

    sample: DytSample
    x: Tensor
    """(tokens, features) float64 input."""
    y: Tensor
    """(tokens, features) its LayerNorm (γ = 1, β = 0)."""
    best_alpha: float
    best_scale: float
    best_error: float
    line_error: float
    """RMS error of the best straight line y ≈ k·x."""


def dyt_fit(sample: DytSample) -> DytFit:
    """The sample's tokens through LayerNorm, fitted by a·tanh(αx) over α (the slow part: α is searched)."""
    x, y = ln_scatter(sample.tokens, sample.features, sample.spread, sample.seed)
    best_alpha, best_scale = fit_tanh_alpha(x, y)
    _scale, best_err = tanh_fit(x, y, best_alpha)
    return DytFit(sample, x, y, best_alpha, best_scale, best_err, line_fit_error(x, y))


@dataclass(frozen=True, eq=False)
class DytView:
    """What the DyT page shows: LayerNorm's input and output with its fits, the user's α and its fit, the check
    of normalize(x, 'dyt') against torch.tanh, and the takeaway."""

    fit: DytFit
    alpha: float
    scale: float
    """The least-squares a of y ≈ a·tanh(αx) for the user's α."""
    error: float
    check_ok: bool
    check: str
    """normalize(x, 'dyt') against torch.tanh(α·x), in words."""
    takeaway: str

    @property
    def x(self) -> Tensor:
        return self.fit.x

    @property
    def y(self) -> Tensor:
        return self.fit.y


def dyt_view(cfg: DytConfig, fit: DytFit | None = None) -> DytView:
    """The user's α on `cfg`'s tokens, next to the best fits (`fit`: dyt_fit(cfg.sample), computed if not given),
    and DyT checked on them."""
    if fit is None:
        fit = dyt_fit(cfg.sample)
    elif fit.sample != cfg.sample:
        raise ValueError(f"the fit is of {fit.sample}, not of this page's tokens {cfg.sample}")
    scale, err = tanh_fit(fit.x, fit.y, cfg.alpha)
    r = normalize(fit.x[None].float(), "dyt", alpha=cfg.alpha)
    v = verify(r)
    check = (
        f"normalize(x, 'dyt', alpha={cfg.alpha:g}) vs torch.tanh(α·x): max |Δ| = {v.max_abs_diff:.1e}; "
        f"{r.n_groups} groups of {r.group_size} cell: nothing is shared."
    )
    return DytView(
        fit, cfg.alpha, scale, err, v.ok, check, dyt_takeaway(fit.best_alpha, fit.best_error, fit.line_error)
    )
