"""An offline classroom network: every page of the app loads without asking any outside host for anything
(no font server for the favicon, no usage statistics), and the settings in .streamlit/config.toml hold."""

from __future__ import annotations

import tomllib
from urllib.parse import urlparse

import pytest
from conftest import ROOT, nav_link, page_entries, rerun, wait_for_app, wait_for_charts

LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
ICON_LINK = "document.querySelector(\"link[rel='shortcut icon']\")"
"""The favicon: Streamlit's index.html links ./favicon.png until the script's set_page_config replaces it."""
INLINE = {"data", "blob", "about"}  # no request leaves the browser for these


def outside(url: str) -> bool:
    """Whether fetching `url` would leave this machine."""
    parts = urlparse(url)
    return parts.scheme not in INLINE and parts.hostname not in LOCAL_HOSTS


def test_the_streamlit_settings():
    """Read by `streamlit run app.py`: no usage statistics, the app's 2 MB upload cap, no tracebacks for users."""
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["browser"]["gatherUsageStats"] is False
    assert config["server"]["maxUploadSize"] == 2  # in MB; norm_viz.core.data.parse_upload refuses > 2,000,000 bytes
    assert config["client"]["showErrorDetails"] == "none"  # `false` would still mean "stacktrace"


def test_outside_is_anything_but_this_machine():
    assert outside("https://fonts.gstatic.com/s/i/x.svg") and outside("https://data.streamlit.io/metrics.json")
    assert not any(map(outside, ["http://127.0.0.1:8501/static/x.js", "http://localhost:1/", "data:image/svg+xml,x"]))


@pytest.fixture(scope="module")
def session(browser, live_app):
    """One browser tab on the app whose requests are recorded; any request to an outside host is refused at once.

    The first test opens the app by its URL (index.html, the script bundle, the fonts); the others move to
    their page through the sidebar's links, as a user does, which loads whatever that page needs.
    """
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    requests: list[str] = []
    ctx.on("request", lambda r: requests.append(r.url))
    ctx.route(outside, lambda route: route.abort())  # offline: fail fast instead of waiting for a network
    page = ctx.new_page()
    yield page, requests
    ctx.close()


@pytest.mark.browser
@pytest.mark.parametrize("entry", page_entries(), ids=lambda e: e.url_path)
def test_a_page_asks_no_outside_host(session, live_app, entry):
    page, requests = session
    requests.clear()
    path = "/" if entry.default else f"/{entry.url_path}"  # the default page lives at "/" ("/start": not found)
    if page.url.startswith(live_app):
        rerun(page, nav_link(page, entry, live_app).click)
    else:
        page.goto(live_app + path, timeout=120_000)
        wait_for_app(page)
        assert requests, "no request was recorded at all"
    page.wait_for_function("p => location.pathname === p", arg=path)
    assert page.get_by_text("Page not found").count() == 0
    wait_for_charts(page)
    # the favicon is the app's own (set_page_config's page_icon replaces index.html's ./favicon.png)
    page.wait_for_function(f"() => !{ICON_LINK}.getAttribute('href').startsWith('./')")
    icon = page.evaluate(f"() => {ICON_LINK}.href")
    assert not outside(icon), icon
    assert page.locator('[data-testid="stException"]').count() == 0
    assert [u for u in requests if outside(u)] == [], f"{entry.url_path} asked an outside host"
