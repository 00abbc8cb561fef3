"""The real thing: the app served by `streamlit run`, driven in Debian's Chromium through playwright."""

from __future__ import annotations

import re

import pytest

from tests.conftest import wait_for_app

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser, live_app):
    ctx = browser.new_context(viewport={"width": 1500, "height": 1000})
    pg = ctx.new_page()
    yield pg
    ctx.close()


def test_explorer_draws_the_cube_and_switching_norm_changes_the_statistics(page, live_app):
    page.goto(live_app + "/", timeout=120_000)
    wait_for_app(page)
    page.locator(".js-plotly-plot .gl-container canvas").first.wait_for(timeout=60_000)  # the 3D cube drew
    assert page.get_by_text("24 statistics, one per batch × sequence, each over 8 cells").count() == 1
    assert page.get_by_text(re.compile(r"matches nn\.LayerNorm\(8\)\(x\): max \|Δ\|")).count() == 1

    page.get_by_test_id("stSelectbox").filter(has_text="Normalization").click()
    page.get_by_role("option", name="BatchNorm", exact=True).click()
    wait_for_app(page)
    page.get_by_text("8 statistics, one per feature, each over 24 cells").wait_for(timeout=60_000)
    assert page.get_by_text("24 statistics, one per batch × sequence").count() == 0
    assert page.get_by_text(re.compile(r"matches nn\.BatchNorm1d\(8\)")).count() == 1
    assert page.locator('[data-testid="stException"]').count() == 0


def test_clicking_a_heatmap_cell_chooses_it(page, live_app):
    page.goto(live_app + "/?norm=instancenorm", timeout=120_000)
    wait_for_app(page)
    heat = page.locator('[data-testid="stPlotlyChart"]').nth(3)  # cube, overview, statistics, then input/output
    heat.scroll_into_view_if_needed()
    page.wait_for_timeout(1500)
    image = heat.locator(".heatmaplayer image").first  # the input heatmap (8 features × 6 tokens)
    box = image.bounding_box()
    assert box is not None
    # the third column, fifth row: the transparent marker there carries (b, s, f) = (0, 4, 2)
    page.mouse.click(box["x"] + box["width"] * (2.5 / 8), box["y"] + box["height"] * (4.5 / 6))
    wait_for_app(page)
    page.wait_for_function(
        "() => document.querySelector('input[aria-label=\"s (sequence)\"]')?.value === '4'", timeout=60_000
    )
    assert page.get_by_label("f (feature)").input_value() == "2"
    assert page.get_by_label("b (batch)").input_value() == "0"
    assert page.locator('[data-testid="stException"]').count() == 0


def test_which_layernorm_page_states_the_answer(page, live_app):
    page.goto(live_app + "/which-layernorm", timeout=120_000)
    wait_for_app(page)
    page.get_by_text("Transformers normalize each token over its own features").wait_for(timeout=60_000)
    assert page.locator('[data-testid="stException"]').count() == 0
