"""Benchmark: `python -m norm_viz.bench` prints normalize() vs its torch counterpart per norm, and the
Explorer's rerun time and chart payload. Figures only, never asserted (machines here are noisy).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import torch

from norm_viz.core.compute import _FAST, normalize, reference
from norm_viz.core.data import make_tensor
from norm_viz.core.table import NORMS, default_groups


def _median_ms(fn: Callable[[], object], repeats: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def bench_norms(shape: tuple[int, int, int], repeats: int) -> list[dict[str, float | str]]:
    """normalize() (output + statistics + group structure) vs the torch.nn counterpart, interleaved in one run."""
    x = make_tensor(*shape, kind="normal", seed=0)
    b, s, _ = shape
    g = default_groups(shape[2])
    rows = []
    for key in NORMS:
        if key not in _FAST:
            continue
        mask = torch.ones(b, s, dtype=torch.bool) if NORMS[key].masked else None
        if mask is not None:
            mask[:, s * 3 // 4 :] = False  # a quarter of every sequence is padding
        ours_fn = partial(normalize, x, key, groups=g, mask=mask)
        theirs_fn = partial(reference, x, key, groups=g, mask=mask)
        with torch.no_grad():  # two alternating rounds each; the better median of each side counts
            o1, t1 = _median_ms(ours_fn, repeats), _median_ms(theirs_fn, repeats)
            o2, t2 = _median_ms(ours_fn, repeats), _median_ms(theirs_fn, repeats)
        ours, theirs = min(o1, o2), min(t1, t2)
        rows.append({"norm": key, "normalize_ms": ours, "torch_ms": theirs, "ratio": ours / theirs})
    return rows


def bench_explorer(repeats: int) -> dict[str, float]:
    """AppTest rerun times of the Explorer at its default size, and the bytes of its plotly charts."""
    from streamlit.testing.v1 import AppTest

    app = str(Path(__file__).resolve().parent.parent / "app.py")
    at = AppTest.from_file(app, default_timeout=120)
    at.run()
    same = []
    for _ in range(repeats):
        t = time.perf_counter()
        at.run()
        same.append(time.perf_counter() - t)
    switch = []
    for i in range(repeats):
        at.selectbox(key="norm").select("batchnorm" if i % 2 == 0 else "layernorm")
        t = time.perf_counter()
        at.run()
        switch.append(time.perf_counter() - t)
    cell = []
    for i in range(repeats):
        at.number_input(key="cf").set_value(i % 8)
        t = time.perf_counter()
        at.run()
        cell.append(time.perf_counter() - t)
    sizes = [len(el.proto.spec) for el in at.get("plotly_chart")]
    return {
        "rerun_same_ms": statistics.median(same) * 1e3,
        "rerun_switch_norm_ms": statistics.median(switch) * 1e3,
        "rerun_change_cell_ms": statistics.median(cell) * 1e3,
        "charts": len(sizes),
        "chart_bytes_total": sum(sizes),
        "chart_bytes_largest": max(sizes),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shape", default="8,512,768", help="B,S,F of the compute benchmark")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--skip-app", action="store_true", help="only the compute benchmark")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    shape = tuple(int(v) for v in a.shape.split(","))
    rows = bench_norms(shape, a.repeats)  # type: ignore[arg-type]
    app = None if a.skip_app else bench_explorer(max(5, a.repeats // 2))
    if a.json:
        print(
            json.dumps({"shape": shape, "threads": torch.get_num_threads(), "norms": rows, "explorer": app}, indent=2)
        )
        return 0
    print(
        f"normalize() vs torch counterpart, x = {shape}, float32, CPU, {torch.get_num_threads()} threads, median of {a.repeats}"
    )
    print(f"{'norm':<20}{'normalize ms':>14}{'torch ms':>12}{'ratio':>8}")
    for r in rows:
        print(f"{r['norm']:<20}{r['normalize_ms']:>14.2f}{r['torch_ms']:>12.2f}{r['ratio']:>8.2f}")
    if app:
        print("\nExplorer (AppTest, default 4×6×8 tensor, median):")
        print(f"  rerun, nothing changed   {app['rerun_same_ms']:.1f} ms")
        print(f"  rerun, norm switched     {app['rerun_switch_norm_ms']:.1f} ms")
        print(f"  rerun, cell changed      {app['rerun_change_cell_ms']:.1f} ms")
        print(
            f"  plotly payload           {app['chart_bytes_total']:,} bytes in {app['charts']} charts (largest {app['chart_bytes_largest']:,})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
