"""The training lab in Chromium: pressing Train shows the progress bar moving, and Stop interrupts the run, which is
kept as a stopped run (its partial curve and a line in the session's table). Waits on conditions only."""

from __future__ import annotations

import re

import pytest
from conftest import page_fixture, wait_for_app
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


page = page_fixture(1400, 1000)


def test_progress_is_visible_and_stop_keeps_the_partial_run(page, live_app):
    page.goto(live_app + "/", timeout=120_000)  # a fresh server's first load of a non-default URL can miss its page
    wait_for_app(page, 180)
    # a long run of a tiny model: long enough to be stopped, light enough for a loaded machine
    page.goto(live_app + "/train-lm?tl_steps=3000&tl_width=32&tl_layers=1&tl_batch=4", timeout=120_000)
    wait_for_app(page, 180)
    page.locator(".st-key-tl_train button").click()
    progress = page.get_by_test_id("stProgress")
    expect(progress.get_by_text(re.compile(r"step \d+ of 3000"))).to_be_visible(timeout=120_000)
    expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible(timeout=120_000)  # the live loss curve
    first = int(re.search(r"step (\d+) of", progress.inner_text()).group(1))
    page.wait_for_function(  # the bar moves: a later step is shown
        """n => { const m = document.querySelector('[data-testid="stProgress"]')?.innerText.match(/step (\\d+) of/);
                  return m && Number(m[1]) > n; }""",
        arg=first,
        timeout=120_000,
    )
    page.locator(".st-key-tl_stop button").click()  # the page's Stop (Streamlit's own is in the header)
    expect(page.get_by_text(re.compile(r"Training stopped at step \d+ of 3000: you pressed Stop"))).to_be_visible(
        timeout=120_000
    )
    wait_for_app(page, 180)
    expect(page.get_by_test_id("stProgress")).to_have_count(0)
    expect(page.get_by_test_id("stDataFrame").first).to_contain_text("stopped")
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


def test_a_run_over_the_cpu_limit_is_refused_in_the_browser(page, live_app):
    """Pressing Train on a setting estimated above the limit shows the message and starts nothing (no progress bar);
    the shipped results are on the page without any computing."""
    page.goto(live_app + "/train-lm?tl_steps=3000&tl_width=128&tl_layers=6&tl_batch=64", timeout=120_000)
    wait_for_app(page, 180)
    expect(page.get_by_text("Shipped results: every norm")).to_be_visible(timeout=120_000)
    page.locator(".st-key-tl_train button").click()
    expect(page.get_by_text(re.compile("limited to 60 CPU seconds"))).to_be_visible(timeout=120_000)
    wait_for_app(page, 180)
    expect(page.get_by_test_id("stProgress")).to_have_count(0)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
