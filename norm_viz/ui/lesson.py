"""The lesson on the page: while the URL holds ?lesson=k, the bar links the lesson's previous and next steps (the
arrow keys follow them), and under it the step's *predict, then reveal* question; the answer is computed after the
page has run, on the tensor the page shows. Placed by layout.begin_page / end_page: the pages need no edits.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from norm_viz.classroom import lesson as L
from norm_viz.core.data import make_tensor
from norm_viz.ui.state import _RUN, notice
from norm_viz.ui.tensor import generated_tensor

KEYS_JS = """
export default function () {
  if (window.__nvLessonKeys) return;  // one listener per browser tab, whatever page it shows
  window.__nvLessonKeys = true;
  // Elements that use the arrow keys themselves: a text or number field, a slider, a radio group, a select box.
  const OWN = 'input:not([type="checkbox"]):not([type="button"]), textarea, select, [contenteditable="true"], ' +
    '[role="slider"], [role="spinbutton"], [role="radio"], [role="radiogroup"], [role="listbox"], ' +
    '[role="combobox"], [role="option"], [role="tab"], [role="menu"], [role="menuitem"]';
  document.addEventListener("keydown", (e) => {
    if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
    if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey || e.shiftKey || e.isComposing) return;
    const t = e.target;
    if (t && t.closest && t.closest(OWN)) return;
    const a = document.querySelector(`.st-key-${e.key === "ArrowLeft" ? "lesson_prev" : "lesson_next"} a`);
    if (a) { e.preventDefault(); a.click(); }
  });
}
"""
_KEYS = st.components.v2.component("norm_viz.lesson_keys", js=KEYS_JS)

CSS = """
.st-key-lesson_question { gap: 0.3rem; padding: 0.45rem 0.9rem !important; }
.st-key-lesson_question p { margin-bottom: 0; }
.st-key-lesson_question [data-testid="stMarkdownContainer"] { margin-bottom: 0; }
[data-testid="stElementContainer"]:has(style) + [data-testid="stLayoutWrapper"]:has(> .st-key-lesson_question) {
  margin-top: -1rem; }
[data-testid="stElementContainer"]:has(style) + [data-testid="stLayoutWrapper"] > .st-key-lesson_question {
  padding: 0.2rem 0.9rem !important; }
"""
"""The question box's spacing (layout.begin_page puts it in the page's one style element). In presentation mode the
box follows the mode's style element directly (no URL notice between): it takes back the empty gap under that
element and sits on one compact row, so that the Explorer's cube still ends inside a 1280 × 720 screen."""


def step_number() -> int:
    """The lesson step the URL names (0: no lesson); a malformed value gives a notice and no lesson."""
    raw = st.query_params.get(L.PARAM)
    if raw is None:
        return 0
    try:
        return L.parse_step(raw)
    except ValueError as e:
        notice(f"URL parameter lesson was ignored: {e}.")
        del st.query_params[L.PARAM]
        return 0


def active_step(here: str | None) -> int:
    """The step shown on the page at url_path `here` (an alias counts as its page): the URL's step if it is this
    page's, else 0."""
    from norm_viz.ui.layout import _ALIASES

    k = step_number()
    if not k:
        return 0
    page = L.STEPS[k - 1].url_path
    return k if _ALIASES.get(page, page) == here else 0


def _link(container: Any, k: int, key: str, label: str, icon: str, present: bool) -> None:
    from norm_viz.ui.layout import _PAGES

    page = _PAGES.get(L.STEPS[k - 1].url_path)
    if page is None:
        return
    container.container(key=key, width="content").page_link(
        page, label=label, icon=icon, query_params=L.step_query(k, present)
    )


def nav(bar: Any, k: int, present: bool) -> None:
    """The lesson's previous / next links on the presentation bar (the arrow keys click them), and the step."""
    n = len(L.STEPS)
    if k > 1:
        _link(bar, k - 1, "lesson_prev", L.STEPS[k - 2].title, ":material/arrow_back:", present)
    bar.markdown(f"**Lesson {k}/{n}** · {L.STEPS[k - 1].title}")
    if k < n:
        _link(bar, k + 1, "lesson_next", L.STEPS[k].title, ":material/arrow_forward:", present)
    with bar:
        _KEYS(key="lesson_keys", data={}, height=0)


def bottom_links(k: int, present: bool) -> None:
    """At the page's end: the lesson's previous and next steps, in place of the PAGES order's."""
    left, right = st.columns(2)
    if k > 1:
        _link(left, k - 1, "lesson_prev_end", f"Previous: {L.STEPS[k - 2].title}", ":material/arrow_back:", present)
    if k < len(L.STEPS):
        with right.container(horizontal_alignment="right"):
            _link(st, k + 1, "lesson_next_end", f"Next: {L.STEPS[k].title}", ":material/arrow_forward:", present)


def question(k: int) -> None:
    """The step's question: one line, the class's guess (optional) and the Reveal switch; the answer's place.
    In presentation mode question, guesses and switch share one row where the window is wide enough (a projector's
    first screen keeps room for the page's picture: with two rows the Explorer's cube ended below 1280 × 720)."""
    from norm_viz.ui.layout import presenting

    present = presenting()
    step = L.STEPS[k - 1]
    box = st.container(key="lesson_question", border=True)
    row = box.container(horizontal=True, vertical_alignment="center", gap="small")
    row.markdown(f"**Predict:** {step.question}", width="content")
    if present:
        row.pills("The class's guess", step.options, key=f"_lesson_guess_{k}", label_visibility="collapsed")
    row.space("stretch")
    row.toggle("Reveal", key=f"_lesson_reveal_{k}", help="Shows the answer, computed on this page's numbers.")
    if not present:
        box.pills("The class's guess", step.options, key=f"_lesson_guess_{k}", label_visibility="collapsed")
    _RUN.lesson_slot = (k, box.container(key="lesson_answer"))


def _input(step: L.Step) -> L.LessonInput:
    """The numbers the reveal is computed on: the page's generated tensor (the start page's own for 'demo')."""
    ss = st.session_state
    if step.uses == "demo":
        from norm_viz.classroom.start import demo_tensor

        x = demo_tensor()
        return L.LessonInput(x, "the start page's seeded tensor")
    if step.uses == "real":
        from norm_viz.real import minilm as real
        from norm_viz.ui.real import model_problem, real_view

        problem = model_problem()
        comp = None if problem else real_view(real.DEFAULT_SENTENCES).composition
        return L.LessonInput(make_tensor(4, 6, 8, "normal", 0), "", comp, problem or "")
    if ss.get("src", "generate") == "generate" and all(k in ss for k in ("B", "S", "F", "kind", "seed")):
        x = generated_tensor(
            int(ss.B), int(ss.S), int(ss.F), ss.kind, int(ss.seed), float(ss.get("scale", 1)), float(ss.get("shift", 0))
        )
        return L.LessonInput(x, "the seeded tensor this page shows")
    return L.LessonInput(make_tensor(4, 6, 8, "normal", 0), "the default seeded tensor (not the one on this page)")


def answer() -> None:
    """Called after the page has run: the computed answer in the question's box, when Reveal is on."""
    slot = getattr(_RUN, "lesson_slot", None)
    _RUN.lesson_slot = None
    if slot is None:
        return
    k, box = slot
    if not st.session_state.get(f"_lesson_reveal_{k}"):
        return
    step = L.STEPS[k - 1]
    reveal = step.reveal(_input(step))
    guess = st.session_state.get(f"_lesson_guess_{k}")
    right = L.is_right(guess, reveal) if guess else None
    head = f"**Answer: {reveal.answer}.**" if reveal.answer != "—" else ""
    verdict = {True: " The class got it.", False: f" (The class said: {guess}.)", None: ""}[right]
    box.success(f"{head}{verdict} {reveal.text}", icon=":material/lightbulb:")


def start_link(container: Any = None) -> None:
    """The link that starts the lesson in presentation mode (on the start page)."""
    from norm_viz.ui.layout import _PAGES

    page = _PAGES.get(L.STEPS[0].url_path)
    if page is None:
        return
    (container or st).page_link(
        page,
        label=f"Teach it: the {L.total_minutes():.0f}-minute lesson in {len(L.STEPS)} steps (arrow keys: previous / next)",
        icon=":material/school:",
        query_params=L.step_query(1, present=True),
    )
