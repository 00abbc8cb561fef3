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
