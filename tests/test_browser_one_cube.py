"""One visual language in Chromium: no page asks for WebGL (classroom machines lack it), every cube is the shared
browser cube (norm_viz/cube/), and in presentation mode the Explorer's cube, norm picker and cell picker fit a
1280×720 screen while at 1920×1080 the cube takes at least 40% of the window's height.
"""

from __future__ import annotations

import json

import pytest
from conftest import figures, page_entries, wait_for_app, wait_for_charts
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

# Counts every WebGL context any script of the page asks for (plotly's gl traces, a 3D scene, anything else).
COUNT_WEBGL = """(() => {
  window.__webgl = 0;
  const original = HTMLCanvasElement.prototype.getContext;
  HTMLCanvasElement.prototype.getContext = function (kind, ...rest) {
    if (String(kind).includes("webgl")) window.__webgl += 1;
    return original.call(this, kind, ...rest);
  };
})();"""

CUBE_PAGES = {
    "pages/start.py": 2,
    "pages/explorer.py": 1,
    "pages/which-layernorm.py": 2,
    "pages/compare.py": 1,
    "pages/custom-axes.py": 1,
    "pages/walkthrough.py": 1,
    "pages/quiz.py": 1,
    "pages/export.py": 1,
}
"""The pages that show the tensor as a cube, and how many cubes each shows at its defaults."""

GL_TRACES = ("scatter3d", "mesh3d", "surface", "cone", "streamtube", "volume", "isosurface", "scattergl", "heatmapgl")


def _url(base: str, entry) -> str:
    return base + ("/" if entry.default else f"/{entry.url_path}")


def test_no_page_uses_webgl_and_every_cube_is_the_shared_one(browser, live_app):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.add_init_script(COUNT_WEBGL)
    page = ctx.new_page()
    entries = page_entries()
    assert set(CUBE_PAGES) <= {e.file for e in entries}
    try:
        for entry in entries:
            page.goto(_url(live_app, entry), timeout=120_000)
            wait_for_app(page)
            wait_for_charts(page)
            want = CUBE_PAGES.get(entry.file, 0)
            cubes = page.locator(".nvcube svg.main")
            if want:
                expect(cubes).to_have_count(want, timeout=60_000)
                for i in range(want):
                    cubes.nth(i).locator("polygon").first.wait_for(timeout=60_000)  # drawn by cube.js
            assert page.evaluate("() => window.__webgl") == 0, f"{entry.url_path} asked for a WebGL context"
            # plotly keeps an empty .gl-container in every chart; a WebGL trace would draw its canvases in it
            assert page.locator(".gl-container canvas").count() == 0, entry.url_path
            kinds = {t.get("type", "scatter") for f in figures(page) for t in json.loads(f)["data"]}
            assert not kinds & set(GL_TRACES), (entry.url_path, kinds)
            # no plotly 3D scene draws a cube of its own anywhere: the shared cube is the only one
            assert not any("scene" in json.loads(f)["layout"] for f in figures(page)), entry.url_path
            expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    finally:
        ctx.close()


def _box(locator) -> dict:
    box = locator.bounding_box()
    assert box is not None
    return box


def _open(browser, base: str, path: str, width: int, height: int):
    ctx = browser.new_context(viewport={"width": width, "height": height})
    page = ctx.new_page()
    page.goto(f"{base}/{path}", timeout=120_000)
    wait_for_app(page)
    cube = page.locator(".nvcube svg.main").first
    cube.locator("polygon").first.wait_for(timeout=60_000)
    # the cube sizes itself to the room left in the first screen: wait until it has settled (two equal frames)
    page.wait_for_function(
        """() => new Promise(r => { const e = [...document.querySelectorAll('*')].map(n => n.shadowRoot)
             .filter(Boolean).flatMap(s => [...s.querySelectorAll('svg.main')]).concat(
             [...document.querySelectorAll('svg.main')])[0];
             const h = e && e.getBoundingClientRect().height;
             requestAnimationFrame(() => requestAnimationFrame(() => r(!!e && e.getBoundingClientRect().height === h))); })""",
        timeout=60_000,
    )
    return ctx, page, cube


EXPLORER = next("" if e.default else e.url_path for e in page_entries() if e.file == "pages/explorer.py")


def test_presentation_at_1280x720_shows_cube_norm_and_cell_in_the_first_screen(browser, live_app):
    ctx, page, cube = _open(browser, live_app, f"{EXPLORER}?present=1", 1280, 720)
    try:
        assert _box(cube)["y"] + _box(cube)["height"] <= 720
        assert _box(page.get_by_role("combobox", name="Normalization"))["y"] + 20 <= 720
        for name in ("b (batch)", "s (sequence)", "f (feature)"):
            box = _box(page.get_by_label(name))
            assert box["y"] + box["height"] <= 720, name
        # no small multiples on a projector, and no empty boxes where they were (hidden really hides them)
        assert page.locator(".nvcube .multiples").evaluate("e => getComputedStyle(e).display") == "none"
        assert page.locator(".nvcube .multiples button").first.is_hidden()
    finally:
        ctx.close()
    ctx, page, cube = _open(browser, live_app, "walkthrough?present=1", 1280, 720)
    try:  # the walkthrough's cell chooser is on the page, not in the hidden sidebar
        for name in ("b (batch)", "s (sequence)", "f (feature)"):
            box = _box(page.get_by_label(name))
            assert box["y"] + box["height"] <= 720, name
        assert _box(cube)["y"] + _box(cube)["height"] <= 720
    finally:
        ctx.close()


def test_presentation_at_1920x1080_gives_the_cube_40_percent_and_cell_labels_one_line(browser, live_app):
    ctx, page, cube = _open(browser, live_app, f"{EXPLORER}?present=1", 1920, 1080)
    try:
        assert _box(cube)["height"] >= 0.4 * 1080
        assert _box(cube)["y"] + _box(cube)["height"] <= 1080
        for key in ("cb", "cs", "cf"):  # one line: the label's text is no taller than one line of it
            label = page.locator(f".nv-explorer label:has(.nvx-{key})")
            lines = label.evaluate(
                """e => { const r = document.createRange(); r.setStart(e.firstChild, 0); r.setEnd(e.firstChild, e.firstChild.length);
                         return r.getBoundingClientRect().height / parseFloat(getComputedStyle(e).lineHeight); }"""
            )
            assert lines < 1.5, (key, lines)
    finally:
        ctx.close()


def test_start_shows_no_empty_box_under_its_cubes(browser, live_app):
    ctx, page, _ = _open(browser, live_app, "", 1280, 900)
    try:
        strips = page.locator(".nvcube .multiples")
        expect(strips).to_have_count(2)
        for i in range(2):
            assert strips.nth(i).evaluate("e => getComputedStyle(e).display") == "none"
    finally:
        ctx.close()


def test_the_walkthrough_steps_through_the_shared_cube_and_a_click_follows_another_cell(browser, live_app):
    from conftest import rerun

    from norm_viz.classroom.walkthrough import STEP_KEYS
    from norm_viz.core.table import lit_box

    ctx, page, _ = _open(browser, live_app, "walkthrough?norm=instancenorm", 1280, 900)
    try:
        cube = page.locator(".nvcube")
        expect(cube).to_have_count(1)
        expect(cube).to_have_attribute("data-lit", "")  # step 1: the tensor, nothing lit yet
        cube.evaluate("e => { e.__mark = 'first'; }")  # the same element on every step, not a new cube per step
        rerun(page, page.get_by_role("button", name="Next ▶").click)
        want = lit_box("instancenorm", (4, 6, 8), (0, 0, 0))
        expect(cube).to_have_attribute("data-lit", ",".join(f"{a},{b}" for a, b in want), timeout=60_000)
        at = cube.evaluate("e => e.__locate('front', [0, 4, 6])")  # a click on the front face: token 4, feature 6
        rerun(page, lambda: page.mouse.click(at["x"], at["y"]))
        expect(page.get_by_label("f (feature)")).to_have_value("6", timeout=60_000)
        expect(page.get_by_label("s (sequence)")).to_have_value("4")
        want = ",".join(f"{a},{b}" for a, b in lit_box("instancenorm", (4, 6, 8), (0, 4, 6)))
        expect(cube).to_have_attribute("data-lit", want)
        expect(page.get_by_text("Step 2 of 7", exact=False)).to_be_visible()
        for n in range(3, len(STEP_KEYS) + 1):  # every later step, clicked through as a user does
            rerun(page, page.get_by_role("button", name="Next ▶").click)
            expect(page.get_by_text(f"Step {n} of 7", exact=False)).to_be_visible(timeout=60_000)
            expect(cube).to_have_count(1)  # one shared cube, the same one, still at the chosen cell, its group lit
            assert cube.evaluate("e => e.__mark") == "first", n
            expect(cube).to_have_attribute("data-cell", "0,4,6")
            expect(cube).to_have_attribute("data-lit", want)
            assert cube.locator("svg.main polygon.lit").count() > 0, n
            line = page.locator('[data-testid="stPlotlyChart"]')  # the step's own picture, under the cube
            expect(line).to_have_count(1)
            assert _box(line)["y"] >= _box(cube.locator("svg.main"))["y"] + _box(cube.locator("svg.main"))["height"] - 1
        expect(page.get_by_role("button", name="Next ▶")).to_be_disabled()
    finally:
        ctx.close()
