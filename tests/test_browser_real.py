"""The real-sentences source and the real model page in Chromium: typed sentences reach the model, the real
padding mask reaches masked BatchNorm, and the page's slider reruns its experiment. Waits are on conditions."""

from __future__ import annotations

from urllib.parse import quote

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


def test_a_hostile_sentence_renders_as_text_and_fetches_nothing(page, live_app):
    """Issue 18 item 6: a link whose sentence is Markdown for an image and a link shows it as typed; the browser
    asks no other host for anything (every request is recorded) and the page holds no such image or link."""
    hostile = "![x](http://203.0.113.9/track.png) [Session expired: log in again](http://203.0.113.9/)"
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(live_app + "/real-model?rl_text=" + quote(hostile + "\nA second sentence."), timeout=120_000)
    wait_for_app(page, 240)
    main = page.locator('[data-testid="stMain"]')
    expect(main.get_by_text("Batch composition", exact=False)).to_have_count(1, timeout=60_000)
    code = main.locator("code", has_text="![x](http://203.0.113.9/track.png)")
    expect(code.first).to_be_visible()
    assert page.locator("img[src*='203.0.113.9']").count() == 0
    assert page.locator("a[href*='203.0.113.9']").count() == 0
    outside = [u for u in requests if not u.startswith(live_app) and not u.startswith("data:")]
    assert not outside, outside


wide = page_fixture(1280, 720)


def test_the_real_model_table_fits_1280(wide, live_app):
    """At 1280 × 720 the LayerNorm table needs no horizontal scrolling: every column is visible (a static table, so
    the check is its scroll width against its visible width, on the table and on its wrapper)."""
    wide.goto(live_app + "/real-model", timeout=120_000)
    wait_for_app(wide, 240)
    table = wide.locator('[data-testid="stTable"]').first
    table.scroll_into_view_if_needed()
    expect(table).to_be_visible(timeout=60_000)
    wide.wait_for_function("el => el.scrollWidth > 0 && el.clientWidth > 0", arg=table.element_handle(), timeout=60_000)
    sizes = table.evaluate("el => [el, ...el.querySelectorAll('div, table')].map(e => [e.scrollWidth, e.clientWidth])")
    for need, have in sizes:
        assert need <= have + 1, f"the columns need {need} px, the table shows {have} px"


def test_the_powernorm_measurement_is_clicked_drawn_and_fits_1280(wide, live_app):
    """The Measure button runs the like-for-like comparison in the browser: its chart (real text live against the
    shipped image layers) is drawn with no overlapping or clipped text, and its verdict table fits 1280 px."""
    from conftest import wait_for_charts
    from test_browser_overlaps import CLIPPED, OVERLAPS

    wide.goto(live_app + "/real-model?pc_n=32&pc_layer=0&pc_site=attention", timeout=120_000)
    wait_for_app(wide, 240)
    button = wide.get_by_role("button", name="Measure")
    button.scroll_into_view_if_needed()
    rerun(wide, button.click, 240)
    title = wide.locator(".gtitle", has_text="equal values per statistic")
    expect(title).to_have_count(1, timeout=120_000)
    wait_for_charts(wide)
    expect(wide.get_by_text("Verdict:")).to_have_count(1)
    legend = wide.locator(".legendtext").evaluate_all("els => els.map(e => e.textContent)")
    assert any(t.startswith("text: MiniLM layer 0") for t in legend), legend
    assert sum(t.startswith("images: ") for t in legend) >= 3, legend
    expect(wide.locator('[data-testid="stException"]')).to_have_count(0)
    assert wide.evaluate(OVERLAPS) == []
    assert wide.evaluate(CLIPPED) == []
    table = wide.locator('[data-testid="stTable"]').last
    table.scroll_into_view_if_needed()
    expect(table).to_contain_text("text fluctuates")
    sizes = table.evaluate("el => [el, ...el.querySelectorAll('div, table')].map(e => [e.scrollWidth, e.clientWidth])")
    for need, have in sizes:
        assert need <= have + 1, f"the verdict table needs {need} px, it shows {have} px"
