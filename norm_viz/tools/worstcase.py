"""Worst case per page: `python -m norm_viz.tools.worstcase` runs every page with the largest parameters its URL accepts
(AppTest, in this process) and prints CPU seconds and peak memory per rerun, plus the upload parser's worst files.

The goal (issue 12): no link, widget value or upload costs more than 2 CPU-seconds or 300 MB per rerun.
CPU = process CPU time of one rerun (all threads); peak = the rise of the process's resident high-water mark
during that rerun above its size just before it (VmHWM, reset before each run through /proc/self/clear_refs).
Figures only, never asserted: the machines here are shared and noisy.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
# heavy views in this process, not in a worker process (ui/admission.HEAVY_WORKER): this measures a rerun's whole cost
os.environ.setdefault("NORM_VIZ_HEAVY_WORKER", "0")

ROOT = Path(__file__).resolve().parents[2]
BIG = {"B": "16", "S": "32", "F": "64", "src": "generate"}
"""The sidebar tensor at its largest."""

WORST: dict[str, list[dict[str, str]]] = {
    "explorer": [{**BIG, "norm": n} for n in ("layernorm", "batchnorm", "groupnorm", "masked_batchnorm", "powernorm")],
    "which-layernorm": [BIG],
    "train-eval": [{**BIG, "tr_steps": "200"}],
    "padding": [BIG],
    "causal": [{**BIG, "cz_method": m} for m in ("difference", "jacobian")],
    "batch-dependence": [BIG],
    "multi-device": [{**BIG, "md_k": "16"}],
    "compare": [BIG],
    "placement": [
        {**BIG, "pl_layers": "48", "pl_heads": "64", "pl_wscale": "3.0"},
        {**BIG, "pl_layers": "48", "pl_heads": "1", "pl_wscale": "3.0", "pl_final": "0"},
    ],
    "powernorm": [{"pn_steps": "40", "pn_warm": "40", "pn_B": "16", "pn_S": "32", "pn_F": "16", "pn_gs": "16"}],
    "dyt": [{"dyt_n": "256", "dyt_F": "256", "dyt_alpha": "20"}],
    "custom-axes": [{**BIG, "cx_b": "1", "cx_s": "1", "cx_f": "1", "cx_g": "64"}],
    "equivalences": [{**BIG, "eq_K": "16"}],
    "geometry": [{"geo_F": "3", "geo_n": "400"}],
    "fluctuation": [
        {"fl_sizes": ",".join(str(i) for i in range(1, 257)), "fl_n": "400", "fl_S": "64", "fl_F": "64"},
        {"fl_sizes": "256", "fl_n": "400", "fl_S": "64", "fl_F": "64"},
    ],
    "eps-dtype": [{"ed_eps": "0", "ed_noise": "10", "ed_val": "1000000"}],
    "walkthrough": [{**BIG, "wt_step": "0"}],
    "quiz": [{"qz_seed": "1000000", "qz_i": "10000"}],
    "interview": [{"iv_card": "all"}],
    "export": [{**BIG, "norm": "groupnorm"}],
}
"""For each page (its url_path), the links with the largest values its parameters accept."""


WARM: dict[str, dict[str, str]] = {"causal": {"cz_method": "jacobian"}}
"""Warm-up links other than the defaults: the first forward-mode Jacobian of a process compiles torch's scripted
kernels for dual numbers (1.5-2 CPU-seconds once per server process, not per rerun)."""


@dataclass(frozen=True)
class Cost:
    """One measured rerun."""

    what: str
    cpu_s: float
    wall_s: float
    peak_mb: float
    note: str


def _rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def measure(what: str, fn: Callable[[], str]) -> Cost:
    """CPU seconds, wall seconds and peak resident memory above the start of one call of `fn`."""
    import ctypes
    import gc

    gc.collect()
    with contextlib.suppress(OSError):  # give memory freed by earlier runs back, so that it does not hide a peak
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS (Linux)
    before = _rss_kb("VmRSS")
    c0, t0 = time.process_time(), time.perf_counter()
    note = fn()
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    peak = max(_rss_kb("VmHWM"), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss if before == 0 else 0)
    return Cost(what, cpu, wall, (peak - before) / 1024, note)


def _page_run(url_path: str, query: dict[str, str]) -> Callable[[], str]:
    from streamlit.testing.v1 import AppTest
    from streamlit.util import calc_hash

    def run() -> str:
        import streamlit as st

        st.cache_data.clear()  # every page pays for its own work, as on a fresh server
        st.cache_resource.clear()
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
        for k, v in query.items():
            at.query_params[k] = v
        at._page_hash = calc_hash(url_path)
        at.run()
        shown = [e.value for e in at.exception] or [e.value for e in at.error]
        return "; ".join(str(s)[:90] for s in shown)

    return run


def edges() -> dict[str, list[dict[str, str]]]:
    """The largest links each budget still allows (computed from the cost functions, so they follow any change)."""
    from norm_viz.beyond import fluctuation as fl
    from norm_viz.core import budget
    from norm_viz.questions import causal, placement

    big = (16, 32, 64)
    powers = (1, 2, 4, 8, 16, 32, 64, 128, 256)
    links: dict[str, list[dict[str, str]]] = {"placement": [], "fluctuation": [], "causal": []}

    def layers(heads: int) -> int | None:
        return budget.largest(lambda k: placement.cost(big, k, heads), 1, 48)

    def batches(sizes: tuple[int, ...]) -> int | None:
        return budget.largest(lambda k: fl.cost(sizes, k, 64, 64), 2, 400)

    for heads in (64, 1):
        links["placement"].append({**BIG, "pl_layers": str(layers(heads)), "pl_heads": str(heads), "pl_wscale": "3.0"})
    for sizes in ((256,), powers):
        n = batches(sizes)
        links["fluctuation"].append({"fl_sizes": ",".join(map(str, sizes)), "fl_n": str(n), "fl_S": "64", "fl_F": "64"})
    f = budget.largest(lambda k: causal.jacobian_cost((16, 32, k), len(causal.NORMS)), 1, 64)
    links["causal"].append({**BIG, "F": str(f), "cz_method": "jacobian"})
    return links


def _uploads() -> list[tuple[str, Callable[[], str]]]:
    from norm_viz.core.data import UploadError, parse_upload

    rows = b"1\n" * 1_000_000  # 2 MB, a million one-value rows
    wide = (",".join(["1.5"] * 333_000) + "\n").encode()  # 2 MB, one row of a third of a million values
    npy = _npy_header((1_000, 240)) + b"\0" * 1_920_000  # 240,000 float64 values, under 2 MB
    files = {"csv 10^6 rows": ("rows.csv", rows), "csv 333k columns": ("wide.csv", wide), "npy 240k": ("a.npy", npy)}

    def parse(name: str, data: bytes) -> Callable[[], str]:
        def run() -> str:
            try:
                parse_upload(name, data)
            except UploadError as e:
                return f"refused: {e}"[:90]
            return "accepted"

        return run

    return [(f"upload {k}", parse(*v)) for k, v in files.items()]


def _npy_header(shape: tuple[int, ...]) -> bytes:
    import io

    import numpy as np

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return buf.getvalue()


def _tree_rss_mb() -> float:
    """Resident memory of this process and all its descendants (the export's Chromium), in MB."""
    me = os.getpid()
    parent: dict[int, int] = {}
    rss: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            parent[int(d.name)] = int(fields[1])
            rss[int(d.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            continue
    total, todo = 0, [me]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += [c for c, p in parent.items() if p == pid]
    return total / 2**20


def png_exports(n: int = 3) -> None:
    """CPU time, wall time and peak memory of n exports of the largest cube (16 × 32 × 64), drawn on the server by
    norm_viz.cube.static (the browser cube's own drawing; SVG, and PNG rasterised by Pillow: no browser)."""
    import threading

    from norm_viz.cube import static

    shape, cell = (16, 32, 64), (0, 0, 0)
    ways = {
        "SVG (cube_svg)": lambda: static.cube_svg(shape, "groupnorm", cell, groups=8).encode(),
        "PNG 1600 × 1120 (cube_svg + svg_to_png)": lambda: static.svg_to_png(
            static.cube_svg(shape, "groupnorm", cell, groups=8)
        ),
    }
    print(f"Export of the {' × '.join(map(str, shape))} cube, {n} exports each:")
    for name, fn in ways.items():
        base = _tree_rss_mb()
        peak = [base]
        done = threading.Event()

        def watch(peak: list[float] = peak, done: threading.Event = done) -> None:
            while not done.wait(0.05):
                peak[0] = max(peak[0], _tree_rss_mb())

        t = threading.Thread(target=watch, daemon=True)
        t.start()
        walls, cpus = [], []
        for _ in range(n):
            t0, c0 = time.perf_counter(), time.process_time()
            data = fn()
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
        done.set()
        t.join()
        assert data[:4] in (b"\x89PNG", b"<svg")
        print(
            f"  {name}: wall {', '.join(f'{x:.3f}' for x in walls)} s; CPU {', '.join(f'{x:.3f}' for x in cpus)} s; "
            f"{len(data)} bytes; peak memory above the start {peak[0] - base:.0f} MB"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--page", action="append", help="only these url_paths (repeatable)")
    ap.add_argument("--no-uploads", action="store_true")
    ap.add_argument("--png", action="store_true", help="only time the cube's SVG and PNG exports")
    args = ap.parse_args(argv)
    if args.png:
        png_exports()
        return 0
    sys.path.insert(0, str(ROOT))
    import logging

    logging.getLogger("streamlit").setLevel(logging.ERROR)  # AppTest's "missing ScriptRunContext" lines
    import torch

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    measure("warm-up", _page_run("walkthrough", {}))  # imports of the framework and the page registry
    jobs: list[tuple[str, Callable[[], str]]] = []
    edge = edges()
    for page, queries in WORST.items():
        if args.page and page not in args.page:
            continue
        jobs.append((f"(warm-up of /{page} at its defaults, not shown)", _page_run(page, WARM.get(page, {}))))
        for q in [*queries, *edge.get(page, [])]:
            link = "/" + page + "?" + "&".join(f"{k}={v if len(v) < 30 else v[:27] + '…'}" for k, v in q.items())
            jobs.append((link, _page_run(page, q)))
    if not args.no_uploads and not args.page:
        jobs += _uploads()
    print(f"{'CPU s':>7} {'wall s':>7} {'peak MB':>8}  what (message shown)")
    for what, fn in jobs:
        c = measure(what, fn)
        if what.startswith("(warm-up"):  # the page's modules are imported once per server, not per rerun
            continue
        flag = "  <-- over budget" if c.cpu_s > 2 or c.peak_mb > 300 else ""
        print(
            f"{c.cpu_s:7.2f} {c.wall_s:7.2f} {c.peak_mb:8.1f}  {c.what}{flag}"
            + (f"\n{'':26}{c.note}" if c.note else "")
        )
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
