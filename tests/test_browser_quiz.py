"""The quiz's grid of cells, clicked and box-selected in Chromium: the cells under the mouse are the ones recorded.

The positions come from plotly's own axes of the drawn chart (each square sits at x = f + b·(F + 1), y = s), so the
test clicks where a student would, and reads back what the page recorded (the "your pick" trace and the count).
"""

from __future__ import annotations

import json

import pytest
from conftest import page_fixture, rerun, wait_for_app, wait_for_charts
from playwright.sync_api import expect

from norm_viz.classroom import quiz

pytestmark = pytest.mark.browser

GRID = '[class*="st-key-_qz_grid_"] .js-plotly-plot'

# The screen position of cell (b, s, f) of the quiz grid, from the drawn chart's axes.
_CELL_XY = """([b, s, f, F]) => {
  const gd = document.querySelector('[class*="st-key-_qz_grid_"] .js-plotly-plot');
  const box = gd.getBoundingClientRect(), xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
  return {x: box.left + xa._offset + xa.l2p(f + b * (F + 1)), y: box.top + ya._offset + ya.l2p(s)};
}"""

# The cells the grid draws as picked: the customdata of its "your pick" trace (plotly 7 may send typed arrays).
_PICKED = """() => {
  const gd = document.querySelector('[class*="st-key-_qz_grid_"] .js-plotly-plot');
  const t = gd._fullData.find(d => (d.name || '').startsWith('your pick'));
  return t ? JSON.stringify(Array.from(t.customdata, r => Array.from(r, Number))) : '[]';
}"""


page = page_fixture(1400, 1000)


def open_question(page, base: str, q: quiz.Question) -> None:
    page.goto(f"{base}/quiz?qz_seed={q.seed}&qz_i={q.index}", timeout=120_000)
    wait_for_app(page)
    page.locator(GRID).scroll_into_view_if_needed()
    wait_for_charts(page)


def picked(page) -> set[tuple[int, int, int]]:
    wait_for_charts(page)
    return {(b, s, f) for b, s, f in json.loads(page.evaluate(_PICKED))}


# Whether plotly's hover (which its click handler reads) is on cell (b, s, f).
_HOVERING = """([b, s, f]) => {
  const gd = document.querySelector('[class*="st-key-_qz_grid_"] .js-plotly-plot');
  return (gd._hoverdata || []).some(p => p.customdata && [b, s, f].every((v, i) => Number(p.customdata[i]) === v));
}"""


def click_cell(page, cell: tuple[int, int, int], f_size: int) -> None:
    """Point at the cell, wait until plotly hovers it (its click handler reads the hover, which it throttles), click."""
    xy = page.evaluate(_CELL_XY, [*cell, f_size])
    page.mouse.move(0, 0)  # from outside the chart, so that the move below is a new hover even on the same cell
    page.mouse.move(xy["x"], xy["y"], steps=3)
    page.wait_for_function(_HOVERING, arg=list(cell), timeout=30_000)
    rerun(page, lambda: page.mouse.click(xy["x"], xy["y"]))


def test_clicking_cells_records_those_cells_and_the_verdict_is_right(page, live_app):
    q = quiz.make_question(1, 4)  # InstanceNorm on (2, 4, 8): one (batch item, feature) column of 4 cells
    assert q.kind == "share_cells" and q.norm == "instancenorm"
    want = sorted(quiz.shared_cells(q))
    assert len(want) == 4
    open_question(page, live_app, q)
    _, _, f = q.shape
    wrong = (0, 0, 0)  # not in the answer: clicked, then clicked again to take it back
    assert wrong not in want
    click_cell(page, wrong, f)
    assert picked(page) == {wrong}
    expect(page.get_by_text("1 cell chosen.", exact=True)).to_be_visible()
    click_cell(page, wrong, f)
    assert picked(page) == set()
    for i, cell in enumerate(want, 1):
        click_cell(page, cell, f)
        assert picked(page) == set(want[:i])
    expect(page.get_by_text(f"{len(want)} cells chosen.", exact=True)).to_be_visible()
    rerun(page, page.get_by_role("button", name="Check").click)
    expect(page.get_by_text("Right — InstanceNorm shares one statistic among 4 cells")).to_be_visible()
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


def test_box_selecting_a_row_records_its_cells_and_a_partial_answer_is_named(page, live_app):
    q = quiz.make_question(1, 1)  # LayerNorm on (2, 3, 12): the 12 features of token (0, 0)
    assert q.kind == "share_cells" and q.norm == "layernorm"
    want = quiz.shared_cells(q)
    open_question(page, live_app, q)
    _, _, f = q.shape
    # drag a flat box from just before cell (0, 0, 2) to just after (0, 0, 7): six cells of the row. Flat boxes are
    # what a student drags along a row, and plotly would widen one into a band over the whole column height.
    a: dict = {}
    z: dict = {}

    def drag() -> None:
        page.mouse.move(a["x"] - 6, a["y"] - 4)
        page.mouse.down()
        page.mouse.move((a["x"] + z["x"]) / 2, a["y"], steps=5)
        page.mouse.move(z["x"] + 6, z["y"] + 4, steps=5)
        page.mouse.up()

    rerun(page, page.get_by_text("drags a box over several").click)  # the mouse's mode: a box, not a click
    wait_for_charts(page)
    a, z = (page.evaluate(_CELL_XY, [0, 0, k, f]) for k in (2, 7))  # the grid may have moved
    rerun(page, drag)
    got = {(0, 0, k) for k in range(2, 8)}
    assert picked(page) == got
    expect(page.get_by_text("6 cells chosen.", exact=True)).to_be_visible()
    rerun(page, page.get_by_role("button", name="Check").click)
    missing = len(want - got)
    expect(page.get_by_text(f"You picked 6 of the {len(want)} cells (missed {missing}:")).to_be_visible()
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
