"""Equivalences between norms, each checked on the user's tensor with its max |Δ|, next to a counterexample
where the identity's condition is broken.

torch only (no streamlit, no plotly); the page's one call is `equivalences_view`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from norm_viz.core import distributed
from norm_viz.core.compute import normalize


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


def equivalences_takeaway(eqs: Sequence[Equivalence], dtype: str = "torch.float32") -> str:
    """Whether every identity held (and to what rounding), which failed, and where even the broken ones coincide."""
    held = [e for e in eqs if e.holds]
    worst = max(e.max_abs_diff for e in eqs)
    coincide = [e.name for e in eqs if e.broken_diff < 1e-4]
    if len(held) == len(eqs):
        takeaway = (
            f"all {len(eqs)} identities hold on this tensor to max |Δ| = {worst:.1e} (rounding in {dtype}), "
            f"while breaking their conditions gives differences from {min(e.broken_diff for e in eqs):.2g} to "
            f"{max(e.broken_diff for e in eqs):.2g}."
        )
    else:
        takeaway = f"{len(eqs) - len(held)} identities fail on this tensor: " + ", ".join(
            e.name for e in eqs if not e.holds
        )
    if coincide:
        takeaway += f" On this tensor even the broken versions coincide for: {', '.join(coincide)}."
    return takeaway


def equivalences_table(eqs: Sequence[Equivalence]) -> dict[str, list[str]]:
    """The identities as table columns (column name -> one text per identity), the first column its index."""
    return {
        "identity": [f"{e.left} = {e.right}" for e in eqs],
        "holds when": [e.condition for e in eqs],
        "max |Δ|": [f"{e.max_abs_diff:.1e}" + ("" if e.holds else " (fails)") for e in eqs],
        "condition broken": [e.broken for e in eqs],
        "max |Δ| then": [f"{e.broken_diff:.3g}" for e in eqs],
    }


FORMULAS = (
    r"\text{SyncBN: } \mu = \frac{\sum_k \sum x}{\sum_k n_k}, \quad \sigma^2 = \frac{\sum_k \sum x^2}{\sum_k n_k} - \mu^2"
    r"\qquad \text{RMSNorm} = \text{LayerNorm when } \tfrac{1}{F}\textstyle\sum_f x_f = 0"
)
"""The two identities that need a formula, in LaTeX."""


@dataclass(frozen=True)
class EquivalencesConfig:
    """The equivalences page's own setting: over how many devices SyncBN splits the batch."""

    devices: int = 2


@dataclass(frozen=True)
class EquivalencesView:
    """What the equivalences page shows: every identity checked, as a table, and the takeaway."""

    equivalences: tuple[Equivalence, ...]
    table: dict[str, list[str]]
    takeaway: str


def equivalences_view(x: Tensor, cfg: EquivalencesConfig) -> EquivalencesView:
    """Every identity checked on x (B, S, F) with SyncBN over `cfg.devices` devices (at most B).

    ValueError, saying which size is too small and what to change, when x cannot show them all.
    """
    b, s, f = x.shape
    try:
        eqs = tuple(equivalences(x, min(cfg.devices, b)))
    except ValueError as e:
        raise ValueError(
            f"These identities cannot all be checked on a {b} × {s} × {f} tensor: {e}. Change the sizes in the sidebar."
        ) from None
    return EquivalencesView(eqs, equivalences_table(eqs), equivalences_takeaway(eqs, str(x.dtype)))
