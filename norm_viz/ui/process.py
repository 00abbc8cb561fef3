"""Settings for the server process, applied once by app.py: one torch thread, and startup objects out of the GC.

Every rerun is a script run in its own thread, so the parallelism of a busy server comes from concurrent sessions,
never from inside one small tensor op; with torch's default of one thread per core, the worker threads of two runs
wait on each other behind other processes (tests/conftest.py: a 12-layer placement comparison took 0.1-0.3 s with one
thread and 0.3-3.5 s with two, under load). The Explorer's tensors are too small for torch to split: there the
load test (README, "Many users at once") measured no difference either way.
"""

from __future__ import annotations

import gc

import torch

_DONE = False


def configure_process() -> None:
    """Once per process: torch uses one thread per script run, and the objects of the imports are frozen.

    gc.freeze() moves the ~250 000 objects that exist after importing torch, plotly, pandas and streamlit into the
    permanent generation, so that a full collection (Python's own, now that .streamlit/config.toml turns off
    Streamlit's gc.collect(2) after every run, which took 0.1-0.7 s here) walks only what the sessions created.
    """
    global _DONE
    if _DONE:
        return
    _DONE = True
    torch.set_num_threads(1)
    gc.freeze()
