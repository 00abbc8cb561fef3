"""Load test: `python -m norm_viz.tools.loadtest --url http://127.0.0.1:8501 --sessions N --think 5,15 --duration S`.

Each simulated user is a real Streamlit session: it opens the app's websocket (`/_stcore/stream`) and speaks the
browser's protocol (BackMsg/ForwardMsg protobufs from `streamlit.proto`, the only streamlit code imported here):
a `rerun_script` with the page and query string to load the page, then, after a think time drawn from the range,
a widget change (a `rerun_script` carrying every widget's value, as the browser sends them) and a wait for the
`script_finished` of the run it started. Latency is the time from sending the change to that message.

Printed: latency median/p95/p99, errors, reruns per second, the server's CPU (all cores, %) and RSS (the server's
process tree, found from the URL's port on this machine or given with --pid), and cross-session leaks: every session
chooses a seed no other session has; its seed widget must come back with exactly that value on every run, and no
other session's seed may appear in any message it receives. A session whose connection drops reconnects (to
whichever replica a load balancer picks) and replays its widget values, as the browser does.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import http.cookiejar
import json
import os
import random
import re
import statistics
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Element_pb2 import Element
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

T = TypeVar("T")

FINISHED = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY}
WIDGET_KINDS = ("selectbox", "radio", "number_input", "slider", "checkbox", "text_input", "file_uploader")
REPLICA_HEADER = "X-Upstream"  # set by deploy/nginx.conf.template: which replica answered


# ---------------------------------------------------------------- the protocol, as pure functions (unit tested)


def widget_key(element_id: str) -> str:
    """The user key of a widget from its element id (Streamlit ids end in `-<key>` when a key was given)."""
    return element_id.split("-", 2)[2] if element_id.startswith("$$ID-") and element_id.count("-") >= 2 else ""


@dataclass
class Widget:
    """One widget as the browser holds it: its id, kind, options and the value it sends with every rerun."""

    id: str
    kind: str
    state: WidgetState
    options: tuple[str, ...] = ()
    is_int: bool = False
    fragment_id: str = ""
    server_set: bool = False  # the run set this value (session state); otherwise the browser keeps its own
    hi: float | None = None  # a number input's or slider's largest value

    @property
    def key(self) -> str:
        return widget_key(self.id)

    def value(self) -> Any:
        """The current value in Python terms (an option label, a number, a bool, a list of numbers)."""
        which = self.state.WhichOneof("value")
        if which is None:
            return None
        v = getattr(self.state, which)
        return list(v.data) if which.endswith("array_value") else v


def widget_from_element(el: Element, fragment_id: str = "") -> Widget | None:
    """The widget an Element delta describes, with the value the browser would send back; None for other elements."""
    kind = el.WhichOneof("type")
    if kind not in WIDGET_KINDS:
        return None
    proto = getattr(el, kind)
    st = WidgetState(id=proto.id)
    options: tuple[str, ...] = ()
    is_int = False
    if kind in ("selectbox", "radio"):
        options = tuple(proto.options)
        if proto.HasField("raw_value"):
            st.string_value = proto.raw_value
        elif proto.HasField("default") and 0 <= proto.default < len(options):
            st.string_value = options[proto.default]
    elif kind == "number_input":
        is_int = proto.data_type == proto.INT
        has = proto.HasField("value") or proto.HasField("default")
        v = proto.value if proto.HasField("value") else proto.default
        if has and is_int:
            st.int_value = int(v)
        elif has:
            st.double_value = float(v)
    elif kind == "slider":
        is_int = proto.data_type == proto.INT
        st.double_array_value.data.extend(list(proto.value) if proto.set_value else list(proto.default))
    elif kind == "checkbox":
        st.bool_value = proto.value if proto.set_value else proto.default
    elif kind == "text_input" and (proto.HasField("value") or proto.HasField("default")):
        st.string_value = proto.value if proto.HasField("value") else proto.default
    # a file_uploader holds no value until the browser has uploaded a file (Session.upload)
    hi = float(proto.max) if kind == "slider" or (kind == "number_input" and proto.has_max) else None
    return Widget(proto.id, kind, st, options, is_int, fragment_id, bool(getattr(proto, "set_value", False)), hi)


def with_value(w: Widget, value: Any) -> Widget:
    """The widget after the user set it to `value` (an option label or index, a number, a bool, a list)."""
    st = WidgetState(id=w.id)
    if w.kind in ("selectbox", "radio"):
        label = w.options[value] if isinstance(value, int) and not isinstance(value, bool) else str(value)
        if w.options and label not in w.options:
            raise ValueError(f"{label!r} is not an option of {w.key or w.id}: {w.options}")
        st.string_value = label
    elif w.kind == "number_input":
        if w.is_int:
            st.int_value = int(value)
        else:
            st.double_value = float(value)
    elif w.kind == "slider":
        st.double_array_value.data.extend([float(v) for v in (value if isinstance(value, list | tuple) else [value])])
    elif w.kind == "checkbox":
        st.bool_value = bool(value)
    else:
        st.string_value = str(value)
    return Widget(w.id, w.kind, st, w.options, w.is_int, w.fragment_id, w.server_set, w.hi)


def rerun_message(
    page_name: str,
    query_string: str,
    widgets: Iterable[Widget | WidgetState],
    page_script_hash: str = "",
    fragment_id: str = "",
    cached_hashes: Iterable[str] = (),
) -> bytes:
    """A `rerun_script` BackMsg as the browser sends it: page, query string, every widget's value (and any one-shot
    trigger, such as a component's event)."""
    msg = BackMsg()
    cs = msg.rerun_script
    cs.query_string = query_string
    cs.page_name = page_name
    cs.page_script_hash = page_script_hash
    cs.fragment_id = fragment_id
    cs.widget_states.SetInParent()
    cs.widget_states.widgets.extend(w.state if isinstance(w, Widget) else w for w in widgets)
    cs.cached_message_hashes.extend(cached_hashes)
    return msg.SerializeToString()


def file_urls_message(request_id: str, session_id: str, names: Sequence[str]) -> bytes:
    """The BackMsg a file_uploader sends to get an upload URL per file."""
    msg = BackMsg()
    msg.file_urls_request.request_id = request_id
    msg.file_urls_request.session_id = session_id
    msg.file_urls_request.file_names.extend(names)
    return msg.SerializeToString()


def last_upstream(header: str) -> str:
    """The replica that answered, from nginx's $upstream_addr (it lists every one tried: "a:1, b:2" or "a:1 : b:2")."""
    return header.replace(" : ", ",").split(",")[-1].strip()


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


@dataclass
class RunView:
    """What one script run sent: its status, the widgets it showed, exceptions, and every raw message."""

    status: int | None = None
    widgets: dict[str, Widget] = field(default_factory=dict)
    exceptions: list[str] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    page_script_hash: str = ""
    query_string: str | None = None
    components: dict[str, Component] = field(default_factory=dict)
    full: bool = True  # a whole-page run (not a fragment's): the browser then drops widgets it no longer shows


@dataclass(frozen=True)
class Component:
    """A custom component (st.components.v2) as the page shows it: its id, fragment and the data it was given."""

    id: str
    fragment_id: str
    data: Any = None

    @property
    def key(self) -> str:
        return widget_key(self.id)

    def trigger(self, event: str, value: Any) -> WidgetState:
        """The widget state the browser sends when the component fires `event` (its setTriggerValue)."""
        st = WidgetState(id=f"$$STREAMLIT_INTERNAL_KEY_{self.id}__events")
        st.json_trigger_value = json.dumps([{"event": event, "value": value}], separators=(",", ":"))
        return st


def read_forward_msg(msg: ForwardMsg, data: bytes, run: RunView) -> None:
    """Fold one ForwardMsg into the view of the current run."""
    run.raw.append(data)
    t = msg.WhichOneof("type")
    if t == "new_session":
        run.page_script_hash = msg.new_session.page_script_hash
    elif t == "navigation" and msg.navigation.page_script_hash:
        # the page st.navigation chose: new_session names the main script (app.py), and a rerun sent with that hash
        # opens the default page (the start page), not the one the user is on
        run.page_script_hash = msg.navigation.page_script_hash
    elif t == "page_info_changed":
        run.query_string = msg.page_info_changed.query_string
    elif t == "script_finished":
        run.status = msg.script_finished
    elif t == "delta" and msg.delta.WhichOneof("type") == "new_element":
        el = msg.delta.new_element
        if el.WhichOneof("type") == "exception":
            run.exceptions.append(f"{el.exception.type}: {el.exception.message}")
        w = widget_from_element(el, msg.delta.fragment_id)
        if w is not None:
            run.widgets[w.id] = w
        if el.WhichOneof("type") == "bidi_component":
            bc = el.bidi_component
            given: Any = None
            with contextlib.suppress(ValueError):  # not JSON data (arrow, bytes): the driver needs none of it
                given = json.loads(bc.json) if bc.json else None
            run.components[bc.id] = Component(bc.id, msg.delta.fragment_id, given)


# ---------------------------------------------------------------- server CPU and memory from /proc


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(name).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if len(parts) > 9 and parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(parts[9])
    return inodes


def pids_on_port(port: int) -> list[int]:
    """The processes listening on a TCP port of this machine (read from /proc; empty where that is not possible)."""
    inodes = _listening_inodes(port)
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        links = set()
        try:
            for fd in (d / "fd").iterdir():
                try:
                    links.add(os.readlink(fd))
                except OSError:  # closed since the listing
                    continue
        except OSError:  # another user's process, or gone
            continue
        if any(f"socket:[{i}]" in links for i in inodes):
            found.append(int(d.name))
    return found


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants."""
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def proc_sample(pids: Sequence[int]) -> tuple[float, float]:
    """(CPU seconds used so far, RSS in MB) summed over the process trees of `pids`."""
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = rss = 0.0
    for root in pids:
        for p in process_tree(root):
            try:
                fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
                cpu += (int(fields[11]) + int(fields[12])) / ticks
                for line in Path(f"/proc/{p}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1]) / 1024
            except (OSError, IndexError, ValueError):
                continue
    return cpu, rss


# ---------------------------------------------------------------- one simulated user


class SessionError(Exception):
    """A run failed: a timeout, an exception element, a refused connection."""


@dataclass
class SessionStats:
    latencies: list[float] = field(default_factory=list)
    load_latency: float | None = None
    errors: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    reconnects: int = 0
    replicas: list[str] = field(default_factory=list)  # the replica header of each response, where one is sent


class Session:
    """One browser tab: a cookie jar, a websocket, the widgets of the last run, and the values the user chose."""

    def __init__(self, base_url: str, page: str, seed: int, timeout: float = 60.0) -> None:
        self.base = base_url.rstrip("/")
        self.page = page
        self.seed = seed
        self.timeout = timeout
        self.query_string = ""
        self.page_script_hash = ""
        self.session_id = ""
        self.widgets: dict[str, Widget] = {}  # by id, as the browser keeps them
        self.components: dict[str, Component] = {}  # by id: the custom components the page shows
        self.chosen: dict[str, Any] = {}  # by key: what this user set, replayed on reconnect
        self.stats = SessionStats()
        self.others: tuple[bytes, ...] = ()  # other sessions' markers, which must never reach this one
        self.ws: Any = None
        self.last_run = RunView()  # what the last finished run sent
        self.cache: dict[str, bytes] = {}  # hashes of large messages already received (the browser's message cache)
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    @property
    def marker(self) -> bytes:
        return f"seed={self.seed}".encode()

    # --- connection
    def _http(self, method: str, path: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers or {})
        try:
            with self.opener.open(req, timeout=self.timeout) as r:
                status, got, body = r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            status, got, body = e.code, dict(e.headers), b""
        if got.get(REPLICA_HEADER):
            self.stats.replicas.append(last_upstream(got[REPLICA_HEADER]))
        return status, got, body

    def _cookie(self, name: str) -> str | None:
        return next((c.value for c in self.jar if c.name == name), None)

    async def connect(self) -> None:
        """An HTTP request first (a load balancer's affinity cookie, Streamlit's XSRF cookie), then the websocket."""
        import websockets

        status, _, _ = await asyncio.to_thread(self._http, "GET", "/_stcore/health")
        if status != 200:
            raise SessionError(f"health check answered {status}")
        ws_url = "ws" + self.base[4:] + "/_stcore/stream"
        cookie = "; ".join(f"{c.name}={c.value}" for c in self.jar)
        protocols = ["streamlit", "x", self.session_id] if self.session_id else ["streamlit"]
        self.ws = await websockets.connect(
            ws_url,
            subprotocols=protocols,  # type: ignore[arg-type]
            origin=self.base,  # type: ignore[arg-type]  # as a browser sends it: Streamlit compares it with Host
            additional_headers={"Cookie": cookie} if cookie else None,
            max_size=None,
            open_timeout=self.timeout,
            ping_interval=None,
        )
        replica = self.ws.response.headers.get(REPLICA_HEADER)
        if replica:
            self.stats.replicas.append(last_upstream(replica))

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

    # --- runs
    async def _recv(self, deadline: float) -> tuple[ForwardMsg, bytes]:
        left = deadline - time.monotonic()
        if left <= 0:
            raise SessionError("timed out waiting for the run to finish")
        data = await asyncio.wait_for(self.ws.recv(), left)
        msg = ForwardMsg()
        msg.ParseFromString(data)
        if msg.WhichOneof("type") == "ref_hash":  # a large message this session already holds
            data = self.cache[msg.ref_hash]
            msg.ParseFromString(data)
        elif msg.metadata.cacheable and msg.hash:
            self.cache[msg.hash] = data
        return msg, data

    async def run(self, fragment_id: str = "", triggers: Sequence[WidgetState] = ()) -> float:
        """Send a rerun with the current widget values (and one-shot `triggers`, such as a component's event); wait
        for the script_finished of the run it leads to; returns the latency in s."""
        t0 = time.monotonic()
        states = [w.state for w in self.widgets.values()] + list(triggers)
        await self.ws.send(
            rerun_message(self.page, self.query_string, states, self.page_script_hash, fragment_id, self.cache)
        )
        deadline = t0 + self.timeout
        run = RunView(full=not fragment_id)
        while True:
            msg, data = await self._recv(deadline)
            read_forward_msg(msg, data, run)
            if msg.WhichOneof("type") == "new_session":
                self.session_id = msg.new_session.initialize.session_id or self.session_id
            if run.status in FINISHED:
                break
            if run.status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                raise SessionError("the page's script did not compile")
            if run.status is not None:
                # finished early for a rerun (st.rerun, also from inside a fragment, which reruns the whole page):
                # the next run follows, and it shows the page afresh
                run = RunView(raw=run.raw, page_script_hash=run.page_script_hash, query_string=run.query_string)
        latency = time.monotonic() - t0
        self.last_run = run
        self._absorb(run, full=run.full)
        return latency

    def _absorb(self, run: RunView, full: bool) -> None:
        if run.page_script_hash:
            self.page_script_hash = run.page_script_hash
        if run.query_string is not None:
            self.query_string = run.query_string
        shown = {
            wid: w if w.server_set or wid not in self.widgets else self.widgets[wid]  # the browser keeps its value
            for wid, w in run.widgets.items()
        }
        if full:  # the browser drops the widgets (and components) a full run no longer shows
            self.widgets = shown
            self.components = dict(run.components)
        else:
            self.widgets.update(shown)
            self.components.update(run.components)
        if run.exceptions:
            raise SessionError("exception shown: " + "; ".join(run.exceptions))
        self._check_leaks(run)

    def _check_leaks(self, run: RunView) -> None:
        for w in run.widgets.values():
            # only a value the server set speaks for the session's state; otherwise the element carries its default
            # and the browser keeps (and sends) its own value
            if w.server_set and w.key in self.chosen and w.value() != self.chosen[w.key]:
                self.stats.leaks.append(
                    f"{w.key} came back as {w.value()!r}, this session chose {self.chosen[w.key]!r}"
                )
        for data in run.raw:
            for other in self.others:
                if other in data:
                    self.stats.leaks.append(f"another session's {other.decode()} reached this one")

    def by_key(self, key: str) -> Widget:
        for w in self.widgets.values():
            if w.key == key:
                return w
        raise SessionError(
            f"no widget with key {key!r} on the page (keys: {sorted(w.key for w in self.widgets.values())})"
        )

    async def change(self, key: str, value: Any) -> float:
        """Set one widget (by key) as a user would and wait for the run it triggers; returns the latency in s."""
        before = self.by_key(key)
        w = with_value(before, value)
        had, old = key in self.chosen, self.chosen.get(key)
        self.widgets[w.id] = w
        self.chosen[key] = w.value()
        try:
            return await self.run(w.fragment_id)
        except (OSError, TimeoutError, _ws_closed()):  # never confirmed: the page and its URL show the old value
            self.widgets[w.id] = before
            if had:
                self.chosen[key] = old
            else:
                del self.chosen[key]
            raise

    def component(self, key: str) -> Component:
        for c in self.components.values():
            if c.key == key:
                return c
        raise SessionError(
            f"no component with key {key!r} on the page (keys: {sorted(c.key for c in self.components.values())})"
        )

    async def fire(self, key: str, event: str, value: Any, expect: dict[str, Any] | None = None) -> float:
        """A custom component (by key) fires `event` with `value` as a click in the browser would; wait for the run it
        triggers; returns the latency in s. `expect`: the widget values (by key) that the run must then show."""
        c = self.component(key)
        had = dict(self.chosen)
        self.chosen.update(expect or {})
        try:
            return await self.run(c.fragment_id, [c.trigger(event, value)])
        except (OSError, TimeoutError, _ws_closed()):  # never confirmed: the page shows what it showed
            self.chosen = had
            raise

    async def load(self) -> float:
        """Open the page (connect, first run)."""
        await self.connect()
        return await self.run()

    async def reconnect(self) -> None:
        """After a dropped connection: connect again (with backoff) and replay the page with this user's values."""
        self.stats.reconnects += 1
        end = time.monotonic() + self.timeout
        delay = 0.2
        while True:
            try:
                await self.connect()
                await self.run()
                return
            except (TimeoutError, OSError, SessionError, _ws_closed()) as e:
                if time.monotonic() > end:
                    raise SessionError(f"could not reconnect: {e}") from e
                await asyncio.sleep(delay)  # backoff between attempts, as the browser does
                delay = min(delay * 2, 3.0)

    # --- uploads (a session's HTTP requests must reach the replica that holds its websocket)
    async def upload(self, key: str, name: str, data: bytes) -> int:
        """Upload a file into the file_uploader `key` as the browser does; returns the PUT's HTTP status."""
        request_id = uuid.uuid4().hex
        await self.ws.send(file_urls_message(request_id, self.session_id, [name]))
        deadline = time.monotonic() + self.timeout
        while True:
            msg, _ = await self._recv(deadline)
            if msg.WhichOneof("type") == "file_urls_response" and msg.file_urls_response.response_id == request_id:
                urls = msg.file_urls_response.file_urls[0]
                break
        status = await asyncio.to_thread(self._put_file, urls.upload_url, name, data)
        if status >= 300:
            return status
        w = self.by_key(key)
        st = WidgetState(id=w.id)
        info = st.file_uploader_state_value.uploaded_file_info.add()
        info.file_id, info.name, info.size = urls.file_id, name, len(data)
        info.file_urls.CopyFrom(urls)
        self.widgets[w.id] = Widget(w.id, "file_uploader", st, fragment_id=w.fragment_id)
        await self.run(w.fragment_id)
        return status

    def _put_file(self, url: str, name: str, data: bytes) -> int:
        boundary = uuid.uuid4().hex
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            ).encode()
            + data
            + f"\r\n--{boundary}--\r\n".encode()
        )
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        xsrf = self._cookie("_streamlit_xsrf")
        if xsrf:
            headers["X-Xsrftoken"] = xsrf
        path = url if url.startswith("/") else urllib.parse.urlparse(url).path
        status, _, _ = self._http("PUT", path, body, headers)
        return int(status)


def _ws_closed() -> type[Exception]:
    import websockets

    return websockets.ConnectionClosed


# ---------------------------------------------------------------- what users do


@dataclass(frozen=True)
class Change:
    """One thing a user does: set a widget (`event` empty) or click in a custom component (which fires `event`).

    `expect`: the widget values (by key) the page must show afterwards (checked on every later run)."""

    key: str
    value: Any
    event: str = ""
    expect: dict[str, Any] = field(default_factory=dict)

    async def apply(self, s: Session) -> float:
        if not self.event:
            return await s.change(self.key, self.value)
        return await s.fire(self.key, self.event, self.value, self.expect)


EXPLORER_KINDS = ("cube-cell", "cube-norm", "cell", "norm-switch")
"""What a user does on the Explorer: click a cell of the cube, click a small cube (a norm), type a cell index, choose a
norm in the select box. "mixed" draws one of them at random for each change."""


def explorer_actions(rng: random.Random, action: str) -> Callable[[Session], Change]:
    """A function giving a session's next change on the Explorer (`action`: one of EXPLORER_KINDS, "mixed" or "param")."""

    def simple(options: Iterable[str], now: Any) -> list[str]:
        # the norms that run on any generated tensor (the masked ones want lengths typed in)
        return [o for o in options if "mask" not in o.lower() and o != now]

    def next_change(s: Session) -> Change:
        kind = action if action != "mixed" else rng.choice(EXPLORER_KINDS)
        keys = {w.key for w in s.widgets.values()}
        if kind == "param":  # a parameter change: the page reruns on any Explorer
            param = burst_change(s, "param")
            if param is None:
                raise SessionError(f"no {BURST_PARAM[0]!r} on the page")
            return param
        cube = next((c for c in s.components.values() if c.key == "explorer_cube" and c.data), None)
        if kind.startswith("cube") and (cube is None or not {"cb", "cs", "cf", "norm"} <= keys):
            kind = "norm-switch"  # no cube on the page (the norm cannot run on this tensor): use the select box
        if kind == "cell" and not {"cb", "cs", "cf"} <= keys:
            kind = "norm-switch"
        if kind == "norm-switch" and "norm" not in keys:
            # an Explorer that switches norms in the browser sends nothing for it: a parameter change instead
            change = burst_change(s, "param")
            if change is None:
                raise SessionError(f"neither a norm select box nor {BURST_PARAM[0]!r} on the page")
            return change
        if kind == "norm-switch":
            w = s.by_key("norm")
            return Change("norm", rng.choice(simple(w.options, w.value()) or list(w.options)))
        if kind == "cell":
            w = s.by_key(key := rng.choice(["cb", "cs", "cf"]))
            hi = int(w.hi if w.hi is not None else 0)
            return Change(key, rng.choice([v for v in range(hi + 1) if v != w.value()] or [0]))
        assert cube is not None
        rules = cube.data.get("rules", {})
        label = s.by_key("norm").value()
        norm = next((k for k, r in rules.items() if r.get("label") == label), "")
        cell = [int(s.by_key(k).value() or 0) for k in ("cb", "cs", "cf")]
        if kind == "cube-norm":
            norm = rng.choice(simple(rules, norm) or list(rules))
            expect = {"norm": rules[norm]["label"]}
        else:  # a face of the cube: the front sets (s, f), the top (b, s), the side (b, f); the browser sends a
            # click only when it chooses another cell
            shape, now = cube.data["shape"], list(cell)
            for _ in range(20):
                for axis in rng.choice([(1, 2), (0, 1), (0, 2)]):
                    cell[axis] = rng.randrange(shape[axis])
                if cell != now:
                    break
            expect = {}
        expect.update(zip(("cb", "cs", "cf"), cell, strict=True))
        return Change("explorer_cube", {"cell": cell, "norm": norm}, "pick", expect)

    return next_change


@dataclass
class Report:
    sessions: int
    think: tuple[float, float]
    duration: float
    latencies: list[float]
    load_latencies: list[float]
    errors: list[str]
    leaks: list[str]
    reconnects: int
    reruns_per_s: float
    cpu_percent: float | None
    rss_warm_mb: float | None
    rss_loaded_mb: float | None
    rss_end_mb: float | None
    rss_per_session_mb: float | None
    replicas: dict[str, int]
    client_cpu_percent: float = 0.0  # this load test's own CPU: on the server's machine it competes with the server
    heavy: dict[str, int] = field(default_factory=dict)  # --heavy-tabs: what the heavy visitor's tabs got

    def summary(self) -> dict[str, Any]:
        ms = [v * 1000 for v in self.latencies]
        return {
            "sessions": self.sessions,
            "think_s": list(self.think),
            "duration_s": round(self.duration, 1),
            "reruns": len(ms),
            "median_ms": round(statistics.median(ms), 1) if ms else None,
            "p95_ms": round(percentile(ms, 95), 1) if ms else None,
            "p99_ms": round(percentile(ms, 99), 1) if ms else None,
            "max_ms": round(max(ms), 1) if ms else None,
            "page_load_median_ms": round(statistics.median(self.load_latencies) * 1000, 1)
            if self.load_latencies
            else None,
            "errors": len(self.errors),
            "leaks": len(self.leaks),
            "reconnects": self.reconnects,
            "reruns_per_s": round(self.reruns_per_s, 2),
            "server_cpu_percent": None if self.cpu_percent is None else round(self.cpu_percent, 1),
            "server_rss_mb": None if self.rss_end_mb is None else round(self.rss_end_mb, 1),
            "server_cpu_ms_per_rerun": None
            if self.cpu_percent is None or not ms
            else round(10 * self.cpu_percent * self.duration / len(ms), 1),
            "rss_per_session_mb": None if self.rss_per_session_mb is None else round(self.rss_per_session_mb, 2),
            "replicas": self.replicas,
            "client_cpu_percent": round(self.client_cpu_percent, 1),
            "heavy_visitor": self.heavy,
            "load_average": os.getloadavg(),
        }


async def run_load(
    url: str,
    sessions: int,
    think: tuple[float, float],
    duration: float,
    page: str = "explorer",
    action: str = "mixed",
    pids: Sequence[int] = (),
    seed: int = 0,
    ramp: float = 5.0,
    timeout: float = 60.0,
    on_session: Callable[[Session], None] | None = None,
    heavy_tabs: int = 0,
) -> Report:
    """Run `sessions` users for `duration` seconds (after each has loaded the page); returns the report.
    `heavy_tabs`: meanwhile one visitor loops the heaviest allowed links in that many tabs (heavy_visitor)."""
    rng = random.Random(seed)
    base_seed = 1_000_000_007 + 100_003 * rng.randrange(1000)  # 10 digits: never a number the app shows by itself
    users = [Session(url, page, base_seed + 7919 * i, timeout) for i in range(sessions)]
    markers = [u.marker for u in users]
    for u in users:
        u.others = tuple(m for m in markers if m != u.marker)
        if on_session:
            on_session(u)
    rss0 = 0.0
    first = asyncio.Event()  # the first user has loaded the page: the server is warm (imports, caches)
    loaded = asyncio.Event()
    n_loaded = 0
    t_start = 0.0
    stop_at = float("inf")

    async def user(i: int, u: Session) -> None:
        nonlocal n_loaded
        urng = random.Random(seed * 1000 + i)
        next_change = explorer_actions(urng, action)
        nonlocal rss0
        if i:
            await first.wait()
        await asyncio.sleep(ramp * i / max(1, sessions))  # a class does not press Enter at the same millisecond
        try:
            u.stats.load_latency = await u.load()
            if any(w.key == "seed" for w in u.widgets.values()):  # this session's marker, shown on every run
                u.stats.load_latency += await u.change("seed", u.seed)
        except Exception as e:
            u.stats.errors.append(f"load: {type(e).__name__}: {e}")
            return
        finally:
            if i == 0:
                rss0 = proc_sample(pids)[1] if pids else 0.0
                first.set()
            n_loaded += 1
            if n_loaded == sessions:
                loaded.set()
        await loaded.wait()
        while True:
            await asyncio.sleep(urng.uniform(*think))
            if time.monotonic() >= stop_at:
                return
            try:
                # on a page other than the Explorer: presentation mode on and off (a full rerun of the page)
                change = next_change(u) if page == "explorer" else Change("present", not u.by_key("present").value())
                u.stats.latencies.append(await change.apply(u))
            except (TimeoutError, SessionError) as e:
                u.stats.errors.append(f"{type(e).__name__}: {e}")
            except (OSError, _ws_closed()) as e:
                u.stats.errors.append(f"connection lost: {type(e).__name__}")
                try:
                    await u.reconnect()
                except Exception as e2:
                    u.stats.errors.append(f"reconnect: {e2}")
                    return

    tasks = [asyncio.create_task(user(i, u)) for i, u in enumerate(users)]
    await loaded.wait()
    cpu1, rss1 = proc_sample(pids) if pids else (0.0, 0.0)
    client0 = time.process_time()
    t_start = time.monotonic()
    stop_at = t_start + duration
    hv_stop = asyncio.Event()
    hv = asyncio.create_task(heavy_visitor(url, heavy_tabs, hv_stop, timeout)) if heavy_tabs else None
    await asyncio.gather(*tasks)
    hv_stop.set()
    heavy = await hv if hv is not None else {}
    elapsed = time.monotonic() - t_start
    client_cpu = time.process_time() - client0
    cpu2, rss2 = proc_sample(pids) if pids else (0.0, 0.0)
    await asyncio.gather(*(u.close() for u in users), return_exceptions=True)
    lat = [v for u in users for v in u.stats.latencies]
    replicas: dict[str, int] = {}
    for u in users:  # the replica each session ended on
        if u.stats.replicas:
            replicas[u.stats.replicas[-1]] = replicas.get(u.stats.replicas[-1], 0) + 1
    return Report(
        sessions=sessions,
        think=think,
        duration=elapsed,
        latencies=lat,
        load_latencies=[u.stats.load_latency for u in users if u.stats.load_latency is not None],
        errors=[e for u in users for e in u.stats.errors],
        leaks=[e for u in users for e in u.stats.leaks],
        reconnects=sum(u.stats.reconnects for u in users),
        reruns_per_s=len(lat) / elapsed if elapsed > 0 else 0.0,
        cpu_percent=100 * (cpu2 - cpu1) / elapsed if pids and elapsed > 0 else None,
        rss_warm_mb=rss0 if pids else None,
        rss_loaded_mb=rss1 if pids else None,
        rss_end_mb=rss2 if pids else None,
        rss_per_session_mb=(rss1 - rss0) / (sessions - 1) if pids and sessions > 1 else None,
        replicas=replicas,
        client_cpu_percent=100 * client_cpu / elapsed if elapsed > 0 else 0.0,
        heavy=heavy,
    )


# ---------------------------------------------------------------- bursts: every session acts at the same moment

BURSTS = ("norm", "param", "cell", "open")
"""What the sessions of a burst do together. norm: choose another norm in the select box (today a whole-page rerun;
an Explorer that switches norms in the browser has no `norm` widget and sends nothing: the burst says so and measures
nothing, the switch is then timed in the browser by bench_browser); param: set ε to another value (a parameter
change reruns the page on any Explorer); cell: type another cell index; open: open the page as a new tab."""

BURST_PARAM = ("eps", (1e-3, 1e-5))
"""The parameter a `param` burst sets, and the values it takes (the first one unless the page shows it already)."""


def burst_change(s: Session, kind: str) -> Change | None:
    """What session `s` does in a burst of `kind` (the same for every session on the same link, as when a teacher
    says "now switch to BatchNorm"); None where the page offers no such widget (`norm` on an Explorer that switches
    norms in the browser)."""
    keys = {w.key for w in s.widgets.values()}
    if kind == "norm":
        if "norm" not in keys:
            return None
        w = s.by_key("norm")
        labels = [o for o in w.options if "mask" not in o.lower()]
        return Change("norm", next(o for o in (*labels, *w.options) if o != w.value()))
    if kind == "param":
        key, values = BURST_PARAM
        if key not in keys:
            return None
        now = s.by_key(key).value()
        return Change(key, next(v for v in values if now is None or abs(float(now) - v) > 1e-12))
    if kind == "cell":
        if "cf" not in keys:
            return None
        w = s.by_key("cf")
        hi = int(w.hi if w.hi is not None else 0)
        return Change("cf", (int(w.value() or 0) + 1) % (hi + 1))
    raise ValueError(f"unknown burst {kind!r}; valid: {', '.join(BURSTS)}")


def offsets(n: int, spread: float) -> list[float]:
    """When each of `n` sessions acts, in seconds after the burst's start: evenly over `spread` (0: all at once)."""
    return [spread * i / n for i in range(n)]


def cache_bytes(url: str) -> dict[str, float]:
    """Bytes each cache of the server holds, by name (Streamlit's cache_memory_bytes: every st.cache_data function,
    "st_cache_resource" entries where Streamlit measures them, uploaded files, media); {} where the server does not
    answer /_stcore/metrics. A snapshot: the server refreshes the figure at most every 5 s."""
    try:
        m = metrics(url)
    except (OSError, ValueError):
        return {}
    out: dict[str, float] = {}
    for labels, v in m.items():
        name = labels[1] if len(labels) > 1 and labels[1] else labels[0]
        out[name] = out.get(name, 0.0) + v
    return out


def cache_lookups(url: str) -> dict[str, int]:
    """Cache lookups so far, by "hit" / "miss", over every st.cache_data and st.cache_resource function of the server
    ({} where it does not answer /_stcore/metrics): a burst's misses are the computations it caused."""
    try:
        m = metrics(url, "cache_lookups_total")
    except (OSError, ValueError):
        return {}
    out: dict[str, int] = {}
    for labels, v in m.items():
        out[labels[-1]] = out.get(labels[-1], 0) + int(v)
    return out


def index_assets(html: str) -> list[str]:
    """The static files index.html names (scripts, module preloads, styles, fonts): what a browser without a cached
    copy fetches before it opens the websocket (Streamlit's later lazy chunks not counted)."""
    found = re.findall(r'(?:src|href)="\.?/?(static/[^"]+)"', html)
    return list(dict.fromkeys("/" + f for f in found))


SESSION_STATE = "st_session_state"
"""The name cache_memory_bytes gives the session state of every session together (not a cache)."""


def _caches(held: dict[str, float]) -> float:
    return sum(v for k, v in held.items() if k != SESSION_STATE)


@dataclass
class Burst:
    kind: str
    sessions: int
    spread: float
    latencies: list[float]  # per session that acted: from its message to its run's end (open: to its page)
    finished_at: list[float]  # per session that acted: from the burst's start to its run's end
    errors: list[str]
    received: list[int] = field(default_factory=list)  # per session that acted: the bytes its run sent it
    skipped: str = ""  # why the burst measured nothing (the page offers no such widget)
    server_cpu_s: float | None = None
    rss_one_mb: float | None = None  # the server with one session on the page (warm)
    rss_all_mb: float | None = None  # with every session on the page, before the burst
    rss_end_mb: float | None = None
    cache_bytes_before: dict[str, float] = field(default_factory=dict)
    cache_bytes_after: dict[str, float] = field(default_factory=dict)
    lookups: dict[str, int] = field(default_factory=dict)  # cache hits and misses during the burst
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    client_cpu_s: float = 0.0
    assets: int = 0  # static files each opening session fetched first (--assets)

    def summary(self) -> dict[str, Any]:
        ms = [v * 1000 for v in self.latencies]
        per = None
        if self.rss_one_mb is not None and self.rss_all_mb is not None and self.sessions > 1:
            per = round((self.rss_all_mb - self.rss_one_mb) / (self.sessions - 1), 2)
        return {
            "burst": self.kind,
            "sessions": self.sessions,
            "spread_s": self.spread,
            "acted": len(ms),
            "skipped": self.skipped,
            "median_ms": round(statistics.median(ms), 1) if ms else None,
            "p95_ms": round(percentile(ms, 95), 1) if ms else None,
            "max_ms": round(max(ms), 1) if ms else None,
            "last_done_s": round(max(self.finished_at), 2) if self.finished_at else None,
            "bytes_median": int(statistics.median(self.received)) if self.received else None,
            "errors": len(self.errors),
            "server_cpu_s": None if self.server_cpu_s is None else round(self.server_cpu_s, 2),
            "server_cpu_ms_per_action": None
            if self.server_cpu_s is None or not ms
            else round(1000 * self.server_cpu_s / len(ms), 1),
            "server_rss_mb": None if self.rss_end_mb is None else round(self.rss_end_mb, 1),
            "rss_per_session_mb": per,
            "cache_mb_before": round(_caches(self.cache_bytes_before) / 1e6, 3),
            "cache_mb_after": round(_caches(self.cache_bytes_after) / 1e6, 3),
            "caches_mb": {k: round(v / 1e6, 4) for k, v in sorted(self.cache_bytes_after.items()) if v},
            "cache_hits": self.lookups.get("hit", 0),
            "cache_misses": self.lookups.get("miss", 0),
            "client_cpu_s": round(self.client_cpu_s, 2),
            "assets_per_open": self.assets,
            "load_average_before": self.load_before,
            "load_average_after": self.load_after,
        }


async def run_burst(
    url: str,
    sessions: int,
    kind: str,
    pids: Sequence[int] = (),
    spread: float = 0.0,
    page: str = "explorer",
    query: str = "",
    timeout: float = 120.0,
    assets: bool = False,
    load_together: int = 10,
    cache_wait: float = 5.5,
) -> Burst:
    """`sessions` tabs on the same link (`page`?`query`); then every one of them acts at once (`kind`, one of BURSTS;
    `spread` > 0: evenly over that many seconds) and each waits for its run. For `open` the tabs are opened by the
    burst itself (connect, first run; with `assets`, index.html and its static files first, as an uncached
    browser); for the others they are loaded before, `load_together` at a time, and the burst starts once the
    server is idle. One more tab, opened first, stays on the page throughout (the warm server that the per-session
    memory is measured against)."""
    if kind not in BURSTS:
        raise ValueError(f"unknown burst {kind!r}; valid: {', '.join(BURSTS)}")
    loop = asyncio.get_running_loop()
    loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(max(8, min(sessions + 4, 128))))

    def tab(i: int) -> Session:
        s = Session(url, page, i, timeout)
        s.query_string = query
        return s

    out = Burst(kind, sessions, spread, [], [], [], load_before=os.getloadavg())
    warm = tab(-1)
    await warm.load()  # imports, caches: the first tab of a fresh server pays them
    if pids:
        await _server_idle(pids, timeout=timeout)
        out.rss_one_mb = proc_sample(pids)[1]
    out.cache_bytes_before = await asyncio.to_thread(cache_bytes, url)
    users = [tab(i) for i in range(sessions)]
    changes: list[Change | None] = [None] * sessions
    if kind != "open":
        gate = asyncio.Semaphore(max(1, load_together))

        async def load(s: Session) -> None:
            async with gate:
                await s.load()

        loaded = await asyncio.gather(*(load(s) for s in users), return_exceptions=True)
        for r in loaded:
            if isinstance(r, BaseException):
                out.errors.append(f"load: {type(r).__name__}: {r}")
        changes = [burst_change(s, kind) if s.ws is not None and s.last_run.status in FINISHED else None for s in users]
        if all(c is None for c in changes) and not out.errors:
            out.skipped = (
                f"the page shows no {kind!r} widget: this change does not reach the server (measure it in the"
                " browser: python -m norm_viz.tools.bench_browser)"
            )
        if pids:
            await _server_idle(pids, timeout=timeout)
            out.rss_all_mb = proc_sample(pids)[1]
    html = ""
    if kind == "open" and assets:
        _, _, body = await asyncio.to_thread(warm._http, "GET", "/")
        html = body.decode(errors="replace")
    files = index_assets(html)
    out.assets = len(files)
    lookups0 = await asyncio.to_thread(cache_lookups, url)
    cpu0 = proc_sample(pids)[0] if pids else 0.0
    client0 = time.process_time()
    t0 = time.monotonic()

    async def act(i: int, s: Session, at: float) -> None:
        await asyncio.sleep(max(0.0, t0 + at - time.monotonic()))
        t = time.monotonic()
        try:
            if kind == "open":
                for f in files:
                    await asyncio.to_thread(s._http, "GET", f)
                await s.load()
            else:
                change = changes[i]
                if change is None:
                    return
                await change.apply(s)
        except Exception as e:
            out.errors.append(f"{type(e).__name__}: {str(e)[:120]}")
            return
        done = time.monotonic()
        out.latencies.append(done - t)
        out.finished_at.append(done - t0)
        out.received.append(sum(len(d) for d in s.last_run.raw))

    await asyncio.gather(
        *(act(i, s, at) for i, (s, at) in enumerate(zip(users, offsets(sessions, spread), strict=True)))
    )
    out.client_cpu_s = time.process_time() - client0
    lookups1 = await asyncio.to_thread(cache_lookups, url)
    out.lookups = {k: v - lookups0.get(k, 0) for k, v in lookups1.items()}
    if pids:
        out.server_cpu_s = proc_sample(pids)[0] - cpu0
        if kind == "open":
            await _server_idle(pids, timeout=timeout)
            out.rss_all_mb = proc_sample(pids)[1]
        out.rss_end_mb = proc_sample(pids)[1]
    await asyncio.sleep(cache_wait)  # the server's cache figure is a snapshot at most 5 s old
    out.cache_bytes_after = await asyncio.to_thread(cache_bytes, url)
    out.load_after = os.getloadavg()
    await asyncio.gather(*(s.close() for s in [warm, *users]), return_exceptions=True)
    return out


STOP_PAGE = "fluctuation"
STOP_QUERY = "fl_sizes=" + ",".join(map(str, range(2, 18))) + "&fl_n=400&fl_S=4&fl_F=4&fl_seed={seed}"
"""The stop check's run: one of the fluctuation page's heaviest measurements within the budget, 400 batches of each of
16 batch sizes (about 1 CPU-s; since a batch is summed from per-sample sums, one size of 256 sequences costs 0.2), with a
new seed each time, so that no cache answers it."""


async def _server_idle(pids: Sequence[int], quiet: float = 0.3, step: float = 0.05, timeout: float = 60.0) -> float:
    """Wait until the server has used less than 3% of a core for `quiet` seconds; returns when it was last busy (a
    time.monotonic() value: the end of the last step in which it used more than that)."""
    end = time.monotonic() + timeout
    last, _ = proc_sample(pids)
    busy_until = quiet_since = time.monotonic()
    while time.monotonic() < end:
        await asyncio.sleep(step)  # one sampling step: the condition is polled, not assumed
        now, _ = proc_sample(pids)
        t = time.monotonic()
        if now - last > 0.03 * step:
            busy_until = quiet_since = t
        elif t - quiet_since >= quiet:
            return busy_until
        last = now
    raise SessionError(f"the server did not go idle within {timeout:g} s")


@dataclass
class StopCheck:
    full_cpu_s: float  # the run left to finish: server CPU seconds
    full_wall_s: float
    left_at_close_cpu_s: float  # what the closed run still had to do when its tab closed (the full run's CPU, less
    # what the closed one had used by then)
    after_close_cpu_s: float  # the same run with its tab closed as soon as it started: server CPU after the close
    to_idle_s: float  # from the close until the server's last busy moment (sampled every 50 ms)


async def stop_check(url: str, pids: Sequence[int], seed: int = 0, timeout: float = 60.0) -> StopCheck:
    """A closed tab stops its work: one session runs STOP_QUERY on STOP_PAGE to its end (after one run that warms
    the page up); another opens the same page (another seed: no cache) and closes its websocket, as a closed tab
    does, in the middle of the measurement: when its spinner appears (Streamlit shows it 0.5 s into the work).
    Measured: the server CPU each cost, and the time from the close until the server was idle."""
    if not pids:
        raise SessionError("the stop check measures the server's CPU: give its PID (or run it on the server's machine)")
    await _server_idle(pids, timeout=timeout)
    full_cpu = full_wall = 0.0
    for k in range(2):  # the first run of a page in a process also imports and warms up: measure the second
        full = Session(url, STOP_PAGE, 0, timeout)
        full.query_string = STOP_QUERY.format(seed=3 * seed + 1_000_001 + k)
        cpu0, _ = proc_sample(pids)
        t0 = time.monotonic()
        await full.load()
        full_wall = time.monotonic() - t0
        full_cpu = proc_sample(pids)[0] - cpu0
        await full.close()
        await _server_idle(pids, timeout=timeout)

    closed = Session(url, STOP_PAGE, 0, timeout)
    closed.query_string = STOP_QUERY.format(seed=3 * seed + 1_000_003)
    await closed.connect()
    cpu_sent, _ = proc_sample(pids)
    await closed.ws.send(rerun_message(STOP_PAGE, closed.query_string, []))
    deadline = time.monotonic() + timeout
    while True:  # wait for the spinner: the measurement is under way
        msg, _ = await closed._recv(deadline)
        if msg.WhichOneof("type") == "delta" and msg.delta.WhichOneof("type") == "new_transient":  # st.spinner's
            break
        if msg.WhichOneof("type") == "script_finished" and msg.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
            raise SessionError("the run finished before its spinner appeared: nothing was left to stop")
    cpu_close, _ = proc_sample(pids)
    t_close = time.monotonic()
    # a tab sends its close frame and is gone; this client's close() would wait up to 10 s for the server's answer
    closing = asyncio.create_task(closed.close())
    busy_until = await _server_idle(pids, timeout=timeout)
    after = proc_sample(pids)[0] - cpu_close
    check = StopCheck(full_cpu, full_wall, full_cpu - (cpu_close - cpu_sent), after, max(busy_until - t_close, 0.0))
    await closing
    return check


# ---------------------------------------------------------------- attacks (issue 18): each one a repeatable measurement


def clear_cache_message() -> bytes:
    """The BackMsg of Streamlit's "Clear cache" menu item (any websocket can send it)."""
    msg = BackMsg()
    msg.clear_cache = True
    return msg.SerializeToString()


def deferred_file_message(request_id: str, session_id: str, file_id: str) -> bytes:
    """The BackMsg a download button with deferred data sends when clicked: the server calls the page's callable."""
    msg = BackMsg()
    op = msg.backend_operation_request
    op.request_id, op.session_id = request_id, session_id
    op.deferred_file.file_id = file_id
    return msg.SerializeToString()


def metrics(url: str, family: str = "cache_memory_bytes", timeout: float = 30.0) -> dict[tuple[str, ...], float]:
    """One metric family of Streamlit's /_stcore/metrics, keyed by its labels' values in order. cache_memory_bytes:
    (cache type, cache name) -> bytes held (st.cache_data functions, "UploadedFileManager", media files); the server
    computes that family at most every 5 s and answers from its last snapshot in between. cache_lookups_total:
    (cache name, cache type, "hit" / "miss") -> count, current."""
    with urllib.request.urlopen(url.rstrip("/") + "/_stcore/metrics", timeout=timeout) as r:
        text = r.read().decode()
    out: dict[tuple[str, ...], float] = {}
    for line in text.splitlines():
        if not line.startswith(family + "{"):
            continue
        labels, _, value = line.rpartition(" ")
        out[tuple(re.findall(r'="([^"]*)"', labels))] = float(value)
    return out


def uploads_held(url: str, until: Callable[[float | None], bool], timeout: float = 30.0) -> float | None:
    """The uploaded bytes the server holds (None: no file at all), polled until `until(bytes)` holds or `timeout`
    (the server refreshes the figure every 5 s)."""
    end = time.monotonic() + timeout
    while True:
        held = metrics(url).get(("UploadedFileManager", ""))
        if until(held) or time.monotonic() > end:
            return held
        time.sleep(0.5)  # the next look at the server's snapshot


def health_ms(url: str, timeout: float = 30.0) -> float:
    """Milliseconds the health check took to answer (what a load balancer's probe sees)."""
    t0 = time.perf_counter()
    with urllib.request.urlopen(url.rstrip("/") + "/_stcore/health", timeout=timeout) as r:
        r.read()
    return (time.perf_counter() - t0) * 1e3


class Sampler:
    """Samples the server's RSS (process tree) and its health-check latency in a thread, until stopped."""

    def __init__(self, url: str, pids: Sequence[int], step: float = 0.1) -> None:
        import threading

        self.url, self.pids, self.step = url, pids, step
        self.rss: list[float] = []
        self.health: list[float] = []
        self._done = threading.Event()
        self._threads = [
            threading.Thread(target=self._rss, daemon=True),
            threading.Thread(target=self._hc, daemon=True),
        ]

    def _rss(self) -> None:
        while not self._done.wait(self.step):
            if self.pids:
                self.rss.append(proc_sample(self.pids)[1])

    def _hc(self) -> None:
        while not self._done.wait(0.25):
            try:
                self.health.append(health_ms(self.url))
            except OSError:
                self.health.append(float("inf"))

    def __enter__(self) -> Sampler:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        for t in self._threads:
            t.join()


async def upload_flood(
    url: str, pids: Sequence[int], files: int = 700, size: int = 2_000_000, timeout: float = 120.0
) -> dict[str, Any]:
    """One tab asks for `files` upload URLs and sends `size` bytes to each (issue 18 §1), six at a time as a
    browser does; then reruns, then closes. The server's RSS (process tree) and the uploaded bytes it holds
    (/_stcore/metrics) before, after the flood, after the rerun and after the close (waiting up to 30 s for the
    release)."""
    s = Session(url, "explorer", 0, timeout)
    s.query_string = "src=upload"
    await s.load()
    await asyncio.sleep(1.0)
    rss0 = proc_sample(pids)[1] if pids else 0.0
    request_id = uuid.uuid4().hex
    await s.ws.send(file_urls_message(request_id, s.session_id, [f"f{i}.csv" for i in range(files)]))
    deadline = time.monotonic() + timeout
    while True:
        msg, _ = await s._recv(deadline)
        if msg.WhichOneof("type") == "file_urls_response" and msg.file_urls_response.response_id == request_id:
            urls = [u.upload_url for u in msg.file_urls_response.file_urls]
            break
    body = b"1\n" * (size // 2)
    statuses: dict[int, int] = {}
    peak = rss0
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        for i, status in enumerate(pool.map(lambda u: s._put_file(u, "f.csv", body), urls)):
            statuses[status] = statuses.get(status, 0) + 1
            if pids and i % 20 == 0:
                peak = max(peak, proc_sample(pids)[1])
    flood_s = time.monotonic() - t0
    held = await asyncio.to_thread(uploads_held, url, lambda b: b is not None)  # a snapshot taken after the flood
    rss_flood = proc_sample(pids)[1] if pids else 0.0
    await s.run()
    rss_rerun = proc_sample(pids)[1] if pids else 0.0
    await s.close()
    t_close = time.monotonic()
    held_close = await asyncio.to_thread(uploads_held, url, lambda b: b is None)
    release_s = time.monotonic() - t_close
    rss_close = proc_sample(pids)[1] if pids else 0.0
    return {
        "files": files,
        "bytes_each": len(body),
        "statuses": statuses,
        "flood_s": round(flood_s, 1),
        "rss_before_mb": round(rss0, 1),
        "rss_peak_mb": round(max(peak, rss_flood), 1),
        "rss_after_flood_mb": round(rss_flood, 1),
        "rss_after_rerun_mb": round(rss_rerun, 1),
        "rss_after_close_mb": round(rss_close, 1),
        "release_s": round(release_s, 1),
        "uploaded_bytes_held_after_flood": held or 0.0,
        "uploaded_bytes_held_after_close": held_close or 0.0,
    }


EXPORT_QUERY = "src=preset&preset=d2l&norm=layernorm&ex_fig=stats"


def _deferred_id(run: RunView, label: str) -> str:
    for data in run.raw:
        msg = ForwardMsg()
        msg.ParseFromString(data)
        if msg.WhichOneof("type") == "delta" and msg.delta.WhichOneof("type") == "new_element":
            el = msg.delta.new_element
            if el.WhichOneof("type") == "download_button" and label in el.download_button.label:
                return str(el.download_button.deferred_file_id)
    raise SessionError(f"no download button {label!r} with deferred data on the page")


async def export_resend(url: str, pids: Sequence[int], n: int = 96, timeout: float = 300.0) -> dict[str, Any]:
    """One tab loads the export page once, then sends the PNG button's download request `n` times over its websocket
    without a rerun, one after the other (issue 18 §5); then another visitor asks for one export. Counted: exports
    drawn and refused, server CPU-s, peak RSS of the process tree, and whether the other visitor got theirs."""
    s = Session(url, "export", 0, timeout)
    s.query_string = EXPORT_QUERY
    await s.load()
    file_id = _deferred_id(s.last_run, "PNG")
    cpu0, rss0 = proc_sample(pids) if pids else (0.0, 0.0)

    async def ask(sess: Session, fid: str) -> str:
        rid = uuid.uuid4().hex
        await sess.ws.send(deferred_file_message(rid, sess.session_id, fid))
        deadline = time.monotonic() + timeout
        while True:
            msg, _ = await sess._recv(deadline)
            if (
                msg.WhichOneof("type") == "backend_operation_response"
                and msg.backend_operation_response.request_id == rid
            ):
                r = msg.backend_operation_response
                return "ok" if r.deferred_file.url else f"refused: {r.error_msg}"

    answers: dict[str, int] = {}
    t0 = time.monotonic()
    with Sampler(url, pids) as smp:
        for _ in range(n):
            a = await ask(s, file_id)
            key = "drawn" if a == "ok" else "refused"
            answers[key] = answers.get(key, 0) + 1
        other = Session(url, "export", 1, timeout)
        other.query_string = EXPORT_QUERY
        await other.load()
        other_answer = await ask(other, _deferred_id(other.last_run, "PNG"))
    wall = time.monotonic() - t0
    cpu1 = proc_sample(pids)[0] if pids else 0.0
    await s.close()
    await other.close()
    return {
        "requests": n,
        **answers,
        "wall_s": round(wall, 1),
        "server_cpu_s": round(cpu1 - cpu0, 1),
        "rss_before_mb": round(rss0, 1),
        "rss_peak_mb": round(max(smp.rss, default=rss0), 1),
        "other_visitor": other_answer,
    }


def heavy_links(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """`n` of the heaviest links the budgets allow (placement, fluctuation, causal Jacobian in turn), each with its
    own seed so that no cache answers it."""
    from norm_viz.tools.worstcase import edges

    e = edges()
    base = [("placement", q, "pl_seed") for q in e["placement"]] + [
        ("fluctuation", q, "fl_seed") for q in e["fluctuation"]
    ]
    base += [("causal", q, "seed") for q in e["causal"]]
    out = []
    for i in range(n):
        page, q, key = base[i % len(base)]
        out.append((page, urllib.parse.urlencode({**q, key: str(1_000_003 + 7919 * (i + 1000 * seed))})))
    return out


async def _open(url: str, page: str, query: str, timeout: float) -> tuple[float, str]:
    """Open a page as a new tab and wait for its run; (seconds, "shown" / "refused" / "error: …")."""
    s = Session(url, page, 0, timeout)
    s.query_string = query
    t0 = time.monotonic()
    try:
        await s.load()
        shown = b"Not now" in b"".join(s.last_run.raw)
        outcome = "refused" if shown else "shown"
    except Exception as e:
        outcome = f"error: {type(e).__name__}: {str(e)[:80]}"
    finally:
        with contextlib.suppress(Exception):
            await s.close()
    return time.monotonic() - t0, outcome


async def concurrent_heavy(url: str, pids: Sequence[int], sessions: int = 50, timeout: float = 600.0) -> dict[str, Any]:
    """`sessions` tabs open the heaviest allowed links at the same moment, each with its own seed (issue 18 §3):
    the time until all have their page, the peak RSS of the server's process tree, the health check's latency."""
    links = heavy_links(sessions)
    rss0 = proc_sample(pids)[1] if pids else 0.0
    t0 = time.monotonic()
    with Sampler(url, pids) as smp:
        results = await asyncio.gather(*(_open(url, page, q, timeout) for page, q in links))
    outcomes: dict[str, int] = {}
    for _, o in results:
        outcomes[o if not o.startswith("error") else "error"] = (
            outcomes.get(o if not o.startswith("error") else "error", 0) + 1
        )
    return {
        "sessions": sessions,
        "outcomes": outcomes,
        "errors": sorted({o for _, o in results if o.startswith("error")})[:5],
        "all_done_s": round(time.monotonic() - t0, 1),
        "page_s_median": round(statistics.median(t for t, _ in results), 1),
        "rss_before_mb": round(rss0, 1),
        "rss_peak_mb": round(max(smp.rss, default=rss0), 1),
        "health_ms_median": round(statistics.median(smp.health), 1) if smp.health else None,
        "health_ms_max": round(max(smp.health), 1) if smp.health else None,
        "load_average": os.getloadavg(),
    }


async def heavy_visitor(url: str, tabs: int, stop: asyncio.Event, timeout: float = 600.0) -> dict[str, int]:
    """One visitor looping heavy links in `tabs` tabs until `stop`: each tab opens the next link as soon as the last
    one has its page. Returns the outcomes."""
    outcomes: dict[str, int] = {}
    links = heavy_links(400, seed=7)

    async def tab(k: int) -> None:
        i = k
        while not stop.is_set():
            page, q = links[i % len(links)]
            _, o = await _open(url, page, q, timeout)
            key = o if not o.startswith("error") else "error"
            outcomes[key] = outcomes.get(key, 0) + 1
            i += tabs

    await asyncio.gather(*(tab(k) for k in range(tabs)))
    return outcomes


async def largest_messages(url: str, timeout: float = 300.0) -> list[tuple[int, str]]:
    """The largest websocket message (bytes) the server sends for each page at its worst links (worstcase.WORST and
    the budgets' edges), largest first; what .streamlit/config.toml's server.maxMessageSize must exceed."""
    from norm_viz.tools.worstcase import WORST, edges

    links = {page: list(qs) for page, qs in WORST.items()}
    for page, qs in edges().items():
        links.setdefault(page, []).extend(qs)
    for page in ("start", "real-model", "train-lm", "train-cnn"):
        links.setdefault(page, []).append({})
    links["explorer"].append({"src": "edit", "B": "16", "S": "32", "F": "64"})
    out = []
    for page, qs in links.items():
        for q in qs:
            s = Session(url, page, 0, timeout)
            s.query_string = urllib.parse.urlencode(q)
            try:
                await s.load()
                out.append((max(len(d) for d in s.last_run.raw), f"/{page}?{s.query_string[:70]}"))
            except Exception as e:
                out.append((-1, f"/{page}: {type(e).__name__}: {str(e)[:60]}"))
            finally:
                with contextlib.suppress(Exception):
                    await s.close()
    return sorted(out, reverse=True)


def print_burst(s: dict[str, Any], url: str, page: str) -> str:
    """The burst's summary as lines of text."""
    when = "at the same moment" if not s["spread_s"] else f"within {s['spread_s']:g} s"
    lines = [f"{s['sessions']} sessions on {url}/{page}, burst {s['burst']!r} {when}"]
    if s["skipped"]:
        lines.append(f"  nothing measured: {s['skipped']}")
    else:
        what = "open to page shown" if s["burst"] == "open" else "action to updated view (its run's end)"
        lines.append(
            f"  {what}, ms: median {s['median_ms']}  p95 {s['p95_ms']}  max {s['max_ms']}  ({s['acted']} acted);"
            f" the last one done {s['last_done_s']} s after the burst began; {s['bytes_median'] or 0:,} bytes sent to"
            " each (median, websocket messages of its run)"
        )
    lines.append(f"  errors {s['errors']}  (this client used {s['client_cpu_s']} CPU-s)")
    if s["server_rss_mb"] is not None:
        lines.append(
            f"  server: {s['server_cpu_s']} CPU-s for the burst"
            + ("" if s["server_cpu_ms_per_action"] is None else f" ({s['server_cpu_ms_per_action']} CPU-ms an action)")
            + f", RSS {s['server_rss_mb']} MB,"
            f" {s['rss_per_session_mb']} MB more per added session"
        )
    else:
        lines.append("  server CPU/RSS: no PID given and none found listening on the URL's port on this machine")
    lines.append(
        f"  caches hold {s['cache_mb_after']} MB (before the sessions came: {s['cache_mb_before']} MB);"
        f" during the burst {s['cache_hits']} cache hits, {s['cache_misses']} misses (computations)"
    )
    for name, mb in s["caches_mb"].items():
        lines.append(f"    {mb * 1000:>10,.1f} kB  {name}")
    lines.append(f"  load average (1, 5, 15 min) before {s['load_average_before']}, after {s['load_average_after']}")
    return "\n".join(lines)


CACHE_DECORATOR = re.compile(r"@st\.(cache_data|cache_resource)(?P<args>.*?)\ndef (?P<name>\w+)", re.DOTALL)


def cache_bounds(root: Path | None = None) -> dict[str, tuple[str, int | None]]:
    """Every st.cache_data / st.cache_resource function of the app's source (norm_viz/ and pages/), by the name
    Streamlit's metrics give it (the module and function: `norm_viz.ui.tensor.generated_tensor`, or the page's file
    stem and function for pages, `padding.view_of`): (its kind, its max_entries; None where it has none)."""
    root = root or Path(__file__).resolve().parents[2]
    out: dict[str, tuple[str, int | None]] = {}
    files = [*sorted((root / "norm_viz").rglob("*.py")), *sorted((root / "pages").glob("*.py"))]
    for f in files:
        rel = f.relative_to(root)
        if rel.parts[:2] == ("norm_viz", "tools"):
            continue
        module = ".".join(rel.with_suffix("").parts) if rel.parts[0] == "norm_viz" else f.stem
        for m in CACHE_DECORATOR.finditer(f.read_text()):
            n = re.search(r"max_entries\s*=\s*(\d+)", m.group("args") or "")
            out[f"{module}.{m.group('name')}"] = (m.group(1), int(n.group(1)) if n else None)
    return out


def cache_match(metric_name: str, bounds: dict[str, tuple[str, int | None]]) -> str | None:
    """The source function a metric's cache name stands for (pages' functions are named by the page's script, in
    whatever form Streamlit gives it: a path's stem, or a dotted module)."""
    if metric_name in bounds:
        return metric_name
    tail = metric_name.replace("/", ".")
    return next((k for k in bounds if tail.endswith("." + k) or tail.endswith(k)), None)


def _page_name(name: str, page: str) -> str:
    """Streamlit names a page's cached function `__main__.<function>` (every page's `view_of` under one name): the
    audit, which fills one page at a time, names it `<page>.<function>` as cache_bounds does."""
    return f"{page}.{name.removeprefix('__main__.')}" if name.startswith("__main__.") else name


async def cache_audit(url: str, pids: Sequence[int], timeout: float = 600.0, settle: float = 5.5) -> dict[str, Any]:
    """Fill every page's caches at its heaviest links (worstcase.WORST and the budgets' edges), one tab and one page
    at a time; per cache: its max_entries (from the source), the entries made (misses), the bytes they hold
    (Streamlit's cache_memory_bytes, read `settle` s after each page: the server's figure is a snapshot at most 5 s
    old), the bytes per entry at those links and the bound they give (max_entries × bytes per entry); and the
    server's RSS before and after. A cache without max_entries is listed as unbounded."""
    from norm_viz.tools.worstcase import WORST, edges

    links = {page: list(qs) for page, qs in WORST.items()}
    for page, qs in edges().items():
        links.setdefault(page, []).extend(qs)
    bounds = cache_bounds()
    rss0 = proc_sample(pids)[1] if pids else None

    def misses() -> dict[str, float]:
        return {k[0]: v for k, v in metrics(url, "cache_lookups_total").items() if k[-1] == "miss"}

    held_before, made_before = cache_bytes(url), misses()
    held: dict[str, float] = {}
    made: dict[str, int] = {}
    errors = []
    for page, qs in links.items():
        for q in qs:
            s = Session(url, page, 0, timeout)
            s.query_string = urllib.parse.urlencode(q)
            try:
                await s.load()
            except Exception as e:
                errors.append(f"/{page}: {type(e).__name__}: {str(e)[:80]}")
            finally:
                with contextlib.suppress(Exception):
                    await s.close()
        await asyncio.sleep(settle)
        held_now, made_now = cache_bytes(url), misses()
        for name in set(held_now) | set(made_now):
            if name in (SESSION_STATE, "UploadedFileManager"):
                continue
            key = _page_name(name, page)
            grew = held_now.get(name, 0.0) - held_before.get(name, 0.0)
            new = int(made_now.get(name, 0) - made_before.get(name, 0))
            if new or grew:
                held[key] = held.get(key, 0.0) + grew
                made[key] = made.get(key, 0) + new
        held_before, made_before = held_now, made_now
    rows: list[dict[str, Any]] = []
    seen = set()
    for name in sorted(set(held) | set(made)):
        src = cache_match(name, bounds)
        if src:
            seen.add(src)
        kind, cap = bounds.get(src or "", ("?", None))
        entries, b = made.get(name, 0), max(held.get(name, 0.0), 0.0)
        per = b / min(entries, cap or entries) if entries and b else None
        rows.append(
            {
                "cache": name,
                "kind": kind,
                "max_entries": cap,
                "entries_made": entries,
                "bytes_held": int(b),
                "bytes_per_entry": None if per is None else int(per),
                "bound_bytes": None if per is None or cap is None else int(per * cap),
            }
        )
    return {
        "caches": sorted(rows, key=lambda r: -(r["bound_bytes"] or 0)),
        "unbounded": sorted(k for k, (_, cap) in bounds.items() if cap is None),
        "not_filled": sorted(set(bounds) - seen),
        "bound_total_mb": round(sum(r["bound_bytes"] or 0 for r in rows) / 1e6, 1),
        "held_total_mb": round(sum(r["bytes_held"] for r in rows) / 1e6, 1),
        "rss_before_mb": None if rss0 is None else round(rss0, 1),
        "rss_after_mb": round(proc_sample(pids)[1], 1) if pids else None,
        "errors": errors,
        "load_average": os.getloadavg(),
    }


def _pair(text: str) -> tuple[float, float]:
    lo, _, hi = text.partition(",")
    a, b = float(lo), float(hi or lo)
    if a < 0 or b < a:
        raise argparse.ArgumentTypeError(f"--think wants LO,HI seconds with 0 <= LO <= HI, got {text!r}")
    return a, b


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """asyncio.run, also where this thread already runs an event loop (a caller inside another async framework, such
    as playwright's sync API in the same test process): then in a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m norm_viz.tools.loadtest", description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", default="http://127.0.0.1:8501", help="the app (or the load balancer in front of it)")
    ap.add_argument("--sessions", type=int, default=10, help="simulated users, each a real Streamlit session")
    ap.add_argument("--think", type=_pair, default=(5.0, 15.0), help="think time LO,HI in seconds (0,0: no pause)")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of load after every user has loaded the page")
    ap.add_argument("--page", default="explorer", help="the url_path of the page users open")
    ap.add_argument(
        "--action",
        default="mixed",
        choices=["mixed", *EXPLORER_KINDS, "param"],
        help="what users do on the Explorer: click the cube (a cell, a small cube's norm), type a cell, choose a norm,"
        " set ε (param), or a mix of the first four (other pages: presentation mode on and off); where the page has no"
        " such widget (an Explorer that switches norms and cells in the browser sends nothing for them), ε instead",
    )
    ap.add_argument("--pid", default="", help="server PIDs to measure, comma-separated (default: found from the port)")
    ap.add_argument("--ramp", type=float, default=5.0, help="seconds over which users arrive")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds a run may take before it counts as an error")
    ap.add_argument("--seed", type=int, default=0, help="random seed of think times and choices")
    ap.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    ap.add_argument(
        "--stop-check",
        action="store_true",
        help="instead of a load: does a closed tab stop its work? (a heavy run to its end vs. one closed at its start)",
    )
    ap.add_argument("--heavy-tabs", type=int, default=0, help="meanwhile one visitor loops heavy links in N tabs")
    attack = ap.add_mutually_exclusive_group()
    attack.add_argument("--upload-flood", type=int, metavar="N", help="one tab sends 2 MB to each of N upload URLs")
    attack.add_argument(
        "--export-resend", type=int, metavar="N", help="one tab resends the PNG download request N times"
    )
    attack.add_argument("--concurrent-heavy", type=int, metavar="N", help="N tabs open the heaviest links at once")
    attack.add_argument(
        "--burst",
        choices=BURSTS,
        help="every session acts at the same moment: norm (choose another norm), param (set ε), cell (type a cell), open"
        " (open the page); prints median/p95/max from each session's action to its run's end, the last one's end,"
        " server CPU-s, RSS per added session and the bytes the caches hold",
    )
    attack.add_argument(
        "--cache-audit",
        action="store_true",
        help="fill every page's caches at its heaviest links; per cache: max_entries, bytes held, bytes per entry and"
        " the bound (max_entries × bytes per entry)",
    )
    attack.add_argument(
        "--largest-message", action="store_true", help="the largest websocket message of every page at its worst links"
    )
    ap.add_argument(
        "--spread",
        type=float,
        default=None,
        help="--burst: the sessions act evenly over this many seconds (default: 1 for open, 0 for the others)",
    )
    ap.add_argument("--query", default="", help="--burst: the link's query string (default: the page's defaults)")
    ap.add_argument(
        "--assets", action="store_true", help="--burst open: fetch index.html and its static files first (no cache)"
    )
    a = ap.parse_args(argv)
    pids = [int(p) for p in a.pid.split(",") if p.strip()]
    if not pids:
        port = urllib.parse.urlparse(a.url).port or 80
        pids = pids_on_port(port)
    if a.upload_flood or a.export_resend or a.concurrent_heavy:
        if a.upload_flood:
            out = run_sync(upload_flood(a.url, pids, a.upload_flood, timeout=max(a.timeout, 120)))
        elif a.export_resend:
            out = run_sync(export_resend(a.url, pids, a.export_resend, timeout=max(a.timeout, 300)))
        else:
            out = run_sync(concurrent_heavy(a.url, pids, a.concurrent_heavy, timeout=max(a.timeout, 600)))
        print(json.dumps(out) if a.json else "\n".join(f"  {k}: {v}" for k, v in out.items()))
        return 0
    if a.burst:
        spread = a.spread if a.spread is not None else (1.0 if a.burst == "open" else 0.0)
        b = run_sync(
            run_burst(a.url, a.sessions, a.burst, pids, spread, a.page, a.query, max(a.timeout, 120), a.assets)
        )
        bs = b.summary()
        if a.json:
            print(json.dumps(bs))
        else:
            print(print_burst(bs, a.url, a.page))
        return 1 if b.errors else 0
    if a.cache_audit:
        audit = run_sync(cache_audit(a.url, pids, max(a.timeout, 600)))
        if a.json:
            print(json.dumps(audit))
            return 1 if audit["errors"] else 0
        print(f"{'cache':<58}{'max':>5}{'made':>6}{'held kB':>10}{'kB/entry':>10}{'bound MB':>10}")
        for r in audit["caches"]:
            per, bound = r["bytes_per_entry"], r["bound_bytes"]
            print(
                f"{r['cache'][:57]:<58}{r['max_entries'] if r['max_entries'] is not None else '∞':>5}"
                f"{r['entries_made']:>6}{r['bytes_held'] / 1e3:>10,.1f}"
                f"{'' if per is None else f'{per / 1e3:,.1f}':>10}{'' if bound is None else f'{bound / 1e6:,.2f}':>10}"
            )
        print(f"  held {audit['held_total_mb']} MB; bound (max_entries × bytes per entry) {audit['bound_total_mb']} MB")
        print(f"  without max_entries: {', '.join(audit['unbounded']) or 'none'}")
        print(f"  not filled by these links: {', '.join(audit['not_filled']) or 'none'}")
        print(f"  server RSS {audit['rss_before_mb']} -> {audit['rss_after_mb']} MB")
        print(f"  load average (1, 5, 15 min): {audit['load_average']}")
        for e in audit["errors"]:
            print(f"  error: {e}")
        return 1 if audit["errors"] else 0
    if a.largest_message:
        for size, what in run_sync(largest_messages(a.url, max(a.timeout, 300))):
            print(f"{size:>10,} B  {what}")
        return 0
    if a.stop_check:
        c = run_sync(stop_check(a.url, pids, a.seed, a.timeout))
        if a.json:
            print(json.dumps(c.__dict__))
        else:
            print(f"/{STOP_PAGE}?{STOP_QUERY.format(seed='…')} on {a.url}")
            print(f"  run to its end: {c.full_cpu_s:.2f} server CPU-s, {c.full_wall_s:.2f} s")
            print(
                f"  tab closed when the spinner appeared, {c.left_at_close_cpu_s:.2f} CPU-s of work left: it used"
                f" {c.after_close_cpu_s:.2f} server CPU-s after the close, and the server was busy until"
                f" {c.to_idle_s:.2f} s after it"
            )
        return 0
    rep = run_sync(
        run_load(
            a.url,
            a.sessions,
            a.think,
            a.duration,
            a.page,
            a.action,
            pids,
            a.seed,
            a.ramp,
            a.timeout,
            None,
            a.heavy_tabs,
        )
    )
    s = rep.summary()
    if a.json:
        print(json.dumps(s))
    else:
        print(f"{a.sessions} sessions, think {a.think[0]:g}-{a.think[1]:g} s, {s['duration_s']} s on {a.url} /{a.page}")
        print(
            f"  latency ms: median {s['median_ms']}  p95 {s['p95_ms']}  p99 {s['p99_ms']}  max {s['max_ms']}"
            f"  ({s['reruns']} reruns, {s['reruns_per_s']}/s; page load median {s['page_load_median_ms']} ms)"
        )
        print(
            f"  errors {s['errors']}  cross-session leaks {s['leaks']}  reconnects {s['reconnects']}"
            f"  (this client used {s['client_cpu_percent']}% of one core)"
        )
        if pids:
            print(
                f"  server (PIDs {','.join(map(str, pids))} and children): CPU {s['server_cpu_percent']}% of one core"
                f" ({s['server_cpu_ms_per_rerun']} CPU-ms per rerun),"
                f" RSS {s['server_rss_mb']} MB, {s['rss_per_session_mb']} MB more per added session"
            )
        else:
            print("  server CPU/RSS: no PID given and none found listening on the URL's port on this machine")
        if rep.replicas:
            print(f"  sessions per replica (at the end): {rep.replicas}")
        if rep.heavy:
            print(f"  the heavy visitor's {a.heavy_tabs} tabs got: {rep.heavy}")
        print(f"  load average (1, 5, 15 min): {s['load_average']}")
        for e in sorted(set(rep.errors))[:10]:
            print(f"  error: {e}")
        for e in sorted(set(rep.leaks))[:10]:
            print(f"  LEAK: {e}")
    return 1 if rep.errors or rep.leaks else 0


if __name__ == "__main__":
    sys.exit(main())
