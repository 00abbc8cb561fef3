"""Padding and variable lengths: what padded zeros do to each norm's statistics, and how masking fixes BatchNorm."""

import streamlit as st
import torch

from norm_viz import ui
from norm_viz.core.data import default_lengths
from norm_viz.core.params import Param
from norm_viz.questions import figures as fq
from norm_viz.questions.padding import PaddingConfig, PaddingView, padding_view

PARAMS = (
    Param("pad_lengths", "", parser=ui.number_list, field="lengths"),
    Param("pad_value", 0.0, -1e6, 1e6),
)


@st.cache_data(max_entries=32, show_spinner=False, hash_funcs=ui.HASH_FUNCS)
def view_of(x: torch.Tensor, cfg: PaddingConfig) -> PaddingView:
    return padding_view(x, cfg)


st.title("Padding: do the padded zeros change the real tokens?")
ui.show_url_notices()
st.caption("Pink cells are pads. Do they change the real tokens' outputs? One bar per norm below.")
pic = st.container()  # the picture first; its explanation follows it

tcfg, x = ui.user_tensor(expanded=False)
b, s, f = x.shape
ui.declare(PARAMS)
c1, c2 = st.columns([3, 1])
c1.text_input(
    f"Real length of each sequence (B = {b} numbers, each 0..{s}; the rest of the sequence is padding)",
    key="pad_lengths",
    placeholder=", ".join(map(str, ui.source_lengths((b, s)) or default_lengths(b, s))),
    help="Leave empty for the pattern shown in grey. One number applies to every sequence.",
)
c2.number_input("value written into the pads", -1e6, 1e6, key="pad_value", format="%g")
view = view_of(x, ui.config(PaddingConfig, PARAMS, source_lengths=ui.source_lengths((b, s)) or ()))

if view.error:
    st.error(view.error)
if view.check is not None and view.bars is not None:
    if view.no_pads:
        st.warning(view.no_pads)
    left, right = pic.columns([2, 3])
    ui.chart(fq.padding_mask_figure(view.check), key="pad_mask", container=left)
    with right:
        st.markdown(view.mean_intro)
        for line in view.latex:
            st.latex(line)
        if view.zeros_note:
            st.caption(view.zeros_note)
    ui.chart(fq.padding_stats_figure(view.check), key="pad_stats")
    ui.chart(fq.bars_figure(view.bars), key="pad_bars")
    st.markdown(
        "Sentences have different lengths, so a batch is filled up to the longest one with **padding** tokens. "
        "A norm that averages over the sequence or the batch counts those pads as if they were data, unless it is told "
        "which tokens are real (a mask). A norm that looks at one token at a time never sees them."
    )
    st.caption(view.content_note)
    for msg in view.warnings:
        st.warning(msg)
    if view.takeaway:
        st.info(f"**Takeaway.** {view.takeaway}")
ui.sync_url([*ui.SHARED_KEYS, *PARAMS])
