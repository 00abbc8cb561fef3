"""The "real sentences" tensor source: a pretrained transformer's LayerNorm input on your sentences, in the sidebar.

The model loads once per process (st.cache_resource), lazily, with a spinner; its activations are cached per
(sentences, layer, site). F = 384 is more than the views show, so the sidebar picks features (a window, the most
variable ones or the biggest outliers) and says which model feature each column is.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

import numpy as np
import streamlit as st
import torch
from streamlit import runtime

from norm_viz.core.config import TensorConfig
from norm_viz.real import minilm as real
from norm_viz.real import real_activations, smollm
from norm_viz.real.common import PRELOAD_ENV, preload
from norm_viz.real.source import (
    DEFAULT_TEXT,
    FEATURE_MODES,
    HIDDEN,
    MAX_TEXT,
    MAX_VIEW_F,
    MAX_VIEW_S,
    MODEL_LABELS,
    N_LAYERS,
    REAL_PARAMS,
    SITES,
    RealBatch,
    choose_features,
    parse_sentences,
)
from norm_viz.real.view import RealModelView, real_model_view
from norm_viz.ui.admission import heavy
from norm_viz.ui.safety import checkpoint


def preload_models() -> None:
    """Start loading both models in the background when a Streamlit server starts (app.py calls this at the end of
    every run, so the first page is drawn before it starts; it acts once per process, never under AppTest, and not
    with NORM_VIZ_PRELOAD=0): the first visitor of a real page meets a loaded model or the rest of a load under way
    (see common.preload)."""
    if os.environ.get(PRELOAD_ENV, "1") != "0" and runtime.exists():
        preload()


@st.cache_resource(
    max_entries=1,
    show_spinner="Loading the pretrained MiniLM (90 MB, checked by sha256): once per server, about 1 CPU-second …",
)
def loaded_model() -> real.Model:
    """The one MiniLM of this process (usually loaded already: preload_models starts it with the server)."""
    return real.in_worker(real.model)


@st.cache_resource(
    max_entries=1,
    show_spinner="Loading SmolLM2-135M (93 MB file, checked by sha256): once per server, about 5 CPU-seconds and "
    "300 MB; the page comes when it is done …",
)
def loaded_smollm() -> smollm.Model:
    """The one SmolLM2 of this process (usually loaded already: preload_models starts it with the server)."""
    return real.in_worker(smollm.model)


def model_problem(model: str = "minilm") -> str | None:
    """None when the model is usable, else why not and the command that installs it."""
    try:
        if model == "minilm":
            loaded_model()
        else:
            missing = smollm.installed()
            if missing is not None:
                return missing
            loaded_smollm()
    except (real.ModelUnavailable, real.ModelVerificationError) as e:
        return str(e)
    return None


@st.cache_data(max_entries=16, show_spinner="Running the model on your sentences …")
def real_batch(sentences: tuple[str, ...], layer: int, site: str, model: str = "minilm") -> RealBatch:
    """real_activations for these sentences, as arrays (cached per sentences, layer, site and model)."""
    if model == "minilm":
        loaded_model()
    else:
        loaded_smollm()
    with heavy("real-model", cost_s=1.0):  # one heavy run at a time per server, in line with a notice (ui/admission.py)
        a = real.in_worker(real_activations, list(sentences), layer, site, model, checkpoint=checkpoint)
    return RealBatch(a.x.numpy(), a.mask.numpy(), a.tokens, tuple(a.notes), a.name)


@st.cache_data(max_entries=8, show_spinner="Running the model on the sentences and measuring its 13 LayerNorms …")
def real_view(sentences: tuple[str, ...], layer: int = 0, site: str = "ffn") -> RealModelView:
    """The real model page's measurements (cached; the interview cards cite them too)."""
    loaded_model()
    with heavy("real-model", cost_s=0.5):
        return real.in_worker(real_model_view, list(sentences), layer, site, checkpoint=checkpoint)


def sentences_box(container: Any = None) -> str:
    """The sentences text area (sidebar by default); its value lives in `rl_text` ('' while it is the default set)."""
    ss = st.session_state
    if "_rl_text_w" not in ss or ss.get("_rl_text_seen") != ss.rl_text:
        ss["_rl_text_w"] = ss.rl_text or DEFAULT_TEXT
    text = (container or st.sidebar).text_area(
        f"Sentences, one per line (up to {real.MAX_SENTENCES})",
        key="_rl_text_w",
        height=180,
        max_chars=MAX_TEXT,
        help="Each sentence is cut at 128 tokens. Lower-cased word pieces; characters the model does not know become [UNK].",
    )
    ss.rl_text = "" if text.strip() == DEFAULT_TEXT else text
    ss["_rl_text_seen"] = ss.rl_text
    return text


def real_source_controls() -> TensorConfig | None:
    """The sidebar's real-sentences source; None (with the reason shown) when the model is not installed."""
    sb = st.sidebar
    ss = st.session_state
    model = str(
        sb.selectbox(
            "model",
            list(MODEL_LABELS),
            key="rl_model",
            format_func=lambda k: MODEL_LABELS[k],
            help="MiniLM: a 6-layer BERT encoder with 13 LayerNorms after its blocks; SmolLM2-135M: a 30-block causal "
            "decoder with 61 RMSNorms before its blocks (its tokens see only the ones before them)",
        )
    )
    problem = model_problem(model)
    if problem is not None:
        sb.warning(f"The real-sentences source needs the pretrained model. {problem}", icon=":material/download:")
        return None
    sents, problems = parse_sentences(sentences_box())
    for p in problems:
        sb.error(p)
    sites = SITES[model]
    if ss.get("rl_site") not in sites:
        ss.rl_site = "attention" if model != "minilm" else "ffn"
    n_layers = N_LAYERS[model]
    if int(ss.get("rl_layer", 0)) > n_layers - 1:
        sb.warning(
            f"{MODEL_LABELS[model].split(':')[0]} has layers 0 to {n_layers - 1}, not {int(ss.rl_layer)}: "
            f"showing layer {n_layers - 1}."
        )
        ss.rl_layer = n_layers - 1
    c1, c2 = sb.columns(2)
    site = c2.selectbox(
        "norm" if model != "minilm" else "LayerNorm",
        list(sites),
        key="rl_site",
        format_func=lambda k: sites[k],
        help="which norm's input is the tensor",
    )
    fixed = site in ("embeddings", "final")
    c1.slider("layer" if model == "minilm" else "block", 0, n_layers - 1, key="rl_layer", disabled=fixed)
    layer = 0 if site == "embeddings" else n_layers - 1 if site == "final" else int(ss.rl_layer)
    spec = real if model == "minilm" else smollm
    sb.caption(f"The input of {spec.ln_name(spec.ln_index(layer, site))}: {spec.SITES[site]}.")
    try:
        batch = real_batch(tuple(sents), layer, site, model)
    except real.RealInputError as e:
        sb.error(f"{e}. Showing the default sentences instead.")
        sents = list(real.DEFAULT_SENTENCES)
        batch = real_batch(tuple(sents), layer, site, model)
    for note in batch.notes:
        sb.warning(note, icon=":material/content_cut:")
    mode = sb.selectbox(
        f"features to show (F = {HIDDEN[model]})",
        list(FEATURE_MODES),
        format_func=lambda k: FEATURE_MODES[k],
        key="rl_feat",
    )
    d1, d2 = sb.columns(2)
    n = int(d1.number_input("how many", 1, MAX_VIEW_F, key="rl_nf"))
    ss.rl_f0 = min(int(ss.get("rl_f0", 0)), HIDDEN[model] - 1)
    start = int(d2.number_input("first (window)", 0, HIDDEN[model] - 1, key="rl_f0", disabled=mode != "window"))
    feats = choose_features(batch.x, batch.mask, str(mode), n, start)
    x, mask = batch.x[..., feats], batch.mask
    s_all = x.shape[1]
    if s_all > MAX_VIEW_S:
        x, mask = x[:, :MAX_VIEW_S], mask[:, :MAX_VIEW_S]
        sb.caption(f"The views show the first {MAX_VIEW_S} of {s_all} token positions.")
    shown = ", ".join(f"f{i}={k}" for i, k in enumerate(feats[:12]))
    more = f", … ({len(feats)} in all)" if len(feats) > 12 else ""
    sb.caption(
        f"Columns are model features {shown}{more}. The pages normalize these {len(feats)} features as the whole "
        f"tensor: a norm over them differs from the model's over all {HIDDEN[model]} (the 'Real model' page has those). "
        "The padding mask is the sentences' own: masked BatchNorm, PowerNorm and the Padding page use it."
    )
    lengths = tuple(int(v) for v in mask.sum(1))
    digest = hashlib.sha256(
        repr((model, tuple(sents), layer, site, tuple(int(k) for k in feats), x.shape)).encode()
    ).hexdigest()[:16]
    tensor = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    ss["_real_tensor"] = (digest, tensor, lengths, batch.tokens)
    b, s, f = tensor.shape
    return TensorConfig("real", b, s, f, upload_digest=digest)


def real_source_tensor(cfg: TensorConfig) -> torch.Tensor:
    """The tensor the real-sentences source put in the session for this config."""
    digest, tensor, _lengths, _tokens = st.session_state["_real_tensor"]
    if digest != cfg.upload_digest:
        raise ValueError("the real-sentences tensor changed: rerun the page")
    return tensor


def source_lengths(shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """The real sentence lengths when the sidebar's source is real sentences of this shape, else None."""
    ss = st.session_state
    held = ss.get("_real_tensor")
    if ss.get("src") != "real" or held is None:
        return None
    _digest, tensor, lengths, _tokens = held
    return lengths if tuple(tensor.shape[:2]) == tuple(shape[:2]) else None


__all__ = [
    "REAL_PARAMS",
    "RealBatch",
    "choose_features",
    "loaded_model",
    "model_problem",
    "parse_sentences",
    "preload_models",
    "real_batch",
    "real_source_controls",
    "real_source_tensor",
    "real_view",
    "sentences_box",
    "source_lengths",
]
