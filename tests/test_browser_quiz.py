"""The quiz answered on the shared cube in Chromium: a click on a face of the cube marks (or unmarks) the cell under
the mouse, and the page records exactly those cells, checks them and then lights the right answer on the same cube.

The positions come from the cube's own geometry (its __locate, the function its click handler inverts), so the test
clicks where a student would, and reads back what the page recorded (the cube's marks and the count under it).
"""

from __future__ import annotations

import json

import pytest
from conftest import face_point, page_fixture, rerun, wait_for_app
from playwright.sync_api import expect

from norm_viz.classroom import quiz

pytestmark = pytest.mark.browser

page = page_fixture(1400, 1000)


def open_question(page, base: str, q: quiz.Question):
    page.goto(f"{base}/quiz?qz_seed={q.seed}&qz_i={q.index}", timeout=120_000)
    wait_for_app(page)
    cube = page.locator(".nvcube")
    cube.locator("svg.main polygon").first.wait_for(timeout=60_000)
    cube.scroll_into_view_if_needed()
    return cube


def marks(cube) -> set[tuple[int, int, int]]:
    """The cells the cube draws marked (what the page sent it, after the browser's own click)."""
    return {tuple(m) for m in json.loads(cube.evaluate("e => e.dataset.marks"))}  # type: ignore[misc]


def click(page, cube, face: str, cell: tuple[int, int, int]) -> None:
    """Click the middle of `cell`'s square on a face of the cube once the page has stopped moving; wait for the rerun."""
    at = face_point(cube, face, cell)
    rerun(page, lambda: page.mouse.click(at["x"], at["y"]))


def test_clicking_the_cubes_cells_records_those_cells_and_the_verdict_is_right(page, live_app):
    # InstanceNorm on (2, 4, 8): one (batch item, feature) column of 4 cells (found, not named by seed: a row added to
    # the table changes which norm a seed draws)
    q = next(
        q
        for s in range(20_000)
        if (q := quiz.make_question(s, 4)).kind == "share_cells" and q.norm == "instancenorm" and q.shape == (2, 4, 8)
    )
    assert q.kind == "share_cells" and q.norm == "instancenorm"
    want = sorted(quiz.shared_cells(q))
    assert len(want) == 4 and all(c[0] == q.cell[0] for c in want)  # all on the front face's slice through the cell
    cube = open_question(page, live_app, q)
    assert cube.evaluate("e => e.dataset.lit") == "", "the answer is not lit before the check"
    wrong = (q.cell[0], 0, 0)
    assert wrong not in want
    click(page, cube, "front", wrong)  # marked, then clicked again to take it back
    assert marks(cube) == {wrong}
    expect(page.get_by_text("1 cell chosen.", exact=True)).to_be_visible()
    click(page, cube, "front", wrong)
    assert marks(cube) == set()
    for i, cell in enumerate(want, 1):
        click(page, cube, "front", cell)
        assert marks(cube) == set(want[:i])
    expect(page.get_by_text(f"{len(want)} cells chosen.", exact=True)).to_be_visible()
    rerun(page, page.get_by_role("button", name="Check").click)
    expect(page.get_by_text("Right — InstanceNorm shares one statistic among 4 cells")).to_be_visible()
    shown = page.locator(".nvcube")  # the same cube now lights the answer: the column of the question's cell
    expect(shown).to_have_attribute("data-lit", f"{q.cell[0]},{q.cell[0] + 1},0,4,{q.cell[2]},{q.cell[2] + 1}")
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


def test_the_top_and_side_faces_mark_cells_at_other_depths_and_a_partial_answer_is_named(page, live_app):
    # LayerNorm on (2, 3, 12): the 12 features of token (0, 0), cell (0, 0, 4) (found, as above)
    q = next(
        q
        for s in range(20_000)
        if (q := quiz.make_question(s, 1)).kind == "share_cells"
        and q.norm == "layernorm"
        and q.shape == (2, 3, 12)
        and q.cell == (0, 0, 4)
    )
    assert q.kind == "share_cells" and q.norm == "layernorm" and q.cell == (0, 0, 4)
    want = quiz.shared_cells(q)
    cube = open_question(page, live_app, q)
    click(page, cube, "top", (1, 0, 4))  # the top face sets (b, s): batch item 1, the question's feature 4
    click(page, cube, "side", (0, 0, 7))  # the side face sets (b, f): the question's token
    click(page, cube, "front", (0, 0, 2))  # the front face sets (s, f)
    got = {(1, 0, 4), (0, 0, 7), (0, 0, 2)}
    assert marks(cube) == got
    expect(page.get_by_text("3 cells chosen.", exact=True)).to_be_visible()
    rerun(page, page.get_by_role("button", name="Check").click)
    missing = len(want - got)
    expect(page.get_by_text(f"You picked 2 of the {len(want)} cells (missed {missing}:")).to_be_visible()
    expect(page.get_by_text("1 extra: (1, 0, 4)")).to_be_visible()
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
