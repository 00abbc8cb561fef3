"""Browser benchmark: `python -m norm_viz.tools.bench_browser` times the Explorer end to end in headless Chromium against a
bare one-chart Streamlit app (one plotly heatmap of the same 4×6×8 tensor with the cells that share one mean lit, a
norm select box and three cell inputs; SVG, no WebGL, as the app) started beside it, in paired runs, and prints
medians: first load, norm switch, cell change, the bytes the server sends per interaction (websocket frames, counted
through the Chrome DevTools protocol), the server's share (first frame sent to last frame received), the time from a
click until the statistics and heatmaps are redrawn, the cube's own relighting time, and each figure against issue
20's goals (norm switch and cell change ≤ 0.3× the bare app; click to redrawn ≤ 150 ms).

Two Explorers are understood. One that redraws in the browser marks its root (`.nv-explorer`) with
`data-drawn="<norm key>|<b>,<s>,<f>"` after each redraw: "redrawn" is the click until that attribute names the new
view. One that reruns the page (before issue 20): "redrawn" is the click until the statistics chart shows the new
norm's title and the heatmaps have new data (a norm switch), or the arithmetic shows the new cell (a cell change).
"End to end" waits, after that, until the app is idle and every chart is drawn, for either. It is timed twice: by
this driver from the start of its action (its round trips included: a select box is two clicks, a number box a fill
and a key, a click on the cube a mouse click whose acknowledgement waits for the page's click handler), and inside
the page from the action's last pointerdown/keydown to the frame after the first one in which the new view shows,
the app is idle and every chart is drawn ("e2e pg": what a user waits for, the same way on both apps). Issue 20's
ratio goals are printed for both.

Figures only, never asserted. Needs Debian's chromium (/usr/bin/chromium) and the playwright package.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
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
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"][data-test-connection-state="CONNECTED"]'
"""Streamlit's root element once a script run has finished (the same condition as tests/conftest.wait_for_app)."""

BARE_APP = """
import numpy as np
import plotly.graph_objects as go
import streamlit as st

st.set_page_config(layout="wide")
norm = st.selectbox("Normalization", ["layernorm", "batchnorm", "instancenorm"], key="norm")
c1, c2, c3 = st.columns(3)
cb = c1.number_input("b (batch)", 0, 3, key="cb")
cs = c2.number_input("s (sequence)", 0, 5, key="cs")
cf = c3.number_input("f (feature)", 0, 7, key="cf")
bb, ss, ff = np.indices((4, 6, 8))
lit = {"layernorm": (bb == cb) & (ss == cs), "batchnorm": ff == cf, "instancenorm": (bb == cb) & (ff == cf)}[norm]
z = np.where(lit, 1.0, 0.0).reshape(4 * 6, 8)  # rows: (b, s); columns: f
z[cb * 6 + cs, cf] = 2.0  # the chosen cell
fig = go.Figure(go.Heatmap(z=z, zmin=0, zmax=2, showscale=False, xgap=1, ygap=1,
                           colorscale=[[0, "#E4E7EB"], [0.5, "#E69F00"], [1, "#D55E00"]]))
fig.update_layout(title=f"{norm}: cell (b, s, f) = ({cb}, {cs}, {cf})", height=560,
                  xaxis_title="f", yaxis={"title": "b, s", "autorange": "reversed"})
st.plotly_chart(fig, key="chart")
"""
"""The bare app: one 2D plotly chart (a heatmap, drawn in SVG: the app has no WebGL, and neither does its baseline)."""

CHARTS_DRAWN = """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')].every(c => {
  const gd = c.querySelector('.js-plotly-plot'); return gd && gd._fullLayout && gd.querySelector('.main-svg'); })"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(script: Path, cwd: Path, log_path: Path | None = None, env: dict[str, str] | None = None) -> Iterator[str]:
    """`streamlit run script` on a free loopback port; yields its base URL, stops it afterwards.

    The server's output goes to `log_path` (a file, not a pipe: a pipe nobody reads fills up and blocks the server),
    or to a temporary file; `env` replaces the environment (None: this process's). The tests' live servers start here
    too (tests/conftest.py, tests/test_offline.py)."""
    port = free_port()
    if log_path is None:
        fd, name = tempfile.mkstemp(prefix="bench_browser_", suffix=".log")
        os.close(fd)
        log_path = Path(name)
    cmd = [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true"]
    with open(log_path, "wb") as log:  # the server keeps its own handle
        proc = subprocess.Popen(
            [*cmd, "--server.port", str(port)], cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        end = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(base + "/_stcore/health", timeout=2)
                break
            except OSError:
                if time.monotonic() > end or proc.poll() is not None:
                    tail = log_path.read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"{script} did not start; see {log_path}:\n{tail}") from None
                time.sleep(0.2)  # the health check answers once the server listens
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@dataclass
class Frames:
    """Websocket frames between the page and the server, counted through the DevTools protocol."""

    received: int = 0
    sent_at: list[float] = field(default_factory=list)
    received_at: list[float] = field(default_factory=list)

    def reset(self) -> None:
        self.received, self.sent_at, self.received_at = 0, [], []

    def on_received(self, ev: dict[str, Any]) -> None:
        r = ev["response"]
        data = r.get("payloadData", "")
        self.received += len(base64.b64decode(data)) if r.get("opcode") == 2 else len(data.encode())
        self.received_at.append(time.perf_counter())

    def on_sent(self, ev: dict[str, Any]) -> None:
        self.sent_at.append(time.perf_counter())

    def server_ms(self) -> float | None:
        """First frame sent (the rerun request) to the last frame received (the run's last message)."""
        if not self.sent_at or not self.received_at:
            return None
        return (self.received_at[-1] - self.sent_at[0]) * 1e3


@dataclass
class Sample:
    ms: float  # end to end: the click until the app is idle and every chart drawn
    bytes: int
    server_ms: float | None
    redrawn_ms: float | None = None  # the click until the page shows the new view (see the module's docstring)
    in_page_ms: float | None = None  # the same, timed inside the page: the last pointerdown/keydown until the first
    # animation frame that shows the new view (no driver round trips)
    e2e_in_page_ms: float | None = None  # end to end timed inside the page: the last pointerdown/keydown until the
    # first animation frame in which the new view shows, the app is idle and every chart is drawn


class Tab:
    """One fresh browser context on one app, with its websocket frames counted."""

    def __init__(self, browser: Any, url: str, width: int, height: int) -> None:
        self.ctx = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.ctx.new_page()
        self.frames = Frames()
        cdp = self.ctx.new_cdp_session(self.page)
        cdp.send("Network.enable")
        cdp.on("Network.webSocketFrameReceived", self.frames.on_received)
        cdp.on("Network.webSocketFrameSent", self.frames.on_sent)
        self.url = url

    def load(self, ready: str) -> Sample:
        self.frames.reset()
        t = time.perf_counter()
        self.page.goto(self.url, timeout=180_000)
        self.idle()
        self.page.wait_for_function(ready, timeout=180_000)
        ms = (time.perf_counter() - t) * 1e3
        return Sample(ms, self.frames.received, None)

    def idle(self) -> None:
        self.page.locator(IDLE).wait_for(timeout=180_000)
        self.page.locator('[data-testid="stSkeleton"]').first.wait_for(state="detached", timeout=180_000)

    def act(self, action: Callable[[], None], done: str, arg: Any = None) -> Sample:
        """Do `action`, then wait until the page shows its result (`done`, a JS condition: "redrawn") and then until
        the app is idle with every chart drawn ("end to end")."""
        self.idle()
        self.page.wait_for_timeout(300)  # let the previous interaction's last frames arrive before counting
        self.page.evaluate(MARK_HEAT)
        self.page.evaluate(ARM)
        self.page.evaluate(f"a => ({WATCH_E2E})(({done}), a)", arg)
        self.frames.reset()
        t = time.perf_counter()
        action()
        self.page.wait_for_function(f"a => ({STAMP})(({done})(a))", arg=arg, timeout=180_000, polling="raf")
        redrawn = (time.perf_counter() - t) * 1e3
        # idle, no skeleton and every chart drawn, in one poll (three driver calls in a row added their round trips
        # even where each condition already held: a fixed cost that weighed on the faster side's ratio)
        self.page.wait_for_function(APP_DONE, timeout=180_000, polling="raf")
        ms = (time.perf_counter() - t) * 1e3
        in_page = self.page.evaluate("() => window.__nvT0 === undefined ? null : window.__nvDone - window.__nvT0")
        self.page.wait_for_function("() => window.__nvE2E !== undefined", timeout=180_000, polling="raf")
        e2e = self.page.evaluate("() => window.__nvT0 === undefined ? null : window.__nvE2E - window.__nvT0")
        return Sample(ms, self.frames.received, self.frames.server_ms(), redrawn, in_page, e2e)

    def close(self) -> None:
        self.ctx.close()


def _stats_title(key: str) -> str:
    """The Explorer's statistics chart title for `key` on its default tensor (what a finished norm switch shows)."""
    from norm_viz.core.compute import normalize
    from norm_viz.core.data import make_tensor
    from norm_viz.explore.figures import stats_figure

    return str(stats_figure(normalize(make_tensor(4, 6, 8), key)).layout.title.text)


def _x(x: Any, cell: list[int]) -> str:
    """How the Explorer's arithmetic writes the chosen cell's input value (its first line, x = …)."""
    from norm_viz.core.numbers import tex

    return f"x = {tex(float(x[tuple(cell)]))}"


def _title_is() -> str:
    return """t => document.querySelector('.st-key-chart .js-plotly-plot')?.layout?.title?.text?.includes(t)"""


ARM = """() => {
  if (!window.__nvArmed) {
    window.__nvArmed = true;
    for (const type of ['pointerdown', 'keydown'])
      window.addEventListener(type, () => { if (window.__nvDone === undefined) window.__nvT0 = performance.now(); },
                              {capture: true});
  }
  window.__nvT0 = undefined; window.__nvDone = undefined;
}"""
"""Before an action: time its last pointerdown or keydown inside the page (the click, the option chosen, Enter)."""

STAMP = """ok => { if (ok && window.__nvDone === undefined) window.__nvDone = performance.now(); return ok; }"""
"""Wrapped around a done condition: the first animation frame in which it holds, timed inside the page."""

APP_DONE = f"""() => !!document.querySelector('{IDLE}') && !document.querySelector('[data-testid="stSkeleton"]')
  && ({CHARTS_DRAWN})()"""
"""The app is idle (its script run finished), shows no skeleton and has drawn every chart."""

WATCH_E2E = f"""(done, a) => {{
  window.__nvE2E = undefined;
  const idle = {APP_DONE};
  const look = () => {{
    // the frame after the one that first holds: that frame has been laid out and painted by then
    if (window.__nvT0 !== undefined && done(a) && idle()) {{
      requestAnimationFrame(() => {{ window.__nvE2E = performance.now(); }});
      return;
    }}
    requestAnimationFrame(look);
  }};
  requestAnimationFrame(look);
}}"""
"""Before an action: a watcher in the page that stamps the animation frame after the first one (after the action's
input event) in which the view asked for shows, the app is idle and every chart is drawn, so that frame's layout and
paint are counted: "end to end" without the driver's round
trips (locating, actionability checks, waiting for input acknowledgements), which differ between a select box, a
number box and a click and so between the two apps."""

MARK_HEAT = (
    """() => { const gd = document.querySelector('.st-key-heat .js-plotly-plot'); if (gd) gd.__nvOld = gd.data; }"""
)
"""Before an action: remember the heatmaps' data, so that "redrawn" can wait for new data."""

APP_SHOWS = """a => {
  const find = root => {
    const e = root.querySelector('.nv-explorer');
    if (e) return e;
    for (const h of root.querySelectorAll('*')) if (h.shadowRoot) { const f = find(h.shadowRoot); if (f) return f; }
    return null;
  };
  if (!(window.__nvRoot && window.__nvRoot.isConnected)) window.__nvRoot = find(document);
  const root = window.__nvRoot;
  if (root) return root.dataset.drawn === a.drawn;  // an Explorer that redraws in the browser says what it drew
  if (a.title !== undefined) {  // a norm switch that reruns the page: the new statistics and new heatmap data
    const stats = document.querySelector('.st-key-stats .js-plotly-plot');
    const heat = document.querySelector('.st-key-heat .js-plotly-plot');
    return !!(stats?.layout?.title?.text?.includes(a.title) && heat?._fullLayout && heat.data !== heat.__nvOld);
  }
  return [...document.querySelectorAll('.katex-display annotation')]  // a cell change: the cell's arithmetic
    .some(n => n.textContent.includes('{gathered}' + a.x + ' '));
}"""
"""The Explorer shows the view `a` asks for: a.drawn ("<norm>|<b>,<s>,<f>") on an Explorer that marks its root with
data-drawn; otherwise a.title (the statistics chart's title after a norm switch) or a.x (the arithmetic's first line
after a cell change)."""


def _set_number(page: Any, label: str, value: int) -> Callable[[], None]:
    box = page.get_by_label(label, exact=True)

    def go() -> None:
        box.fill(str(value))
        box.press("Enter")

    return go


def _choose(page: Any, label: str, option: str) -> Callable[[], None]:
    def go() -> None:
        page.get_by_role("combobox", name=label).click()
        page.get_by_role("option", name=option, exact=True).click()

    return go


CUBE_DRAWN = """() => { const h = [...document.querySelectorAll('[data-testid="stBidiComponentIsolated"]')]
  .map(e => e.shadowRoot?.querySelector('.nvcube svg.main polygon')); return h.some(Boolean); }"""

RELIGHT = """(e, [kind, arg]) => {
  const t0 = performance.now();
  if (kind === 'norm') e.querySelector(`button[data-norm="${arg}"]`).click();
  else {
    const at = e.__locate('front', arg);
    e.querySelector('svg.main').dispatchEvent(new MouseEvent('click', {clientX: at.x, clientY: at.y, bubbles: true}));
  }
  return {ms: performance.now() - t0, lit: e.dataset.lit};
}"""


NORM_ORDER = ["batchnorm", "layernorm"]
"""The norms each run switches to, in turn (the Explorer and the bare app both start at LayerNorm)."""

Add = Callable[[str, "Sample | float"], None]


def _bare_interactions(tab: Tab, add: Add) -> None:
    """Per norm of NORM_ORDER: change the cell (a number input), then switch the norm (the select box)."""
    pg = tab.page
    for j, key in enumerate(NORM_ORDER):
        before = "layernorm" if j == 0 else NORM_ORDER[j - 1]
        want = f"{before}: cell (b, s, f) = (0, 0, {j + 1})"
        add("bare cell change", tab.act(_set_number(pg, "f (feature)", j + 1), _title_is(), want))
        want = f"{key}: cell (b, s, f) = (0, 0, {j + 1})"
        add("bare norm switch", tab.act(_choose(pg, "Normalization", key), _title_is(), want))


def _app_interactions(tab: Tab, add: Add, x: Any, titles: dict[str, str]) -> None:
    """Per norm of NORM_ORDER: click a cell on the cube, type a cell index (where the page has the input), click the
    norm's small cube; then the cube's own relighting time, measured inside the page."""
    from norm_viz.core.table import NORMS

    pg = tab.page
    cube = pg.locator(".nvcube")
    cube.scroll_into_view_if_needed()
    typed_input = pg.get_by_label("s (sequence)", exact=True)
    norm = "layernorm"

    def click_cell(at: dict[str, float]) -> None:
        pg.mouse.click(at["x"], at["y"])

    def where(cell: list[int]) -> dict[str, float]:
        """Where the cell is on the cube's front face: found before the timer starts, as a user knows where they
        click (the bare app's box is found by the driver's fill() inside its action: one round trip less)."""
        return dict(cube.evaluate("(e, c) => e.__locate('front', c)", cell))

    def click_norm(key: str) -> None:
        cube.locator(f'button[data-norm="{key}"]').click()

    def shows(cell: list[int], title: str | None = None) -> dict[str, Any]:
        a: dict[str, Any] = {"drawn": f"{norm}|{','.join(map(str, cell))}", "x": _x(x, cell)}
        return a if title is None else {**a, "title": title}

    cell = [0, 0, 0]
    for j, key in enumerate(NORM_ORDER):
        cell = [0, 1, j + 2]
        add("app cell change (cube click)", tab.act(partial(click_cell, where(cell)), APP_SHOWS, shows(cell)))
        if typed_input.count():
            cell = [0, 3 + j, j + 2]
            add(
                "app cell change (number input)",
                tab.act(_set_number(pg, "s (sequence)", 3 + j), APP_SHOWS, shows(cell)),
            )
        norm = key
        add("app norm switch (small cube)", tab.act(partial(click_norm, key), APP_SHOWS, shows(cell, titles[key])))
    for k in list(NORMS)[:4]:
        add("cube relight, norm (ms in page)", cube.evaluate(RELIGHT, ["norm", k])["ms"])
    for c in ([1, 2, 3], [2, 4, 5], [3, 0, 1]):
        add("cube relight, cell (ms in page)", cube.evaluate(RELIGHT, ["cell", c])["ms"])


def run(n: int, width: int, height: int) -> dict[str, list[Any]]:
    """n paired runs: each opens the bare app and the Explorer in fresh contexts (alternating which goes first)."""
    from playwright.sync_api import sync_playwright

    from norm_viz.core.data import make_tensor

    titles = {k: _stats_title(k) for k in NORM_ORDER}
    x = make_tensor(4, 6, 8)
    out: dict[str, list[Any]] = {}

    def add(name: str, s: Sample | float) -> None:
        out.setdefault(name, []).append(s)

    with tempfile.TemporaryDirectory() as tmp:
        bare_script = Path(tmp) / "bare_app.py"
        bare_script.write_text(BARE_APP)
        with (
            server(ROOT / "app.py", ROOT) as app_url,
            server(bare_script, Path(tmp)) as bare_url,
            sync_playwright() as p,
        ):
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            app_ready = f"() => ({CHARTS_DRAWN})() && ({CUBE_DRAWN})()"
            for url, ready in ((app_url + "/explorer", app_ready), (bare_url + "/", CHARTS_DRAWN)):
                tab = Tab(browser, url, width, height)  # warm each server up (imports, caches) once
                tab.load(ready)
                tab.close()
            for i in range(n):
                for which in ("bare", "app") if i % 2 == 0 else ("app", "bare"):
                    if which == "bare":
                        tab = Tab(browser, bare_url + "/", width, height)
                        add("bare first load", tab.load(CHARTS_DRAWN))
                        _bare_interactions(tab, add)
                    else:
                        tab = Tab(browser, app_url + "/explorer", width, height)
                        add("app first load", tab.load(app_ready))
                        _app_interactions(tab, add, x, titles)
                    tab.close()
            browser.close()
    return out


def _median(xs: list[float]) -> float:
    return statistics.median(xs)


GOAL_RATIO = 0.3
"""Issue 20: a norm switch and a cell change take at most 0.3× the bare app's time, end to end."""
GOAL_REDRAWN_MS = 150.0
"""Issue 20: from a click until the statistics and heatmaps are redrawn, at most 150 ms."""


def report(out: dict[str, list[Any]], n: int, width: int, height: int) -> dict[str, Any]:
    summary: dict[str, Any] = {"runs": n, "viewport": f"{width}x{height}"}
    for name, xs in out.items():
        if xs and isinstance(xs[0], Sample):
            server = [s.server_ms for s in xs if s.server_ms is not None]
            redrawn = [s.redrawn_ms for s in xs if s.redrawn_ms is not None]
            in_page = [s.in_page_ms for s in xs if s.in_page_ms is not None]
            e2e = [s.e2e_in_page_ms for s in xs if s.e2e_in_page_ms is not None]
            summary[name] = {
                "ms": _median([s.ms for s in xs]),
                "bytes": _median([s.bytes for s in xs]),
                "server_ms": _median(server) if server else None,
                "redrawn_ms": _median(redrawn) if redrawn else None,
                "in_page_ms": _median(in_page) if in_page else None,
                "e2e_in_page_ms": _median(e2e) if e2e else None,
                "n": len(xs),
            }
        else:
            summary[name] = {"ms": _median([float(x) for x in xs]), "n": len(xs)}
    pairs = [
        ("first load", "app first load", "bare first load"),
        ("cell change (cube click)", "app cell change (cube click)", "bare cell change"),
        ("cell change (number input)", "app cell change (number input)", "bare cell change"),
        ("norm switch (small cube)", "app norm switch (small cube)", "bare norm switch"),
    ]
    summary["ratios"] = {
        label: summary[a]["ms"] / summary[b]["ms"] for label, a, b in pairs if a in summary and b in summary
    }
    summary["ratios_in_page"] = {
        label: summary[a]["e2e_in_page_ms"] / summary[b]["e2e_in_page_ms"]
        for label, a, b in pairs
        if summary.get(a, {}).get("e2e_in_page_ms") and summary.get(b, {}).get("e2e_in_page_ms")
    }
    goals = {}
    for label, r in summary["ratios"].items():
        if label != "first load":
            goals[f"{label}, end to end / bare app"] = (r, GOAL_RATIO, r <= GOAL_RATIO)
    for label, r in summary["ratios_in_page"].items():
        goals[f"{label}, end to end in page / bare app"] = (r, GOAL_RATIO, r <= GOAL_RATIO)
    for name in ("app norm switch (small cube)", "app cell change (cube click)", "app cell change (number input)"):
        v = summary.get(name, {})
        ms = v.get("in_page_ms") if v.get("in_page_ms") is not None else v.get("redrawn_ms")
        if ms is not None:
            goals[f"{name[4:]}, click to redrawn ms (in page)"] = (ms, GOAL_REDRAWN_MS, ms <= GOAL_REDRAWN_MS)
    summary["goals"] = goals
    summary["load_average"] = os.getloadavg()
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5, help="paired runs (fresh browser context each; default 5)")
    ap.add_argument("--size", default="1280x720", help="viewport WIDTHxHEIGHT (default 1280x720)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    a = ap.parse_args(argv)
    try:
        width, height = (int(v) for v in a.size.lower().split("x"))
    except ValueError:
        ap.error(f"--size must look like 1280x720, got {a.size!r}")
    if a.runs < 1:
        ap.error("--runs must be at least 1")
    if not Path(CHROMIUM).exists():
        print(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)", file=sys.stderr)
        return 2
    summary = report(run(a.runs, width, height), a.runs, width, height)
    if a.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(
        f"Explorer vs a bare one-chart app (one plotly heatmap, no WebGL), headless Chromium {a.size},"
        f" medians of {a.runs} paired runs"
    )
    print(f"{'interaction':<34}{'ms':>9}{'e2e pg':>9}{'redrawn':>9}{'in page':>9}{'bytes':>10}{'server ms':>11}")
    for name, v in summary.items():
        if isinstance(v, dict) and "ms" in v:
            server, size = v.get("server_ms"), v.get("bytes")
            redrawn, in_page, e2e = v.get("redrawn_ms"), v.get("in_page_ms"), v.get("e2e_in_page_ms")
            print(
                f"{name:<34}{v['ms']:>9.0f}{'' if e2e is None else f'{e2e:.0f}':>9}"
                f"{'' if redrawn is None else f'{redrawn:.0f}':>9}{'' if in_page is None else f'{in_page:.0f}':>9}"
                f"{'' if size is None else f'{size:,.0f}':>10}{'' if server is None else f'{server:.0f}':>11}"
            )
    print(
        "ms: the driver's action until the app is idle with every chart drawn; e2e pg: the same end, timed inside the"
        " page from the last pointerdown/keydown (no driver round trips); redrawn: until the new view shows, seen by"
        " this driver; in page: the same timed inside the page"
    )
    print("ratio app / bare (end to end): " + ", ".join(f"{k} {r:.2f}×" for k, r in summary["ratios"].items()))
    print(
        "ratio app / bare (end to end in page): "
        + ", ".join(f"{k} {r:.2f}×" for k, r in summary["ratios_in_page"].items())
    )
    print("issue 20's goals:")
    for label, (value, goal, met) in summary["goals"].items():
        unit = "×" if "bare" in label else " ms"
        print(f"  {label}: {value:.2f}{unit} (goal ≤ {goal:g}{unit}): {'met' if met else 'NOT met'}")
    print(f"load average (1, 5, 15 min) at the end: {summary['load_average']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
