"""Admission control for heavy work, per server process (issue 18 §3, §5): bounded pools with a queue and a message.

One rerun's work is bounded by its budget (norm_viz/core/budget.py); this bounds how many run at once. Heavy work
(placement, fluctuation, the causal Jacobian, PNG exports, the real model, training) enters through a pool: at most
`slots` runs of a pool, and at most HEAVY_SLOTS heavy runs of any pool, at once in the process; the others wait in
line, first come first served, with a message ("busy, your turn in ~N s"), and leave the line when their tab closes
or reruns. A full line, or a session over its runs per minute, is refused with `Busy` (a message, no work).
Memory is then bounded by design: the server's own size plus HEAVY_SLOTS times one run's budget.

API (for pages and the other ui modules):

    with admission.heavy("compute", cost_s=1.2):   # inside or outside an st.cache_data function
        view = placement_view(...)                 # runs once admitted; Busy when refused

    png_bytes = admission.limited("export", render)  # a callable for st.download_button's deferred data: the
                                                     # session's rate limit and the pool apply to every call,
                                                     # also a download request resent over the websocket

Pools (name: slots, line, runs per minute per session): see POOLS; `NORM_VIZ_HEAVY_SLOTS` sets HEAVY_SLOTS.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import streamlit as st
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx, in_cached_function

from norm_viz.ui.safety import Notice, checkpoint

T = TypeVar("T")

HEAVY_SLOTS = max(1, int(os.environ.get("NORM_VIZ_HEAVY_SLOTS", "1")))
"""Heavy runs of all pools at once in one server process. One: on the 2-core classroom server a second heavy run
took the other core from the students' reruns (issue 18 §3: one visitor looping heavy links in 4 tabs raised 100
students' p95 from 386 to 1,140 ms); a machine with more cores may allow more."""


@dataclass
class Pool:
    """One kind of heavy work: how many may run at once, how many may wait, how many runs one session may start per
    minute, and the typical duration of one run (for the wait estimate; updated from the runs seen)."""

    name: str
    slots: int
    line: int
    per_minute: int
    typical_s: float
    running: int = 0
    waiting: deque[object] = field(default_factory=deque)


POOLS: dict[str, Pool] = {
    "compute": Pool("compute", slots=1, line=64, per_minute=20, typical_s=1.5),  # placement, fluctuation, causal
    "export": Pool("export", slots=1, line=2, per_minute=6, typical_s=2.5),  # PNG exports
    # the pretrained models: the Real model and Modern LLM pages and the "Real sentences" tensor source (20 a minute: a
    # student stepping through layers and sites makes one run per new setting)
    "real-model": Pool("real-model", slots=1, line=16, per_minute=20, typical_s=2.0),
    "training": Pool("training", slots=1, line=0, per_minute=4, typical_s=60.0),  # a live training run
}
"""The pools. `line` 0: never wait (training says "in use" and lets the visitor come back)."""

_cv = threading.Condition()
_running_total = 0
_started: dict[tuple[str, str], deque[float]] = defaultdict(deque)  # (session, pool) -> start times, last minute
WAIT_S = 30.0
"""How long deferred work (an export's download request, outside any page run) waits for a slot before Busy."""
SHOW_AFTER_S = 0.3
"""A wait shorter than this shows no message (the page would flicker)."""


class Busy(Notice):
    """Heavy work refused: the line is full or the session started too many runs in the last minute. Its message
    says so and when to try again; ui.friendly_errors shows it as a notice."""


def _session_id() -> str:
    ctx = get_script_run_ctx(suppress_warning=True)
    return ctx.session_id if ctx is not None else ""


def _rate(pool: Pool, session: str, now: float) -> None:
    """Count a run for `session` in `pool`, or raise Busy when it started `per_minute` runs in the last 60 s."""
    if not session:
        return
    with _cv:
        times = _started[(session, pool.name)]
        while times and now - times[0] > 60:
            times.popleft()
        if len(times) >= pool.per_minute:
            wait = 60 - (now - times[0])
            raise Busy(
                f"this tab started {len(times)} heavy runs of this kind in the last minute (at most {pool.per_minute}"
                f" per minute, so that one visitor cannot hold the class's server): try again in {wait:.0f} s"
            )
        times.append(now)
        if len(_started) > 10_000:  # sessions long gone: keep the table small
            for k in [k for k, v in _started.items() if not v or now - v[-1] > 60]:
                del _started[k]


def _can_start(pool: Pool, ticket: object) -> bool:
    return (
        bool(pool.waiting) and pool.waiting[0] is ticket and pool.running < pool.slots and _running_total < HEAVY_SLOTS
    )


def estimate_s(pool: Pool, ahead: int) -> float:
    """Seconds until a run with `ahead` runs before it in line starts: the runs in progress and in line, each its
    pool's typical duration, shared among the slots."""
    slots = min(pool.slots, HEAVY_SLOTS)
    return pool.typical_s * (ahead + min(pool.running, slots)) / slots


def message(pool: Pool, ahead: int) -> str:
    """What a waiting visitor reads."""
    eta = max(1, round(estimate_s(pool, ahead)))
    others = "another visitor's run is" if ahead == 0 else f"{ahead + 1} runs are"
    return (
        f"The server is busy: {others} ahead of yours, your turn in ~{eta} s. "
        "Heavy views run one at a time, so that everyone's pages stay quick; this page continues by itself."
    )


@contextlib.contextmanager
def _outside_cache() -> Iterator[None]:
    """Elements shown here are not recorded by an enclosing st.cache_data function (so a cache hit never replays
    a 'busy' message): the message belongs to this run, not to the cached result."""
    token = in_cached_function.set(False)
    try:
        yield
    finally:
        in_cached_function.reset(token)


def _acquire(pool: Pool, show: bool) -> None:
    global _running_total
    ticket = object()
    with _cv:
        if len(pool.waiting) >= max(1, pool.line) or (pool.line == 0 and pool.running >= pool.slots):
            raise Busy(
                f"the server is busy with other visitors' heavy views ({pool.running} running, {len(pool.waiting)} "
                f"waiting): try again in about {max(1, round(estimate_s(pool, len(pool.waiting))))} s"
            )
        pool.waiting.append(ticket)
    placeholder: Any = None
    shown = ""
    t0 = time.monotonic()
    started = False
    try:
        while True:
            with _cv:
                if _can_start(pool, ticket):
                    pool.waiting.popleft()
                    pool.running += 1
                    _running_total += 1
                    started = True
                    return
                if pool.line == 0:
                    raise Busy("the server is busy with another visitor's run: try again in a minute")
                if not show and time.monotonic() - t0 > WAIT_S:
                    raise Busy(f"the server stayed busy for {WAIT_S:g} s: try again in a minute")
                ahead = next(i for i, t in enumerate(pool.waiting) if t is ticket)
                _cv.wait(0.2)
            if show and time.monotonic() - t0 >= SHOW_AFTER_S:
                text = message(pool, ahead)
                if text != shown:
                    with _outside_cache():
                        if placeholder is None:
                            placeholder = st.empty()
                        placeholder.info(text, icon=":material/hourglass_top:")
                    shown = text
            checkpoint()  # the tab closed or reran: leave the line (the finally below)
    finally:
        if not started:
            with _cv:
                with contextlib.suppress(ValueError):
                    pool.waiting.remove(ticket)
                _cv.notify_all()
        if placeholder is not None:
            with _outside_cache():
                placeholder.empty()


def _release(pool: Pool, seconds: float) -> None:
    global _running_total
    with _cv:
        pool.running -= 1
        _running_total -= 1
        pool.typical_s = 0.7 * pool.typical_s + 0.3 * seconds  # the wait estimate follows the runs seen
        _cv.notify_all()


@contextlib.contextmanager
def heavy(pool: str, cost_s: float | None = None, show: bool = True) -> Iterator[None]:
    """Run the block as heavy work of `pool` (see POOLS): after the session's rate check, once a slot is free.

    `cost_s`: the run's estimated CPU seconds (a budget's Cost.cpu_s); it seeds the pool's wait estimate until runs
    have been seen. `show`: a waiting visitor sees where they are in line (False for work outside a page run).
    Raises Busy (line full, or rate exceeded) before any work; StopException-like control flow when the tab closes
    while waiting."""
    p = POOLS[pool]
    if cost_s is not None and p.running == 0 and not p.waiting:
        p.typical_s = max(p.typical_s * 0.5, min(cost_s, 4 * p.typical_s))
    _rate(p, _session_id(), time.monotonic())
    _acquire(p, show)
    t0 = time.monotonic()
    try:
        yield
    finally:
        _release(p, time.monotonic() - t0)


def limited(pool: str, fn: Callable[[], T]) -> Callable[[], T]:
    """`fn` as deferred work of `pool` for the session running now: every call (st.download_button calls it when
    clicked, outside any script run, also when a browser resends the request without a rerun) counts against this
    session's runs per minute and takes a slot of the pool, waiting only while the pool's short line has room."""
    session = _session_id()
    p = POOLS[pool]

    def run() -> T:
        _rate(p, session, time.monotonic())
        _acquire(p, show=False)
        t0 = time.monotonic()
        try:
            return fn()
        finally:
            _release(p, time.monotonic() - t0)

    return run


def status() -> dict[str, dict[str, int]]:
    """Running and waiting runs per pool (for tests and the load driver's reports)."""
    with _cv:
        return {name: {"running": p.running, "waiting": len(p.waiting)} for name, p in POOLS.items()}
