"""Computations behind the 'beyond the standard norms' pages: custom axes, equivalences, geometry,
batch-statistics fluctuation, and the ε / dtype lab.

torch only (no streamlit, no plotly); every number the pages show comes from these functions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from norm_viz.core import distributed
from norm_viz.core.compute import normalize
from norm_viz.core.data import make_tensor
from norm_viz.core.table import NORMS

# --- custom axes ---------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CustomResult:
    """A normalization defined by the user's choice of axes, with its groups and statistics."""

    output: Tensor
    group_id: Tensor
    """(B, S, F) int64: cells with the same id share one statistic."""
    mean: Tensor | None
    """(n_groups,) or None when not centered."""
    var: Tensor
    """(n_groups,) variance (or mean square when not centered)."""
    axes: tuple[str, ...]
    centered: bool
    groups: int

    @property
    def n_groups(self) -> int:
        return int(self.var.numel())

    @property
    def group_size(self) -> int:
        return self.output.numel() // self.n_groups


def custom_normalize(
    x: Tensor, axes: Sequence[str], centered: bool = True, groups: int = 1, eps: float = 1e-5
) -> CustomResult:
    """Normalize over any subset of {batch, sequence, feature} (features split into `groups` groups)."""
    b, s, f = x.shape
    unknown = set(axes) - {"batch", "sequence", "feature"}
    if unknown:
        raise ValueError(f"unknown axes {sorted(unknown)}; choose from batch, sequence, feature")
    if groups < 1 or f % groups:
        raise ValueError(f"groups={groups} does not divide features={f}")
    g = groups if "feature" in axes else 1
    x4 = x.reshape(b, s, g, f // g)
    dims = tuple(i for i, a in ((0, "batch"), (1, "sequence"), (3, "feature")) if a in axes)
    kept = [1 if i in dims else n for i, n in enumerate(x4.shape)]
    if dims and centered:
        var, mean = torch.var_mean(x4, dim=dims, keepdim=True, correction=0)
    elif dims:
        mean, var = None, x4.square().mean(dim=dims, keepdim=True)
    else:  # dim=() would reduce everything in torch: here each cell is its own group
        mean, var = (x4, torch.zeros_like(x4)) if centered else (None, x4.square())
    y = ((x4 - mean) if mean is not None else x4) * torch.rsqrt(var + eps)
    ids = torch.arange(math.prod(kept)).view(kept).expand(x4.shape).reshape(b, s, f)
    return CustomResult(
        y.reshape(b, s, f),
        ids,
        None if mean is None else mean.reshape(-1),
        var.reshape(-1),
        tuple(a for a in ("batch", "sequence", "feature") if a in axes),
        centered,
        g,
    )


def same_partition(a: Tensor, b: Tensor) -> bool:
    """True when two group-id tensors split the cells into the same groups (ids may differ)."""
    a, b = a.reshape(-1), b.reshape(-1)
    pairs = torch.unique(torch.stack([a, b]), dim=1).shape[1]
    return pairs == int(torch.unique(a).numel()) == int(torch.unique(b).numel())


@dataclass(frozen=True)
class Match:
    """How one row of NORMS compares with a custom normalization."""

    key: str
    label: str
    same_groups: bool
    same_centering: bool
    max_abs_diff: float | None
    """max |Δ| of the outputs; None when the row cannot run on this tensor."""
    note: str = ""

    @property
    def equal(self) -> bool:
        return self.same_groups and self.max_abs_diff is not None and self.max_abs_diff < 1e-4


def match_norms(x: Tensor, custom: CustomResult, eps: float = 1e-5) -> list[Match]:
    """Compare a custom normalization with every row of NORMS: same groups? same output?"""
    out = []
    for key, spec in NORMS.items():
        try:
            r = normalize(x, key, eps, groups=custom.groups if spec.uses_groups else None)
        except ValueError as e:
            out.append(Match(key, spec.label, False, spec.centered == custom.centered, None, str(e)))
            continue
        diff = float((r.normalized - custom.output).abs().max())
        out.append(
            Match(key, spec.label, same_partition(r.group_id, custom.group_id), spec.centered == custom.centered, diff)
        )
    return out


# --- equivalences ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Equivalence:
    """One identity between two normalizations, checked on a tensor, with a counterexample."""

    name: str
    left: str
    right: str
    condition: str
    max_abs_diff: float
    broken: str
    """What happens when the condition fails, in words."""
    broken_diff: float
    """max |Δ| between the two sides when the condition fails."""

    @property
    def holds(self) -> bool:
        return self.max_abs_diff < 1e-4


def _diff(a: Tensor, b: Tensor) -> float:
    return float((a - b).abs().max())


def sync_batchnorm(x: Tensor, devices: int, eps: float = 1e-5) -> tuple[Tensor, Tensor]:
    """(SyncBN output, per-device BN output) when the batch is split over `devices` shards.

    SyncBN (norm_viz.core.distributed) combines each shard's count, mean and variance; every shard then uses the
    global μ and σ².
    """
    b = x.shape[0]
    if not 1 <= devices <= b:
        raise ValueError(f"devices must be between 1 and the batch size {b}, got {devices}")
    shards = torch.tensor_split(x, devices, dim=0)
    synced, _mean, _var = distributed.sync_batchnorm(shards, eps)
    local = torch.cat([normalize(sh, "batchnorm", eps).normalized for sh in shards])
    return synced, local


def equivalences(x: Tensor, devices: int = 2, eps: float = 1e-5) -> list[Equivalence]:
    """Every identity of the Equivalences page, checked on x (B, S, F); ValueError when x is too small for one."""
    b, s, f = x.shape
    if s < 2:
        raise ValueError(f"the sequence must have at least 2 tokens (got S = {s}): InstanceNorm needs 2 values")
    if f < 2:
        raise ValueError(
            f"at least 2 features are needed (got F = {f}) for the identities to differ from their failures"
        )
    if b < 2:
        raise ValueError(f"the batch must have at least 2 sequences (got B = {b}) to split it over devices")
    ln_s = normalize(x, "layernorm_sample", eps).normalized
    gn = {g: normalize(x, "groupnorm", eps, groups=g).normalized for g in (1, f)}
    inst = normalize(x, "instancenorm", eps).normalized
    g_other = max(g for g in range(1, f) if f % g == 0)
    one = x[:1]
    synced, local = sync_batchnorm(x, devices, eps)
    bn = normalize(x, "batchnorm", eps).normalized
    centered = x - x.mean(-1, keepdim=True)
    return [
        Equivalence(
            "GroupNorm with one group",
            "GroupNorm(G = 1)",
            "LayerNorm over (sequence, features)",
            "G = 1: the one group is all features",
            _diff(gn[1], ln_s),
            f"GroupNorm(G = {f}) instead",
            _diff(gn[f], ln_s),
        ),
        Equivalence(
            "GroupNorm with one feature per group",
            f"GroupNorm(G = F = {f})",
            "InstanceNorm",
            "G = F: each group is one feature",
            _diff(gn[f], inst),
            f"GroupNorm(G = {g_other}) instead",
            _diff(normalize(x, "groupnorm", eps, groups=g_other).normalized, inst),
        ),
        Equivalence(
            "BatchNorm on a batch of one",
            "BatchNorm (training, B = 1)",
            "InstanceNorm",
            "B = 1: the batch is one sequence",
            _diff(normalize(one, "batchnorm", eps).normalized, normalize(one, "instancenorm", eps).normalized),
            f"the whole batch, B = {b}",
            _diff(bn, inst),
        ),
        Equivalence(
            "SyncBN",
            f"SyncBN over {devices} devices",
            f"BatchNorm on the global batch of {b}",
            "the shards' counts, Σx and Σx² are summed across devices",
            _diff(synced, bn),
            f"plain BN on each of the {devices} devices (no sync)",
            _diff(local, bn),
        ),
        Equivalence(
            "RMSNorm on centered tokens",
            "RMSNorm",
            "LayerNorm",
            "every token already has mean 0",
            _diff(normalize(centered, "rmsnorm", eps).normalized, normalize(centered, "layernorm", eps).normalized),
            "the raw tokens (means not 0)",
            _diff(normalize(x, "rmsnorm", eps).normalized, normalize(x, "layernorm", eps).normalized),
        ),
    ]


# --- geometry --------------------------------------------------------------------------------------


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


GEOMETRY_NORMS: dict[str, str] = {"layernorm": "LayerNorm", "rmsnorm": "RMSNorm", "batchnorm": "BatchNorm"}
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


def geometry_view(cfg: GeometryConfig) -> GeometryView:
    """The token cloud of `cfg` through its norm, measured, with a takeaway that follows the numbers."""
    if cfg.norm not in GEOMETRY_NORMS:
        raise ValueError(f"unknown norm {cfg.norm!r}; the geometry view shows {', '.join(GEOMETRY_NORMS)}")
    geo = geometry(token_cloud(cfg.tokens, cfg.features, cfg.seed, cfg.shift, cfg.stretch))
    lengths = geo.norms(cfg.norm)
    lo, hi, mean = float(lengths.min()), float(lengths.max()), float(lengths.mean())
    off_plane = float(geo.along_ones(cfg.norm).abs().max())
    stds = tuple(float(v) for v in getattr(geo, cfg.norm).std(0, correction=0).tolist())
    f = cfg.features
    if cfg.norm == "batchnorm":
        takeaway = (
            f"after BatchNorm the tokens' lengths range from {lo:.2f} to {hi:.2f}: no sphere. Instead each feature has "
            f"mean 0 and std {', '.join(f'{v:.3f}' for v in stds)} across the tokens — the cloud is standardized "
            "axis by axis."
        )
    elif cfg.norm == "layernorm":
        takeaway = (
            f"after LayerNorm every token has length {mean:.4f} (spread {hi - lo:.1e}) = √{f} and lies on the "
            f"plane (largest distance {off_plane:.1e}): {'two points' if f == 2 else 'a circle'}, the sphere ∩ the plane."
        )
    else:
        takeaway = (
            f"after RMSNorm every token has length {mean:.4f} (spread {hi - lo:.1e}) = √{f}, but it keeps "
            f"its direction, so it can sit anywhere on the sphere (largest distance from the plane {off_plane:.2f})."
        )
    return GeometryView(geo, cfg.norm, lo, hi, off_plane, stds, takeaway)


# --- batch-statistics fluctuation -------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Fluctuation:
    """Per-feature batch statistics over many mini-batches, for each batch size, of one kind of data."""

    kind: str
    batch_sizes: tuple[int, ...]
    kurtosis: float
    """E[z⁴] of the standardized values (3 for a Gaussian): heavy tails make σ² fluctuate."""
    mean_spread: Tensor
    """(len(batch_sizes),) std across batches of the per-feature batch mean, averaged over features (units of σ)."""
    var_spread: Tensor
    """(len(batch_sizes),) std across batches of the per-feature batch variance, relative to the dataset's."""
    mean_distance: Tensor
    """(len(batch_sizes),) RMS over features of |μ_batch − μ_running|, averaged over steps."""
    var_distance: Tensor
    """(len(batch_sizes),) RMS over features of |σ²_batch − σ²_running|, averaged over steps."""
    tokens_per_batch: Tensor
    """(len(batch_sizes),) mean number of real tokens per batch."""
    example_means: Tensor
    """(n_batches, F) the batch means at the smallest batch size (for a strip plot)."""


def _masked_moments(x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    rows = x[mask]
    var, mean = torch.var_mean(rows, dim=0, correction=0)
    return mean, var


def fluctuation(
    kind: str,
    batch_sizes: Sequence[int],
    n_batches: int = 64,
    sequence: int = 16,
    features: int = 16,
    seed: int = 0,
    variable_lengths: bool = True,
    pool: int = 256,
    momentum: float = 0.1,
) -> Fluctuation:
    """Draw `n_batches` mini-batches of each size from one dataset of `kind` and measure their statistics.

    Each feature is first standardized over the whole dataset, so spreads are in units of its own σ and
    the two kinds compare fairly. Token-like data gets random lengths (1..S, the rest padding) when asked;
    image-like data always has all S positions.
    """
    if not batch_sizes or min(batch_sizes) < 1 or max(batch_sizes) > pool:
        raise ValueError(f"batch sizes must be between 1 and the dataset size {pool}, got {list(batch_sizes)}")
    if n_batches < 2:
        raise ValueError(f"need at least 2 batches to measure a spread, got {n_batches}")
    data = make_tensor(pool, sequence, features, kind, seed, dtype=torch.float64)
    g = torch.Generator().manual_seed(int(seed) + 1)
    if variable_lengths and kind == "token_like":  # sentences vary in length; images all have S pixels
        lengths = torch.randint(1, sequence + 1, (pool,), generator=g)
    else:
        lengths = torch.full((pool,), sequence)
    mask = torch.arange(sequence)[None, :] < lengths[:, None]
    mu, var = _masked_moments(data, mask)
    data = (data - mu) / var.sqrt()
    kurt = float(data[mask].pow(4).mean())
    spreads_m, spreads_v, dist_m, dist_v, toks = [], [], [], [], []
    example = torch.zeros(0)
    for bs in batch_sizes:
        means, variances, n_tok = [], [], []
        for _ in range(n_batches):
            idx = torch.randperm(pool, generator=g)[:bs]
            m_b, v_b = _masked_moments(data[idx], mask[idx])
            means.append(m_b)
            variances.append(v_b)
            n_tok.append(int(mask[idx].sum()))
        m_t, v_t = torch.stack(means), torch.stack(variances)
        run_m, run_v = torch.zeros(features, dtype=torch.float64), torch.ones(features, dtype=torch.float64)
        dm, dv = [], []
        for m_b, v_b in zip(m_t, v_t, strict=True):
            dm.append(float((m_b - run_m).square().mean().sqrt()))
            dv.append(float((v_b - run_v).square().mean().sqrt()))
            run_m = (1 - momentum) * run_m + momentum * m_b
            run_v = (1 - momentum) * run_v + momentum * v_b
        spreads_m.append(float(m_t.std(0).mean()))
        spreads_v.append(float(v_t.std(0).mean()))
        dist_m.append(sum(dm) / len(dm))
        dist_v.append(sum(dv) / len(dv))
        toks.append(sum(n_tok) / len(n_tok))
        if bs == min(batch_sizes):
            example = m_t
    t = torch.tensor
    return Fluctuation(
        kind, tuple(batch_sizes), kurt, t(spreads_m), t(spreads_v), t(dist_m), t(dist_v), t(toks), example.float()
    )


# --- ε and dtype -----------------------------------------------------------------------------------


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


# --- DyT's motivation ------------------------------------------------------------------------------


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
