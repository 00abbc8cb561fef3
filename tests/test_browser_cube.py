"""The Explorer's browser cube in Chromium: a click chooses a cell and lights its group at once (checked against
table.lit_box), the page's arithmetic follows (checked against the tensor), a click on a small cube switches the norm
without waiting for the server, the view is never reset by a rerun, and no formula is wider than its column."""

from __future__ import annotations

import pytest
from conftest import page_entries, page_fixture, rerun, wait_for_app, wait_for_charts
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
    wait_for_charts(page)
    cube = page.locator(".nvcube")
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
    """Click the middle of `cell`'s square on a face of the cube, and wait for the rerun that follows."""
    # where the cell is once the page has stopped moving (charts below still drawing can shift the layout): the same
    # place two frames apart
    at = cube.evaluate(
        """(e, [face, cell]) => new Promise(resolve => {
             let last = null;
             const look = () => {
               const p = e.__locate(face, cell);
               if (last && Math.abs(p.x - last.x) < 0.5 && Math.abs(p.y - last.y) < 0.5) resolve(p);
               else { last = p; requestAnimationFrame(() => requestAnimationFrame(look)); }
             };
             look();
           })""",
        [face, list(cell)],
    )
    rerun(page, lambda: page.mouse.click(at["x"], at["y"]))


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
        # the page's arithmetic is the chosen cell's: x = its input value
        expect(page.locator(".katex-display").first).to_contain_text(fmt(float(x[target]), 4).replace("-", "−"))
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


def test_a_small_cube_switches_the_norm_without_a_server_round_trip(page, live_app):
    cube = open_explorer(page, live_app, "?cb=1&cs=2&cf=3")
    assert state(cube)["lit"] == lit_box("layernorm", SHAPE, (1, 2, 3))
    # one synchronous step in the page: click, then read the drawing; no websocket message can arrive in between
    lit = cube.evaluate("""e => { e.querySelector('button[data-norm="batchnorm"]').click(); return e.dataset.lit; }""")
    assert tuple(zip(*[iter(int(v) for v in lit.split(","))] * 2, strict=True)) == lit_box(
        "batchnorm", SHAPE, (1, 2, 3)
    )
    # then the server follows: the statistics and the verdict are BatchNorm's
    expect(page.get_by_text("8 statistics, one per feature, each over 24 cells")).to_have_count(1, timeout=60_000)
    wait_for_app(page)
    expect(page.get_by_role("combobox", name="Normalization")).to_have_value("BatchNorm")
    assert state(cube)["norm"] == "batchnorm" and state(cube)["cell"] == (1, 2, 3)


def test_the_view_survives_cell_changes_norm_switches_and_inputs(page, live_app):
    cube = open_explorer(page, live_app)
    cube.locator('button[data-view="above"]').click()
    assert state(cube)["view"] == "above"
    click_face(page, cube, "front", (0, 3, 6))
    rerun(page, lambda: cube.locator('button[data-norm="instancenorm"]').click())
    expect(page.get_by_text(r"32 statistics, one per batch × feature", exact=False)).to_have_count(1, timeout=60_000)
    # the small cube's click reruns the cube's fragment, which then reruns the whole page for the new norm: wait for
    # that second run too (the norm picker shows it), or typing below races it
    expect(page.get_by_role("combobox", name="Normalization")).to_have_value("InstanceNorm", timeout=60_000)
    wait_for_app(page)
    # a change made in Python (the number input) moves the cube's cell; the view stays
    box = page.get_by_label("b (batch)")
    rerun(page, lambda: (box.fill("2"), box.press("Enter")))
    expect(cube).to_have_attribute("data-cell", "2,3,6", timeout=60_000)
    now = state(cube)
    assert now["view"] == "above" and now["norm"] == "instancenorm"
    assert now["lit"] == lit_box("instancenorm", SHAPE, (2, 3, 6))


@pytest.mark.parametrize("query", ["", "?src=preset&preset=d2l&norm=batchnorm&cb=1"])
def test_no_formula_is_wider_than_its_column_at_1280(page, live_app, query):
    open_explorer(page, live_app, query)
    page.locator(".katex-display").first.wait_for(timeout=60_000)
    # each formula's drawing against the element that holds it (the column's width): nothing sticks out
    spans = page.locator(".katex-display").evaluate_all(
        """es => es.map(e => { const k = e.querySelector('.katex').getBoundingClientRect();
             const c = e.closest('[data-testid="stElementContainer"]').getBoundingClientRect();
             return [k.left - c.left, c.right - k.right]; })"""
    )
    assert spans and all(left >= -1 and right >= -1 for left, right in spans), spans
    if query:  # the D2L example: BatchNorm gives 1 for the second example, and ε is shown
        text = " ".join(page.locator(".katex-display").all_inner_texts())
        assert "ε" in text or "varepsilon" in text
