"""Batch dependence: does one sample's output change when another sample of the batch changes?"""

import streamlit as st
import torch

from norm_viz import ui
from norm_viz.core.params import Param
from norm_viz.questions import figures as fq
from norm_viz.questions.dependence import DependenceConfig, DependenceView, batch_requirement, dependence_view

PARAMS = (
    Param("bd_target", 0, 0, ui.MAX_B - 1, field="target"),
    Param("bd_changed", 1, 0, ui.MAX_B - 1, field="changed"),
    Param("bd_top", 10.0, 0.1, 1000.0, field="top"),
)


@st.cache_data(max_entries=32, show_spinner=False, hash_funcs=ui.HASH_FUNCS)
def view_of(x: torch.Tensor, cfg: DependenceConfig) -> DependenceView:
    return dependence_view(x, cfg)


st.title("Batch dependence: does my output depend on the other examples?")
ui.show_url_notices()
st.caption("One sample of the batch is scaled from ×0 up; does *your* sample's output move? One line per norm.")
pic = st.container()  # the picture first; its explanation follows it

tcfg, x = ui.user_tensor(expanded=False)
b, s, f = x.shape
ui.declare(PARAMS)
need = batch_requirement(b)
if need:
    st.error(need)
    ui.sync_url([*ui.SHARED_KEYS, *PARAMS])
    st.stop()
for p in PARAMS[:2]:
    ui.clamp(p, b - 1)
c1, c2, c3 = st.columns(3)
c1.number_input(f"your sample (0..{b - 1})", 0, b - 1, key="bd_target")
c2.number_input(f"the other sample to change (0..{b - 1})", 0, b - 1, key="bd_changed")
c3.number_input("largest factor", 0.1, 1000.0, format="%g", key="bd_top")
view = view_of(x, ui.config(DependenceConfig, PARAMS))

if view.error:
    st.error(view.error)
if view.check is not None and view.bars is not None:
    ui.chart(fq.dependence_figure(view.check, view.labels), key="bd_lines", container=pic)
    st.markdown(
        "A model should give the same answer for a sentence whoever else shares its batch. Below, one sample (the "
        "*other* one) is multiplied by a factor from 0 (zeroed out) to a large value, and the output of *your* sample "
        "is compared with its original output, for every norm."
    )
    ui.chart(fq.bars_figure(view.bars), key="bd_bars")
    for msg in view.warnings:
        st.warning(msg)
    st.info(f"**Takeaway.** {view.takeaway}")
ui.sync_url([*ui.SHARED_KEYS, *PARAMS])
