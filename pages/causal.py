"""Causal leakage: perturb one token and watch which outputs of every norm move."""

import streamlit as st
import torch

from norm_viz import ui
from norm_viz.core.params import Param
from norm_viz.questions import figures as fq
from norm_viz.questions.causal import METHODS, CausalConfig, CausalView, causal_view, token_position

PARAMS = (
    Param("cz_b", 0, 0, ui.MAX_B - 1, field="batch"),
    Param("cz_s", -1, -1, ui.MAX_S - 1, field="position"),
    Param("cz_method", "difference", options=tuple(METHODS), field="method"),
    Param("cz_size", 1.0, 1e-6, 1e6, field="size"),
)


@st.cache_data(max_entries=32, show_spinner=False, hash_funcs=ui.HASH_FUNCS)
def view_of(x: torch.Tensor, cfg: CausalConfig) -> CausalView:
    # one heavy run at a time per server, in a worker process that stops between passes when the viewer leaves
    return ui.offload("compute", causal_view, x, cfg)  # (norm_viz/ui/admission.py)


st.title("Causal leakage: can a later token change an earlier one?")
ui.show_url_notices()
st.caption("One token is perturbed; each map shows which outputs moved, one map per norm.")
pic = st.container()  # the picture first; its explanation follows it

tcfg, x = ui.user_tensor(expanded=False)
b, s, f = x.shape
ui.declare(PARAMS)
st.session_state.cz_s = token_position(int(st.session_state.cz_s), s)  # default: the last token, whose past is all
ui.clamp(PARAMS[0], b - 1)

c1, c2, c3, c4 = st.columns([1, 1, 3, 1])
c1.number_input(f"perturb sequence b (0..{b - 1})", 0, b - 1, key="cz_b")
c2.number_input(f"token s (0..{s - 1})", 0, s - 1, key="cz_s")
method = c3.radio("how", list(METHODS), format_func=METHODS.get, key="cz_method")
c4.number_input("size", 1e-6, 1e6, format="%g", key="cz_size", disabled=method == "jacobian")
view = view_of(x, ui.config(CausalConfig, PARAMS))
if view.notice:
    st.warning(view.notice)

ui.chart(fq.leak_maps_figure(view.check), key="cz_maps", container=pic)
st.markdown(
    "An autoregressive decoder predicts token *t* from tokens *0 … t* only; it is trained on whole sequences at once "
    "with a causal mask in attention. If the **normalization** averages over the sequence or the batch, a later "
    "token still reaches the earlier positions through the shared mean and variance, and then training sees the "
    "future that generation will not have. Below, one token is perturbed and every output is compared."
)
st.caption(
    "Each map is one norm; a cell is one token (b, s) and its colour the largest change over its features. Blank = "
    "exactly unchanged (the checks run in float64). The blue square is the perturbed token."
)
ui.table(ui.verdict_table(view.table, {"causal-safe?": "yes"}))
for msg in view.warnings:
    st.warning(msg)
if view.takeaway:
    st.info(f"**Takeaway.** {view.takeaway}")
ui.sync_url([*ui.SHARED_KEYS, *PARAMS])
