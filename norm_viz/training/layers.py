"""Trainable normalization layers for the training lab, one per key of the table (norm_viz.core.table.NORMS).

torch only. Each layer takes x (B, S, F) and a mask (B, S) of real tokens (None = all real) and has what a torch.nn
module needs to be trained: γ and β (or DyT's α), running statistics as buffers, train/eval behaviour. Where torch.nn
has the layer it is used as it is (nn.LayerNorm, nn.RMSNorm, nn.BatchNorm1d); masked BatchNorm follows
nn.BatchNorm1d on the real tokens; PowerNorm runs the app's own step (extra_norms.powernorm_step, the authors' rules).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from norm_viz.core import extra_norms
from norm_viz.core.table import NORMS

NONE = "none"
"""The key for "no normalization" (not a row of the table: nothing is averaged and nothing divides)."""
LM_NORMS: tuple[str, ...] = ("layernorm", "rmsnorm", "batchnorm", "masked_batchnorm", "powernorm", "dyt", NONE)
"""The norms the language model can use: table keys that apply to a (batch, sequence, feature) activation, and none."""
CNN_NORMS: tuple[str, ...] = ("batchnorm", "groupnorm", "layernorm", "instancenorm", NONE)
"""The ConvNet's norms, as table keys on an image viewed as (batch, pixels, channels): LayerNorm is ConvNeXt's (one
statistic per pixel, over its channels), GroupNorm and InstanceNorm average over the pixels as well."""


def label(key: str) -> str:
    """The table's label of a norm key (or 'none')."""
    return "none" if key == NONE else NORMS[key].label


def batch_dependent(key: str) -> bool:
    """True when the norm's training output depends on the other samples of the batch (its statistics do)."""
    return key != NONE and NORMS[key].batch_stats


def check_key(key: str, allowed: tuple[str, ...]) -> None:
    """ValueError naming the valid keys when `key` is not one of them."""
    if key not in allowed:
        raise ValueError(f"unknown norm {key!r}; valid: {', '.join(allowed)}")


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
    """Dynamic Tanh (Zhu et al., 2025): γ·tanh(α·x) + β with a learnable scalar α (initially 0.5); no statistic."""

    def __init__(self, features: int, alpha: float = extra_norms.DYT_ALPHA) -> None:
        super().__init__()
        self.alpha = nn.Parameter(torch.tensor(float(alpha)))
        self.weight = nn.Parameter(torch.ones(features))
        self.bias = nn.Parameter(torch.zeros(features))

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        return torch.tanh(self.alpha * x) * self.weight + self.bias


class SequenceNorm(nn.Module):
    """One normalization layer of the language model: x (B, S, F) and the real-token mask in, same shape out.

    `capture` = True makes the next forward keep the batch statistics of its input over the real tokens (per-feature
    mean and biased variance, what BatchNorm would compute): the training lab plots them step by step."""

    def __init__(self, key: str, features: int, *, powernorm_warmup: int = 60) -> None:
        super().__init__()
        check_key(key, LM_NORMS)
        self.key = key
        self.capture = False
        self.captured: tuple[Tensor, Tensor] | None = None
        inner: nn.Module
        if key == "layernorm":
            inner = nn.LayerNorm(features)
        elif key == "rmsnorm":
            inner = nn.RMSNorm(features, eps=1e-5)
        elif key == "batchnorm":
            inner = nn.BatchNorm1d(features)
        elif key == "masked_batchnorm":
            inner = MaskedBatchNorm(features)
        elif key == "powernorm":
            inner = PowerNorm(features, warmup_steps=powernorm_warmup)
        elif key == "dyt":
            inner = DyT(features)
        else:
            inner = nn.Identity()
        self.inner = inner

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        if self.capture:
            with torch.no_grad():
                rows = x.detach().reshape(-1, x.shape[-1]) if mask is None else x.detach()[mask]
                var, mean = torch.var_mean(rows, dim=0, correction=0)
                self.captured = (mean, var)
        if isinstance(self.inner, nn.BatchNorm1d):  # all tokens, pads included: BatchNorm as usually written
            b, s, f = x.shape
            return self.inner(x.reshape(b * s, f)).reshape(b, s, f)
        if isinstance(self.inner, (MaskedBatchNorm, PowerNorm, DyT)):
            return self.inner(x, mask)
        return self.inner(x)


class ChannelsLayerNorm(nn.Module):
    """ConvNeXt's LayerNorm on (B, C, H, W): one statistic per pixel, over its channels (nn.LayerNorm on channels)."""

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels, eps=eps)

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


def image_norm(key: str, channels: int, groups: int = 4) -> nn.Module:
    """The ConvNet's norm layer for (B, C, H, W): the torch.nn module for each key (Identity for 'none')."""
    check_key(key, CNN_NORMS)
    if key == "batchnorm":
        return nn.BatchNorm2d(channels)
    if key == "groupnorm":
        if channels % groups:
            raise ValueError(f"GroupNorm groups={groups} does not divide channels={channels}")
        return nn.GroupNorm(groups, channels)
    if key == "layernorm":
        return ChannelsLayerNorm(channels)
    if key == "instancenorm":
        return nn.InstanceNorm2d(channels, affine=True)
    return nn.Identity()
