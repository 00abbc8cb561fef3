"""Explorer: build a tensor, pick a norm, see which cells share one mean and variance and every number.

The server computes every normalization on the tensor once (cached for the whole process); the browser component
(ui.explorer) then switches the norm, the cell, the batch item and the colour scale by itself, with no rerun. The
server runs again only when the tensor or a parameter (ε, γ, β, groups, α, lengths…) changes, and a parameter
change reruns the page's fragment alone (st.fragment: the sidebar, the router and the rest of the page stay).
"""

import streamlit as st
import torch

from norm_viz import ui
from norm_viz.core.params import Param
from norm_viz.explore.explorer import worked_example
from norm_viz.ui.explorer import explorer, explorer_controls, take_report

PARAMS = (
    Param("show_b", 0, 0, ui.MAX_B - 1),  # the batch item the heatmaps show
    Param("shared_scale", False),  # one colour scale for input and output
)

st.title("Which cells share one mean and variance?")
ui.show_url_notices()


@st.fragment
def parameters_and_view(x: torch.Tensor, preset: str | None) -> None:
    """ε, γ, β, every row's parameters and the Explorer: a parameter change reruns this part only (not the sidebar's
    tensor builder, the router or the rest of the page); the URL follows from here, on every run."""
    ui.fragment_notices()
    with ui.friendly_errors("the Explorer"):
        b, s, f = x.shape
        take_report((b, s, f))  # what the browser showed last (it reports without a rerun)
        controls = explorer_controls((b, s, f))
        cell = ui.init_cell((b, s, f))
        ss = st.session_state
        ui.declare((Param("show_b", cell[0], 0, ui.MAX_B - 1), *PARAMS[1:]))  # the heatmaps start at the cell's item
        item = int(ui.clamp(PARAMS[0], b - 1))
        explorer(x, controls, (str(ss.norm), cell, item, bool(ss.shared_scale)), present=ui.presenting())
        if preset is not None:  # ε changes its numbers: inside the fragment
            ex = worked_example(preset, controls.base.eps)
            st.subheader("The published example, in numbers")
            st.caption(f"{ex.source}: {ex.note}")
            for col, (heading, matrix) in zip(st.columns(len(ex.panels)), ex.panels, strict=True):
                col.markdown(f"**{heading}**")
                col.latex(matrix)
        ui.sync_url([*ui.SHARED_KEYS, *ui.CELL_KEYS, *PARAMS])


tcfg, x = ui.user_tensor()
parameters_and_view(x, tcfg.preset if tcfg.source == "preset" else None)

if not ui.presenting():
    if tcfg.source != "generate":
        st.caption("Replace the random x in the snippet above with your tensor: `x.tolist()` prints these values.")
        st.code(f"x = torch.tensor({x.tolist()})", language="python")
    st.page_link(
        "pages/which-layernorm.py",
        label="Which LayerNorm do transformers use? A popular Q&A answer gets it wrong →",
        icon=":material/help:",
    )
