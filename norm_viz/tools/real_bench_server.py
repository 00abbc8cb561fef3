"""`python -m norm_viz.tools.real_bench_server`: what the real-model pages cost a live server, per link (prints figures).

Starts `streamlit run app.py` on loopback (OMP_NUM_THREADS=1, as deployed), opens each link in headless Chromium,
waits until Streamlit says the run is over, and reads the server's CPU time (utime + stime of the process, all its
threads) and resident memory from /proc before and after. The server loads both models in the background from its
first script run (norm_viz/ui/real.py preload_models): the first line is the start page's first visit, the second the
preload after it, measured until the server's CPU time stops moving. With --no-preload (NORM_VIZ_PRELOAD=0) the
first visit of each real page pays its model's load instead, so a cold default link is measured twice, cold and warm.
Links run in order on one server, after the button presses of CLICKS (the PowerNorm measurement: the CPU of the
click's rerun; `--clicks-only` stops there). The last measurement opens a heavy link and closes the tab after 1 s, then counts
the CPU the server spends in the next 10 s.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
APP_IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"][data-test-connection-state="CONNECTED"]'
LONG16 = "\n".join(
    f"Sentence {i}: " + "normalization layers rescale the activations of every token in a transformer, " * 3
    for i in range(16)
)
LINKS: list[tuple[str, str]] = [
    ("real-model default (first visit)", "real-model"),
    ("real-model default (warm)", "real-model?rl_layer=0&rm_layer=1"),
    ("real-model?pc_n=512&pc_layer=5&pc_site=attention", "real-model?pc_n=512&pc_layer=5&pc_site=attention"),
    ("real-model, 16 long sentences in rl_text", "real-model?rl_text=" + quote(LONG16)),
    ("modern-llm default (first visit)", "modern-llm"),
    ("modern-llm default, other norms (warm)", "modern-llm?ml_norm=30&ml_ln=3"),
    ("modern-llm, 16 long sentences in rl_text", "modern-llm?rl_text=" + quote(LONG16)),
    (
        "explorer on SmolLM2 block 29, 16 long sentences",
        "explorer?src=real&rl_model=smollm2-135m&rl_layer=29&rl_text=" + quote(LONG16),
    ),
]

CLICKS: list[tuple[str, str]] = [
    ("real-model PowerNorm Measure: layer 2 FFN, 128 sentences", "real-model?pc_layer=2&pc_site=ffn&pc_n=128"),
    ("real-model PowerNorm Measure: layer 5 FFN, 128 sentences", "real-model?pc_layer=5&pc_site=ffn&pc_n=128"),
    ("real-model PowerNorm Measure: layer 5 attention, 128", "real-model?pc_layer=5&pc_site=attention&pc_n=128"),
    ("real-model PowerNorm Measure: layer 0 attention, 32", "real-model?pc_layer=0&pc_site=attention&pc_n=32"),
]
"""Links whose cost is a button press (the PowerNorm measurement, uncached): the CPU of the click's rerun alone."""


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--no-preload", action="store_true", help="NORM_VIZ_PRELOAD=0: the models load on first visit")
    ap.add_argument("--clicks-only", action="store_true", help="only the button presses (CLICKS), not the links")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "NORM_VIZ_PRELOAD": "0" if args.no_preload else "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(base + "_stcore/health", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox", "--disable-gpu"]
            )
            ctx = browser.new_context(viewport={"width": 1280, "height": 720})
            page = ctx.new_page()
            print(f"{'link':56s} {'CPU-s':>6s} {'RSS MB before → after':>22s}")
            c0, r0, t0 = cpu_s(server.pid), rss_mb(server.pid), time.perf_counter()
            page.goto(base + "start", timeout=120_000)
            page.locator(APP_IDLE).wait_for(timeout=120_000)
            c1, r1, wall = cpu_s(server.pid), rss_mb(server.pid), time.perf_counter() - t0
            print(f"{f'start page, first visit ({wall:.1f} s to its end)':56s} {c1 - c0:6.2f} {r0:9.0f} → {r1:6.0f}")
            quiet = 0  # the background load, if any: until three seconds in a row pass with < 0.05 CPU-s each
            while quiet < 3:  # (one quiet second is not enough: reading the 93 MB file can wait on a busy disk)
                c_prev = cpu_s(server.pid)
                time.sleep(1.0)
                quiet = quiet + 1 if cpu_s(server.pid) - c_prev < 0.05 else 0
            c2, r2, wall = cpu_s(server.pid), rss_mb(server.pid), time.perf_counter() - t0
            what = (
                "no preload (NORM_VIZ_PRELOAD=0)"
                if args.no_preload
                else f"model preload, done {wall:.0f} s after start"
            )
            print(f"{what:56s} {c2 - c1:6.2f} {r1:9.0f} → {r2:6.0f} (+{r2 - r1:.0f})", flush=True)
            for name, link in CLICKS:
                page.goto(base + link, timeout=int(args.timeout * 1000))
                page.wait_for_timeout(500)
                page.locator(APP_IDLE).wait_for(timeout=args.timeout * 1000)
                time.sleep(1.0)
                c0, r0 = cpu_s(server.pid), rss_mb(server.pid)
                page.get_by_role("button", name="Measure").click()
                page.wait_for_timeout(500)
                page.locator(APP_IDLE).wait_for(timeout=args.timeout * 1000)
                time.sleep(0.5)
                c1, r1 = cpu_s(server.pid), rss_mb(server.pid)
                print(f"{name:56s} {c1 - c0:6.2f} {r0:9.0f} → {r1:6.0f} (+{r1 - r0:.0f})", flush=True)
            if args.clicks_only:
                browser.close()
                return
            for name, link in LINKS:
                page.goto(base + "start", timeout=120_000)
                page.locator(APP_IDLE).wait_for(timeout=120_000)
                time.sleep(1.0)
                c0, r0 = cpu_s(server.pid), rss_mb(server.pid)
                page.goto(base + link, timeout=int(args.timeout * 1000))
                page.wait_for_timeout(500)
                page.locator(APP_IDLE).wait_for(timeout=args.timeout * 1000)
                time.sleep(0.5)
                c1, r1 = cpu_s(server.pid), rss_mb(server.pid)
                print(f"{name:56s} {c1 - c0:6.2f} {r0:9.0f} → {r1:6.0f} (+{r1 - r0:.0f})", flush=True)
            # a closed tab: open a heavy uncached link, close it after 1 s, count the CPU of the next 10 s
            heavy = "modern-llm?ml_norm=7&rl_text=" + quote(LONG16.replace("Sentence", "Line"))
            tab = ctx.new_page()
            c0 = cpu_s(server.pid)
            tab.goto(base + heavy, timeout=120_000, wait_until="commit")
            time.sleep(1.0)
            tab.close()
            time.sleep(10.0)
            print(f"{'heavy modern-llm link, tab closed after 1 s: next 11 s':56s} {cpu_s(server.pid) - c0:6.2f}")
            browser.close()
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
