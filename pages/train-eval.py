"""Train vs eval: BatchNorm's running statistics, the PyTorch and Keras momentum conventions, and batch size 1."""

import streamlit as st
import torch

from norm_viz import ui
from norm_viz.core.params import Param
from norm_viz.questions import figures as fq
from norm_viz.questions.train_eval import TrainEvalConfig, TrainEvalView, train_eval_view

PARAMS = (
    Param("tr_steps", 30, 1, 200, field="steps"),
    Param("tr_drift", 0.2, 0.0, 2.0, field="drift"),
    Param("tr_mom", 0.1, 0.001, 1.0, field="momentum"),
    Param("tr_kmom", 0.99, 0.0, 0.999, field="keras_momentum"),
    Param("tr_feat", 0, 0, ui.MAX_F - 1, field="feature"),
    Param("tr_item", 0, 0, ui.MAX_B - 1, field="item"),
)
P = {p.key: p for p in PARAMS}


@st.cache_data(max_entries=32, show_spinner=False, hash_funcs=ui.HASH_FUNCS)
def view_of(x: torch.Tensor, cfg: TrainEvalConfig) -> TrainEvalView:
    return train_eval_view(x, cfg)


st.title("Train vs eval: does BatchNorm give the same answer at inference?")
ui.show_url_notices()
st.caption("BatchNorm in training mode, in eval mode and with a batch of one, next to LayerNorm.")

tcfg, x = ui.user_tensor(expanded=False)
b, s, f = x.shape
ui.declare(PARAMS)
ui.clamp(P["tr_feat"], f - 1)
ui.clamp(P["tr_item"], b - 1)

st.header("1. Running statistics during training")
pic = st.container()  # the chart first, its controls and explanation below
st.caption(
    f"Training batches of this tensor's shape (B = {b}, S = {s}, F = {f}) drawn from a distribution whose mean "
    "rises by *drift* every step (seeded by the sidebar's seed)."
)
c1, c2, c3, c4, c5 = st.columns(5)
c1.slider("training steps", 1, 200, key="tr_steps")
c2.slider("drift per step", 0.0, 2.0, step=0.05, key="tr_drift")
c3.number_input("PyTorch momentum", 0.001, 1.0, step=0.01, format="%.3f", key="tr_mom", help="weight of the NEW value")
c4.number_input("Keras momentum", 0.0, 0.999, step=0.01, format="%.3f", key="tr_kmom", help="weight of the OLD value")
c5.number_input("feature to plot", 0, f - 1, key="tr_feat")
view = view_of(x, ui.config(TrainEvalConfig, PARAMS, seed=tcfg.seed if tcfg.source == "generate" else 0))

if view.running_error:
    st.error(view.running_error)
if view.running is not None:
    ui.chart(fq.running_stats_figure(view.running, int(st.session_state.tr_feat)), key="tr_running", container=pic)
    (st.success if view.verified else st.error)(
        view.verification, icon=":material/check_circle:" if view.verified else ":material/error:"
    )
    st.markdown(view.last_step)
    for line in view.latex:
        st.latex(line)
    st.markdown(view.lag)
    st.markdown(
        "In **training** mode BatchNorm divides by the mean and variance of *this batch*. It also keeps **running** "
        "averages of them, and in **eval** mode it uses those instead. When the data drift during training, or when a "
        "batch at inference holds a single example, the two modes disagree. LayerNorm keeps no running statistics: "
        "each token is normalized with its own numbers in both modes."
    )

st.header("2. The same input in training and eval mode")
st.caption(view.modes_caption)
ui.chart(fq.bars_figure(view.mode_bars), key="tr_modes")
for msg in view.mode_warnings:
    st.warning(msg)

st.header("3. Inference with batch size 1")
st.columns(4)[0].number_input(f"example to run alone (0..{b - 1})", 0, b - 1, key="tr_item")
if view.alone_level == "error":
    st.error(view.alone_message)
elif view.alone_level == "warning":
    st.warning(view.alone_message)
ui.chart(fq.bars_figure(view.alone_bars), key="tr_alone")
st.markdown(view.eval_alone)
st.info(f"**Takeaway.** {view.takeaway}")
ui.sync_url([*ui.SHARED_KEYS, *PARAMS])
