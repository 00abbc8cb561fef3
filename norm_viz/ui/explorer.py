"""The Explorer as one browser component (st.components.v2): the server computes every row of NORMS on the tensor
once (norm_viz/explore/payload.py, cached for the whole process and bounded), the browser (explore/explorer.js, on
top of the shared cube renderer cube/cube.js) switches norms and cells with no rerun.

The browser's view comes back without a rerun: it writes it into a hidden text input whose on_change is "ignore",
so Python reads it with the next rerun that something else causes (take_report), and into the URL itself.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import streamlit as st
import torch

from norm_viz.core.config import NormConfig
from norm_viz.core.table import NORMS, norm_params
from norm_viz.explore.payload import explorer_payload, message, ships_all
from norm_viz.explore.script import script, style
from norm_viz.ui import cache_stats
from norm_viz.ui.norm import declare_norm_params, lengths_input, param_widget, settle_params
from norm_viz.ui.state import CELL_KEYS

ID = "nvx"
"""The component's id; its widgets' keys start with it (explorer.js hides and fills them by these keys)."""
JS, CSS = script(), style()

_COMPONENT = st.components.v2.component("norm_viz.explorer", js=JS, css=CSS)
VIEW_JS = """
export default function ({ data }) {
  const all = (window.__nvxView = window.__nvxView || {});
  const last = all[data.id];
  if (last && last.rev >= data.rev) return;
  all[data.id] = data;
  window.dispatchEvent(new CustomEvent("nvx-view", { detail: data }));
}
"""
_VIEW = st.components.v2.component("norm_viz.explorer_view", js=VIEW_JS)
"""Carries the page's view (norm, cell, batch item, colour scale) with a revision: the browser takes a newer one."""

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass
class CacheInfo:
    entries: int
    bytes: int
    hits: int
    misses: int
    max_entries: int
    max_bytes: int


class BoundedCache(Generic[K, V]):
    """A process-wide LRU cache bounded in entries AND bytes; concurrent misses on one key compute it once (the
    others wait for it), so a class opening the same link costs one computation. The byte bound is the one that
    matters: many small entries fit (a class of 100 students toggling ε keeps every student's two views), few large
    ones; the entry bound only caps the bookkeeping."""

    def __init__(self, max_entries: int, max_bytes: int, size: Callable[[V], int]) -> None:
        self.max_entries, self.max_bytes, self._size = max_entries, max_bytes, size
        self._data: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._bytes = 0  # the sum of the entries' sizes, kept as they come and go
        self._lock = threading.Lock()
        self._pending: dict[K, threading.Event] = {}
        self.hits = self.misses = 0

    def get(self, key: K, compute: Callable[[], V]) -> V:
        while True:
            with self._lock:
                if key in self._data:
                    self._data.move_to_end(key)
                    self.hits += 1
                    return self._data[key][0]
                wait = self._pending.get(key)
                if wait is None:
                    self._pending[key] = threading.Event()
                    self.misses += 1
                    break
            wait.wait(timeout=60)  # another session is computing it
        try:
            value = compute()
            n = self._size(value)
            with self._lock:
                if n <= self.max_bytes:
                    old = self._data.pop(key, None)
                    self._bytes += n - (old[1] if old else 0)
                    self._data[key] = (value, n)
                    while len(self._data) > self.max_entries or self._bytes > self.max_bytes:
                        self._bytes -= self._data.popitem(last=False)[1][1]
            return value
        finally:
            with self._lock:
                self._pending.pop(key).set()

    @property
    def bytes(self) -> int:
        return self._bytes

    def info(self) -> CacheInfo:
        with self._lock:
            return CacheInfo(len(self._data), self.bytes, self.hits, self.misses, self.max_entries, self.max_bytes)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._bytes = self.hits = self.misses = 0


ROW_OVERHEAD = 8192
"""Bytes a payload's row holds besides its arrays (dicts, texts, the histogram's lists): tracemalloc measured
about 7.5 KB per row on the default tensor."""


def _payload_size(p: dict[str, Any]) -> int:
    arrays = [p["x"]] + [r[k] for r in p["rows"].values() for k in ("y", "mean", "var") if r.get(k) is not None]
    return sum(int(a.nbytes) for a in arrays) + ROW_OVERHEAD * len(p["rows"])


PAYLOADS: BoundedCache[tuple, dict[str, Any]] = BoundedCache(256, 48 * 2**20, _payload_size)
"""Every row computed, per (tensor, parameters), for tensors whose outputs travel on first use only (the others'
messages are made once, straight from the payload): the largest allowed tensor takes about 1.7 MB."""


def _row_size(r: dict[str, Any]) -> int:
    return sum(int(r[k].nbytes) for k in ("y", "mean", "var", "xhat") if r.get(k) is not None) + ROW_OVERHEAD


ROWS: BoundedCache[tuple, dict[str, Any]] = BoundedCache(1024, 4 * 2**20, _row_size)
"""The rows computed last, per (tensor, the row's own config): a change of G or α computes the one row that uses it, a
change of ε all of them (a row's config holds ε). Small on purpose: it serves one visitor's next change (the default
tensor's row takes about 9 KB, the largest's 140 KB, 270 KB where its x̂ travels too); holding 32 MB of rows cost a
class toggling ε (which never reuses a row) 1.4 CPU-ms per rerun and 14 MB of RSS for nothing."""
MESSAGES: BoundedCache[tuple, bytes] = BoundedCache(4096, 32 * 2**20, len)
"""The binary messages, per (tensor, parameters, rows whose outputs travel): the default tensor's is 30 KB, so a
class of 100 students with two ε each (200 messages, 6 MB) stays cached; the largest tensor's first message 200 KB."""
cache_stats.register("norm_viz.ui.explorer.PAYLOADS", lambda: PAYLOADS.info().bytes)
cache_stats.register("norm_viz.ui.explorer.MESSAGES", lambda: MESSAGES.info().bytes)
cache_stats.register("norm_viz.ui.explorer.ROWS", lambda: ROWS.info().bytes)


def cache_info() -> dict[str, CacheInfo]:
    """Entries, bytes, hits and misses of the Explorer's process-wide caches (for tools and the bench)."""
    return {"payloads": PAYLOADS.info(), "messages": MESSAGES.info(), "rows": ROWS.info()}


def _digest(x: torch.Tensor) -> str:
    data = x.detach().cpu().contiguous()
    return hashlib.blake2b(
        data.numpy().tobytes() + f"{tuple(data.shape)}{data.dtype}".encode(), digest_size=16
    ).hexdigest()


@dataclass(frozen=True)
class Controls:
    """The page's parameters: ε, γ, β and lengths (base) and every row's own parameters by URL key."""

    base: NormConfig
    params: tuple[tuple[str, Any], ...]


def explorer_controls(shape: tuple[int, int, int]) -> Controls:
    """ε, γ, β, the padding lengths and the parameters of EVERY row (GroupNorm's G, DyT's α, …) in containers the
    browser shows or hides as its norm changes; the norm picker itself is in the component."""
    f = shape[2]
    settle_params(norm_params(), f, declare_norm_params())  # every row's: the browser may switch to any of them
    row = st.container(horizontal=True, vertical_alignment="bottom")
    row.number_input(
        "ε (eps)", 0.0, 10.0, format="%.0e", key="eps", help="added to the variance inside the square root", width=130
    )
    row.number_input(
        "γ", -100.0, 100.0, key="gamma", help="scale applied after normalizing (same for every feature)", width=110
    )
    row.number_input("β", -100.0, 100.0, key="beta", help="shift applied after scaling", width=110)
    seen: set[str] = set()
    for spec in NORMS.values():
        for p in spec.params:
            if p.key in seen:
                continue
            seen.add(p.key)
            param_widget(row.container(key=f"{ID}_param_{p.key}", width=220), p, f)
    # a bad list: its message, and the page goes on without padding
    lengths = lengths_input(st.container(key=f"{ID}_param_lengths"), shape) or ()
    ss = st.session_state
    base = NormConfig(ss.norm, float(ss.eps), float(ss.gamma), float(ss.beta), lengths)
    return Controls(base, tuple((p.key, ss[p.key]) for p in norm_params()))


_REPORT = f"_{ID}_report"
"""The hidden input the browser writes its view into ("_": never in the URL; the view is there by its own keys)."""
_SEEN = f"_{ID}_report_seen"
_KNOWN = f"_{ID}_known"
"""(revision, (view sent, presenting), view the browser is known to show)."""


def take_report(shape: tuple[int, int, int]) -> bool:
    """The view the browser reported since the last run (norm|b,s,f|item|shared) into session state; True if any.

    Call before the cell and norm widgets' state is read. A malformed report (it is the browser's own text, but a
    visitor could type into it) is ignored."""
    ss = st.session_state
    text = ss.get(_REPORT) or ""
    if not text or text == ss.get(_SEEN):
        return False
    ss[_SEEN] = text
    try:
        norm, cell_text, item, shared = text.split("|")
        cell = tuple(int(v) for v in cell_text.split(","))
        item_n, shared_b = int(item), shared == "1"
    except ValueError:
        return False
    if norm not in NORMS or len(cell) != 3 or not all(0 <= v < n for v, n in zip(cell, shape, strict=True)):
        return False
    if not 0 <= item_n < shape[0]:
        return False
    ss.norm = norm
    for k, v in zip(CELL_KEYS, cell, strict=True):
        ss[k] = v
    ss.show_b, ss.shared_scale = item_n, shared_b
    view = (norm, cell, item_n, shared_b)
    known = ss.get(_KNOWN)
    if known is not None:  # the browser shows it already: no command for it
        ss[_KNOWN] = (known[0], known[1], view)
    return True


def _message(x: torch.Tensor, c: Controls, outputs: tuple[str, ...]) -> tuple[bytes, bool]:
    """The cached message of this tensor and these parameters; True when every row's output is in it."""
    digest = _digest(x)
    key = (digest, c.base.eps, c.base.gamma, c.base.beta, c.base.lengths, c.params, tuple(NORMS))
    params = dict(c.params)

    def payload() -> dict[str, Any]:
        def row(cfg: NormConfig, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
            return ROWS.get((digest, cfg), compute)

        return explorer_payload(x, NormConfig("layernorm", *_base(c)), params, row_cache=row)

    b, s, f = x.shape
    full = ships_all({"shape": [b, s, f], "rows": NORMS})
    if full:  # one message per key: the payload is not needed again
        return MESSAGES.get((key, None), lambda: message(payload())), True
    wanted = tuple(sorted(k for k in set(outputs) if k in NORMS))
    return MESSAGES.get((key, wanted), lambda: message(PAYLOADS.get(key, payload), wanted)), False


def _base(c: Controls) -> tuple[float, float, float, tuple[int, ...]]:
    return c.base.eps, c.base.gamma, c.base.beta, c.base.lengths


def explorer(
    x: torch.Tensor,
    c: Controls,
    view: tuple[str, tuple[int, int, int], int, bool],
    *,
    present: bool = False,
) -> None:
    """The Explorer component: every row on `x` with the parameters `c`, showing `view` (norm, cell, batch item,
    shared colour scale); the browser then moves the view by itself."""
    ss = st.session_state
    known: Any = ss.get(_KNOWN)
    changed = known is None or known[2] != view or known[1][4] != present
    if changed:
        rev = 0 if known is None else known[0] + 1
        known = (rev, (*view, present), view)
        ss[_KNOWN] = known
    rev, (norm, cell, item, shared, _), _ = known
    loaded = ss.setdefault(f"_{ID}_outputs", set())
    need = (ss.get(ID) or {}).get("need")
    if isinstance(need, str) and need in NORMS:
        loaded.add(need)
    loaded.add(view[0])
    data, _full = _message(x, c, tuple(sorted(loaded)))
    command = {
        "id": ID,
        "rev": rev,
        "norm": norm,
        "cell": list(cell),
        "item": item,
        "shared": shared,
        "present": present,
    }
    if changed:  # the browser keeps the last view it took (a reload starts a new session: rev 0 again)
        _VIEW(key=f"{ID}_view", data=command, height=0)
    _COMPONENT(key=ID, data=data, height="content", on_need_change=lambda: None)
    with st.container(key=f"{ID}_hidden"):
        st.text_input(
            "Explorer view (filled by the page)", key=_REPORT, on_change="ignore", label_visibility="collapsed"
        )
    # nothing to see in the view carrier and the report box: neither they nor their wrappers take a line and its gap
    hidden = (f".st-key-{ID}_hidden", f".st-key-{ID}_view")
    rules = ", ".join([*hidden, *(f'[data-testid="stLayoutWrapper"]:has(> {k})' for k in hidden)])
    st.html(f"<style>{rules} {{ display: none !important; }}</style>")
