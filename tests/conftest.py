"""Shared fixtures: AppTest runs of the app, decoding of plotly charts, and a live server + Chromium for browser tests."""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def app_test(page: str | None = None, query: dict[str, str] | None = None):
    """An AppTest of app.py that has run once, optionally switched to `page` (e.g. "pages/explorer.py")."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=60)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    if page is not None:
        at.switch_page(page).run()
    return at


def decode(value):
    """plotly 7 encodes arrays as {"dtype", "bdata"}; turn them back into numpy arrays."""
    if isinstance(value, dict) and "bdata" in value:
        arr = np.frombuffer(base64.b64decode(value["bdata"]), value["dtype"])
        return arr.reshape(value["shape"]) if "shape" in value and isinstance(value["shape"], list) else arr
    return value


def charts(at) -> list[dict]:
    """Every plotly chart of an AppTest run, as its figure JSON."""
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def no_exception(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_app():
    """A `streamlit run app.py` server on a free loopback port; yields its base URL."""
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            APP,
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        end = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/_stcore/health", timeout=2)
                break
            except OSError:
                if time.time() > end or proc.poll() is not None:
                    raise RuntimeError("the app did not start") from None
                time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium driven by playwright. Skips where no browser exists; fails in CI (CI=true)."""
    missing = None
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        missing = f"no Chromium at {CHROMIUM} (apt-get install -y chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "the playwright Python package is not installed (pip install -r requirements-dev.txt)"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests must run in CI: {missing}")
        pytest.skip(f"browser test skipped: {missing}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def wait_for_app(page, timeout_s: float = 90) -> None:
    """Wait until Streamlit has finished running the script (no running indicator)."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_s * 1000)
    end = time.time() + timeout_s
    page.wait_for_timeout(500)
    while time.time() < end:
        if page.locator('[data-testid="stStatusWidget"]').count() == 0:
            return
        page.wait_for_timeout(250)
    raise AssertionError("the app kept running for too long")
