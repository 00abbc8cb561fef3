"""Explorer: build a tensor, pick a norm, see which cells share one statistic and every number."""

from dataclasses import replace

import streamlit as st

from norm_viz import ui
from norm_viz.core.compute import NormResult
from norm_viz.core.params import Param
from norm_viz.core.table import NORMS
from norm_viz.explore import figures
from norm_viz.explore.explorer import Message, explorer_view

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

ss = st.session_state
cell = (int(ss.cb), int(ss.cs), int(ss.cf))
ui.declare((replace(PARAMS[0], default=cell[0]), *PARAMS[1:]))  # the heatmaps start at the chosen cell's item
view = explorer_view(r, cell, ncfg.lengths, generated=tcfg.source == "generate")
show(view.verdict)

left, right = st.columns([3, 2], gap="large")
with right:
    st.subheader("Choose a cell")
    ui.cell_inputs((b, s, f))
    st.markdown(view.group_line)
    for line in view.derivation:
        st.latex(line)
with left:
    ui.chart(figures.cube_figure(r, cell), key="cube", config={"plotGlPixelRatio": 1})

ui.chart(figures.groups_overview_figure((b, s, f), cell, r.groups, highlight=r.key), key="overview")
st.caption(
    "Each small cube is this tensor (sequence →, feature ↑, batch into the page); orange is the set of cells whose "
    "values are averaged together with the chosen cell's. 'LayerNorm' is the transformer's: one token's features."
)

st.subheader("Statistics")
if not spec.has_statistic:
    st.info(f"{spec.label}: {spec.summary}, so there is nothing to plot here.")
else:
    ui.chart(figures.stats_figure(r, cell), key="stats")

st.subheader("Input and output")
o1, o2 = st.columns([1, 3])
ui.clamp(PARAMS[0], b - 1)
item = o1.number_input("batch item to show", 0, b - 1, key="show_b")
shared = o2.toggle("same colour scale for input and output", key="shared_scale")
ui.chart(
    figures.heatmaps_figure(r, int(item), cell, shared_scale=shared),
    on_select="rerun",
    selection_mode="points",
    key="heat",
)
show(view.output_check)
ui.chart(figures.histogram_figure(r), key="hist")

st.subheader("Reproduce it in PyTorch")
st.code(view.snippet, language="python")
if view.tensor_code:
    st.caption("Replace the random x with your tensor: the values shown here are printed by `x.tolist()` below.")
    st.code(view.tensor_code, language="python")

st.page_link(
    "pages/which_layernorm.py",
    label="Which LayerNorm do transformers use? One seed gets it wrong →",
    icon=":material/help:",
)
ui.sync_url([*ui.SHARED_KEYS, *ui.CELL_KEYS, *PARAMS])
