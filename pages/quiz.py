"""Quiz: questions generated from the NORMS table on seeded random shapes and cells, with feedback on the cube."""

import streamlit as st

from norm_viz import ui
from norm_viz.classroom import figures as classroom_figures
from norm_viz.classroom import quiz
from norm_viz.core.compute import NormResult
from norm_viz.core.numbers import plural
from norm_viz.core.params import Param
from norm_viz.explore import figures

PARAMS = (
    Param("qz_seed", 1, 0, 10**6, field="seed"),
    Param("qz_i", 1, 1, 10**4, field="index"),
)

st.title("Quiz: which cells share a statistic?")
ui.show_url_notices()
st.markdown(
    "Each question is generated from the app's table of norms on a random tensor. Answer, check, and the cube "
    "shows the right answer. The same seed and question number give the same question, so a link shares it."
)

ui.declare(PARAMS)
c1, c2, c3 = st.columns([1, 1, 2], vertical_alignment="bottom")
c1.number_input("quiz seed", 0, 10**6, key="qz_seed", help="another seed, another series of questions")
c2.number_input("question", 1, 10**4, key="qz_i")


def _next() -> None:
    st.session_state.qz_i = int(st.session_state.qz_i) + 1


c3.button("Next question ▶", on_click=_next, type="primary", key="_qz_next")

ss = st.session_state
results: dict[str, quiz.Feedback] = ss.setdefault("_qz_results", {})
view = quiz.quiz_view(ui.config(quiz.QuizConfig, PARAMS), results)
q, done = view.question, view.done
st.metric("Score this session", view.score, help="questions checked in this browser session")


@st.cache_data(max_entries=64, show_spinner=False)
def _result_for(question: quiz.Question) -> NormResult:
    return quiz.answer_result(question)


def _answer_cube(title: str) -> None:
    ui.chart(figures.cube_figure(_result_for(q), q.cell, title=title), key="qz_cube", config={"plotGlPixelRatio": 1})


st.subheader(f"Question {q.index}")
st.markdown(f"**{q.prompt}**")

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
    n_events = ss.setdefault(f"_qz_events_{q.qid}", 0)
    grid_key = f"_qz_grid_{q.qid}_{n_events}"  # a fresh chart after each click, so every click is a new event
    event = ss.get(grid_key)
    clicked = quiz.clicked_cells(event, q.shape)
    if clicked and done is None:
        ss[picks_key] = picks = quiz.add_clicks(picks, clicked, area=quiz.is_area_selection(event))
        ss[f"_qz_events_{q.qid}"] = n_events + 1
        grid_key = f"_qz_grid_{q.qid}_{n_events + 1}"
    mouse = st.radio(
        "The mouse",
        tuple(classroom_figures.GRID_MOUSE),
        format_func={"click": "clicks single cells", "box": "drags a box over several"}.get,
        horizontal=True,
        key="_qz_mouse",
        help="a click picks or drops one cell; a dragged box adds every cell inside it",
    )
    ui.chart(
        classroom_figures.cell_grid_figure(q.shape, q.cell, sorted(picks), view.answer_cells, mouse=mouse),
        key=grid_key,
        on_select="rerun",
        selection_mode=("points", "box", "lasso"),
    )
    t1, t2, t3 = st.columns([3, 1, 1], vertical_alignment="bottom")
    typed = t1.text_input(
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
    if view.cube_title is not None and q.kind != "which_norm":
        _answer_cube(view.cube_title)

ui.sync_url(PARAMS)
