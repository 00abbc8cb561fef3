"""Custom axes: normalize over any subset of (batch, sequence, feature) and find which named norm that is."""

import pandas as pd
import streamlit as st

from norm_viz import ui
from norm_viz.beyond import figures as figures_beyond
from norm_viz.beyond.labs import custom_normalize, match_norms
from norm_viz.core.table import valid_group_counts

st.title("Build your own normalization")
for key, default in (("cx_b", False), ("cx_s", False), ("cx_f", True), ("cx_c", True)):
    ui.init_state(key, default, ui.flag)
ui.init_state("cx_g", 1, ui.int_in(1, ui.MAX_F))
for key in ("cx_cb", "cx_cs", "cx_cf"):
    ui.init_state(key, 0, ui.int_in(0, 10**6))
ui.show_url_notices()
st.markdown(
    "Every normalization in this app is *average over some axes, subtract the mean (or not), divide by the root of "
    "the variance (or mean square)*. Pick the axes yourself. The app then compares your choice with **every** row of "
    "its table of named norms, by their groups and by their outputs on your tensor, and tells you which one you built."
)

_, x = ui.user_tensor()
b, s, f = x.shape

st.subheader("Average over …")
c1, c2, c3, c4, c5 = st.columns(5)
c1.toggle("batch", key="cx_b", help="across the sequences of the batch")
c2.toggle("sequence", key="cx_s", help="across the tokens of a sequence")
c3.toggle("features", key="cx_f", help="across the features of a token (or of a feature group)")
valid = valid_group_counts(f)
if st.session_state.cx_g not in valid:
    st.session_state.cx_g = 1
c4.selectbox(
    f"feature groups (divisors of F = {f})",
    valid,
    key="cx_g",
    disabled=not st.session_state.cx_f,
    help="features are split into this many groups; each group gets its own statistic",
)
c5.toggle("subtract the mean", key="cx_c", help="off: divide by the root mean square, as RMSNorm does")

ss = st.session_state
axes = tuple(a for a, k in (("batch", "cx_b"), ("sequence", "cx_s"), ("feature", "cx_f")) if ss[k])
groups = int(ss.cx_g) if ss.cx_f else 1
r = custom_normalize(x, axes, bool(ss.cx_c), groups)
if not axes:
    st.warning(
        "No axis is averaged: every cell is its own group of 1."
        + (" Subtracting a mean of one value leaves 0 everywhere." if ss.cx_c else " x / √(x² + ε) is just ± 1.")
    )

for k, n in (("cx_cb", b), ("cx_cs", s), ("cx_cf", f)):
    ss[k] = min(int(ss[k]), n - 1)
left, right = st.columns([1, 1], gap="large")
with right:
    st.markdown("**Choose a cell**")
    d1, d2, d3 = st.columns(3)
    d1.number_input("b", 0, b - 1, key="cx_cb")
    d2.number_input("s", 0, s - 1, key="cx_cs")
    d3.number_input("f", 0, f - 1, key="cx_cf")
    cell = (int(ss.cx_cb), int(ss.cx_cs), int(ss.cx_cf))
    gid = int(r.group_id[cell])
    over = " and ".join(axes) if axes else "nothing"
    st.markdown(
        f"Averaging over **{over}**{f' in {groups} feature groups' if groups > 1 else ''} gives "
        f"**{r.n_groups} groups of {r.group_size} cells**."
    )
    xv, yv = float(x[cell]), float(r.output[cell])
    var = float(r.var[gid])
    if r.mean is not None:
        mu = float(r.mean[gid])
        st.latex(rf"x = {ui.fmt(xv)} \qquad \mu = {ui.fmt(mu)} \qquad \sigma^2 = {ui.fmt(var)}")
        st.latex(
            rf"\hat x = \frac{{x - \mu}}{{\sqrt{{\sigma^2 + 10^{{-5}}}}}} = \frac{{{ui.fmt(xv)} - ({ui.fmt(mu)})}}"
            rf"{{\sqrt{{{ui.fmt(var)} + 10^{{-5}}}}}} = {ui.fmt(yv)}"
        )
    else:
        st.latex(rf"x = {ui.fmt(xv)} \qquad \overline{{x^2}} = {ui.fmt(var)}")
        st.latex(
            rf"\hat x = \frac{{x}}{{\sqrt{{\overline{{x^2}} + 10^{{-5}}}}}} = \frac{{{ui.fmt(xv)}}}"
            rf"{{\sqrt{{{ui.fmt(var)} + 10^{{-5}}}}}} = {ui.fmt(yv)}"
        )
with left:
    ui.chart(
        figures_beyond.custom_cube_figure(r.group_id, cell, "Your normalization: the cells that share one statistic"),
        config={"plotGlPixelRatio": 1},
        key="cx_cube",
    )

if r.n_groups <= 512:
    ui.chart(figures_beyond.group_stats_figure(r.mean, r.var, gid), key="cx_stats")
else:
    st.caption(f"{r.n_groups} statistics are too many to draw as bars; the chosen cell's group is shown above.")

st.subheader("Which named norm is it?")
matches = match_norms(x, r)
table = pd.DataFrame(
    {
        "norm": [m.label for m in matches],
        "same groups": ["yes" if m.same_groups else "no" for m in matches],
        "same centering": ["yes" if m.same_centering else "no" for m in matches],
        "max |Δ| of outputs": [
            "cannot run: " + m.note if m.max_abs_diff is None else f"{m.max_abs_diff:.1e}" for m in matches
        ],
        "equal?": ["yes" if m.equal else "" for m in matches],
    }
)
st.dataframe(table, hide_index=True, width="stretch")
equal = [m.label for m in matches if m.equal]
if equal:
    takeaway = f"on this tensor your choice **is** {' = '.join(equal)} (max |Δ| ≤ 1e-4 for each)."
else:
    near = [m for m in matches if m.same_groups]
    if near:
        takeaway = (
            f"no named norm equals it: {', '.join(m.label for m in near)} {'has' if len(near) == 1 else 'have'} "
            f"the same groups but computes something else (max |Δ| ≥ {min(m.max_abs_diff or 0 for m in near):.2g})."
        )
    else:
        takeaway = "no row of the table has these groups: this normalization has no name here."
st.info(f"**Takeaway:** {takeaway}")
ui.sync_url([*ui.SHARED_KEYS, "cx_b", "cx_s", "cx_f", "cx_c", "cx_g", "cx_cb", "cx_cs", "cx_cf"])
