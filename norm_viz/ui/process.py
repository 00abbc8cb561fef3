"""Settings for the server process, applied once by app.py: one torch thread, startup objects out of the GC, large
tensors given back to the system when freed, replies sent without Nagle's delay, and the guards that keep one
browser from hurting the others (issue 18): no cache clearing from a browser, bounded uploads per session, released
when the tab closes, a refused download that says why, and no lookup of the machine's addresses on the internet.

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
import logging
import os
import socket
import threading
from collections import OrderedDict
from typing import Any

import torch

LOG = logging.getLogger("norm_viz")

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
    are zeroed on first touch. `python -m norm_viz.tools.worstcase --page placement` (its two heaviest links, CPU-seconds and
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
    (Windows). Measured with `python -m norm_viz.tools.loadtest --sessions 1 --think 0,0`: a one-checkbox Streamlit app
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
    install_guards()
    gc.freeze()


def install_guards() -> None:
    """The guards against one browser hurting the others, which patch Streamlit's classes. configure_process runs them
    at the server's first script run; `python -m norm_viz.ui.process` (the deploy's command) runs them before the
    server starts, so that a websocket that floods uploads before anyone opened a page meets them too."""
    refuse_client_cache_clear()
    bound_uploads()
    explain_refused_downloads()
    no_address_lookup()


def metrics_for_loopback_only() -> bool:
    """Streamlit's /_stcore/metrics (cache names and sizes, session counts) answers only clients on this machine
    (loopback: the operator, `kubectl port-forward`, the load driver); anyone else gets 404. nginx's template already
    refuses it to visitors; this covers a replica reached directly. Must run before the server is built (the launcher,
    `main`, does). Returns True where Streamlit's route factory was wrapped."""
    import ipaddress

    try:
        from starlette.responses import PlainTextResponse
        from starlette.routing import Route
        from streamlit.web.server.starlette import starlette_app, starlette_routes
    except ImportError:  # pragma: no cover - another Streamlit layout
        return False
    original = starlette_routes.create_metrics_routes
    if getattr(original, "loopback_only", False):
        return True

    def loopback(endpoint: Any) -> Any:
        async def guarded(request: Any) -> Any:
            host = request.client.host if request.client is not None else ""
            try:
                ip = ipaddress.ip_address(host)
            except ValueError:
                ip = None
            mapped = getattr(ip, "ipv4_mapped", None)  # ::ffff:127.0.0.1 on a dual-stack socket
            local = ip is not None and (ip.is_loopback or (mapped is not None and mapped.is_loopback))
            if not local:
                return PlainTextResponse("Not Found", status_code=404)
            return await endpoint(request)

        return guarded

    def create_metrics_routes(*args: Any, **kwargs: Any) -> list[Any]:
        routes = original(*args, **kwargs)
        return [
            Route(r.path, loopback(r.endpoint), methods=sorted(r.methods or ())) if isinstance(r, Route) else r
            for r in routes
        ]

    create_metrics_routes.loopback_only = True  # type: ignore[attr-defined]
    starlette_routes.create_metrics_routes = create_metrics_routes
    starlette_app.create_metrics_routes = create_metrics_routes  # type: ignore[attr-defined]
    return True


def main(argv: list[str] | None = None) -> int:
    """`python -m norm_viz.ui.process [app.py] [streamlit run options]`: `streamlit run`, with the guards installed
    before the server accepts its first connection (the rest of configure_process follows at the first script run)."""
    import sys

    from streamlit.web import cli

    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0].startswith("-"):
        args = ["app.py", *args]
    install_guards()
    metrics_for_loopback_only()
    try:
        cli.main.main(args=["run", *args], prog_name="streamlit", standalone_mode=False)
    except SystemExit as e:  # click's own exits (--help, a bad option)
        return int(e.code or 0)
    return 0


def refuse_client_cache_clear() -> bool:
    """A browser's `clear_cache` message no longer clears the caches (outside Streamlit's development mode).

    Streamlit's menu item "Clear cache" (hidden here by client.toolbarMode = "viewer") sends it, and any websocket
    can: the server then empties every st.cache_data and st.cache_resource of the process, for every user (issue
    18 §7: the next Real model visit went from 0.44 to 4.06 CPU-s). The message is now logged and ignored; a
    developer clears the caches by restarting the server. Returns True where the handler was replaced.
    """
    from streamlit import config
    from streamlit.runtime.app_session import AppSession

    if config.get_option("global.developmentMode"):
        return False
    if getattr(AppSession._handle_clear_cache_request, "refused", False):
        return True

    def refuse(self: AppSession) -> None:
        LOG.warning("session %s asked to clear every cache: refused (caches are shared by all users)", self.id)

    refuse.refused = True  # type: ignore[attr-defined]
    AppSession._handle_clear_cache_request = refuse  # type: ignore[method-assign]
    return True


UPLOADS_PER_SESSION = 1
"""Files a session may hold on the server: the app has one single-file uploader, so a new upload replaces the old
(the parsed array stays in the session's state; the file itself is not read again)."""
UPLOAD_BYTES_TOTAL = 64 * 2**20
"""Uploaded bytes the whole process may hold; past it, the oldest files of any session go first."""


def bound_uploads(per_session: int = UPLOADS_PER_SESSION, total: int = UPLOAD_BYTES_TOTAL) -> bool:
    """Cap the files Streamlit keeps for uploads: `per_session` files per session (the newest), `total` bytes in the
    process (oldest out first), and drop a session's files as soon as its websocket closes.

    Streamlit keeps every file sent to an upload URL of a live session until the session ends, which is
    server.disconnectedSessionTTL (120 s) after its tab closed: one tab that asked for 700 upload URLs and sent 2 MB
    to each took the server from 505 to 1,812 MB and kept it (issue 18 §1). Returns True where the manager and the
    session manager were patched (False if Streamlit's classes moved).
    """
    try:
        from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
        from streamlit.runtime.websocket_session_manager import WebsocketSessionManager
    except ImportError:  # pragma: no cover - another Streamlit layout
        return False
    if getattr(MemoryUploadedFileManager.add_file, "bounded", False):
        return True
    original_add = MemoryUploadedFileManager.add_file
    order: OrderedDict[tuple[int, str, str], int] = OrderedDict()  # (manager, session, file) -> bytes, oldest first
    lock = threading.Lock()

    def add_file(self: MemoryUploadedFileManager, session_id: str, file: Any) -> None:
        with lock:
            mine = [k for k in order if k[0] == id(self) and k[1] == session_id and k[2] != file.file_id]
            drop = mine[: max(0, len(mine) - (per_session - 1))]
            held = sum(n for k, n in order.items() if k[0] == id(self) and k not in drop) + len(file.data)
            for k in order:
                if held <= total:
                    break
                if k[0] == id(self) and k not in drop and k[2] != file.file_id:
                    drop.append(k)
                    held -= order[k]
            for k in drop:
                order.pop(k, None)
                original_remove(self, k[1], k[2])
            order.pop((id(self), session_id, file.file_id), None)
            order[(id(self), session_id, file.file_id)] = len(file.data)
        original_add(self, session_id, file)

    def forget(manager: Any, session_id: str) -> None:
        with lock:
            for k in [k for k in order if k[0] == id(manager) and k[1] == session_id]:
                del order[k]

    original_remove_session = MemoryUploadedFileManager.remove_session_files

    def remove_session_files(self: MemoryUploadedFileManager, session_id: str) -> None:
        forget(self, session_id)
        original_remove_session(self, session_id)

    original_remove = MemoryUploadedFileManager.remove_file

    def remove_file(self: MemoryUploadedFileManager, session_id: str, file_id: str) -> None:
        with lock:
            order.pop((id(self), session_id, file_id), None)
        original_remove(self, session_id, file_id)

    original_disconnect = WebsocketSessionManager.disconnect_session

    def disconnect_session(self: WebsocketSessionManager, session_id: str) -> None:
        info = self.get_active_session_info(session_id)
        original_disconnect(self, session_id)
        manager = getattr(info.session, "_uploaded_file_mgr", None) if info is not None else None
        if manager is not None:  # the tab is gone: its files go now, not 120 s later (its parsed array stays)
            manager.remove_session_files(session_id)

    add_file.bounded = True  # type: ignore[attr-defined]
    MemoryUploadedFileManager.add_file = add_file  # type: ignore[method-assign]
    MemoryUploadedFileManager.remove_session_files = remove_session_files  # type: ignore[method-assign]
    MemoryUploadedFileManager.remove_file = remove_file  # type: ignore[method-assign]
    WebsocketSessionManager.disconnect_session = disconnect_session  # type: ignore[method-assign]
    return True


GENERIC_DOWNLOAD_ERROR = "Failed to generate file for download"
"""What Streamlit's download button shows under itself when its deferred callable raised (its own words)."""


def _notice_in(exc: BaseException | None) -> BaseException | None:
    """The app's Notice (a refusal with a message: the server is busy, a limit was reached) in `exc`'s chain."""
    from norm_viz.ui.safety import Notice

    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, Notice):
            return exc
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return None


def explain_refused_downloads() -> bool:
    """A download whose deferred callable was refused (ui.limited: too many exports this minute, the line full)
    shows the app's own message under its button ("Not now: … try again in N s") instead of Streamlit's generic
    "Failed to generate file for download"; any other failure keeps Streamlit's words (details in the log).

    Streamlit runs the callable when the button is clicked, outside any script run, and answers the browser with a
    BackendOperationResponse whose error_msg the button shows as plain text (5 s) - it has no way for the app to name
    the reason (streamlit/streamlit#13466). The handler is replaced by one that does the same and takes the message
    of a Notice. Returns True where it was replaced (False if Streamlit's classes moved)."""
    import asyncio

    try:
        from streamlit.proto.ForwardMsg_pb2 import BackendOperationResponse, DeferredFileResponsePayload
        from streamlit.runtime.backend_operation_handler import DeferredFileHandler
    except ImportError:  # pragma: no cover - another Streamlit layout
        return False
    if getattr(DeferredFileHandler.handle, "explains", False):
        return True

    async def handle(self: DeferredFileHandler, request: Any, session_id: str) -> Any:
        file_id = request.deferred_file.file_id
        try:
            url = await asyncio.to_thread(self._get_media_file_mgr().execute_deferred, file_id)
        except Exception as e:
            notice = _notice_in(e)
            if notice is None:
                LOG.exception("Error executing deferred callable for file_id %s", file_id)
                return BackendOperationResponse(request_id=request.request_id, error_msg=GENERIC_DOWNLOAD_ERROR)
            LOG.info("download refused for session %s: %s", session_id, notice)
            # plain text in the browser (React escapes it): no Markdown escaping, which would show its backslashes
            return BackendOperationResponse(request_id=request.request_id, error_msg=f"Not now: {notice}.")
        return BackendOperationResponse(
            request_id=request.request_id, deferred_file=DeferredFileResponsePayload(url=url)
        )

    handle.explains = True  # type: ignore[attr-defined]
    DeferredFileHandler.handle = handle  # type: ignore[method-assign]
    return True


def no_address_lookup() -> None:
    """Streamlit never asks an outside host for this machine's addresses.

    To check a cross-origin websocket (or to print "External URL" at start-up) Streamlit asks checkip.amazonaws.com
    for the external IP, each time anew when that fails (offline: "Did not auto detect external IP", up to 2 s with
    the server's event loop blocked), and opens a UDP socket towards 8.8.8.8 for the internal one. Here both answers
    are fixed: no external address, and the internal one only where nothing outside must be asked (loopback); a
    cross-origin page is then refused without a lookup. (At start-up, browser.serverAddress in .streamlit/config.toml
    keeps the banner from asking; tests/test_offline.py records every connection the server makes.)
    """
    from streamlit import net_util

    net_util._external_ip = ""  # not None: "already looked up", and matches no origin's host name
    net_util._internal_ip = "127.0.0.1"


if __name__ == "__main__":
    raise SystemExit(main())
