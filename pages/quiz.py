"""Quiz: questions generated from the NORMS table on seeded random shapes and cells, answered on the shared cube
(a click marks a cell) and explained on it."""

import streamlit as st

from norm_viz import ui
from norm_viz.classroom import quiz
from norm_viz.core.numbers import plural
from norm_viz.core.params import Param
from norm_viz.core.table import NORMS
from norm_viz.cube.rule import rule as cube_rule

PARAMS = (
    Param("qz_seed", 1, 0, 10**6, field="seed"),
    Param("qz_i", 1, 1, 10**4, field="index"),
)

st.title("Quiz: which cells share a statistic?")
ui.show_url_notices()
ui.declare(PARAMS)

ss = st.session_state
results: dict[str, quiz.Feedback] = ss.setdefault("_qz_results", {})
view = quiz.quiz_view(ui.config(quiz.QuizConfig, PARAMS), results)
q, done = view.question, view.done


def _answer_cube(title: str, *, mode: str = "view", lit: bool = True, marks: frozenset = frozenset()) -> None:
    """The question's tensor on the shared cube: the question's cell chosen, its group lit once it may be seen.

    Before a which-norm question is answered the rule is shown without its name (it is the answer)."""
    label = NORMS[q.norm].label if done is not None or q.kind != "which_norm" else "This normalization"
    rule = {**cube_rule(q.norm, q.shape, q.groups), "label": label}
    st.markdown(f"**{title}**")
    ui.cube(
        q.shape,
        "question",
        rules={"question": rule},
        key=f"qz_cube_{q.qid}_{mode}",
        multiples=False,
        height=260 if ui.presenting() else 380,
        fit=0.5 if ui.presenting() else 0.0,  # a projector: up to half the window
        cell_keys=("_qz_cb", "_qz_cs", "_qz_cf"),
        mode=mode,
        lit=lit,
        marks=marks,
        on_norm=None,
        on_marks=_on_marks if mode == "mark" else None,
    )


def _on_marks(cells: frozenset[quiz.Cell]) -> None:
    ss[f"_qz_picks_{q.qid}"] = frozenset(c for c in cells if all(0 <= v < n for v, n in zip(c, q.shape, strict=True)))


for k, v in zip(("_qz_cb", "_qz_cs", "_qz_cf"), q.cell, strict=True):
    ss[k] = v  # the cube's dark orange cell is the question's

st.markdown(f"**Question {q.index}.** {q.prompt}")
if q.kind == "which_norm":
    left, right_col = st.columns([3, 2], gap="large")
    with left:
        _answer_cube(view.cube_title or "")
    with right_col:
        pick = st.radio("Your answer", quiz.QUIZ_NORMS, format_func=quiz.norm_label, key="_qz_norm", index=None)
        if st.button("Check", key="_qz_check_norm", type="primary", disabled=done is not None or pick is None):
            results[q.qid] = quiz.check(q, pick)
            st.rerun()

elif q.kind == "share_cells":
    picks_key = f"_qz_picks_{q.qid}"
    picks: frozenset[quiz.Cell] = ss.setdefault(picks_key, frozenset())
    left, right_col = st.columns([3, 2], gap="large")
    with left:
        _answer_cube(
            view.cube_title or "Click the cells that share the dark orange cell's statistic",
            mode="view" if done is not None else "mark",
            lit=done is not None,
            marks=picks,
        )
    with right_col:
        typed = st.text_input(
            "…or type cells as b, s, f (separate cells with ;)",
            key=f"_qz_typed_{q.qid}",
            placeholder="0, 1, 2; 1, 1, 2",
            help="the keyboard way to answer: the cells typed here are added to the ones you clicked",
        )
        extra: frozenset = frozenset()
        try:
            extra = quiz.parse_cells(typed, q.shape)
        except ValueError as e:
            st.error(str(e))
        st.caption(f"{plural(len(picks | extra), 'cell')} chosen.")
        t2, t3 = st.columns(2)
        if t2.button("Clear", key="_qz_clear", disabled=done is not None):
            ss[picks_key] = frozenset()
            st.rerun()
        if t3.button("Check", key="_qz_check_cells", type="primary", disabled=done is not None):
            results[q.qid] = quiz.check(q, picks | extra)
            st.rerun()

else:
    n_col, check_col = st.columns([1, 3], vertical_alignment="bottom")
    n = n_col.number_input("Number of statistics", 0, 10**6, step=1, key=f"_qz_count_{q.qid}")
    if check_col.button("Check", key="_qz_check_count", type="primary", disabled=done is not None):
        results[q.qid] = quiz.check(q, int(n))
        st.rerun()

if done is not None:
    (st.success if done.correct else st.error)(done.message)
    if view.cube_title is not None and q.kind == "count_stats":
        _answer_cube(view.cube_title)

st.divider()
c1, c2, c3, c4 = st.columns([1, 1, 2, 1], vertical_alignment="bottom")
c1.number_input("quiz seed", 0, 10**6, key="qz_seed", help="another seed, another series of questions")
c2.number_input("question", 1, 10**4, key="qz_i")


def _next() -> None:
    st.session_state.qz_i = int(st.session_state.qz_i) + 1


c3.button("Next question ▶", on_click=_next, type="primary", key="_qz_next")
c4.metric("Score this session", view.score, help="questions checked in this browser session")
st.caption(
    "Each question is generated from the app's table of norms on a random tensor. Answer, check, and the cube "
    "shows the right answer. The same seed and question number give the same question, so a link shares it."
)

ui.sync_url(PARAMS)
