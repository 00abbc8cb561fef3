"""Batch dependence: does one sample's output change when another sample of the batch changes?"""

import streamlit as st
import torch

from norm_viz import ui
from norm_viz.core.table import NORMS
from norm_viz.questions import dependence as checks
from norm_viz.questions import figures as fq


@st.cache_data(max_entries=32, show_spinner=False, hash_funcs=ui.HASH_FUNCS)
def dependence(x: torch.Tensor, target: int, changed: int, top: float) -> checks.DependenceCheck:
    factors = tuple(round(top * i / 5, 6) for i in range(6))
    return checks.batch_dependence(x, target, changed, factors)


st.title("Batch dependence: does my output depend on the other examples?")
ui.show_url_notices()
st.markdown(
    "A model should give the same answer for a sentence whoever else shares its batch. Below, one sample (the "
    "*other* one) is multiplied by a factor from 0 (zeroed out) to a large value, and the output of *your* sample "
    "is compared with its original output, for every norm."
)

tcfg, x = ui.user_tensor(expanded=False)
b, s, f = x.shape
ui.init_state("bd_target", 0, ui.int_in(0, ui.MAX_B - 1))
ui.init_state("bd_changed", 1, ui.int_in(0, ui.MAX_B - 1))
ui.init_state("bd_top", 10.0, ui.float_in(0.1, 1000.0))
if b < 2:
    st.error(
        f"The batch holds B = {b} sequence, so there is no other example to change. Set the batch size B to 2 or more "
        "in the sidebar (or choose a preset with two examples)."
    )
    ui.sync_url([*ui.SHARED_KEYS, "bd_target", "bd_changed", "bd_top"])
    st.stop()
for k in ("bd_target", "bd_changed"):
    st.session_state[k] = min(int(st.session_state[k]), b - 1)
c1, c2, c3 = st.columns(3)
c1.number_input(f"your sample (0..{b - 1})", 0, b - 1, key="bd_target")
c2.number_input(f"the other sample to change (0..{b - 1})", 0, b - 1, key="bd_changed")
c3.number_input("largest factor", 0.1, 1000.0, format="%g", key="bd_top")
target, changed = int(st.session_state.bd_target), int(st.session_state.bd_changed)

if target == changed:
    st.error(f"Choose two different samples: both are {target}. Valid: any two different indices in 0..{b - 1}.")
else:
    check = dependence(x, target, changed, float(st.session_state.bd_top))
    labels = {k: NORMS[k].label for k in check.deltas}
    ui.chart(fq.dependence_figure(check, labels), key="bd_lines")
    keys = list(check.deltas)
    ui.chart(
        fq.norm_bars_figure(
            [labels[k] for k in keys],
            [check.largest(k) for k in keys],
            [check.depends(k) for k in keys],
            f"Largest change of sample {target}'s output",
            "max |Δ output| over every factor",
            notes=["(cannot run)" if check.deltas[k] is None else "" for k in keys],
        ),
        key="bd_bars",
    )
    for k, msg in check.errors.items():
        st.warning(f"**{labels[k]}** cannot run on this tensor: {msg}")
    dep = [k for k in keys if check.depends(k)]
    indep = [labels[k] for k in keys if check.depends(k) is False]
    if dep:
        worst = max(dep, key=lambda k: check.largest(k) or 0.0)
        takeaway = (
            f"Changing sample {changed} moved sample {target}'s output under {', '.join(labels[k] for k in dep)} (up to "
            f"{check.largest(worst):.3g} for {labels[worst]}); under {', '.join(indep) or 'no norm'} it stayed exactly the same."
        )
    else:
        takeaway = f"Sample {target}'s output never moved when sample {changed} changed, under any norm: none depends on the batch here."
    st.info(f"**Takeaway.** {takeaway}")
ui.sync_url([*ui.SHARED_KEYS, "bd_target", "bd_changed", "bd_top"])
