"""Geometry: with F = 2 or 3 features, see LayerNorm, RMSNorm and BatchNorm move a cloud of tokens."""

import streamlit as st

from norm_viz import ui
from norm_viz.beyond import figures as figures_beyond
from norm_viz.beyond.geometry import GEOMETRY_NORMS, GeometryConfig, geometry_view
from norm_viz.core.params import Param

PARAMS = (
    Param("geo_F", 3, 2, 3, field="features"),
    Param("geo_norm", "layernorm", options=tuple(GEOMETRY_NORMS), field="norm"),
    Param("geo_n", 60, 2, 400, field="tokens"),
    Param("geo_shift", 1.0, -10.0, 10.0, field="shift"),
    Param("geo_stretch", 1.5, 0.1, 10.0, field="stretch"),
    Param("geo_seed", 0, 0, 2**31 - 1, field="seed"),
)

st.title("The geometry of normalization")
ui.declare(PARAMS)
ui.show_url_notices()
st.markdown(
    "Think of each token as a point in feature space. Study notes on normalization in transformers say LayerNorm *projects each token onto a "
    "hypersphere*. Precisely: subtracting the token's mean is the orthogonal projection onto the plane ⟂ (1, …, 1) "
    "(mean 0), and dividing by the standard deviation puts the token at distance **√F** from the origin, so LayerNorm "
    "lands on a circle (the sphere ∩ that plane). RMSNorm skips the projection: the sphere of radius √F. BatchNorm "
    "works per axis across tokens: it standardizes the cloud, it does **not** put tokens on a sphere."
)
c1, c2, c3 = st.columns(3)
c1.radio("features F", [2, 3], key="geo_F", horizontal=True)
c2.radio("normalization", list(GEOMETRY_NORMS), format_func=GEOMETRY_NORMS.get, key="geo_norm", horizontal=True)
c3.slider("tokens", 2, 400, key="geo_n")
d1, d2, d3 = st.columns(3)
d1.slider("shift of the cloud", -10.0, 10.0, step=0.5, key="geo_shift")
d2.slider("stretch of the cloud", 0.1, 10.0, step=0.1, key="geo_stretch")
d3.number_input("seed", 0, 2**31 - 1, key="geo_seed")

view = geometry_view(ui.config(GeometryConfig, PARAMS))
left, right = st.columns([3, 1], gap="large")
with left:
    ui.chart(figures_beyond.geometry_figure(view.geometry, view.norm), config={"plotGlPixelRatio": 1}, key="geo_fig")
with right:
    st.metric("√F", f"{view.radius:.4f}")
    st.metric("shortest token after", f"{view.shortest:.4f}")
    st.metric("longest token after", f"{view.longest:.4f}")
    st.metric("largest distance from the plane", f"{view.off_plane:.1e}")
    st.markdown(f"Per-feature std across the tokens after: **{', '.join(f'{v:.2f}' for v in view.feature_stds)}**")
    st.caption("Lengths are ‖x̂‖; the distance from the plane is |Σ x̂_f| / √F (0 means mean 0).")
st.info(f"**Takeaway:** {view.takeaway}")
ui.sync_url(PARAMS)
