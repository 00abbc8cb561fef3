"""DyT: Dynamic Tanh replaces normalization with y = γ·tanh(αx) + β (Zhu, Chen, He, LeCun & Liu, 2025)."""

import streamlit as st

from norm_viz import ui
from norm_viz.beyond import figures as figures_beyond
from norm_viz.beyond.dyt_lab import DytConfig, DytFit, DytSample, dyt_fit, dyt_view
from norm_viz.core.params import Param

PARAMS = (
    Param("dyt_alpha", 0.5, 0.01, 20.0, field="alpha"),
    Param("dyt_n", 48, 2, 256, field="tokens"),
    Param("dyt_F", 32, 2, 256, field="features"),
    Param("dyt_spread", 1.0, 0.0, 3.0, field="spread"),
    Param("dyt_seed", 0, 0, 2**31 - 1, field="seed"),
)

st.title("DyT: a transformer without normalization")
ui.declare(PARAMS)
ui.show_url_notices()
st.markdown(
    "**y = γ·tanh(αx) + β**, one cell at a time: no statistic. Each token's LayerNorm is a straight line; "
    "together, trained LayerNorm layers bend like **tanh**."
)
c1, c2, c3, c4 = st.columns(4)
c1.slider("tokens", 2, 256, key="dyt_n")
c2.slider("features per token", 2, 256, key="dyt_F")
c3.slider(
    "spread of token scales",
    0.0,
    3.0,
    step=0.1,
    key="dyt_spread",
    help="token scales are exp(spread · N(0, 1)): 0 = every token alike, larger = a few tokens with huge values",
)
c4.number_input("seed", 0, 2**31 - 1, key="dyt_seed")
st.slider("α (DyT's scalar)", 0.01, 20.0, step=0.01, key="dyt_alpha", help="y = a·tanh(αx), a fitted for this α")


@st.cache_data(max_entries=32, show_spinner=False)
def fit_of(sample: DytSample) -> DytFit:
    return dyt_fit(sample)


cfg = ui.config(DytConfig, PARAMS)
view = dyt_view(cfg, fit_of(cfg.sample))
fit = view.fit
left, right = st.columns([3, 2], gap="large")
with left:
    ui.chart(
        figures_beyond.dyt_scatter_figure(view.x, view.y, view.alpha, view.scale, fit.best_alpha, fit.best_scale),
        key="dyt_scatter",
    )
with right:
    ui.chart(figures_beyond.tanh_figure(view.alpha), key="dyt_tanh")
    # short labels: three metrics share a narrow column, where longer labels were cut to "RMS error, y…"
    st.caption("RMS error of each fit to LayerNorm's output (lower is better)")
    m1, m2, m3 = st.columns(3)
    m1.metric("your α", f"{view.error:.3f}", help="a·tanh(αx) with your α and its best scale a")
    m2.metric(f"α = {fit.best_alpha:.3g}", f"{fit.best_error:.3f}", help="the best tanh fit")
    m3.metric("a line", f"{fit.line_error:.3f}", help="the best straight line through the origin")
    (st.success if view.check_ok else st.error)(view.check)
st.info(f"**Takeaway:** {view.takeaway}")
st.markdown(
    "**DyT** (Dynamic Tanh; Zhu, Chen, He, LeCun & Liu, *Transformers without Normalization*, 2025) drops the "
    "statistics altogether: y = γ·tanh(αx) + β, one cell at a time, with one learnable scalar α per layer. Nothing is "
    "averaged, so in the Explorer's cube DyT lights only the chosen cell itself. The paper plotted the input against "
    "the output of trained LayerNorm layers and saw tanh-shaped S-curves. Each token's LayerNorm is a straight line "
    "(slope 1/σ of that token), but tokens with large values have large σ and flatter lines, so all tokens together "
    "bend like tanh."
)
ui.sync_url(PARAMS)
