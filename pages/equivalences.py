"""Equivalences between norms, checked live on the user's tensor with their max |Δ|."""

import pandas as pd
import streamlit as st

from norm_viz import ui
from norm_viz.beyond import figures as figures_beyond
from norm_viz.beyond.equivalences import FORMULAS, EquivalencesConfig, equivalences_view
from norm_viz.core.params import Param

PARAMS = (Param("eq_K", 2, 1, ui.MAX_B, field="devices"),)

st.title("Equivalences, checked live")
ui.declare(PARAMS)
ui.show_url_notices()
st.caption("Norms that are the same computation in disguise, checked on your tensor, and with the condition broken.")
pic = st.container()  # the picture first; its explanation follows it

tcfg, x = ui.user_tensor(expanded=False)
b, s, f = x.shape
if b >= 2:
    ui.clamp(PARAMS[0], b)
    st.slider(
        "devices K for SyncBN (the batch is split into K shards)",
        1,
        b,
        key="eq_K",
        help="each device sees B / K sequences; SyncBN all-reduces count, Σx and Σx² per feature",
    )
try:
    view = equivalences_view(x, ui.config(EquivalencesConfig, PARAMS))
except ValueError as e:
    st.error(str(e))
    ui.sync_url([*ui.SHARED_KEYS, *PARAMS])
    st.stop()

st.table(pd.DataFrame(view.table).set_index("identity"))
ui.chart(figures_beyond.equivalences_figure(view.equivalences), key="eq_fig", container=pic)
st.markdown(
    "Several norms are the same computation in disguise. Each identity below runs on **your** tensor (sidebar): "
    "both sides are computed independently through the app's `normalize()`, and the largest absolute difference "
    "of their outputs is printed. Next to it, the same comparison with the identity's condition broken, so you can "
    "see that the check could fail."
)
st.latex(FORMULAS)
st.info(f"**Takeaway:** {view.takeaway}")
ui.sync_url([*ui.SHARED_KEYS, *PARAMS])
