"""PowerNorm: BatchNorm without the mean, divided by a running quadratic mean after a warm-up (Shen et al., 2020)."""

import pandas as pd
import streamlit as st

from norm_viz import ui
from norm_viz.beyond import figures as figures_beyond
from norm_viz.beyond import powernorm_evidence, powernorm_figures
from norm_viz.beyond.powernorm_lab import (
    PowerNormConfig,
    PowerNormData,
    powernorm_data,
    powernorm_view,
    scaling_group_options,
)
from norm_viz.core.data import KINDS
from norm_viz.core.params import Param
from norm_viz.training import results as rs

PARAMS = (
    Param("pn_steps", 12, 2, 40, field="steps"),
    Param("pn_warm", 4, 0, 40, field="warmup"),
    Param("pn_B", 4, 1, 16, field="batch"),
    Param("pn_S", 8, 1, 32, field="sequence"),
    Param("pn_F", 8, 1, 16, field="features"),
    Param("pn_kind", "token_like", options=tuple(KINDS), field="kind"),
    Param("pn_var", True, field="variable"),
    Param("pn_gs", 0, 0, 16, field="scaling_groups"),
    Param("pn_seed", 0, 0, 2**31 - 1, field="seed"),
    Param("pn_step", 1, 1, 40, field="step"),
    Param("pn_feat", 0, 0, 15, field="feature"),
)
P = {p.key: p for p in PARAMS}

st.title("PowerNorm: batch statistics made steady")
st.caption("PowerNorm divides each feature by a steady, running quadratic mean instead of a jumpy batch one.")
pic = st.container()  # the picture first; its explanation follows it

ui.declare(PARAMS)
ui.show_url_notices()

c1, c2, c3, c4 = st.columns(4)
c1.slider("batches (training steps)", 2, 40, key="pn_steps")
c2.slider("warm-up steps", 0, 40, key="pn_warm", help="steps that divide by their own batch's ψ²")
c3.slider("sequences per batch", 1, 16, key="pn_B")
c4.slider("tokens per sequence", 1, 32, key="pn_S")
d1, d2, d3, d4 = st.columns(4)
d1.slider("features", 1, 16, key="pn_F")
d2.selectbox("data", list(KINDS), key="pn_kind", format_func=lambda k: f"{k}: {KINDS[k]}")
ss = st.session_state
n_steps, f = int(ss.pn_steps), int(ss.pn_F)
gs_options = scaling_group_options(f)
if ss.pn_gs not in gs_options:
    ss.pn_gs = 0
d3.selectbox("GroupScaling groups (0 = off)", gs_options, key="pn_gs")
d4.number_input("seed", 0, 2**31 - 1, key="pn_seed")
st.toggle("variable sentence lengths (the rest of each sequence is padding)", key="pn_var")


@st.cache_data(max_entries=2, show_spinner=False)  # up to 56 MB an entry (issue 20 cache audit); 22 ms to redo
def data_of(cfg: PowerNormConfig) -> PowerNormData:
    return powernorm_data(cfg)


ui.clamp(P["pn_step"], n_steps)
ui.clamp(P["pn_feat"], f - 1)
cfg = ui.config(PowerNormConfig, PARAMS)
view = powernorm_view(cfg, data_of(cfg.for_run))
if view.warning:
    st.warning(view.warning)

e1, e2 = st.columns([3, 1])
e1.slider("step to inspect", 1, n_steps, key="pn_step", format="step %d")
e2.number_input("feature to follow", 0, f - 1, key="pn_feat")

ui.chart(figures_beyond.powernorm_steps_figure(view.run, view.feature, view.index), key="pn_steps_fig", container=pic)
st.markdown(
    "BatchNorm struggles in transformers because a batch of sentences gives jumpy statistics (the PowerNorm paper, "
    "quoted in the Cross Validated Q&A thread on BatchNorm vs LayerNorm in transformers). **PowerNorm** (Shen et al., 2020) makes three changes: per feature it divides by the "
    "**quadratic mean** ψ² = mean of x² over the real tokens (no mean is subtracted); after a **warm-up** it divides "
    "by a **running** ψ². The running ψ² follows the authors' code: during warm-up it is first the **cumulative mean** "
    "of the batches' ψ² so far, and at every step it is then updated as ψ² ← 0.9·ψ² + 0.1·ψ²(batch). The authors' "
    "code also first applies **GroupScaling** (each token's feature group divided by its own RMS, with its own "
    "ε = 10⁻⁵), which the paper's text does not describe: off here unless you choose groups. "
    "Padding never enters ψ². Step through a sequence of batches below."
)
left, right = st.columns([3, 2], gap="large")
with left:
    ui.chart(figures_beyond.powernorm_features_figure(view.run, view.index), key="pn_feat_fig")
with right:
    st.markdown(view.summary)
    for line in view.latex:
        st.latex(line)
    if view.note:
        st.caption(view.note)
    (st.success if view.check_ok else st.error)(view.check)
    st.caption(
        "The running ψ² starts at 1 (the buffer's initial value). With a warm-up of 2 steps or more, the cumulative "
        "mean replaces that 1 by the batches' own ψ² from step 1 on; with a shorter one the moving average starts "
        "from 1 and can stay far from a feature's own scale for a while: compare the bars."
    )
    st.markdown(view.mean_square)
st.info(f"**Takeaway:** {view.takeaway}")

st.header("Do batch statistics of text fluctuate more than those of images? Measured like for like")
evidence = rs.shipped_results("powernorm")
if not evidence:
    st.info("No shipped measurement in this installation: run `python -m norm_viz.beyond.powernorm_evidence`.")
else:
    st.markdown(
        "The PowerNorm paper's reason for replacing BatchNorm in transformers: during training, the batch statistics "
        "of text stray much further from BatchNorm's running statistics than those of images. Below, the training "
        "lab's tiny LM trained **with BatchNorm** on real sentences and its ConvNet trained with BatchNorm on real "
        "digits (8×8 and 28×28 MNIST), three seeds each: first during training, as the paper measured; then the "
        "frozen activations cut into random batches, compared at the **same number of values per statistic**."
    )
    ui.chart(powernorm_figures.training_figure(evidence), key="pn_ev_training")
    ui.table(pd.DataFrame(powernorm_evidence.training_rows(evidence)))
    ui.chart(powernorm_figures.frozen_figure(evidence), key="pn_ev_frozen")
    ui.table(pd.DataFrame(powernorm_evidence.frozen_rows(evidence)))
    st.subheader("Verdicts")
    for line in powernorm_evidence.verdicts(evidence):
        st.markdown(f"- {line}")
    prov = rs.provenance("powernorm")
    st.caption(
        f"Computed with `{prov.get('command', 'python -m norm_viz.beyond.powernorm_evidence').strip()}` "
        f"(commit {str(prov.get('commit', '?'))[:10]}, torch {prov.get('torch', '?')}, one thread, "
        f"{prov.get('cpu_s', 0):.0f} CPU s, seeds {', '.join(map(str, prov.get('seeds', [])))}; learning rates "
        + ", ".join(f"{k} {v:g}" for k, v in prov.get("learning_rates", {}).items())
        + "). Distances are summarized over the second half of each run; frozen spreads are interpolated between "
        "batch sizes on log-log axes."
    )
ui.sync_url(PARAMS)
