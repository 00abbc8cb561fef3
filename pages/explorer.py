"""Explorer: build a tensor, pick a norm, see which cells share one mean and variance and every number.

The cube is drawn in the browser (ui.cube): a click relights it there at once. Everything that depends on the chosen
cell only (the cube, the cell inputs, the arithmetic) is one st.fragment, so a cell change reruns that part alone;
the figures below depend on the tensor and the norm, never on the cell, so a cell change never resends them.
"""

from dataclasses import replace

import streamlit as st

from norm_viz import ui
from norm_viz.core.compute import NormResult
from norm_viz.core.config import NormConfig
from norm_viz.core.params import Param
from norm_viz.core.table import NORMS
from norm_viz.explore import figures
from norm_viz.explore.explorer import Message, cell_lines, derivation_tex, explorer_view, worked_example
from norm_viz.ui.cube import cube

PARAMS = (
    Param("show_b", 0, 0, ui.MAX_B - 1),  # the batch item the heatmaps show
    Param("shared_scale", False),  # one colour scale for input and output
)
ICONS = {"success": ":material/verified:", "error": ":material/error:", "warning": ":material/warning:"}


def show(msg: Message) -> None:
    """A line of the view in the box its kind asks for."""
    if msg.kind == "markdown":
        st.markdown(msg.text)
    else:
        getattr(st, msg.kind)(msg.text, icon=ICONS.get(msg.kind))


@st.fragment
def cell_part(r: NormResult, ncfg: NormConfig) -> None:
    """The cube, the cell inputs and the chosen cell's arithmetic: a cell change reruns only this."""
    if st.session_state.get("norm") != r.key:  # a small cube was clicked: the whole page follows the new norm
        st.rerun()
    b, s, f = r.shape
    left, right = st.columns([3, 2], gap="large")
    with left:
        presenting = ui.presenting()  # on a projector the compact norm picker switches norms: no small cubes
        cube(
            (b, s, f),
            r.key,
            groups=r.groups,
            lengths=ncfg.lengths,
            key="explorer_cube",
            multiples=not presenting,
            height=260 if presenting else 430,
            fit=0.5 if presenting else 0.0,  # a projector: up to half the window
        )
    with right:
        st.subheader("Choose a cell")
        cell = ui.cell_inputs((b, s, f), row=True)  # one row of inputs: fewer elements to resend on a cell change
        group, derivation = cell_lines(r, cell)
        st.markdown(group)
        st.latex(derivation_tex(derivation))
    ui.sync_url([*ui.SHARED_KEYS, *ui.CELL_KEYS, *PARAMS])


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

# --- the chosen cell: from a click on the heatmaps (handled before the inputs exist), the cube or the inputs ---
ui.init_cell((b, s, f))
clicked = ui.clicked_cell(st.session_state.get("heat"), (b, s, f))
if clicked is not None and clicked != st.session_state.get("_last_click"):
    st.session_state._last_click = clicked
    st.session_state.cb, st.session_state.cs, st.session_state.cf = clicked

ss = st.session_state
ui.declare((replace(PARAMS[0], default=int(ss.cb)), *PARAMS[1:]))  # the heatmaps start at the chosen cell's item
view = explorer_view(r, (int(ss.cb), int(ss.cs), int(ss.cf)), ncfg.lengths, generated=tcfg.source == "generate")
show(view.verdict)
cell_part(r, ncfg)

if tcfg.source == "preset":
    ex = worked_example(tcfg.preset, ncfg.eps)
    st.subheader("The published example, in numbers")
    st.caption(f"{ex.source}: {ex.note}")
    for col, (heading, matrix) in zip(st.columns(len(ex.panels)), ex.panels, strict=True):
        col.markdown(f"**{heading}**")
        col.latex(matrix)

st.subheader("Statistics")
if not spec.has_statistic:
    st.info(f"{spec.label}: {spec.summary}, so there is nothing to plot here.")
else:
    ui.chart(figures.stats_figure(r), key="stats")

st.subheader("Input and output")
o1, o2 = st.columns([1, 3])
ui.clamp(PARAMS[0], b - 1)
item = o1.number_input("batch item to show", 0, b - 1, key="show_b")
shared = o2.toggle("same colour scale for input and output", key="shared_scale")
ui.chart(
    figures.heatmaps_figure(r, int(item), shared_scale=shared),
    on_select="rerun",
    selection_mode="points",
    key="heat",
)
show(view.output_check)
if not ui.presenting():  # on a projector: the cube, the arithmetic and the input/output; the rest is for reading
    ui.chart(figures.histogram_figure(r), key="hist")
    st.subheader("Reproduce it in PyTorch")
    st.code(view.snippet, language="python")
    if view.tensor_code:
        st.caption("Replace the random x with your tensor: the values shown here are printed by `x.tolist()` below.")
        st.code(view.tensor_code, language="python")
    st.page_link(
        "pages/which-layernorm.py",
        label="Which LayerNorm do transformers use? A popular Q&A answer gets it wrong →",
        icon=":material/help:",
    )
ui.sync_url([*ui.SHARED_KEYS, *ui.CELL_KEYS, *PARAMS])
