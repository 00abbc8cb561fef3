"""Export in Chromium: the cube's SVG and PNG are drawn from the view the user chose with the cube's own buttons."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import rerun, wait_for_app
from playwright.sync_api import expect

from norm_viz.core.table import NORMS
from norm_viz.cube import static

pytestmark = pytest.mark.browser


def test_the_cube_files_are_drawn_from_the_view_the_user_clicked(browser, live_app):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = ctx.new_page()
    shape, cell, key = (4, 6, 8), (1, 2, 3), "batchnorm"

    def expected(view: str) -> str:
        title = f"{NORMS[key].label}: the cells that share cell {cell}'s statistic"
        return static.cube_svg(shape, key, cell, title=title, view=view)

    def download(button: str) -> tuple[str, bytes]:
        with page.expect_download(timeout=120_000) as dl:
            page.get_by_role("button", name=button).click()
        return dl.value.suggested_filename, Path(dl.value.path()).read_bytes()

    try:
        page.goto(f"{live_app}/export?norm={key}&cb=1&cs=2&cf=3", timeout=120_000)
        wait_for_app(page)
        cube = page.locator(".nvcube")
        cube.locator("svg.main polygon").first.wait_for(timeout=60_000)
        name, svg = download("This figure as SVG")  # before any click: the view the cube opens with
        assert name.endswith("_cube_right.svg") and svg.decode() == expected("right")
        for view in ("above", "left"):
            rerun(page, lambda v=view: cube.locator(f'button[data-view="{v}"]').click())
            expect(cube).to_have_attribute("data-view", view)
            name, svg = download("This figure as SVG")
            assert name.endswith(f"_cube_{view}.svg"), name
            assert svg.decode() == expected(view), view
        name, png = download("This figure as PNG")
        assert name.endswith("_cube_left.png") and png == static.svg_to_png(expected("left"))
    finally:
        ctx.close()
