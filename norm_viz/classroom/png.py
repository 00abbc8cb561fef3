"""One shared, bounded PNG renderer for the Export page (plotly + kaleido; no streamlit).

kaleido draws a figure in a headless Chromium. Without a server, every `fig.to_image` starts and stops a browser
(6.6 s and 1.6 GB at the largest cube, issue 12). Here one kaleido server (kaleido.start_sync_server: one Chromium,
one tab, kept open) draws every export of the process, one at a time behind a lock; at most MAX_WAITING requests
wait for it and the next is refused at once with `Busy`, and figures are bounded in pixels.
"""

from __future__ import annotations

import threading
import warnings
from typing import Any

MAX_SIDE = 2400
"""The largest width or height in pixels of an exported PNG."""
MAX_WAITING = 2
"""How many exports may wait while one is drawn; more are refused (Busy) rather than queued without bound."""
WAIT_S = 30.0
"""How long a waiting export waits for the renderer before it gives up (Busy)."""


class Busy(RuntimeError):
    """The renderer is drawing other exports: try again in a few seconds."""


_draw = threading.Lock()
_count = threading.Lock()
_waiting = 0
_started = False


def _start() -> None:
    global _started
    if not _started:
        import kaleido

        kaleido.start_sync_server(silence_warnings=True)  # one Chromium for the whole process, closed at exit
        _started = True


def render_png(fig: Any, width: int, height: int) -> bytes:
    """`fig` as PNG bytes, drawn by the shared renderer; ValueError for a size out of bounds, Busy when too many
    exports are already waiting."""
    global _waiting
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
        raise ValueError(f"a PNG of {width} × {height} pixels is too large; width and height must be 1 to {MAX_SIDE}")
    with _count:
        if _waiting >= MAX_WAITING:
            raise Busy(f"{_waiting} exports are waiting for the renderer; try again in a few seconds")
        _waiting += 1
    try:
        if not _draw.acquire(timeout=WAIT_S):
            raise Busy(f"the renderer stayed busy for {WAIT_S:g} s; try again in a few seconds")
    finally:
        with _count:
            _waiting -= 1
    try:
        _start()
        with warnings.catch_warnings():  # plotly passes browser options that a running server no longer takes
            warnings.filterwarnings("ignore", message="The kopts argument is ignored")
            return bytes(fig.to_image(format="png", width=width, height=height, scale=1))
    finally:
        _draw.release()


def png_size(fig: Any, width: int = 1600) -> tuple[int, int]:
    """The export size of a figure: `width` wide, twice its on-screen height (within MAX_SIDE)."""
    height = int(getattr(fig.layout, "height", None) or 500) * 2
    return min(width, MAX_SIDE), min(height, MAX_SIDE)
