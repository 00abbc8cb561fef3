"""Pre-norm or post-norm: a stack of transformer encoder blocks (attention + feed-forward, as in
nn.TransformerEncoderLayer) with seeded random weights, run both ways on the same input.

torch only. Post-norm (Vaswani et al., 2017): x <- LN(x + F(x)); pre-norm (Xiong et al., 2020): x <- x + F(LN(x)).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as Fn
from torch import Tensor, nn

from norm_viz.core import budget
from norm_viz.core.numbers import fmt, tex
from norm_viz.core.table import valid_group_counts

PLACEMENTS = ("post", "pre")
LABELS = {"post": "post-norm", "pre": "pre-norm"}
EPS = 1e-5
"""nn.TransformerEncoderLayer's default layer_norm_eps."""
FFN_FACTOR = 4
"""dim_feedforward = 4 · d_model, as in the original Transformer (512 -> 2048)."""


@dataclass(frozen=True)
class BlockWeights:
    """One encoder block's parameters, named and shaped as in nn.TransformerEncoderLayer."""

    in_w: Tensor  # (3d, d): query, key and value projections stacked (self_attn.in_proj_weight)
    in_b: Tensor  # (3d,)
    out_w: Tensor  # (d, d): self_attn.out_proj
    out_b: Tensor  # (d,)
    w1: Tensor  # (4d, d): linear1
    b1: Tensor  # (4d,)
    w2: Tensor  # (d, 4d): linear2
    b2: Tensor  # (d,)
    ln1_w: Tensor  # (d,): norm1 (before/after attention)
    ln1_b: Tensor
    ln2_w: Tensor  # (d,): norm2 (before/after the feed-forward network)
    ln2_b: Tensor


@dataclass(frozen=True)
class PlacementConfig:
    """Everything that determines the stack besides its input, as primitives (the cache key)."""

    layers: int = 12
    heads: int = 2
    seed: int = 0
    weight_scale: float = 1.0
    final_norm: bool = True
    """Whether pre-norm ends with one more LayerNorm (GPT-2's ln_f), as pre-norm models do."""


@dataclass(frozen=True)
class PlacementResult:
    """What one placement did to the input, layer by layer (index 0 = the input, l = after block l)."""

    placement: str
    stream_rms: tuple[float, ...]
    """RMS over every value of the residual stream, L + 1 entries."""
    token_rms_min: tuple[float, ...]
    token_rms_max: tuple[float, ...]
    """Smallest and largest per-token RMS (over features) of the stream, L + 1 entries."""
    grad_norm: tuple[float, ...]
    """‖∂loss/∂x_l‖ for the input of block l = 1..L, then for the stack's output (L + 1 entries)."""
    out_mean: Tensor  # (B, S): per-token mean of the final output (after the final LN, where there is one)
    out_var: Tensor  # (B, S): per-token biased variance of the final output
    torch_diff: float
    """max |Δ| between this stack and nn.TransformerEncoderLayer modules holding the same weights."""

    @property
    def layers(self) -> int:
        return len(self.stream_rms) - 1

    @property
    def growth(self) -> float:
        """RMS of the stream after the last block over the RMS of the input."""
        return self.stream_rms[-1] / self.stream_rms[0] if self.stream_rms[0] > 0 else math.inf


@dataclass(frozen=True)
class Comparison:
    """Both placements on the same input with the same weights."""

    config: PlacementConfig
    shape: tuple[int, int, int]
    post: PlacementResult
    pre: PlacementResult

    def result(self, placement: str) -> PlacementResult:
        return self.post if placement == "post" else self.pre


def check_heads(d_model: int, heads: int) -> None:
    """Raise ValueError naming both numbers when `heads` does not divide d_model (nn.MultiheadAttention requires it)."""
    if heads < 1 or d_model % heads:
        raise ValueError(
            f"{heads} heads do not divide d_model = F = {d_model}; valid head counts: "
            f"{', '.join(map(str, valid_group_counts(d_model)))}"
        )


def make_weights(
    layers: int, d_model: int, seed: int, scale: float = 1.0, dtype: torch.dtype = torch.float64
) -> tuple[BlockWeights, ...]:
    """Seeded weights N(0, scale²/fan_in), zero biases, LayerNorm γ = 1 and β = 0 (a freshly initialised model)."""
    g = torch.Generator().manual_seed(seed)
    d, h = d_model, FFN_FACTOR * d_model

    def lin(rows: int, cols: int) -> Tensor:
        # std = scale / sqrt(fan_in): scale 1 keeps a linear map's output variance near its input's
        return torch.randn(rows, cols, generator=g, dtype=dtype) * (scale / math.sqrt(cols))

    def zeros(n: int) -> Tensor:
        return torch.zeros(n, dtype=dtype)

    def ones(n: int) -> Tensor:
        return torch.ones(n, dtype=dtype)

    out = []
    for _ in range(layers):
        attn = (lin(3 * d, d), zeros(3 * d), lin(d, d), zeros(d))
        ffn = (lin(h, d), zeros(h), lin(d, h), zeros(d))
        out.append(BlockWeights(*attn, *ffn, ones(d), zeros(d), ones(d), zeros(d)))
    return tuple(out)


def attention(x: Tensor, w: BlockWeights, heads: int) -> Tensor:
    """Multi-head self-attention over the sequence axis (no mask), as nn.MultiheadAttention computes it."""
    b, s, d = x.shape
    check_heads(d, heads)
    dh = d // heads
    q, k, v = (x @ w.in_w.T + w.in_b).chunk(3, dim=-1)

    def split(t: Tensor) -> Tensor:  # (B, S, d) -> (B, heads, S, dh)
        return t.reshape(b, s, heads, dh).transpose(1, 2)

    scores = split(q) @ split(k).transpose(-1, -2) / math.sqrt(dh)
    mixed = torch.softmax(scores, dim=-1) @ split(v)
    return mixed.transpose(1, 2).reshape(b, s, d) @ w.out_w.T + w.out_b


def feed_forward(x: Tensor, w: BlockWeights) -> Tensor:
    """linear2(relu(linear1(x))): nn.TransformerEncoderLayer's default feed-forward network."""
    return torch.relu(x @ w.w1.T + w.b1) @ w.w2.T + w.b2


def layer_norm(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """Per-token LayerNorm over the features (the norm both placements use)."""
    return Fn.layer_norm(x, (x.shape[-1],), weight, bias, EPS)


def block(x: Tensor, w: BlockWeights, heads: int, placement: str) -> Tensor:
    """One encoder block: post-norm x <- LN(x + F(x)) per sub-layer, pre-norm x <- x + F(LN(x))."""
    if placement == "post":
        x = layer_norm(x + attention(x, w, heads), w.ln1_w, w.ln1_b)
        return layer_norm(x + feed_forward(x, w), w.ln2_w, w.ln2_b)
    if placement == "pre":
        x = x + attention(layer_norm(x, w.ln1_w, w.ln1_b), w, heads)
        return x + feed_forward(layer_norm(x, w.ln2_w, w.ln2_b), w)
    raise ValueError(f"unknown placement {placement!r}; it must be one of {', '.join(PLACEMENTS)}")


def torch_layer(w: BlockWeights, heads: int, placement: str) -> nn.TransformerEncoderLayer:
    """An nn.TransformerEncoderLayer holding the weights `w` (dropout 0, batch_first, norm_first = pre-norm)."""
    d = w.out_w.shape[0]
    layer = nn.TransformerEncoderLayer(
        d,
        heads,
        dim_feedforward=w.w1.shape[0],
        dropout=0.0,
        batch_first=True,
        norm_first=placement == "pre",
        layer_norm_eps=EPS,
        dtype=w.in_w.dtype,
    )
    pairs = (
        (layer.self_attn.in_proj_weight, w.in_w),
        (layer.self_attn.in_proj_bias, w.in_b),
        (layer.self_attn.out_proj.weight, w.out_w),
        (layer.self_attn.out_proj.bias, w.out_b),
        (layer.linear1.weight, w.w1),
        (layer.linear1.bias, w.b1),
        (layer.linear2.weight, w.w2),
        (layer.linear2.bias, w.b2),
        (layer.norm1.weight, w.ln1_w),
        (layer.norm1.bias, w.ln1_b),
        (layer.norm2.weight, w.ln2_w),
        (layer.norm2.bias, w.ln2_b),
    )
    with torch.no_grad():
        for param, value in pairs:
            param.copy_(value)
    return layer.eval()


def weights_from_torch(layer: nn.TransformerEncoderLayer) -> BlockWeights:
    """The parameters of an nn.TransformerEncoderLayer as BlockWeights (detached copies)."""
    sa = layer.self_attn
    params = (
        sa.in_proj_weight, sa.in_proj_bias, sa.out_proj.weight, sa.out_proj.bias,
        layer.linear1.weight, layer.linear1.bias, layer.linear2.weight, layer.linear2.bias,
        layer.norm1.weight, layer.norm1.bias, layer.norm2.weight, layer.norm2.bias,
    )  # fmt: skip
    return BlockWeights(*(p.detach().clone() for p in params))


def readout(shape: tuple[int, int, int], seed: int, dtype: torch.dtype = torch.float64) -> Tensor:
    """The fixed random vector r per token that the loss projects the output onto (like a logit)."""
    g = torch.Generator().manual_seed(seed + 7919)  # not the weights' stream, so that L does not change r
    return torch.randn(shape, generator=g, dtype=dtype)


def run_stack(
    x: Tensor,
    weights: tuple[BlockWeights, ...],
    heads: int,
    placement: str,
    final_norm: bool,
    seed: int = 0,
    tick: Callable[[], None] | None = None,
) -> PlacementResult:
    """Run the stack on x, measuring the stream per layer and the gradient of loss = mean over tokens of r·y."""
    b, s, f = x.shape
    check_heads(f, heads)
    dtype = weights[0].in_w.dtype if weights else torch.float64
    x0 = x.detach().to(dtype).requires_grad_(True)
    stream = [x0]
    with torch.enable_grad():
        h = x0
        for w in weights:
            h = block(h, w, heads, placement)
            stream.append(h)
            if tick is not None:
                tick()
        out = h
        if placement == "pre" and final_norm:
            ones, zeros = torch.ones(f, dtype=dtype), torch.zeros(f, dtype=dtype)
            out = layer_norm(h, ones, zeros)
        r = readout((b, s, f), seed, dtype)
        loss = (out * r).sum(-1).mean()
        grads = torch.autograd.grad(loss, stream)
    with torch.no_grad():
        ref = x.detach().to(dtype)
        for w in weights:
            ref = torch_layer(w, heads, placement)(ref)
            if tick is not None:
                tick()
        diff = float((ref - h).abs().max()) if weights else 0.0
    values = [t.detach() for t in stream]
    token_rms = [t.pow(2).mean(-1).sqrt() for t in values]
    var, mean = torch.var_mean(out.detach(), dim=-1, correction=0)
    return PlacementResult(
        placement=placement,
        stream_rms=tuple(float(t.pow(2).mean().sqrt()) for t in values),
        token_rms_min=tuple(float(t.min()) for t in token_rms),
        token_rms_max=tuple(float(t.max()) for t in token_rms),
        grad_norm=tuple(float(g.norm()) for g in grads),
        out_mean=mean,
        out_var=var,
        torch_diff=diff,
    )


def cost(shape: tuple[int, int, int], layers: int, heads: int) -> budget.Cost:
    """The estimated cost of compare(): autograd keeps about 23 float64 values per stream value and 2 per attention
    score of every layer (fitted to measurements of L = 24..48, B = 8..16, S = 16..32, F = 32..64, 1..64 heads)."""
    b, s, f = shape
    mb = layers * b * s * (f * 1.8e-4 + heads * s * 1.9e-5)
    return budget.Cost(cpu_s=mb * 0.0045, mb=mb)


def check_cost(shape: tuple[int, int, int], layers: int, heads: int) -> None:
    """Raise budget.TooMuchWork naming the deepest stack that fits when this one is too large."""
    b, s, f = shape
    deepest = budget.largest(lambda n: cost(shape, n, heads), 1, layers)
    valid = (
        f"at B = {b}, S = {s}, F = {f} with {heads} heads choose at most {deepest} layers"
        if deepest
        else "choose a smaller tensor (B, S or F) in the sidebar"
    )
    if heads > 1 and deepest is not None and deepest < layers:
        valid += ", or fewer attention heads (each head keeps its own S × S attention scores)"
    noun = "head" if heads == 1 else "heads"
    budget.check(
        f"A {layers}-layer stack with {heads} {noun} on a {b} × {s} × {f} tensor", cost(shape, layers, heads), valid
    )


def compare(x: Tensor, cfg: PlacementConfig, tick: Callable[[], None] | None = None) -> Comparison:
    """Both placements on x with the same seeded weights; raises ValueError for bad head counts or shapes, and
    budget.TooMuchWork (a ValueError) for a stack too large for one rerun. `tick` is called after every block (the
    page passes a function that stops the work when its viewer has left)."""
    if x.dim() != 3:
        raise ValueError(f"the input must have 3 axes (batch, sequence, feature), not {x.dim()}")
    b, s, f = x.shape
    if cfg.layers < 1:
        raise ValueError(f"the stack needs at least 1 layer, not {cfg.layers}")
    check_heads(f, cfg.heads)
    check_cost((b, s, f), cfg.layers, cfg.heads)
    weights = make_weights(cfg.layers, f, cfg.seed, cfg.weight_scale)
    post = run_stack(x, weights, cfg.heads, "post", cfg.final_norm, cfg.seed, tick)
    pre = run_stack(x, weights, cfg.heads, "pre", cfg.final_norm, cfg.seed, tick)
    return Comparison(cfg, (b, s, f), post, pre)


# --- the page: one call from the controls to everything it shows -----------------------------------

MATCH_TOL = 1e-9
"""Largest |Δ| against nn.TransformerEncoderLayer that counts as a match (both run in float64)."""


@dataclass(frozen=True, eq=False)
class PlacementView:
    """Everything the pre- vs post-norm page shows, computed from its tensor and config."""

    comparison: Comparison | None
    warning: str | None
    """Why the stack does not run on this tensor (F = 1), as a warning."""
    error: str | None
    verified: bool
    verification: str
    stream_latex: str
    grad_latex: str
    overflow: str | None
    output_table: tuple[dict[str, str], ...]
    takeaway: str


def heads_fallback(heads: int, d_model: int) -> tuple[int, str] | None:
    """(the head count to use instead, why) when `heads` does not divide d_model; None when it does."""
    valid = valid_group_counts(d_model)
    if heads in valid:
        return None
    msg = f"{heads} attention heads do not divide d_model = F = {d_model}; valid head counts: {', '.join(map(str, valid))}."
    return (2 if 2 in valid else 1), msg


def spread(values: tuple[float, ...]) -> float:
    """Largest over smallest gradient norm across the blocks' inputs (inf when one is 0)."""
    lo = min(values)
    return max(values) / lo if lo > 0 else float("inf")


def placement_takeaway(comp: Comparison) -> str:
    """One sentence from the numbers: how the stream grew, and where the gradient ended up."""
    post, pre, cfg = comp.post, comp.pre, comp.config
    n = cfg.layers
    if pre.growth < 1.1:
        first = (
            f"With {n} layer{'s' if n > 1 else ''} at weight scale {cfg.weight_scale:g} the branches add little: "
            f"pre-norm's residual stream grew only {pre.growth:.2f}× and post-norm's ends at RMS "
            f"{post.stream_rms[-1]:.2f}, so the two placements barely differ here"
        )
    else:
        first = (
            f"With {n} layer{'s' if n > 1 else ''}, pre-norm's residual stream grew {pre.growth:.3g}× (RMS "
            f"{pre.stream_rms[0]:.2f} → {pre.stream_rms[-1]:.2f}) while post-norm's stayed at "
            f"{post.stream_rms[-1]:.2f} after every block"
        )
    g_post, g_pre = post.grad_norm[0], pre.grad_norm[0]
    if g_post == 0 or g_pre == 0:
        return (
            first
            + "; the gradient reaching block 1 underflowed to 0 under "
            + ("post-norm." if g_post == 0 else "pre-norm.")
        )
    ratio = g_pre / g_post
    if ratio > 1.5:
        second = f"the gradient reaching block 1 is {ratio:.3g}× smaller under post-norm than under pre-norm"
    elif ratio < 1 / 1.5:
        second = (
            f"but with these weights the gradient reaching block 1 is {1 / ratio:.3g}× larger under post-norm than "
            f"under pre-norm: post-norm's gradient is a product of {2 * n} LayerNorm factors, so it can vanish or "
            "explode, and it swings with the seed and the weight scale"
        )
    else:
        second = f"the gradient reaching block 1 is about the same under both (post/pre = {1 / ratio:.2f})"
    third = (
        f"; across the blocks post-norm's gradient varies {spread(post.grad_norm[:-1]):.3g}× and pre-norm's "
        f"{spread(pre.grad_norm[:-1]):.3g}×."
    )
    return f"{first}; {second}{third}"


def placement_view(x: Tensor, cfg: PlacementConfig, tick: Callable[[], None] | None = None) -> PlacementView:
    """Both placements on x, with the check against torch, the LaTeX lines, the output table and the takeaway."""
    f = x.shape[-1]
    if f < 2:
        warning = (
            f"With F = {f} feature per token LayerNorm has nothing to normalize: it subtracts the token's only value from "
            "itself and outputs β = 0 for every token, so post-norm erases the input. Set F (features) to 2 or more in the "
            "sidebar."
        )
        return PlacementView(None, warning, None, False, "", "", "", None, (), "")
    try:
        comp = compare(x, cfg, tick)
    except budget.TooMuchWork as e:
        return PlacementView(None, None, f"{e}.", False, "", "", "", None, (), "")
    except ValueError as e:
        return PlacementView(None, None, f"The stack cannot run on this tensor: {e}.", False, "", "", "", None, (), "")
    post, pre, n, h = comp.post, comp.pre, comp.config.layers, comp.config.heads
    ok = max(post.torch_diff, pre.torch_diff) < MATCH_TOL
    verification = (
        f"{'Matches' if ok else 'Does NOT match'} {n} × `nn.TransformerEncoderLayer({f}, {h}, dim_feedforward={FFN_FACTOR * f}, "
        f"dropout=0, batch_first=True, norm_first=False / True)` holding the same weights: max |Δ| = "
        f"{post.torch_diff:.1e} (post-norm), {pre.torch_diff:.1e} (pre-norm), computed live in float64."
    )
    # one line each, stacked (gathered): side by side they ran past a 1280 px page and were clipped
    stream = (
        r"\begin{gathered}"
        rf"\text{{post-norm: }} x_{{{n}}} = \mathrm{{LN}}(\dots),\ \mathrm{{RMS}} = {post.stream_rms[-1]:.6f}"
        rf"\\ \text{{pre-norm: }} x_{{{n}}} = x_0 + \sum_{{l=1}}^{{{n}}} \big(\mathrm{{Attn}}_l + "
        rf"\mathrm{{FFN}}_l\big),\ \mathrm{{RMS}} = {tex(pre.stream_rms[-1])} = {pre.growth:.3g} \times "
        rf"{tex(pre.stream_rms[0])}"
        r"\end{gathered}"
    )
    grad = (
        r"\begin{gathered}"
        rf"\text{{post-norm: }} \Big\|\frac{{\partial\,\mathrm{{loss}}}}{{\partial x_0}}\Big\| = "
        rf"{tex(post.grad_norm[0])}\qquad \text{{pre-norm: }} \Big\|\frac{{\partial\,\mathrm{{loss}}}}"
        rf"{{\partial x_0}}\Big\| = {tex(pre.grad_norm[0])}"
        rf"\\ \text{{at the output: }} {tex(post.grad_norm[-1])} \text{{ (post-norm) and }} "
        rf"{tex(pre.grad_norm[-1])} \text{{ (pre-norm)}}"
        r"\end{gathered}"
    )
    finite = all(math.isfinite(v) for v in (*post.grad_norm, *pre.grad_norm))
    overflow = None if finite else "Some gradient norms overflowed (inf or nan): lower the weight scale or the depth."
    final = "after the final LayerNorm" if comp.config.final_norm else "raw stream, no final LayerNorm"
    table = tuple(
        {
            "placement": label,
            "output is": note,
            "per-token mean, min … max": f"{fmt(float(r.out_mean.min()), 3)} … {fmt(float(r.out_mean.max()), 3)}",
            "per-token variance, min … max": f"{float(r.out_var.min()):.6f} … {float(r.out_var.max()):.6f}",
        }
        for label, r, note in (("post-norm", post, "last block's LayerNorm"), ("pre-norm", pre, final))
    )
    return PlacementView(comp, None, None, ok, verification, stream, grad, overflow, table, placement_takeaway(comp))
