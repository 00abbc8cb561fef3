"""The real model page: what the 13 LayerNorms of a pretrained transformer (all-MiniLM-L6-v2) actually see.

Every number is measured live on the sentences given: LayerNorm against normalize(), outlier features, how close
LayerNorm's x̂ comes to its ceiling √(F−1), what γ does to the outliers, the feature that marks padding (and what it
does to unmasked BatchNorm), BatchNorm vs LayerNorm across batch compositions, and the PowerNorm paper's claim on
real text — against the ConvNet's real image activations, the one part not computed live (shipped by
beyond.powernorm_evidence, with its provenance). torch only (no streamlit, no plotly); the page's calls are
`real_model_view` and `powernorm_claim`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from norm_viz.beyond import powernorm_evidence as pe
from norm_viz.core import corpus
from norm_viz.core.compute import normalize
from norm_viz.real.minilm import (
    CEILING,
    HIDDEN,
    LN_SITES,
    MAX_SENTENCES,
    Activations,
    all_layernorms,
    ln_index,
    ln_inputs,
    ln_name,
    real_activations,
    stop_point,
)
from norm_viz.training import results as rs


@dataclass(frozen=True)
class LNFacts:
    """What one LayerNorm saw on the sentences: the check, the outliers, the ceiling, γ and the padding feature."""

    index: int
    name: str
    max_delta: float
    """max |normalize(x, 'layernorm', …) − the model's output| over every position."""
    top_features: tuple[int, ...]
    """The 3 features with the largest |x| over the real tokens, largest first."""
    top_values: tuple[float, ...]
    """Their signed value at the token where |x| is largest."""
    top_tokens: tuple[str, ...]
    """That token, e.g. '[CLS]' (sentence 1)."""
    typical: float
    """Median over features of the largest |x| of that feature: what an ordinary feature reaches."""
    max_xhat: float
    """The largest |x̂| = |x − μ| / σ over the real tokens (before γ, β)."""
    xhat_feature: int
    xhat_token: str
    gamma_top: float
    """γ of the top outlier feature."""
    gamma_median: float
    """Median |γ| over the 384 features."""
    pad_feature: int
    """The feature whose values at padding positions differ most from those at real tokens (in σ of the real ones);
    -1 when the batch has no padding."""
    pad_separation: float
    bn_var_unmasked: float
    """BatchNorm's variance of `pad_feature` over every position, the pads included."""
    bn_var_masked: float
    """…and over the real tokens only (masked BatchNorm)."""


def _token(a: Activations, b: int, s: int) -> str:
    return f"'{a.tokens[b][s]}' (sentence {b + 1}, position {s})"


def ln_facts(a: Activations) -> LNFacts:
    """Measure one LayerNorm's input and output (see LNFacts)."""
    r = normalize(a.x, "layernorm", eps=a.ln_eps, weight=a.ln_weight, bias=a.ln_bias)
    delta = float((r.output - a.ln_output).abs().max())
    real = a.x[a.mask]  # (n_real, F)
    where = torch.nonzero(a.mask)  # (n_real, 2): (b, s) of each real token
    peak, arg = real.abs().max(0)  # per feature: largest |x| and the token holding it
    order = torch.argsort(peak, descending=True)[:3].tolist()
    tops = [int(arg[f]) for f in order]
    xhat = r.normalized[a.mask].abs()
    i_tok, i_feat = divmod(int(xhat.argmax()), HIDDEN)
    gamma = a.ln_weight.abs()
    pad = ~a.mask
    if pad.any():
        sd = real.std(0).clamp_min(1e-12)
        sep = (a.x[pad].mean(0) - real.mean(0)).abs() / sd
        pf = int(sep.argmax())
        col_all = a.x[..., pf].reshape(-1).double()
        col_real = real[:, pf].double()
        var_u, var_m = float(col_all.var(correction=0)), float(col_real.var(correction=0))
        pad_sep = float(sep[pf])
    else:
        pf, pad_sep, var_u, var_m = -1, float("nan"), float("nan"), float("nan")
    return LNFacts(
        a.index,
        a.name,
        delta,
        tuple(order),
        tuple(float(real[t, f]) for t, f in zip(tops, order, strict=True)),
        tuple(_token(a, int(where[t, 0]), int(where[t, 1])) for t in tops),
        float(peak.median()),
        float(xhat.max()),
        i_feat,
        _token(a, int(where[i_tok, 0]), int(where[i_tok, 1])),
        float(a.ln_weight[order[0]]),
        float(gamma.median()),
        pf,
        pad_sep,
        var_u,
        var_m,
    )


@dataclass(frozen=True)
class Composition:
    """One fixed sentence run in several different batches: how much its BatchNorm and LayerNorm outputs move."""

    sentence: str
    layer: int
    site: str
    n_batches: int
    batch_size: int
    bn_change: float
    """max over the fixed sentence's tokens and features of (largest − smallest) masked-BatchNorm output."""
    ln_change: float
    """the same for the model's LayerNorm output."""


@dataclass(frozen=True)
class SiteMovement:
    """How far the fixed sentence's normalized values move across the batches, at one LayerNorm site, for BatchNorm
    with and without the pads in its statistics and for the model's LayerNorm. "Movement" of one (token, feature)
    cell = its largest minus its smallest value over the batches (the range over the draws)."""

    index: int
    name: str
    masked: float
    """Largest movement over the sentence's cells, masked BatchNorm (real tokens only)."""
    unmasked: float
    """…BatchNorm over every position, the pads included."""
    ln: float
    """…the model's LayerNorm output (0 up to rounding)."""
    masked_median: float
    """Median movement over the sentence's cells, masked BatchNorm (a typical cell, not the extreme one)."""
    unmasked_median: float


@dataclass(frozen=True)
class SiteComposition:
    """The batch-composition experiment at all 13 LayerNorm sites from the same draws (one forward per batch)."""

    sentence: str
    n_batches: int
    batch_size: int
    sites: tuple[SiteMovement, ...]

    def at(self, layer: int, site: str) -> SiteMovement:
        return self.sites[ln_index(layer, site)]


def _movement(outs: list[Tensor]) -> tuple[float, float]:
    """(largest, median) over cells of each cell's range across the batches."""
    t = torch.stack(outs)
    r = (t.amax(0) - t.amin(0)).reshape(-1)
    return float(r.max()), float(r.median())


def batch_composition_sites(
    sentence: str, others: Sequence[str], n_batches: int = 6, batch_size: int = 8, seed: int = 0
) -> SiteComposition:
    """Run `sentence` with `n_batches` different sets of `batch_size − 1` companions drawn from `others` (one full
    forward each) and measure its movement at every LayerNorm site."""
    if not 2 <= batch_size <= MAX_SENTENCES:
        raise ValueError(f"batch size must be from 2 to {MAX_SENTENCES}, got {batch_size}")
    if n_batches < 2:
        raise ValueError(f"need at least 2 batches to see a movement, got {n_batches}")
    pool = [s for s in others if s != sentence]
    if len(pool) < batch_size - 1:
        raise ValueError(f"need at least {batch_size - 1} other sentences, got {len(pool)}")
    rng = random.Random(seed)
    per_site: list[dict[str, list[Tensor]]] = [{"m": [], "u": [], "ln": []} for _ in LN_SITES]
    for _ in range(n_batches):
        stop_point()
        acts = all_layernorms([sentence, *rng.sample(pool, batch_size - 1)])
        for k, a in enumerate(acts):
            n = a.lengths[0]
            per_site[k]["m"].append(normalize(a.x, "masked_batchnorm", eps=1e-5, mask=a.mask).output[0, :n])
            per_site[k]["u"].append(normalize(a.x, "batchnorm", eps=1e-5).output[0, :n])
            per_site[k]["ln"].append(a.ln_output[0, :n])
    sites = []
    for k, d in enumerate(per_site):
        (m, m_med), (u, u_med), (ln, _) = _movement(d["m"]), _movement(d["u"]), _movement(d["ln"])
        sites.append(SiteMovement(k, ln_name(k), m, u, ln, m_med, u_med))
    return SiteComposition(sentence, n_batches, batch_size, tuple(sites))


def batch_composition(
    sentence: str, others: Sequence[str], layer: int, site: str, n_batches: int = 6, batch_size: int = 8, seed: int = 0
) -> Composition:
    """Run `sentence` with `n_batches` different sets of `batch_size − 1` companions drawn from `others`."""
    if not 2 <= batch_size <= MAX_SENTENCES:
        raise ValueError(f"batch size must be from 2 to {MAX_SENTENCES}, got {batch_size}")
    pool = [s for s in others if s != sentence]
    if len(pool) < batch_size - 1:
        raise ValueError(f"need at least {batch_size - 1} other sentences, got {len(pool)}")
    rng = random.Random(seed)
    bn_outs, ln_outs = [], []
    n = 0
    for _ in range(n_batches):
        stop_point()
        a = real_activations([sentence, *rng.sample(pool, batch_size - 1)], layer, site)
        n = a.lengths[0]
        bn = normalize(a.x, "masked_batchnorm", eps=1e-5, mask=a.mask)
        bn_outs.append(bn.output[0, :n])
        ln_outs.append(a.ln_output[0, :n])
    bn_t, ln_t = torch.stack(bn_outs), torch.stack(ln_outs)
    spread = lambda t: float((t.amax(0) - t.amin(0)).max())  # noqa: E731
    return Composition(sentence, layer, site, n_batches, batch_size, spread(bn_t), spread(ln_t))


@dataclass(frozen=True, eq=False)
class RealModelView:
    """What the real model page shows: one LNFacts per LayerNorm, and the batch-composition experiment."""

    sentences: tuple[str, ...]
    facts: tuple[LNFacts, ...]
    composition: Composition
    """The experiment at the chosen site (the same draws as `sites`)."""
    sites: SiteComposition
    """The experiment at all 13 LayerNorm sites."""
    notes: tuple[str, ...]
    peaks: Tensor
    """(13, 384) largest |x| of each feature over the real tokens, per LayerNorm input."""
    ceiling_xhat: Tensor
    """(384,) x̂ of the token that comes nearest the ceiling √(F−1), at that LayerNorm."""
    pad_real: Tensor
    """The padding feature's values at the real tokens (at the LayerNorm where it separates best)..."""
    pad_pad: Tensor
    """...and at the padding positions (empty without padding)."""

    @property
    def worst_delta(self) -> float:
        return max(f.max_delta for f in self.facts)

    @property
    def top(self) -> LNFacts:
        """The LayerNorm whose input holds the single largest outlier."""
        return max(self.facts, key=lambda f: abs(f.top_values[0]))

    @property
    def nearest_ceiling(self) -> LNFacts:
        return max(self.facts, key=lambda f: f.max_xhat)

    @property
    def padded(self) -> tuple[LNFacts, ...]:
        return tuple(f for f in self.facts if f.pad_feature >= 0)

    @property
    def pad_best(self) -> LNFacts | None:
        """The LayerNorm where the padding feature separates pads from real tokens best (None: no padding)."""
        return max(self.padded, key=lambda f: f.pad_separation) if self.padded else None


COMPOSITION_BATCHES = 8
"""Batches (draws of companions) of the batch-composition experiment: 0.6–0.7 CPU-s for the default sentences."""
COMPOSITION_TOKENS = 24
"""Up to this many tokens in the fixed sentence, all COMPOSITION_BATCHES draws; a longer one gets proportionally fewer
(at least 4), so a long first sentence does not push the page past its CPU budget."""


def composition_batches(n_tokens: int) -> int:
    """How many draws the batch-composition experiment makes for a fixed sentence of `n_tokens` tokens."""
    if n_tokens <= COMPOSITION_TOKENS:
        return COMPOSITION_BATCHES
    return max(4, COMPOSITION_BATCHES * COMPOSITION_TOKENS // n_tokens)


def real_model_view(sentences: Sequence[str], comp_layer: int = 0, comp_site: str = "ffn") -> RealModelView:
    """Measure the 13 LayerNorms on `sentences` and the batch-composition experiment at every site (its companions:
    corpus text); `comp_layer`, `comp_site` pick the site the findings quote."""
    idx = ln_index(comp_layer, comp_site)
    acts = all_layernorms(sentences)
    facts = tuple(ln_facts(a) for a in acts)
    others = corpus.sample(64, seed=1)
    sites = batch_composition_sites(acts[0].sentences[0], others, composition_batches(acts[0].lengths[0]))
    at = sites.sites[idx]
    comp = Composition(sites.sentence, comp_layer, comp_site, sites.n_batches, sites.batch_size, at.masked, at.ln)
    peaks = torch.stack([a.x[a.mask].abs().amax(0) for a in acts])
    c = max(facts, key=lambda f: f.max_xhat)
    a = acts[c.index]
    xhat = normalize(a.x, "layernorm", eps=a.ln_eps).normalized[a.mask]
    row = int(xhat.abs().amax(1).argmax())
    padded = [f for f in facts if f.pad_feature >= 0]
    if padded:
        best = max(padded, key=lambda f: f.pad_separation)
        pa = acts[best.index]
        col = pa.x[..., best.pad_feature]
        pad_real, pad_pad = col[pa.mask], col[~pa.mask]
    else:
        pad_real = pad_pad = torch.zeros(0)
    return RealModelView(
        acts[0].sentences, facts, comp, sites, tuple(acts[0].notes), peaks, xhat[row], pad_real, pad_pad
    )


def _ratio_range(values: Sequence[float]) -> str:
    lo, hi = min(values), max(values)
    return f"{lo:.0f}×" if round(lo) == round(hi) else f"{lo:.0f}–{hi:.0f}×"


def findings(v: RealModelView, quote: Callable[[str], str] = repr) -> list[str]:
    """The page's findings, in Markdown, worded from the numbers (whatever they say). Text that came from the
    visitor (the sentence, its tokens) goes through `quote` (the page passes ui.literal: shown as typed, never
    rendered as Markdown)."""
    out = []
    t = v.top
    ratio = abs(t.top_values[0]) / max(t.typical, 1e-12)
    out.append(
        f"**Outlier features.** The largest value of any LayerNorm input is feature **{t.top_features[0]}** = "
        f"{t.top_values[0]:.1f} at the {t.name}, on token {quote(t.top_tokens[0])}: {ratio:.0f}× what a typical feature "
        f"reaches there ({t.typical:.2f}). The biggest features per LayerNorm are in the table below."
    )
    c = v.nearest_ceiling
    out.append(
        f"**LayerNorm's ceiling.** A token's normalized value x̂ can never exceed √(F−1) = √{HIDDEN - 1} = "
        f"{CEILING:.3f} in size (all the deviation in one feature). At the {c.name}, feature {c.xhat_feature} of "
        f"{quote(c.xhat_token)} reaches |x̂| = {c.max_xhat:.3f}, **{c.max_xhat / CEILING:.1%} of the ceiling**: one feature "
        "dominates that token so much that LayerNorm's σ is almost that feature alone."
    )
    amp = [f for f in v.facts if abs(f.gamma_top) > f.gamma_median]
    damp = [f for f in v.facts if abs(f.gamma_top) <= f.gamma_median]
    if amp:
        best = max(amp, key=lambda f: abs(f.gamma_top) / f.gamma_median)
        out.append(
            f"**γ and the outliers.** At {len(amp)} of 13 LayerNorms, γ of the top outlier feature is larger than the "
            f"median |γ|: e.g. the {best.name} gives feature {best.top_features[0]} γ = {best.gamma_top:.2f} vs a "
            f"median |γ| of {best.gamma_median:.2f}, so the model amplifies it again after normalizing."
            + (f" At the other {len(damp)}, γ shrinks it." if damp else "")
        )
    else:
        out.append(
            "**γ and the outliers.** At every LayerNorm, γ of the top outlier feature is at most the median |γ|: "
            "here the model damps its outliers after normalizing."
        )
    if v.padded:
        feats: dict[int, int] = {}
        for f in v.padded:
            feats[f.pad_feature] = feats.get(f.pad_feature, 0) + 1
        main, count = max(feats.items(), key=lambda kv: kv[1])
        ratios = [f.bn_var_unmasked / f.bn_var_masked for f in v.padded if f.pad_feature == main and f.bn_var_masked]
        out.append(
            f"**A feature marks padding.** At {count} of 13 LayerNorms the feature that best tells padding positions "
            f"from real tokens is **feature {main}**. Unmasked BatchNorm counts the pads, so its variance of that "
            f"feature is {_ratio_range(ratios)} the masked one (real tokens only)."
        )
    else:
        out.append("**Padding.** These sentences all have the same length, so there is no padding to look at.")
    cp = v.composition
    ln_moved = "exactly 0 (bit for bit the same)" if cp.ln_change == 0 else f"{cp.ln_change:.1e}"
    sites = v.sites.sites
    rank = 1 + sum(m.masked > cp.bn_change for m in sites)
    most_m, most_u = max(sites, key=lambda m: m.masked), max(sites, key=lambda m: m.unmasked)
    ln_worst = max(m.ln for m in sites)
    out.append(
        f"**Batch composition.** The sentence {quote(cp.sentence[:60])} was run in {cp.n_batches} batches of "
        f"{cp.batch_size} with different companions. At the {ln_name(ln_index(cp.layer, cp.site))}, its masked "
        f"BatchNorm output moves by up to **{cp.bn_change:.3g}**, its LayerNorm output by **{ln_moved}** "
        "(LayerNorm never looks at the other sentences; anything above 0 is floating-point rounding). "
        f"Over all 13 LayerNorm sites (chart below) masked BatchNorm moves by up to {min(m.masked for m in sites):.3g}–"
        f"{most_m.masked:.3g} (most at the {most_m.name}; this site ranks {rank} of 13), BatchNorm with the pads in "
        f"its statistics by up to {min(m.unmasked for m in sites):.3g}–{most_u.unmasked:.3g} (most at the "
        f"{most_u.name}); "
        + (
            "LayerNorm not at all (exactly 0 at every site)."
            if ln_worst == 0
            else f"LayerNorm by at most {ln_worst:.1e}."
        )
    )
    return out


CLAIM_DRAWS = (0, 1, 2)
"""The draws of random batches the page's text measurement averages (each seeds its own batches)."""
CLAIM_AT = 256
"""Values per statistic at which the page's verdict compares text with images (as the PowerNorm page's)."""


@dataclass(frozen=True, eq=False)
class Claim:
    """The PowerNorm paper's claim on real text, like for like: the spread of the batch variance at one LayerNorm's
    input on real sentences (measured now, three draws of random batches) against the training lab's ConvNet's
    BatchNorm inputs on real digit images (the shipped measurement of beyond.powernorm_evidence, three trained seeds),
    at the same number of values per statistic."""

    layer: int
    site: str
    n_sentences: int
    text: tuple[dict[str, Any], ...]
    """One powernorm_evidence.frozen_record per draw of random batches (CLAIM_DRAWS)."""
    images: tuple[dict[str, Any], ...]
    """The shipped frozen records of the image activations (results/powernorm.json), empty when none is shipped."""
    provenance: dict[str, Any]
    """How the shipped records were computed (command, commit, torch, CPU time, seeds)."""
    comparisons: tuple[tuple[str, rs.Spread, str], ...]
    """Per image layer with a value at CLAIM_AT: (layer, its spread over seeds, the verdict word for text)."""
    text_at: rs.Spread
    """Text's spread at CLAIM_AT values per statistic over the draws."""
    verdict: str
    scale: str
    """The scale measured and what it cannot test."""

    def rows(self) -> list[dict[str, str]]:
        """The verdict's numbers, one line per image layer: its spread and text's at CLAIM_AT values per statistic
        (mean ± sd), their ratio and the verdict rule's word."""
        return [
            {
                "image layer (shipped)": name,
                f"images, {CLAIM_AT} values (3 seeds)": sp.text(3),
                f"text, {CLAIM_AT} values ({self.text_at.n} draws)": self.text_at.text(3),
                "text / image": f"{self.text_at.mean / sp.mean:.2f}×",
                "text fluctuates": word,
            }
            for name, sp, word in self.comparisons
        ]

    @property
    def records(self) -> list[dict[str, Any]]:
        """Text and image records as beyond.powernorm_figures.frozen_figure draws them (all of kind "frozen")."""
        return [*self.text, *({**r, "kind": "frozen"} for r in self.images)]


def shipped_images(pool: int) -> tuple[dict[str, Any], ...]:
    """The shipped frozen records of the ConvNet's image activations drawn from a pool of `pool` validation images
    (beyond.powernorm_evidence.PAGE_POOLS), three trained seeds per layer; empty when not shipped."""
    return tuple(r for r in rs.shipped_results("powernorm") if r.get("kind") == "frozen_pool" and r.get("pool") == pool)


def powernorm_claim(
    layer: int = 2,
    site: str = "ffn",
    n_sentences: int = 128,
    n_batches: int = pe.N_BATCHES,
    draws: Sequence[int] = CLAIM_DRAWS,
) -> Claim:
    """The batch variance's spread at one LayerNorm's input on `n_sentences` corpus sentences (the BatchNorm that
    would replace it), one record per draw, against the shipped image activations at the same values per statistic;
    the verdict follows the verdict rule (|Δ mean| > sd_text + sd_image) at CLAIM_AT values per statistic."""
    idx = ln_index(layer, site)
    x, mask = ln_inputs(corpus.sample(n_sentences, 0), idx)
    name = f"text: MiniLM {ln_name(idx)} input ({n_sentences} sentences, live)"
    text = tuple(
        pe.frozen_record(name, "all-MiniLM-L6-v2 (live)", d, x, mask, n_batches=n_batches, tick=stop_point)
        for d in draws
    )
    images = shipped_images(n_sentences)
    prov = rs.provenance("powernorm") if images else {}
    text_at = rs.spread(r["at"].get(str(CLAIM_AT)) for r in text)
    comparisons = []
    for (_model, image_layer), runs in pe.group(list(images), "frozen_pool").items():
        sp = rs.spread(r["at"].get(str(CLAIM_AT)) for r in runs)
        if sp.n >= rs.MIN_SEEDS:
            comparisons.append((image_layer.removeprefix("images: "), sp, pe.more_or_less(text_at, sp)))
    per_sentence = float(mask.sum(1).double().mean())
    scale = (
        f"Scale: all-MiniLM-L6-v2 as trained (with LayerNorm), {n_sentences} sentences from the Python standard "
        f"library's docstrings ({per_sentence:.1f} tokens each on average), {n_batches} random batches of whole "
        f"sentences per size, {len(text)} draws of them (their sd is the batch sampling alone: the sentences are the "
        "same); images: the training lab's 3-convolution ConvNet trained with BatchNorm on 8×8 digits and 28×28 "
        f"MNIST, batches drawn from the same number ({n_sentences}) of validation images, 3 trained seeds (shipped). "
        "What it cannot test: the paper's measurement during training with BatchNorm (the PowerNorm page has it for "
        "the tiny LM), a transformer trained with BatchNorm on text, and the paper's images (ResNet on CIFAR-10)."
    )
    verdict = claim_verdict(text_at, comparisons, n_sentences)
    return Claim(layer, site, n_sentences, text, images, prov, tuple(comparisons), text_at, verdict, scale)


def claim_verdict(text_at: rs.Spread, comparisons: Sequence[tuple[str, rs.Spread, str]], n_sentences: int) -> str:
    """The Real model page's PowerNorm verdict, worded from the numbers: how many image layers text's batch variance
    fluctuates more than, less than, or no differently from (each pair by the verdict rule), and what that says."""
    if text_at.n < rs.MIN_SEEDS:
        return (
            f"These {n_sentences} sentences cannot make batches of {CLAIM_AT} real tokens (at most half of them per "
            "batch): choose more sentences to compare with the images."
        )
    if not comparisons:
        return (
            f"No shipped image measurement from a pool of {n_sentences} images in this installation, so no "
            "comparison: run `python -m norm_viz.beyond.powernorm_evidence`. Text alone: "
            f"{text_at.text(3)} at {CLAIM_AT} values per statistic."
        )
    words = [w for _n, _s, w in comparisons]
    more, less = words.count("more"), words.count("less")
    tie = len(words) - more - less
    ratios = [text_at.mean / sp.mean for _n, sp, _w in comparisons]
    n = len(words)
    counted = [(more, "more than at"), (less, "less than at"), (tie, "no differently from")]
    said = [(k, how) for k, how in counted if k]
    if len(said) == 1:
        head = f"fluctuates {said[0][1]} every image layer ({n} of {n})"
    else:
        head = "fluctuates " + ", ".join(
            f"{how} {k} of the {n} image layers" if i == 0 else f"{how} {k}" for i, (k, how) in enumerate(said)
        )
    if more == n:
        tail = "real text's batch statistics do fluctuate more than these real images'."
    elif tie == n:
        tail = "no difference at this scale."
    elif more == 0:
        tail = "real text's batch statistics do not fluctuate more than these real images'."
    elif less == 0:
        tail = "real text's batch statistics fluctuate more than some of these real images' and less than none."
    else:
        tail = "which way it goes depends on which image layer stands for 'images', not on text versus images."
    return (
        f"At {CLAIM_AT} values per statistic, the batch variance at this LayerNorm's input {head} "
        f"(text / image: {min(ratios):.2f}× to {max(ratios):.2f}×; a difference counts when it exceeds the two "
        f"spreads together): {tail}"
    )


def ln_delta_table(v: RealModelView) -> list[tuple[str, float]]:
    """(LayerNorm, max |Δ|) for the 13 LayerNorms."""
    return [(f.name, f.max_delta) for f in v.facts]


def xhat_of(a: Activations) -> Tensor:
    """(n_real, F) |x̂| of the real tokens."""
    return normalize(a.x, "layernorm", eps=a.ln_eps).normalized[a.mask].abs()


__all__ = [
    "LN_SITES",
    "Claim",
    "Composition",
    "LNFacts",
    "RealModelView",
    "SiteComposition",
    "SiteMovement",
    "batch_composition",
    "batch_composition_sites",
    "findings",
    "ln_facts",
    "powernorm_claim",
    "real_model_view",
]
