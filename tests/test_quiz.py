"""The quiz's questions and answer checking, against what normalize() computes on a real tensor."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from norm_viz.classroom import quiz
from norm_viz.core.compute import normalize
from norm_viz.core.data import make_tensor
from norm_viz.core.table import NORMS


def computed(q: quiz.Question, key: str):
    return normalize(make_tensor(*q.shape, seed=q.seed), key, groups=q.groups if NORMS[key].uses_groups else None)


def lit(q: quiz.Question, key: str) -> frozenset:
    r = computed(q, key)
    ids = r.group_id
    return frozenset(tuple(int(v) for v in c) for c in (ids == ids[q.cell]).nonzero())


questions = st.builds(quiz.make_question, st.integers(0, 10**6), st.integers(1, 300))


@settings(max_examples=80, deadline=None)
@given(questions)
def test_answers_agree_with_the_computed_groups(q):
    want = lit(q, q.norm)
    assert quiz.shared_cells(q) == want
    assert quiz.stat_count(q) == computed(q, q.norm).n_groups
    right = quiz.correct_norms(q)
    assert q.norm in right
    for key in NORMS:  # a norm is accepted exactly when it lights the same cells
        assert (key in right) == (lit(q, key) == want), key


@settings(max_examples=60, deadline=None)
@given(questions)
def test_checking_accepts_the_right_answer_and_rejects_wrong_ones(q):
    if q.kind == "which_norm":
        assert quiz.check(q, q.norm).correct
        wrong = [k for k in NORMS if k not in quiz.correct_norms(q)]
        assert wrong, "every question has wrong options"
        fb = quiz.check(q, wrong[0])
        assert not fb.correct and NORMS[q.norm].label in fb.expected
    elif q.kind == "share_cells":
        cells = quiz.shared_cells(q)
        assert quiz.check(q, set(cells)).correct
        fewer = set(cells) - {q.cell}
        if fewer:
            fb = quiz.check(q, fewer)
            assert not fb.correct and "missed 1" in fb.message and str(q.cell) in fb.message
        outside = {(b, s, f) for b in range(q.shape[0]) for s in range(q.shape[1]) for f in range(q.shape[2])} - cells
        if outside:
            extra = min(outside)
            fb = quiz.check(q, set(cells) | {extra})
            assert not fb.correct and "1 extra" in fb.message and str(extra) in fb.message
    else:
        n = quiz.stat_count(q)
        assert quiz.check(q, n).correct
        assert quiz.check(q, str(n)).correct
        assert not quiz.check(q, n + 1).correct
        assert not quiz.check(q, "many").correct
        assert f"computes {n}" in quiz.check(q, n + 1).message


def test_questions_are_reproducible_and_cycle_through_the_kinds():
    assert quiz.make_question(5, 7) == quiz.make_question(5, 7)
    assert [quiz.make_question(5, i).kind for i in range(6)] == [*quiz.KINDS, *quiz.KINDS]
    assert len({quiz.make_question(s, 4) for s in range(30)}) > 20
    shapes = {quiz.make_question(s, i).shape for s in range(10) for i in range(10)}
    assert len(shapes) > 10


def test_batchnorm_count_is_one_per_feature():
    q = next(q for s in range(500) if (q := quiz.make_question(s, 2)).norm == "batchnorm" and q.kind == "count_stats")
    assert quiz.stat_count(q) == q.shape[2]
    assert "one per feature" in quiz.check(q, 0).message


def test_which_norm_accepts_every_norm_that_lights_the_same_cells():
    q = next(q for s in range(500) if (q := quiz.make_question(s, 0)).norm in ("layernorm", "rmsnorm"))
    assert {"layernorm", "rmsnorm"} <= quiz.correct_norms(q)
    assert "LayerNorm or RMSNorm" in quiz.check(q, "rmsnorm").expected


def test_parse_cells():
    assert quiz.parse_cells("0,1,2; 1 1 2\n(0, 0, 0)", (2, 3, 4)) == {(0, 1, 2), (1, 1, 2), (0, 0, 0)}
    assert quiz.parse_cells("  ", (2, 3, 4)) == frozenset()
    with pytest.raises(ValueError, match="outside the tensor: b < 2"):
        quiz.parse_cells("2, 0, 0", (2, 3, 4))
    with pytest.raises(ValueError, match="three whole numbers"):
        quiz.parse_cells("0, 1", (2, 3, 4))
    with pytest.raises(ValueError, match="three whole numbers"):
        quiz.parse_cells("a, b, c", (2, 3, 4))


def test_unknown_kind_is_an_error():
    q = quiz.make_question(1, 1)
    bad = quiz.Question("essay", q.seed, q.index, q.shape, q.cell, q.norm, q.groups, q.prompt)
    with pytest.raises(ValueError, match="kinds: which_norm"):
        quiz.check(bad, None)


# --- what the quiz page shows ------------------------------------------------------------------------


def test_score_counts_the_right_answers():
    right, wrong = quiz.Feedback(True, "", ""), quiz.Feedback(False, "", "")
    assert quiz.score({}) == "0 / 0"
    assert quiz.score({"1:1": right, "1:2": wrong, "1:3": right}) == "2 / 3"


@pytest.mark.parametrize("kind", quiz.KINDS)
def test_quiz_view_titles_the_answer_once_it_is_checked(kind):
    q = next(q for i in range(1, 10) if (q := quiz.make_question(3, i)).kind == kind)
    cfg = quiz.QuizConfig(seed=3, index=q.index)
    before = quiz.quiz_view(cfg, {})
    assert before.question == q and before.done is None and before.answer_cells is None
    answer = {"which_norm": q.norm, "share_cells": quiz.shared_cells(q), "count_stats": quiz.stat_count(q)}[kind]
    fb = quiz.check(q, answer)
    after = quiz.quiz_view(cfg, {q.qid: fb})
    assert after.done == fb and after.score == "1 / 1"
    if kind == "which_norm":
        assert before.cube_title == "Which normalization lights these cells?"
        assert after.cube_title == f"The answer: {fb.expected}"
    else:
        assert before.cube_title is None
        assert after.cube_title == f"{NORMS[q.norm].label}: the cells that share cell {q.cell}'s statistic"
    assert (after.answer_cells == quiz.shared_cells(q)) if kind == "share_cells" else after.answer_cells is None


def test_answer_result_is_the_questions_norm_on_its_tensor():
    q = next(q for i in range(1, 40) if NORMS[(q := quiz.make_question(2, i)).norm].uses_groups)
    r = quiz.answer_result(q)
    assert r.key == q.norm and r.groups == q.groups and r.shape == q.shape
    assert r.n_groups == quiz.stat_count(q)
    assert quiz.norm_label("rmsnorm") == "RMSNorm"
