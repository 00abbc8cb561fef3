"""Which LayerNorm do transformers use? A Q&A answer's claim against the code, on the user's own tensor."""

import streamlit as st
import torch

from norm_viz import ui
from norm_viz.core.numbers import plural
from norm_viz.explore import figures
from norm_viz.questions.which_layernorm import WhichLayerNormView, which_layernorm_view

PARAMS: tuple[ui.Param, ...] = ()
"""This page has no controls of its own: only the sidebar's tensor."""


@st.cache_data(max_entries=16, show_spinner=False, hash_funcs=ui.HASH_FUNCS)
def view_of(x: torch.Tensor) -> WhichLayerNormView:
    return which_layernorm_view(x)


st.title("Which LayerNorm do transformers use?")
ui.show_url_notices()
st.markdown(
    "A popular answer in the Cross Validated Q&A thread *Why do transformers use layer norm instead of batch norm?* says: *“In transformers, it is calculated across all features **and all elements**, "
    "for each instance independently … the entire left face of the cube.”*  \n"
    "Its comments disagree: *“LayerNorm in Transformer applies standard normalization just on the last dimension of inputs, "
    "`mean = x.mean(-1, keepdim=True)`”* and *“the statement … is wrong.”* Below, both readings run on your tensor, "
    "next to the LayerNorm inside PyTorch's own transformer layer."
)

_, x = ui.user_tensor(expanded=False)
view = view_of(x)

ui.chart(
    figures.groups_overview_figure(view.shape, (0, 0, 0), keys=["layernorm", "layernorm_sample"], cols=2),
    key="two_ln",
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
