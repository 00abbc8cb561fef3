"""AppTest of the Classroom pages (walkthrough, quiz, interview cards, export) and of presentation mode."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import app_test, charts, cubes, decode, lit_cells, no_exception

from norm_viz.classroom import quiz
from norm_viz.classroom.cards import CARDS
from norm_viz.classroom.walkthrough import STEP_KEYS, tex
from norm_viz.core.compute import normalize
from norm_viz.core.data import make_tensor


def latex(at) -> list[str]:
    return [el.value.strip("$\n") for el in at.latex]


def default_result(key: str = "layernorm"):
    return normalize(make_tensor(4, 6, 8, "normal", 0), key)  # the sidebar's default tensor


# --- walkthrough ---


def test_walkthrough_steps_forward_and_back_with_the_packages_numbers():
    at = app_test("walkthrough", {"cb": "1", "cs": "2", "cf": "3"})
    no_exception(at)
    r = default_result()
    v = r.cell(1, 2, 3)
    assert at.radio(key="wt_step").value == 0
    cube = cubes(at)["wt_cube"]  # the shared cube, at the chosen cell
    assert cube["cell"] == (1, 2, 3) and cube["norm"] == r.key
    assert not lit_cells(cube), "step 1 shows the tensor, not yet the group"
    assert latex(at)[0] == rf"x_{{1,2,3}} = {tex(v['x'])}"
    at.button(key="_wt_next").click().run()
    assert at.radio(key="wt_step").value == 1
    gid = r.group_id
    lit = lit_cells(cubes(at)["wt_cube"])
    assert len(lit) == r.group_size and all(gid[c] == gid[1, 2, 3] for c in lit)
    at.button(key="_wt_next").click().run()
    assert latex(at)[-1].endswith(f"= {tex(v['mean'])}")
    assert lit_cells(cubes(at)["wt_cube"]) == lit, "the same cube, its group still lit, beside the number line"
    line = charts(at)[0]
    assert sorted(decode(line["data"][0]["x"]).tolist()) == pytest.approx(sorted(r.input[1, 2].tolist()), abs=1e-6)
    at.button(key="_wt_back").click().run()
    assert at.radio(key="wt_step").value == 1
    assert at.query_params["wt_step"] == "1"


def test_walkthrough_last_step_gives_a_computed_takeaway_and_follows_the_norm():
    at = app_test("walkthrough", {"wt_step": str(len(STEP_KEYS) - 1), "norm": "batchnorm", "gamma": "2", "beta": "1"})
    no_exception(at)
    r = normalize(make_tensor(4, 6, 8), "batchnorm", weight=2.0, bias=1.0)
    v = r.cell(0, 0, 0)
    assert latex(at)[-1].endswith(f"= {tex(v['y'])}")
    assert at.button(key="_wt_next").disabled
    take = at.success[0].value
    assert "BatchNorm" in take and f"shared with {4 * 6 - 1} other cells" in take
    gid = r.group_id  # the last step still shows the shared cube with the cell's group lit
    assert lit_cells(cubes(at)["wt_cube"]) == {c for c in np.ndindex(4, 6, 8) if gid[c] == gid[0, 0, 0]}


def test_walkthrough_bad_step_in_the_link_falls_back():
    at = app_test("walkthrough", {"wt_step": "12"})
    no_exception(at)
    assert at.radio(key="wt_step").value == 0
    assert any("`wt_step=12`" in w.value for w in at.warning)


# --- quiz ---


def question_of_kind(kind: str, seed: int = 1) -> quiz.Question:
    return next(q for i in range(1, 10) if (q := quiz.make_question(seed, i)).kind == kind)


def test_quiz_which_norm_right_then_wrong_updates_the_score():
    q = question_of_kind("which_norm")
    at = app_test("quiz", {"qz_seed": "1", "qz_i": str(q.index)})
    no_exception(at)
    assert q.prompt in at.markdown[1].value or any(q.prompt in m.value for m in at.markdown)
    at.radio(key="_qz_norm").set_value(q.norm).run()
    at.button(key="_qz_check_norm").click().run()
    no_exception(at)
    assert at.success and "Right" in at.success[0].value
    assert at.metric[0].value == "1 / 1"
    (cube,) = cubes(at).values()
    assert cube["rules"]["question"]["label"] == quiz.NORMS[q.norm].label  # named once answered
    assert any(m.value.startswith("**The answer:") for m in at.markdown)
    q2 = next(p for i in range(q.index + 1, 40) if (p := quiz.make_question(1, i)).kind == "which_norm")
    at.number_input(key="qz_i").set_value(q2.index).run()
    wrong = next(k for k in quiz.QUIZ_NORMS if k not in quiz.correct_norms(q2))
    at.radio(key="_qz_norm").set_value(wrong).run()
    at.button(key="_qz_check_norm").click().run()
    assert at.error and "Not quite" in at.error[0].value
    assert at.metric[0].value == "1 / 2"


def test_quiz_cells_typed_answer_is_checked_and_the_answer_is_drawn():
    q = question_of_kind("share_cells")
    at = app_test("quiz", {"qz_seed": "1", "qz_i": str(q.index)})
    at.text_input(key=f"_qz_typed_{q.qid}").set_value("; ".join(f"{b},{s},{f}" for b, s, f in quiz.shared_cells(q)))
    at.run()
    at.button(key="_qz_check_cells").click().run()
    no_exception(at)
    assert "Right" in at.success[0].value
    (cube,) = cubes(at).values()  # the answer on the shared cube: its lit cells are the shared ones
    assert cube["mode"] == "view" and lit_cells(cube) == set(quiz.shared_cells(q))


def test_quiz_marks_on_the_cube_are_the_answer_and_hide_the_group_until_checked():
    q = question_of_kind("share_cells")
    at = app_test("quiz", {"qz_seed": "1", "qz_i": str(q.index)})
    no_exception(at)
    (cube,) = cubes(at).values()
    assert cube["mode"] == "mark" and cube["cell"] == q.cell and not lit_cells(cube), "the answer is not shown yet"
    at.session_state[f"_qz_picks_{q.qid}"] = frozenset({(0, 0, 0), (0, 0, 1)})  # what two clicks on the cube record
    at.run()
    assert "2 cells chosen." in [c.value for c in at.caption]
    assert cubes(at)[cube["id"]]["marks"] == [[0, 0, 0], [0, 0, 1]]  # drawn marked


def test_quiz_bad_typed_cell_says_what_is_valid():
    q = question_of_kind("share_cells")
    at = app_test("quiz", {"qz_seed": "1", "qz_i": str(q.index)})
    at.text_input(key=f"_qz_typed_{q.qid}").set_value("99, 0, 0").run()
    no_exception(at)
    assert "outside the tensor" in at.error[0].value


def test_quiz_count_question():
    q = question_of_kind("count_stats")
    at = app_test("quiz", {"qz_seed": "1", "qz_i": str(q.index)})
    at.number_input(key=f"_qz_count_{q.qid}").set_value(quiz.stat_count(q) + 1).run()
    at.button(key="_qz_check_count").click().run()
    assert f"computes {quiz.stat_count(q)}" in at.error[0].value
    (cube,) = cubes(at).values()  # the answer is shown on the shared cube
    assert len(lit_cells(cube)) == q.shape[0] * q.shape[1] * q.shape[2] // quiz.stat_count(q)


# --- interview cards ---


def test_interview_page_shows_every_card_and_marks_missing_demos():
    at = app_test("interview")
    no_exception(at)
    assert [s.value for s in at.subheader] == [c.question for c in CARDS]
    links = [el for el in at.get("page_link") if not el.proto.label.startswith(("Previous:", "Next:"))]  # not app.py's
    shown = {el.proto.page for el in links}
    assert "which-layernorm" in shown and "explorer" in shown  # the Explorer has its own URL (the start page is "/")
    missing = [c.value for c in at.caption if "not part of this build" in c.value]
    assert len(links) + len(missing) == sum(len(c.links) for c in CARDS)


# --- export ---


def test_export_page_offers_files_and_the_script():
    at = app_test("export", {"norm": "groupnorm", "G": "2", "cb": "1"})
    no_exception(at)
    labels = [el.proto.label for el in at.get("download_button")]
    for want in ("Every cell (CSV)", "Statistics (CSV)", "Input x (.npy)", "Output y (.npy)", "μ (.npy)", "σ² (.npy)"):
        assert want in labels
    code = at.code[0].value
    assert "torch.Generator().manual_seed(0)" in code and "nn.GroupNorm(2, 8" in code
    r = normalize(make_tensor(4, 6, 8), "groupnorm", groups=2)
    assert f"x = {r.cell(1, 0, 0)['x']:.6g}" in at.success[0].value


def test_export_script_writes_out_a_preset():
    at = app_test("export", {"src": "preset", "preset": "d2l", "norm": "rmsnorm"})
    no_exception(at)
    assert "x = torch.tensor([[[1.0, 2.0]], [[2.0, 3.0]]], dtype=torch.float32)" in at.code[0].value
    assert "mean square (.npy)" in [el.proto.label for el in at.get("download_button")]


# --- presentation mode ---


def _font_sizes(node, inside_font=False):
    """Every font size in a figure's JSON (the sizes of dicts under keys such as font, tickfont, textfont)."""
    if isinstance(node, dict):
        for k, v in node.items():
            if inside_font and k == "size" and isinstance(v, (int, float)):
                yield v
            elif isinstance(v, (dict, list)):
                yield from _font_sizes(v, k.endswith("font"))
    elif isinstance(node, list):
        for v in node:
            yield from _font_sizes(v, inside_font)


def test_presentation_mode_enlarges_figures_and_keeps_the_norm_and_the_cell():
    """The Explorer's figures are drawn in the browser (explore/explorer.js, sized for the projector there and
    checked in Chromium: tests/test_browser_explorer.py); the server tells it presentation mode, hides the sidebar and
    the fine print, and keeps the norm picker, the cell and previous / next."""
    plain = app_test("explorer")
    big = app_test("explorer", {"present": "1"})
    no_exception(big)

    def view(at):
        (el,) = [el for el in at.get("bidi_component") if el.proto.component_name == "norm_viz.explorer_view"]
        return json.loads(el.proto.json)

    assert view(big)["present"] is True and view(plain)["present"] is False
    assert view(big)["norm"] == view(plain)["norm"] and view(big)["cell"] == view(plain)["cell"]
    css = next(m.value for m in big.markdown if "<style>" in m.value and 'stSidebar"]' in m.value)
    assert 'section[data-testid="stSidebar"]' in css and ".st-key-eps" in css and ".st-key-B," in css
    hidden = next(line for line in css.splitlines() if ".st-key-eps" in line)  # the rule that hides the fine print
    assert ".st-key-norm," not in hidden and ".st-key-cb" not in hidden  # the compact norm picker and the cell stay
    links = {el.proto.label: el.proto.page for el in big.get("page_link")}
    assert links["Start"] == "" and links["Which LayerNorm?"] == "which-layernorm"  # previous / next, on top
    assert not any('stSidebar"]' in m.value for m in plain.markdown)
