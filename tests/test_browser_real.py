"""The real-sentences source and the real model page in Chromium: typed sentences reach the model, the real
padding mask reaches masked BatchNorm, and the page's slider reruns its experiment. Waits are on conditions."""

from __future__ import annotations

import pytest
from conftest import page_fixture, rerun, wait_for_app
from playwright.sync_api import expect

from norm_viz.real import minilm as real

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(real.available() is not None, reason=f"model not installed: {real.INSTALL}"),
]


page = page_fixture(1500, 1000)


def test_typed_sentences_bring_their_own_padding_mask(page, live_app):
    page.goto(live_app + "/explorer?src=real&norm=masked_batchnorm", timeout=120_000)
    wait_for_app(page, 180)
    lengths = page.locator("input[aria-label^='Sequence lengths (one per sequence']")
    default = real.encode(real.model(), list(real.DEFAULT_SENTENCES)).mask.sum(1).tolist()
    expect(lengths).to_have_attribute("placeholder", ", ".join(map(str, default)), timeout=60_000)
    mine = ["Short one.", "A somewhat longer second sentence, typed in the browser."]
    box = page.locator("[data-testid=stSidebar] textarea").first
    box.fill("\n".join(mine))
    rerun(page, lambda: box.press("Control+Enter"), 180)
    want = real.encode(real.model(), mine).mask.sum(1).tolist()
    expect(lengths).to_have_attribute("placeholder", ", ".join(map(str, want)), timeout=60_000)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


def test_the_composition_slider_reruns_the_experiment(page, live_app):
    page.goto(live_app + "/real-model", timeout=120_000)
    wait_for_app(page, 240)
    expect(page.get_by_text("At the layer 0 · FFN LayerNorm, its masked")).to_have_count(1, timeout=60_000)
    slider = page.get_by_role("slider").first
    slider.focus()
    rerun(page, lambda: slider.press("ArrowRight"), 240)
    expect(page.get_by_text("At the layer 1 · FFN LayerNorm, its masked")).to_have_count(1, timeout=60_000)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
