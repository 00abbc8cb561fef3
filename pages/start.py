"""Start: why do transformers use LayerNorm and not BatchNorm? The cube, the D2L example and four live checks."""

import streamlit as st

from norm_viz import ui
from norm_viz.classroom.start import CUBE_CELL, PAIR, StartView, start_view
from norm_viz.core.numbers import fmt_delta
from norm_viz.core.table import NORMS


@st.cache_data(max_entries=1, show_spinner=False)
def view_of() -> StartView:
    return start_view()


@st.fragment
def cube(shape: tuple[int, int, int]) -> None:
    """The cubes at the top, drawn in the browser (ui.cube): BatchNorm's and LayerNorm's group of the same cell.

    A click on either cube chooses the cell for both (and for the Explorer, which shares cb, cs, cf); only this
    fragment reruns.
    """
    for k, v in zip(ui.CELL_KEYS, CUBE_CELL, strict=True):
        st.session_state.setdefault(k, v)
    st.markdown("**Which cells share the chosen cell's mean and variance?** Click any cell to choose another.")
    for norm, col in zip(PAIR, st.columns(len(PAIR), gap="large"), strict=True):
        with col:
            st.subheader(NORMS[norm].label)
            ui.cube(shape, norm, keys=(norm,), key=f"start_cube_{norm}", multiples=False, height=360, on_norm=None)


st.title("Why do transformers use LayerNorm, not BatchNorm?")
ui.show_url_notices()
view = view_of()

cube(view.shape)
st.caption(
    "Each cube is a batch of sentences: batch into the page, sequence (tokens) →, features ↑. "
    "Lit block: the cells averaged together with the chosen cell (the dark voxel)."
)
st.markdown(view.answer)
ui.page_link("explorer", "Open the Explorer: every norm, every cell, every number")

ex = view.example
st.header("The D2L example, computed")
st.markdown(f"Two examples with two features each ({ex.source}): rows are examples, columns are features.")
st.latex(r"X = " + ex.matrix)
for side, col in zip(ex.sides, st.columns(len(ex.sides), gap="large"), strict=True):
    with col:
        st.subheader(side.label)
        st.markdown(f"Normalizes {side.shares}.")
        st.latex(rf"\mathrm{{{side.label}}}(X) = {side.matrix}")
        st.markdown("The cell x = 2 (first example, second feature):")
        st.latex(side.arithmetic)
        st.caption(f"Same as `{side.check.torch_call}`: max |Δ| = {side.check.max_abs_diff:.1e}.")

st.header("Four things a transformer needs")
st.caption(view.measured_on)
for row in (view.properties[:2], view.properties[2:]):
    for prop, col in zip(row, st.columns(2, gap="large"), strict=True):
        box = col.container(border=True, key=f"start_{prop.key}")
        box.subheader(prop.title)
        box.markdown(f"*{prop.question}*")
        m1, m2 = box.columns(2)
        m1.metric("BatchNorm: largest change", fmt_delta(prop.batchnorm))
        m2.metric("LayerNorm: largest change", fmt_delta(prop.layernorm))
        box.markdown(prop.finding)
        ui.page_link(prop.url_path, prop.link, container=box)
ui.sync_url([])
