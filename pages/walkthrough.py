"""Walkthrough: one cell's normalization, one step per click (tensor -> group -> μ -> σ² -> x̂ -> γ, β -> y)."""

import streamlit as st

from norm_viz import ui
from norm_viz.classroom import figures as classroom_figures
from norm_viz.classroom.walkthrough import STEP_KEYS, STEP_TITLES, group_mask, steps, takeaway
from norm_viz.explore import figures

st.title("Walkthrough: one cell, step by step")
ui.show_url_notices()
st.markdown(
    "Follow one number through the normalization. Each click adds one step of the computation, with this "
    "tensor's own numbers plugged in."
    + ("" if ui.presenting() else " For a projector, switch on **Presentation mode** (in the sidebar).")
)

_, x = ui.user_tensor(expanded=False)
b, s, f = x.shape
ncfg, r = ui.user_result(x)

ui.init_cell((b, s, f))
st.sidebar.header("Chosen cell")
cell = ui.cell_inputs((b, s, f), container=st.sidebar)

last = len(STEP_KEYS) - 1
ui.init_state("wt_step", 0, ui.int_in(0, last))


def _move(delta: int) -> None:
    st.session_state.wt_step = min(last, max(0, int(st.session_state.wt_step) + delta))


step_i = int(st.session_state.wt_step)
nav = st.container(horizontal=True, vertical_alignment="center", key="wt_nav")
nav.button("◀ Back", on_click=_move, args=(-1,), disabled=step_i == 0, key="_wt_back")
nav.radio(
    "Step",
    list(range(len(STEP_KEYS))),
    format_func=lambda i: f"{i + 1}. {STEP_TITLES[STEP_KEYS[i]]}",
    horizontal=True,
    key="wt_step",
    label_visibility="collapsed",
)
nav.button("Next ▶", on_click=_move, args=(1,), disabled=step_i == last, key="_wt_next", type="primary")

step_i = int(st.session_state.wt_step)
step = steps(r, cell)[step_i]
key = STEP_KEYS[step_i]
left, right = st.columns([3, 2], gap="large")
with left:
    if key in ("tensor", "group"):
        title = f"x: {b} × {s} × {f}, the chosen cell {cell}" if key == "tensor" else None
        fig = figures.cube_figure(r, cell, title=title, show_group=key == "group")
        ui.chart(fig, key="wt_cube", config={"plotGlPixelRatio": 1})
    else:
        ui.chart(classroom_figures.number_line_figure(r, cell, key, group_mask(r, cell).numpy()), key="wt_line")
with right:
    st.subheader(f"Step {step_i + 1} of {len(STEP_KEYS)}: {step.title}")
    st.markdown(step.text)
    for line in step.latex:
        st.latex(line)
    if step_i == last:
        st.success(takeaway(r, cell))

ui.sync_url([*ui.SHARED_KEYS, *ui.CELL_KEYS, "wt_step"])
