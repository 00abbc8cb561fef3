"""Which LayerNorm do transformers use? The Q&A thread's reading (over sequence and features) against the per-token one and
against the LayerNorm inside torch.nn.TransformerEncoderLayer, on the user's tensor.

torch only.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from norm_viz.core.compute import normalize

SAME = 1e-5
"""Largest |Δ| (float32) at which two readings count as the same numbers."""
BUMP = 10.0
"""What is added to every feature of the last token to show the leak into the first."""


@dataclass(frozen=True)
class WhichLayerNormView:
    """Both readings of LayerNorm on one tensor, PyTorch's transformer LayerNorm, the leak, and the verdict."""

    shape: tuple[int, int, int]
    token_statistics: int
    token_group_size: int
    sample_statistics: int
    sample_group_size: int
    torch_module: str
    """The code line naming PyTorch's transformer LayerNorm (its repr)."""
    d_token: float
    """max |PyTorch's transformer LayerNorm − LayerNorm per token|."""
    d_sample: float
    """max |PyTorch's transformer LayerNorm − LayerNorm over (sequence, features)|."""
    leak: str | None
    """What bumping the last token does to the first under each reading (None when S = 1)."""
    single_token: str | None
    """Why the leak cannot be shown (S = 1)."""
    takeaway: str


def which_layernorm_takeaway(d_token: float, d_sample: float) -> str:
    """The verdict from the two distances to PyTorch's transformer LayerNorm."""
    if d_sample < SAME:
        return (
            "With one token per sequence (S = 1) the two readings give the same numbers, so this tensor cannot tell them apart: "
            "set S ≥ 2 in the sidebar."
        )
    if d_token < SAME:
        return (
            "Transformers normalize **each token over its own features**: PyTorch's transformer LayerNorm matches the per-token "
            f"reading (max |Δ| = {d_token:.1e}) and not the Q&A answer's (max |Δ| = {d_sample:.3g}). The answer's claim is wrong; its comments are right."
        )
    return (
        f"On this tensor the two readings cannot be told apart (max |Δ| per token {d_token:.1e}, per sequence {d_sample:.1e}): "
        "use more than one token per sequence."
    )


def which_layernorm_view(x: Tensor) -> WhichLayerNormView:
    """Run both readings and nn.TransformerEncoderLayer's norm1 on x; bump the last token and watch the first."""
    b, s, f = x.shape
    per_token = normalize(x, "layernorm")
    per_sample = normalize(x, "layernorm_sample")
    with torch.no_grad(), torch.random.fork_rng():  # building the layer draws its weights: leave the global RNG alone
        ln = nn.TransformerEncoderLayer(d_model=f, nhead=1, dim_feedforward=4, batch_first=True).norm1
        y = ln(x)
    d_token = float((y - per_token.output).abs().max())
    d_sample = float((y - per_sample.output).abs().max())
    leak = single = None
    if s < 2:
        single = "With a single token per sequence both readings coincide: set the sequence length S to 2 or more in the sidebar."
    else:
        bumped = x.clone()
        bumped[0, s - 1] += BUMP
        first_token = float((normalize(bumped, "layernorm").output[0, 0] - per_token.output[0, 0]).abs().max())
        first_sample = float((normalize(bumped, "layernorm_sample").output[0, 0] - per_sample.output[0, 0]).abs().max())
        leak = (
            f"Add {BUMP:g} to every feature of the **last** token (b = 0, s = {s - 1}) and look at the **first** token (s = 0):  \n"
            f"- LayerNorm per token: its output changes by **{first_token:.2g}**.  \n"
            f"- LayerNorm over (sequence, features): its output changes by **{first_sample:.3g}** — the future leaks into the past, "
            "which a causal decoder must not allow."
        )
    return WhichLayerNormView(
        shape=(b, s, f),
        token_statistics=per_token.n_groups,
        token_group_size=per_token.group_size,
        sample_statistics=per_sample.n_groups,
        sample_group_size=per_sample.group_size,
        torch_module=f"nn.TransformerEncoderLayer(d_model={f}, nhead=1).norm1  ->  {ln}",
        d_token=d_token,
        d_sample=d_sample,
        leak=leak,
        single_token=single,
        takeaway=which_layernorm_takeaway(d_token, d_sample),
    )
