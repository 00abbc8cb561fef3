"""The training lab's normalization layers: the language model's come from the table (Norm.module, so every row
with a factory is trainable with no edit here); the ConvNet's too (Norm.module(..., image=True): the torch.nn 2-D
layer of each row's reduction).

torch only. A language-model layer takes x (B, S, F) and a mask (B, S) of real tokens (None = all real) and has what
a torch.nn module needs to be trained (core/modules.py): γ and β (or DyT's α), running statistics as buffers,
train/eval behaviour.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from norm_viz.core.modules import DyT, MaskedBatchNorm, PowerNorm
from norm_viz.core.table import NORMS

__all__ = ["DyT", "MaskedBatchNorm", "PowerNorm", "SequenceNorm", "image_norm", "lm_norms"]

NONE = "none"
"""The key for "no normalization" (not a row of the table: nothing is averaged and nothing divides)."""


def lm_norms() -> tuple[str, ...]:
    """The norms the language model can use, read from the table now: every row with a layer (Norm.module) offered
    to the lab (`lm_lab`), and none; LayerNorm first (the transformer default users expect at the top of a select
    box), then the table's order."""
    rows = [k for k, n in NORMS.items() if n.make is not None and n.lm_lab]
    return (*(k for k in rows if k == "layernorm"), *(k for k in rows if k != "layernorm"), NONE)


LM_NORMS: tuple[str, ...] = lm_norms()
"""lm_norms() of the table as shipped (the select boxes and grids); checks call lm_norms(), so a row registered at
run time is trainable too."""
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


class SequenceNorm(nn.Module):
    """One normalization layer of the language model: x (B, S, F) and the real-token mask in, same shape out.

    `capture` = True makes the next forward keep the batch statistics of its input over the real tokens (per-feature
    mean and biased variance, what BatchNorm would compute): the training lab plots them step by step."""

    def __init__(self, key: str, features: int, *, powernorm_warmup: int = 60) -> None:
        super().__init__()
        check_key(key, lm_norms())
        self.key = key
        self.capture = False
        self.captured: tuple[Tensor, Tensor] | None = None
        self.inner = nn.Identity() if key == NONE else NORMS[key].module(features, warmup_steps=powernorm_warmup)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        if self.capture:
            with torch.no_grad():
                rows = x.detach().reshape(-1, x.shape[-1]) if mask is None else x.detach()[mask]
                var, mean = torch.var_mean(rows, dim=0, correction=0)
                self.captured = (mean, var)
        if isinstance(self.inner, nn.Identity):
            return x
        return self.inner(x, mask)  # type: ignore[no-any-return]


def image_norm(key: str, channels: int, groups: int = 4) -> nn.Module:
    """The ConvNet's norm layer for (B, C, H, W): the table row's image layer (Norm.module(..., image=True): the
    torch.nn module its reduction axes mean on (batch, pixels, channels)), Identity for 'none'."""
    check_key(key, CNN_NORMS)
    if key == NONE:
        return nn.Identity()
    return NORMS[key].module(channels, image=True, groups=groups)
