"""Modern LLM: SmolLM2-135M's RMSNorms, massive activations, attention sinks, the DyT observation and residual
growth, every number measured live beside MiniLM."""

import pandas as pd
import streamlit as st

from norm_viz import ui
from norm_viz.core.params import Param
from norm_viz.real import minilm, modern, smollm
from norm_viz.real import modern_figures as mf
from norm_viz.real.common import Cancelled, in_worker
from norm_viz.ui.real import REAL_PARAMS, loaded_model, loaded_smollm, model_problem, parse_sentences, sentences_box

PARAMS = (
    Param("ml_norm", 24, 0, smollm.N_NORMS - 1),
    Param("ml_ln", 6, 0, minilm.N_LN - 1),
)


@st.cache_data(max_entries=8, show_spinner="Running SmolLM2 and MiniLM on the sentences …")
def measure(sentences: tuple[str, ...]) -> modern.ModernView:
    """The modern story on these sentences (cached: 8 views of ~0.7 MB each, most of it the 74 norms' scatter
    points, so that choosing another norm below costs no forward)."""
    loaded_model()
    loaded_smollm()
    with ui.heavy("real-model", cost_s=1.4):  # one heavy run at a time per server (norm_viz/ui/admission.py)
        return in_worker(modern.modern_view, list(sentences), checkpoint=ui.checkpoint)


st.title("Inside a modern LLM: RMSNorm at work")
ui.declare(REAL_PARAMS[:1])
ui.declare(PARAMS)
ui.show_url_notices()
problem = model_problem("smollm2-135m") or model_problem("minilm")
if problem is not None:
    st.warning(problem, icon=":material/download:")
    st.info("The rest of the app works without the models; this page and the 'Real sentences' source need them.")
    ui.sync_url([*ui.SHARED_KEYS, *PARAMS])
    st.stop()
ss = st.session_state
sents, problems = parse_sentences(ss.rl_text or "\n".join(minilm.DEFAULT_SENTENCES))
st.caption(
    "SmolLM2-135M (a LLaMA-style decoder: 30 blocks, 576 features, an RMSNorm *before* each attention and feed-forward "
    "block) runs here offline on the sentences at the bottom of the page. Every number is measured now."
)
try:
    view = measure(tuple(sents))
except (smollm.RealInputError, ValueError) as e:
    st.error(f"{e}. Fix the sentences at the bottom of the page.")
    view = measure(tuple(minilm.DEFAULT_SENTENCES))
    sents = list(minilm.DEFAULT_SENTENCES)
except Cancelled:
    st.stop()
for p in problems:
    st.error(p)
for note in view.notes:
    st.warning(note, icon=":material/content_cut:")

peak, tm = view.peak, view.tamed
ui.chart(mf.massive_figure(view), key="ml_massive")
depth = mf.DEPTHS[view.massive.index(peak)]
st.markdown(
    f"**Massive activations.** Entering {depth}, feature "
    f"**{peak.feature}** of the token {ui.literal(peak.token)} ({peak.where}) is **{peak.value:,.0f}**, "
    f"{peak.ratio:,.0f}× the median "
    f"entry ({peak.median:.2f}). Feature {view.top_features[0][0]} holds the largest entry at "
    f"{view.top_features[0][1]} of the 31 depths."
)
st.markdown(
    f"**What RMSNorm does to it.** At the {tm.norm}, that one feature holds **{tm.share:.1%}** of the token's mean "
    f"square, so RMSNorm divides all 576 features by RMS = {tm.rms:,.0f}: the feature becomes x̂ = {tm.xhat:.2f} "
    f"(the ceiling is √576 = {modern.RMS_BOUND:.0f}) and the token's other 575 features shrink to a median |x̂| of "
    f"**{tm.others_xhat:.3f}**, against {tm.ordinary_xhat:.2f} for every feature of the other tokens. γ of feature "
    f"{tm.feature} is {tm.gamma:.2f} (median |γ| {tm.gamma_median:.2f})."
)
ok, check = modern.check_claim(view.worst_delta)
(st.success if ok else st.error)(check, icon=":material/verified:" if ok else ":material/error:")

st.subheader("Attention sinks")
ui.chart(mf.sink_figure(view), key="ml_sink")
ratio_mid = float(view.first_rms_ratio[2:30].median())
st.markdown(
    f"Averaged over blocks 2–29 and the 9 heads, a token puts **{view.sink_share:.0%}** of its attention on the "
    f"first token (a uniform spread would give it {1 / max(1, sum(len(t) for t in view.tokens) / len(view.tokens)):.0%} "
    f"on an average-length sentence). That first token's residual is {ratio_mid:,.0f}× as large (RMS, median over "
    "those blocks) as the others': the massive activation sits on the token every head can dump its attention on."
)

st.subheader("The DyT observation: does a norm look like tanh?")
c1, c2 = st.columns(2)
c1.select_slider("SmolLM2 RMSNorm", list(range(smollm.N_NORMS)), key="ml_norm", format_func=smollm.ln_name)
c2.select_slider("MiniLM LayerNorm", list(range(minilm.N_LN)), key="ml_ln", format_func=minilm.ln_name)
norm_i, ln_i = int(ss.ml_norm), int(ss.ml_ln)
s_fit, m_fit = view.fits[norm_i], view.minilm_fits[ln_i]
left, right = st.columns(2, gap="large")
with left:
    ui.chart(mf.dyt_figure(view.scatters[norm_i], s_fit, f"SmolLM2 · {s_fit.name}"), key="ml_dyt_s")
with right:
    ui.chart(mf.dyt_figure(view.minilm_scatters[ln_i], m_fit, f"MiniLM · {m_fit.name}"), key="ml_dyt_m")
ui.chart(mf.fit_errors_figure(view), key="ml_fits")
smol_fit, mini_fit = modern.fit_summary(view.fits), modern.fit_summary(view.minilm_fits)
st.markdown(modern.fit_claim(smol_fit, mini_fit))

st.subheader("Pre-norm residual growth")
ui.chart(mf.growth_figure(view), key="ml_growth")
m_growth = float(view.minilm_stream_rms[-1] / view.minilm_stream_rms[0])
st.markdown(
    f"SmolLM2's residual stream is never normalized, only read through RMSNorms: its median token RMS grows "
    f"**{view.growth:,.0f}×** from block 0 to the output norm. MiniLM's stream is renormalized after every block and "
    f"changes by {m_growth:.1f}×. Later blocks of a pre-norm model add to an ever larger stream, so each one changes it "
    "relatively less (the argument behind Peri-LN, Kim et al. 2025, and LayerNorm scaling)."
)

st.subheader("Encoder vs decoder, side by side")
rows = [
    {"": "architecture", "MiniLM": "BERT encoder, 6 layers", "SmolLM2-135M": "LLaMA decoder, 30 blocks"},
    {"": "attention", "MiniLM": "bidirectional", "SmolLM2-135M": "causal (looks back only)"},
    {"": "norm, placement", "MiniLM": "LayerNorm after each block", "SmolLM2-135M": "RMSNorm before each block"},
    {
        "": "norms (features)",
        "MiniLM": f"{minilm.N_LN} ({minilm.HIDDEN})",
        "SmolLM2-135M": f"{smollm.N_NORMS} ({smollm.HIDDEN})",
    },
    {
        "": "largest norm input ÷ median",
        "MiniLM": f"{view.minilm_ratio:,.0f}×",
        "SmolLM2-135M": f"{peak.ratio:,.0f}×",
    },
    {
        "": "stream RMS, last ÷ first",
        "MiniLM": f"{m_growth:.1f}×",
        "SmolLM2-135M": f"{view.growth:,.0f}×",
    },
    {
        "": "tanh / erf fit left (median)",
        "MiniLM": f"{mini_fit[0]:.0%} / {mini_fit[1]:.0%}",
        "SmolLM2-135M": f"{smol_fit[0]:.0%} / {smol_fit[1]:.0%}",
    },
]
st.dataframe(
    pd.DataFrame(rows),
    hide_index=True,
    width="stretch",
    column_config={"": st.column_config.TextColumn(width="medium")},
)
with st.expander("Sentences (shared with the 'Real sentences' tensor source)", expanded=False, icon=":material/edit:"):
    sentences_box(st)
ui.sync_url([*ui.SHARED_KEYS, *PARAMS])
