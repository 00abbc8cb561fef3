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

    view = admission.offload("compute", placement_view, x, cfg)  # the same, run as placement_view(x, cfg, tick)
                                                                 # in a worker process (norm_viz/core/worker.py)

    png_bytes = admission.limited("export", render)  # a callable for st.download_button's deferred data: the
                                                     # session's rate limit and the pool apply to every call,
                                                     # also a download request resent over the websocket

    with admission.attempt("training", cost_s=60) as refused:  # work that never waits in line (training):
        if refused is None:                                       # None once admitted, else the Busy refusal
            train(...)

Pools (name: slots, line, runs per minute per session): see POOLS; `NORM_VIZ_HEAVY_SLOTS` sets HEAVY_SLOTS,
`NORM_VIZ_TRAINING_SLOTS` the training pool's slots, `NORM_VIZ_HEAVY_NICE` how much lower the OS priority of a thread
running heavy work is (HEAVY_NICE), `NORM_VIZ_HEAVY_WORKER` whether `offload` runs its work in a worker process
(HEAVY_WORKER) and `NORM_VIZ_WORKER_NICE` that process's OS priority (WORKER_NICE).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
import sys
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import streamlit as st
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx, in_cached_function

from norm_viz.core import worker
from norm_viz.ui import safety
from norm_viz.ui.safety import Notice, checkpoint

T = TypeVar("T")
LOG = logging.getLogger("norm_viz")

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
    shared: bool = True  # counts against HEAVY_SLOTS (training has its own slots: its runs last a minute)
    what: str = "heavy views"  # what the refusal says the server is busy with
    running: int = 0
    waiting: deque[object] = field(default_factory=deque)


POOLS: dict[str, Pool] = {
    "compute": Pool("compute", slots=1, line=64, per_minute=20, typical_s=1.5),  # placement, fluctuation, causal
    "export": Pool("export", slots=1, line=2, per_minute=6, typical_s=2.5, what="exports"),  # PNG/SVG downloads
    # the pretrained models: the Real model and Modern LLM pages and the "Real sentences" tensor source (20 a minute: a
    # student stepping through layers and sites makes one run per new setting)
    "real-model": Pool("real-model", slots=1, line=16, per_minute=20, typical_s=2.0, what="real-model runs"),
    # a live training run of the training lab (ui/training.py), capped at 60 CPU-s: its own slots, outside
    # HEAVY_SLOTS (a run holds its slot for a minute or more, which would stop every other heavy view meanwhile)
    "training": Pool(
        "training",
        slots=max(1, int(os.environ.get("NORM_VIZ_TRAINING_SLOTS", "1") or 1)),
        line=0,
        per_minute=4,
        typical_s=60.0,
        shared=False,
        what="training runs",
    ),
}
"""The pools. `line` 0: never wait (training says "in use" and lets the visitor come back)."""

HEAVY_SHARE = min(1.0, max(0.1, float(os.environ.get("NORM_VIZ_HEAVY_SHARE", "0.5") or 1.0)))
"""While other script runs (light reruns: a click, a page) are in progress, heavy work takes at most this share of
its wall time: at each checkpoint (ui.checkpoint, between the blocks of its work) it pauses, with the GIL and its core
released, in proportion to the work it did since the last one (at most MAX_PAUSE_S at a time). Nobody else running:
no pause. 1 turns it off. This is for heavy work in the server's own threads (training; the views with HEAVY_WORKER
off): a view in a worker process (`offload`) shares no GIL with the light runs and runs at WORKER_NICE instead."""
MAX_PAUSE_S = 0.05
SCRIPT_THREAD = "ScriptRunner.scriptThread"
"""The name Streamlit gives the thread of each script run (one thread per run)."""

HEAVY_NICE = max(0, int(os.environ.get("NORM_VIZ_HEAVY_NICE", "0") or 0))
"""How much lower (in nice steps, Linux applies them per thread) the OS priority of a thread running heavy work is
while light runs compute (checked at each checkpoint; its own priority otherwise). Off by default (0): heavy work
holds the GIL between torch ops, and a thread the OS rarely schedules while it holds the GIL stalls every other
thread of the process. Measured on a machine shared with other programs (load average 34-43, `loadtest --sessions 30
--think 2,6 --duration 45 --heavy-tabs 4` beside an unchanged server): lowered for good (+10), heavy work got 0.1 %
of a core and the students' p95 was once better (5.1 vs 8.6 s) and once worse (10.2 vs 7.4 s) than without. Try 10
on a server of its own (`NORM_VIZ_HEAVY_NICE=10`) and measure; HEAVY_SHARE does the in-process part either way."""

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
                f"this tab started {len(times)} {pool.what} in the last minute (at most {pool.per_minute} a minute, "
                f"so that one visitor cannot hold the class's server): try again in {max(1, math.ceil(wait))} s"
            )
        times.append(now)
        if len(_started) > 10_000:  # sessions long gone: keep the table small
            for k in [k for k, v in _started.items() if not v or now - v[-1] > 60]:
                del _started[k]


def _uncount(pool: Pool, session: str, at: float) -> None:
    """Take back a run counted by `_rate` that was refused (the line was full): only runs that started count."""
    with _cv:
        times = _started.get((session, pool.name))
        if times and at in times:
            times.remove(at)


def _can_start(pool: Pool, ticket: object) -> bool:
    return (
        bool(pool.waiting)
        and pool.waiting[0] is ticket
        and pool.running < pool.slots
        and (not pool.shared or _running_total < HEAVY_SLOTS)
    )


def estimate_s(pool: Pool, ahead: int) -> float:
    """Seconds until a run with `ahead` runs before it in line starts: the runs in progress and in line, each its
    pool's typical duration, shared among the slots."""
    slots = min(pool.slots, HEAVY_SLOTS) if pool.shared else pool.slots
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
                f"the server is busy with other visitors' {pool.what} ({pool.running} running, {len(pool.waiting)} "
                f"waiting): try again in about {max(1, round(estimate_s(pool, len(pool.waiting))))} s"
            )
        pool.waiting.append(ticket)
    me = threading.get_native_id()
    _in_line.add(me)
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
                    _running_total += int(pool.shared)
                    started = True
                    return
                if pool.line == 0:
                    raise Busy(f"the server is busy with another visitor's {pool.what}: try again in a minute")
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
        _in_line.discard(me)
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
        _running_total -= int(pool.shared)
        pool.typical_s = 0.7 * pool.typical_s + 0.3 * seconds  # the wait estimate follows the runs seen
        _cv.notify_all()


_lowered: set[int] = set()  # native ids of threads whose priority could not be raised back (see _set_lowered)
_own_nice: dict[int, int] = {}  # native id of a thread running heavy work at a lower priority -> its own nice
_in_heavy: dict[int, float] = {}  # native id of a thread running heavy work -> when it last checked in
_in_line: set[int] = set()  # native ids of threads waiting in a pool's line
_sleep = time.sleep


_cpu_seen: dict[int, float] = {}  # thread ident -> its CPU seconds when light_runs last looked


def _thread_cpu(ident: int) -> float | None:
    try:
        return time.clock_gettime(time.pthread_getcpuclockid(ident))
    except (AttributeError, OSError):  # not Linux, or the thread has just ended
        return None


def light_runs() -> int:
    """Script runs in progress that are neither running heavy work nor waiting for it, and that used CPU since the
    last look (a run blocked on something else - another session computing the same cached view, a model thread -
    does not count: pausing for it would only make it wait longer)."""
    busy = set(_in_heavy) | _in_line
    n = 0
    alive = set()
    for th in threading.enumerate():
        if th.name != SCRIPT_THREAD or th.native_id in busy or th.ident is None:
            continue
        alive.add(th.ident)
        cpu = _thread_cpu(th.ident)
        if cpu is None:
            n += 1  # cannot tell: count it
            continue
        if cpu - _cpu_seen.get(th.ident, 0.0) > 0.0005:
            n += 1
        _cpu_seen[th.ident] = cpu
    for ident in [i for i in _cpu_seen if i not in alive]:
        _cpu_seen.pop(ident, None)
    return n


def _yield_to_light_runs() -> None:
    """At a checkpoint of heavy work: while light runs compute, run at a lower OS priority (HEAVY_NICE) and pause
    (HEAVY_SHARE); otherwise at the thread's own priority, without pausing."""
    tid = threading.get_native_id()
    last = _in_heavy.get(tid)
    if last is None:
        return
    now = time.monotonic()
    others = light_runs()
    _set_lowered(tid, others > 0)
    if others and HEAVY_SHARE < 1.0:
        pause = min(MAX_PAUSE_S, (now - last) * (1 - HEAVY_SHARE) / HEAVY_SHARE)
        _sleep(pause)
        now += pause
    _in_heavy[tid] = now


safety.CHECKPOINT_HOOKS.append(_yield_to_light_runs)


@functools.cache
def can_restore_priority() -> bool:
    """Whether this process may raise a thread's priority back after lowering it (root with CAP_SYS_NICE, or an
    RLIMIT_NICE that allows it; not a non-root container without capabilities). Tried once, on a throwaway thread."""
    ok: list[bool] = []

    def probe() -> None:
        tid = threading.get_native_id()
        try:
            old = os.getpriority(os.PRIO_PROCESS, tid)
            os.setpriority(os.PRIO_PROCESS, tid, min(19, old + 1))
            os.setpriority(os.PRIO_PROCESS, tid, old)
            ok.append(True)
        except OSError:
            ok.append(False)

    if not sys.platform.startswith("linux"):
        return False
    th = threading.Thread(target=probe, name="norm-viz-nice-probe")
    th.start()
    th.join()
    return ok == [True]


def _set_lowered(tid: int, lower: bool) -> None:
    """Lower (`lower`) or give back the OS priority of thread `tid`, which runs heavy work: HEAVY_NICE steps lower
    while light runs compute (Linux applies nice per thread), its own priority otherwise, so that on a machine shared
    with other programs heavy work is not starved when no student is waiting for the server. Where the process may
    not raise a priority back (a non-root container without CAP_SYS_NICE), the thread stays lower until its script
    run ends (Streamlit starts a thread per run): the rest of that run is the heavy visitor's own work."""
    if HEAVY_NICE <= 0 or not sys.platform.startswith("linux") or tid in _lowered:
        return
    try:
        if lower and tid not in _own_nice:
            old = os.getpriority(os.PRIO_PROCESS, tid)
            os.setpriority(os.PRIO_PROCESS, tid, min(19, old + HEAVY_NICE))
            _own_nice[tid] = old
        elif not lower and tid in _own_nice:
            os.setpriority(os.PRIO_PROCESS, tid, _own_nice[tid])
            del _own_nice[tid]
    except OSError:  # no setpriority here, or no right to raise it back
        if not lower and _own_nice.pop(tid, None) is not None:
            if len(_lowered) > 10_000:  # thread ids are reused: forget old ones
                _lowered.clear()
            _lowered.add(tid)
            LOG.debug("thread %s stays at nice +%s until its script run ends", tid, HEAVY_NICE)


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
    session, now = _session_id(), time.monotonic()
    _rate(p, session, now)
    try:
        _acquire(p, show)
    except Busy:
        _uncount(p, session, now)
        raise
    t0 = time.monotonic()
    tid = threading.get_native_id()
    outer = _in_heavy.get(tid)  # heavy work inside heavy work (a cached view inside another): the outer one's
    _in_heavy[tid] = t0
    try:
        yield
    finally:
        if outer is None:
            _in_heavy.pop(tid, None)
            _set_lowered(tid, False)
        _release(p, time.monotonic() - t0)


@contextlib.contextmanager
def attempt(pool: str, cost_s: float | None = None) -> Iterator[Busy | None]:
    """`heavy(pool)` for work that does not wait in line: yields None once admitted (the block's work then runs as
    the pool's), or the Busy refusal when the pool is full or the session over its runs per minute (nothing ran;
    the caller says so)."""
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(heavy(pool, cost_s, show=False))
        except Busy as e:
            yield e
        else:
            yield None


def limited(pool: str, fn: Callable[[], T]) -> Callable[[], T]:
    """`fn` as deferred work of `pool` for the session running now: every call (st.download_button calls it when
    clicked, outside any script run, also when a browser resends the request without a rerun) counts against this
    session's runs per minute and takes a slot of the pool, waiting only while the pool's short line has room."""
    session = _session_id()
    p = POOLS[pool]

    def run() -> T:
        now = time.monotonic()
        _rate(p, session, now)
        try:
            _acquire(p, show=False)
        except Busy:
            _uncount(p, session, now)
            raise
        t0 = time.monotonic()
        try:
            return fn()
        finally:
            _release(p, time.monotonic() - t0)

    return run


HEAVY_WORKER = os.environ.get("NORM_VIZ_HEAVY_WORKER", "1") != "0"
"""Whether `offload` runs heavy views in a worker process (default) or in the script's own thread (0). Measured with
`python -m norm_viz.tools.loadtest --sessions 100 --think 5,15 --duration 60 --heavy-tabs 4` (one visitor looping the
heaviest allowed links in 4 tabs beside 100 students): in the script's thread the view's Python holds the GIL, which
every other rerun and the event loop sending their replies then wait for. The visitor alone (`--sessions 1 --duration
40 --heavy-tabs 4`, 24 pages in ~48 s, load 1-1.4): the server process spent 50.2 CPU-s in the thread, 6.1 with the
worker (~0.25 CPU-s a page: its session, its light part, its figures; the worker 45 CPU-s at nice +10)."""
WORKER_NICE = max(0, int(os.environ.get("NORM_VIZ_WORKER_NICE", "10") or 0))
"""How much lower the worker processes' OS priority is than the server's: the students' reruns first, whenever both
want a core (a process of its own, so unlike HEAVY_NICE it holds no lock the server's threads wait for)."""
WORKERS = worker.Pool(HEAVY_SLOTS, WORKER_NICE)
"""The worker processes (HEAVY_SLOTS of them at most, started at the first heavy view, kept)."""


def _stop_check() -> None:
    """Raise Streamlit's stop/rerun exception when this script run should end (the tab closed or reran)."""
    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is not None:
        ctx.yield_check()


def offload(pool: str, fn: Callable[..., T], *args: Any, cost_s: float | None = None) -> T:
    """`fn(*args, tick)` as heavy work of `pool` (see `heavy`: the rate check and the line come first, so a refused or
    waiting view costs nothing), run in a worker process (HEAVY_WORKER) while this thread waits, releasing the GIL;
    when the tab closes or reruns the worker's `tick` raises at its next call and the slot is free once it stopped.
    `fn` is a norm_viz function (pickled by name) and its arguments and result are pickled: tensors, configs, views.
    With HEAVY_WORKER off: `fn(*args, checkpoint)` in this thread."""
    with heavy(pool, cost_s):
        if not HEAVY_WORKER:
            return fn(*args, checkpoint)
        result: T = WORKERS.run(fn, args, poll=_stop_check)
        return result


def status() -> dict[str, dict[str, int]]:
    """Running and waiting runs per pool (for tests and the load driver's reports)."""
    with _cv:
        return {name: {"running": p.running, "waiting": len(p.waiting)} for name, p in POOLS.items()}
