"""In Chromium: the start page and its links, the top navigation at 1280 × 720 (every section visible, every page
two clicks away), and presentation mode on a projector (controls kept, nothing clipped, every text ≥ 18 px)."""

from __future__ import annotations

import pytest
from conftest import nav_link, page_entries, rerun, wait_for_app, wait_for_charts
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SMALL = (1280, 720)
PROJECTOR = (1920, 1080)


@pytest.fixture
def small(browser):
    ctx = browser.new_context(viewport={"width": SMALL[0], "height": SMALL[1]})
    yield ctx.new_page()
    ctx.close()


def open_page(page, url: str) -> None:
    page.goto(url, timeout=120_000)
    wait_for_app(page)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    assert page.get_by_text("Page not found").count() == 0, url


def inside_viewport(page, locator) -> bool:
    """Whether the element is shown and lies wholly inside the window, without scrolling."""
    box = locator.bounding_box()
    w, h = page.viewport_size["width"], page.viewport_size["height"]
    return (
        locator.is_visible()
        and box is not None
        and box["x"] >= 0
        and box["y"] >= 0
        and (box["x"] + box["width"] <= w and box["y"] + box["height"] <= h)
    )


def test_the_start_page_loads_and_its_links_lead_to_their_pages(small, live_app):
    open_page(small, live_app + "/")
    expect(small.get_by_role("heading", name="Why do transformers use LayerNorm, not BatchNorm?")).to_be_visible()
    wait_for_charts(small)
    links = small.locator('[data-testid="stMain"] a[data-testid="stPageLink-NavLink"]')
    targets = list(dict.fromkeys(links.nth(i).get_attribute("href") for i in range(links.count())))
    targets = [t for t in targets if "lesson=" not in t]  # the lesson's link opens this page itself, as step 1
    assert set(targets) >= {"explorer", "batch-dependence", "padding", "causal", "train-eval"}
    titles = {e.url_path: e.title for e in page_entries()}
    for href in targets:
        if small.url.rstrip("/") != live_app:
            open_page(small, live_app + "/")
        link = small.locator(f'[data-testid="stMain"] a[data-testid="stPageLink-NavLink"][href="{href}"]').first
        link.scroll_into_view_if_needed()
        rerun(small, link.click)
        small.wait_for_function("p => location.pathname === p", arg=f"/{href}")
        expect(small.locator('[data-testid="stException"]')).to_have_count(0)
        heading = small.locator('[data-testid="stMain"] h1').first
        expect(heading).to_be_visible()
        assert "LayerNorm, not BatchNorm" not in heading.inner_text(), f"{titles[href]}: still the start page"


def test_every_section_is_visible_at_1280x720_and_every_page_is_two_clicks_away(small, live_app):
    open_page(small, live_app + "/")
    entries = page_entries()
    for section in sorted({e.section for e in entries if e.section}):
        assert inside_viewport(small, small.locator('[data-testid="stTopNavSection"]', has_text=section)), section
    for e in (e for e in entries if not e.section):
        assert inside_viewport(small, nav_link(small, e, live_app)), e.title
    for e in entries:  # click through every page as a user does: its section's menu, then the page (≤ 2 clicks)
        link = nav_link(small, e, live_app)
        expect(link).to_be_visible()
        assert inside_viewport(small, link), f"{e.title} is hidden in its menu"
        try:
            rerun(small, link.click)
        except Exception as err:
            raise AssertionError(f"no run finished after clicking {e.title} (/{e.url_path})") from err
        small.wait_for_function("p => location.pathname === p", arg="/" if e.default else f"/{e.url_path}")
        assert small.get_by_text("Page not found").count() == 0, e.url_path
        expect(small.locator('[data-testid="stException"]')).to_have_count(0)
        expect(small.locator('[data-testid="stMain"] h1').first).to_be_visible()


_OVERFLOW = """() => {
  const out = [], w = window.innerWidth;
  for (const el of document.querySelectorAll('[data-testid="stMain"] .katex-display')) {
    const col = el.closest('[data-testid="stColumn"]') || el.closest('[data-testid="stVerticalBlock"]');
    const k = el.querySelector(':scope > .katex').getBoundingClientRect(), c = col.getBoundingClientRect();
    if (k.width > el.clientWidth + 1 || k.right > c.right + 1) out.push(['formula', el.innerText.slice(0, 40), k.width, c.width]);
  }
  for (const el of document.querySelectorAll('[data-testid="stMain"] [data-testid="stElementContainer"]')) {
    const r = el.getBoundingClientRect();
    if (r.width && r.right > w + 1) out.push(['element', el.innerText.slice(0, 40), r.right, w]);
  }
  return out;
}"""


def test_presentation_mode_at_1280x720_keeps_the_controls_and_clips_nothing(small, live_app):
    open_page(small, live_app + "/explorer?present=1")
    wait_for_charts(small)
    small.wait_for_selector(".nv-explorer .nvx-math math", timeout=30_000)  # the chosen cell's arithmetic
    bar = small.locator(".st-key-present_bar")
    for control in (
        bar.get_by_text("Presentation mode"),
        bar.locator('a[data-testid="stPageLink-NavLink"]', has_text="Start"),  # previous
        bar.locator('a[data-testid="stPageLink-NavLink"]', has_text="Which LayerNorm?"),  # next
        small.get_by_role("combobox", name="Normalization"),
        small.locator(".nv-explorer .nvx-cb"),
        small.locator(".nv-explorer .nvx-cs"),
        small.locator(".nv-explorer .nvx-cf"),
    ):
        assert inside_viewport(small, control), control
    for hidden in ('[data-testid="stSidebar"]', ".st-key-eps", ".st-key-gamma", '[data-testid="stTopNav"]'):
        assert not small.locator(hidden).first.is_visible(), hidden
    assert small.evaluate(_OVERFLOW) == []
    # the cube and the chosen cell's arithmetic fit on one screen under the bar that stays on top
    cube = small.locator(".nv-explorer .nvcube")
    cube.scroll_into_view_if_needed()
    top = bar.bounding_box()["height"]
    assert cube.bounding_box()["height"] + top <= SMALL[1]
    formulas = small.locator(".nv-explorer .nvx-math math")
    last = formulas.nth(formulas.count() - 1).bounding_box()
    assert last["y"] + last["height"] - cube.bounding_box()["y"] + top <= SMALL[1]
    # and the bar stays on top when the page scrolls
    small.mouse.wheel(0, 2000)
    small.wait_for_function("() => document.querySelector('[data-testid=\"stMain\"]').scrollTop > 0 || scrollY > 0")
    assert inside_viewport(small, bar.get_by_text("Presentation mode"))


_SMALL_TEXT = """(limit) => {
  const out = [];
  // the main area, and the Explorer's component (its shadow root: its texts are drawn there)
  const roots = [document.querySelector('[data-testid="stMain"]'), ...[...document.querySelectorAll('*')]
    .map((n) => n.shadowRoot).filter((r) => r && r.querySelector('.nv-explorer'))];
  for (const root of roots) {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const t = walker.currentNode, el = t.parentElement;
    if (!el || !t.textContent.replace(/\\u200b/g, '').trim()) continue;
    if (el.closest('.katex-mathml, .modebar, .hoverlayer, [data-testid="stIconMaterial"]')) continue;
    const r = el.getBoundingClientRect(), cs = getComputedStyle(el);
    if (!r.width || !r.height || cs.visibility === 'hidden' || cs.fontFamily.includes('Material')) continue;
    // the Explorer's SVG text is drawn in a scaled viewBox: its size on screen
    if (el.closest('.nvcube')) continue;  // the shared cube's labels (a component of their own, not walked before)
    const m = el instanceof SVGElement && el.closest('.nv-explorer') && el.getScreenCTM();
    const size = parseFloat(cs.fontSize) * (m ? Math.hypot(m.a, m.b) : 1);
    if (size < limit) out.push([t.textContent.trim().slice(0, 30), size]);
  }
  }
  return out;
}"""


@pytest.mark.parametrize("path", ["", "explorer", "walkthrough", "padding", "multi-device", "powernorm"])
def test_presentation_mode_text_is_at_least_18px_on_a_1080p_projector(browser, live_app, path):
    ctx = browser.new_context(viewport={"width": PROJECTOR[0], "height": PROJECTOR[1]})
    page = ctx.new_page()
    try:
        open_page(page, f"{live_app}/{path}?present=1")
        wait_for_charts(page)
        if path == "explorer":  # drawn by its component, not by plotly
            page.locator(".nv-explorer[data-drawn]").wait_for(timeout=60_000)
        # plotly's SVG text, where the page has charts (the start page's cubes are drawn by a component)
        page.wait_for_function(
            "() => !document.querySelector('[data-testid=\"stPlotlyChart\"]')"
            " || document.querySelectorAll('[data-testid=\"stMain\"] text').length > 0"
        )
        assert page.evaluate(_SMALL_TEXT, 18) == []  # every text: widgets, captions, formulas, tick labels, cells
        assert len(page.evaluate(_SMALL_TEXT, 1000)) > 20, "the walk found the page's text"
    finally:
        ctx.close()
