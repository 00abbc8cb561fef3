"""A shared link, opened in a real browser by two 'students', shows the same view (and presentation mode hides the controls)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from conftest import wait_for_app

pytestmark = pytest.mark.browser

SHARED = "walkthrough?norm=batchnorm&B=3&S=6&F=8&seed=7&wt_step=2&cb=1&cs=2&cf=3"


def open_view(browser, url: str, **ctx):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, **ctx)
    page = context.new_page()
    page.goto(url, timeout=90_000)
    wait_for_app(page)
    page.wait_for_selector("text=Step 3 of 7", timeout=60_000)
    page.wait_for_selector(".katex >> nth=1", timeout=30_000)  # the formulas are drawn
    wait_for_app(page)
    page.wait_for_timeout(1000)
    return context, page


def test_a_shared_link_opens_the_same_view(live_app, browser):
    teacher, page = open_view(browser, f"{live_app}/{SHARED}")
    try:
        main = page.locator('[data-testid="stMain"]')
        text = main.inner_text()
        assert "Step 3 of 7: Its mean μ" in text
        assert "The mean of the 18 lit values" in text  # BatchNorm over B × S = 3 × 6 tokens
        assert page.locator(".st-key-present").count() == 1, "app.py ran (even on a fresh server's first visit)"
        assert page.locator('[data-testid="stSidebar"]').get_by_text("BatchNorm").count() == 0  # norm is in main
        query = parse_qs(urlparse(page.url).query)
        for k, v in parse_qs(urlparse(SHARED).query).items():
            assert query.get(k) == v, f"the address bar lost {k}"
        student, page2 = open_view(browser, page.url)
        try:
            assert page2.locator('[data-testid="stMain"]').inner_text() == text
        finally:
            student.close()
    finally:
        teacher.close()


def test_presentation_link_hides_the_controls(live_app, browser):
    ctx, page = open_view(browser, f"{live_app}/{SHARED}&present=1")
    try:
        assert not page.locator('[data-testid="stSidebar"]').is_visible()
        assert not page.locator(".st-key-norm").is_visible()
        assert page.locator(".st-key-present").is_visible(), "the switch to leave presentation mode stays"
        size = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
        assert size > 18
    finally:
        ctx.close()
