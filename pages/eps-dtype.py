"""The ε and dtype lab: where ε sits, what low precision does to near-constant tokens, and zero variance."""

import streamlit as st

from norm_viz import ui
from norm_viz.beyond import figures as figures_beyond
from norm_viz.beyond.eps_dtype import EPS_CHOICES, EpsDtypeConfig, EpsDtypeView, eps_dtype_view
from norm_viz.core.params import Param

PARAMS = (
    Param("ed_eps", "1e-05", options=EPS_CHOICES, field="eps"),
    Param("ed_noise", 0.01, 1e-6, 10.0, field="noise"),
    Param("ed_val", 3.0, -1e6, 1e6, field="value"),
)

st.title("The ε and dtype lab")
ui.declare(PARAMS)
ui.show_url_notices()
st.caption("Where ε sits and which dtype is used change LayerNorm's output on small or near-constant tokens.")
st.select_slider("ε", list(EPS_CHOICES), key="ed_eps")


@st.cache_data(max_entries=32, show_spinner=False)
def view_of(cfg: EpsDtypeConfig) -> EpsDtypeView:
    return eps_dtype_view(cfg)


view = view_of(ui.config(EpsDtypeConfig, PARAMS))

st.header("1. ε inside or outside the square root")
ui.chart(figures_beyond.eps_placement_figure(view.placement, view.eps), key="ed_place")
st.markdown(
    "`torch.nn.RMSNorm` computes x / √(mean x² + ε). The RMSNorm paper's own code computes x / (√(mean x²) + ε). "
    "Both are 'RMSNorm'; they differ for tokens whose RMS is near √ε or below."
)
st.markdown(view.placement_text)
st.markdown(
    "Every norm divides by √(statistic + ε). ε looks like a detail; here it is not. Three experiments, each computed "
    "live: **where** ε goes, what **float16 / bfloat16** do to tokens whose values are almost equal, and what ε does "
    "when a group has **zero variance**."
)

st.header("2. float16 and bfloat16 on near-constant tokens")
st.number_input(
    "noise: tokens are c + noise·z, z a fixed standard-normal vector", 1e-6, 10.0, format="%g", key="ed_noise"
)
ui.chart(figures_beyond.dtype_figure(view.runs, view.noise), key="ed_dtype")
st.dataframe(view.table, width="stretch")
st.caption(
    "The input is rounded to the dtype first, as it would be in a half-precision model: at offset c the spacing "
    "between representable numbers grows with c, and once it exceeds the noise the token's variation is gone. "
    "The textbook one-pass variance E[x²] − E[x]² loses it even sooner (and can go negative)."
)

st.header("3. A group with zero variance")
c1, c2 = st.columns([1, 3])
c1.number_input("the constant value of a token", -1e6, 1e6, key="ed_val")
with c2:
    st.latex(view.zero_latex)
ui.chart(figures_beyond.damping_figure(view.damping_stds, view.damping_curves), key="ed_damp")
st.info(f"**Takeaway:** {view.takeaway}")
ui.sync_url(PARAMS)
