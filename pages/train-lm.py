"""Training lab: a tiny transformer language model trained live on real English, with the norm chosen from the table."""

import streamlit as st

from norm_viz import ui
from norm_viz.core.params import Param
from norm_viz.training import experiments, lm
from norm_viz.training.layers import LM_NORMS, label
from norm_viz.ui import training as tl

PARAMS = (
    Param("tl_norm", "layernorm", options=LM_NORMS, field="norm"),
    Param("tl_place", "pre", options=lm.PLACEMENTS, field="placement"),
    Param("tl_steps", experiments.LM_STEPS, 5, 3000, field="steps"),
    Param("tl_seed", 0, 0, 2**31 - 1, field="seed"),
    Param("tl_lr", 0.01, options=experiments.lm_rate_options(), field="lr"),
    Param("tl_warmup", lm.LMConfig.warmup, 0, 1000, field="warmup"),
    Param("tl_width", lm.LMConfig.width, options=(32, 64, 128), field="width"),
    Param("tl_layers", lm.LMConfig.layers, 1, 6, field="layers"),
    Param("tl_batch", lm.LMConfig.batch_size, 2, 64, field="batch_size"),
    Param("tl_stat", 0, 0, 12, field="stat_layer"),
)

st.title("Train a tiny language model")
ui.declare(PARAMS)
ui.show_url_notices()
st.markdown(
    "A small causal transformer learns to predict the next character of **real English sentences** (the docstrings "
    "of Python's standard library, on this machine). Choose the normalization and where it sits, press **Train**, "
    "and watch. The claims under test: *BatchNorm is less effective than LayerNorm in NLP*; *batch statistics of "
    "text fluctuate a lot during training* (PowerNorm); *pre-norm trains more easily, post-norm can end better*; and "
    "BatchNorm over the sequence lets training peek at future tokens."
)
c1, c2, c3, c4, c5 = st.columns([3, 2, 2, 2, 2])
c1.selectbox("normalization", LM_NORMS, format_func=label, key="tl_norm")
c2.radio("placement", lm.PLACEMENTS, format_func=lambda p: f"{p}-norm", key="tl_place", horizontal=True)
c3.number_input("training steps", 5, 3000, key="tl_steps")
c4.number_input("seed", 0, 2**31 - 1, key="tl_seed")
c5.selectbox("peak learning rate", experiments.lm_rate_options(), format_func=lambda v: f"{v:g}", key="tl_lr")
with st.expander("Model size, warm-up and the recorded layer"):
    d1, d2, d3, d4 = st.columns(4)
    d1.selectbox("width (features per token)", (32, 64, 128), key="tl_width")
    d2.slider("blocks", 1, 6, key="tl_layers")
    d3.slider("batch size (sentences)", 2, 64, key="tl_batch")
    d4.number_input("learning-rate warm-up (steps)", 0, 1000, key="tl_warmup",
                    help="linear warm-up to the peak rate, then cosine decay to a tenth; 0 starts at the peak")  # fmt: skip
    names = lm.layout(ui.config(lm.LMConfig, PARAMS, stat_layer=0))[2]
    ui.clamp(PARAMS[-1], len(names) - 1)
    st.selectbox("norm layer whose batch statistics are recorded", range(len(names)), format_func=lambda i: names[i],
                 key="tl_stat")  # fmt: skip
cfg = ui.config(lm.LMConfig, PARAMS)
estimate = tl.live_estimate("lm", cfg)
refused = tl.over_limit(estimate, "run")
st.caption(
    f"This run ({cfg.steps} steps, {cfg.layers} block{'s' if cfg.layers > 1 else ''} of width {cfg.width}, "
    f"{cfg.batch_size} sentences per batch): {tl.duration(estimate)} of CPU, from the CPU time per step measured on "
    f"this machine for the default model, scaled by the number of multiply-adds. A live run may take at most "
    f"{tl.LIVE_LIMIT_S:.0f} CPU seconds."
)
tl.shipped_hint("lm", cfg)
tl.live_section(tl.LM, cfg, "tl", tl.lm_results, tl.lm_row, refused)
st.header("Shipped results: every norm, 3 seeds, each at its own learning rate")
st.markdown(
    "Computed once with `python -m norm_viz.training.experiments --grid lm` and shipped with the app, so nothing "
    "needs retraining. Each norm's learning rate comes from a sweep on seed 0 (extended while its best rate is at an "
    "end); seeds 1 and 2 repeat it; the warm-up study trains its cell again at the same rate without warm-up. A verdict "
    "says *A beats B* only when the difference of the means exceeds the seed spread (the sum of the two standard "
    "deviations); otherwise *no difference at this scale*. Any row can be re-run above: choose its norm, placement, "
    "seed, learning rate and warm-up at the default model size."
)
tl.lm_shipped_section()
ui.sync_url(PARAMS)
