"""Compare: every norm side by side on the same tensor, and a property table measured by running the checks."""

import streamlit as st
import torch

from norm_viz import ui
from norm_viz.core.params import Param
from norm_viz.questions.properties import GOOD, CompareConfig, CompareView, compare_view

PARAMS = (
    Param("cmp_b", 0, 0, 10**6, field="cell_b"),
    Param("cmp_s", 0, 0, 10**6, field="cell_s"),
    Param("cmp_f", 0, 0, 10**6, field="cell_f"),
)


@st.cache_data(max_entries=16, show_spinner=False, hash_funcs=ui.HASH_FUNCS)
def view_of(x: torch.Tensor) -> CompareView:
    return compare_view(x)


st.title("All norms side by side")
ui.show_url_notices()
tcfg, x = ui.user_tensor(expanded=False)
b, s, f = x.shape
ui.declare(PARAMS)
for p, n in zip(PARAMS, (b, s, f), strict=True):
    ui.clamp(p, n - 1)
cfg = ui.config(CompareConfig, PARAMS)
view = view_of(x)
st.markdown(
    "**The same tensor through every norm.** Click a small cube to light its group, the big one to choose a cell."
)
ui.cube(
    view.shape,
    "layernorm",
    groups=view.groups,
    key="cmp_cube",
    height=260 if ui.presenting() else 380,
    fit=0.5 if ui.presenting() else 0.0,  # a projector: up to half the window
    cell_keys=[p.key for p in PARAMS],
    on_norm=None,
)
c1, c2, c3 = st.columns(3)
c1.number_input(f"cell b (0..{b - 1})", 0, b - 1, key="cmp_b")
c2.number_input(f"cell s (0..{s - 1})", 0, s - 1, key="cmp_s")
c3.number_input(f"cell f (0..{f - 1})", 0, f - 1, key="cmp_f")
st.caption(
    "The table below answers the transformer questions for each norm, **each cell measured by running the checks of "
    "the other pages on this tensor**, not typed in."
)

st.subheader(view.heading)
ui.table(ui.verdict_table(view.table, GOOD))
st.caption(view.caption)
if view.unmeasurable:
    st.warning(view.unmeasurable)
for msg in view.warnings:
    st.warning(msg)
st.info(f"**Takeaway.** {view.takeaway}")
ui.sync_url([*ui.SHARED_KEYS, *PARAMS])
