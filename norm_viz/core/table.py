"""The one table of normalizations: which axes of x[b, s, f] share one mean and variance, and how each is run.

Every norm here averages over some axes of x viewed as (batch, sequence, group, feature-in-group). Each row also
carries its behaviour: its fast statistics kernel (or none: the generic table reduction), or its own forward
(PowerNorm, DyT); its layer (`make`, built by `Norm.module`: the real torch.nn module where there is one), which is
both the oracle that `compute.reference` / `verify` check the app's numbers against and the training lab's layer;
for a row without a torch.nn module, an independent `reference` instead (a loop or a direct formula, never the app's
own compute path); one PyTorch snippet template; its parameters (with defaults and limits, from which the controls,
the URL, NormConfig, normalize()'s keyword arguments and the export script are generated); and its minimum number of
values per statistic.

Adding a normalization: one `Norm(...)` row in NORMS with its key, label, reduced axes, torch text, summary and
snippet, and `make=lambda f, o: <a module taking (x, mask=None)>` (core/modules.py wraps torch.nn modules for
(B, S, F) x). That alone makes it computed (the generic reduction), verified against its module, benchmarked and
trainable in the language-model lab (unless `lm_lab=False`); a kernel, its own parameters or, without a torch.nn
module, an independent `reference` are optional.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from norm_viz.core import extra_norms, kernels, modules
from norm_viz.core.params import NormParam

AXES: tuple[str, ...] = ("batch", "sequence", "group", "feature")
"""The four axes of x viewed as (B, S, G, F // G); for norms without groups G = 1."""


@dataclass(frozen=True, eq=False)
class Call:
    """What a row's forward and reference get besides x: ε, groups, the mask, the batch-statistics state and the
    row's own parameter values (`options`, by field name: alpha, warmup, scaling_groups, …)."""

    eps: float = 1e-5
    groups: int = 1
    mask: Tensor | None = None
    training: bool = True
    running_mean: Tensor | None = None
    running_var: Tensor | None = None
    momentum: float = 0.1
    options: Mapping[str, Any] = field(default_factory=dict)


Kernel = Callable[[Tensor, int, float, "Tensor | None"], kernels.Stats]
Forward = Callable[[Tensor, Call], extra_norms.ForwardOut]
Reference = Callable[[Tensor, Call], Tensor]
Snippet = str | Callable[[Mapping[str, Any]], str]
Make = Callable[[int, Mapping[str, Any]], nn.Module]
"""(features, options) -> a trainable layer taking x (B, S, F) and an optional real-token mask (core/modules.py)."""


def valid_group_counts(features: int) -> list[int]:
    """Every group count that divides the feature count."""
    return [g for g in range(1, features + 1) if features % g == 0]


def default_groups(features: int) -> int:
    """The group count used when none is given: the divisor of F closest to √F (ties: the larger)."""
    return min(valid_group_counts(features), key=lambda g: (abs(math.log(g) - 0.5 * math.log(features)), -g))


# --- the parameters a row can take (shared by the rows that use them) -------------------------------------------

GROUPS = NormParam(
    "G",
    0,
    0,
    None,
    field="groups",
    label="groups (divisors of F = {F})",
    widget="select",
    inline=True,
    choices=valid_group_counts,
    fallback=default_groups,
    invalid="does not divide F = {F}; valid group counts: {valid}",
)
"""GroupNorm's group count (G; 0 in the URL = not chosen yet, i.e. the default for F)."""
ALPHA = NormParam(
    "alpha",
    extra_norms.DYT_ALPHA,
    -100.0,
    100.0,
    label="α (DyT, Derf)",
    help="DyT: y = γ·tanh(α·x) + β; Derf: y = γ·erf(α·x + s) + β (s = 0 here)",
    step=0.1,
    inline=True,
)
"""DyT's and Derf's α (one number here; normalize() also takes a 0-d or per-feature tensor, e.g. an nn.Parameter)."""
WARMUP = NormParam(
    "warmup",
    True,
    label="warm-up step (divide by this batch's ψ²; off: by the running ψ², here its initial value 1)",
    widget="toggle",
)
"""PowerNorm: True = a warm-up step (divide by the batch's ψ²), False = after warm-up (divide by the running ψ²)."""
SCALING_GROUPS = NormParam(
    "gscale",
    extra_norms.PN_GROUP_SCALING,
    0,
    None,
    field="scaling_groups",
    label="GroupScaling groups (0 = off; the authors' code applies it first)",
    widget="select",
    choices=lambda f: [0, *valid_group_counts(f)],
    fallback=lambda f: 0,
    invalid="does not divide F = {F}; valid: {valid} (0 = off)",
)
"""PowerNorm's GroupScaling groups (0 = off, the default here; the authors' code uses 1, see extra_norms)."""


# --- independent references (rows without a torch.nn module of their own) ---------------------------------------


def _ref_masked_batchnorm(x: Tensor, c: Call) -> Tensor:
    """nn.BatchNorm1d on the real tokens x[mask] (momentum 1: its running statistics become this batch's), then
    those statistics applied to every token, pads included; in eval mode nn.BatchNorm1d with the running statistics."""
    b, s, f = x.shape
    bn = nn.BatchNorm1d(f, eps=c.eps, momentum=1.0, dtype=x.dtype).train(c.training)
    if not c.training:
        for buf, given in ((bn.running_mean, c.running_mean), (bn.running_var, c.running_var)):
            if buf is not None and given is not None:
                buf.copy_(torch.as_tensor(given, dtype=x.dtype).detach())
        return bn(x.reshape(b * s, f)).reshape(b, s, f)  # type: ignore[no-any-return]
    m = torch.ones(b, s, dtype=torch.bool) if c.mask is None else torch.as_tensor(c.mask).bool()
    bn(x[m])
    n = int(m.sum())
    mean, unbiased = bn.running_mean, bn.running_var
    assert mean is not None and unbiased is not None  # BatchNorm1d tracks running statistics by default
    return (x - mean) / torch.sqrt(unbiased * (n - 1) / n + c.eps)


def _sequence(o: Mapping[str, Any]) -> int:
    """The sequence length a layer over (S, F) is built for (ValueError when not given)."""
    if "sequence" not in o:
        raise ValueError("LayerNorm over (sequence, features) needs the sequence length: module(F, sequence=S)")
    return int(o["sequence"])


@dataclass(frozen=True)
class Norm:
    """One normalization: what it averages over, what PyTorch calls it, and how this app runs and checks it."""

    key: str
    label: str
    reduce: tuple[str, ...]
    """Axes of (batch, sequence, group, feature) that one statistic averages over."""
    torch: str
    """The exact torch counterpart, with {B}, {S}, {F}, {G}, {eps} placeholders (the Explorer's verification line)."""
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
    kernel: Kernel | None = None
    """Fast (x̂, mean, var) from torch's native kernels (kernels.py); None: the generic table reduction."""
    forward: Forward | None = None
    """A row's own forward instead of statistics (PowerNorm, DyT); None: the kernel or the table reduction."""
    reference: Reference | None = None
    """(x, Call) -> x̂ with γ = 1, β = 0 for a row whose oracle is not its module (PowerNorm's loop, DyT's and Derf's
    formulas, masked BatchNorm on x[mask]); None: the oracle is the row's module (`make`)."""
    has_torch_module: bool = True
    """True when the oracle runs a real torch.nn module (False: an independent implementation)."""
    snippet: Snippet = ""
    """PyTorch lines turning x into y (γ = 1, β = 0): a template with {B}, {S}, {F}, {G}, {BS}, {eps}, {mask} and
    each parameter's field, or a function of those values."""
    params: tuple[NormParam, ...] = ()
    """The row's own parameters: widgets, URL keys, NormConfig entries and normalize() keyword arguments."""
    min_values: int = 1
    """The fewest values one statistic may average in training (2 where torch.nn needs a variance)."""
    stat_symbol: str = ""
    """LaTeX for the statistic of a norm that does not center (default \\overline{x^2}, PowerNorm ψ²)."""
    cell_tex: str = r"\hat x = {x_hat}"
    """LaTeX of one cell's x̂ for a row that divides by no statistic: {x} (in parentheses when negative), {x_hat}
    and each parameter's field, filled with LaTeX numbers."""
    cell_words: str = "Each cell is transformed on its own: no other cell enters its value."
    """The walkthrough's sentence for that step (a row that divides by no statistic)."""
    keywords: tuple[str, ...] = ()
    """Further keyword arguments of normalize() for this row that have no control (e.g. PowerNorm's step)."""
    make: Make | None = None
    """The row's layer (see `module`): the oracle where there is no `reference`, and trainable; None: neither."""
    lm_lab: bool = True
    """Offered in the language-model lab when it has a layer. False for rows whose statistic averages one sequence's
    own positions (InstanceNorm, GroupNorm, LayerNorm over (S, F)): every position of the causal model would see the
    rest of its own sentence, future included — a leak to exploit, not a normalization to compare."""

    def module(self, features: int, *, image: bool = False, **options: Any) -> nn.Module:
        """A trainable layer of this norm for (B, S, F) activations with F = `features`: forward(x, mask=None).
        `options`: eps, and the row's own (alpha, warmup_steps, groups, sequence for a layer over (S, F)); other
        options are ignored. The torch.nn module where there is one.
        image=True: the layer for images (B, C, H, W) with C = `features`, seen as (batch, pixels, channels)
        (modules.image_layer: BatchNorm2d, GroupNorm, InstanceNorm2d, ConvNeXt's per-pixel LayerNorm)."""
        if image:
            return modules.image_layer(self, features, options)
        if self.make is None:
            trainable = ", ".join(k for k, n in NORMS.items() if n.make is not None)
            raise ValueError(f"{self.label} has no trainable layer; trainable: {trainable}")
        return self.make(features, options)

    @property
    def has_statistic(self) -> bool:
        """False for a norm that averages over no axis (DyT): it divides by nothing."""
        return bool(self.reduce)

    @property
    def kept(self) -> tuple[str, ...]:
        """Axes that index the statistics: one (mean, variance) per combination of these."""
        return tuple(a for a in AXES if a not in self.reduce)

    def defaults(self) -> dict[str, Any]:
        """The row's parameter values when none is given, by field name."""
        return {p.name: p.default for p in self.params}

    def values_per_statistic(self, shape: tuple[int, int, int], groups: int, mask: Tensor | None = None) -> int:
        """How many values one statistic averages on this shape (the real tokens only for masked rows)."""
        b, s, f = shape
        sizes = {"batch": b, "sequence": s, "group": groups, "feature": f // groups}
        if self.masked and mask is not None:
            sizes["batch"], sizes["sequence"] = int(mask.sum()), 1
        return math.prod(sizes[a] for a in self.reduce)

    @property
    def count_words(self) -> str:
        """What `values_per_statistic` counts, in words (for the single-value message)."""
        if self.masked:
            return "the number of real tokens"
        if self.reduce == ("sequence",):
            return "sequence length"
        return " × ".join(self.reduce)


NORMS: dict[str, Norm] = {
    n.key: n
    for n in (
        Norm(
            key="batchnorm",
            make=lambda f, o: modules.SequenceBatchNorm(f, eps=o.get("eps", 1e-5)),
            label="BatchNorm",
            reduce=("batch", "sequence"),
            torch="nn.BatchNorm1d({F})(x.transpose(1, 2)).transpose(1, 2)",
            summary="one statistic per feature, over every token of every sequence in the batch",
            batch_stats=True,
            paper="Ioffe & Szegedy, 2015",
            kernel=kernels.batchnorm_stats,
            snippet="y = nn.BatchNorm1d({F}, eps={eps})(x.transpose(1, 2)).transpose(1, 2)  # training mode",
            min_values=2,
        ),
        Norm(
            key="layernorm",
            make=lambda f, o: modules.TokenNorm(nn.LayerNorm(f, eps=o.get("eps", 1e-5))),
            label="LayerNorm",
            reduce=("group", "feature"),
            torch="nn.LayerNorm({F})(x)",
            summary="one statistic per token, over its features: what transformers use",
            paper="Ba, Kiros & Hinton, 2016",
            kernel=kernels.layernorm_stats,
            snippet="y = nn.LayerNorm({F}, eps={eps})(x)",
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
            kernel=kernels.layernorm_sample_stats,
            make=lambda f, o: modules.TokenNorm(nn.LayerNorm((_sequence(o), f), eps=o.get("eps", 1e-5))),
            lm_lab=False,
            snippet="y = nn.LayerNorm(({S}, {F}), eps={eps})(x)",
        ),
        Norm(
            key="instancenorm",
            label="InstanceNorm",
            reduce=("sequence",),
            torch="nn.InstanceNorm1d({F})(x.transpose(1, 2)).transpose(1, 2)",
            summary="one statistic per (sequence, feature), over the tokens of that sequence",
            paper="Ulyanov, Vedaldi & Lempitsky, 2016",
            kernel=kernels.instancenorm_stats,
            make=lambda f, o: modules.Transposed(nn.InstanceNorm1d(f, eps=o.get("eps", 1e-5), affine=True)),
            lm_lab=False,
            snippet="y = nn.InstanceNorm1d({F}, eps={eps})(x.transpose(1, 2)).transpose(1, 2)",
            min_values=2,
        ),
        Norm(
            key="groupnorm",
            label="GroupNorm",
            reduce=("sequence", "feature"),
            torch="nn.GroupNorm({G}, {F})(x.transpose(1, 2)).transpose(1, 2)",
            summary="one statistic per (sequence, feature group), over all tokens and the group's features",
            uses_groups=True,
            paper="Wu & He, 2018",
            kernel=kernels.groupnorm_stats,
            make=lambda f, o: modules.Transposed(
                nn.GroupNorm(o.get("groups", default_groups(f)), f, eps=o.get("eps", 1e-5))
            ),
            lm_lab=False,
            snippet="y = nn.GroupNorm({G}, {F}, eps={eps})(x.transpose(1, 2)).transpose(1, 2)",
            params=(GROUPS,),
        ),
        Norm(
            key="groupnorm_token",
            make=lambda f, o: modules.TokenGroupNorm(o.get("groups", default_groups(f)), f, eps=o.get("eps", 1e-5)),
            label="GroupNorm per token",
            reduce=("feature",),
            torch="F.group_norm(x.reshape({B} * {S}, {F}), {G}).reshape({B}, {S}, {F})",
            summary="one statistic per (token, feature group), over the group's features",
            uses_groups=True,
            paper="Wu & He, 2018, applied per token",
            kernel=kernels.groupnorm_token_stats,
            snippet="y = F.group_norm(x.reshape({BS}, {F}), {G}, eps={eps}).reshape({B}, {S}, {F})",
            params=(GROUPS,),
        ),
        Norm(
            key="rmsnorm",
            make=lambda f, o: modules.TokenNorm(nn.RMSNorm(f, eps=o.get("eps", 1e-5))),
            label="RMSNorm",
            reduce=("group", "feature"),
            torch="nn.RMSNorm({F}, eps={eps})(x)",
            summary="one root-mean-square per token, over its features, without subtracting a mean",
            centered=False,
            paper="Zhang & Sennrich, 2019",
            kernel=kernels.rmsnorm_stats,
            snippet="y = nn.RMSNorm({F}, eps={eps})(x)",
        ),
        Norm(
            key="masked_batchnorm",
            make=lambda f, o: modules.MaskedBatchNorm(f, eps=o.get("eps", 1e-5)),
            label="Masked BatchNorm",
            reduce=("batch", "sequence"),
            torch="nn.BatchNorm1d({F})(x[mask])  # statistics from the real tokens only",
            summary="one statistic per feature, over the real (unpadded) tokens of the batch only",
            masked=True,
            batch_stats=True,
            paper="as in PowerNorm (Shen et al., 2020)",
            kernel=kernels.batchnorm_stats,
            reference=_ref_masked_batchnorm,
            snippet=(
                "{mask}\n"
                "bn = nn.BatchNorm1d({F}, eps={eps})\n"
                "_ = bn(x[mask])  # statistics from the real tokens only\n"
                "mean = x[mask].mean(0)\n"
                "var = x[mask].var(0, unbiased=False)\n"
                "y = (x - mean) / torch.sqrt(var + {eps})  # pads are normalized with the same statistics"
            ),
            min_values=2,
        ),
        Norm(
            key="powernorm",
            make=lambda f, o: modules.PowerNorm(f, warmup_steps=o.get("warmup_steps", 60), eps=o.get("eps", 1e-5)),
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
            forward=extra_norms.powernorm_forward,
            reference=extra_norms.powernorm_reference,
            has_torch_module=False,
            stat_symbol=r"\psi^2",
            snippet=extra_norms.powernorm_snippet,
            params=(WARMUP, SCALING_GROUPS),
            keywords=("step", "warmup_steps", "rule", "scaling_eps"),
        ),
        Norm(
            key="dyt",
            make=lambda f, o: modules.DyT(f, alpha=o.get("alpha", extra_norms.DYT_ALPHA)),
            label="DyT (Dynamic Tanh)",
            reduce=(),
            torch="no torch.nn module; for x of shape ({B}, {S}, {F}): torch.tanh(alpha * x)  (γ = 1, β = 0)",
            summary="no statistic at all: every cell is squashed on its own by tanh(αx)",
            centered=False,
            paper="Zhu, Chen, He, LeCun & Liu, 2025",
            forward=extra_norms.dyt_forward,
            reference=lambda x, c: torch.tanh(c.options.get("alpha", extra_norms.DYT_ALPHA) * x),
            has_torch_module=False,
            cell_words="Scale by the learned α and squash with tanh: large values saturate near ±1, small ones stay "
            "almost linear.",
            cell_tex=r"\hat x = \tanh(\alpha x) = \tanh({alpha} \cdot {x}) = {x_hat}",
            snippet="alpha = {alpha:g}  # DyT's learnable scalar\ny = torch.tanh(alpha * x)  # times γ plus β per feature",
            params=(ALPHA,),
        ),
        Norm(
            key="derf",
            label="Derf (Dynamic erf)",
            reduce=(),
            torch="no torch.nn module; for x of shape ({B}, {S}, {F}): torch.erf(alpha * x + shift)  (γ = 1, β = 0)",
            summary="no statistic at all: every cell is squashed on its own by erf(αx + s)",
            centered=False,
            paper="Stronger Normalization-Free Transformers, 2025",
            forward=extra_norms.derf_forward,
            reference=lambda x, c: torch.erf(
                c.options.get("alpha", extra_norms.DYT_ALPHA) * x + c.options.get("shift", extra_norms.DERF_SHIFT)
            ),
            has_torch_module=False,
            cell_words="Scale by the learned α, shift by s and squash with erf: like tanh, but it saturates faster, "
            "so large values sit even closer to ±1.",
            cell_tex=r"\hat x = \operatorname{{erf}}(\alpha x) = \operatorname{{erf}}({alpha} \cdot {x}) = {x_hat}",
            snippet="alpha, shift = {alpha:g}, 0.0  # Derf's learnable scalars\n"
            "y = torch.erf(alpha * x + shift)  # times γ plus β per feature",
            params=(ALPHA,),
            keywords=("shift",),
        ),
    )
}


def norm_params() -> tuple[NormParam, ...]:
    """Every parameter of every row, once per URL key (in table order): what the norm controls declare."""
    seen: dict[str, NormParam] = {}
    for n in NORMS.values():
        for p in n.params:
            seen.setdefault(p.key, p)
    return tuple(seen.values())


def torch_call(key: str, batch: int, sequence: int, features: int, groups: int = 1, eps: float = 1e-5) -> str:
    """The torch counterpart of a norm, with this tensor's sizes filled in."""
    return NORMS[key].torch.format(B=batch, S=sequence, F=features, G=groups, eps=eps)


class _Literal(str):
    """Python source text that any format spec leaves as it is (a per-feature α in a '{alpha:g}' slot)."""

    def __format__(self, spec: str) -> str:
        return str(self)


def _code(v: Any) -> Any:
    """A parameter value as the snippet writes it: tensors as numbers or as torch.tensor([...]) source."""
    if isinstance(v, Tensor):
        v = v.detach()
        return float(v) if v.dim() == 0 else _Literal(f"torch.tensor({v.tolist()!r})")
    return v


def torch_body(
    key: str,
    shape: tuple[int, int, int],
    groups: int = 1,
    eps: float = 1e-5,
    mask_line: str | None = None,
    **options: Any,
) -> str:
    """The PyTorch lines that turn x into y for this norm (γ = 1, β = 0); `mask_line` defines `mask` for masked
    norms; `options` are the row's parameter values by field name (alpha=…, scaling_groups=…; defaults otherwise)."""
    norm = NORMS[key]
    if not norm.snippet:
        raise ValueError(
            f"no snippet for norm {key!r}; norms with one: {', '.join(k for k, n in NORMS.items() if n.snippet)}"
        )
    b, s, f = shape
    mask = mask_line or f"mask = torch.ones({b}, {s}, dtype=torch.bool)  # True = real token, False = padding"
    fill = {
        **norm.defaults(),
        **{k: _code(v) for k, v in options.items() if v is not None},
        "B": b,
        "S": s,
        "F": f,
        "G": groups,
        "BS": b * s,
        "eps": eps,
        "mask": mask,
    }
    body = norm.snippet(fill) if callable(norm.snippet) else norm.snippet.format(**fill)
    return body.rstrip("\n") + "\n"


def torch_snippet(
    key: str,
    shape: tuple[int, int, int],
    groups: int = 1,
    eps: float = 1e-5,
    lengths: tuple[int, ...] = (),
    **options: Any,
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
    return head + make + torch_body(key, shape, groups, eps, mask_line, **options)


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
