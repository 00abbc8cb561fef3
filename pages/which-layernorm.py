"""Which LayerNorm do transformers use? A Q&A answer's claim against the code, on the user's own tensor."""

import streamlit as st
import torch

from norm_viz import ui
from norm_viz.core.numbers import plural
from norm_viz.questions.which_layernorm import WhichLayerNormView, which_layernorm_view

PARAMS: tuple[ui.Param, ...] = ()  # this page has no controls of its own: only the sidebar's tensor


@st.cache_data(max_entries=16, show_spinner=False, hash_funcs=ui.HASH_FUNCS)
def view_of(x: torch.Tensor) -> WhichLayerNormView:
    return which_layernorm_view(x)


st.title("Which LayerNorm do transformers use?")
ui.show_url_notices()
_, x = ui.user_tensor(expanded=False)
view = view_of(x)

st.markdown("**Two readings of “LayerNorm”: over one token's features, or over the whole sequence.** Click a cell.")
for norm, col in zip(("layernorm", "layernorm_sample"), st.columns(2, gap="large"), strict=True):
    with col:
        ui.cube(
            view.shape,
            norm,
            keys=(norm,),
            key=f"wl_cube_{norm}",
            multiples=False,
            height=300,
            fit=0.4 if ui.presenting() else 0.0,
            on_norm=None,
        )
c1, c2 = st.columns(2)
c1.metric(
    "per token (over features)",
    f"{plural(view.token_statistics, 'statistic')}",
    f"each over {plural(view.token_group_size, 'value')}",
    delta_color="off",
)
c2.metric(
    "per sequence (over tokens and features)",
    f"{plural(view.sample_statistics, 'statistic')}",
    f"each over {plural(view.sample_group_size, 'value')}",
    delta_color="off",
)

st.markdown(
    "A popular answer on a Q&A thread says: *“In transformers, it is calculated across all features **and all "
    "elements**, for each instance independently … the entire left face of the cube.”*  \n"
    "Its comments disagree: *“LayerNorm in Transformer applies standard normalization just on the last dimension of "
    "inputs, `mean = x.mean(-1, keepdim=True)`”* and *“the statement … is wrong.”* Above, both readings run on your "
    "tensor; below, the LayerNorm inside PyTorch's own transformer layer."
)

st.subheader("What PyTorch's transformer layer actually does")
st.code(view.torch_module, language="text")
t1, t2 = st.columns(2)
t1.metric("max |Δ| vs LayerNorm per token", f"{view.d_token:.1e}")
t2.metric("max |Δ| vs LayerNorm over (sequence, features)", f"{view.d_sample:.3g}")

st.subheader("Why it matters: does a later token change an earlier one?")
if view.single_token:
    st.info(view.single_token)
if view.leak:
    st.markdown(view.leak)
st.success(view.takeaway)
ui.sync_url([*ui.SHARED_KEYS, *PARAMS])
