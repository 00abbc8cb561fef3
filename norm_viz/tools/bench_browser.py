"""Browser benchmark: `python -m norm_viz.tools.bench_browser` times the Explorer end to end in headless Chromium against a
bare one-chart Streamlit app (one 3D plotly chart of the same 4×6×8 tensor, a norm select box and three cell inputs)
started beside it, in paired runs, and prints medians: first load, norm switch, cell change, the bytes the server
sends per interaction (websocket frames, counted through the Chrome DevTools protocol), the server's share (first
frame sent to last frame received) and the time the browser cube takes to relight after a click.

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
bb, ss, ff = np.indices((4, 6, 8)).reshape(3, -1)
lit = {"layernorm": (bb == cb) & (ss == cs), "batchnorm": ff == cf, "instancenorm": (bb == cb) & (ff == cf)}[norm]


def cells(sel, color, opacity):
    return go.Scatter3d(x=ff[sel], y=ss[sel], z=bb[sel], mode="markers", opacity=opacity,
                        marker={"size": 9, "color": color, "symbol": "square"})


fig = go.Figure([cells(~lit, "#9AA5B1", 0.12), cells(lit, "#E69F00", 0.9)])
fig.update_layout(title=f"{norm}: cell (b, s, f) = ({cb}, {cs}, {cf})", height=560)
st.plotly_chart(fig, key="chart", config={"plotGlPixelRatio": 1})
"""

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
    ms: float
    bytes: int
    server_ms: float | None


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
        """Do `action`, then wait until the page shows its result (`done`, a JS condition) and the app is idle."""
        self.idle()
        self.page.wait_for_timeout(300)  # let the previous interaction's last frames arrive before counting
        self.frames.reset()
        t = time.perf_counter()
        action()
        self.page.wait_for_function(done, arg=arg, timeout=180_000, polling="raf")
        self.idle()
        self.page.wait_for_function(CHARTS_DRAWN, timeout=180_000, polling="raf")
        ms = (time.perf_counter() - t) * 1e3
        return Sample(ms, self.frames.received, self.frames.server_ms())

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


def _x_is() -> str:
    """The arithmetic's LaTeX source (KaTeX keeps it in an annotation) starts with `x = …` of the expected cell."""
    return """t => [...document.querySelectorAll('.katex-display annotation')]
      .some(a => a.textContent.includes('{gathered}' + t + ' '))"""


def _title_is() -> str:
    return """t => document.querySelector('.st-key-chart .js-plotly-plot')?.layout?.title?.text?.includes(t)"""


def _stats_is() -> str:
    return """t => document.querySelector('.st-key-stats .js-plotly-plot')?.layout?.title?.text?.includes(t)"""


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
    """Per norm of NORM_ORDER: click a cell on the cube, type a cell index, click the norm's small cube; then the
    cube's own relighting time, measured inside the page."""
    from norm_viz.core.table import NORMS

    pg = tab.page
    cube = pg.locator(".nvcube")
    cube.scroll_into_view_if_needed()

    def click_cell(cell: list[int]) -> None:
        at = cube.evaluate("(e, c) => e.__locate('front', c)", cell)
        pg.mouse.click(at["x"], at["y"])

    def click_norm(key: str) -> None:
        cube.locator(f'button[data-norm="{key}"]').click()

    for j, key in enumerate(NORM_ORDER):
        target = [0, 1, j + 2]
        add("app cell change (cube click)", tab.act(partial(click_cell, target), _x_is(), _x(x, target)))
        typed = [0, 3 + j, j + 2]
        add(
            "app cell change (number input)",
            tab.act(_set_number(pg, "s (sequence)", 3 + j), _x_is(), _x(x, typed)),
        )
        add("app norm switch (small cube)", tab.act(partial(click_norm, key), _stats_is(), titles[key]))
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


def report(out: dict[str, list[Any]], n: int, width: int, height: int) -> dict[str, Any]:
    summary: dict[str, Any] = {"runs": n, "viewport": f"{width}x{height}"}
    for name, xs in out.items():
        if xs and isinstance(xs[0], Sample):
            server = [s.server_ms for s in xs if s.server_ms is not None]
            summary[name] = {
                "ms": _median([s.ms for s in xs]),
                "bytes": _median([s.bytes for s in xs]),
                "server_ms": _median(server) if server else None,
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
        f"Explorer vs a bare one-chart app (one 3D plotly chart), headless Chromium {a.size}, medians of {a.runs} paired runs"
    )
    print(f"{'interaction':<34}{'ms':>9}{'bytes':>10}{'server ms':>11}")
    for name, v in summary.items():
        if isinstance(v, dict) and "ms" in v:
            server = v.get("server_ms")
            size = v.get("bytes")
            print(
                f"{name:<34}{v['ms']:>9.0f}{'' if size is None else f'{size:,.0f}':>10}"
                f"{'' if server is None else f'{server:.0f}':>11}"
            )
    print("ratio app / bare: " + ", ".join(f"{k} {r:.2f}×" for k, r in summary["ratios"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
