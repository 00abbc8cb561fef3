"""Pre- vs post-norm: the same stack of encoder blocks with the LayerNorm after or before each residual addition."""

import streamlit as st
import torch

from norm_viz import ui
from norm_viz.questions import figures as fp
from norm_viz.questions import placement as pl

KEYS = ["pl_layers", "pl_heads", "pl_wscale", "pl_seed", "pl_final"]
MAX_LAYERS = 48
TOL = 1e-9  # largest |Δ| against nn.TransformerEncoderLayer that counts as a match (both run in float64)


@st.cache_data(max_entries=32, show_spinner=False, hash_funcs=ui.HASH_FUNCS)
def run(x: torch.Tensor, layers: int, heads: int, seed: int, scale: float, final: bool) -> pl.Comparison:
    return pl.compare(x, pl.PlacementConfig(layers, heads, seed, scale, final))


def spread(values: tuple[float, ...]) -> float:
    """Largest over smallest gradient norm across the blocks' inputs (inf when one is 0)."""
    lo = min(values)
    return max(values) / lo if lo > 0 else float("inf")


def takeaway(comp: pl.Comparison) -> str:
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


st.title("Pre-norm or post-norm: where does the LayerNorm go?")
ui.show_url_notices()
st.markdown(
    "Every transformer block adds two sub-layers (attention, then a feed-forward network) to a **residual stream**. "
    "The original Transformer puts the LayerNorm **after** each addition (post-norm); GPT-2 and most models since put "
    "it **before** each sub-layer, on the branch only (pre-norm), so that the stream itself is never normalized. "
    "Below, the same stack with the same random weights runs both ways on the sidebar's tensor (each token is a "
    "d_model = F vector); nothing is trained: this is what a freshly initialised model does."
)
st.latex(
    r"\text{post-norm: } x \leftarrow \mathrm{LN}\big(x + \mathcal{F}(x)\big)"
    r"\qquad\qquad \text{pre-norm: } x \leftarrow x + \mathcal{F}\big(\mathrm{LN}(x)\big)"
)
ui.chart(fp.layout_figure(), key="pl_layout")

tcfg = ui.tensor_controls()
x = ui.build_tensor(tcfg)
if tcfg.source == "edit":
    with st.expander("Edit the values (rows are tokens b, s; columns are features f)", expanded=False):
        x = ui.tensor_editor(x)
b, s, f = x.shape

ss = st.session_state
ui.init_state("pl_layers", 12, ui.int_in(1, MAX_LAYERS))
heads_from_url = ui.init_state("pl_heads", 2, ui.int_in(1, ui.MAX_F))
ui.init_state("pl_wscale", 1.0, ui.float_in(0.1, 3.0))
ui.init_state("pl_seed", 0, ui.int_in(0, 2**31 - 1))
ui.init_state("pl_final", True, ui.flag)
valid = pl.valid_heads(f)
if int(ss.pl_heads) not in valid:
    fallback = 2 if 2 in valid else 1
    msg = f"{ss.pl_heads} attention heads do not divide d_model = F = {f}; valid head counts: {', '.join(map(str, valid))}."
    if heads_from_url:
        ui.notice(f"URL parameter `pl_heads={ss.pl_heads}` was ignored: {msg} Using {fallback}.")
    else:
        st.warning(f"{msg} Using {fallback} instead.", icon=":material/warning:")
    ss.pl_heads = fallback

c1, c2, c3, c4 = st.columns([3, 2, 3, 2])
c1.slider("depth L (blocks)", 1, MAX_LAYERS, key="pl_layers")
c2.selectbox(f"attention heads (divisors of F = {f})", valid, key="pl_heads")
c3.slider(
    "weight scale",
    0.1,
    3.0,
    step=0.1,
    key="pl_wscale",
    help="Weights are drawn with std = scale / √fan_in: 1 keeps each linear map's output about as large as its input; "
    "larger makes every branch add more to the stream.",
)
c4.number_input("weight seed", 0, 2**31 - 1, step=1, key="pl_seed")
st.toggle(
    "end the pre-norm stack with one more LayerNorm (as GPT-2 and `nn.TransformerEncoder(norm=...)` do)",
    key="pl_final",
)

comp: pl.Comparison | None = None
if f < 2:
    st.warning(
        f"With F = {f} feature per token LayerNorm has nothing to normalize: it subtracts the token's only value from "
        "itself and outputs β = 0 for every token, so post-norm erases the input. Set F (features) to 2 or more in the "
        "sidebar.",
        icon=":material/warning:",
    )
else:
    try:
        comp = run(x, int(ss.pl_layers), int(ss.pl_heads), int(ss.pl_seed), float(ss.pl_wscale), bool(ss.pl_final))
    except ValueError as e:
        st.error(f"The stack cannot run on this tensor: {e}.", icon=":material/error:")

if comp is not None:
    post, pre, n, h = comp.post, comp.pre, comp.config.layers, comp.config.heads
    ok = max(post.torch_diff, pre.torch_diff) < TOL
    (st.success if ok else st.error)(
        f"{'Matches' if ok else 'Does NOT match'} {n} × `nn.TransformerEncoderLayer({f}, {h}, dim_feedforward={4 * f}, "
        f"dropout=0, batch_first=True, norm_first=False / True)` holding the same weights: max |Δ| = "
        f"{post.torch_diff:.1e} (post-norm), {pre.torch_diff:.1e} (pre-norm), computed live in float64.",
        icon=":material/verified:" if ok else ":material/error:",
    )

    st.header("1. The residual stream")
    st.markdown(
        "The line is the RMS of every value in the stream after each block; the shaded band spans the smallest to "
        "the largest **per-token** RMS. Post-norm's last step is a LayerNorm (with γ = 1, β = 0), so every token "
        "leaves every block with mean 0 and RMS just under 1; pre-norm never normalizes the stream, which is the "
        "input plus every branch's output."
    )
    ui.chart(fp.stream_figure(comp), key="pl_stream")
    st.latex(
        rf"\text{{post-norm: }} x_{{{n}}} = \mathrm{{LN}}(\dots),\ \mathrm{{RMS}} = {post.stream_rms[-1]:.6f}"
        rf"\qquad \text{{pre-norm: }} x_{{{n}}} = x_0 + \sum_{{l=1}}^{{{n}}} \big(\mathrm{{Attn}}_l + "
        rf"\mathrm{{FFN}}_l\big),\ \mathrm{{RMS}} = {ui.tex(pre.stream_rms[-1])} = {pre.growth:.3g} \times "
        rf"{ui.tex(pre.stream_rms[0])}"
    )

    st.header("2. The gradient flowing back")
    st.markdown(
        "A simple loss on the stack's output y: *loss = the average over tokens of r · y*, with a fixed random vector "
        "r per token (like a logit). Autograd gives ∂loss/∂x at the input of every block. In pre-norm "
        r"$x_L = x_l + \sum_{k > l} \mathcal{F}_k$, so $\partial x_L / \partial x_l = I + \dots$: the gradient always has "
        "a direct path back. In post-norm it must pass through every LayerNorm on the way (a product of 2L factors), "
        "each of which rescales it by 1/σ of the sum it normalized."
    )
    ui.chart(fp.grad_figure(comp), key="pl_grad")
    st.latex(
        rf"\text{{post-norm: }} \Big\|\frac{{\partial\,\mathrm{{loss}}}}{{\partial x_0}}\Big\| = "
        rf"{ui.tex(post.grad_norm[0])}\qquad \text{{pre-norm: }} \Big\|\frac{{\partial\,\mathrm{{loss}}}}"
        rf"{{\partial x_0}}\Big\| = {ui.tex(pre.grad_norm[0])}"
        rf"\qquad \Big(\text{{at the output: }} {ui.tex(post.grad_norm[-1])} \text{{ and }} {ui.tex(pre.grad_norm[-1])}\Big)"
    )
    if not all(torch.isfinite(torch.tensor([*post.grad_norm, *pre.grad_norm]))):
        st.warning("Some gradient norms overflowed (inf or nan): lower the weight scale or the depth.")

    st.header("3. The output each token leaves with")
    final = "after the final LayerNorm" if comp.config.final_norm else "raw stream, no final LayerNorm"
    rows = []
    for label, r, note in (("post-norm", post, "last block's LayerNorm"), ("pre-norm", pre, final)):
        rows.append(
            {
                "placement": label,
                "output is": note,
                "per-token mean, min … max": f"{ui.fmt(float(r.out_mean.min()), 3)} … {ui.fmt(float(r.out_mean.max()), 3)}",
                "per-token variance, min … max": f"{float(r.out_var.min()):.6f} … {float(r.out_var.max()):.6f}",
            }
        )
    st.dataframe(rows, hide_index=True, width="stretch")
    st.caption(
        "A LayerNorm's output has biased variance σ² / (σ² + ε) per token, just below 1 (ε = 10⁻⁵). Without the final "
        "LayerNorm a pre-norm model hands its unnormalized stream to the next layer, which is why pre-norm models add one."
    )
    st.info(f"**Takeaway.** {takeaway(comp)}")

ui.sync_url([*ui.SHARED_KEYS, *KEYS])
