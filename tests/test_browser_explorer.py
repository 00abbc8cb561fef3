"""The Explorer in Chromium: a norm switch (the accessible select), a click on the cube and a click on a heatmap cell
redraw the statistics, the heatmaps and the arithmetic in the browser with no script run; the URL follows and a
reloaded link restores the norm and the cell; bad input still gets its message.

"No script run" is shown by the server's own messages: after the clicks, one deliberate rerun (ε) is waited for, and
exactly one run has then finished since the page loaded and the browser asked for exactly one (the messages of a run
the clicks had caused would have come first)."""

from __future__ import annotations

import re

import pytest
from conftest import face_point, page_entries, page_fixture, rerun, wait_for_app
from playwright.sync_api import expect

from norm_viz.core.data import make_tensor
from norm_viz.core.numbers import fmt
from norm_viz.core.table import lit_box

pytestmark = pytest.mark.browser

SHAPE = (4, 6, 8)
EXPLORER = next("" if e.default else e.url_path for e in page_entries() if e.file == "pages/explorer.py")

page = page_fixture(1280, 720)


def watch_reruns(page) -> list[str]:
    """What the browser asks of the server over its websocket: the fragment id of every rerun request (BackMsg
    rerun_script; "" for a whole-page run)."""
    from google.protobuf.message import DecodeError
    from streamlit.proto.BackMsg_pb2 import BackMsg

    asked: list[str] = []

    def on_sent(payload) -> None:
        if not isinstance(payload, bytes | bytearray):
            return
        msg = BackMsg()
        try:
            msg.ParseFromString(bytes(payload))
        except DecodeError:
            return
        if msg.WhichOneof("type") == "rerun_script":
            asked.append(msg.rerun_script.fragment_id)

    page.on("websocket", lambda ws: ws.on("framesent", on_sent) if ws.url.endswith("/_stcore/stream") else None)
    return asked


def open_explorer(page, base: str, query: str = ""):
    page.goto(f"{base}/{EXPLORER}{query}", timeout=120_000)
    wait_for_app(page)
    root = page.locator(".nv-explorer")
    root.and_(page.locator("[data-drawn]")).wait_for(timeout=60_000)
    return root


def finished_runs(page) -> int:
    from conftest import _FINISHED_RUNS

    return _FINISHED_RUNS[page]


def locate(page, face: str, cell: tuple[int, int, int]) -> dict:
    """Where `cell` is on a face of the Explorer's cube (the shared renderer's own __locate), once it stops moving."""
    page.locator(".nv-explorer .nvcube svg.main").scroll_into_view_if_needed()
    return face_point(page.locator(".nv-explorer .nvcube"), face, cell)


def test_norm_switch_cube_click_and_heatmap_click_redraw_without_a_script_run(page, live_app):
    sent = watch_reruns(page)
    root = open_explorer(page, live_app)
    x = make_tensor(*SHAPE, kind="normal", seed=0)
    expect(root).to_have_attribute("data-drawn", "layernorm|0,0,0")
    runs, asked = finished_runs(page), len(sent)
    expect(root.locator(".nvx-stats-title")).to_have_text("24 statistics, one per batch × sequence, each over 8 cells")

    # the norm: the accessible select inside the component (keyboard and screen readers), no rerun
    page.get_by_role("combobox", name="Normalization").select_option("batchnorm")
    expect(root).to_have_attribute("data-drawn", "batchnorm|0,0,0")
    expect(root.locator(".nvx-stats-title")).to_have_text("8 statistics, one per feature, each over 24 cells")
    expect(root.locator(".nvx-verdict")).to_contain_text("matches nn.BatchNorm1d(8)")
    # the heatmaps outline the chosen cell's group: feature 0 of every token of batch item 0, in both panels
    expect(root.locator("svg.nvx-heat rect.litc")).to_have_count(2 * SHAPE[1])
    assert "norm=batchnorm" in page.url

    # a click on the cube's front face chooses (s, f) = (4, 5)
    at = locate(page, "front", (0, 4, 5))
    page.mouse.click(at["x"], at["y"])
    expect(root).to_have_attribute("data-drawn", "batchnorm|0,4,5")
    d = root.locator(".nvcube").evaluate("e => ({...e.dataset})")
    lit = [int(v) for v in d["lit"].split(",")]
    assert tuple(zip(lit[::2], lit[1::2], strict=True)) == lit_box("batchnorm", SHAPE, (0, 4, 5))
    expect(root.locator(".nvx-math math").first).to_contain_text(fmt(float(x[0, 4, 5])))
    expect(root.locator(".nvx-cf")).to_have_value("5")
    expect(root.locator(".nvx-group")).to_contain_text("Its group holds 24 cells")

    # a click on a heatmap cell chooses it too
    root.locator('svg.nvx-heat rect.hc[data-s="2"][data-f="3"]').first.click()
    expect(root).to_have_attribute("data-drawn", "batchnorm|0,2,3")
    expect(root.locator(".nvx-math math").first).to_contain_text(fmt(float(x[0, 2, 3])))
    assert re.search(r"[?&]cs=2(&|$)", page.url) and re.search(r"[?&]cf=3(&|$)", page.url)

    # the number inputs of the cell and the batch item are the component's own too
    root.locator(".nvx-cb").fill("3")
    root.locator(".nvx-cb").press("Enter")
    expect(root).to_have_attribute("data-drawn", "batchnorm|3,2,3")
    root.locator(".nvx-item").fill("2")
    root.locator(".nvx-item").press("Enter")
    expect(root.locator("svg.nvx-heat .ptitle").first).to_have_text("input, batch item 2")

    # nothing above asked the server for anything: the one rerun below is the first since the page loaded
    eps = page.get_by_role("spinbutton", name="ε (eps)")
    rerun(page, lambda: (eps.fill("1e-3"), eps.press("Enter")))
    assert finished_runs(page) == runs + 1 and len(sent) == asked + 1
    # and that rerun took the browser's view along (the hidden report): the page stays on BatchNorm, cell (3, 2, 3)
    expect(root).to_have_attribute("data-drawn", "batchnorm|3,2,3")
    expect(root.locator(".nvx-math")).to_contain_text("0.001")
    assert "norm=batchnorm" in page.url and re.search(r"[?&]cb=3(&|$)", page.url)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


def test_a_reloaded_link_restores_the_norm_and_the_cell(page, live_app):
    root = open_explorer(page, live_app)
    page.get_by_role("combobox", name="Normalization").select_option("instancenorm")
    root.locator('svg.nvx-heat rect.hc[data-s="4"][data-f="6"]').first.click()
    expect(root).to_have_attribute("data-drawn", "instancenorm|0,4,6")
    page.reload()
    wait_for_app(page)
    root = page.locator(".nv-explorer")
    expect(root).to_have_attribute("data-drawn", "instancenorm|0,4,6", timeout=60_000)
    expect(page.get_by_role("combobox", name="Normalization")).to_have_value("instancenorm")
    expect(root.locator(".nvx-stats-title")).to_have_text("32 statistics, one per batch × feature, each over 6 cells")


def test_a_row_that_cannot_run_says_why_and_the_others_still_switch(page, live_app):
    root = open_explorer(page, live_app, "?norm=instancenorm&S=1")
    expect(root.locator(".nvx-alert")).to_contain_text("InstanceNorm cannot run on this tensor")
    expect(root.locator(".nvx-alert")).to_contain_text("sequence length = 1")
    expect(root.locator(".nvx-stats-title")).to_be_hidden()
    page.get_by_role("combobox", name="Normalization").select_option("layernorm")
    expect(root).to_have_attribute("data-drawn", "layernorm|0,0,0")
    expect(root.locator(".nvx-alert")).to_have_text("")
    expect(root.locator(".nvx-verdict")).to_contain_text("matches nn.LayerNorm(8)")
    # a malformed padding list is Python's message, next to its box (shown while a masked row is chosen)
    root = open_explorer(page, live_app, "?norm=masked_batchnorm&lengths=1,2")
    expect(page.get_by_text("give one length per sequence: 4 numbers")).to_be_visible()
    page.get_by_role("combobox", name="Normalization").select_option("layernorm")
    expect(page.get_by_text("give one length per sequence: 4 numbers")).to_be_hidden()


def test_presentation_mode_fits_1280x720_and_the_dark_theme_reads(browser, live_app):
    ctx = browser.new_context(viewport={"width": 1280, "height": 720}, color_scheme="dark")
    page = ctx.new_page()
    try:
        root = open_explorer(page, live_app, "?present=1")
        cube = root.locator(".nvcube svg.main")
        box = cube.bounding_box()
        assert box is not None and box["y"] + box["height"] <= 720 + 1
        sel = page.get_by_role("combobox", name="Normalization").bounding_box()
        assert sel is not None and sel["y"] + sel["height"] <= 720
        expect(root.locator(".nvx-more")).to_be_hidden()  # the histogram and the snippet are for reading
        expect(root.locator(".nvcube .multiples")).to_be_hidden()
        # light text on the dark theme, in the component and in its drawn labels
        rgb = root.evaluate("e => getComputedStyle(e).color")
        assert sum(int(v) for v in re.findall(r"\d+", rgb)[:3]) > 3 * 150, rgb
        tick = root.locator("svg.nvx-heat text.tick").first.evaluate("e => getComputedStyle(e).fill")
        assert sum(int(v) for v in re.findall(r"\d+", tick)[:3]) > 3 * 150, tick
    finally:
        ctx.close()


def test_the_largest_tensor_brings_a_rows_output_on_its_first_use(page, live_app):
    """16 × 32 × 64: the first message holds the chosen row's output only; another row is drawn at once (cube,
    statistics, arithmetic) and its output heatmap follows after one rerun that adds that row's output."""
    root = open_explorer(page, live_app, "?B=16&S=32&F=64")
    expect(root.locator("svg.nvx-heat g.out")).to_have_count(1)
    rerun(page, lambda: page.get_by_role("combobox", name="Normalization").select_option("rmsnorm"))
    expect(root).to_have_attribute("data-drawn", "rmsnorm|0,0,0")
    expect(root.locator("svg.nvx-heat g.out")).to_have_count(1, timeout=60_000)
    expect(root.locator(".nvx-math math").last).not_to_contain_text("…")
    expect(root.locator("svg.nvx-heat rect.hc")).to_have_count(2 * 32 * 64)


def test_a_parameter_change_reruns_the_explorer_alone_and_the_url_and_a_shared_link_follow(page, live_app):
    """ε reruns the Explorer's fragment (not the sidebar or the router); the URL takes the new ε with the browser's
    norm and cell, and that link opens the same view; a tensor change still reruns the whole page."""
    asked = watch_reruns(page)
    root = open_explorer(page, live_app)
    page.get_by_role("combobox", name="Normalization").select_option("groupnorm")
    root.locator('svg.nvx-heat rect.hc[data-s="1"][data-f="6"]').first.click()
    expect(root).to_have_attribute("data-drawn", "groupnorm|0,1,6")
    before = len(asked)
    eps = page.get_by_role("spinbutton", name="ε (eps)")
    rerun(page, lambda: (eps.fill("1e-3"), eps.press("Enter")))
    assert len(asked) == before + 1 and asked[-1] != ""  # the fragment's own rerun
    expect(root.locator(".nvx-math")).to_contain_text("0.001")
    expect(root).to_have_attribute("data-drawn", "groupnorm|0,1,6")
    assert re.search(r"[?&]eps=0\.001(&|$)", page.url), page.url
    assert "norm=groupnorm" in page.url and re.search(r"[?&]cs=1(&|$)", page.url) and "cf=6" in page.url
    link = page.url

    # the shared link: another visitor opens the same view, ε included
    other = page.context.new_page()
    try:
        shared = open_explorer(other, link.split(f"/{EXPLORER}")[0], link[link.index("?") :])
        expect(shared).to_have_attribute("data-drawn", "groupnorm|0,1,6")
        expect(other.get_by_role("spinbutton", name="ε (eps)")).to_have_value(re.compile(r"^1e-0?3$"))
        expect(shared.locator(".nvx-math")).to_contain_text("0.001")
    finally:
        other.close()

    # the tensor is the sidebar's: a new seed reruns the whole page and the Explorer shows the new tensor
    seed = page.get_by_label("seed", exact=True)
    rerun(page, lambda: (seed.fill("3"), seed.press("Enter")))
    assert asked[-1] == ""
    x = make_tensor(*SHAPE, kind="normal", seed=3)
    expect(root.locator(".nvx-math math").first).to_contain_text(fmt(float(x[0, 1, 6])))
    assert re.search(r"[?&]seed=3(&|$)", page.url) and re.search(r"[?&]eps=0\.001(&|$)", page.url)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


def test_a_cell_typed_and_committed_with_enter_is_drawn_once_and_an_outside_one_is_clamped(page, live_app):
    """Enter in a number box brings Chromium's own change event and the component's: one redraw, not two (each
    draws the statistics, heatmaps and arithmetic); a number outside the tensor is clamped, in the box too."""
    root = open_explorer(page, live_app)
    root.evaluate(
        """e => { window.__nvDraws = 0; new MutationObserver(ms => { for (const m of ms)
             if (m.attributeName === 'data-drawn') window.__nvDraws++; }).observe(e, {attributes: true}); }"""
    )
    box = root.locator(".nvx-cs")
    box.fill("4")
    box.press("Enter")
    expect(root).to_have_attribute("data-drawn", "layernorm|0,4,0")
    box.press("Tab")  # and leaving the box after Enter changes nothing either
    expect(root.locator(".nvx-cf")).to_be_focused()
    assert page.evaluate("window.__nvDraws") == 1
    box.fill("99")
    box.press("Enter")
    expect(root).to_have_attribute("data-drawn", f"layernorm|0,{SHAPE[1] - 1},0")
    expect(box).to_have_value(str(SHAPE[1] - 1))
    assert page.evaluate("window.__nvDraws") == 2
    assert re.search(rf"[?&]cs={SHAPE[1] - 1}(&|$)", page.url)


def test_the_rows_own_parameters_show_with_their_row_and_hidden_ones_take_no_room(page, live_app):
    """GroupNorm's G appears when GroupNorm is chosen (in the browser, no rerun) and goes with it; a hidden parameter
    (or the hidden view carrier) takes no line in the page: the Explorer starts right under ε, γ, β."""
    root = open_explorer(page, live_app)
    groups, alpha = page.locator(".st-key-nvx_param_G input"), page.locator(".st-key-nvx_param_alpha input")
    expect(groups).to_be_hidden()
    eps_box = page.locator(".st-key-eps").bounding_box()
    top = page.locator(".st-key-nvx").bounding_box()
    assert eps_box and top and top["y"] - (eps_box["y"] + eps_box["height"]) <= 24, (eps_box, top)

    page.get_by_role("combobox", name="Normalization").select_option("groupnorm")
    expect(root).to_have_attribute("data-drawn", "groupnorm|0,0,0")
    expect(groups).to_be_visible()
    expect(alpha).to_be_hidden()
    page.get_by_role("combobox", name="Normalization").select_option("dyt")
    expect(groups).to_be_hidden()
    expect(alpha).to_be_visible()
