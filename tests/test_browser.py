"""The real thing: the app served by `streamlit run`, driven in Debian's Chromium through playwright.

Every wait is on a condition (a script run finished, a text or a value appeared), never on time.
"""

from __future__ import annotations

import re

import pytest
from conftest import page_fixture, wait_for_app
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


page = page_fixture(1500, 1000)


def test_explorer_draws_the_cube_and_switching_norm_changes_the_statistics(page, live_app):
    page.goto(live_app + "/explorer", timeout=120_000)
    wait_for_app(page)
    page.locator(".nvcube svg.main polygon").first.wait_for(timeout=60_000)  # the cube, drawn in the browser
    expect(page.get_by_text("24 statistics, one per batch × sequence, each over 8 cells")).to_have_count(1)
    expect(page.get_by_text(re.compile(r"matches nn\.LayerNorm\(8\)\(x\): max \|Δ\|"))).to_have_count(1)

    # the norm picker is the Explorer's own select: the switch is drawn in the browser, no rerun to wait for
    page.get_by_role("combobox", name="Normalization").select_option(label="BatchNorm")
    expect(page.get_by_text("8 statistics, one per feature, each over 24 cells")).to_have_count(1, timeout=60_000)
    expect(page.get_by_text("24 statistics, one per batch × sequence")).to_have_count(0)
    expect(page.get_by_text(re.compile(r"matches nn\.BatchNorm1d\(8\)"))).to_have_count(1)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


def test_clicking_a_heatmap_cell_chooses_it(page, live_app):
    page.goto(live_app + "/explorer?norm=instancenorm", timeout=120_000)
    wait_for_app(page)
    heat = page.locator(".nv-explorer svg.nvx-heat")  # the input/output heatmaps, drawn by the Explorer's script
    # the link's view is drawn before the click (a click on the first, default drawing could be redrawn away)
    expect(page.locator(".nv-explorer")).to_have_attribute("data-drawn", re.compile(r"^instancenorm\|"), timeout=60_000)
    heat.scroll_into_view_if_needed()
    expect(page.get_by_label("s (sequence)")).not_to_have_value("4")
    # the third column, fifth row of the input panel: (b, s, f) = (0, 4, 2)
    heat.locator('rect.hc[data-s="4"][data-f="2"]').first.click()
    expect(page.get_by_label("s (sequence)")).to_have_value("4", timeout=60_000)
    expect(page.get_by_label("f (feature)")).to_have_value("2")
    expect(page.get_by_label("b (batch)")).to_have_value("0")
    expect(page.locator(".nv-explorer")).to_have_attribute("data-drawn", "instancenorm|0,4,2")
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


def test_which_layernorm_page_states_the_answer(page, live_app):
    page.goto(live_app + "/which-layernorm", timeout=120_000)
    wait_for_app(page)
    expect(page.get_by_text("Transformers normalize each token over its own features")).to_be_visible(timeout=60_000)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


def test_a_local_teacher_sees_no_developer_toolbar(page, live_app):
    """On localhost (the projector's own machine) Streamlit's "auto" toolbar adds Deploy and developer items; the
    app's config shows the viewer's menu only, which still offers the theme (light or dark)."""
    page.goto(live_app + "/", timeout=120_000)
    wait_for_app(page)
    expect(page.locator('[data-testid="stMainMenu"]')).to_be_visible()
    expect(page.locator('[data-testid="stAppDeployButton"]')).to_have_count(0)
    page.locator('[data-testid="stMainMenu"]').click()
    menu = page.locator('[data-testid="stMainMenuList"]')
    expect(menu.locator('[data-testid="stMainMenuItem-theme-Dark"]')).to_be_visible()
    expect(menu).not_to_contain_text("Clear cache")  # developer items
    expect(menu).not_to_contain_text("Rerun")
