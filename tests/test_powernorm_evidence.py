"""PowerNorm's claim like for like: the BatchNorm recorder (against torch.nn's own statistics, and changing no number),
the equal-values comparison (against the known spread of a Gaussian sample variance), the shipped records and the
page's verdicts worded from them."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import app_test, charts, no_exception
from torch import nn

from norm_viz.beyond import powernorm_evidence as pe
from norm_viz.training import cnn
from norm_viz.training import results as rs


def test_the_recorder_reads_batchnorms_statistics_before_its_update():
    torch.manual_seed(0)
    bn = nn.BatchNorm2d(3).train()
    bn.running_mean.fill_(0.5)
    bn.running_var.fill_(2.0)
    x = torch.randn(4, 3, 5, 5) * 3 + 1
    rec = pe.Recorder(nn.Sequential)
    hook = nn.modules.module.register_module_forward_pre_hook(rec)
    try:
        bn(x)
        bn.eval()(x)  # eval-mode forwards are not batch statistics: not recorded
    finally:
        hook.remove()
    (steps,) = rec.steps
    assert len(steps) == 1
    rel_var, rel_mean, raw_var, raw_mean, n = steps[0]
    var = x.double().var(dim=(0, 2, 3), correction=0)
    mean = x.double().mean(dim=(0, 2, 3))
    assert n == 4 * 25
    assert rel_var == pytest.approx(float(((var - 2.0).abs() / 2.0).mean()))
    assert rel_mean == pytest.approx(float(((mean - 0.5).abs() / math.sqrt(2.0)).mean()))
    assert raw_var == pytest.approx(float((var - 2.0).abs().mean()))
    assert raw_mean == pytest.approx(float((mean - 0.5).abs().mean()))


def test_recording_changes_no_number():
    cfg = cnn.CNNConfig(norm="batchnorm", batch_size=16, steps=30, seed=3)
    plain = cnn.run_cnn(cfg)
    rec = pe.Recorder(cnn.DigitsCNN)
    hook = nn.modules.module.register_module_forward_pre_hook(rec)
    try:
        recorded = cnn.run_cnn(cfg)
    finally:
        hook.remove()
    assert recorded.val_error == plain.val_error and [s.loss for s in recorded.steps] == [s.loss for s in plain.steps]
    assert len(rec.steps) == 3 and len(rec.steps[0]) >= 30 and isinstance(rec.model, cnn.DigitsCNN)


def test_interpolation_is_exact_on_a_power_law_and_refuses_to_extrapolate():
    xs = [50.0, 100.0, 400.0]
    ys = [x**-0.5 for x in xs]
    assert pe.at_values(xs, ys, 200.0) == pytest.approx(200.0**-0.5)
    assert pe.at_values(xs, ys, 25.0) is None and pe.at_values(xs, ys, 800.0) is None


def test_equal_values_spread_of_independent_gaussians_is_sqrt_2_over_n():
    """For independent Gaussian values the sample variance of n of them has sd √(2/(n−1)) σ²: the measured spread at
    n values per statistic must land there whatever the values per sample (8 or 64)."""
    g = torch.Generator().manual_seed(0)
    for per_sample in (8, 64):
        x = torch.randn(256, per_sample, 16, generator=g, dtype=torch.float64)
        r = pe.frozen_record("gauss", "none", 0, x, torch.ones(256, per_sample, dtype=torch.bool))
        for n in (128, 512):
            got = r["at"][str(n)]
            assert got == pytest.approx(math.sqrt(2 / (n - 1)), rel=0.2), (per_sample, n, got)


def test_a_small_pool_shrinks_the_spread_by_the_finite_population_factor():
    """Batches of b samples drawn without replacement from N overlap: for independent Gaussian values the spread of
    the batch variance is √(2/(n−1)) σ² times √((N − b)/(N − 1)). Why the Real model page compares its sentences with
    images drawn from a pool of the same size (PAGE_POOLS)."""
    g = torch.Generator().manual_seed(2)
    x = torch.randn(256, 16, 16, generator=g, dtype=torch.float64)
    mask = torch.ones(256, 16, dtype=torch.bool)
    for pool in (32, 256):
        r = pe.frozen_record("gauss", "none", 0, x[:pool], mask[:pool], n_batches=256)
        b = 16  # 256 values per statistic = 16 samples of 16 values: a measured batch size, no interpolation
        assert b in r["batch_sizes"]
        want = math.sqrt(2 / 255) * math.sqrt((pool - b) / (pool - 1))
        assert r["at"]["256"] == pytest.approx(want, rel=0.12), (pool, r["at"]["256"], want)
    assert set(pe.PAGE_POOLS) == {32, 64, 128}


def test_correlated_pixels_fluctuate_more_at_equal_values():
    """A sample whose values are all one number (fully correlated pixels) is worth one value: at 512 values per
    statistic its batch variance spreads far more than independent values'."""
    g = torch.Generator().manual_seed(1)
    indep = torch.randn(256, 64, 8, generator=g, dtype=torch.float64)
    same = torch.randn(256, 1, 8, generator=g, dtype=torch.float64).expand(256, 64, 8).clone()
    mask = torch.ones(256, 64, dtype=torch.bool)
    a = pe.frozen_record("indep", "x", 0, indep, mask)["at"]["512"]
    b = pe.frozen_record("same", "x", 0, same, mask)["at"]["512"]
    assert b > 3 * a


def _frozen(layer: str, seed: int, v: float) -> dict:
    return {"kind": "frozen", "model": "m", "layer": layer, "seed": seed, "values_per_sample": 10,
            "at": {str(n): v for n in pe.TARGETS}}  # fmt: skip


def _training(model: str, layer: str, seed: int, v: float) -> dict:
    return {"kind": "training", "model": model, "layer": layer, "seed": seed, "values_per_statistic": 1000,
            "rel_var": v, "rel_mean": v / 2, "curve_rel_var": [v] * 5}  # fmt: skip


def test_verdicts_follow_the_numbers():
    jit = (0.0, 0.001, -0.001)
    recs = [_training("tiny LM (BatchNorm, pre-norm)", pe.TEXT_LAYER, s, 0.30 + j) for s, j in enumerate(jit)]
    recs += [_training("ConvNet on digits", "conv 1 BatchNorm", s, 0.10 + j) for s, j in enumerate(jit)]
    recs += [_training("ConvNet on digits", "conv 3 BatchNorm", s, 0.30 + 5 * j) for s, j in enumerate(jit)]
    recs += [_frozen("text: a", s, 0.10 + j) for s, j in enumerate(jit)]
    recs += [_frozen("images: b", s, 0.20 + j) for s, j in enumerate(jit)]
    recs += [_frozen("images: c", s, 0.05 + j) for s, j in enumerate(jit)]
    during, frozen = pe.verdicts(recs)
    assert "more than 1 of 2 image layers', less than 0, no differently from 1" in during
    assert "conv 1 BatchNorm" in during and "→ no difference at this scale" in during
    assert "from 0.50× (text: a vs images: b) to 2.00× (text: a vs images: c)" in frozen
    assert "1 more, 1 less" in frozen and "depends on which layer" in frozen


def test_shipped_evidence_has_three_seeds_everywhere():
    recs = rs.shipped_results("powernorm")
    if not recs:
        pytest.skip("the PowerNorm evidence is not shipped")
    prov = rs.provenance("powernorm")
    assert prov["seeds"] == [0, 1, 2] and prov["torch"].startswith("2.13.0") and prov["cpu_s"] > 0
    groups: dict[tuple, set] = {}
    for r in recs:
        if r["kind"] in ("training", "frozen"):
            groups.setdefault((r["kind"], r["model"], r["layer"]), set()).add(r["seed"])
    assert groups and all(s == {0, 1, 2} for s in groups.values()), groups
    assert any(k[0] == "training" and k[1].startswith("tiny LM") for k in groups)
    assert any(k[0] == "training" and k[1].startswith("ConvNet") for k in groups)
    assert pe.verdicts(recs)
    pools: dict[tuple, set] = {}
    for r in recs:
        if r["kind"] == "frozen_pool":
            pools.setdefault((r["pool"], r["model"], r["layer"]), set()).add(r["seed"])
    frozen_images = {k[1:] for k in groups if k[0] == "frozen" and k[2].startswith("images")}
    for pool in pe.PAGE_POOLS:  # every image layer again from each smaller pool, 3 seeds
        assert {k[1:] for k in pools if k[0] == pool} == frozen_images
    assert all(s == {0, 1, 2} for s in pools.values()), pools


def test_the_powernorm_page_shows_the_evidence():
    recs = rs.shipped_results("powernorm")
    if not recs:
        pytest.skip("the PowerNorm evidence is not shipped")
    at = app_test("powernorm")
    no_exception(at)
    titles = [f["layout"]["title"]["text"] for f in charts(at)]
    assert any("During training" in t for t in titles) and any("Frozen activations" in t for t in titles)
    md = " ".join(e.value for e in at.markdown)
    for line in pe.verdicts(recs):
        assert line[:80] in md
