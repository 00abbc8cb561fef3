"""The ε and dtype lab: where ε sits in RMSNorm, what float16 / bfloat16 do to near-constant tokens, and what ε
does to a group with zero (or tiny) variance.

torch only (no streamlit, no plotly); the page's one call is `eps_dtype_view`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from norm_viz.core.compute import normalize
from norm_viz.core.data import make_tensor
from norm_viz.core.numbers import fmt, tex

EPS_CHOICES: tuple[str, ...] = ("1e-08", "1e-06", "1e-05", "0.0001", "0.001", "0.01", "0.1")
"""The ε values the page offers, as their URL text."""
FEATURES = 16
"""Features per test token in every experiment."""
DAMPING_EPS: tuple[float, ...] = (1e-8, 1e-5, 1e-2)
"""The ε values drawn in the damping figure, besides the chosen one."""


@dataclass(frozen=True, eq=False)
class EpsPlacement:
    """RMSNorm's output scale for tokens of growing RMS, with ε inside vs outside the square root."""

    rms: Tensor
    """(n,) the RMS of each test token."""
    inside: Tensor
    """(n,) RMS of the output with x / √(ms + ε) (torch.nn.RMSNorm)."""
    outside: Tensor
    """(n,) RMS of the output with x / (√ms + ε) (the RMSNorm paper's code)."""

    def first_close(self, tol: float = 0.01) -> float:
        """The smallest input RMS from which the two placements agree within `tol` (relative)."""
        close = ((self.inside - self.outside).abs() / self.inside.abs().clamp_min(1e-30)) <= tol
        if bool(close.all()):
            return float(self.rms[0])
        if not bool(close[-1]):
            return math.inf
        return float(self.rms[int((~close).nonzero()[-1]) + 1])


def eps_placement(eps: float, features: int = 16, seed: int = 0, n: int = 121) -> EpsPlacement:
    """Tokens scaled to RMS 10⁻⁶ … 10², normalized with ε inside and outside the square root."""
    base = make_tensor(1, 1, features, "normal", seed, dtype=torch.float64)[0, 0]
    base = base / base.square().mean().sqrt()
    rms = torch.logspace(-6, 2, n, dtype=torch.float64)
    x = rms[:, None] * base[None, :]
    ms = x.square().mean(1, keepdim=True)
    inside = normalize(x[None], "rmsnorm", eps).normalized[0]
    outside = x / (ms.sqrt() + eps)
    out_rms = lambda t: t.square().mean(1).sqrt()  # noqa: E731
    return EpsPlacement(rms, out_rms(inside), out_rms(outside))


DTYPES: dict[str, torch.dtype] = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


@dataclass(frozen=True, eq=False)
class DtypeRun:
    """LayerNorm of near-constant tokens (offset + tiny noise) in one dtype, against float64."""

    dtype: str
    offsets: Tensor
    torch_error: Tensor
    """(n,) max |Δ| of F.layer_norm computed from the input stored in this dtype, vs float64."""
    naive_error: Tensor
    """(n,) max |Δ| of the textbook one-pass formula E[x²] − E[x]², computed in this dtype."""
    distinct: Tensor
    """(n,) how many distinct values the token has after being stored in this dtype."""


def dtype_lab(dtype: str, noise: float = 0.01, features: int = 16, seed: int = 0) -> DtypeRun:
    """Tokens c + noise·z for offsets c = 10⁰ … 10⁴, normalized in `dtype` vs float64 (the truth)."""
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; choose one of {', '.join(DTYPES)}")
    if not noise > 0:
        raise ValueError(f"the noise must be > 0, got {noise}")
    dt = DTYPES[dtype]
    z = make_tensor(1, 1, features, "normal", seed, dtype=torch.float64)[0, 0]
    offsets = torch.logspace(0, 4, 41, dtype=torch.float64)
    x = offsets[:, None] + noise * z[None, :]
    truth = F.layer_norm(x, (features,), eps=1e-5)
    stored = x.to(dt)
    lib = F.layer_norm(stored, (features,), eps=1e-5).double()
    mean = stored.mean(1, keepdim=True)
    var = (stored * stored).mean(1, keepdim=True) - mean * mean
    naive = ((stored - mean) / torch.sqrt(var + 1e-5)).double()
    err = lambda t: (t - truth).abs().amax(1).nan_to_num(nan=math.inf)  # noqa: E731
    distinct = torch.tensor([int(torch.unique(row).numel()) for row in stored])
    return DtypeRun(dtype, offsets, err(lib), err(naive), distinct)


@dataclass(frozen=True)
class ZeroVariance:
    """A token whose features are all equal, normalized with a given ε."""

    eps: float
    output: tuple[float, ...]
    finite: bool


def zero_variance(value: float, features: int, eps: float) -> ZeroVariance:
    """LayerNorm of a constant token [value, …, value] with ε (ε = 0 gives 0/0)."""
    x = torch.full((1, 1, features), float(value), dtype=torch.float64)
    y = F.layer_norm(x, (features,), eps=eps)[0, 0]
    return ZeroVariance(eps, tuple(float(v) for v in y), bool(torch.isfinite(y).all()))


def damping(eps: float, stds: Tensor | None = None, features: int = 16, seed: int = 0) -> tuple[Tensor, Tensor]:
    """(input std, output std after LayerNorm) for tokens of std 10⁻⁵ … 10: ε shrinks tiny-variance tokens."""
    sd = torch.logspace(-5, 1, 61, dtype=torch.float64) if stds is None else stds.double()
    z = make_tensor(1, 1, features, "normal", seed, dtype=torch.float64)[0, 0]
    z = (z - z.mean()) / z.std(correction=0)
    x = sd[:, None] * z[None, :]
    y = normalize(x[None], "layernorm", eps).normalized[0]
    return sd, y.std(1, correction=0)


def breaks_at(run: DtypeRun, attr: str, tol: float = 0.1) -> str:
    """From which offset c an error of `run` ("torch_error" or "naive_error") exceeds `tol`, in words."""
    err = getattr(run, attr)
    bad = (err > tol).nonzero()
    return "never (c ≤ 10⁴)" if not len(bad) else f"c ≈ {float(run.offsets[int(bad[0])]):.3g}"


def dtype_table(runs: tuple[DtypeRun, ...], features: int = FEATURES) -> dict[str, dict[str, str]]:
    """Per dtype: where each way of computing LayerNorm breaks, and how many distinct values survive at c = 10⁴."""
    return {
        d.dtype: {
            "F.layer_norm error > 0.1 from": breaks_at(d, "torch_error"),
            "E[x²] − E[x]² error > 0.1 from": breaks_at(d, "naive_error"),
            "distinct values left at c = 10⁴": f"{int(d.distinct[-1])} of {features}",
        }
        for d in runs
    }


def zero_variance_latex(value: float, eps: float, no_eps: ZeroVariance, with_eps: ZeroVariance) -> str:
    """A constant token normalized without ε (0/0, NaN) and with it (exactly 0), as one LaTeX line."""
    nan_tex = r"\text{NaN}"
    shown = ", ".join(nan_tex if v != v else fmt(v) for v in no_eps.output[:2])
    return (
        rf"\varepsilon = 0:\ \frac{{{fmt(value)} - {fmt(value)}}}{{\sqrt{{0 + 0}}}} = \frac{{0}}{{0}} \to "
        rf"{shown}, \dots"
        rf"\qquad \varepsilon = {tex(eps)}:\ \frac{{0}}{{\sqrt{{0 + {tex(eps)}}}}} = {fmt(with_eps.output[0])}"
    )


@dataclass(frozen=True)
class EpsDtypeConfig:
    """The ε / dtype page's settings: ε (as its URL text), the noise of near-constant tokens, a constant value."""

    eps: str = "1e-05"
    noise: float = 0.01
    value: float = 3.0


@dataclass(frozen=True, eq=False)
class EpsDtypeView:
    """What the ε / dtype page shows: its three experiments, measured, and the takeaway."""

    eps: float
    noise: float
    placement: EpsPlacement
    agree_from: float
    """The input RMS from which ε inside and outside the root agree within 1 %."""
    placement_text: str
    runs: tuple[DtypeRun, ...]
    """One per DTYPES, in that order."""
    table: dict[str, dict[str, str]]
    zero_latex: str
    damping_stds: Tensor
    damping_curves: dict[float, Tensor]
    """Output std per ε (the chosen one among DAMPING_EPS)."""
    takeaway: str


def eps_dtype_view(cfg: EpsDtypeConfig) -> EpsDtypeView:
    """The three experiments at `cfg`'s ε, noise and constant value, with a takeaway that follows their numbers."""
    if cfg.eps not in EPS_CHOICES:
        raise ValueError(f"unknown ε {cfg.eps!r}; choose one of {', '.join(EPS_CHOICES)}")
    eps = float(cfg.eps)
    place = eps_placement(eps, FEATURES)
    agree = place.first_close(0.01)
    placement_text = (
        f"At input RMS 10⁻⁶ the outputs have RMS {float(place.inside[0]):.3g} (inside) vs "
        f"{float(place.outside[0]):.3g} (outside); they agree within 1 % only from input RMS ≈ {agree:.2g} on."
    )
    runs = tuple(dtype_lab(d, cfg.noise, FEATURES) for d in DTYPES)
    no_eps, with_eps = zero_variance(cfg.value, 4, 0.0), zero_variance(cfg.value, 4, eps)
    stds = torch.logspace(-5, 1, 61, dtype=torch.float64)
    curves = {e: damping(e, stds, FEATURES)[1] for e in sorted({*DAMPING_EPS, eps})}
    out_std = float(damping(eps, torch.tensor([eps**0.5]), FEATURES)[1][0])
    half = next(r for r in runs if r.dtype == "float16")
    takeaway = (
        f"with ε = {eps:g}, ε's position changes RMSNorm's output for tokens with RMS below ≈ {agree:.2g}; "
        f"a constant token gives {'NaN' if not no_eps.finite else 'finite values'} without ε and exactly "
        f"{fmt(with_eps.output[0])} with it, and a token whose std equals √ε comes out with std "
        f"{out_std:.3f} instead of 1; in float16, near-constant tokens (noise {cfg.noise:g}) lose their "
        f"variation from {breaks_at(half, 'torch_error')}."
    )
    return EpsDtypeView(
        eps,
        cfg.noise,
        place,
        agree,
        placement_text,
        runs,
        dtype_table(runs),
        zero_variance_latex(cfg.value, eps, no_eps, with_eps),
        stds,
        curves,
        takeaway,
    )
