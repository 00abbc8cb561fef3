"""Settings for the server process, applied once by app.py: one torch thread, startup objects out of the GC, large
tensors given back to the system when freed, and replies sent without Nagle's delay.

Every rerun is a script run in its own thread, so the parallelism of a busy server comes from concurrent sessions,
never from inside one small tensor op; with torch's default of one thread per core, the worker threads of two runs
wait on each other behind other processes (tests/conftest.py: a 12-layer placement comparison took 0.1-0.3 s with one
thread and 0.3-3.5 s with two, under load). The Explorer's tensors are too small for torch to split: there the
load test (README, "Many users at once") measured no difference either way.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import socket

import torch

_DONE = False

M_MMAP_THRESHOLD = -3
"""glibc's mallopt parameter: allocations at least this large get their own mapping, returned to the system on free."""
MMAP_THRESHOLD = 1024 * 1024


def fix_mmap_threshold(threshold: int = MMAP_THRESHOLD) -> bool:
    """Keep glibc from moving large allocations onto the heap; True where that was done (glibc only).

    glibc starts with 128 KiB, but raises the threshold to the size of each mapped block that is freed (up to 32 MiB).
    After the first freed 8 MB tensor, every tensor below that size comes from the heap, and the small tensors a loop
    keeps between them pin the heap, so that it never shrinks: 78 batches of 256 × 64 × 64 on the fluctuation page
    (then one new batch copy each) grew the process by 835 MB and kept it; issue 12's budget is 300 MB per rerun.
    A fixed threshold (what the environment variable MALLOC_MMAP_THRESHOLD_ also does) keeps every larger tensor in
    its own mapping, returned when freed: that loop then grew by 38 MB. Its price is CPU, since a fresh mapping's pages
    are zeroed on first touch. `python -m norm_viz.worstcase --page placement` (its two heaviest links, CPU-seconds and
    peak MB): glibc's default 0.84 s / 161-199 MB; 128 KiB 1.23-1.31 s / 96-105 MB; 1 MiB, chosen, 0.96-1.13 s /
    110-153 MB; 4 MiB 0.88-1.14 s / 115-166 MB.
    """
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(M_MMAP_THRESHOLD, int(threshold)))
    except (OSError, AttributeError, TypeError):  # not glibc (musl, macOS, Windows): nothing to do
        return False


def tcp_nodelay() -> int:
    """Turn Nagle's algorithm off on this process's TCP sockets; returns how many were set (0 where /proc is absent).

    Streamlit's server (uvicorn) makes its listening socket without naming the protocol, so asyncio does not set
    TCP_NODELAY on the connections it accepts. Each rerun's reply is a burst of small websocket frames; with Nagle on,
    the second one waits for the browser to acknowledge the first, which a client delays by 40 ms (Linux) to 200 ms
    (Windows). Measured with `python -m norm_viz.loadtest --sessions 1 --think 0,0`: a one-checkbox Streamlit app
    took 48 ms per rerun and 6 ms with TCP_NODELAY. Set on the listening socket, the option is inherited by every
    connection accepted later (Linux); connections already open are set here too.
    """
    fds = "/proc/self/fd"
    if not os.path.isdir(fds):
        return 0
    done = 0
    for name in os.listdir(fds):
        try:
            if not os.readlink(os.path.join(fds, name)).startswith("socket:"):
                continue
            sock = socket.socket(fileno=int(name))
        except (OSError, ValueError):  # closed since the listing, or not a socket after all
            continue
        try:
            if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.type == socket.SOCK_STREAM:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                done += 1
        except OSError:
            pass  # a socket that takes no TCP options: leave it
        finally:
            sock.detach()  # the socket belongs to its owner: never close it here
    return done


def configure_process() -> None:
    """Once per process: torch uses one thread per script run, the objects of the imports are frozen, large
    allocations are returned to the system when freed (`fix_mmap_threshold`) and the server's connections send
    without delay (`tcp_nodelay`).

    gc.freeze() moves the ~250 000 objects that exist after importing torch, plotly, pandas and streamlit into the
    permanent generation, so that a full collection (Python's own, now that .streamlit/config.toml turns off
    Streamlit's gc.collect(2) after every run, which took 0.1-0.7 s here) walks only what the sessions created.
    """
    global _DONE
    if _DONE:
        return
    _DONE = True
    torch.set_num_threads(1)
    fix_mmap_threshold()
    tcp_nodelay()
    gc.freeze()
