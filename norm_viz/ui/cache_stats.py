"""Caches of our own (outside st.cache_data) in Streamlit's cache figures, so that the operator and the load driver
see every cache's bytes in one place: `/_stcore/metrics`, family `cache_memory_bytes`, cache type "norm_viz" (that
endpoint is the operator's: deploy/nginx.conf.template does not pass it to visitors).

A module that keeps a process-wide cache registers a function giving its bytes, once at import:

    cache_stats.register("norm_viz.ui.explorer.PAYLOADS", lambda: PAYLOADS.info().bytes)

`python -m norm_viz.tools.loadtest --burst …` then reports it with Streamlit's own caches at the end of a run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

CACHE_TYPE = "norm_viz"
"""The cache_type label our caches carry in cache_memory_bytes (Streamlit's: st_cache_data, st_session_state…)."""

_SOURCES: dict[str, Callable[[], int]] = {}
_LOCK = threading.Lock()
_REGISTERED: set[int] = set()  # the stats managers (one per Streamlit runtime) that know the provider


class CacheBytes:
    """A Streamlit stats provider for the cache_memory_bytes family: one figure per registered cache."""

    @property
    def stats_families(self) -> Sequence[str]:
        from streamlit.runtime.stats import CACHE_MEMORY_FAMILY

        return (CACHE_MEMORY_FAMILY,)

    def get_stats(self, family_names: Sequence[str] | None = None) -> Mapping[str, Sequence[Any]]:
        from streamlit.runtime.stats import CACHE_MEMORY_FAMILY, CacheStat

        with _LOCK:
            sources = list(_SOURCES.items())
        stats = []
        for name, nbytes in sources:
            try:
                stats.append(CacheStat(CACHE_TYPE, name, int(nbytes())))
            except Exception:  # a figure must never break the metrics endpoint
                continue
        return {CACHE_MEMORY_FAMILY: stats}


PROVIDER = CacheBytes()


def register(name: str, nbytes: Callable[[], int], manager: Any = None) -> None:
    """Report the cache `name` (its bytes: `nbytes()`) in /_stcore/metrics. `manager`: a Streamlit StatsManager
    (default: the running server's; nothing to do where no server runs, as in a test without one)."""
    with _LOCK:
        _SOURCES[name] = nbytes
    if manager is None:
        from streamlit.runtime import Runtime

        if not Runtime.exists():
            return
        manager = Runtime.instance().stats_mgr
    with _LOCK:
        if id(manager) in _REGISTERED:
            return
        _REGISTERED.add(id(manager))
    manager.register_provider(PROVIDER)
