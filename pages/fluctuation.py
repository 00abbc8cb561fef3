"""Batch-statistics fluctuation: how far one mini-batch's μ and σ² stray, for token-like vs image-like data."""

import streamlit as st

from norm_viz import ui
from norm_viz.beyond import figures as figures_beyond
from norm_viz.beyond.fluctuation import FluctuationConfig, FluctuationView, fluctuation_view
from norm_viz.core.params import Param

PARAMS = (
    Param("fl_sizes", "2, 4, 8, 16, 32", parser=ui.number_list, field="sizes"),
    Param("fl_n", 64, 2, 400, field="batches"),
    Param("fl_S", 16, 1, 64, field="sequence"),
    Param("fl_F", 16, 1, 64, field="features"),
    Param("fl_var", True, field="variable"),
    Param("fl_seed", 0, 0, 2**31 - 1, field="seed"),
)

st.title("How much do batch statistics fluctuate?")
ui.declare(PARAMS)
ui.show_url_notices()
st.caption("How far one mini-batch's statistics stray from the data's, per batch size and kind of data.")
pic = st.container()  # the picture first; its explanation follows it
c1, c2, c3 = st.columns([2, 1, 1])
c1.text_input("batch sizes (sequences per batch, comma-separated, 1 to 256)", key="fl_sizes")
c2.slider("batches per size", 2, 400, key="fl_n")
c3.number_input("seed", 0, 2**31 - 1, key="fl_seed")
d1, d2, d3 = st.columns(3)
d1.slider("sequence length S (pixels per image)", 1, 64, key="fl_S")
d2.slider("features F", 1, 64, key="fl_F")
d3.toggle("variable sentence lengths (token-like)", key="fl_var")


@st.cache_data(max_entries=16, show_spinner=False)
def measure(cfg: FluctuationConfig) -> FluctuationView:
    # one heavy run at a time per server, in a worker process that stops between batches when the viewer leaves
    return ui.offload("compute", fluctuation_view, cfg)  # (norm_viz/ui/admission.py)


try:
    with st.spinner("Drawing mini-batches …"):
        view = measure(ui.config(FluctuationConfig, PARAMS))
except ValueError as e:
    st.error(str(e))
    ui.sync_url(PARAMS)
    st.stop()
ui.chart(figures_beyond.fluctuation_figure(view.runs), key="fl_fig", container=pic)
st.markdown(
    "The PowerNorm paper (Shen et al., 2020, quoted in the Cross Validated Q&A thread) found that *statistics of NLP data across the batch dimension exhibit "
    "large fluctuations*, which makes BatchNorm unstable in transformers. Here many mini-batches are drawn from one "
    "synthetic dataset of each kind, every feature first standardized over the whole dataset so both kinds are "
    "measured in the same units. For each batch size the app measures how much the per-feature batch mean μ and "
    "variance σ² vary from batch to batch, and how far they are from BatchNorm's running averages (momentum 0.1). "
    "Token-like data can have **variable sentence lengths**: the padding is masked out, so short sentences mean "
    "fewer real tokens per batch."
)
left, right = st.columns([3, 2], gap="large")
with left:
    ui.chart(figures_beyond.batch_means_figure(view.runs), key="fl_means")
with right:
    st.markdown(view.drivers)
    st.caption(
        "Synthetic data, not trained models: the paper measured real activations during training. "
        "Change the lengths, S and the batch sizes to see which ingredient matters."
    )
st.info(f"**Takeaway:** {view.takeaway}")
ui.page_link("real-model", "The same measurement on real text, through a pretrained transformer →")
ui.sync_url(PARAMS)
