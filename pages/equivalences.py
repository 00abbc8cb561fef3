"""Equivalences between norms, checked live on the user's tensor with their max |Δ|."""

import pandas as pd
import streamlit as st

from norm_viz import ui
from norm_viz.beyond import figures as figures_beyond
from norm_viz.beyond.labs import equivalences

st.title("Equivalences, checked live")
ui.init_state("eq_K", 2, ui.int_in(1, ui.MAX_B))
ui.show_url_notices()
st.markdown(
    "Several norms are the same computation in disguise. Each identity below runs on **your** tensor (sidebar): "
    "both sides are computed independently through the app's `normalize()`, and the largest absolute difference "
    "of their outputs is printed. Next to it, the same comparison with the identity's condition broken, so you can "
    "see that the check could fail."
)

tcfg, x = ui.user_tensor(expanded=False)
b, s, f = x.shape
if b >= 2:
    st.session_state.eq_K = min(int(st.session_state.eq_K), b)
    st.slider(
        "devices K for SyncBN (the batch is split into K shards)",
        1,
        b,
        key="eq_K",
        help="each device sees B / K sequences; SyncBN all-reduces count, Σx and Σx² per feature",
    )
try:
    eqs = equivalences(x, int(st.session_state.eq_K))
except ValueError as e:
    st.error(
        f"These identities cannot all be checked on a {b} × {s} × {f} tensor: {e}. Change the sizes in the sidebar."
    )
    ui.sync_url([*ui.SHARED_KEYS, "eq_K"])
    st.stop()

table = pd.DataFrame(
    {
        "identity": [f"{e.left} = {e.right}" for e in eqs],
        "holds when": [e.condition for e in eqs],
        "max |Δ|": [f"{e.max_abs_diff:.1e}" + ("" if e.holds else " (fails)") for e in eqs],
        "condition broken": [e.broken for e in eqs],
        "max |Δ| then": [f"{e.broken_diff:.3g}" for e in eqs],
    }
).set_index("identity")
st.table(table)
ui.chart(figures_beyond.equivalences_figure(eqs), key="eq_fig")
st.latex(
    r"\text{SyncBN: } \mu = \frac{\sum_k \sum x}{\sum_k n_k}, \quad \sigma^2 = \frac{\sum_k \sum x^2}{\sum_k n_k} - \mu^2"
    r"\qquad \text{RMSNorm} = \text{LayerNorm when } \tfrac{1}{F}\textstyle\sum_f x_f = 0"
)

held = [e for e in eqs if e.holds]
worst = max(e.max_abs_diff for e in eqs)
coincide = [e.name for e in eqs if e.broken_diff < 1e-4]
if len(held) == len(eqs):
    takeaway = (
        f"all {len(eqs)} identities hold on this tensor to max |Δ| = {worst:.1e} (rounding in {x.dtype}), "
        f"while breaking their conditions gives differences from {min(e.broken_diff for e in eqs):.2g} to "
        f"{max(e.broken_diff for e in eqs):.2g}."
    )
else:
    takeaway = f"{len(eqs) - len(held)} identities fail on this tensor: " + ", ".join(
        e.name for e in eqs if not e.holds
    )
if coincide:
    takeaway += f" On this tensor even the broken versions coincide for: {', '.join(coincide)}."
st.info(f"**Takeaway:** {takeaway}")
ui.sync_url([*ui.SHARED_KEYS, "eq_K"])
