"""The training lab: the tiny LM and the digits ConvNet train, are deterministic, and their norm layers agree with
torch.nn and with the app's table; BatchNorm's honest evaluation and the causal-leak measurement."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from norm_viz import normalize, train_cnn, train_lm
from norm_viz.core import extra_norms
from norm_viz.training import cnn, grid, lm
from norm_viz.training.layers import CNN_NORMS, LM_NORMS, MaskedBatchNorm, PowerNorm, SequenceNorm, image_norm

TINY = {"width": 32, "layers": 1, "heads": 2, "max_len": 24, "batch_size": 8, "eval_every": 1000, "leak_len": 12}


def tiny_model(norm: str, placement: str = "pre", seed: int = 0) -> lm.CharLM:
    torch.manual_seed(seed)
    return lm.CharLM(lm.LMConfig(norm=norm, placement=placement, **TINY), lm.text_data().vocab_size)


def test_split_is_fixed_and_disjoint():
    d = lm.text_data()
    assert len(d.train) > 8 * len(d.val) > 0
    train = {tuple(t.tolist()) for t in d.train}
    assert not any(tuple(v.tolist()) in train for v in d.val[:50])
    assert d.vocab_size == len(set("".join(d.chars)))


@pytest.mark.parametrize("placement", lm.PLACEMENTS)
@pytest.mark.parametrize("norm", LM_NORMS)
def test_initial_lm_loss_is_about_ln_vocabulary(norm, placement):
    h = train_lm(norm, placement, steps=1, seed=0, evaluate_at_end=False, **TINY)
    assert h.steps[0].train_loss == pytest.approx(math.log(h.vocab_size), abs=0.1)


def test_lm_loss_decreases():
    h = train_lm("layernorm", "pre", steps=40, seed=0, evaluate_at_end=False, **TINY)
    first = h.steps[0].train_loss
    last = sum(s.train_loss for s in h.steps[-5:]) / 5
    assert last < first - 0.8


def test_same_seed_same_curve_and_another_seed_another():
    a = train_lm("batchnorm", "post", steps=4, seed=3, evaluate_at_end=False, **TINY)
    b = train_lm("batchnorm", "post", steps=4, seed=3, evaluate_at_end=False, **TINY)
    c = train_lm("batchnorm", "post", steps=4, seed=4, evaluate_at_end=False, **TINY)
    curve = [s.train_loss for s in a.steps]
    assert curve == [s.train_loss for s in b.steps]
    assert [s.grad_norms for s in a.steps] == [s.grad_norms for s in b.steps]
    assert curve != [s.train_loss for s in c.steps]


def test_a_run_leaves_the_global_rng_alone():
    torch.manual_seed(11)
    expected = torch.rand(3)
    torch.manual_seed(11)
    train_lm("layernorm", "pre", steps=2, seed=0, evaluate_at_end=False, **TINY)
    assert torch.equal(torch.rand(3), expected)


def test_callback_sees_every_step_and_stops_the_run():
    seen = []
    h = train_lm(
        "rmsnorm", "pre", steps=10, seed=0, callback=lambda s, n: seen.append((s.step, n)) or s.step < 3, **TINY
    )
    assert seen == [(1, 10), (2, 10), (3, 10)]
    assert h.stopped and h.final is None and len(h.steps) == 3


def test_bad_config_says_what_is_valid():
    with pytest.raises(ValueError, match="valid: layernorm"):
        train_lm("groupnorm", steps=1)
    with pytest.raises(ValueError, match="pre, post"):
        train_lm("layernorm", "middle", steps=1)
    with pytest.raises(ValueError, match="valid: batchnorm"):
        train_cnn("rmsnorm", 8)


# --- the layers against torch.nn and the table ----------------------------------------------------------------


def test_batchnorm_layer_is_nn_batchnorm_in_training_and_eval():
    torch.manual_seed(0)
    layer, ref = SequenceNorm("batchnorm", 6), nn.BatchNorm1d(6)
    for _ in range(3):
        x = torch.randn(4, 5, 6) * 3 + 1
        torch.testing.assert_close(layer(x), ref(x.transpose(1, 2)).transpose(1, 2))
    layer.eval(), ref.eval()
    x = torch.randn(2, 5, 6)
    torch.testing.assert_close(layer(x), ref(x.transpose(1, 2)).transpose(1, 2))
    # eval mode = the running statistics, and so the same for every batch size
    torch.testing.assert_close(layer(x[:1]), layer(x)[:1])


@given(lengths=st.lists(st.integers(1, 6), min_size=2, max_size=4))
@settings(max_examples=20, deadline=None)
def test_masked_batchnorm_is_nn_batchnorm_on_the_real_tokens(lengths):
    torch.manual_seed(len(lengths))
    b, s, f = len(lengths), 6, 3
    mask = torch.arange(s)[None, :] < torch.tensor(lengths)[:, None]
    if int(mask.sum()) < 2:
        return
    layer, ref = MaskedBatchNorm(f), nn.BatchNorm1d(f)
    x = torch.randn(b, s, f) * 2 + 0.5
    torch.testing.assert_close(layer(x, mask)[mask], ref(x[mask]))
    torch.testing.assert_close(layer.running_mean, ref.running_mean)
    torch.testing.assert_close(layer.running_var, ref.running_var)
    layer.eval(), ref.eval()
    torch.testing.assert_close(layer(x, mask)[mask], ref(x[mask]))


def test_powernorm_layer_follows_the_papers_loop_through_and_after_warm_up():
    torch.manual_seed(0)
    layer = PowerNorm(4, warmup_steps=2)
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]], dtype=torch.bool)
    running = torch.ones(4)
    for step in range(1, 5):
        x = torch.randn(2, 4, 4) * 2
        want, running = extra_norms.powernorm_loop_step(x, 1e-5, mask=mask, running=running, step=step, warmup_steps=2)
        torch.testing.assert_close(layer(x, mask), want)
        torch.testing.assert_close(layer.running_psi2, running)
    layer.eval()
    x = torch.randn(1, 3, 4)
    torch.testing.assert_close(layer(x), x / torch.sqrt(running + 1e-5))


@pytest.mark.parametrize("key", ["layernorm", "rmsnorm", "dyt"])
def test_per_token_layers_match_the_table(key):
    x = torch.randn(3, 5, 8) * 2
    got = SequenceNorm(key, 8)(x)
    want = normalize(x, key, 1e-5).output
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("key", [k for k in CNN_NORMS if k != "none"])
def test_cnn_norm_equals_the_table_row_on_pixels_as_tokens(key):
    """Each image norm on (B, C, H, W) is the table's row on x viewed as (B, H·W, C), checked with the row's torch.nn
    reference (γ = 1, β = 0 at initialization)."""
    torch.manual_seed(1)
    x = torch.randn(4, 8, 3, 3) * 2 + 1
    layer = image_norm(key, 8, groups=4).train()
    tokens = x.flatten(2).transpose(1, 2)  # (B, H·W, C)
    eps = 1e-6 if key == "layernorm" else 1e-5
    want = normalize(tokens, key, eps, **({"groups": 4} if key == "groupnorm" else {})).output
    got = layer(x).flatten(2).transpose(1, 2)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_cnn_batchnorm_eval_uses_running_statistics():
    torch.manual_seed(0)
    model = cnn.DigitsCNN(cnn.CNNConfig(norm="batchnorm", channels=8))
    x = torch.randn(16, 1, 8, 8)
    model(x)  # one training-mode forward updates the running statistics
    bn = model.norm1
    assert isinstance(bn, nn.BatchNorm2d)
    ref = nn.BatchNorm2d(8).eval()
    ref.load_state_dict(bn.state_dict())
    model.eval()
    h = model.conv1(x)
    torch.testing.assert_close(bn(h), ref(h))
    torch.testing.assert_close(model(x[:1]), model(x)[:1])  # batch-size independent in eval mode


# --- honest evaluation ------------------------------------------------------------------------------------------


def test_causal_leak_is_zero_for_layernorm_and_positive_for_batchnorm():
    d = lm.text_data()
    seqs = list(d.val[:6])
    ln = lm.causal_leak(tiny_model("layernorm"), seqs, 10, d.pad)
    bn = lm.causal_leak(tiny_model("batchnorm"), seqs, 10, d.pad)
    assert ln.mean_abs_diff < 1e-5 and abs(ln.gap) < 1e-5
    assert bn.mean_abs_diff > 1e-3


def test_powernorm_after_warm_up_no_longer_leaks():
    """After warm-up PowerNorm divides by its running ψ², which the batch being scored does not change."""
    d = lm.text_data()
    model = tiny_model("powernorm")
    for m in model.modules():
        if isinstance(m, PowerNorm):
            m.step.fill_(m.warmup_steps)  # the next training step is past warm-up
    assert lm.causal_leak(model, list(d.val[:4]), 8, d.pad).mean_abs_diff < 1e-5
    assert lm.causal_leak(tiny_model("powernorm"), list(d.val[:4]), 8, d.pad).mean_abs_diff > 1e-3


def test_eval_mode_loss_does_not_depend_on_batch_size_but_training_mode_does():
    d = lm.text_data()
    model = tiny_model("batchnorm")
    ids, targets, mask = lm.make_batch(list(d.train[:16]), 24, d.pad)
    lm.loss_of(model, ids, targets, mask)  # fill the running statistics
    val = d.val[:8]
    eval4 = lm.mean_loss(model, val, 4, 24, d.pad, train_mode=False)
    eval8 = lm.mean_loss(model, val, 8, 24, d.pad, train_mode=False)
    assert eval4 == pytest.approx(eval8, rel=1e-5)
    before = [b.clone() for b in model.buffers()]
    train4 = lm.mean_loss(model, val, 4, 24, d.pad, train_mode=True)
    train8 = lm.mean_loss(model, val, 8, 24, d.pad, train_mode=True)
    assert abs(train4 - train8) > 1e-5  # batch statistics: the other sentences of the batch change the loss
    assert all(
        torch.equal(a, b) for a, b in zip(before, model.buffers(), strict=True)
    )  # evaluation leaves running stats alone


def test_final_evaluation_of_a_short_batchnorm_run():
    h = train_lm("batchnorm", "pre", steps=3, seed=0, **TINY)
    f = h.final
    assert f is not None and f.leak.mean_abs_diff > 0
    assert f.val_loss != pytest.approx(f.val_loss_train_mode, rel=1e-4)
    assert len(h.steps[0].grad_norms) == len(h.groups)
    q = h.steps[0].stat_var
    assert q[0] <= q[1] <= q[2]


# --- the ConvNet ------------------------------------------------------------------------------------------------


def test_digits_are_real_and_split_once():
    d = cnn.digits()
    assert d.x_train.shape[1:] == (1, 8, 8) and len(d.y_train) + len(d.y_val) == 1797
    assert float(d.x_train.min()) >= 0.0 and float(d.x_train.max()) <= 1.0
    assert set(d.y_val.tolist()) == set(range(10))


@pytest.mark.parametrize("norm", CNN_NORMS)
def test_cnn_trains_with_each_norm(norm):
    h = train_cnn(norm, 16, epochs=2, seed=0)
    first, last = h.steps[0].loss, sum(s.loss for s in h.steps[-10:]) / 10
    assert last < first
    assert h.val_error is not None and h.val_error < 0.9  # better than guessing one of ten digits


def test_cnn_same_seed_same_result():
    a = train_cnn("groupnorm", 16, epochs=1, seed=5, channels=8)
    b = train_cnn("groupnorm", 16, epochs=1, seed=5, channels=8)
    assert [s.loss for s in a.steps] == [s.loss for s in b.steps] and a.val_error == b.val_error


# --- the grid cache and its verdicts --------------------------------------------------------------------------


def test_grid_cache_computes_once_then_reads(tmp_path, monkeypatch):
    monkeypatch.setenv("NORM_VIZ_CACHE", str(tmp_path))
    cfgs = grid.cnn_grid(cnn.CNNConfig(epochs=1, channels=8), norms=("batchnorm",), batch_sizes=(32,), seeds=(0,))
    first = grid.fill_cnn(cfgs)
    assert list((tmp_path / "training").glob("cnn-*.json"))
    monkeypatch.setattr(cnn, "run_cnn", lambda *a, **k: pytest.fail("recomputed a cached run"))
    assert grid.fill_cnn(cfgs) == first
    with pytest.raises(pytest.fail.Exception):
        grid.fill_cnn(cfgs, recompute=True)


def _row(norm: str, bs: int, seed: int, err: float) -> grid.CNNSummary:
    return grid.CNNSummary(norm, bs, seed, 1, err, err, 0.0, 1.0, False)


def test_verdicts_follow_the_numbers():
    paper_like = [_row("batchnorm", 2, s, 0.30 + 0.01 * s) for s in range(3)]
    paper_like += [_row("batchnorm", 32, s, 0.05 + 0.01 * s) for s in range(3)]
    paper_like += [_row("groupnorm", bs, s, 0.06 + 0.01 * s) for bs in (2, 32) for s in range(3)]
    text = " ".join(grid.cnn_verdicts(paper_like))
    assert "does not agree" not in text and text.count("agrees with") == 3
    flipped = [dataclasses.replace(r, val_error=0.4 - (r.val_error or 0)) for r in paper_like if r.norm == "batchnorm"]
    text = grid.cnn_verdicts(flipped + [r for r in paper_like if r.norm == "groupnorm"])[0]
    assert "does not agree" in text
    table = grid.cnn_table(paper_like)
    assert table[0]["batch 2"] == "31.0 ± 1.0"


def test_unigram_baseline_lies_between_a_trained_model_and_uniform_guessing():
    uni = lm.unigram_loss()
    assert 2.5 < uni < math.log(lm.text_data().vocab_size)
    row = grid.LMSummary("dyt", "pre", 0, 3, uni, uni, uni, uni, 0.0, 0.0, 1.0, False)
    assert any("barely using the context: DyT" in v for v in grid.lm_verdicts([row]))


def test_lm_estimate_scales_with_steps():
    cfg = lm.LMConfig(steps=100, **TINY)
    t = grid.estimate_lm(cfg, per_step=0.01)
    assert grid.estimate_lm(dataclasses.replace(cfg, steps=200), per_step=0.01) > 1.8 * t - 0.2
