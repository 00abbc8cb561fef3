"""Pre- vs post-norm: the same stack of encoder blocks with the LayerNorm after or before each residual addition."""

import streamlit as st
import torch

from norm_viz import ui
from norm_viz.core.params import Param
from norm_viz.core.table import valid_group_counts
from norm_viz.questions import figures as fq
from norm_viz.questions.placement import PlacementConfig, PlacementView, heads_fallback, placement_view
from norm_viz.ui import training as tl

MAX_LAYERS = 48
PARAMS = (
    Param("pl_layers", 12, 1, MAX_LAYERS, field="layers"),
    Param("pl_heads", 2, 1, ui.MAX_F, field="heads"),
    Param("pl_wscale", 1.0, 0.1, 3.0, field="weight_scale"),
    Param("pl_seed", 0, 0, 2**31 - 1, field="seed"),
    Param("pl_final", True, field="final_norm"),
)


@st.cache_data(max_entries=32, show_spinner=False, hash_funcs=ui.HASH_FUNCS)
def view_of(x: torch.Tensor, cfg: PlacementConfig) -> PlacementView:
    # one heavy run at a time per server, in a worker process (norm_viz/ui/admission.py)
    return ui.offload("compute", placement_view, x, cfg)


st.title("Pre-norm or post-norm: where does the LayerNorm go?")
ui.show_url_notices()
st.caption("The same stack of transformer blocks, LayerNorm after each addition (post) or before each sub-layer (pre).")
ui.chart(fq.layout_figure(), key="pl_layout")
st.latex(
    r"\text{post-norm: } x \leftarrow \mathrm{LN}\big(x + \mathcal{F}(x)\big)"
    r"\qquad\qquad \text{pre-norm: } x \leftarrow x + \mathcal{F}\big(\mathrm{LN}(x)\big)"
)
st.markdown(
    "Every transformer block adds two sub-layers (attention, then a feed-forward network) to a **residual stream**. "
    "The original Transformer puts the LayerNorm **after** each addition (post-norm); GPT-2 and most models since put "
    "it **before** each sub-layer, on the branch only (pre-norm), so that the stream itself is never normalized. "
    "Below, the same stack with the same random weights runs both ways on the sidebar's tensor (each token is a "
    "d_model = F vector); nothing is trained: this is what a freshly initialised model does."
)

tcfg = ui.tensor_controls()
x = ui.build_tensor(tcfg)
if tcfg.source == "edit":
    with st.expander("Edit the values (rows are tokens b, s; columns are features f)", expanded=False):
        x = ui.tensor_editor(x)
b, s, f = x.shape

ss = st.session_state
from_url = ui.declare(PARAMS)
fallback = heads_fallback(int(ss.pl_heads), f)
if fallback is not None:
    heads, msg = fallback
    if from_url["pl_heads"]:
        ui.notice(f"URL parameter {ui.literal(f'pl_heads={ss.pl_heads}')} was ignored: {msg} Using {heads}.")
    else:
        st.warning(f"{msg} Using {heads} instead.", icon=":material/warning:")
    ss.pl_heads = heads

c1, c2, c3, c4 = st.columns([3, 2, 3, 2])
c1.slider("depth L (blocks)", 1, MAX_LAYERS, key="pl_layers")
c2.selectbox(f"attention heads (divisors of F = {f})", valid_group_counts(f), key="pl_heads")
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

view = view_of(x, ui.config(PlacementConfig, PARAMS))
if view.warning:
    st.warning(view.warning, icon=":material/warning:")
if view.error:
    st.error(view.error, icon=":material/error:")

comp = view.comparison
if comp is not None:
    (st.success if view.verified else st.error)(
        view.verification, icon=":material/verified:" if view.verified else ":material/error:"
    )

    st.header("1. The residual stream")
    st.markdown(
        "The line is the RMS of every value in the stream after each block; the shaded band spans the smallest to "
        "the largest **per-token** RMS. Post-norm's last step is a LayerNorm (with γ = 1, β = 0), so every token "
        "leaves every block with mean 0 and RMS just under 1; pre-norm never normalizes the stream, which is the "
        "input plus every branch's output."
    )
    ui.chart(fq.stream_figure(comp), key="pl_stream")
    st.latex(view.stream_latex)

    st.header("2. The gradient flowing back")
    st.markdown(
        "A simple loss on the stack's output y: *loss = the average over tokens of r · y*, with a fixed random vector "
        "r per token (like a logit). Autograd gives ∂loss/∂x at the input of every block. In pre-norm "
        r"$x_L = x_l + \sum_{k > l} \mathcal{F}_k$, so $\partial x_L / \partial x_l = I + \dots$: the gradient always has "
        "a direct path back. In post-norm it must pass through every LayerNorm on the way (a product of 2L factors), "
        "each of which rescales it by 1/σ of the sum it normalized."
    )
    ui.chart(fq.grad_figure(comp), key="pl_grad")
    st.latex(view.grad_latex)
    if view.overflow:
        st.warning(view.overflow)

    st.header("3. The output each token leaves with")
    st.dataframe(list(view.output_table), hide_index=True, width="stretch")
    st.caption(
        "A LayerNorm's output has biased variance σ² / (σ² + ε) per token, just below 1 (ε = 10⁻⁵). Without the final "
        "LayerNorm a pre-norm model hands its unnormalized stream to the next layer, which is why pre-norm models add one."
    )
    st.info(f"**Takeaway.** {view.takeaway}")
    st.caption("The takeaway is one stack of random weights (one seed); the measurements below repeat over seeds.")

st.header("4. Measured over seeds: a real model at initialization and after training")
tl.placement_evidence()

ui.sync_url([*ui.SHARED_KEYS, *PARAMS])
