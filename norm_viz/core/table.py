"""The one table of normalizations: which axes of x[b, s, f] share one mean and variance.

Every norm here averages over some axes of x viewed as (batch, sequence, group, feature-in-group);
the compute module, the figures, the pages and the tests all read this table (no torch here).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

AXES: tuple[str, ...] = ("batch", "sequence", "group", "feature")
"""The four axes of x viewed as (B, S, G, F // G); for norms without groups G = 1."""


@dataclass(frozen=True)
class Norm:
    """One normalization: what it averages over and what PyTorch calls it."""

    key: str
    label: str
    reduce: tuple[str, ...]
    """Axes of (batch, sequence, group, feature) that one statistic averages over."""
    torch: str
    """The exact torch counterpart, with {B}, {S}, {F}, {G} placeholders."""
    summary: str
    """One sentence in plain words: which cells share one statistic."""
    centered: bool = True
    uses_groups: bool = False
    affine: str = "feature"
    """Shape of gamma/beta: "feature" -> (F,), "sequence_feature" -> (S, F)."""
    masked: bool = False
    batch_stats: bool = False
    """True when statistics come from the batch (running statistics, train vs eval)."""
    paper: str = ""

    @property
    def kept(self) -> tuple[str, ...]:
        """Axes that index the statistics: one (mean, variance) per combination of these."""
        return tuple(a for a in AXES if a not in self.reduce)


NORMS: dict[str, Norm] = {
    n.key: n
    for n in (
        Norm(
            key="batchnorm",
            label="BatchNorm",
            reduce=("batch", "sequence"),
            torch="nn.BatchNorm1d({F})(x.transpose(1, 2)).transpose(1, 2)",
            summary="one statistic per feature, over every token of every sequence in the batch",
            batch_stats=True,
            paper="Ioffe & Szegedy, 2015",
        ),
        Norm(
            key="layernorm",
            label="LayerNorm",
            reduce=("group", "feature"),
            torch="nn.LayerNorm({F})(x)",
            summary="one statistic per token, over its features: what transformers use",
            paper="Ba, Kiros & Hinton, 2016",
        ),
        Norm(
            key="layernorm_sample",
            label="LayerNorm over (sequence, features)",
            reduce=("sequence", "group", "feature"),
            torch="nn.LayerNorm(({S}, {F}))(x)",
            summary="one statistic per sequence, over all its tokens and features "
            "(the GroupNorm paper's 'LN'; not what transformers use)",
            affine="sequence_feature",
            paper="Wu & He, 2018, figure 2",
        ),
        Norm(
            key="instancenorm",
            label="InstanceNorm",
            reduce=("sequence",),
            torch="nn.InstanceNorm1d({F})(x.transpose(1, 2)).transpose(1, 2)",
            summary="one statistic per (sequence, feature), over the tokens of that sequence",
            paper="Ulyanov, Vedaldi & Lempitsky, 2016",
        ),
        Norm(
            key="groupnorm",
            label="GroupNorm",
            reduce=("sequence", "feature"),
            torch="nn.GroupNorm({G}, {F})(x.transpose(1, 2)).transpose(1, 2)",
            summary="one statistic per (sequence, feature group), over all tokens and the group's features",
            uses_groups=True,
            paper="Wu & He, 2018",
        ),
        Norm(
            key="groupnorm_token",
            label="GroupNorm per token",
            reduce=("feature",),
            torch="F.group_norm(x.reshape({B} * {S}, {F}), {G}).reshape({B}, {S}, {F})",
            summary="one statistic per (token, feature group), over the group's features",
            uses_groups=True,
            paper="Wu & He, 2018, applied per token",
        ),
        Norm(
            key="rmsnorm",
            label="RMSNorm",
            reduce=("group", "feature"),
            torch="nn.RMSNorm({F}, eps={eps})(x)",
            summary="one root-mean-square per token, over its features, without subtracting a mean",
            centered=False,
            paper="Zhang & Sennrich, 2019",
        ),
        Norm(
            key="masked_batchnorm",
            label="Masked BatchNorm",
            reduce=("batch", "sequence"),
            torch="nn.BatchNorm1d({F})(x[mask])  # statistics from the real tokens only",
            summary="one statistic per feature, over the real (unpadded) tokens of the batch only",
            masked=True,
            batch_stats=True,
            paper="as in PowerNorm (Shen et al., 2020)",
        ),
        Norm(
            key="powernorm",
            label="PowerNorm",
            reduce=("batch", "sequence"),
            torch="no torch.nn module; for x of shape ({B}, {S}, {F}): x / torch.sqrt(x[mask].pow(2).mean(0) + {eps}) "
            "in warm-up, then / the running ψ² (checked against a direct loop written from the paper's formulas)",
            summary="one quadratic mean ψ² per feature over the real tokens of the batch, no mean subtracted; "
            "after warm-up it divides by a running ψ²",
            centered=False,
            masked=True,
            batch_stats=True,
            paper="Shen et al., 2020",
        ),
        Norm(
            key="dyt",
            label="DyT (Dynamic Tanh)",
            reduce=(),
            torch="no torch.nn module; for x of shape ({B}, {S}, {F}): torch.tanh(alpha * x)  (γ = 1, β = 0)",
            summary="no statistic at all: every cell is squashed on its own by tanh(αx)",
            centered=False,
            paper="Zhu, Chen, He, LeCun & Liu, 2025",
        ),
    )
}


def valid_group_counts(features: int) -> list[int]:
    """Every group count that divides the feature count."""
    return [g for g in range(1, features + 1) if features % g == 0]


def default_groups(features: int) -> int:
    """The group count used when none is given: the divisor of F closest to √F (ties: the larger)."""
    return min(valid_group_counts(features), key=lambda g: (abs(math.log(g) - 0.5 * math.log(features)), -g))


def torch_call(key: str, batch: int, sequence: int, features: int, groups: int = 1, eps: float = 1e-5) -> str:
    """The torch counterpart of a norm, with this tensor's sizes filled in."""
    return NORMS[key].torch.format(B=batch, S=sequence, F=features, G=groups, eps=eps)


def torch_body(
    key: str,
    shape: tuple[int, int, int],
    groups: int = 1,
    eps: float = 1e-5,
    mask_line: str | None = None,
    *,
    alpha: float = 0.5,
    scaling_groups: int = 0,
) -> str:
    """The PyTorch lines that turn x into y for this norm (γ = 1, β = 0); `mask_line` defines `mask` for masked norms."""
    b, s, f = shape
    mask = mask_line or f"mask = torch.ones({b}, {s}, dtype=torch.bool)  # True = real token, False = padding"
    scaling = (
        f"xg = x.reshape({b}, {s}, {scaling_groups}, {f // scaling_groups})  # GroupScaling (the authors' code)\n"
        f"xs = (xg / torch.sqrt(xg.pow(2).mean(-1, keepdim=True) + {eps})).reshape({b}, {s}, {f})\n"
        if scaling_groups
        else "xs = x  # no GroupScaling\n"
    )
    bodies = {
        "batchnorm": f"y = nn.BatchNorm1d({f}, eps={eps})(x.transpose(1, 2)).transpose(1, 2)  # training mode",
        "layernorm": f"y = nn.LayerNorm({f}, eps={eps})(x)",
        "layernorm_sample": f"y = nn.LayerNorm(({s}, {f}), eps={eps})(x)",
        "instancenorm": f"y = nn.InstanceNorm1d({f}, eps={eps})(x.transpose(1, 2)).transpose(1, 2)",
        "groupnorm": f"y = nn.GroupNorm({groups}, {f}, eps={eps})(x.transpose(1, 2)).transpose(1, 2)",
        "groupnorm_token": f"y = F.group_norm(x.reshape({b * s}, {f}), {groups}, eps={eps}).reshape({b}, {s}, {f})",
        "rmsnorm": f"y = nn.RMSNorm({f}, eps={eps})(x)",
        "masked_batchnorm": (
            f"{mask}\n"
            f"bn = nn.BatchNorm1d({f}, eps={eps})\n"
            "_ = bn(x[mask])  # statistics from the real tokens only\n"
            "mean = x[mask].mean(0)\n"
            "var = x[mask].var(0, unbiased=False)\n"
            f"y = (x - mean) / torch.sqrt(var + {eps})  # pads are normalized with the same statistics"
        ),
        "powernorm": (
            f"{mask}\n"
            f"running_psi2 = torch.ones({f})  # the running quadratic mean PowerNorm keeps\n"
            + scaling
            + "psi2 = xs[mask].pow(2).mean(0)  # per feature, over the real tokens; no mean is subtracted\n"
            f"y = xs / torch.sqrt(psi2 + {eps})  # during warm-up; afterwards xs / torch.sqrt(running_psi2 + {eps})\n"
            "running_psi2 = 0.9 * running_psi2 + 0.1 * psi2  # α = 0.9"
        ),
        "dyt": f"alpha = {alpha:g}  # DyT's learnable scalar\ny = torch.tanh(alpha * x)  # times γ plus β per feature",
    }
    if key not in bodies:
        raise ValueError(f"no snippet for norm {key!r}; known: {', '.join(bodies)}")
    return bodies[key] + "\n"


def torch_snippet(
    key: str,
    shape: tuple[int, int, int],
    groups: int = 1,
    eps: float = 1e-5,
    lengths: tuple[int, ...] = (),
    *,
    alpha: float = 0.5,
    scaling_groups: int = 0,
) -> str:
    """A copyable PyTorch snippet whose output equals the app's for this norm and shape."""
    b, s, f = shape
    mask_line = (
        f"mask = torch.arange({s})[None, :] < torch.tensor({list(lengths)})[:, None]  # True = real token"
        if lengths
        else None
    )
    head = "import torch\nfrom torch import nn\nimport torch.nn.functional as F\n\n"
    make = f"x = torch.randn({b}, {s}, {f})  # or your own (batch, sequence, features) tensor\n"
    return head + make + torch_body(key, shape, groups, eps, mask_line, alpha=alpha, scaling_groups=scaling_groups)


Box = tuple[tuple[int, int], tuple[int, int], tuple[int, int]]


def lit_box(key: str, shape: tuple[int, int, int], cell: tuple[int, int, int], groups: int = 1) -> Box:
    """The half-open ((b0, b1), (s0, s1), (f0, f1)) box of cells that share `cell`'s statistic.

    For every norm of the table that set is a box: a reduced axis spans its whole range, a kept axis
    only the cell's index, and a feature axis reduced within kept groups spans the cell's group.
    """
    norm = NORMS[key]
    b, s, f = shape
    cb, cs, cf = cell
    g = groups if norm.uses_groups else 1
    width = f // g

    def span(axis: str, n: int, i: int) -> tuple[int, int]:
        return (0, n) if axis in norm.reduce else (i, i + 1)

    if "feature" not in norm.reduce:
        feat = (cf, cf + 1)
    elif "group" in norm.reduce:
        feat = (0, f)
    else:
        feat = (cf // width * width, (cf // width + 1) * width)
    return span("batch", b, cb), span("sequence", s, cs), feat


UNITS: dict[tuple[str, ...], str] = {
    ("batch", "sequence"): "token",
    ("feature",): "feature",
    ("batch",): "sequence",
    ("batch", "feature"): "(sequence, feature) pair",
    ("batch", "group"): "(sequence, feature group) pair",
    ("batch", "sequence", "group"): "(token, feature group) pair",
    (): "tensor",
    ("batch", "sequence", "feature"): "cell",
}


def unit_name(stats_axes: tuple[str, ...]) -> str:
    """What one statistic belongs to, in words: 'token', 'feature', 'sequence', …"""
    return UNITS.get(stats_axes, "(" + ", ".join(stats_axes) + ") combination")
