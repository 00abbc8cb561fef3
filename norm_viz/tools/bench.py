"""Benchmark: `python -m norm_viz.tools.bench` prints, for every row of NORMS, normalize() against the usual call of
its torch counterpart (median time and peak memory, same run), then the Explorer's rerun time and chart payload.
Figures only, never asserted (machines here are noisy).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from norm_viz.core import extra_norms
from norm_viz.core.compute import normalize, reference
from norm_viz.core.data import make_tensor
from norm_viz.core.table import NORMS, default_groups

MEMORY_HOW = (
    "peak memory = the highest total of bytes allocated and not yet freed during one call (its output included), "
    "from the CPU allocator's events recorded by torch.profiler.profile(profile_memory=True)"
)


@dataclass(frozen=True)
class Counterpart:
    """The usual torch call a norm is compared with, and how it reads in code."""

    call: Callable[[], object]
    text: str


def counterpart(key: str, x: Tensor, groups: int, mask: Tensor | None, eps: float = 1e-5) -> Counterpart:
    """The torch call a norm is compared with, built once and then called: the row's torch.nn module as the table
    builds it (Norm.module, the oracle of verify and the training lab's layer); for a row without one, its direct
    formula (masked BatchNorm: nn.BatchNorm1d on x[mask]; PowerNorm; DyT) or its independent reference."""
    _, s, f = x.shape
    norm = NORMS[key]
    if norm.reference is None and norm.make is not None:
        layer = norm.module(f, eps=eps, groups=groups, sequence=s).train()
        return Counterpart(lambda: layer(x, mask), f"NORMS[{key!r}].module(F): {module_text(layer)}")
    if key == "masked_batchnorm" and mask is not None:
        mbn = nn.BatchNorm1d(f, eps=eps).train()

        def masked() -> Tensor:  # the full (B, S, F) result, as normalize() returns it: pads set to 0
            y = torch.zeros_like(x)
            y[mask] = mbn(x[mask])
            return y

        return Counterpart(masked, "y = torch.zeros_like(x); y[mask] = bn(x[mask])")
    if key == "powernorm" and mask is not None:
        return Counterpart(
            lambda: x / torch.sqrt(x[mask].pow(2).mean(0) + eps), "x / torch.sqrt(x[mask].pow(2).mean(0) + eps)"
        )
    if key == "dyt":
        alpha = extra_norms.DYT_ALPHA
        return Counterpart(lambda: torch.tanh(alpha * x), "torch.tanh(alpha * x)")
    return Counterpart(lambda: reference(x, key, eps, groups=groups, mask=mask), "compute.reference(x, key)")


def module_text(layer: nn.Module) -> str:
    """A layer as code reads it: its class and the torch.nn module inside, e.g. 'TokenNorm(LayerNorm)'."""
    inner = [type(m).__name__ for m in layer.children()]
    name = type(layer).__name__
    bases = [c.__name__ for c in type(layer).__mro__[1:] if c.__module__.startswith("torch.nn")]
    if inner:
        return f"{name}({', '.join(inner)})"
    return f"{name} (a {bases[0]})" if bases and bases[0] != "Module" else name


CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.thread_time}
"""wall: elapsed time; cpu: CPU time of the calling thread (with one torch thread: what the call itself costs,
much less sensitive to other processes on a shared machine)."""


def median_ms_pair(
    ours: Callable[[], object],
    theirs: Callable[[], object],
    repeats: int,
    warmup: int = 3,
    clock: Callable[[], float] = time.perf_counter,
) -> tuple[float, float]:
    """Median milliseconds of two calls timed alternately (swapping which goes first), so both see the same noise."""
    for _ in range(warmup):
        ours()
        theirs()
    times: tuple[list[float], list[float]] = ([], [])
    for i in range(repeats):
        for side in (1, 0) if i % 2 else (0, 1):
            t = clock()
            (ours, theirs)[side]()
            times[side].append(clock() - t)
    return statistics.median(times[0]) * 1e3, statistics.median(times[1]) * 1e3


def peak_bytes(fn: Callable[[], object]) -> int | None:
    """The peak of bytes allocated and not yet freed during fn() (its result included); None if unmeasurable."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        out = fn()
        del out
    try:
        events = prof.profiler.kineto_results.events()  # type: ignore[union-attr]
    except AttributeError:  # a torch without this (private) accessor: say so rather than guess
        return None
    allocs = sorted(
        (e.start_ns(), e.nbytes())
        for e in events
        if e.name() == "[memory]" and e.device_type() == torch.autograd.DeviceType.CPU
    )
    now = peak = 0
    for _, n in allocs:
        now += n
        peak = max(peak, now)
    return peak


def bench_norms(
    shape: tuple[int, int, int], repeats: int, clock: str = "wall", keys: list[str] | None = None
) -> list[dict[str, float | str | None]]:
    """For every NORMS row: normalize() (output + statistics) vs the torch counterpart's usual call, same run."""
    b, s, f = shape
    x = make_tensor(b, s, f, kind="normal", seed=0)
    g = default_groups(f)
    rows: list[dict[str, float | str | None]] = []
    for key in keys or list(NORMS):
        norm = NORMS[key]
        mask = None
        if norm.masked:
            mask = torch.ones(b, s, dtype=torch.bool)
            mask[:, s - s // 4 :] = False  # a quarter of every sequence is padding
        theirs = counterpart(key, x, g, mask)

        def ours(key: str = key, mask: Tensor | None = mask) -> object:
            return normalize(x, key, groups=g, mask=mask)

        with torch.no_grad():
            ours_ms, theirs_ms = median_ms_pair(ours, theirs.call, repeats, clock=CLOCKS[clock])
            ours_mem, theirs_mem = peak_bytes(ours), peak_bytes(theirs.call)
        rows.append(
            {
                "norm": key,
                "torch_call": theirs.text,
                "normalize_ms": ours_ms,
                "torch_ms": theirs_ms,
                "time_ratio": ours_ms / theirs_ms,
                "normalize_peak_mb": None if ours_mem is None else ours_mem / 2**20,
                "torch_peak_mb": None if theirs_mem is None else theirs_mem / 2**20,
                "memory_ratio": None if not (ours_mem and theirs_mem) else ours_mem / theirs_mem,
            }
        )
    return rows


def bench_explorer(repeats: int) -> dict[str, float]:
    """AppTest rerun times of the Explorer at its default size, and the bytes of its plotly charts."""
    from streamlit.testing.v1 import AppTest

    app = str(Path(__file__).resolve().parents[2] / "app.py")
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


def _num(v: float | str | None, fmt: str) -> str:
    return "n/a" if v is None or isinstance(v, str) else format(v, fmt)


def _table(rows: list[dict[str, float | str | None]]) -> str:
    head = f"{'norm':<18}{'normalize ms':>13}{'torch ms':>10}{'ratio':>7}{'normalize MB':>14}{'torch MB':>10}{'ratio':>7}  torch call"
    lines = [head]
    for r in rows:
        lines.append(
            f"{r['norm']!s:<18}{_num(r['normalize_ms'], '.2f'):>13}{_num(r['torch_ms'], '.2f'):>10}"
            f"{_num(r['time_ratio'], '.2f'):>7}{_num(r['normalize_peak_mb'], '.1f'):>14}"
            f"{_num(r['torch_peak_mb'], '.1f'):>10}{_num(r['memory_ratio'], '.2f'):>7}  {r['torch_call']}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shape", default="8,512,768", help="B,S,F of the compute benchmark (default 8,512,768)")
    ap.add_argument("--repeats", type=int, default=20, help="timed calls of each side per norm (default 20)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="wall",
        help="wall: elapsed time (default); cpu: this thread's CPU time with one torch thread (steadier when the "
        "machine is shared)",
    )
    ap.add_argument("--norms", default="", help="comma-separated NORMS keys to time (default: every row)")
    ap.add_argument("--skip-app", action="store_true", help="only the compute benchmark")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    a = ap.parse_args(argv)
    try:
        b, s, f = (int(v) for v in a.shape.split(","))
    except ValueError:
        ap.error(f"--shape must be three whole numbers B,S,F such as 8,512,768, got {a.shape!r}")
    if min(b, s, f) < 2 or a.repeats < 1:
        ap.error("every size in --shape must be at least 2 (BatchNorm and InstanceNorm need 2 values), --repeats ≥ 1")
    keys = [k.strip() for k in a.norms.split(",") if k.strip()] or list(NORMS)
    unknown = [k for k in keys if k not in NORMS]
    if unknown:
        ap.error(f"unknown norm(s) {', '.join(unknown)}; valid: {', '.join(NORMS)}")
    if a.clock == "cpu":
        a.threads = 1  # the CPU time of this thread is the whole cost only when torch runs on it alone
    if a.threads:
        torch.set_num_threads(a.threads)
    shape = (b, s, f)
    rows = bench_norms(shape, a.repeats, a.clock, keys)
    app = None if a.skip_app else bench_explorer(max(5, a.repeats // 2))
    if a.json:
        out = {
            "shape": shape,
            "threads": torch.get_num_threads(),
            "clock": a.clock,
            "memory": MEMORY_HOW,
            "norms": rows,
            "explorer": app,
        }
        print(json.dumps(out, indent=2))
        return 0
    print(
        f"normalize() vs the usual torch call, x = {shape} float32, CPU, {torch.get_num_threads()} threads, "
        f"torch.no_grad(); {a.clock} time: median of {a.repeats} calls each, alternated; ratio = normalize / torch"
    )
    print(f"{MEMORY_HOW}; masked norms: the last quarter of every sequence is padding; γ = 1, β = 0 for normalize()")
    print(_table(rows))
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
