"""Real model: what a pretrained transformer's 13 LayerNorms see on real sentences, every number measured live."""

import pandas as pd
import streamlit as st

from norm_viz import ui
from norm_viz.beyond import powernorm_figures
from norm_viz.core.params import Param
from norm_viz.real import figures as real_figures
from norm_viz.real import minilm as real
from norm_viz.real.view import Claim, findings, powernorm_claim
from norm_viz.ui.real import REAL_PARAMS, loaded_model, model_problem, parse_sentences, real_view, sentences_box

SITES = {"attention": "after attention", "ffn": "after the feed-forward block"}
PC_SIZES = [32, 64, 128]
# Sentences of the PowerNorm measurement: 128 took 0.9–1.0 CPU-s here (layer 2; layer 5: ~1.3; 256 sentences: 1.8–2.6),
# the app's budget is 2 per request, so the measurement is at most 128 sentences and runs when asked (the button), not
# on every visit. (A comment: Streamlit's magic shows a bare string of a page file on the page.)
PARAMS = (
    Param("rm_layer", 0, 0, real.N_LAYERS - 1),
    Param("rm_site", "ffn", options=tuple(SITES)),
    Param("pc_layer", 2, 0, real.N_LAYERS - 1),
    Param("pc_site", "ffn", options=tuple(SITES)),
    Param("pc_n", 128, options=tuple(PC_SIZES)),
)


@st.cache_data(max_entries=8, show_spinner="Running the model on up to 128 corpus sentences …")
def claim_of(layer: int, site: str, n: int) -> Claim:
    """The PowerNorm measurement (cached: 8 of ~50 KB each); stops when the tab closes."""
    with ui.heavy("real-model", cost_s=1.0):  # one heavy run at a time per server (norm_viz/ui/admission.py)
        return real.in_worker(powernorm_claim, layer, site, n, checkpoint=ui.checkpoint)


st.title("A real transformer: what its LayerNorms see")
ui.declare(REAL_PARAMS[:1])
ui.declare(PARAMS)
ui.show_url_notices()
problem = model_problem()
if problem is not None:
    st.warning(problem, icon=":material/download:")
    st.info("The rest of the app works without the model; this page and the 'Real sentences' source need it.")
    ui.sync_url([*ui.SHARED_KEYS, *PARAMS])
    st.stop()
m = loaded_model()
st.markdown(
    "The pretrained **all-MiniLM-L6-v2** (a 6-layer BERT, F = 384 features per token, post-LN: 13 LayerNorms, "
    f"ε = {m.eps:g}) runs here on your sentences, offline. Every number below is measured now, on these sentences "
    "(except the image side of the last comparison, shipped and labelled as such)."
)
st.caption(
    f"Weights: {m.directory.name}/model.safetensors, sha256 {m.sha256[:12]}…{m.sha256[-6:]} (the upstream file's), "
    f"loaded once per server in {m.load_seconds:.2f} s."
)
with st.expander("Sentences (shared with the 'Real sentences' tensor source)", expanded=False, icon=":material/edit:"):
    sents, problems = parse_sentences(sentences_box(st))
    for p in problems:
        st.error(p)
c1, c2 = st.columns(2)
c1.slider("batch-composition experiment: layer", 0, real.N_LAYERS - 1, key="rm_layer")
c2.selectbox("at the LayerNorm", list(SITES), format_func=lambda k: SITES[k], key="rm_site")
ss = st.session_state
try:
    view = real_view(tuple(sents), int(ss.rm_layer), str(ss.rm_site))
except real.Cancelled:
    st.stop()
except real.RealInputError as e:
    st.error(f"{e}. Fix the sentences above.")
    ui.sync_url([*ui.SHARED_KEYS, *PARAMS])
    st.stop()
for note in view.notes:
    st.warning(note, icon=":material/content_cut:")

ok = view.worst_delta <= 1e-5
(st.success if ok else st.error)(
    f"`normalize(a.x, 'layernorm', eps=a.ln_eps, weight=a.ln_weight, bias=a.ln_bias)` against the model's own output "
    f"at all 13 LayerNorms: worst max |Δ| = {view.worst_delta:.1e} ({'≤' if ok else '>'} 1e-5).",
    icon=":material/verified:" if ok else ":material/error:",
)
for line in findings(view, quote=ui.literal):
    st.markdown(line)
ui.chart(real_figures.composition_sites_figure(view), key="rm_sites")
st.caption(
    "Movement of one (token, feature) cell of the first sentence = its largest minus its smallest normalized value "
    f"over the {view.sites.n_batches} batches (each with other companions from the docstring sentences). Bars: the "
    "cell that moves most; diamonds: the median cell. The dotted line marks the site chosen above."
)

ui.chart(real_figures.peaks_figure(view), key="rm_peaks")
left, right = st.columns(2, gap="large")
with left:
    ui.chart(real_figures.ceiling_figure(view), key="rm_ceiling")
with right:
    ui.chart(real_figures.padding_feature_figure(view), key="rm_pad")
if view.padded:
    ui.chart(real_figures.ratios_figure(view), key="rm_ratios")
rows = [
    {
        "LayerNorm": f.name,
        "|Δ|": f"{f.max_delta:.0e}",
        "top features": ", ".join(map(str, f.top_features)),
        "largest x": f"{f.top_values[0]:.1f}",
        "typical": f"{f.typical:.2f}",
        "max |x̂|": f"{f.max_xhat:.2f}",
        "γ top / median": f"{f.gamma_top:.2f} / {f.gamma_median:.2f}",
        "pad feature: BN σ²": (
            f"f{f.pad_feature}: {f.bn_var_unmasked / f.bn_var_masked:.1f}×" if f.pad_feature >= 0 else "–"
        ),
    }
    for f in view.facts
]
ui.table(pd.DataFrame(rows))  # every column in full (st.dataframe scrolled 262 px of them out of sight at 1280 px)
st.caption(
    "Largest x is the top feature's value on its token (the findings above name it); typical = median over "
    "features of each one's largest |x|; BN σ² = unmasked / masked BatchNorm variance of the padding feature."
)

st.subheader("Do batch statistics of real text fluctuate more than those of images? (the PowerNorm paper's claim)")
st.markdown(
    "The PowerNorm paper found that batch statistics of NLP data fluctuate much more than those of images, which "
    "makes BatchNorm unstable in transformers. Here up to 128 real sentences (from the Python standard library's "
    "docstrings, on this machine) go through the model; the input of one LayerNorm — where a BatchNorm would sit — "
    "is cut into random mini-batches of whole sentences (three draws), every feature first standardized, padding "
    "masked out. The comparison: the training lab's ConvNet, trained with BatchNorm on real digit images, its three "
    "BatchNorm inputs cut the same way from the same number of images — read at the **same number of values per "
    "statistic** (tokens or pixels × samples), not at the same batch size."
)
d1, d2, d3 = st.columns(3)
d1.slider("layer", 0, real.N_LAYERS - 1, key="pc_layer")
d2.selectbox("LayerNorm input", list(SITES), format_func=lambda k: SITES[k], key="pc_site")
d3.select_slider("sentences (and images)", PC_SIZES, key="pc_n")
pc_key = (int(ss.pc_layer), str(ss.pc_site), int(ss.pc_n))
if st.button("Measure (about 1 CPU-second on the server)", key="pc_go", icon=":material/play_arrow:"):
    ss["_pc_done"] = {*ss.get("_pc_done", set()), pc_key}
if pc_key in ss.get("_pc_done", set()):
    claim = claim_of(*pc_key)
    title = "Batch-variance spread at equal values per statistic: text live (3 draws), images shipped (3 seeds)"
    ui.chart(powernorm_figures.frozen_figure(claim.records, title), key="pc_fig")
    st.info(f"**Verdict:** {claim.verdict}")
    if claim.comparisons:
        ui.table(pd.DataFrame(claim.rows()))
    st.caption(
        "Spread = sd over random batches of the per-feature batch variance, in units of each feature's σ², averaged "
        f"over features. {claim.scale}"
    )
    if claim.images:
        prov = claim.provenance
        st.caption(
            "The image numbers are shipped, not computed here (training the ConvNets takes minutes): "
            f"`{str(prov.get('command', 'python -m norm_viz.beyond.powernorm_evidence')).strip()}`, commit "
            f"{str(prov.get('commit', '?'))[:10]}, {prov.get('date', '?')}, torch {prov.get('torch', '?')}, seeds "
            f"{', '.join(map(str, prov.get('seeds', [])))}; the PowerNorm page shows that measurement in full, "
            "during training too."
        )
else:
    st.caption("Press Measure to run it: it takes about a CPU-second of the shared server, so it runs when asked.")
st.caption(
    "Caveat: the paper measured models while they trained with BatchNorm; here a model trained with LayerNorm is "
    "frozen. Change the layer and the number of sentences to see how it moves: the sentences and the images are "
    "drawn from pools of the same size, since batches drawn from a small pool overlap and fluctuate less."
)
ui.sync_url([*ui.SHARED_KEYS, *PARAMS])
