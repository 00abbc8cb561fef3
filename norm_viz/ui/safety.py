"""Safety at the page's edge: user text shown literally, work that stops when nobody waits, no tracebacks.

- `literal(text)`: any text a visitor controls (URL keys and values, file names, lines of an upload, sentences)
  as a Markdown code span that Streamlit shows character for character: no link, image, HTML, LaTeX, emoji,
  icon or colour directive inside it can render.
- `checkpoint()`: called between steps of long work; raises Streamlit's own stop/rerun exception when the viewer
  closed the tab or started a new rerun, so the work ends within one step.
- `friendly_errors()`: around a page's body (app.py wraps nav.run()): an unexpected exception becomes a short
  message and a log line with the traceback; Streamlit's control flow (st.rerun, st.stop, switch_page) passes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import streamlit as st
from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

LOG = logging.getLogger("norm_viz")


class Notice(Exception):
    """An expected refusal (the server is busy, a limit was reached) whose message is shown as a notice."""


UNEXPECTED = "Something went wrong while drawing"
"""How the message for an unexpected error starts (tests look for it: a caught bug must still fail them)."""

_BREAKS = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u0085]")
_MARKUP = re.compile(r"([\\$<])|(?<=\])(?=\()")
_BARE = re.compile(r"(?<=:)(?=//)|(?i:(?<=www)(?=\.))|(?<=@)")
JOINER = "\u2060"
"""WORD JOINER: invisible, and it breaks the bare-address patterns that GitHub-flavoured Markdown turns into links."""


def escape(text: object, limit: int = 400) -> str:
    """`text` (shortened to `limit` characters, on one line) as Markdown that renders no link, image or $LaTeX$:
    a backslash goes before `\\`, `$`, `<` and the `(` of every `](` (so no inline link, image, HTML tag or
    <autolink> can form), and an invisible word joiner goes into every `://`, `www.` and after every `@` (remark-gfm
    turns bare addresses into links after parsing, so a backslash cannot stop those). Everything else stays as it
    is, so the app's own words read, and match, unchanged. For messages that mix the app's words with text a
    visitor controls (an exception's message, a reason naming a cell); `literal` shows a visitor's text as code.
    """
    s = _BREAKS.sub(" ", str(text))
    if len(s) > limit:
        s = s[: max(1, limit - 1)] + "…"
    return _BARE.sub(JOINER, _MARKUP.sub(lambda m: "\\" + (m.group(1) or ""), s))


def literal(text: object, limit: int = 80) -> str:
    """`text` (shortened to `limit` characters) as a Markdown code span that renders exactly as typed.

    A code span's fence is one backtick longer than the longest run of backticks inside it, so no backtick can
    close it early; line breaks and other control characters become spaces (a blank line would end the paragraph
    and the span with it). Inside a code span Markdown, HTML, $LaTeX$ and :directives: are not interpreted.
    """
    s = str(text)
    if len(s) > limit:
        s = s[: max(1, limit - 1)] + "…"
    s = _BREAKS.sub(" ", s)
    longest = max((len(m) for m in re.findall(r"`+", s)), default=0)
    fence = "`" * (longest + 1)
    # CommonMark strips one space from each end of a span that is not all spaces: pad when the text starts or ends
    # with a backtick (it would join the fence) or a space (it would be stripped)
    pad = " " if s.strip() and (s.startswith(("`", " ")) or s.endswith(("`", " "))) else ""
    if not s:
        return "` `"
    return f"{fence}{pad}{s}{pad}{fence}"


CHECKPOINT_HOOKS: list[Callable[[], None]] = []
"""Called at every checkpoint of a script run (ui/admission.py adds one: heavy work pauses there while other
visitors' light reruns are in progress)."""


def checkpoint() -> None:
    """Stop here if this script run should end (the tab was closed, or a newer rerun was asked for).

    Streamlit checks for stop/rerun requests whenever the script sends an element; long computations that send
    nothing call this between steps instead. Outside a script run (tests, benchmarks) it does nothing.
    """
    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is not None:
        ctx.yield_check()
        for hook in CHECKPOINT_HOOKS:
            hook()


@contextmanager
def friendly_errors(where: str = "this page") -> Iterator[None]:
    """Turn an unexpected exception in the block into a friendly message and a log line (with the traceback)."""
    try:
        yield
    except ScriptControlException:  # st.rerun, st.stop, st.switch_page: Streamlit's own control flow
        raise
    except Notice as e:  # the server is busy or a limit was reached: say so, nothing is wrong with the page
        LOG.info("%s: %s", where, e)
        st.warning(f"Not now: {escape(e)}.", icon=":material/hourglass_disabled:")
    except ValueError as e:  # the package's own refusals say what is wrong and what would be valid
        LOG.warning("%s refused its input: %s", where, e)
        # escaped: a refusal may quote what the visitor typed (a URL value, a sentence, a cell of a file)
        st.error(f"{where[:1].upper()}{where[1:]} cannot show these values: {escape(e)}", icon=":material/error:")
    except Exception as e:  # the one place where every unexpected error ends up
        LOG.exception("unexpected error on %s", where)
        st.error(
            f"{UNEXPECTED} {where} ({type(e).__name__}). The values you chose may be more "
            "extreme than this view can show: try smaller numbers, another tensor or the defaults (open the page "
            "without its URL parameters). The details were written to the server's log.",
            icon=":material/error:",
        )
