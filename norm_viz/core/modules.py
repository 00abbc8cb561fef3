"""Trainable normalization layers built from the table's rows (Norm.module): x (B, S, F) and a real-token mask in.

torch only. Where torch.nn has the layer it is used as it is (nn.LayerNorm, nn.RMSNorm, nn.BatchNorm1d over every
token, nn.InstanceNorm1d and nn.GroupNorm over the sequence, nn.LayerNorm over (S, F)); masked BatchNorm follows
nn.BatchNorm1d on the real tokens; PowerNorm runs the table's own step (extra_norms.powernorm_step, the authors'
rules); DyT runs the table's own function (extra_norms.dyt). The training lab, the oracle (compute.reference) and the
benchmark build their layers here, so a new row with a factory is verifiable and trainable.

`image_layer` builds the ConvNet's layer of a row for images (B, C, H, W) viewed as (batch, pixels, channels): the
row's reduction axes decide which torch.nn 2-D module it is (BatchNorm2d, GroupNorm, InstanceNorm2d, or a norm over
each pixel's channels as in ConvNeXt).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from norm_viz.core import extra_norms


class TokenNorm(nn.Module):
    """A torch.nn norm applied to x (B, S, F) as it is (nn.LayerNorm and nn.RMSNorm over each token's features,
    nn.LayerNorm over (S, F)): the mask changes nothing."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        return self.inner(x)  # type: ignore[no-any-return]


class Transposed(nn.Module):
    """A torch.nn norm for (B, C, L) (nn.InstanceNorm1d, nn.GroupNorm) applied to x (B, S, F) as (B, F, S), so its
    statistics span the sequence: x.transpose(1, 2) in and out. The mask changes nothing."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        return self.inner(x.transpose(1, 2)).transpose(1, 2)  # type: ignore[no-any-return]


class SequenceBatchNorm(nn.BatchNorm1d):
    """nn.BatchNorm1d over every token of the batch, pads included (BatchNorm as usually written for sequences)."""

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:  # type: ignore[override]
        b, s, f = x.shape
        return super().forward(x.reshape(b * s, f)).reshape(b, s, f)


class TokenGroupNorm(nn.GroupNorm):
    """nn.GroupNorm applied to each token on its own: one statistic per (token, feature group)."""

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:  # type: ignore[override]
        b, s, f = x.shape
        return super().forward(x.reshape(b * s, f)).reshape(b, s, f)


class MaskedBatchNorm(nn.Module):
    """BatchNorm whose statistics come from the real tokens only; pads are normalized with the same statistics.

    Training: the biased variance divides, the running variance takes the unbiased one (momentum 0.1), exactly as
    nn.BatchNorm1d applied to x[mask]. Eval: the running statistics, like nn.BatchNorm1d.eval().
    """

    def __init__(self, features: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.weight = nn.Parameter(torch.ones(features))
        self.bias = nn.Parameter(torch.zeros(features))
        self.running_mean: Tensor
        self.running_var: Tensor
        self.register_buffer("running_mean", torch.zeros(features))
        self.register_buffer("running_var", torch.ones(features))

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        if not self.training:
            return F.batch_norm(x.transpose(1, 2), self.running_mean, self.running_var, self.weight, self.bias,
                                False, 0.0, self.eps).transpose(1, 2)  # fmt: skip
        rows = x.reshape(-1, x.shape[-1]) if mask is None else x[mask]
        n = rows.shape[0]
        if n < 2:
            raise ValueError(f"masked BatchNorm needs at least 2 real tokens in a training batch, got {n}")
        var, mean = torch.var_mean(rows, dim=0, correction=0)
        with torch.no_grad():
            self.running_mean.lerp_(mean.detach(), self.momentum)
            self.running_var.lerp_(var.detach() * n / (n - 1), self.momentum)
        return (x - mean) * torch.rsqrt(var + self.eps) * self.weight + self.bias


class PowerNorm(nn.Module):
    """PowerNorm (Shen et al., 2020) as this app computes it (extra_norms.powernorm_step): divide each feature by
    √(ψ² + ε), ψ² = the real tokens' mean square; during the first `warmup_steps` training steps by this batch's ψ²,
    then by the running ψ² (updated by the authors' rule). Gradients flow through the batch ψ² during warm-up only;
    the authors' approximate backward through the running statistics is not reproduced."""

    def __init__(self, features: int, warmup_steps: int = 60, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps, self.warmup_steps = eps, warmup_steps
        self.weight = nn.Parameter(torch.ones(features))
        self.bias = nn.Parameter(torch.zeros(features))
        self.running_psi2: Tensor
        self.step: Tensor
        self.register_buffer("running_psi2", torch.ones(features))
        self.register_buffer("step", torch.zeros((), dtype=torch.long))

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        step = int(self.step) + 1
        out = extra_norms.powernorm_step(
            x, self.eps, mask=mask, running=self.running_psi2, training=self.training, step=step,
            warmup_steps=self.warmup_steps,
        )  # fmt: skip
        if self.training:
            with torch.no_grad():
                self.running_psi2.copy_(out.running_after.detach())
                self.step.fill_(step)
        return out.normalized * self.weight + self.bias


class DyT(nn.Module):
    """Dynamic Tanh (Zhu et al., 2025): γ·tanh(α·x) + β with a learnable scalar α; no statistic. The tanh is the
    table's own (extra_norms.dyt), so the lab trains exactly what the Explorer shows."""

    def __init__(self, features: int, alpha: float = extra_norms.DYT_ALPHA) -> None:
        super().__init__()
        self.alpha = nn.Parameter(torch.tensor(float(alpha)))
        self.weight = nn.Parameter(torch.ones(features))
        self.bias = nn.Parameter(torch.zeros(features))

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        return extra_norms.dyt(x, self.alpha) * self.weight + self.bias


def saturation(layer: nn.Module, x: Tensor, mask: Tensor | None = None, level: float = 0.99) -> float:
    """Fraction of a DyT layer's tanh outputs with |tanh(α·x)| > level over the real tokens (where its gradient,
    α·(1 − tanh²), is under 2% of its value at 0): the measure of a saturated DyT."""
    if not isinstance(layer, DyT):
        raise TypeError(f"saturation is measured on a DyT layer, got {type(layer).__name__}")
    with torch.no_grad():
        t = extra_norms.dyt(x if mask is None else x[mask], layer.alpha).abs()
    return float((t > level).float().mean())


class ChannelsLast(nn.Module):
    """A per-feature norm (nn.LayerNorm, nn.RMSNorm) applied to each pixel's channels of (B, C, H, W): ConvNeXt's
    LayerNorm, one statistic per pixel."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.norm = inner

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)  # type: ignore[no-any-return]


IMAGE_EPS = {("group", "feature"): 1e-6}
"""ε where the image layer's convention differs from torch's 1e-5: ConvNeXt's LayerNorm uses 1e-6."""


def image_layer(row: Any, channels: int, options: Mapping[str, Any]) -> nn.Module:
    """The trainable layer of table row `row` (a core.table.Norm) for images (B, C, H, W), viewed as (batch, pixels
    = sequence, channels = features); `options`: eps, groups. ValueError for a row with no image counterpart."""
    reduce = tuple(row.reduce)
    eps = float(options.get("eps", IMAGE_EPS.get(reduce, 1e-5)))
    if row.masked or row.forward is not None:
        pass  # masks, PowerNorm's running ψ², DyT's tanh: no image layer
    elif reduce == ("batch", "sequence") and row.batch_stats and row.centered:
        return nn.BatchNorm2d(channels, eps=eps)
    elif reduce == ("group", "feature"):
        return ChannelsLast((nn.LayerNorm if row.centered else nn.RMSNorm)(channels, eps=eps))
    elif reduce == ("sequence",) and row.centered:
        return nn.InstanceNorm2d(channels, eps=eps, affine=True)
    elif reduce == ("sequence", "feature") and row.centered:
        groups = int(options.get("groups", 1))
        if groups < 1 or channels % groups:
            raise ValueError(f"GroupNorm groups={groups} does not divide channels={channels}")
        return nn.GroupNorm(groups, channels, eps=eps)
    elif reduce == ("sequence", "group", "feature") and row.centered:
        return nn.GroupNorm(1, channels, eps=eps)  # the GroupNorm paper's LN: all pixels and channels of an image
    raise ValueError(f"{row.label} has no image layer (its statistics are not one of BatchNorm2d, GroupNorm, "
                     "InstanceNorm2d or a per-pixel LayerNorm/RMSNorm)")  # fmt: skip
