"""Settings for the server process, applied once by app.py: one torch thread, and startup objects out of the GC.

Measured with `python -m norm_viz.loadtest` on this 2-core machine (README, "Many users at once"): every rerun is a
script run in its own thread, so parallelism comes from concurrent sessions, never from inside one small tensor op;
with torch's default of one thread per core, two runs' worker threads wait on each other (4-5x slower under load).
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
