"""Geometry: with F = 2 or 3 features, see LayerNorm, RMSNorm and BatchNorm move a cloud of tokens."""

import math

import streamlit as st

from norm_viz import figures_beyond, ui
from norm_viz.labs import geometry, token_cloud

NAMES = {"layernorm": "LayerNorm", "rmsnorm": "RMSNorm", "batchnorm": "BatchNorm"}

st.title("The geometry of normalization")
ui.init_state("geo_F", 3, ui.int_in(2, 3))
ui.init_state("geo_norm", "layernorm", ui.choice(list(NAMES)))
ui.init_state("geo_n", 60, ui.int_in(2, 400))
ui.init_state("geo_shift", 1.0, ui.float_in(-10.0, 10.0))
ui.init_state("geo_stretch", 1.5, ui.float_in(0.1, 10.0))
ui.init_state("geo_seed", 0, ui.int_in(0, 2**31 - 1))
ui.show_url_notices()
st.markdown(
    "Think of each token as a point in feature space. A seed note says LayerNorm *projects each token onto a "
    "hypersphere*. Precisely: subtracting the token's mean is the orthogonal projection onto the plane ⟂ (1, …, 1) "
    "(mean 0), and dividing by the standard deviation puts the token at distance **√F** from the origin, so LayerNorm "
    "lands on a circle (the sphere ∩ that plane). RMSNorm skips the projection: the sphere of radius √F. BatchNorm "
    "works per axis across tokens: it standardizes the cloud, it does **not** put tokens on a sphere."
)
c1, c2, c3 = st.columns(3)
c1.radio("features F", [2, 3], key="geo_F", horizontal=True)
c2.radio("normalization", list(NAMES), format_func=NAMES.get, key="geo_norm", horizontal=True)
c3.slider("tokens", 2, 400, key="geo_n")
d1, d2, d3 = st.columns(3)
d1.slider("shift of the cloud", -10.0, 10.0, step=0.5, key="geo_shift")
d2.slider("stretch of the cloud", 0.1, 10.0, step=0.1, key="geo_stretch")
d3.number_input("seed", 0, 2**31 - 1, key="geo_seed")

ss = st.session_state
f = int(ss.geo_F)
geo = geometry(token_cloud(int(ss.geo_n), f, int(ss.geo_seed), float(ss.geo_shift), float(ss.geo_stretch)))
norm = ss.geo_norm
left, right = st.columns([3, 1], gap="large")
with left:
    ui.chart(figures_beyond.geometry_figure(geo, norm), config={"plotGlPixelRatio": 1}, key="geo_fig")
lengths = geo.norms(norm)
off_plane = float(geo.along_ones(norm).abs().max())
out = getattr(geo, norm)
stds = ", ".join(f"{v:.2f}" for v in out.std(0, correction=0).tolist())
with right:
    st.metric("√F", f"{math.sqrt(f):.4f}")
    st.metric("shortest token after", f"{float(lengths.min()):.4f}")
    st.metric("longest token after", f"{float(lengths.max()):.4f}")
    st.metric("largest distance from the plane", f"{off_plane:.1e}")
    st.markdown(f"Per-feature std across the tokens after: **{stds}**")
    st.caption("Lengths are ‖x̂‖; the distance from the plane is |Σ x̂_f| / √F (0 means mean 0).")

spread = float(lengths.max() - lengths.min())
if norm == "batchnorm":
    takeaway = (
        f"after BatchNorm the tokens' lengths range from {float(lengths.min()):.2f} to {float(lengths.max()):.2f}: "
        "no sphere. Instead each feature has mean 0 and std "
        f"{', '.join(f'{v:.3f}' for v in out.std(0, correction=0).tolist())} across the tokens — the cloud is standardized "
        "axis by axis."
    )
elif norm == "layernorm":
    takeaway = (
        f"after LayerNorm every token has length {float(lengths.mean()):.4f} (spread {spread:.1e}) = √{f} and lies on the "
        f"plane (largest distance {off_plane:.1e}): {'two points' if f == 2 else 'a circle'}, the sphere ∩ the plane."
    )
else:
    takeaway = (
        f"after RMSNorm every token has length {float(lengths.mean()):.4f} (spread {spread:.1e}) = √{f}, but it keeps "
        f"its direction, so it can sit anywhere on the sphere (largest distance from the plane {off_plane:.2f})."
    )
st.info(f"**Takeaway:** {takeaway}")
ui.sync_url(["geo_F", "geo_norm", "geo_n", "geo_shift", "geo_stretch", "geo_seed"])
