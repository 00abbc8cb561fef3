"""The real model page's measurements against direct torch computations and LayerNorm's own bounds."""

from __future__ import annotations

import math

import pytest
import torch

from norm_viz.beyond import powernorm_evidence as pe
from norm_viz.core import corpus
from norm_viz.real import minilm as real
from norm_viz.real import view as rm
from norm_viz.training import results as rs

pytestmark = pytest.mark.skipif(real.available() is not None, reason=f"model not installed: {real.INSTALL}")


@pytest.fixture(scope="module")
def view() -> rm.RealModelView:
    return rm.real_model_view(list(real.DEFAULT_SENTENCES))


def test_layernorm_never_exceeds_its_ceiling(view):
    """|x̂| ≤ √(F−1) for every token (Cauchy–Schwarz on the centred token): the page's ceiling is a real bound."""
    for a in real.all_layernorms(list(real.DEFAULT_SENTENCES)):
        xhat = rm.xhat_of(a)
        assert float(xhat.max()) <= real.CEILING * (1 + 1e-5), a.name
    assert math.isclose(real.CEILING, math.sqrt(383))
    assert view.nearest_ceiling.max_xhat <= real.CEILING * (1 + 1e-5)


def test_the_padding_feature_and_the_variances_are_what_torch_says(view):
    acts = real.all_layernorms(list(real.DEFAULT_SENTENCES))
    for f, a in zip(view.facts, acts, strict=True):
        pad, rows = ~a.mask, a.x[a.mask]
        sep = (a.x[pad].mean(0) - rows.mean(0)).abs() / rows.std(0)
        assert f.pad_feature == int(sep.argmax())
        col = a.x[..., f.pad_feature].double()
        assert f.bn_var_unmasked == pytest.approx(float(col.reshape(-1).var(correction=0)), rel=1e-9)
        assert f.bn_var_masked == pytest.approx(float(col[a.mask].var(correction=0)), rel=1e-9)
        assert f.max_delta <= 1e-5
        top = int(rows.abs().amax(0).argmax())
        assert f.top_features[0] == top and abs(f.top_values[0]) == pytest.approx(float(rows[:, top].abs().max()))


def test_batch_composition_moves_batchnorm_not_layernorm(view):
    cp = view.composition
    assert cp.ln_change <= 1e-5, "LayerNorm of a fixed sentence cannot depend on its companions beyond rounding"
    assert cp.bn_change > 100 * max(cp.ln_change, 1e-7)


def test_findings_are_worded_from_the_numbers(view):
    text = " ".join(rm.findings(view))
    assert f"feature **{view.top.top_features[0]}**" in text
    assert f"{view.nearest_ceiling.max_xhat:.3f}" in text
    assert f"{view.composition.bn_change:.3g}" in text


def test_the_powernorm_claim_compares_real_text_with_shipped_images_from_the_same_pool():
    c = rm.powernorm_claim(layer=0, site="attention", n_sentences=32, n_batches=8)
    x, mask = real.ln_inputs(corpus.sample(32, 0), real.ln_index(0, "attention"))
    assert [r["seed"] for r in c.text] == [0, 1, 2]
    assert all(r["values_per_sample"] == round(float(mask.sum(1).double().mean()), 1) for r in c.text)
    again = pe.frozen_record(c.text[1]["layer"], c.text[1]["model"], 1, x, mask, n_batches=8)
    assert again == c.text[1], "each draw is powernorm_evidence's measurement of these activations"
    shipped = [r for r in rs.shipped_results("powernorm") if r.get("kind") == "frozen_pool" and r.get("pool") == 32]
    if not shipped:
        pytest.skip("the PowerNorm evidence is not shipped")
    assert list(c.images) == shipped and {r["pool"] for r in c.images} == {32}
    text_at = rs.spread(r["at"]["256"] for r in c.text)
    assert text_at.n == 3 and c.text_at == text_at
    for _layer, sp, word in c.comparisons:  # the verdict rule, pair by pair
        assert sp.n == 3 and word == pe.more_or_less(text_at, sp)
    assert len(c.comparisons) == sum(1 for r in shipped if r["at"].get("256") is not None) // 3
    words = [w for _l, _s, w in c.comparisons]
    assert c.verdict == rm.claim_verdict(text_at, c.comparisons, 32)
    for word, phrase in (("more", "more than at"), ("less", "less than at")):
        assert (phrase in c.verdict) == (word in words)
    ratios = [text_at.mean / sp.mean for _l, sp, _w in c.comparisons]
    assert f"{min(ratios):.2f}× to {max(ratios):.2f}×" in c.verdict
    rows = c.rows()
    assert [r["text fluctuates"] for r in rows] == words
    assert all(r["text, 256 values (3 draws)"] == text_at.text(3) for r in rows)
    assert [r["images, 256 values (3 seeds)"] for r in rows] == [sp.text(3) for _l, sp, _w in c.comparisons]
    assert "What it cannot test" in c.scale and "same number (32) of validation images" in c.scale
    assert c.provenance["command"].startswith("python -m norm_viz.beyond.powernorm_evidence")
    assert {r["kind"] for r in c.records} == {"frozen"} and len(c.records) == 3 + len(shipped)


def _spread(mean: float, sd: float) -> rs.Spread:
    return rs.Spread((mean - sd, mean, mean + sd))


@pytest.mark.parametrize(
    ("image_means", "head", "tail"),
    [
        ((0.05, 0.06), "more than at every image layer (2 of 2)", "do fluctuate more"),
        ((0.20, 0.30), "less than at every image layer (2 of 2)", "do not fluctuate more"),
        ((0.101, 0.20, 0.30), "less than at 2 of the 3 image layers, no differently from 1", "do not fluctuate more"),
        ((0.05, 0.101), "more than at 1 of the 2 image layers, no differently from 1", "less than none"),
        ((0.05, 0.20, 0.101), "more than at 1 of the 3 image layers, less than at 1, no differently from 1", "depends"),
        ((0.101,), "no differently from every image layer (1 of 1)", "no difference at this scale"),
    ],
)
def test_the_claims_verdict_follows_the_rule_and_says_only_what_the_counts_say(image_means, head, tail):
    text = _spread(0.10, 0.002)
    comparisons = []
    for i, m in enumerate(image_means):
        sp = _spread(m, 0.002)
        comparisons.append((f"layer {i}", sp, pe.more_or_less(text, sp)))
    v = rm.claim_verdict(text, comparisons, 128)
    assert head in v and tail in v, v
    assert " 0 of" not in v and "at 0" not in v and "from 0" not in v
    ratios = [0.10 / m for m in image_means]
    assert f"{min(ratios):.2f}× to {max(ratios):.2f}×" in v
    assert "cannot make batches" in rm.claim_verdict(rs.Spread(()), comparisons, 32)


def test_the_powernorm_claim_gives_no_verdict_without_images(monkeypatch):
    monkeypatch.setattr(rs, "shipped_results", lambda grid: [])
    c = rm.powernorm_claim(layer=0, site="attention", n_sentences=32, n_batches=8)
    assert not c.images and not c.comparisons and not c.provenance
    assert "No shipped image measurement" in c.verdict and "fluctuates" not in c.verdict


def test_ln_inputs_matches_one_batch_at_a_time():
    sents = corpus.sample(20, 3)
    x, mask = real.ln_inputs(sents, real.ln_index(1, "attention"), chunk=7)
    for i in (0, 13):
        one = real.real_activations([sents[i]], layer=1, site="attention")
        n = one.lengths[0]
        assert int(mask[i].sum()) == n
        torch.testing.assert_close(x[i, :n], one.x[0], rtol=1e-5, atol=1e-4)


def test_the_interview_note_shows_the_sentence_literally(view):
    """The card's live note quotes the batch-composition sentence through the page's `quote` (ui.literal): Markdown,
    HTML and LaTeX in a sentence stay text."""
    import dataclasses

    from norm_viz.classroom.cards import real_notes
    from norm_viz.ui.safety import literal

    hostile = "[click](http://e.vil) <b>bold</b> $x^2$ **loud**"
    v = dataclasses.replace(view, composition=dataclasses.replace(view.composition, sentence=hostile))
    note = real_notes(v, quote=literal)["why_ln"]
    assert f"the sentence {literal(hostile)} run in" in note
    assert note.count(hostile) == 1 and f"“{hostile}”" not in note


def test_no_page_file_has_a_stray_string():
    """Streamlit's magic writes a bare string statement of a page file onto the page (pages/real-model.py showed a
    note meant for developers at its top): below the module docstring, a page's notes are comments."""
    import ast
    from pathlib import Path

    stray = []
    for f in sorted(Path(__file__).resolve().parents[1].glob("pages/*.py")):
        body = ast.parse(f.read_text()).body
        stray += [
            f"{f.name}:{n.lineno}"
            for n in body[1:]
            if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) and isinstance(n.value.value, str)
        ]
    assert not stray, stray


def test_batch_composition_at_every_site_agrees_with_the_one_site_experiment_and_torch(view):
    """The all-sites experiment (one full forward per batch) gives, at each site, the movement that the one-site
    experiment (a forward up to that site, same companions) measures; unmasked BatchNorm is nn.BatchNorm1d over
    every position; LayerNorm does not move."""
    from torch import nn

    sc = view.sites
    assert len(sc.sites) == 13 and [m.index for m in sc.sites] == list(range(13))
    others = corpus.sample(64, seed=1)
    for layer, site in ((0, "ffn"), (5, "attention")):
        one = rm.batch_composition(sc.sentence, others, layer, site, n_batches=sc.n_batches)
        at = sc.at(layer, site)
        assert at.masked == pytest.approx(one.bn_change, rel=1e-5, abs=1e-6)
        assert at.ln <= 1e-5 and at.masked > 100 * max(at.ln, 1e-7)
        assert 0 < at.masked_median <= at.masked and 0 < at.unmasked_median <= at.unmasked
    # unmasked BatchNorm by hand with torch.nn on the same draws, at the last site
    import random

    rng = random.Random(0)
    pool = [s for s in others if s != sc.sentence]
    outs = []
    for _ in range(sc.n_batches):
        a = real.real_activations([sc.sentence, *rng.sample(pool, sc.batch_size - 1)], 5, "ffn")
        b, s, f = a.x.shape
        bn = nn.BatchNorm1d(f, affine=False)(a.x.reshape(b * s, f)).reshape(b, s, f)
        outs.append(bn[0, : a.lengths[0]].detach())
    t = torch.stack(outs)
    assert sc.at(5, "ffn").unmasked == pytest.approx(float((t.amax(0) - t.amin(0)).max()), rel=1e-4)


def test_the_composition_findings_name_every_sites_extremes(view):
    text = " ".join(rm.findings(view))
    worst = max(view.sites.sites, key=lambda m: m.unmasked)
    assert f"{worst.unmasked:.3g} (most at the {worst.name})" in text
    assert f"this site ranks {1 + sum(m.masked > view.composition.bn_change for m in view.sites.sites)} of 13" in text


def test_batch_composition_sites_says_what_is_wrong():
    with pytest.raises(ValueError, match="at least 2 batches"):
        rm.batch_composition_sites("A sentence.", ["x"] * 10, n_batches=1)
    with pytest.raises(ValueError, match="other sentences"):
        rm.batch_composition_sites("A sentence.", ["B.", "C."], n_batches=3, batch_size=8)


def test_a_long_first_sentence_gets_fewer_draws():
    assert rm.composition_batches(10) == rm.COMPOSITION_BATCHES == 8
    assert rm.composition_batches(48) == 4 and rm.composition_batches(128) == 4
    assert rm.composition_batches(30) == 6
