"""Causal leakage: perturb one token and watch which outputs of every norm move."""

import streamlit as st
import torch

from norm_viz import ui
from norm_viz.questions import causal as checks
from norm_viz.questions import figures as fq

METHODS = {
    "difference": "finite difference: add a vector of length ‘size’ to the token",
    "jacobian": "autograd Jacobian: the exact derivative ∂y / ∂x[b, s]",
}


@st.cache_data(max_entries=32, show_spinner=False, hash_funcs=ui.HASH_FUNCS)
def leakage(x: torch.Tensor, tb: int, ts: int, size: float, method: str) -> checks.CausalCheck:
    return checks.causal_leakage(x, (tb, ts), size, method)


st.title("Causal leakage: can a later token change an earlier one?")
ui.show_url_notices()
st.markdown(
    "An autoregressive decoder predicts token *t* from tokens *0 … t* only; it is trained on whole sequences at once "
    "with a causal mask in attention. If the **normalization** averages over the sequence or the batch, a later "
    "token still reaches the earlier positions through the shared mean and variance, and then training sees the "
    "future that generation will not have. Below, one token is perturbed and every output is compared."
)

tcfg, x = ui.user_tensor(expanded=False)
b, s, f = x.shape
ui.init_state("cz_b", 0, ui.int_in(0, ui.MAX_B - 1))
ui.init_state("cz_s", -1, ui.int_in(-1, ui.MAX_S - 1))
ui.init_state("cz_method", "difference", ui.choice(list(METHODS)))
ui.init_state("cz_size", 1.0, ui.float_in(1e-6, 1e6))
if int(st.session_state.cz_s) < 0 or int(st.session_state.cz_s) > s - 1:
    st.session_state.cz_s = s - 1  # default: the last token, whose past is the whole sequence
st.session_state.cz_b = min(int(st.session_state.cz_b), b - 1)

c1, c2, c3, c4 = st.columns([1, 1, 3, 1])
c1.number_input(f"perturb sequence b (0..{b - 1})", 0, b - 1, key="cz_b")
c2.number_input(f"token s (0..{s - 1})", 0, s - 1, key="cz_s")
method = c3.radio("how", list(METHODS), format_func=METHODS.get, key="cz_method")
c4.number_input("size", 1e-6, 1e6, format="%g", key="cz_size", disabled=method == "jacobian")
tb, ts = int(st.session_state.cz_b), int(st.session_state.cz_s)
if s < 2:
    st.warning(
        "With S = 1 every sequence holds a single token, so there is no earlier position to leak into: set the "
        "sequence length S to 2 or more in the sidebar."
    )
elif ts == 0:
    st.warning("Token s = 0 has no past: choose a later token (e.g. the last, s = S − 1) to see leaks into the past.")

check = leakage(x, tb, ts, float(st.session_state.cz_size), method)
ui.chart(fq.leak_maps_figure(check), key="cz_maps")
st.caption(
    "Each map is one norm; a cell is one token (b, s) and its colour the largest change over its features. White = "
    "exactly unchanged (the checks run in float64). The blue square is the perturbed token."
)
rows = []
for r in check.rows:
    lk = check.leaks(r.key)
    rows.append(
        {
            "norm": r.label,
            "perturbed token": fq.fmt_delta(lk.get("self")),
            "its past (s′ < s)": fq.fmt_delta(lk.get("past")),
            "other sequences": fq.fmt_delta(lk.get("other_sequences")),
            "causal-safe?": {True: "yes", False: "no: leaks into the past", None: "—"}[check.causal_safe(r.key)],
            "note": r.error or "",
        }
    )
st.dataframe(ui.verdict_table(rows, {"causal-safe?": "yes"}), hide_index=True, width="stretch")
for r in check.rows:
    if r.error:
        st.warning(f"**{r.label}** cannot run on this tensor: {r.error}")

if ts > 0:
    leaky = [r for r in check.rows if check.causal_safe(r.key) is False]
    safe = [r.label for r in check.rows if check.causal_safe(r.key)]
    cross = [r.label for r in check.rows if check.batch_safe(r.key) is False]
    if leaky:
        worst = max(leaky, key=lambda r: check.leaks(r.key)["past"])
        takeaway = (
            f"Changing token ({tb}, {ts}) moved earlier positions under {', '.join(r.label for r in leaky)} (up to "
            f"{check.leaks(worst.key)['past']:.3g} for {worst.label})"
            + (f", and even other sequences of the batch under {', '.join(cross)}" if cross else "")
            + f"; {', '.join(safe) or 'no norm'} left every earlier position exactly unchanged: only they are causal-safe."
        )
    else:
        takeaway = (
            f"Changing token ({tb}, {ts}) moved no earlier position under any norm: all are causal-safe on this tensor."
        )
    st.info(f"**Takeaway.** {takeaway}")
ui.sync_url([*ui.SHARED_KEYS, "cz_b", "cz_s", "cz_method", "cz_size"])
