"""The Explorer's browser cube in Chromium: a click chooses a cell and lights its group at once (checked against
table.lit_box), the page's arithmetic follows (checked against the tensor), a click on a small cube switches the norm
without waiting for the server, the view is never reset by a rerun, and no formula is wider than its column."""

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
"""The Explorer's address: "" while it is the default page (a fresh session gets "page not found" for its name)."""


page = page_fixture(1280, 720)


def open_explorer(page, base: str, query: str = "") -> object:
    page.goto(f"{base}/{EXPLORER}{query}", timeout=120_000)
    wait_for_app(page)
    cube = page.locator(".nv-explorer .nvcube")
    cube.locator("svg.main polygon").first.wait_for(timeout=60_000)
    cube.scroll_into_view_if_needed()
    return cube


def state(cube) -> dict:
    """What the cube shows: norm, chosen cell, lit box ((b0, b1), (s0, s1), (f0, f1)), view."""
    d = cube.evaluate("e => ({...e.dataset})")
    lit = [int(v) for v in d["lit"].split(",")]
    return {
        "norm": d["norm"],
        "cell": tuple(int(v) for v in d["cell"].split(",")),
        "lit": tuple(zip(lit[::2], lit[1::2], strict=True)),
        "view": d["view"],
    }


def click_face(page, cube, face: str, cell: tuple[int, int, int]) -> None:
    """Click the middle of `cell`'s square on a face of the cube; the Explorer redraws in the browser (no rerun)."""
    cube.locator("svg.main").evaluate("e => e.scrollIntoView({block: 'center'})")  # the whole drawing on screen
    at = face_point(cube, face, cell)
    page.mouse.click(at["x"], at["y"])
    expect(page.locator(".nv-explorer")).to_have_attribute("data-drawn", re.compile(rf"\|{','.join(map(str, cell))}$"))


def shown_cell(page) -> tuple[int, int, int]:
    return tuple(int(page.get_by_label(name).input_value()) for name in ("b (batch)", "s (sequence)", "f (feature)"))  # type: ignore[return-value]


def test_clicking_the_cube_chooses_the_cell_and_lights_its_group(page, live_app):
    cube = open_explorer(page, live_app, "?norm=groupnorm&G=2")
    x = make_tensor(*SHAPE, kind="normal", seed=0)
    assert state(cube)["cell"] == (0, 0, 0)
    # the front face sets (s, f), the top (b, s), the side (b, f); the other index is the chosen cell's
    for face, target in [("front", (0, 4, 5)), ("top", (2, 1, 5)), ("side", (3, 1, 2))]:
        click_face(page, cube, face, target)
        now = state(cube)
        assert now["cell"] == target, (face, now)
        assert now["lit"] == lit_box("groupnorm", SHAPE, target, 2)
        expect(page.get_by_label("f (feature)")).to_have_value(str(target[2]), timeout=60_000)
        assert shown_cell(page) == target
        # the arithmetic is the chosen cell's: x = its input value
        expect(page.locator(".nvx-math math").first).to_contain_text(fmt(float(x[target]), 4))
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


def test_a_small_cube_switches_the_norm_without_a_server_round_trip(page, live_app):
    cube = open_explorer(page, live_app, "?cb=1&cs=2&cf=3")
    assert state(cube)["lit"] == lit_box("layernorm", SHAPE, (1, 2, 3))
    # one synchronous step in the page: click, then read the drawing and the statistics; no websocket message can
    # arrive in between, so both were drawn here
    got = cube.evaluate(
        """e => { e.querySelector('button[data-norm="batchnorm"]').click();
                  const root = e.closest('.nv-explorer');
                  return [e.dataset.lit, root.querySelector('.nvx-stats-title').textContent, root.dataset.drawn]; }"""
    )
    lit, title, drawn = got
    assert tuple(zip(*[iter(int(v) for v in lit.split(","))] * 2, strict=True)) == lit_box(
        "batchnorm", SHAPE, (1, 2, 3)
    )
    assert title == "8 statistics, one per feature, each over 24 cells" and drawn == "batchnorm|1,2,3"
    expect(page.get_by_role("combobox", name="Normalization")).to_have_value("batchnorm")
    assert state(cube)["norm"] == "batchnorm" and state(cube)["cell"] == (1, 2, 3)


def test_the_view_survives_cell_changes_norm_switches_and_reruns(page, live_app):
    cube = open_explorer(page, live_app)
    cube.locator('button[data-view="above"]').click()
    assert state(cube)["view"] == "above"
    click_face(page, cube, "front", (0, 3, 6))
    cube.locator('button[data-norm="instancenorm"]').click()
    expect(page.get_by_text(r"32 statistics, one per batch × feature", exact=False)).to_have_count(1, timeout=60_000)
    # the component's own cell input moves the cube's cell
    box = page.get_by_label("b (batch)")
    box.fill("2")
    box.press("Enter")
    expect(cube).to_have_attribute("data-cell", "2,3,6", timeout=60_000)
    # a rerun (a new ε: a new message) keeps the view, the norm and the cell
    eps = page.get_by_role("spinbutton", name="ε (eps)")
    rerun(page, lambda: (eps.fill("0.01"), eps.press("Enter")))
    expect(page.locator(".nvx-math")).to_contain_text("0.01")
    now = state(cube)
    assert now["view"] == "above" and now["norm"] == "instancenorm" and now["cell"] == (2, 3, 6)
    assert now["lit"] == lit_box("instancenorm", SHAPE, (2, 3, 6))


@pytest.mark.parametrize("query", ["", "?src=preset&preset=d2l&norm=batchnorm&cb=1"])
def test_no_formula_is_wider_than_its_column_at_1280(page, live_app, query):
    open_explorer(page, live_app, query)
    if query:  # the link's view is drawn (the first drawing may still be the default cell)
        expect(page.locator(".nv-explorer")).to_have_attribute(
            "data-drawn", re.compile(r"^batchnorm\|1,"), timeout=60_000
        )
    maths = page.locator(".nvx-math math")
    maths.first.wait_for(timeout=60_000)
    # each formula's drawing against its column (the cell part of the Explorer): nothing sticks out
    spans = maths.evaluate_all(
        """es => es.map(e => { const k = e.getBoundingClientRect();
             const c = e.closest('.nvx-cell').getBoundingClientRect();
             return [k.left - c.left, c.right - k.right, e.scrollWidth - e.clientWidth]; })"""
    )
    assert spans and all(left >= -1 and right >= -1 and over <= 1 for left, right, over in spans), spans
    if query:  # the D2L example: BatchNorm gives 1 for the second example, and ε is shown
        text = " ".join(maths.evaluate_all("es => es.map(e => e.textContent)"))
        assert "ε" in text and text.endswith("=1")  # y = 1
