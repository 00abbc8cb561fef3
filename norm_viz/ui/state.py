"""URL state: every widget keeps its value in st.session_state under a short key that is also a URL parameter.

A widget's value comes, in this order, from: a URL value that this app did not write itself (a shared link, a
page link with query parameters, an edited address), the widget's current value, the value it had when last
shown on another page, the default. A malformed parameter falls back with a visible notice. Keys starting with
"_" are never put in the URL. Pages declare their parameters once, as a tuple of core.params.Param.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import streamlit as st

from norm_viz.core import params as P
from norm_viz.core.params import Param
from norm_viz.ui.safety import literal

T = TypeVar("T")


class _SharedKeys(Sequence[str]):
    """The widget keys every page shares (the sidebar tensor and the norm), kept alive across page switches.

    Built from the parameter tables on use, so that a NORMS row added at run time brings its parameters along.
    """

    def _keys(self) -> tuple[str, ...]:
        from norm_viz.core.table import norm_params
        from norm_viz.ui.norm import NORM_PARAMS
        from norm_viz.ui.tensor import TENSOR_PARAMS

        return (*P.keys(TENSOR_PARAMS), *P.keys(NORM_PARAMS), *P.keys(norm_params()))

    def __getitem__(self, i: Any) -> Any:
        return self._keys()[i]

    def __iter__(self) -> Iterator[str]:  # build the keys once per iteration, not once per item
        return iter(self._keys())

    def __contains__(self, key: object) -> bool:
        return key in self._keys()

    def __len__(self) -> int:
        return len(self._keys())


SHARED_KEYS: Sequence[str] = _SharedKeys()


GLOBAL_KEYS = ("present", "lesson")  # "lesson": the lesson step, read by ui/lesson.py (never a widget)


CELL_KEYS = ("cb", "cs", "cf")


_NOTICES = "_url_notices"


_KEEP = "_keep_"


_WRITTEN = "_url_written"


_RUN = threading.local()


_CHECKED = "_url_checked"


def notice(msg: str) -> None:
    """Show a URL notice in the box app.py put at the top of the page (or queue it for show_url_notices)."""
    box = getattr(_RUN, "notice_box", None)
    if box is not None:
        box.warning(msg, icon=":material/link_off:")
    else:
        st.session_state.setdefault(_NOTICES, []).append(msg)


def fragment_rerun() -> bool:
    """True while Streamlit reruns only a fragment (st.fragment): the rest of the page, app.py's frame included,
    does not run."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    ctx = get_script_run_ctx()
    return bool(ctx is not None and ctx.fragment_ids_this_run)


def fragment_notices() -> None:
    """At a fragment's start: on a rerun of the fragment alone, its URL notices go into a box inside it (app.py's
    box at the page's top belongs to the last whole-page run)."""
    if fragment_rerun():
        _RUN.notice_box = st.container()


def _ensure_router() -> None:
    """Rerun through app.py when Streamlit ran a page file directly.

    With a pages/ folder, the first run after a server start uses Streamlit's legacy pages-folder mode: a link to
    /walkthrough runs pages/walkthrough.py without app.py (no presentation toggle, no URL notices, other sidebar).
    app.py's st.navigation switches that mode off for good; until it has run once, a page reruns the script.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def init_state(key: str, default: Any, parse: Callable[[str], Any]) -> bool:
    """Give widget `key` its value: from the URL when it came from outside and is valid, else keep or default it.

    Returns True when the value was taken from the URL on this run (so that a page can check it further).
    """
    _ensure_router()
    ss = st.session_state
    written = ss.setdefault(_WRITTEN, {})
    raw = st.query_params.get(key)
    if raw is not None and raw != written.get(key):  # a link or an edited address, not our own last write
        written[key] = raw
        try:
            ss[key] = parse(raw)
            return True
        except (ValueError, TypeError) as e:
            fallback = ss.get(key, ss.get(_KEEP + key, default))
            notice(f"URL parameter {literal(f'{key}={raw}', 60)} was ignored: {e}. Using {literal(repr(fallback))}.")
    if key in ss:
        ss[key] = ss[key]  # a value Streamlit keeps even if the widget is new here
    elif _KEEP + key in ss:  # the widget was on another page: restore its last value
        ss[key] = ss[_KEEP + key]
    else:
        ss[key] = default
    return False


def show_url_notices() -> None:
    """Show notices queued while no notice box existed (app.py normally shows them at the top at once)."""
    _ensure_router()
    for msg in st.session_state.pop(_NOTICES, []):
        st.warning(msg, icon=":material/link_off:")


def _as_text(v: Any) -> str:
    return ("1" if v else "0") if isinstance(v, bool) else str(v)


def _write_url(keys: Sequence[str]) -> None:
    ss = st.session_state
    written = ss.setdefault(_WRITTEN, {})
    changed = {}
    for k in keys:
        if k in ss and not k.startswith("_"):
            v = _as_text(ss[k])
            written[k] = v
            if st.query_params.get(k) != v:
                changed[k] = v
    if changed:
        st.query_params.update(changed)  # one message to the browser, however many keys changed


def sync_url(keys: Sequence[str | Param]) -> None:
    """Write the current values of `keys` (names or Params) to the URL so that the link reproduces this view;
    drop other keys."""
    ss = st.session_state
    names = [k.key if isinstance(k, Param) else k for k in keys]
    remember(names)
    _write_url(names)
    allowed = set(names) | set(GLOBAL_KEYS)
    unknown = [k for k in st.query_params if k not in allowed]
    if unknown and not ss.get(_CHECKED):  # only a link from outside deserves a notice
        shown = ", ".join(literal(k, 40) for k in unknown[:8])
        notice(f"URL parameter(s) {shown} are not used by this page and were removed.")
    for k in unknown:
        del st.query_params[k]
    ss[_CHECKED] = True


def remember(keys: Sequence[str]) -> None:
    """Copy widget values to keys Streamlit does not clean up, so that they survive a page switch."""
    for k in keys:
        if k in st.session_state:
            st.session_state[_KEEP + k] = st.session_state[k]


def declare(params: Sequence[Param]) -> dict[str, bool]:
    """Give every parameter of a page's table its value (URL, session, default); returns which came from the URL."""
    return {p.key: init_state(p.key, p.default, p.parse) for p in params}


def values(params: Sequence[Param]) -> dict[str, Any]:
    """The current values of a parameter table, by key."""
    return {p.key: st.session_state[p.key] for p in params if p.key in st.session_state}


def config(cls: type[T], params: Sequence[Param], **extra: Any) -> T:
    """The page's frozen config, filled from its parameter table's current values (plus `extra`)."""
    return P.build(cls, params, values(params), **extra)


def clamp(param: Param, hi: float | None = None) -> Any:
    """Move a parameter's value into its range (`hi` may be tightened, e.g. to the tensor's size); returns it."""
    st.session_state[param.key] = v = param.clamp(st.session_state[param.key], hi)
    return v
