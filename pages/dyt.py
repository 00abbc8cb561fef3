"""DyT: Dynamic Tanh replaces normalization with y = γ·tanh(αx) + β (Zhu, Chen, He, LeCun & Liu, 2025)."""

import streamlit as st
import torch

from norm_viz import ui
from norm_viz.beyond import figures as figures_beyond
from norm_viz.beyond.labs import ln_scatter
from norm_viz.core.compute import normalize, verify
from norm_viz.core.extra_norms import fit_tanh_alpha, line_fit_error, tanh_fit

st.title("DyT: a transformer without normalization")
ui.init_state("dyt_alpha", 0.5, ui.float_in(0.01, 20.0))
ui.init_state("dyt_n", 48, ui.int_in(2, 256))
ui.init_state("dyt_F", 32, ui.int_in(2, 256))
ui.init_state("dyt_spread", 1.0, ui.float_in(0.0, 3.0))
ui.init_state("dyt_seed", 0, ui.int_in(0, 2**31 - 1))
ui.show_url_notices()
st.markdown(
    "**DyT** (Dynamic Tanh, *Transformers without Normalization*, 2025) drops the statistics altogether: "
    "y = γ·tanh(αx) + β, one cell at a time, with one learnable scalar α per layer. Nothing is averaged, so in the "
    "Explorer's cube DyT lights only the chosen cell itself. Its motivation is below: the paper plotted the input "
    "against the output of trained LayerNorm layers and saw **tanh-shaped S-curves**. Each token's LayerNorm is a "
    "straight line (slope 1/σ of that token), but tokens with large values have large σ and flatter lines, so all "
    "tokens together bend like tanh."
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

ss = st.session_state
alpha = float(ss.dyt_alpha)


@st.cache_data(max_entries=32, show_spinner=False)
def scatter(n: int, f: int, spread: float, seed: int) -> tuple[torch.Tensor, torch.Tensor, float, float, float]:
    x, y = ln_scatter(n, f, spread, seed)
    best_alpha, best_scale = fit_tanh_alpha(x, y)
    return x, y, best_alpha, best_scale, line_fit_error(x, y)


x, y, best_alpha, best_scale, line_err = scatter(int(ss.dyt_n), int(ss.dyt_F), float(ss.dyt_spread), int(ss.dyt_seed))
scale, err = tanh_fit(x, y, alpha)
_best, best_err = tanh_fit(x, y, best_alpha)

left, right = st.columns([3, 2], gap="large")
with left:
    ui.chart(
        figures_beyond.dyt_scatter_figure(x, y, alpha, scale, best_alpha, best_scale),
        key="dyt_scatter",
    )
with right:
    ui.chart(figures_beyond.tanh_figure(alpha), key="dyt_tanh")
    m1, m2, m3 = st.columns(3)
    m1.metric("RMS error, your α", f"{err:.3f}")
    m2.metric(f"best α = {best_alpha:.3g}", f"{best_err:.3f}")
    m3.metric("best straight line", f"{line_err:.3f}")
    r = normalize(x[None].float(), "dyt", alpha=alpha)
    v = verify(r)
    (st.success if v.ok else st.error)(
        f"normalize(x, 'dyt', alpha={alpha:g}) vs torch.tanh(α·x): max |Δ| = {v.max_abs_diff:.1e}; "
        f"{r.n_groups} groups of {r.group_size} cell: nothing is shared."
    )

gain = line_err / max(best_err, 1e-12)
if gain > 1.2:
    verdict = (
        f"a tanh curve (α = {best_alpha:.3g}) fits this LayerNorm's input→output map with RMS error {best_err:.3f}, "
        f"{gain:.1f}× better than any straight line ({line_err:.3f}): LayerNorm here acts as a squashing function, "
        "which DyT imitates without computing a statistic"
    )
else:
    verdict = (
        f"with token scales this uniform, a straight line fits nearly as well as tanh (RMS error {line_err:.3f} vs "
        f"{best_err:.3f}): LayerNorm is almost linear here; raise the spread of token scales to see the S-curve"
    )
st.info(f"**Takeaway:** {verdict}.")
ui.sync_url(["dyt_alpha", "dyt_n", "dyt_F", "dyt_spread", "dyt_seed"])
