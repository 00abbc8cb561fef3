"""Issue 18 §3, §5: admission control for heavy work (norm_viz/ui/admission.py): bounded pools, a line served first
come first served, refusals with a message, runs per minute per session, and a closed tab leaving the line."""

from __future__ import annotations

import threading
import time

import pytest

from norm_viz.ui import admission as A


@pytest.fixture
def pool(monkeypatch):
    """A fresh pool "t" (one slot, a line of 2, 3 runs a minute) and a fresh process-wide count."""
    p = A.Pool("t", slots=1, line=2, per_minute=3, typical_s=1.0)
    monkeypatch.setitem(A.POOLS, "t", p)
    monkeypatch.setattr(A, "_running_total", 0)
    monkeypatch.setattr(A, "_started", A.defaultdict(A.deque))
    return p


def _hold(release: threading.Event, entered: threading.Event, out: list, name: str) -> threading.Thread:
    def run() -> None:
        try:
            with A.heavy("t", show=False):
                entered.set()
                out.append(name)
                release.wait(30)
        except A.Busy as e:
            out.append(f"busy: {e}")
            entered.set()

    t = threading.Thread(target=run)
    t.start()
    return t


def _wait(cond, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "condition not reached"
        time.sleep(0.01)  # poll the condition


def test_one_slot_a_line_first_come_first_served_and_a_refusal_when_full(pool):
    release = threading.Event()
    order: list[str] = []
    first = threading.Event()
    threads = [_hold(release, first, order, "a")]
    first.wait(30)
    for k, name in enumerate(("b", "c"), start=1):  # the line: two places
        threads.append(_hold(release, threading.Event(), order, name))
        _wait(lambda k=k: len(pool.waiting) == k)
    assert A.status()["t"] == {"running": 1, "waiting": 2}
    with pytest.raises(A.Busy, match="busy"), A.heavy("t", show=False):  # the line is full: refused at once
        pass
    release.set()
    for t in threads:
        t.join(30)
    assert order == ["a", "b", "c"]  # one at a time, in the order they came
    assert A.status()["t"] == {"running": 0, "waiting": 0}


def test_the_process_wide_limit_holds_across_pools(pool, monkeypatch):
    other = A.Pool("u", slots=1, line=4, per_minute=10, typical_s=1.0)
    monkeypatch.setitem(A.POOLS, "u", other)
    monkeypatch.setattr(A, "HEAVY_SLOTS", 1)
    release, entered, order = threading.Event(), threading.Event(), []
    t1 = _hold(release, entered, order, "t-run")
    entered.wait(30)
    got = []

    def run_u() -> None:
        with A.heavy("u", show=False):
            got.append(A.status()["t"]["running"])

    t2 = threading.Thread(target=run_u)
    t2.start()
    _wait(lambda: len(other.waiting) == 1)  # "u" has a free slot but waits for the process-wide one
    assert got == []
    release.set()
    t1.join(30)
    t2.join(30)
    assert got == [0]  # it ran only after "t" had finished


def test_a_session_is_limited_to_its_runs_per_minute(pool):
    now = 1000.0
    for _ in range(3):
        A._rate(pool, "s1", now)
    with pytest.raises(A.Busy, match="3 heavy views in the last minute .* try again in 60 s"):
        A._rate(pool, "s1", now + 0.5)
    A._rate(pool, "s2", now + 0.5)  # another tab is not affected
    A._rate(pool, "s1", now + 61)  # a minute later: allowed again


def test_deferred_work_is_limited_per_session_on_every_call(pool, monkeypatch):
    """`limited` (a download button's deferred data) counts each call, also one resent without a rerun."""
    monkeypatch.setattr(A, "_session_id", lambda: "tab")
    calls = []
    fn = A.limited("t", lambda: calls.append(1) or b"png")
    assert [fn() for _ in range(3)] == [b"png"] * 3
    with pytest.raises(A.Busy):
        fn()
    assert len(calls) == 3


def test_the_wait_estimate_and_message(pool):
    pool.running = 1
    assert A.estimate_s(pool, 0) == pytest.approx(1.0) and A.estimate_s(pool, 2) == pytest.approx(3.0)
    assert "your turn in ~3 s" in A.message(pool, 2) and "3 runs are ahead" in A.message(pool, 2)
    pool.running = 0


def test_training_has_its_own_slots_outside_the_process_wide_limit(pool, monkeypatch):
    """The training pool (a live run of the training lab, a minute or more) neither waits for nor holds the
    process-wide heavy slot; a second run is refused at once (no line) with the pool's words, and the refusal is not
    counted against the tab's runs per minute."""
    training = A.Pool("training", slots=1, line=0, per_minute=2, typical_s=60.0, shared=False, what="training runs")
    monkeypatch.setitem(A.POOLS, "training", training)
    monkeypatch.setattr(A, "HEAVY_SLOTS", 1)
    monkeypatch.setattr(A, "_session_id", lambda: "tab")
    release, entered, order = threading.Event(), threading.Event(), []
    t1 = _hold(release, entered, order, "t-run")  # a compute-like run holds the process-wide slot
    entered.wait(30)
    with A.attempt("training") as refused:  # training starts all the same
        assert refused is None
        assert A.status()["training"] == {"running": 1, "waiting": 0} and A._running_total == 1
        with A.attempt("training") as second:  # the slot is taken: refused at once, nothing waits
            assert isinstance(second, A.Busy) and "busy with other visitors' training runs" in str(second)
    assert len(A._started[("tab", "training")]) == 1  # only the run that started counts
    with A.attempt("training") as third:
        assert third is None
    release.set()
    t1.join(30)
    assert A.status()["training"] == {"running": 0, "waiting": 0} and A._running_total == 0


def test_an_exception_inside_an_admitted_attempt_releases_the_slot(pool):
    with pytest.raises(RuntimeError, match="boom"), A.attempt("t") as refused:
        assert refused is None
        raise RuntimeError("boom")
    assert A.status()["t"] == {"running": 0, "waiting": 0}


@pytest.mark.skipif(not A.can_restore_priority(), reason="this process may not raise a thread's priority back")
def test_heavy_work_runs_at_a_lower_os_priority_while_light_runs_compute(pool, monkeypatch):
    """Linux applies nice per thread: heavy work's thread drops HEAVY_NICE steps at a checkpoint while a light run
    computes (so that it and the event loop get the cores first), is back at its own priority when none does (no
    starving on a machine shared with other programs), and after the heavy block. Other threads are not touched."""
    import os

    monkeypatch.setattr(A, "_sleep", lambda s: None)
    monkeypatch.setattr(A, "HEAVY_NICE", 10)  # off by default (NORM_VIZ_HEAVY_NICE)
    me = threading.get_native_id()
    before = os.getpriority(os.PRIO_PROCESS, me)
    done = threading.Event()

    def rerun() -> None:  # a student's rerun, computing
        while not done.is_set():
            sum(range(1000))

    with A.heavy("t", show=False):
        A._yield_to_light_runs()
        assert os.getpriority(os.PRIO_PROCESS, me) == before  # nobody waits: its own priority
        light = threading.Thread(target=rerun, name=A.SCRIPT_THREAD)
        light.start()
        _wait(lambda: (A._thread_cpu(light.ident or 0) or 0.0) > 0.002)
        A._yield_to_light_runs()
        assert os.getpriority(os.PRIO_PROCESS, me) == min(19, before + A.HEAVY_NICE)
        assert os.getpriority(os.PRIO_PROCESS, light.native_id or 0) == before  # the light run keeps its own
        seen = A._thread_cpu(light.ident or 0) or 0.0
        _wait(lambda: (A._thread_cpu(light.ident or 0) or 0.0) > seen + 0.002)  # it computed again since
        A._yield_to_light_runs()
        assert os.getpriority(os.PRIO_PROCESS, me) == min(19, before + A.HEAVY_NICE)  # lowered once, not twice
        done.set()
        light.join(30)
        A._yield_to_light_runs()
        assert os.getpriority(os.PRIO_PROCESS, me) == before  # the rerun has finished
        done.clear()
        light = threading.Thread(target=rerun, name=A.SCRIPT_THREAD)
        light.start()
        _wait(lambda: (A._thread_cpu(light.ident or 0) or 0.0) > 0.002)
        A._yield_to_light_runs()
        assert os.getpriority(os.PRIO_PROCESS, me) == min(19, before + A.HEAVY_NICE)
    assert os.getpriority(os.PRIO_PROCESS, me) == before  # the heavy block ended: given back
    done.set()
    light.join(30)


def test_heavy_work_pauses_at_its_checkpoints_while_light_runs_are_in_progress(pool, monkeypatch):
    """At each checkpoint (ui.checkpoint calls the hook) heavy work pauses, GIL and core released, in proportion to
    the work it did since the last one, but only while another script run that is neither heavy nor waiting is in
    progress; outside heavy work, or with nobody else running, it never pauses."""
    from norm_viz.ui import safety

    assert A._yield_to_light_runs in safety.CHECKPOINT_HOOKS
    pauses: list[float] = []
    monkeypatch.setattr(A, "_sleep", pauses.append)
    done = threading.Event()

    def rerun() -> None:  # a student's rerun, computing
        while not done.is_set():
            sum(range(1000))

    with A.heavy("t", show=False):
        A._yield_to_light_runs()
        assert pauses == []  # nobody else is running
        light = threading.Thread(target=rerun, name=A.SCRIPT_THREAD)
        light.start()
        _wait(lambda: (A._thread_cpu(light.ident or 0) or 0.0) > 0.002)  # it has computed a little
        t0 = time.monotonic()
        while time.monotonic() - t0 < 0.01:  # a block of heavy work
            pass
        A._yield_to_light_runs()
        assert len(pauses) == 1 and 0.0 < pauses[0] <= A.MAX_PAUSE_S
        done.set()
        light.join(30)
        A._yield_to_light_runs()
        assert len(pauses) == 1  # the rerun has finished: no pause
    done.clear()
    light2 = threading.Thread(target=rerun, name=A.SCRIPT_THREAD)
    light2.start()
    A._yield_to_light_runs()  # not heavy work: never paused
    done.set()
    light2.join(30)
    assert len(pauses) == 1


def test_a_run_that_only_waits_is_not_a_light_run_to_pause_for(pool):
    """A script run blocked on something else (another session computing the same cached view) uses no CPU: heavy work
    does not pause for it (it would only make that run wait longer); one that computes counts."""
    done = threading.Event()
    waiting = threading.Thread(target=done.wait, args=(30,), name=A.SCRIPT_THREAD)
    waiting.start()
    A.light_runs()  # the first look notes every thread's CPU time
    try:
        assert A.light_runs() == 0
        busy = threading.Thread(
            target=lambda: [sum(range(1000)) for _ in iter(done.is_set, True)], name=A.SCRIPT_THREAD
        )
        busy.start()
        _wait(lambda: A.light_runs() == 1)
    finally:
        done.set()
        waiting.join(30)
    busy.join(30)


def test_a_refused_heavy_view_does_no_work_and_an_admitted_one_runs_in_the_worker(pool, monkeypatch):
    """offload: the rate check and the line come before any work; once admitted, the view runs in the worker pool."""
    from norm_viz.beyond.fluctuation import FluctuationConfig, fluctuation_view

    ran: list[object] = []

    class Workers:
        def run(self, fn, args, poll=None):
            ran.append(fn)
            return fn(*args, lambda: None)

    monkeypatch.setattr(A, "WORKERS", Workers())
    monkeypatch.setattr(A, "HEAVY_WORKER", True)
    release, first = threading.Event(), threading.Event()
    order: list[str] = []
    threads = [_hold(release, first, order, "a")]
    first.wait(30)
    for k, name in enumerate(("b", "c"), start=1):
        threads.append(_hold(release, threading.Event(), order, name))
        _wait(lambda k=k: len(pool.waiting) == k)
    cfg = FluctuationConfig(batches=2)
    with pytest.raises(A.Busy, match="busy"):  # the line is full
        A.offload("t", fluctuation_view, cfg)
    assert ran == []
    release.set()
    for t in threads:
        t.join(30)
    assert A.offload("t", fluctuation_view, cfg).sizes == (2, 4, 8, 16, 32)
    assert ran == [fluctuation_view]
    with pytest.raises(A.Busy, match="at most 3 a minute"):  # no session outside a script run: use the rate check
        monkeypatch.setattr(A, "_session_id", lambda: "s")
        for _ in range(4):
            A.offload("t", fluctuation_view, cfg)
    assert len(ran) == 4  # three runs a minute for this session, the fourth refused before its work
