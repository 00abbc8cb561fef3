"""Training lab: a small ConvNet on real handwritten digits; validation error against batch size per norm."""

import streamlit as st

from norm_viz import ui
from norm_viz.core.params import Param
from norm_viz.training import cnn, grid
from norm_viz.training.layers import CNN_NORMS, label
from norm_viz.ui import training as tl

PARAMS = (
    Param("tc_norm", "batchnorm", options=CNN_NORMS, field="norm"),
    Param("tc_batch", 32, options=cnn.BATCH_SIZES, field="batch_size"),
    Param("tc_epochs", cnn.CNNConfig.epochs, 1, 50, field="epochs"),
    Param("tc_seed", 0, 0, 2**31 - 1, field="seed"),
)

st.title("Train a ConvNet at small batch sizes")
ui.declare(PARAMS)
ui.show_url_notices()
st.markdown(
    "The GroupNorm paper's figure 1: BatchNorm's error grows as the batch shrinks, GroupNorm's does not. Here a small "
    "ConvNet (three 3×3 convolutions, 16–32 channels) learns scikit-learn's **1,797 real 8×8 handwritten digits**. "
    "The norm follows each convolution: BatchNorm (per channel over batch and pixels), GroupNorm (per image over "
    "pixels and a group of channels), LayerNorm as in ConvNeXt (per pixel over its channels), InstanceNorm (per image "
    "and channel over pixels), or none. Every batch size trains for the same number of epochs with Adam, the "
    "learning rate scaled with √(batch size / 32); BatchNorm is evaluated in eval mode with its running statistics."
)
c1, c2, c3, c4 = st.columns(4)
c1.selectbox("normalization", CNN_NORMS, format_func=label, key="tc_norm")
c2.select_slider("batch size", cnn.BATCH_SIZES, key="tc_batch")
c3.number_input("epochs", 1, 50, key="tc_epochs")
c4.number_input("seed", 0, 2**31 - 1, key="tc_seed")
cfg = ui.config(cnn.CNNConfig, PARAMS)
st.caption(
    f"This run: {cnn.steps_per_epoch(cfg.batch_size) * cfg.epochs} steps, {tl.duration(tl.cnn_estimate(cfg))} of CPU "
    "(from the CPU time per step measured on this machine)."
)
tl.live_section(tl.CNN, cfg, "tc", tl.cnn_results, tl.cnn_row)
st.header("Error vs batch size: the default grid")
st.markdown(
    f"Every norm at batch sizes {', '.join(map(str, cnn.BATCH_SIZES))}, seeds {', '.join(map(str, grid.CNN_SEEDS))}, "
    f"{grid.CNN_EPOCHS} epochs each, from the on-disk cache. The sentences under the figure are written from the "
    "numbers above them."
)
tl.cnn_grid_section(cnn.CNNConfig(epochs=grid.CNN_EPOCHS))
ui.sync_url(PARAMS)
