"""A shared link opened as the first visit after a server start lands on its page, with no "Page not found".

Streamlit 1.67 runs the very first script run of a server in its legacy pages-folder mode, which knows a page only by
its file name: a link whose url_path differs from the file's stem (/which-layernorm for pages/which_layernorm.py)
showed "Page not found" over the right page. So every page file is named after its url_path.
"""

from pathlib import Path

import pytest
from conftest import ROOT, page_entries, streamlit_server, wait_for_app

NON_DEFAULT = [e for e in page_entries() if not e.default]


@pytest.mark.parametrize("entry", NON_DEFAULT, ids=[e.url_path for e in NON_DEFAULT])
def test_every_page_file_is_named_after_its_url_path(entry):
    assert Path(entry.file).stem == entry.url_path
    assert (Path(ROOT) / entry.file).exists()


@pytest.mark.browser
def test_a_shared_link_as_a_fresh_servers_first_visit_lands_on_its_page(browser, tmp_path):
    # a page whose url_path has a hyphen, opened before any other session has run app.py
    entry = next(e for e in NON_DEFAULT if e.url_path == "which-layernorm")
    with streamlit_server(tmp_path / "streamlit.log") as base:
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        try:
            page.goto(f"{base}/{entry.url_path}?B=2", timeout=120_000)
            wait_for_app(page, 120)
            page.locator("h1").first.wait_for(timeout=60_000)
            assert page.get_by_text("Page not found").count() == 0
            assert page.url.split("?")[0].endswith("/" + entry.url_path)
            assert entry.title.rstrip("?") in page.locator("h1").first.inner_text()
        finally:
            page.close()
