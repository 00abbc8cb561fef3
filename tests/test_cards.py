"""Interview cards: every link opens a page of app.py with its settings intact; the cheat sheet is generated."""

from __future__ import annotations

import ast
import re

import pytest
import torch
from conftest import app_test, no_exception, page_entries

from norm_viz.classroom.cards import CARDS, axis_rows, cheat_sheet
from norm_viz.core.compute import normalize
from norm_viz.core.data import PRESETS
from norm_viz.core.table import NORMS

URL_PATHS = {e.url_path for e in page_entries()}
LINKS = [(c.key, link) for c in CARDS for link in c.links]
ISSUE_QUESTIONS = (
    "LayerNorm rather than BatchNorm",
    "batch size 1",
    "padded",
    "causal",
    "multi-device",
    "Pre-norm or post-norm",
    "RMSNorm",
    "PowerNorm",
    "without normalization",
)


def test_every_card_links_to_a_page_of_the_app():
    """Needs the pages of issues 3 and 4 (train-eval, padding, causal, …): passes once their branches are merged."""
    missing = sorted({f"{key} -> {link.url_path}" for key, link in LINKS if link.url_path not in URL_PATHS})
    assert not missing, f"card links to url_paths that app.py's PAGES does not have: {missing}"


@pytest.mark.parametrize(
    "key,link",
    [(k, lk) for k, lk in LINKS if lk.url_path in URL_PATHS],
    ids=lambda v: v if isinstance(v, str) else v.href,
)
def test_a_card_link_opens_its_demo_with_its_settings(key, link):
    at = app_test(link.url_path, dict(link.query))
    no_exception(at)
    notices = [w.value for w in at.warning if "URL parameter" in w.value]
    assert not notices, notices
    for k, v in link.query:
        assert at.query_params.get(k) == v, f"{link.url_path} did not keep {k}={v}"


def test_the_classic_questions_are_all_there_and_every_card_has_a_demo():
    text = " ".join(c.question for c in CARDS)
    for q in ISSUE_QUESTIONS:
        assert q in text, q
    assert all(c.links and c.answer and c.source for c in CARDS)
    assert len({c.key for c in CARDS}) == len(CARDS)


def test_the_wrong_seed_claim_is_corrected_and_links_to_which_layernorm():
    corrected = [c for c in CARDS if c.correction]
    assert corrected
    ln = next(c for c in corrected if "all features and all elements" in c.correction)
    # named as users can find it (issue 16: never "source document 000")
    assert "Cross Validated" in ln.correction + ln.source and "000" not in ln.correction + ln.source
    assert any(link.url_path == "which-layernorm" for link in ln.links)


def test_axis_table_is_the_norms_table():
    rows = {r["key"]: r for r in axis_rows()}
    assert set(rows) == set(NORMS)
    assert rows["layernorm"]["per"] == "token" and rows["batchnorm"]["per"] == "feature"
    assert rows["rmsnorm"]["centered"] == "no" and rows["layernorm"]["centered"] == "yes"
    assert rows["layernorm_sample"]["affine"] == "(S, F)"


def test_cheat_sheet_holds_the_answers_the_table_and_computed_examples():
    md = cheat_sheet()
    for c in CARDS:
        assert c.question in md and c.answer in md
    for n in NORMS.values():
        assert f"| {n.label} |" in md
    assert md.count("\n|") == len(NORMS) + 2  # header, rule, one row per norm
    # the worked examples are what normalize() computes (the D2L card's [[-1, 1], [-1, 1]] and its transpose)
    x = PRESETS["d2l"].tensor()
    for key in ("layernorm", "batchnorm"):
        y = normalize(x, key).output.reshape(-1, 2)
        shown = re.search(rf"- {NORMS[key].label}: `(\[\[.*?\]\])`", md).group(1)
        assert torch.allclose(torch.tensor(ast.literal_eval(shown), dtype=torch.float32), y, atol=1e-3)


def test_a_link_to_the_default_page_points_at_the_root():
    from conftest import page_entries

    from norm_viz.classroom.cards import ROOT_PAGE, Link

    assert [e.url_path for e in page_entries() if e.default] == [ROOT_PAGE]
    assert Link("x", ROOT_PAGE, (("norm", "rmsnorm"),)).href == "?norm=rmsnorm"
    assert Link("x", "padding", (("norm", "rmsnorm"),)).href == "padding?norm=rmsnorm"


def test_links_carry_their_settings_in_the_href():
    from norm_viz.classroom.cards import ROOT_PAGE

    for link in (lk for _, lk in LINKS if lk.query):
        path = "" if link.url_path == ROOT_PAGE else link.url_path
        assert link.href.startswith(path + "?") and all(f"{k}={v}" in link.href for k, v in link.query)


def test_interview_page_shows_one_card_from_a_link_and_offers_the_cheat_sheet():
    at = app_test("interview", {"iv_card": "which_ln"})
    no_exception(at)
    assert [s.value for s in at.subheader] == [next(c.question for c in CARDS if c.key == "which_ln")]
    assert any("gets this wrong" in w.value for w in at.warning)
    assert any(el.proto.label.startswith("⬇ Cheat sheet") for el in at.get("download_button"))


def test_interview_view_shows_all_cards_or_one():
    from norm_viz.classroom import cards

    every = cards.interview_view(cards.InterviewConfig())
    assert every.cards == CARDS and every.table_open
    assert list(every.table) == list(cards.AXIS_COLUMNS.values())
    assert every.table["norm"] == [n.label for n in NORMS.values()]
    one = cards.interview_view(cards.InterviewConfig(CARDS[1].key))
    assert one.cards == (CARDS[1],) and not one.table_open
    assert f"{len(CARDS)} questions; {sum(1 for c in CARDS if c.correction)} of them correct" in one.summary
    assert cards.card_title("all") == "All questions" and cards.card_title(CARDS[0].key) == CARDS[0].question
    with pytest.raises(ValueError, match="unknown card"):
        cards.interview_view(cards.InterviewConfig("nope"))
    with pytest.raises(KeyError):
        cards.card_title("nope")
    header = "| " + " | ".join(cards.AXIS_COLUMNS.values()) + " |"
    assert header == "| norm | one statistic per | averages over | subtracts the mean | γ, β shape | PyTorch |"
    assert header in cheat_sheet()
