"""Issue 18 §3: heavy views run in a worker process (norm_viz/core/worker.py, through ui.admission.offload): the same
numbers as in this process (the norm outputs against torch.nn), the job's own errors come back, a stopped job stops at
its next tick, the child runs at a lower OS priority, a dead child is replaced, and only this package's functions
run there."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
import torch

from norm_viz.beyond.fluctuation import FluctuationConfig, fluctuation_view
from norm_viz.core import budget, worker
from norm_viz.questions import placement
from norm_viz.questions.causal import CausalConfig, causal_view
from norm_viz.questions.placement import PlacementConfig, placement_view


@pytest.fixture(scope="module")
def pool():
    p = worker.Pool(size=1, nice=5)
    yield p
    p.close()


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _nice(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def test_the_placement_view_from_the_worker_is_this_processes_and_torch_nns(pool):
    x = torch.randn(2, 5, 8, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    cfg = PlacementConfig(layers=3, heads=2, seed=4, weight_scale=1.3, final_norm=True)
    got = pool.run(placement_view, (x, cfg))
    here = placement_view(x, cfg)
    assert got.verified and got.verification == here.verification and got.takeaway == here.takeaway
    for where in ("post", "pre"):
        a, b = got.comparison.result(where), here.comparison.result(where)
        assert a.stream_rms == b.stream_rms and a.grad_norm == b.grad_norm
        assert torch.equal(a.out_mean, b.out_mean) and torch.equal(a.out_var, b.out_var)
    # the post-norm stack's output, per token, is nn.TransformerEncoderLayer's with the same weights
    y = x
    with torch.no_grad():
        for w in placement.make_weights(cfg.layers, 8, cfg.seed, cfg.weight_scale):
            y = placement.torch_layer(w, cfg.heads, "post")(y)
    var, mean = torch.var_mean(y, dim=-1, unbiased=False)
    assert torch.allclose(got.comparison.post.out_mean, mean, atol=1e-12, rtol=0)
    assert torch.allclose(got.comparison.post.out_var, var, atol=1e-12, rtol=0)


def test_the_causal_and_fluctuation_views_from_the_worker_equal_this_processes(pool):
    x = torch.randn(3, 4, 6, generator=torch.Generator().manual_seed(1))
    cfg = CausalConfig(batch=1, position=2, method="jacobian")
    got, here = pool.run(causal_view, (x, cfg)), causal_view(x, cfg)
    assert got.table == here.table and got.warnings == here.warnings and got.takeaway == here.takeaway
    fcfg = FluctuationConfig(sizes="2, 8", batches=6, sequence=4, features=3, seed=9)
    got_f, here_f = pool.run(fluctuation_view, (fcfg,)), fluctuation_view(fcfg)
    assert got_f.takeaway == here_f.takeaway and got_f.drivers == here_f.drivers and got_f.sizes == here_f.sizes


def test_the_jobs_own_error_is_raised_in_the_server(pool):
    with pytest.raises(ValueError, match="Example: 2, 4, 8, 16, 32"):
        pool.run(fluctuation_view, (FluctuationConfig(sizes="two, four"),))
    big = FluctuationConfig(sizes="256", batches=400, sequence=64, features=64)
    with pytest.raises(budget.TooMuchWork, match="more than one view may use"):  # its own class, its message
        pool.run(fluctuation_view, (big,))


def test_only_this_packages_functions_run_in_the_worker(pool):
    with pytest.raises(TypeError, match="not a norm_viz function"):
        pool.run(os.getpid, ())


def test_the_worker_runs_at_a_lower_os_priority(pool):
    pool.run(fluctuation_view, (FluctuationConfig(batches=2),))
    (pid,) = pool.pids()
    assert _nice(pid) == min(19, _nice(os.getpid()) + 5)


SIZES = ",".join(map(str, range(2, 18)))
"""16 batch sizes of 400 batches each: about 1 CPU-s, the most the budget allows (one size of 256 costs 0.2 since a
batch is summed from per-sample sums)."""


def test_a_stopped_job_stops_at_its_next_tick_and_the_worker_stays(pool):
    """The fluctuation page's heaviest allowed link (the load driver's stop check): run to its end, then again with a
    `poll` that raises after its first two calls (as Streamlit's stop check does when the tab closes). In the
    worker's CPU seconds, not wall time (the machine may be busy)."""
    cfg = FluctuationConfig(sizes=SIZES, batches=400, sequence=4, features=4, seed=5)
    pool.run(fluctuation_view, (FluctuationConfig(sizes="4", batches=2),))  # started and warmed up
    (pid,) = pool.pids()
    cpu0 = _cpu_s(pid)
    pool.run(fluctuation_view, (cfg,))
    full = _cpu_s(pid) - cpu0

    class Closed(Exception):
        pass

    calls = []

    def poll() -> None:
        calls.append(1)
        if len(calls) > 2:
            raise Closed

    cpu0 = _cpu_s(pid)
    with pytest.raises(Closed):
        pool.run(fluctuation_view, (FluctuationConfig(sizes=SIZES, batches=400, sequence=4, features=4, seed=6),), poll)
    stopped = _cpu_s(pid) - cpu0
    assert full > 0.3, full  # enough work to tell stopping from finishing
    assert stopped < 0.6 * full, (stopped, full)
    assert pool.pids() == [pid]  # it stopped by itself (a child that does not is killed and replaced)
    assert pool.run(fluctuation_view, (FluctuationConfig(batches=2),)).sizes == (2, 4, 8, 16, 32)


def test_a_dead_worker_is_replaced_and_its_job_fails_with_a_message():
    p = worker.Pool(size=1)
    try:
        p.run(fluctuation_view, (FluctuationConfig(batches=2),))
        (pid,) = p.pids()
        started = threading.Event()

        def kill_soon() -> None:
            started.wait(30)
            os.kill(pid, 9)

        threading.Thread(target=kill_soon).start()

        def poll() -> None:
            started.set()

        with pytest.raises(worker.WorkerDied, match="ended"):
            p.run(fluctuation_view, (FluctuationConfig(sizes="256", batches=198, sequence=64, features=64),), poll)
        assert p.run(fluctuation_view, (FluctuationConfig(batches=2),)).sizes == (2, 4, 8, 16, 32)
        assert p.pids() != [pid]
    finally:
        p.close()
