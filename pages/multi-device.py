"""Multi-device training: per-device BatchNorm vs SyncBatchNorm vs LayerNorm, and what must be communicated."""

import streamlit as st
import torch

from norm_viz import ui
from norm_viz.core.params import Param
from norm_viz.questions import figures as fq
from norm_viz.questions.multi_device import (
    BYTES,
    MultiDeviceConfig,
    MultiDeviceView,
    default_devices,
    devices_label,
    multi_device_view,
)


@st.cache_data(max_entries=32, show_spinner=False, hash_funcs=ui.HASH_FUNCS)
def view_of(x: torch.Tensor, cfg: MultiDeviceConfig) -> MultiDeviceView:
    return multi_device_view(x, cfg)


st.title("Multi-device training: what must the GPUs agree on?")
ui.show_url_notices()
st.caption("The batch split over K devices: each device's BatchNorm statistics against the whole batch's.")
pic = st.container()  # the picture first; its explanation follows it

tcfg, x = ui.user_tensor(expanded=False)
b, s, f = x.shape
PARAMS = (  # declared once the tensor is known: the default device count depends on B
    Param("md_k", default_devices(b), 1, ui.MAX_B, field="devices"),
    Param("md_dtype", "float32", options=tuple(BYTES), field="dtype"),
)
ui.declare(PARAMS)
c1, c2 = st.columns(2)
c1.number_input(devices_label(b), 1, ui.MAX_B, key="md_k")
c2.selectbox("dtype of the exchanged statistics", list(BYTES), key="md_dtype")
view = view_of(x, ui.config(MultiDeviceConfig, PARAMS))

if view.error:
    st.error(view.error)
if view.check is not None:
    if view.single:
        st.warning(view.single)
    ui.chart(fq.device_stats_figure(view.check), key="md_stats", container=pic)
    st.markdown(
        "Data-parallel training cuts the batch into **K shards**, one per device. Plain BatchNorm then normalizes each "
        "shard with *its own* statistics, so the same example is normalized differently depending on its neighbours "
        "on that device. **SyncBatchNorm** exchanges each device's mean, variance and count every step so that all use "
        "the whole batch's statistics. LayerNorm's statistics live inside one token, so there is nothing to exchange."
    )
    for col, m in zip(st.columns(3), view.metrics, strict=False):
        col.metric(m.label, m.value, m.note, delta_color="off", delta_arrow="off")
    (st.success if view.verified else st.error)(
        view.verification, icon=":material/check_circle:" if view.verified else ":material/error:"
    )
    for line in view.latex:
        st.latex(line)
    st.subheader("What each device must send per training step")
    ui.table(ui.verdict_table(view.table, {"needs sync?": "no"}))
    st.caption(
        "Values follow torch.nn.SyncBatchNorm: in the forward pass each device all-gathers its per-feature mean and "
        "1/std plus one count (2·F + 1 numbers); the backward pass all-reduces two more per-feature sums (2·F). "
        "A norm whose per-device output already equals the global one needs nothing."
    )
    st.info(f"**Takeaway.** {view.takeaway}")
ui.sync_url([*ui.SHARED_KEYS, *PARAMS])
