"""The page frame: links between pages, presentation mode, charts at full width, verdict tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st

from norm_viz.core.params import flag
from norm_viz.ui.state import _RUN, CELL_KEYS, GLOBAL_KEYS, SHARED_KEYS, _write_url, init_state

_PAGES: dict[str, Any] = {}


def register_pages(pages: dict[str, list[Any]]) -> None:
    """Called by app.py with its PAGES, so that pages can link to each other by url_path."""
    _PAGES.clear()
    # the default page's public url_path is "" (the root); its own one is what links name
    _PAGES.update({getattr(p, "_url_path", "") or p.url_path: p for group in pages.values() for p in group})


def page_link(url_path: str, label: str, query: Sequence[tuple[str, str]] = (), container: Any = None) -> bool:
    """A link to another page with query parameters; a caption instead when no page has that url_path."""
    box = container or st
    page = _PAGES.get(url_path)
    if page is None:
        box.caption(f"{label}: the '{url_path}' demo is not part of this build.")
        return False
    box.page_link(page, label=label, icon=":material/open_in_new:", query_params=dict(query) or None)
    return True


_NAV_CSS = """
<style>
[data-testid="stSidebarNavItems"] { max-height: 42vh; overflow-y: auto; }
</style>
"""


def begin_page() -> None:
    """Called by app.py on every run before the page: the presentation toggle and the box for URL notices."""
    st.markdown(_NAV_CSS, unsafe_allow_html=True)
    presentation_toggle()
    _RUN.notice_box = st.container()


def presenting() -> bool:
    """True while presentation mode is on (controls hidden, larger text and figures)."""
    return bool(st.session_state.get("present", False))


_PRESENT_CSS = """
<style>
html { font-size: 21px; }
section[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"],
[data-testid="stSidebarNav"], header[data-testid="stHeader"] { display: none !important; }
[data-testid="stMainBlockContainer"] { max-width: 100% !important; padding: 1.2rem 2.5rem 2rem 2.5rem !important; }
h1 { font-size: 2.6rem !important; }
{hidden} { display: none !important; }
</style>
"""


def presentation_toggle() -> None:
    """The 'Presentation mode' switch: in the sidebar when off, top right when on (the sidebar is then hidden)."""
    init_state("present", False, flag)
    on = presenting()
    where = st.container(horizontal=True, horizontal_alignment="right") if on else st.sidebar
    where.toggle(
        ":material/co_present: Presentation mode",
        key="present",
        help="Hides the controls and enlarges text and figures, for a projector; the link keeps it on.",
    )
    if on:
        hidden = ", ".join(f".st-key-{k}" for k in (*SHARED_KEYS, *CELL_KEYS))  # the controls presentation mode hides
        st.markdown(_PRESENT_CSS.replace("{hidden}", hidden), unsafe_allow_html=True)
    _write_url(GLOBAL_KEYS)


def chart(fig: Any, key: str, **kwargs: Any) -> Any:
    """st.plotly_chart at full width, with fonts and height enlarged in presentation mode."""
    from norm_viz.core.theme import scaled

    if presenting():
        fig = scaled(fig, 1.35)
    return st.plotly_chart(fig, width="stretch", key=key, **kwargs)


GOOD_BG = "#CDEFE3"  # a light tint of figures.OUTPUT: the answer a transformer wants


BAD_BG = "#F9D5C0"  # a light tint of figures.SELECTED: the answer that breaks it


def verdict_table(rows: Sequence[dict[str, Any]], good: dict[str, str]) -> Any:
    """A styled table: in each column of `good`, cells starting with its good word are tinted green, others orange.

    Words rather than emoji, because a projector's browser may lack an emoji font; cells starting with '—' stay plain.
    """

    def colour(col: pd.Series) -> list[str]:
        if col.name not in good:
            return [""] * len(col)
        return [
            ""
            if str(v).startswith("—")
            # dark text on the light tints: in dark mode the table's own text is light and would vanish
            else f"background-color: {GOOD_BG if str(v).startswith(good[col.name]) else BAD_BG}; color: #1F2328"
            for v in col
        ]

    return without_empty_columns(pd.DataFrame(list(rows))).style.apply(colour)


def without_empty_columns(df: pd.DataFrame) -> pd.DataFrame:
    """The table less its columns that are blank in every row (a 'note' column with no notes)."""
    blank = df.apply(lambda col: col.map(lambda v: v is None or str(v).strip() == "").all())
    return df.loc[:, ~blank] if len(df) else df


def table(data: Any) -> Any:
    """A table whose every cell is read in full: wrapped text, no truncated or scrolled columns, no index, and
    no column that is empty in every row (st.dataframe cuts long text at its column's width)."""
    if isinstance(data, pd.DataFrame):
        data = without_empty_columns(data)
    elif not hasattr(data, "data"):  # not a Styler: rows or columns
        data = without_empty_columns(pd.DataFrame(data))
    return st.table(data, hide_index=True)
