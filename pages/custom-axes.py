"""Custom axes: normalize over any subset of (batch, sequence, feature) and find which named norm that is."""

import pandas as pd
import streamlit as st

from norm_viz import ui
from norm_viz.beyond import figures as figures_beyond
from norm_viz.beyond.custom_axes import CustomConfig, custom_view
from norm_viz.core.params import Param
from norm_viz.core.table import valid_group_counts
from norm_viz.cube.rule import custom_block

PARAMS = (
    Param("cx_b", False, field="batch"),
    Param("cx_s", False, field="sequence"),
    Param("cx_f", True, field="feature"),
    Param("cx_c", True, field="centered"),
    Param("cx_g", 1, 1, ui.MAX_F, field="groups"),
    Param("cx_cb", 0, 0, 10**6, field="cb"),
    Param("cx_cs", 0, 0, 10**6, field="cs"),
    Param("cx_cf", 0, 0, 10**6, field="cf"),
)
CELL = {p.key: p for p in PARAMS[-3:]}

st.title("Build your own normalization")
ui.declare(PARAMS)
ui.show_url_notices()
_, x = ui.user_tensor()
b, s, f = x.shape

st.subheader("Average over …")
c1, c2, c3, c4, c5 = st.columns([1, 1, 1.1, 1.6, 1.5])  # the last label, "subtract the mean", needs ~190 px at 1280
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

for key, n in (("cx_cb", b), ("cx_cs", s), ("cx_cf", f)):
    ui.clamp(CELL[key], n - 1)
view = custom_view(x, ui.config(CustomConfig, PARAMS))
if view.warning:
    st.warning(view.warning)

left, right = st.columns(2, gap="large")  # half the width: the formulas beside the cube fit at 1280 px
with left:  # the shared cube, lit by your own axes; a click chooses the cell
    blk = custom_block(view.result.axes, (b, s, f), view.result.groups)
    ui.cube(
        (b, s, f),
        "custom",
        rules={"custom": {"label": "Your normalization", "block": list(blk), "masked": False, "statistic": True}},
        key="cx_cube",
        multiples=False,
        height=260 if ui.presenting() else 400,
        fit=0.5 if ui.presenting() else 0.0,  # a projector: up to half the window
        cell_keys=tuple(CELL),
        on_norm=None,
    )
with right:
    st.markdown("**Choose a cell**")
    d1, d2, d3 = st.columns(3)
    d1.number_input("b", 0, b - 1, key="cx_cb")
    d2.number_input("s", 0, s - 1, key="cx_cs")
    d3.number_input("f", 0, f - 1, key="cx_cf")
    st.markdown(view.summary)
    for line in view.latex:
        st.latex(line)
st.markdown(
    "Every normalization in this app is *average over some axes, subtract the mean (or not), divide by the root of "
    "the variance (or mean square)*. Pick the axes above; the app compares your choice with **every** row of its "
    "table of named norms, by their groups and by their outputs on your tensor, and tells you which one you built."
)

if view.show_stats:
    ui.chart(figures_beyond.group_stats_figure(view.result.mean, view.result.var, view.group), key="cx_stats")
else:
    st.caption(view.stats_note)

st.subheader("Which named norm is it?")
st.dataframe(pd.DataFrame(view.table), hide_index=True, width="stretch")
st.info(f"**Takeaway:** {view.takeaway}")
ui.sync_url([*ui.SHARED_KEYS, *PARAMS])
