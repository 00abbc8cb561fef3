"""Explorer: build a tensor, pick a norm, see which cells share one statistic and every number."""

import streamlit as st
import torch

from norm_viz import ui
from norm_viz.core.compute import NormResult, output_moments, verify
from norm_viz.core.table import NORMS, torch_snippet, unit_name
from norm_viz.explore import figures

st.title("Which cells share one mean and variance?")
ui.show_url_notices()

tcfg, x = ui.user_tensor()
b, s, f = x.shape

ncfg = ui.norm_controls((b, s, f))
if ncfg is None:
    st.stop()
spec = NORMS[ncfg.key]
st.markdown(
    f"**{spec.label}** — {spec.summary}. <span style='color:gray'>({spec.paper})</span>", unsafe_allow_html=True
)
r: NormResult | None = ui.run_norm(x, ncfg)
if r is None:
    st.info("Change the tensor or the parameters above; the rest of the page returns when the normalization can run.")
    st.stop()

# --- the chosen cell: from a click on the heatmaps (handled before the inputs exist) or the inputs ---
ui.init_cell((b, s, f))
clicked = ui.clicked_cell(st.session_state.get("heat"), (b, s, f))
if clicked is not None and clicked != st.session_state.get("_last_click"):
    st.session_state._last_click = clicked
    st.session_state.cb, st.session_state.cs, st.session_state.cf = clicked

ver = verify(r)
if ver.refused:
    st.warning(
        f"`{ver.torch_call}` refuses this input ({ver.refused}); the numbers below are norm-viz's own, "
        "which set a group of one value to 0.",
        icon=":material/warning:",
    )
else:
    check = st.success if ver.ok else st.error
    check(
        f"{'matches' if ver.ok else 'does NOT match'} `{ver.torch_call}`: max |Δ| = {ver.max_abs_diff:.1e} "
        "(computed live on this tensor)",
        icon=":material/verified:" if ver.ok else ":material/error:",
    )

left, right = st.columns([3, 2], gap="large")
with right:
    st.subheader("Choose a cell")
    cell = ui.cell_inputs((b, s, f))
    v = r.cell(*cell)
    src = "running statistics (eval mode)" if r.uses_running_stats else f"n = {v['n']} values"
    st.markdown(f"Its group holds **{r.group_size} cells**; the statistics come from **{src}**.")
    x_, mu, var, eps = ui.tex(v["x"]), ui.tex(v["mean"], paren=True), ui.tex(v["var"]), ui.tex(r.eps)
    var_sym = spec.stat_symbol or r"\overline{x^2}"
    st.latex(rf"x = {x_}")
    if not spec.has_statistic:
        numbers = {k: ui.tex(p) for k, p in r.option_numbers(cell[2]).items()}
        st.latex(spec.cell_tex.format(**numbers, x=ui.tex(v["x"], paren=True), x_hat=ui.tex(v["x_hat"])))
    elif spec.centered:
        st.latex(rf"\mu = {ui.tex(v['mean'])} \qquad \sigma^2 = {var} \qquad \varepsilon = {eps}")
        st.latex(
            rf"\begin{{aligned}}\hat x &= \frac{{x - \mu}}{{\sqrt{{\sigma^2 + \varepsilon}}}} = \frac{{{x_} - {mu}}}{{\sqrt{{{var} + {eps}}}}}"
            rf"\\ &= {ui.tex(v['x_hat'])}\end{{aligned}}"
        )
    else:
        st.latex(rf"{var_sym} = {var} \qquad \varepsilon = {eps}")
        st.latex(
            rf"\begin{{aligned}}\hat x &= \frac{{x}}{{\sqrt{{{var_sym} + \varepsilon}}}} = \frac{{{x_}}}{{\sqrt{{{var} + {eps}}}}}"
            rf"\\ &= {ui.tex(v['x_hat'])}\end{{aligned}}"
        )
    st.latex(
        rf"y = \gamma \hat x + \beta = {ui.tex(v['gamma'])} \cdot {ui.tex(v['x_hat'], paren=True)} + {ui.tex(v['beta'], paren=True)} = {ui.tex(v['y'])}"
    )
with left:
    ui.chart(figures.cube_figure(r, cell), key="cube", config={"plotGlPixelRatio": 1})

ui.chart(figures.groups_overview_figure((b, s, f), cell, r.groups, highlight=r.key), key="overview")
st.caption(
    "Each small cube is this tensor (sequence →, feature ↑, batch into the page); orange is the set of cells whose "
    "values are averaged together with the chosen cell's. 'LayerNorm' is the transformer's: one token's features."
)

st.subheader("Statistics")
if not spec.has_statistic:
    st.info(
        "DyT computes no statistic: each cell is squashed by tanh(αx) on its own, so there is nothing to plot here."
    )
else:
    ui.chart(figures.stats_figure(r, cell), key="stats")

st.subheader("Input and output")
o1, o2 = st.columns([1, 3])
ui.init_state("show_b", cell[0], ui.int_in(0, ui.MAX_B - 1))
st.session_state.show_b = min(int(st.session_state.show_b), b - 1)
ui.init_state("shared_scale", False, ui.flag)
item = o1.number_input("batch item to show", 0, b - 1, key="show_b")
shared = o2.toggle("same colour scale for input and output", key="shared_scale")
ui.chart(
    figures.heatmaps_figure(r, int(item), cell, shared_scale=shared),
    on_select="rerun",
    selection_mode="points",
    key="heat",
)
means, variances = output_moments(r)
unit = unit_name(r.stats_axes)
if not spec.has_statistic:
    st.markdown(
        f"**Check (x̂, before γ and β):** every value now lies in (−1, 1): from {float(r.normalized.min()):.3f} "
        f"to {float(r.normalized.max()):.3f}; nothing was averaged, so no group has mean 0 or variance 1."
    )
elif r.running_used:
    st.info(
        "After warm-up PowerNorm divides by the running ψ², not this batch's, so features need not have mean square 1."
    )
elif r.uses_running_stats:
    st.info("Eval mode: the output is normalized with the running statistics, so its groups need not have mean 0.")
elif spec.centered:
    st.markdown(
        f"**Check (x̂, before γ and β):** every {unit} now has mean {ui.fmt(float(means.abs().max()), 3) if means.abs().max() > 5e-7 else '0.000'} "
        f"(largest |mean|) and variance between {float(variances.min()):.3f} and {float(variances.max()):.3f} "
        f"— over {r.n_groups} {unit}s. A variance below 1 means σ² is not much larger than ε."
    )
else:
    ms = means.square() + variances
    st.markdown(
        f"**Check (x̂, before γ):** every {unit} now has mean square between {float(ms.min()):.3f} and {float(ms.max()):.3f}; "
        f"the means are not 0 (largest |mean| {float(means.abs().max()):.3f}): {spec.label} does not center."
    )
ui.chart(figures.histogram_figure(r), key="hist")

st.subheader("Reproduce it in PyTorch")
st.code(
    torch_snippet(r.key, (b, s, f), r.groups, r.eps, ncfg.lengths, **dict(r.options)),
    language="python",
)
if torch.is_tensor(x) and tcfg.source != "generate":
    st.caption("Replace the random x with your tensor: the values shown here are printed by `x.tolist()` below.")
    st.code(f"x = torch.tensor({x.tolist()})", language="python")

st.page_link(
    "pages/which_layernorm.py",
    label="Which LayerNorm do transformers use? One seed gets it wrong →",
    icon=":material/help:",
)
ui.sync_url([*ui.SHARED_KEYS, *ui.CELL_KEYS, "show_b", "shared_scale"])
