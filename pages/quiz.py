"""Quiz: questions generated from the NORMS table on seeded random shapes and cells, with feedback on the cube."""

import streamlit as st

from norm_viz import ui
from norm_viz.classroom import figures as classroom_figures
from norm_viz.classroom import quiz
from norm_viz.core.compute import normalize
from norm_viz.core.data import make_tensor
from norm_viz.core.table import NORMS
from norm_viz.explore import figures

st.title("Quiz: which cells share a statistic?")
ui.show_url_notices()
st.markdown(
    "Each question is generated from the app's table of norms on a random tensor. Answer, check, and the cube "
    "shows the right answer. The same seed and question number give the same question, so a link shares it."
)

ui.init_state("qz_seed", 1, ui.int_in(0, 10**6))
ui.init_state("qz_i", 1, ui.int_in(1, 10**4))
c1, c2, c3 = st.columns([1, 1, 2], vertical_alignment="bottom")
c1.number_input("quiz seed", 0, 10**6, key="qz_seed", help="another seed, another series of questions")
c2.number_input("question", 1, 10**4, key="qz_i")


def _next() -> None:
    st.session_state.qz_i = int(st.session_state.qz_i) + 1


c3.button("Next question ▶", on_click=_next, type="primary", key="_qz_next")

q = quiz.make_question(int(st.session_state.qz_seed), int(st.session_state.qz_i))
ss = st.session_state
results: dict[str, quiz.Feedback] = ss.setdefault("_qz_results", {})
done = results.get(q.qid)
right = sum(fb.correct for fb in results.values())
st.metric("Score this session", f"{right} / {len(results)}", help="questions checked in this browser session")


@st.cache_data(max_entries=64, show_spinner=False)
def _result_for(shape: tuple[int, int, int], key: str, groups: int, seed: int):
    return normalize(make_tensor(*shape, seed=seed), key, groups=groups if NORMS[key].uses_groups else None)


def _answer_cube(title: str) -> None:
    r = _result_for(q.shape, q.norm, q.groups, q.seed)
    ui.chart(figures.cube_figure(r, q.cell, title=title), key="qz_cube", config={"plotGlPixelRatio": 1})


st.subheader(f"Question {q.index}")
st.markdown(f"**{q.prompt}**")

if q.kind == "which_norm":
    left, right_col = st.columns([3, 2], gap="large")
    with left:
        _answer_cube(f"The answer: {done.expected}" if done else "Which normalization lights these cells?")
    with right_col:
        pick = st.radio(
            "Your answer", quiz.QUIZ_NORMS, format_func=lambda k: NORMS[k].label, key="_qz_norm", index=None
        )
        if st.button("Check", key="_qz_check_norm", type="primary", disabled=done is not None or pick is None):
            results[q.qid] = quiz.check(q, pick)
            st.rerun()

elif q.kind == "share_cells":
    picks_key = f"_qz_picks_{q.qid}"
    picks: set[tuple[int, int, int]] = ss.setdefault(picks_key, set())
    n_events = ss.setdefault(f"_qz_events_{q.qid}", 0)
    grid_key = f"_qz_grid_{q.qid}_{n_events}"  # a fresh chart after each click, so every click is a new event
    points = (ss.get(grid_key) or {}).get("selection", {}).get("points", [])
    clicked = [tuple(int(v) for v in p["customdata"]) for p in points if p.get("customdata") is not None]
    if clicked and done is None:
        if len(clicked) == 1:
            picks ^= {clicked[0]}  # a single click toggles
        else:
            picks |= set(clicked)  # a box or lasso adds
        ss[f"_qz_events_{q.qid}"] = n_events + 1
        grid_key = f"_qz_grid_{q.qid}_{n_events + 1}"
    answer = quiz.shared_cells(q) if done is not None else None
    ui.chart(
        classroom_figures.cell_grid_figure(q.shape, q.cell, sorted(picks), answer),
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
    st.caption(f"{len(picks | extra)} cells chosen.")
    if t2.button("Clear", key="_qz_clear", disabled=done is not None):
        picks.clear()
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
    if q.kind != "which_norm":
        _answer_cube(f"{NORMS[q.norm].label}: the cells that share cell {q.cell}'s statistic")

ui.sync_url(["qz_seed", "qz_i"])
