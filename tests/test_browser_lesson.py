"""The lesson walked as a teacher does on a projector: presentation mode at 1280×720, the arrow keys only (no
sidebar, no menu), each step's question on the first screen, its Reveal showing the answer computed on the page's
numbers; an arrow pressed inside a number field stays in the field. Prints the time each step change took."""

from __future__ import annotations

import re
import time

import pytest
from conftest import page_fixture, wait_for_app
from playwright.sync_api import expect

from norm_viz.classroom.lesson import STEPS, LessonInput
from norm_viz.core.data import make_tensor

pytestmark = pytest.mark.browser

page = page_fixture(1280, 720)


def _at_step(page, k: int) -> None:
    """Wait until the page shows lesson step k (its URL and its question) and its run has finished."""
    step = STEPS[k - 1]
    page.wait_for_function(
        "([p, k]) => location.pathname.replace(/^\\//, '') === p && new URLSearchParams(location.search).get('lesson') === k",
        arg=[step.url_path, str(k)],
        timeout=120_000,
    )
    wait_for_app(page)
    expect(page.locator(".st-key-lesson_question")).to_contain_text(step.question, timeout=60_000)


SETTLED = """() => new Promise(r => { const e = [document, ...[...document.querySelectorAll('*')].map(n => n.shadowRoot).filter(Boolean)]
    .map(d => d.querySelector('.nvcube svg.main')).find(Boolean);
  const h = e && e.getBoundingClientRect().height;
  requestAnimationFrame(() => requestAnimationFrame(() => r(!!e && e.getBoundingClientRect().height === h))); })"""
"""True once the cube's drawing kept its height for two frames (it sizes itself to the room left on the screen)."""


def _bottom(locator) -> float:
    box = locator.bounding_box()
    assert box is not None
    return box["y"] + box["height"]


def _explorer_fits(page, height: int) -> float:
    """On the Explorer step, below the lesson's question: the cube, the norm picker and the cell picker end inside
    the first screen (`height` px). Returns the cube's height."""
    cube = page.locator(".nvcube svg.main").first
    cube.locator("polygon").first.wait_for(timeout=60_000)
    page.wait_for_function(SETTLED, timeout=60_000)
    assert _bottom(page.locator(".st-key-lesson_question")) < _bottom(cube)
    assert _bottom(cube) <= height, (
        f"the cube ends at {_bottom(cube)}, below the first screen ({height})",
        page.evaluate("() => [window.scrollY, document.fonts.status]"),
        _bottom(page.locator(".st-key-lesson_question")),
        page.locator(".nvcube").first.get_attribute("data-height"),
        page.locator(".nvcube").first.get_attribute("data-renders"),
    )
    assert _bottom(page.get_by_role("combobox", name="Normalization")) <= height
    for name in ("b (batch)", "s (sequence)", "f (feature)"):
        assert _bottom(page.get_by_label(name)) <= height, name
    box = cube.bounding_box()
    assert box is not None
    return box["height"]


def test_the_lesson_is_walked_with_the_arrow_keys_in_presentation_mode(page, live_app):
    page.goto(f"{live_app}/start?lesson=1&present=1", timeout=120_000)
    _at_step(page, 1)
    x = make_tensor(4, 6, 8, "normal", 0)  # the pages' default tensor; step 1 uses the start page's, also this one
    times = []
    for k, step in enumerate(STEPS, 1):
        box = page.locator(".st-key-lesson_question")
        # the question is on the first screen, above the page's picture
        bb = box.bounding_box()
        assert bb is not None and bb["y"] + bb["height"] <= 720, f"step {k}: the question ends below the first screen"
        assert page.locator("section[data-testid='stSidebar']").is_hidden()
        if step.url_path == "explorer":  # with the question above it, the picture still fits the first screen
            _explorer_fits(page, 720)
        expect(box).not_to_contain_text("Answer:")  # nothing is given away before the reveal
        box.get_by_text("Reveal").click()
        answer = page.locator(".st-key-lesson_answer")
        if step.uses != "real":  # the reveal is what the lesson module computes on the page's tensor
            want = step.reveal(LessonInput(x, "")).answer
            expect(answer).to_contain_text(f"Answer: {want}", timeout=60_000)
        else:
            expect(answer).to_contain_text(re.compile(r"Answer|not installed"), timeout=120_000)
        wait_for_app(page)
        if step.url_path == "causal":  # an arrow inside a number field moves the cursor, not the lesson
            field = page.get_by_label(re.compile("perturb sequence b"))
            field.click()
            field.press("ArrowRight")
            field.press("ArrowLeft")
            assert "lesson=5" in page.url
            field.blur()
        if k < len(STEPS):
            t0 = time.monotonic()
            page.keyboard.press("ArrowRight")
            _at_step(page, k + 1)
            times.append(time.monotonic() - t0)
            assert "present=1" in page.url, "the lesson's links keep presentation mode"
    # and back one step with the left arrow
    page.keyboard.press("ArrowLeft")
    _at_step(page, len(STEPS) - 1)
    print("lesson step changes (s):", [round(t, 1) for t in times], "total", round(sum(times), 1))


def test_at_1920x1080_the_lessons_explorer_gives_the_cube_40_percent_of_the_height(browser, live_app):
    k = next(i for i, s in enumerate(STEPS, 1) if s.url_path == "explorer")
    ctx = browser.new_context(viewport={"width": 1920, "height": 1080})
    try:
        page = ctx.new_page()
        page.goto(f"{live_app}/explorer?lesson={k}&present=1", timeout=120_000)
        _at_step(page, k)
        assert _explorer_fits(page, 1080) >= 0.4 * 1080
    finally:
        ctx.close()


def test_the_start_page_links_the_lesson(page, live_app):
    page.goto(f"{live_app}/", timeout=120_000)
    wait_for_app(page)
    link = page.get_by_role("link", name=re.compile("minute lesson"))
    expect(link).to_have_count(1)
    link.click()
    _at_step(page, 1)
    assert "present=1" in page.url


def test_a_bad_lesson_value_is_a_notice_not_an_error(page, live_app):
    page.goto(f"{live_app}/padding?lesson=99", timeout=120_000)
    wait_for_app(page)
    expect(page.get_by_text(re.compile("lesson must be from 0"))).to_be_visible()
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    assert page.locator(".st-key-lesson_question").count() == 0
