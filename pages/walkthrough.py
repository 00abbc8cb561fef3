"""Walkthrough: one cell's normalization, one step per click (tensor -> group -> μ -> σ² -> x̂ -> γ, β -> y)."""

import streamlit as st

from norm_viz import ui
from norm_viz.classroom import figures as classroom_figures
from norm_viz.classroom.walkthrough import LAST_STEP, WalkthroughConfig, move, step_label, walkthrough_view
from norm_viz.core.params import Param

PARAMS = (Param("wt_step", 0, 0, LAST_STEP, field="step"),)

st.title("Walkthrough: one cell, step by step")
ui.show_url_notices()
_, x = ui.user_tensor(expanded=False)
b, s, f = x.shape
ncfg, r = ui.user_result(x)

ui.init_cell((b, s, f))

ui.declare(PARAMS)


def _move(delta: int) -> None:
    st.session_state.wt_step = move(int(st.session_state.wt_step), delta)


step_i = int(st.session_state.wt_step)
nav = st.container(horizontal=True, vertical_alignment="center", key="wt_nav")
nav.button("◀ Back", on_click=_move, args=(-1,), disabled=step_i == 0, key="_wt_back")
nav.radio(
    "Step",
    list(range(LAST_STEP + 1)),
    format_func=step_label,
    horizontal=True,
    key="wt_step",
    label_visibility="collapsed",
)
nav.button("Next ▶", on_click=_move, args=(1,), disabled=step_i == LAST_STEP, key="_wt_next", type="primary")

left, right = st.columns(2, gap="large")  # pictures left, words right: half each, so the sums fit
with right:  # the cell chooser beside the picture, visible in presentation mode too (the sidebar is hidden there)
    cell = ui.cell_inputs((b, s, f), row=True)
view = walkthrough_view(r, cell, ui.config(WalkthroughConfig, PARAMS))
with left:  # pictures first: the shared cube on every step (the group lit from its step on), then the step's own
    ui.cube(
        (b, s, f),
        r.key,
        groups=r.groups,
        lengths=ncfg.lengths,
        keys=(r.key,),
        key="wt_cube",
        multiples=False,
        lit=view.show_group,
        height=(300 if view.picture else 260) if ui.presenting() else 380,
        fit=0.5 if ui.presenting() and not view.picture else 0.0,  # a projector: up to half the window (steps 1-2)
        on_norm=None,
    )
    if view.picture == "line":
        ui.chart(classroom_figures.number_line_figure(r, cell, view.step.key, view.group_mask.numpy()), key="wt_line")
with right:
    st.subheader(view.heading)
    st.markdown(view.step.text)
    for line in view.step.latex:
        st.latex(line)
    if view.takeaway is not None:
        st.success(view.takeaway)
st.caption(
    "Follow one number through the normalization: each step adds one step of the computation, with this tensor's "
    "own numbers plugged in. Click the cube (or type b, s, f) to follow another cell."
)

ui.sync_url([*ui.SHARED_KEYS, *ui.CELL_KEYS, *PARAMS])
