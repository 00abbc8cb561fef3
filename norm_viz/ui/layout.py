"""The page frame: links between pages, presentation mode, charts at full width, verdict tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st

from norm_viz.core.params import flag
from norm_viz.ui.state import _RUN, GLOBAL_KEYS, _write_url, init_state

_PAGES: dict[str, Any] = {}
_ALIASES: dict[str, str] = {}
"""url_path of a hidden alias page -> url_path of the page in PAGES that runs the same file (/start -> "/")."""
_ORDER: list[Any] = []
"""Every page in app.py's PAGES order: the suggested path that the 'next' links follow."""


def _path(page: Any) -> str:
    # the default page's public url_path is "" (the root); its own one is what links name
    return str(getattr(page, "_url_path", "") or page.url_path)


def register_pages(pages: dict[str, list[Any]], aliases: Sequence[Any] = ()) -> None:
    """Called by app.py with its PAGES (and hidden alias pages), so that pages can link to each other by url_path."""
    _PAGES.clear()
    _ORDER.clear()
    _ALIASES.clear()
    _ORDER.extend(p for group in pages.values() for p in group)
    _PAGES.update({_path(p): p for p in _ORDER})
    by_file = {str(p._page): _path(p) for p in _ORDER if hasattr(p, "_page")}
    for a in aliases:
        _ALIASES[_path(a)] = by_file.get(str(getattr(a, "_page", "")), "")
        _PAGES[_path(a)] = a


def current_path(current: Any) -> str | None:
    """The url_path in PAGES of the page being shown (an alias counts as the page it repeats)."""
    if current is None:
        return None
    here = _path(current)
    return _ALIASES.get(here, here)


def neighbours(current: Any) -> tuple[Any, Any]:
    """The pages before and after `current` along PAGES (None at either end or for an unknown page)."""
    paths = [_path(p) for p in _ORDER]
    here = current_path(current)
    if here not in paths:
        return None, None
    i = paths.index(here)
    return (_ORDER[i - 1] if i > 0 else None), (_ORDER[i + 1] if i + 1 < len(_ORDER) else None)


def page_link(url_path: str, label: str, query: Sequence[tuple[str, str]] = (), container: Any = None) -> bool:
    """A link to another page with query parameters; a caption instead when no page has that url_path."""
    box = container or st
    page = _PAGES.get(url_path)
    if page is None:
        box.caption(f"{label}: the '{url_path}' demo is not part of this build.")
        return False
    box.page_link(page, label=label, icon=":material/open_in_new:", query_params=dict(query) or None)
    return True


def _keep_present() -> dict[str, str]:
    """Presentation mode carries itself to the next page (the other settings travel in session state)."""
    return {"present": "1"} if presenting() else {}


_PAGE_CSS = """
<style>
/* less empty space above the page: the top navigation bar already separates it from the window's edge */
[data-testid="stMainBlockContainer"] { padding-top: 3.5rem; }
</style>
"""


def begin_page(current: Any = None) -> None:
    """Called by app.py on every run before the page: the presentation bar (with the lesson's steps while the URL
    names one), the lesson's question, and the box for URL notices."""
    from norm_viz.ui import lesson

    st.markdown(_PAGE_CSS.replace("</style>", lesson.CSS + "</style>"), unsafe_allow_html=True)
    step = lesson.active_step(current_path(current))
    presentation_toggle(current, step)
    _RUN.notice_box = st.container()
    if step:
        lesson.question(step)


def end_page(current: Any = None) -> None:
    """Called by app.py after the page: the lesson's computed answer (when revealed), then a link to the next page
    along PAGES (and back to the previous one); on the start page, the link that starts the lesson."""
    from norm_viz.ui import lesson

    lesson.answer()
    step = lesson.active_step(current_path(current))
    if step:
        st.divider()
        lesson.bottom_links(step, presenting())
        return
    if current_path(current) == _ALIASES.get("start", "start"):
        lesson.start_link()
    before, after = neighbours(current)
    if before is None and after is None:
        return
    st.divider()
    left, right = st.columns(2)
    if before is not None:
        left.page_link(
            before, label=f"Previous: {before.title}", icon=":material/arrow_back:", query_params=_keep_present()
        )
    if after is not None:
        with right.container(horizontal_alignment="right", key="next_page"):
            st.page_link(
                after, label=f"Next: {after.title}", icon=":material/arrow_forward:", query_params=_keep_present()
            )


def presenting() -> bool:
    """True while presentation mode is on (controls hidden, larger text and figures)."""
    return bool(st.session_state.get("present", False))


PRESENT_FONT = 1.35
"""How much presentation mode enlarges the fonts of figures (the page's text grows with the window, see the CSS)."""
PRESENT_MIN_FONT = 18
"""The smallest font size (px) of any figure text in presentation mode: readable from the back of a classroom."""
PRESENT_MAX_HEIGHT = 600
"""Figures grow in presentation mode up to this height (px), so a figure and its text fit a 1280 × 720 screen."""

_PRESENT_CSS = """
<style>
/* text in rem grows with the window: 16 px at 1280 px wide and below, 21.5 px at 1920 (a projector's 1080p) */
html { font-size: max(16px, 1.12vw); }
section[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"],
[data-testid="stSidebarNav"], header[data-testid="stHeader"] { display: none !important; }
[data-testid="stMainBlockContainer"] { max-width: 100% !important; padding: 0.6rem 1.5rem 2rem 1.5rem !important; }
h1 { font-size: 2.1rem !important; padding-top: 0.2rem !important; }
[data-testid="stCaptionContainer"], [data-testid="stWidgetLabel"] p, [data-testid="stMarkdownContainer"] small,
[data-testid="stMetricLabel"] p, [data-testid="stTooltipIcon"] { font-size: 0.9rem !important; }
[data-testid="stCodeBlock"] code, [data-testid="stCode"] code { font-size: 0.9rem !important; }
[data-testid="stMain"] p code, [data-testid="stMain"] li code { font-size: max(0.85em, 0.84rem) !important; }
/* the bar (previous, next, the switch) stays on top while the page scrolls; blurred, as no theme colour is at hand */
[data-testid="stLayoutWrapper"]:has(> .st-key-present_bar) { position: sticky; top: 0; z-index: 999990;
  backdrop-filter: blur(10px); background: rgba(128, 128, 128, 0.12); border-radius: 0.5rem; padding: 0.15rem 0.6rem; }
.katex-display { overflow-x: auto; overflow-y: hidden; }
/* sub- and superscripts: at least 18 px on a 1920 px wide projector, their natural size on smaller screens */
.katex .mtight:not(.sizing) { font-size: max(1em, 0.94vw) !important; }
/* the cell's labels ("s (sequence)") stay on one line above their narrow inputs, even at 21.5 px */
:is(.st-key-cb, .st-key-cs, .st-key-cf) { min-width: 7rem; }
:is(.st-key-cb, .st-key-cs, .st-key-cf) [data-testid="stWidgetLabel"] :is(p, div) { white-space: nowrap; overflow: visible; }
{hidden} { display: none !important; }
</style>
"""


def _present_hidden() -> list[str]:
    """The widget keys presentation mode hides: the tensor's and the norm's fine print (the norm and its own
    parameters, such as GroupNorm's groups, and the chosen cell stay)."""
    from norm_viz.core.params import keys
    from norm_viz.ui.norm import NORM_PARAMS
    from norm_viz.ui.tensor import TENSOR_PARAMS

    return [*keys(TENSOR_PARAMS), *keys(NORM_PARAMS[1:])]


def presentation_toggle(current: Any = None, lesson_step: int = 0) -> None:
    """The 'Presentation mode' switch, top right of every page; when on, the bar also links the previous and next
    pages (the sidebar and the top navigation are then hidden). During a lesson the bar links the lesson's steps."""
    init_state("present", False, flag)
    on = presenting()
    bar = st.container(horizontal=True, vertical_alignment="center", key="present_bar")
    if lesson_step:
        from norm_viz.ui import lesson

        lesson.nav(bar, lesson_step, on)
    elif on:
        before, after = neighbours(current)
        if before is not None:
            bar.page_link(before, label=before.title, icon=":material/arrow_back:", query_params=_keep_present())
        if after is not None:
            bar.page_link(after, label=after.title, icon=":material/arrow_forward:", query_params=_keep_present())
    bar.space("stretch")
    bar.toggle(
        ":material/co_present: Presentation mode",
        key="present",
        help="Hides the controls except the norm and the cell, enlarges every text for a projector, and adds "
        "previous / next links; the link keeps it on.",
    )
    if on:
        hidden = ", ".join(f".st-key-{k}" for k in _present_hidden())
        st.markdown(_PRESENT_CSS.replace("{hidden}", hidden), unsafe_allow_html=True)
    _write_url(GLOBAL_KEYS)


def chart(fig: Any, key: str, container: Any = None, **kwargs: Any) -> Any:
    """st.plotly_chart at full width; in presentation mode every font is enlarged (at least PRESENT_MIN_FONT px)
    and the figure grows up to PRESENT_MAX_HEIGHT."""
    from norm_viz.core.theme import scaled

    if presenting():
        fig = scaled(fig, PRESENT_FONT, min_size=PRESENT_MIN_FONT, max_height=PRESENT_MAX_HEIGHT)
    return (container or st).plotly_chart(fig, width="stretch", key=key, **kwargs)


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
