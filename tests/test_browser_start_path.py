"""/start opens the start page on a fresh server, with no "Page not found" (Streamlit serves a default page at "/"
only; app.py's hidden alias page runs the same file at /start)."""

from __future__ import annotations

import pytest
from conftest import streamlit_server, wait_for_app

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("path", ["/start", "/start?present=1", "/"])
def test_start_path_opens_the_start_page(browser, tmp_path, path):
    with streamlit_server(tmp_path / "streamlit.log") as base:  # a fresh server: its first run is the link's
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        try:
            page.goto(base + path, timeout=120_000)
            wait_for_app(page, 120)
            page.locator("h1").first.wait_for(timeout=60_000)
            assert "Why do transformers use LayerNorm" in page.locator("h1").first.inner_text()
            assert page.get_by_text("Page not found").count() == 0
            assert page.url.split("?")[0] == base + path.split("?")[0]
            if path != "/":  # the alias is the start page of PAGES: its "next" link follows the same path
                assert page.get_by_role("link", name="Explorer").count() >= 1
        finally:
            page.close()
