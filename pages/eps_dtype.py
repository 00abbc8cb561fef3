"""The ε and dtype lab: where ε sits, what low precision does to near-constant tokens, and zero variance."""

import streamlit as st
import torch

from norm_viz import ui
from norm_viz.beyond import figures as figures_beyond
from norm_viz.beyond.labs import DTYPES, damping, dtype_lab, eps_placement, zero_variance

EPS_CHOICES = ("1e-08", "1e-06", "1e-05", "0.0001", "0.001", "0.01", "0.1")


def tex_num(v: float) -> str:
    """1e-05 as 10^{-5} and 2.5e-07 as 2.5 × 10^{-7} for st.latex."""
    mant, exp = f"{v:.1e}".split("e")
    mant = mant.rstrip("0").rstrip(".")
    power = f"10^{{{int(exp)}}}"
    return power if mant == "1" else rf"{mant} \times {power}"


st.title("The ε and dtype lab")
ui.init_state("ed_eps", "1e-05", ui.choice(list(EPS_CHOICES)))
ui.init_state("ed_noise", 0.01, ui.float_in(1e-6, 10.0))
ui.init_state("ed_val", 3.0, ui.float_in(-1e6, 1e6))
ui.show_url_notices()
st.markdown(
    "Every norm divides by √(statistic + ε). ε looks like a detail; here it is not. Three experiments, each computed "
    "live: **where** ε goes, what **float16 / bfloat16** do to tokens whose values are almost equal, and what ε does "
    "when a group has **zero variance**."
)
eps = float(st.select_slider("ε", list(EPS_CHOICES), key="ed_eps"))

st.header("1. ε inside or outside the square root")
st.markdown(
    "`torch.nn.RMSNorm` computes x / √(mean x² + ε). The RMSNorm paper's own code computes x / (√(mean x²) + ε). "
    "Both are 'RMSNorm'; they differ for tokens whose RMS is near √ε or below."
)
place = eps_placement(eps)
ui.chart(figures_beyond.eps_placement_figure(place, eps), key="ed_place")
agree = place.first_close(0.01)
small = 0
st.markdown(
    f"At input RMS 10⁻⁶ the outputs have RMS {float(place.inside[small]):.3g} (inside) vs "
    f"{float(place.outside[small]):.3g} (outside); they agree within 1 % only from input RMS ≈ {agree:.2g} on."
)

st.header("2. float16 and bfloat16 on near-constant tokens")
st.number_input(
    "noise: tokens are c + noise·z, z a fixed standard-normal vector", 1e-6, 10.0, format="%g", key="ed_noise"
)
noise = float(st.session_state.ed_noise)
runs = [dtype_lab(d, noise) for d in DTYPES]
ui.chart(figures_beyond.dtype_figure(runs, noise), key="ed_dtype")


def breaks_at(run: object, attr: str) -> str:
    err = getattr(run, attr)
    bad = (err > 0.1).nonzero()
    return "never (c ≤ 10⁴)" if not len(bad) else f"c ≈ {float(run.offsets[int(bad[0])]):.3g}"


rows = {
    d.dtype: {
        "F.layer_norm error > 0.1 from": breaks_at(d, "torch_error"),
        "E[x²] − E[x]² error > 0.1 from": breaks_at(d, "naive_error"),
        "distinct values left at c = 10⁴": f"{int(d.distinct[-1])} of 16",
    }
    for d in runs
}
st.dataframe(rows, width="stretch")
st.caption(
    "The input is rounded to the dtype first, as it would be in a half-precision model: at offset c the spacing "
    "between representable numbers grows with c, and once it exceeds the noise the token's variation is gone. "
    "The textbook one-pass variance E[x²] − E[x]² loses it even sooner (and can go negative)."
)

st.header("3. A group with zero variance")
c1, c2 = st.columns([1, 3])
c1.number_input("the constant value of a token", -1e6, 1e6, key="ed_val")
val = float(st.session_state.ed_val)
no_eps, with_eps = zero_variance(val, 4, 0.0), zero_variance(val, 4, eps)
nan_tex = r"\text{NaN}"
shown = ", ".join(nan_tex if v != v else ui.fmt(v) for v in no_eps.output[:2])
with c2:
    st.latex(
        rf"\varepsilon = 0:\ \frac{{{ui.fmt(val)} - {ui.fmt(val)}}}{{\sqrt{{0 + 0}}}} = \frac{{0}}{{0}} \to "
        rf"{shown}, \dots"
        rf"\qquad \varepsilon = {tex_num(eps)}:\ \frac{{0}}{{\sqrt{{0 + {tex_num(eps)}}}}} = {ui.fmt(with_eps.output[0])}"
    )
stds = torch.logspace(-5, 1, 61, dtype=torch.float64)
curves = {e: damping(e, stds)[1] for e in sorted({1e-8, 1e-5, 1e-2, eps})}
ui.chart(figures_beyond.damping_figure(stds, curves), key="ed_damp")
out_std = damping(eps, torch.tensor([eps**0.5]))[1]

worst16 = runs[1]
st.info(
    f"**Takeaway:** with ε = {eps:g}, ε's position changes RMSNorm's output for tokens with RMS below ≈ {agree:.2g}; "
    f"a constant token gives {'NaN' if not no_eps.finite else 'finite values'} without ε and exactly "
    f"{ui.fmt(with_eps.output[0])} with it, and a token whose std equals √ε comes out with std "
    f"{float(out_std[0]):.3f} instead of 1; in float16, near-constant tokens (noise {noise:g}) lose their "
    f"variation from {breaks_at(worst16, 'torch_error')}."
)
ui.sync_url(["ed_eps", "ed_noise", "ed_val"])
