"""The modern story, measured live on SmolLM2-135M (a pre-RMSNorm causal decoder) next to MiniLM (a post-LayerNorm
encoder): massive activations (Sun et al. 2024), attention sinks (Xiao et al. 2024), the DyT observation (Zhu et al.
2025: a norm's input→output map looks like tanh; Derf: erf(αx + s)) and pre-norm residual growth (the argument
behind Peri-LN, Kim et al. 2025). One SmolLM2 forward feeds every number; each norm's tensors are reduced as the
forward reaches it, so the measurement holds one norm at a time. torch only (no streamlit, no plotly).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from norm_viz.core.compute import normalize
from norm_viz.real import minilm, smollm
from norm_viz.real.common import LOCK, THREADS, check_sentences, stop_point, tokenizer_notes, torch_threads

SCATTER_POINTS = 1000
"""(input, output) points per norm (the 100 largest |x| and a seeded sample): fitted, and kept for its scatter (every
norm's, so that choosing another norm on the page costs no forward)."""
RMS_BOUND = math.sqrt(smollm.HIDDEN)
"""The largest |x̂| RMSNorm can give one of 576 features: √576 = 24 (that feature holds the whole mean square)."""


@dataclass(frozen=True)
class Fit:
    """A norm's x̂ against its input x fitted by a·tanh(αx) + b (DyT) and a·erf(αx + s) + b (Derf)."""

    name: str
    tanh: tuple[float, float, float]
    """(a, α, b)"""
    erf: tuple[float, float, float, float]
    """(a, α, s, b)"""
    tanh_error: float
    """RMS error of the fit / standard deviation of x̂: the share of x̂'s spread the curve leaves unexplained."""
    erf_error: float
    line_error: float
    """The same for the best straight line a·x + b (what any one token's norm is)."""


def _points(x: Tensor, xhat: Tensor, mask: Tensor, n: int, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Up to n (x, x̂) pairs of the real tokens: the largest |x| (the tails decide the curve) and a seeded sample
    (drawn with replacement, then deduplicated: a permutation of all 300 K entries cost 10× more)."""
    xs, ys = x[mask].reshape(-1), xhat[mask].reshape(-1)
    if xs.numel() <= n:
        return xs.double(), ys.double()
    k = min(100, n // 4)
    top = xs.abs().topk(k, sorted=False).indices
    g = torch.Generator().manual_seed(seed)
    rest = torch.randint(xs.numel(), (n - k,), generator=g)
    idx = torch.unique(torch.cat([top, rest]))
    return xs[idx].double(), ys[idx].double()


def _best(curves: Tensor, y: Tensor) -> tuple[int, float, float, float]:
    """For each row t of `curves` the least-squares y ≈ a·t + b; returns (row, a, b, mean squared error) of the best."""
    tm, ym = curves.mean(1, keepdim=True), y.mean()
    tc = curves - tm
    var = tc.square().mean(1).clamp_min(1e-30)
    a = (tc * (y - ym)).mean(1) / var
    b = ym - a * tm[:, 0]
    err = ((a[:, None] * curves + b[:, None]) - y).square().mean(1)
    i = int(err.argmin())
    return i, float(a[i]), float(b[i]), float(err[i])


def fit_curves(name: str, x: Tensor, y: Tensor) -> Fit:
    """Fit tanh and erf (a grid over α and s, then a finer one around the best; a and b in closed form)."""
    x, y = x.double(), y.double()
    sd = float(y.std()) or 1.0
    scale = float(torch.quantile(x.abs(), 0.99)) or 1.0
    alphas = torch.logspace(-2, 2, 25, dtype=torch.float64) / scale
    i, a, b, e = _best(torch.tanh(alphas[:, None] * x), y)
    fine = alphas[i] * torch.logspace(-0.17, 0.17, 15, dtype=torch.float64)
    j, a, b, e = _best(torch.tanh(fine[:, None] * x), y)
    tanh = (a, float(fine[j]), b)
    tanh_err = math.sqrt(e) / sd
    shifts = torch.linspace(-1.0, 1.0, 5, dtype=torch.float64)
    grid_a, grid_s = torch.meshgrid(alphas, shifts, indexing="ij")
    ga, gs = grid_a.reshape(-1), grid_s.reshape(-1)
    i, a, b, e = _best(torch.erf(ga[:, None] * x + gs[:, None]), y)
    fa = ga[i] * torch.logspace(-0.17, 0.17, 7, dtype=torch.float64)
    fs = gs[i] + torch.linspace(-0.25, 0.25, 7, dtype=torch.float64)
    ma, ms = (t.reshape(-1) for t in torch.meshgrid(fa, fs, indexing="ij"))
    j, a, b, e = _best(torch.erf(ma[:, None] * x + ms[:, None]), y)
    erf = (a, float(ma[j]), float(ms[j]), b)
    erf_err = math.sqrt(e) / sd
    _k, _a, _b, e_line = _best(x[None, :], y)
    return Fit(name, tanh, erf, tanh_err, erf_err, math.sqrt(e_line) / sd)


@dataclass(frozen=True)
class Massive:
    """The largest residual entry at one depth: where it is and how it compares."""

    value: float
    sentence: int
    position: int
    token: str
    """The token's text as the visitor's sentence has it (the page shows it through ui.literal)."""
    feature: int
    median: float
    """Median |x| over every real token and feature at that depth."""

    @property
    def where(self) -> str:
        return f"sentence {self.sentence + 1}, token {self.position}"

    @property
    def ratio(self) -> float:
        return abs(self.value) / max(self.median, 1e-30)


@dataclass(frozen=True)
class Tamed:
    """What RMSNorm does to the token that carries the largest massive activation."""

    norm: str
    token: str
    feature: int
    value: float
    rms: float
    share: float
    """The share of the token's mean square held by that one feature."""
    xhat: float
    """x̂ of the feature = x / RMS (bounded by √576 = 24)."""
    others_xhat: float
    """Median |x̂| of that token's other 575 features..."""
    ordinary_xhat: float
    """...and of every feature of the other real tokens."""
    gamma: float
    """γ of the feature at that norm..."""
    gamma_median: float
    """...and the median |γ| over the 576 features."""


@dataclass(frozen=True, eq=False)
class ModernView:
    """Everything the modern story shows, measured on one batch of sentences (see the module docstring)."""

    sentences: tuple[str, ...]
    tokens: list[list[str]]
    notes: tuple[str, ...]
    norm_names: tuple[str, ...]
    rel_delta: Tensor
    """(61,) max |normalize(x, 'rmsnorm') − model| / max |model output| per RMSNorm."""
    massive: tuple[Massive, ...]
    """The residual stream entering blocks 0..29 and the output norm (31 depths)."""
    tamed: Tamed
    top_features: tuple[tuple[int, int], ...]
    """(feature, at how many of the 31 depths it holds the largest entry), most frequent first."""
    resid_rms: Tensor
    """(31,) median over real tokens of each token's RMS, SmolLM2's residual stream."""
    first_rms_ratio: Tensor
    """(31,) RMS of the first token / median RMS of the other tokens."""
    sink: Tensor
    """(30, 9) attention weight on the first token, mean over sentences and query positions ≥ 1."""
    fits: tuple[Fit, ...]
    """SmolLM2's 61 RMSNorms."""
    minilm_fits: tuple[Fit, ...]
    """MiniLM's 13 LayerNorms."""
    scatters: tuple[tuple[Tensor, Tensor], ...]
    """(x, x̂) points (float32) of each of SmolLM2's 61 norms..."""
    minilm_scatters: tuple[tuple[Tensor, Tensor], ...]
    """...and of MiniLM's 13 LayerNorms."""
    minilm_stream_rms: Tensor
    """(7,) median token RMS of MiniLM's stream after its embeddings LayerNorm and after each layer's last LayerNorm."""
    minilm_sum_rms: Tensor
    """(6,) the same for the sums each layer's last LayerNorm receives (the residual before it is normalized)."""
    minilm_ratio: float
    """MiniLM's largest LayerNorm input entry / the median |x| there."""

    @property
    def worst_delta(self) -> float:
        return float(self.rel_delta.max())

    @property
    def peak(self) -> Massive:
        return max(self.massive, key=lambda m: m.ratio)

    @property
    def growth(self) -> float:
        """SmolLM2's residual RMS at the output norm / at block 0's input."""
        return float(self.resid_rms[-1] / self.resid_rms[0])

    @property
    def sink_share(self) -> float:
        """Mean attention on the first token over blocks 2..29 and heads (the first two blocks have not formed it)."""
        return float(self.sink[2:].mean())


def _f32(points: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
    return points[0].float(), points[1].float()


def modern_view(sentences: Sequence[str], *, threads: int = THREADS) -> ModernView:
    """Run SmolLM2 (with attention weights) and MiniLM on the sentences and measure the modern story."""
    sents = check_sentences(sentences)
    m = smollm.model()
    rel = torch.zeros(smollm.N_NORMS)
    fits: list[Fit] = []
    resid: list[tuple[int, Tensor]] = []  # (norm index, its input) only for the residual summaries below
    massive: list[Massive] = []
    rms_med, first_ratio = [], []
    scatter: list[tuple[Tensor, Tensor]] = []
    tamed_in: dict[str, object] = {}

    with LOCK, torch_threads(threads):
        enc = smollm.encode(m, sents)
        mask = enc.mask

        def on_norm(i: int, x: Tensor, y: Tensor) -> None:
            w = m.weights[smollm.ln_weight_name(i)]
            r = normalize(x, "rmsnorm", eps=m.eps, weight=w)
            rel[i] = float((r.output - y)[mask].abs().max() / y[mask].abs().max().clamp_min(1e-30))
            px, py = _points(x, r.normalized, mask, SCATTER_POINTS, seed=i)
            fits.append(fit_curves(smollm.ln_name(i), px, py))
            scatter.append(_f32((px, py)))
            if i % 2 == 0 or i == smollm.N_NORMS - 1:  # the residual stream entering a block, or the output norm
                real = x[mask]
                tok_rms = real.square().mean(1).sqrt()
                rms_med.append(float(tok_rms.median()))
                first = x[:, 0].square().mean(1).sqrt()
                others = x[:, 1:][mask[:, 1:]].square().mean(1).sqrt()
                first_ratio.append(float(first.median() / others.median()) if others.numel() else float("nan"))
                flat = int(x.abs().masked_fill(~mask[..., None], -1).argmax())
                b, rest = divmod(flat, x.shape[1] * x.shape[2])
                s, f = divmod(rest, x.shape[2])
                massive.append(Massive(float(x[b, s, f]), b, s, enc.tokens[b][s], f, float(real.abs().median())))
                resid.append((i, tok_rms))
                best = massive[-1]
                if not tamed_in or best.ratio > tamed_in["ratio"]:  # type: ignore[operator]
                    xhat = r.normalized[b, s]
                    ordinary = r.normalized[mask].abs()
                    keep = torch.ones(x.shape[2], dtype=torch.bool)
                    keep[f] = False
                    tamed_in.update(
                        ratio=best.ratio,
                        value=Tamed(
                            smollm.ln_name(i),
                            best.token,
                            f,
                            best.value,
                            float(x[b, s].square().mean().sqrt()),
                            float(x[b, s, f].square() / x[b, s].square().sum()),
                            float(xhat[f]),
                            float(xhat[keep].abs().median()),
                            float(ordinary.median()),
                            float(w[f]),
                            float(w.abs().median()),
                        ),
                    )
            stop_point()

        trace = smollm.forward(m, enc.ids, sink=True, on_norm=on_norm)
    assert trace.sink is not None
    q = mask.clone()
    q[:, 0] = False  # query 0 can only look at itself
    sink = (trace.sink * q[None, :, None, :]).sum((1, 3)) / q.sum()
    counts: dict[int, int] = {}
    for mv in massive:
        counts[mv.feature] = counts.get(mv.feature, 0) + 1
    top = tuple(sorted(counts.items(), key=lambda kv: -kv[1])[:3])

    stop_point()
    # MiniLM reads as many word pieces as SmolLM2 reads tokens (+ [CLS] and [SEP]): the same stretch of text, and
    # its forward stays small beside SmolLM2's (16 long sentences: 16 × 18 instead of 16 × 64 positions)
    acts = minilm.all_layernorms(sents, threads=threads, max_tokens=smollm.token_limit(len(sents)) + 2)
    m_fits, m_scatter = [], []
    for a in acts:
        xhat = normalize(a.x, "layernorm", eps=a.ln_eps).normalized
        px, py = _points(a.x, xhat, a.mask, SCATTER_POINTS, seed=a.index)
        m_fits.append(fit_curves(a.name, px, py))
        m_scatter.append(_f32((px, py)))
    stream = [acts[0].ln_output] + [acts[2 + 2 * layer].ln_output for layer in range(minilm.N_LAYERS)]
    sums = [acts[2 + 2 * layer].x for layer in range(minilm.N_LAYERS)]
    med = lambda t, mk: float(t[mk].square().mean(1).sqrt().median())  # noqa: E731
    m_mask = acts[0].mask
    peaks = [float(a.x[a.mask].abs().max() / a.x[a.mask].abs().median()) for a in acts]
    return ModernView(
        tuple(sents),
        enc.tokens,
        tuple(tokenizer_notes(smollm.NAME, enc.truncated, enc.mask.shape[1]))
        + tuple(
            f"MiniLM reads the same sentences cut at {m_mask.shape[1]} word pieces ([CLS] and [SEP] included) here, "
            "about the stretch of text SmolLM2 reads."
            for _ in acts[0].truncated[:1]
        ),
        tuple(smollm.ln_name(i) for i in range(smollm.N_NORMS)),
        rel,
        tuple(massive),
        tamed_in["value"],  # type: ignore[arg-type]
        top,
        torch.tensor(rms_med),
        torch.tensor(first_ratio),
        sink,
        tuple(fits),
        tuple(m_fits),
        tuple(scatter),
        tuple(m_scatter),
        torch.tensor([med(t, m_mask) for t in stream]),
        torch.tensor([med(t, m_mask) for t in sums]),
        max(peaks),
    )


def fit_summary(fits: Sequence[Fit]) -> tuple[float, float, float]:
    """Median over norms of the tanh, erf and straight-line errors."""
    t = torch.tensor([[f.tanh_error, f.erf_error, f.line_error] for f in fits])
    med = t.median(0).values
    return float(med[0]), float(med[1]), float(med[2])


def check_claim(worst: float, bound: float = 1e-5) -> tuple[bool, str]:
    """The page's verdict on the 61 RMSNorms: whether normalize() reproduces them (worst relative max |Δ| ≤ bound)."""
    ok = worst <= bound
    return ok, (
        "`normalize(x, 'rmsnorm', eps=ε, weight=γ)` against the model's own output at all 61 RMSNorms: worst relative "
        f"max |Δ| = {worst:.1e} ({'≤' if ok else '>'} {bound:.0e})."
    )


def fit_claim(smol: tuple[float, float, float], mini: tuple[float, float, float]) -> str:
    """The DyT paragraph from the two models' fit_summary (tanh, erf, line): which curve fits, said from the numbers."""
    (st_t, st_e, st_l), (mt_t, mt_e, mt_l) = smol, mini
    verdict = (
        "erf fits at least as well as tanh on both models here."
        if st_e <= st_t and mt_e <= mt_t
        else "tanh fits better than erf on at least one model here."
    )
    return (
        "Each dot is one feature of one token: within a token the norm is a straight line (x̂ = x / RMS), but tokens "
        "with a large RMS get a flatter line, and together the lines bend like tanh. Median over each model's norms of "
        f"the spread left unexplained: **SmolLM2** tanh {st_t:.0%}, erf {st_e:.0%}, a straight line {st_l:.0%}; "
        f"**MiniLM** tanh {mt_t:.0%}, erf {mt_e:.0%}, a straight line {mt_l:.0%}. {verdict} One batch of sentences, "
        "one trained checkpoint each: a description of these models, not a verdict on DyT."
    )
