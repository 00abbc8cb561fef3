"""An offline classroom network: every page of the app loads without asking any outside host for anything
(no font server for the favicon, no usage statistics), the server itself connects to nothing outside this machine
(at start-up, during page loads, when a cross-origin page knocks), and the settings in .streamlit/config.toml hold."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from urllib.parse import urlparse

import pytest
from conftest import APP, ROOT, nav_link, page_entries, rerun, wait_for_app, wait_for_charts

from norm_viz.tools.bench_browser import server

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
    # issue 18 §7: a browser's messages fit in 4 MB (the app's largest is 1.80 MB); Streamlit's default is 200
    assert config["server"]["maxMessageSize"] <= 4 and config["server"]["maxWidgetStateSize"] <= 4
    assert config["browser"]["serverAddress"] == "localhost"  # no address lookup at start-up (below)


RECORDER = """
import os, socket, sys

_LOG = os.environ["NV_CONNECT_LOG"]
_LOCAL = ("127.", "::1", "0.0.0.0", "::", "localhost", "::ffff:127.")


def _note(kind, target):
    host = str(target[0]) if isinstance(target, tuple) and target else str(target)
    if not host or host.startswith(_LOCAL) or host.startswith("/"):
        return
    with open(_LOG, "a") as f:
        f.write(f"{kind} {target!r}\\n")


_connect, _connect_ex, _sendto = socket.socket.connect, socket.socket.connect_ex, socket.socket.sendto
_gai = socket.getaddrinfo


def connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _note("connect", address)
    return _connect(self, address)


def connect_ex(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _note("connect", address)
    return _connect_ex(self, address)


def sendto(self, data, *args):
    _note("sendto", args[-1])
    return _sendto(self, data, *args)


def getaddrinfo(host, *args, **kwargs):
    _note("getaddrinfo", (host,))
    return _gai(host, *args, **kwargs)


socket.socket.connect, socket.socket.connect_ex, socket.socket.sendto = connect, connect_ex, sendto
socket.getaddrinfo = getaddrinfo
"""
"""A sitecustomize for the server's Python: every connection, datagram or name lookup towards a host other than
this machine is written to $NV_CONNECT_LOG (Python's sockets: requests, urllib, asyncio and Streamlit's own)."""


@pytest.fixture(scope="module")
def recorded_app(tmp_path_factory):
    """`streamlit run app.py` (from the checkout, so .streamlit/config.toml applies) with every outside connection
    attempt of its Python recorded; yields (base URL, the record's path)."""
    d = tmp_path_factory.mktemp("recorded")
    (d / "sitecustomize.py").write_text(RECORDER)
    record = d / "connections.log"
    record.write_text("")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(d), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    env["NV_CONNECT_LOG"] = str(record)
    log = d / "streamlit.log"
    with server(Path(APP), Path(ROOT), log, env) as base:
        # the banner is printed once the server listens: wait for it, so that its lookups (if any) are done
        end = time.monotonic() + 120
        while "localhost:" not in log.read_text():
            assert time.monotonic() < end, log.read_text()[-2000:]
            time.sleep(0.1)
        yield base, record


def test_the_recorder_sees_an_outside_connection(tmp_path):
    """The recorder itself: a Python with it that opens a UDP socket towards 192.0.2.1 (TEST-NET, never routed)
    leaves a line; loopback leaves none."""
    (tmp_path / "sitecustomize.py").write_text(RECORDER)
    record = tmp_path / "c.log"
    code = (
        "import socket\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect(('127.0.0.1', 9)); s.close()\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect(('192.0.2.1', 9)); s.close()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "NV_CONNECT_LOG": str(record)}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)
    assert record.read_text().splitlines() == ["connect ('192.0.2.1', 9)"]


def test_the_server_starts_without_asking_any_outside_host(recorded_app):
    """Issue 18 §8: a headless start asked checkip.amazonaws.com for the external IP ("Did not auto detect external
    IP" offline) and opened a socket towards 8.8.8.8; with browser.serverAddress set it asks nobody."""
    _, record = recorded_app
    assert record.read_text() == ""


def test_a_cross_origin_page_makes_the_server_ask_nobody(recorded_app):
    """A websocket from a foreign page (Origin: another host) is refused, and refusing it asks no outside host:
    Streamlit would look the machine's external IP up to compare (2 s with its event loop blocked, each time anew
    offline); norm_viz/ui/process.py fixes the answer once the app has run."""
    import websockets

    from norm_viz.tools import loadtest as L

    base, record = recorded_app

    async def go():
        s = L.Session(base, "explorer", 0)
        await s.load()  # the app has run once in this process (configure_process)
        await s.close()
        try:
            ws = await websockets.connect(
                "ws" + base[4:] + "/_stcore/stream", subprotocols=["streamlit"], origin="http://evil.example"
            )
        except websockets.InvalidStatus as e:
            return e.response.status_code
        await ws.close()
        return 101

    assert L.run_sync(go()) == 403
    assert record.read_text() == ""


@pytest.mark.browser
def test_page_loads_in_chromium_make_the_server_ask_nobody(browser, recorded_app):
    """Chromium opens the Explorer, the export page and the real-model page on the recorded server: the server's
    Python connects to nothing outside this machine (the browser's own requests: test_a_page_asks_no_outside_host)."""
    base, record = recorded_app
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    ctx.route(outside, lambda route: route.abort())
    page = ctx.new_page()
    try:
        for path in ("/explorer", "/export", "/real-model", "/fluctuation"):
            page.goto(base + path, timeout=120_000)
            wait_for_app(page)
        assert record.read_text() == ""
    finally:
        ctx.close()


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
