"""A shared link, opened in a real browser by two 'students', shows the same view (and presentation mode hides the controls)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from conftest import figures, texts, wait_for_app, wait_for_charts
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SHARED = "walkthrough?norm=batchnorm&B=3&S=6&F=8&seed=7&wt_step=2&cb=1&cs=2&cf=3"


def open_view(browser, url: str, **ctx):
    """A new browser context on `url`, once the script has run and every chart is drawn."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, **ctx)
    page = context.new_page()
    page.goto(url, timeout=120_000)
    wait_for_app(page)
    expect(page.get_by_text("Step 3 of 7").first).to_be_visible(timeout=60_000)
    page.wait_for_selector(".katex >> nth=1", timeout=30_000)  # the formulas are typeset
    wait_for_charts(page)
    return context, page


def test_a_shared_link_opens_the_same_view(live_app, browser):
    teacher, page = open_view(browser, f"{live_app}/{SHARED}")
    try:
        text = "\n".join(texts(page))
        assert "Step 3 of 7: Its mean μ" in text
        assert "The mean of the 18 lit values" in text  # BatchNorm over B × S = 3 × 6 tokens
        assert page.locator(".st-key-present").count() == 1, "app.py ran (even on a fresh server's first visit)"
        assert page.locator('[data-testid="stSidebar"]').get_by_text("BatchNorm").count() == 0  # norm is in main
        query = parse_qs(urlparse(page.url).query)
        for k, v in parse_qs(urlparse(SHARED).query).items():
            assert query.get(k) == v, f"the address bar lost {k}"
        charts = figures(page)
        assert charts, "the walkthrough shows a chart"
        student, page2 = open_view(browser, page.url)
        try:
            assert texts(page2) == texts(page)  # every text, formula and widget of the main area
            assert figures(page2) == charts  # and every chart's data and layout
        finally:
            student.close()
    finally:
        teacher.close()


def test_presentation_link_hides_the_controls(live_app, browser):
    ctx, page = open_view(browser, f"{live_app}/{SHARED}&present=1")
    try:
        assert not page.locator('[data-testid="stSidebar"]').is_visible()
        assert not page.locator(".st-key-eps").is_visible()
        assert page.locator(".st-key-norm").is_visible(), "the compact norm picker stays"
        assert page.locator(".st-key-present").is_visible(), "the switch to leave presentation mode stays"
        page.set_viewport_size({"width": 1920, "height": 1080})  # the text grows with the window: a 1080p projector
        size = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
        assert size > 18
    finally:
        ctx.close()
