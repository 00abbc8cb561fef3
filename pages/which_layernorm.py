"""Which LayerNorm do transformers use? The seed's claim against the code, on the user's own tensor."""

import streamlit as st
import torch
from torch import nn

from norm_viz import ui
from norm_viz.core.compute import normalize
from norm_viz.explore import figures

st.title("Which LayerNorm do transformers use?")
ui.show_url_notices()
st.markdown(
    "A popular answer (seed 000) says: *“In transformers, it is calculated across all features **and all elements**, "
    "for each instance independently … the entire left face of the cube.”*  \n"
    "Its comments disagree: *“LayerNorm in Transformer applies standard normalization just on the last dimension of inputs, "
    "`mean = x.mean(-1, keepdim=True)`”* and *“the statement … is wrong.”* Below, both readings run on your tensor, "
    "next to the LayerNorm inside PyTorch's own transformer layer."
)

_, x = ui.user_tensor(expanded=False)
b, s, f = x.shape
per_token = normalize(x, "layernorm")
per_sample = normalize(x, "layernorm_sample")
cell = (0, 0, 0)

ui.chart(
    figures.groups_overview_figure((b, s, f), cell, keys=["layernorm", "layernorm_sample"], cols=2),
    key="two_ln",
)
c1, c2 = st.columns(2)
c1.metric(
    "per token (over features)",
    f"{per_token.n_groups} statistics",
    f"each over {per_token.group_size} values",
    delta_color="off",
)
c2.metric(
    "per sequence (over tokens and features)",
    f"{per_sample.n_groups} statistics",
    f"each over {per_sample.group_size} values",
    delta_color="off",
)

st.subheader("What PyTorch's transformer layer actually does")
with torch.no_grad():
    layer = nn.TransformerEncoderLayer(d_model=f, nhead=1, dim_feedforward=4, batch_first=True)
    ln = layer.norm1
    y = ln(x)
d_token = float((y - per_token.output).abs().max())
d_sample = float((y - per_sample.output).abs().max())
st.code(f"nn.TransformerEncoderLayer(d_model={f}, nhead=1).norm1  ->  {ln}", language="text")
t1, t2 = st.columns(2)
t1.metric("max |Δ| vs LayerNorm per token", f"{d_token:.1e}")
t2.metric("max |Δ| vs LayerNorm over (sequence, features)", f"{d_sample:.3g}")

st.subheader("Why it matters: does a later token change an earlier one?")
if s < 2:
    st.info(
        "With a single token per sequence both readings coincide: set the sequence length S to 2 or more in the sidebar."
    )
else:
    bumped = x.clone()
    bumped[0, s - 1] += 10.0
    first_token = float((normalize(bumped, "layernorm").output[0, 0] - per_token.output[0, 0]).abs().max())
    first_sample = float((normalize(bumped, "layernorm_sample").output[0, 0] - per_sample.output[0, 0]).abs().max())
    st.markdown(
        f"Add 10 to every feature of the **last** token (b = 0, s = {s - 1}) and look at the **first** token (s = 0):  \n"
        f"- LayerNorm per token: its output changes by **{first_token:.2g}**.  \n"
        f"- LayerNorm over (sequence, features): its output changes by **{first_sample:.3g}** — the future leaks into the past, "
        "which a causal decoder must not allow."
    )

same_as_token = d_token < 1e-5
takeaway = (
    "Transformers normalize **each token over its own features**: PyTorch's transformer LayerNorm matches the per-token "
    f"reading (max |Δ| = {d_token:.1e}) and not the seed's (max |Δ| = {d_sample:.3g}). The seed's claim is wrong; its comments are right."
    if same_as_token
    else f"On this tensor the two readings cannot be told apart (max |Δ| per token {d_token:.1e}, per sequence {d_sample:.1e}): "
    "use more than one token per sequence."
)
if d_sample < 1e-5:
    takeaway = (
        "With one token per sequence (S = 1) the two readings give the same numbers, so this tensor cannot tell them apart: "
        "set S ≥ 2 in the sidebar."
    )
st.success(takeaway)
ui.sync_url(ui.SHARED_KEYS)
