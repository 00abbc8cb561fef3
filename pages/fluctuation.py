"""Batch-statistics fluctuation: how far one mini-batch's μ and σ² stray, for token-like vs image-like data."""

import streamlit as st

from norm_viz import ui
from norm_viz.beyond import figures as figures_beyond
from norm_viz.beyond.labs import Fluctuation, fluctuation

KINDS = ("token_like", "image_like")

st.title("How much do batch statistics fluctuate?")
ui.init_state("fl_sizes", "2, 4, 8, 16, 32", ui.number_list)
ui.init_state("fl_n", 64, ui.int_in(2, 400))
ui.init_state("fl_S", 16, ui.int_in(1, 64))
ui.init_state("fl_F", 16, ui.int_in(1, 64))
ui.init_state("fl_var", True, ui.flag)
ui.init_state("fl_seed", 0, ui.int_in(0, 2**31 - 1))
ui.show_url_notices()
st.markdown(
    "The PowerNorm paper (quoted in seed 000) found that *statistics of NLP data across the batch dimension exhibit "
    "large fluctuations*, which makes BatchNorm unstable in transformers. Here many mini-batches are drawn from one "
    "synthetic dataset of each kind, every feature first standardized over the whole dataset so both kinds are "
    "measured in the same units. For each batch size the app measures how much the per-feature batch mean μ and "
    "variance σ² vary from batch to batch, and how far they are from BatchNorm's running averages (momentum 0.1). "
    "Token-like data can have **variable sentence lengths**: the padding is masked out, so short sentences mean "
    "fewer real tokens per batch."
)
c1, c2, c3 = st.columns([2, 1, 1])
c1.text_input("batch sizes (sequences per batch, comma-separated, 1 to 256)", key="fl_sizes")
c2.slider("batches per size", 2, 400, key="fl_n")
c3.number_input("seed", 0, 2**31 - 1, key="fl_seed")
d1, d2, d3 = st.columns(3)
d1.slider("sequence length S (pixels per image)", 1, 64, key="fl_S")
d2.slider("features F", 1, 64, key="fl_F")
d3.toggle("variable sentence lengths (token-like)", key="fl_var")

ss = st.session_state


def parse_sizes(text: str) -> tuple[int, ...]:
    parts = [p for p in text.replace(";", ",").replace(" ", ",").split(",") if p]
    try:
        sizes = tuple(sorted({int(p) for p in parts}))
    except ValueError:
        raise ValueError(f"batch sizes must be whole numbers separated by commas, got {text!r}") from None
    if not sizes:
        raise ValueError("give at least one batch size")
    if sizes[0] < 1 or sizes[-1] > 256:
        raise ValueError(f"every batch size must be between 1 and 256, got {list(sizes)}")
    return sizes


@st.cache_data(max_entries=16, show_spinner=False)
def measure(kind: str, sizes: tuple[int, ...], n: int, s: int, f: int, seed: int, variable: bool) -> Fluctuation:
    return fluctuation(kind, sizes, n, s, f, seed, variable)


try:
    sizes = parse_sizes(ss.fl_sizes)
except ValueError as e:
    st.error(f"{e}. Example: 2, 4, 8, 16, 32")
    ui.sync_url(["fl_sizes", "fl_n", "fl_S", "fl_F", "fl_var", "fl_seed"])
    st.stop()
args = (sizes, int(ss.fl_n), int(ss.fl_S), int(ss.fl_F), int(ss.fl_seed), bool(ss.fl_var))
with st.spinner("Drawing mini-batches …"):
    runs = [measure(kind, *args) for kind in KINDS]
ui.chart(figures_beyond.fluctuation_figure(runs), key="fl_fig")
left, right = st.columns([3, 2], gap="large")
with left:
    ui.chart(figures_beyond.batch_means_figure(runs), key="fl_means")
with right:
    tok, img = runs
    st.markdown(
        f"**What drives the spread** (smallest batch, {sizes[0]} sequences):  \n"
        f"- real tokens per batch: token-like {float(tok.tokens_per_batch[0]):.1f}, image-like "
        f"{float(img.tokens_per_batch[0]):.1f}  \n"
        f"- tail weight E[z⁴] (3 = Gaussian): token-like {tok.kurtosis:.2f}, image-like {img.kurtosis:.2f}  \n"
        "- image-like values are smooth along the sequence, so neighbouring pixels repeat each other: fewer "
        "independent values than tokens."
    )
    st.caption(
        "Synthetic data, not trained models: the paper measured real activations during training. "
        "Change the lengths, S and the batch sizes to see which ingredient matters."
    )

ratio_var = float(tok.var_spread[0] / img.var_spread[0])
ratio_mean = float(tok.mean_spread[0] / img.mean_spread[0])


def compare(r: float, what: str) -> str:
    if r > 1.1:
        return f"token-like batch {what} fluctuates {r:.1f}× more than image-like"
    if r < 1 / 1.1:
        return f"image-like batch {what} fluctuates {1 / r:.1f}× more than token-like"
    return f"batch {what} fluctuates about as much for both kinds ({r:.2f}×)"


halving = float(tok.var_spread[0] / tok.var_spread[-1]) if len(sizes) > 1 else 1.0
size_note = (
    f"; going from {sizes[0]} to {sizes[-1]} sequences per batch shrinks the token-like σ² spread {halving:.1f}×"
    if len(sizes) > 1
    else ""
)
st.info(
    f"**Takeaway:** at batch size {sizes[0]}, {compare(ratio_var, 'σ²')} and {compare(ratio_mean, 'μ')}{size_note}."
)
ui.sync_url(["fl_sizes", "fl_n", "fl_S", "fl_F", "fl_var", "fl_seed"])
