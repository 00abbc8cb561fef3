"""The transformer-question checks against hand-computed cases, torch.nn, and properties read off the NORMS table."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from norm_viz.core import distributed
from norm_viz.core.data import checked_lengths_mask, make_tensor
from norm_viz.core.table import NORMS
from norm_viz.questions import causal as cz
from norm_viz.questions import common, properties
from norm_viz.questions import dependence as dep
from norm_viz.questions import multi_device as md_
from norm_viz.questions import padding as pad
from norm_viz.questions import train_eval as te

X = make_tensor(4, 6, 8, seed=3)
SETTINGS = settings(max_examples=15, deadline=None)


def shapes(min_b: int = 1, min_s: int = 1):
    """(B, S, F, seed); F ≥ 4 so that every default group holds at least 2 features (a 1-value group outputs 0)."""
    return st.tuples(st.integers(min_b, 5), st.integers(min_s, 6), st.sampled_from([4, 6, 8]), st.integers(0, 10_000))


# --- running statistics ----------------------------------------------------------------------------


def test_running_stats_one_step_by_hand():
    # one feature, values 0 and 2: mean 1, biased variance 1, unbiased 2
    batches = torch.tensor([0.0, 2.0]).view(1, 2, 1, 1)
    rs = te.simulate_running_stats(batches, momentum=0.1, keras_momentum=0.99)
    assert rs.batch_mean.item() == pytest.approx(1.0)
    assert rs.batch_var.item() == pytest.approx(1.0)
    assert rs.torch_mean.item() == pytest.approx(0.9 * 0 + 0.1 * 1)
    assert rs.torch_var.item() == pytest.approx(0.9 * 1 + 0.1 * 2)  # unbiased: 2, not 1
    assert rs.keras_mean.item() == pytest.approx(0.99 * 0 + 0.01 * 1)
    assert rs.keras_var.item() == pytest.approx(0.99 * 1 + 0.01 * 1)  # biased


@SETTINGS
@given(shapes(), st.integers(1, 12), st.floats(0.01, 1.0))
def test_running_stats_match_nn_batchnorm_step_by_step(shape, steps, momentum):
    b, s, f, seed = shape
    if b * s < 2:
        return
    batches = te.drifting_batches(steps, b, s, f, 0.3, seed)
    rs = te.simulate_running_stats(batches, momentum=momentum)
    bn = nn.BatchNorm1d(f, momentum=momentum, dtype=torch.float64)
    for t in range(steps):
        bn(batches[t].transpose(1, 2))
        torch.testing.assert_close(rs.torch_mean[t], bn.running_mean.detach())
        torch.testing.assert_close(rs.torch_var[t], bn.running_var.detach())
    assert rs.nn_mean_diff < 1e-12 and rs.nn_var_diff < 1e-12 and rs.keras_nn_mean_diff < 1e-12


def test_running_stats_lag_a_drift_and_keras_lags_more():
    rs = te.simulate_running_stats(te.drifting_batches(40, 4, 6, 3, drift=0.5))
    last_batch = rs.batch_mean[-1]
    assert ((last_batch - rs.torch_mean[-1]) > 0).all()
    assert ((rs.torch_mean[-1] - rs.keras_mean[-1]) > 0).all()  # 0.99 on the old value remembers longer
    flat = te.simulate_running_stats(te.drifting_batches(40, 4, 6, 3, drift=0.0))
    assert float((flat.batch_mean[-1] - flat.torch_mean[-1]).abs().max()) < float(
        (last_batch - rs.torch_mean[-1]).abs().min()
    )


def test_running_stats_refuse_one_value_per_feature():
    with pytest.raises(ValueError, match="n − 1 = 0"):
        te.simulate_running_stats(torch.zeros(3, 1, 1, 4))


# --- train vs eval, batch size 1 -----------------------------------------------------------------


def test_train_vs_eval_only_batch_statistics_norms_differ():
    x = X + 5.0  # far from the fresh running statistics (0, 1)
    mc = te.train_vs_eval(x)
    for r in mc.rows:
        assert r.train_eval_diff is not None
        if NORMS[r.key].batch_stats:
            assert r.train_eval_diff > 1.0, r.key
        else:
            assert r.train_eval_diff == 0.0, r.key


def test_eval_with_the_batchs_own_statistics_equals_training():
    x = X.double()
    flat = x.reshape(-1, x.shape[-1])
    mc = te.train_vs_eval(x, running_mean=flat.mean(0), running_var=flat.var(0, unbiased=False))
    assert mc.row("batchnorm").train_eval_diff < 1e-12


def test_batch_size_one_single_token_fails_like_torch():
    mc = te.train_vs_eval(X[:, :1], item=2)
    bn = mc.row("batchnorm")
    assert bn.alone_train_error and "more than one value" in bn.alone_train_error
    assert "Expected more than 1 value per channel when training" in mc.torch_single_value_error
    assert bn.alone_eval_diff == 0.0  # eval mode works on one example
    assert mc.row("layernorm").alone_train_diff == 0.0


def test_batch_size_one_with_tokens_becomes_instancenorm():
    mc = te.train_vs_eval(X, item=1)
    bn = mc.row("batchnorm")
    assert bn.alone_train_error is None
    assert bn.alone_vs_instancenorm is not None and bn.alone_vs_instancenorm < 1e-12
    assert bn.alone_train_diff > 0.1  # different from the same example inside the batch
    ref = nn.InstanceNorm1d(8, dtype=torch.float64)(X[1:2].double().transpose(1, 2)).transpose(1, 2)
    alone = common.run(X[1:2].double(), "batchnorm").output
    torch.testing.assert_close(alone, ref)
    assert all(r.alone_eval_diff == 0.0 for r in mc.rows)


# --- padding -------------------------------------------------------------------------------------


def test_padding_statistics_by_hand():
    x = torch.tensor([[[1.0], [3.0], [5.0]], [[7.0], [100.0], [100.0]]])
    check = pad.padding_effect(x, (3, 1))
    assert check.pads == 2
    assert check.bn_mean_padded.item() == pytest.approx((1 + 3 + 5 + 7) / 6)
    assert check.bn_mean_real.item() == pytest.approx((1 + 3 + 5 + 7) / 4)
    real_var = sum((v - 4) ** 2 for v in (1, 3, 5, 7)) / 4
    assert check.bn_var_real.item() == pytest.approx(real_var)
    assert check.bn_var_padded.item() == pytest.approx(sum((v - 16 / 6) ** 2 for v in (1, 3, 5, 7, 0, 0)) / 6)


@SETTINGS
@given(shapes(min_s=3), st.floats(-50, 50), st.data())
def test_per_token_norms_ignore_padding_and_masking_fixes_batchnorm(shape, pad_value, data):
    b, s, f, seed = shape
    lengths = tuple(data.draw(st.lists(st.integers(2, s), min_size=b, max_size=b)))
    x = make_tensor(b, s, f, seed=seed)
    check = pad.padding_effect(x, lengths, pad_value)
    for r in check.rows:
        spec = NORMS[r.key]
        if "batch" not in spec.reduce and "sequence" not in spec.reduce:
            assert r.max_diff == 0.0 and r.pad_content_diff == 0.0, r.key
        if spec.masked:
            assert r.max_diff < 1e-9 and r.pad_content_diff < 1e-9, r.key


def test_padding_moves_batchnorm_instancenorm_groupnorm():
    check = pad.padding_effect(X, (6, 3, 6, 3))
    for key in ("batchnorm", "instancenorm", "groupnorm", "layernorm_sample"):
        assert check.row(key).safe is False and check.row(key).max_diff > 0.01, key
    for key in ("layernorm", "rmsnorm", "masked_batchnorm"):
        assert check.row(key).safe is True, key


def test_masked_batchnorm_real_tokens_equal_nn_batchnorm_on_real_tokens():
    lengths = (6, 2, 4, 1)
    check = pad.padding_effect(X, lengths)
    mask = checked_lengths_mask(lengths, 6)
    y = common.run(X.double(), "masked_batchnorm", mask=mask).output[mask]
    ref = nn.BatchNorm1d(8, dtype=torch.float64)(X.double()[mask])
    torch.testing.assert_close(y, ref)
    assert check.row("masked_batchnorm").safe


def test_padding_bad_lengths_raise_with_what_is_valid():
    with pytest.raises(ValueError, match="every token is padding"):
        pad.padding_effect(X, (0, 0, 0, 0))
    with pytest.raises(ValueError, match="between 0 and S = 6"):
        pad.padding_effect(X, (7, 1, 1, 1))
    with pytest.raises(ValueError, match="one length per sequence: 4"):
        pad.padding_effect(X, (3, 3))


def test_no_padding_changes_nothing():
    check = pad.padding_effect(X, (6, 6, 6, 6))
    assert check.pads == 0
    assert all(r.safe for r in check.rows)


# --- causal leakage ------------------------------------------------------------------------------


def test_batchnorm_leak_by_hand():
    # B = 2, S = 1, F = 1: BatchNorm over the two values; perturbing sequence 1 moves sequence 0
    x = torch.tensor([[[0.0]], [[2.0]]])
    check = cz.causal_leakage(x, (1, 0), size=2.0)
    step = 2.0 * float(cz._direction(1, 0)[0])  # ±2
    x2 = [0.0, 2.0 + step]

    def bn(vals: list[float]) -> list[float]:
        m = sum(vals) / 2
        v = sum((a - m) ** 2 for a in vals) / 2
        return [(a - m) / math.sqrt(v + 1e-5) for a in vals]

    expect = [abs(a - b) for a, b in zip(bn(x2), bn([0.0, 2.0]), strict=True)]
    delta = check.row("batchnorm").delta
    assert delta[0, 0].item() == pytest.approx(expect[0])
    assert delta[1, 0].item() == pytest.approx(expect[1])
    assert check.batch_safe("batchnorm") is False
    assert check.batch_safe("layernorm") is True


@SETTINGS
@given(shapes(min_b=2, min_s=2), st.sampled_from(["difference", "jacobian"]), st.data())
def test_leaks_follow_the_table(shape, method, data):
    """A norm leaks into the past iff it averages over the sequence, into other sequences iff over the batch."""
    b, s, f, seed = shape
    tb = data.draw(st.integers(0, b - 1))
    ts = data.draw(st.integers(1, s - 1))
    x = make_tensor(b, s, f, seed=seed)
    check = cz.causal_leakage(x, (tb, ts), method=method)
    for r in check.rows:
        if r.error:
            continue
        spec = NORMS[r.key]
        lk = check.leaks(r.key)
        assert lk["self"] > 0, r.key
        assert check.causal_safe(r.key) == ("sequence" not in spec.reduce), r.key
        assert check.batch_safe(r.key) == ("batch" not in spec.reduce), r.key
        if "sequence" not in spec.reduce and "batch" not in spec.reduce:
            assert lk["past"] == 0.0 and lk["other_sequences"] == 0.0 and lk["same_sequence"] == 0.0, r.key


def test_jacobian_and_difference_agree_for_small_perturbations():
    x = X[:2, :4]
    jac = cz.causal_leakage(x, (1, 3), method="jacobian")
    fd = cz.causal_leakage(x, (1, 3), size=1e-6, method="difference")
    for rj, rf in zip(jac.rows, fd.rows, strict=True):
        assert torch.equal(rj.delta > 1e-12, rf.delta > 1e-15), rj.key
        # |Δy| ≈ |J v| ≤ max|J| · ‖v‖₁, with ‖v‖₂ = 1 so ‖v‖₁ ≤ √F
        assert (rf.delta / 1e-6 <= rj.delta * math.sqrt(8) + 1e-6).all(), rj.key


def test_causal_bad_token_raises():
    with pytest.raises(ValueError, match="0 ≤ s < 6"):
        cz.causal_leakage(X, (0, 6))


# --- batch dependence ----------------------------------------------------------------------------


@pytest.mark.parametrize("key", list(NORMS))
def test_batch_dependence_follows_the_table(key):
    d = dep.batch_dependence(X, 0, 2, keys=[key])
    assert d.depends(key) == ("batch" in NORMS[key].reduce)
    if "batch" not in NORMS[key].reduce:
        assert d.largest(key) == 0.0


def test_batch_dependence_of_batchnorm_by_hand():
    # D2L's X = [[1, 2], [2, 3]] as 2 sequences of 1 token: zero out sequence 1 and BatchNorm of sequence 0 flips
    x = torch.tensor([[[1.0, 2.0]], [[2.0, 3.0]]])
    d = dep.batch_dependence(x, 0, 1, factors=(0.0,), keys=["batchnorm"])
    before = -0.5 / math.sqrt(0.25 + 1e-5)  # both features: (1 - 1.5) / √(0.25 + ε) and (2 - 2.5) / √(0.25 + ε)
    after = 0.5 / math.sqrt(0.25 + 1e-5)  # feature 0 over [1, 0]: (1 - 0.5) / √(0.25 + ε)
    after2 = 1 / math.sqrt(1 + 1e-5)  # feature 1 over [2, 0]: (2 - 1) / √(1 + ε)
    assert d.largest("batchnorm") == pytest.approx(max(after - before, after2 - before))


def test_batch_dependence_needs_two_samples():
    with pytest.raises(ValueError, match="at least 2 sequences"):
        dep.batch_dependence(X[:1])
    with pytest.raises(ValueError, match="two different batch indices"):
        dep.batch_dependence(X, 1, 1)


# --- multi-device --------------------------------------------------------------------------------


@SETTINGS
@given(shapes(min_b=2, min_s=2), st.data())
def test_syncbn_equals_global_batchnorm(shape, data):
    b, s, f, seed = shape
    k = data.draw(st.sampled_from([k for k in range(1, b + 1) if b % k == 0]))
    x = make_tensor(b, s, f, seed=seed, shift=3.0)
    md = md_.multi_device(x, k)
    assert md.syncbn_vs_global < 1e-9
    out, mean, var = distributed.sync_batchnorm(distributed.split_batch(x.double(), k))
    ref = nn.BatchNorm1d(f, dtype=torch.float64)(x.double().transpose(1, 2)).transpose(1, 2)
    torch.testing.assert_close(out, ref)
    flat = x.double().reshape(-1, f)
    torch.testing.assert_close(mean, flat.mean(0))
    torch.testing.assert_close(var, flat.var(0, unbiased=False))
    assert md.row("layernorm").local_vs_global == 0.0 and md.row("layernorm").values_per_device == 0


def test_per_device_batchnorm_differs_and_what_it_costs():
    md = md_.multi_device(X, 2)
    bn = md.row("batchnorm")
    assert md.local_bn_vs_global > 0.1 and bn.needs_sync
    assert bn.statistics == 8 and bn.values_per_device == 2 * 8 + 1 and bn.bytes_per_device == 4 * 17
    assert bn.values_backward == 16
    assert not (md.device_mean[0] == md.device_mean[1]).all()
    for r in md.rows:
        assert r.needs_sync == ("batch" in NORMS[r.key].reduce), r.key


def test_identical_shards_need_no_sync():
    half = X[:2]
    md = md_.multi_device(torch.cat([half, half]), 2)
    assert md.local_bn_vs_global < 1e-9
    assert md.row("batchnorm").needs_sync is False and md.row("batchnorm").values_per_device == 0


def test_multi_device_bad_k_lists_the_valid_ones():
    with pytest.raises(ValueError, match="valid K: 1, 2, 4"):
        md_.multi_device(X, 3)
    with pytest.raises(ValueError, match="at least 2"):
        md_.multi_device(X[:, :1], 4)


# --- the property table --------------------------------------------------------------------------


def test_property_table_agrees_with_the_table_on_a_full_tensor():
    props = {p.key: p for p in properties.property_table(X)}
    assert set(props) == set(NORMS)
    for key, p in props.items():
        spec = NORMS[key]
        assert p.batch_independent == ("batch" not in spec.reduce), key
        assert p.causal_safe == ("sequence" not in spec.reduce), key
        assert p.needs_sync == ("batch" in spec.reduce), key
        assert p.train_eval_same == (not spec.batch_stats), key
        assert p.statistics * p.values_per_statistic == X.numel(), key
    assert props["layernorm"].padding_safe and props["rmsnorm"].padding_safe and props["masked_batchnorm"].padding_safe
    assert props["batchnorm"].padding_safe is False and props["instancenorm"].padding_safe is False
    assert props["layernorm"].statistics == 4 * 6


def test_property_table_says_what_it_cannot_measure():
    one_token = {p.key: p for p in properties.property_table(X[:, :1])}
    assert all(p.causal_safe is None and p.padding_safe is None for p in one_token.values())
    assert one_token["batchnorm"].batch_independent is False
    one_seq = {p.key: p for p in properties.property_table(X[:1])}
    assert all(p.batch_independent is None and p.needs_sync is None for p in one_seq.values())
    assert one_seq["instancenorm"].causal_safe is False


# --- the Train vs eval page's view -----------------------------------------------------------------


def _mode_row(label: str, diff: float | None, error: str | None = None) -> te.ModeRow:
    return te.ModeRow(label.lower(), label, diff, None, None, None, None, error)


def test_train_eval_takeaway_follows_the_numbers():
    rows = [_mode_row("BatchNorm", 0.5), _mode_row("LayerNorm", 0.0)]
    text = te.train_eval_takeaway(rows)
    assert "BatchNorm give different outputs" in text and "up to 0.5 for BatchNorm" in text
    assert "while LayerNorm give identical outputs" in text and "cannot even run" not in text
    same = te.train_eval_takeaway([_mode_row("BatchNorm", 1e-12), _mode_row("LayerNorm", 0.0)])
    assert same.startswith("On this tensor every norm that runs gives the same output")  # below TOL: no gap
    broken = te.train_eval_takeaway([_mode_row("BatchNorm", None, "one value"), _mode_row("LayerNorm", 0.0)])
    assert broken.endswith("BatchNorm cannot even run in training mode here: one value per statistic.")


def test_train_eval_view_on_the_default_tensor():
    view = te.train_eval_view(X, te.TrainEvalConfig(feature=3, item=1))
    assert view.running is not None and view.running_error is None and view.verified
    assert view.verification.startswith("Checked against `nn.BatchNorm1d(8, momentum=0.1)`")
    assert view.last_step.startswith("**The last step, feature 3** (n = B·S = 24 values")
    rs = view.running
    assert f"= {te.tex(float(rs.torch_mean[-1, 3]))}" in view.latex[0]
    assert r"\tfrac{24}{23}" in view.latex[1]
    bn = dict(zip(view.mode_bars.labels, view.mode_bars.values, strict=True))
    assert bn["BatchNorm"] > 0.1 and bn["LayerNorm"] == 0.0
    assert view.alone_level == "warning" and "silently changes meaning" in view.alone_message
    assert view.alone_bars.title == "Training mode: example 1 alone vs inside the batch"
    assert "BatchNorm" in view.takeaway and "LayerNorm" in view.takeaway


def test_train_eval_view_one_value_per_feature_says_what_is_valid():
    view = te.train_eval_view(X[:1, :1], te.TrainEvalConfig())
    assert view.running is None and view.latex == () and "Set B × S ≥ 2" in (view.running_error or "")
    assert "(a fresh layer)" in view.modes_caption
    assert view.alone_level is None  # the batch itself cannot train: nothing to compare the example with
    assert "cannot even run in training mode" in view.takeaway
    assert view.mode_warnings and all("cannot run in training mode" in w for w in view.mode_warnings)
    one_token = te.train_eval_view(X[:, :1], te.TrainEvalConfig(item=2))
    assert one_token.running is not None and one_token.alone_level == "error"
    assert "example 2 alone fails" in one_token.alone_message and "n − 1 = 0" in one_token.alone_message


def test_train_eval_view_clamps_the_feature_and_the_item_to_the_tensor():
    view = te.train_eval_view(X, te.TrainEvalConfig(feature=99, item=99))
    assert view.last_step.startswith("**The last step, feature 7**") and view.modes.item == 3


# --- the Padding page's view -----------------------------------------------------------------------


def _pad_row(label: str, diff: float | None, content: float = 0.0) -> pad.PaddingRow:
    return pad.PaddingRow(label.lower(), label, diff, content)


def test_padding_takeaway_follows_the_numbers():
    rows = [_pad_row("BatchNorm", 0.2), _pad_row("InstanceNorm", 0.9), _pad_row("LayerNorm", 0.0)]
    text = pad.padding_takeaway(rows, 4)
    assert text.startswith("With 4 padded positions, InstanceNorm, BatchNorm change")  # largest change first
    assert "up to 0.9 for InstanceNorm" in text and "; LayerNorm give identical" in text
    calm = pad.padding_takeaway([_pad_row("BatchNorm", 0.0), _pad_row("LayerNorm", 0.0)], 4)
    assert (
        calm
        == "With these lengths every norm gives the real tokens the same outputs as without padding (BatchNorm, LayerNorm)."
    )
    # the pads' content alone can flip the verdict: unchanged with zeros, changed with other values
    assert "BatchNorm change" in pad.padding_takeaway([_pad_row("BatchNorm", 0.0, 0.3)], 4)
    assert pad.padding_takeaway(rows, 0) is None


def test_padding_view_numbers_and_text():
    view = pad.padding_view(X, pad.PaddingConfig("6, 3, 6, 3", 0.0))
    check = view.check
    assert check is not None and view.error is None and view.no_pads is None
    assert check.lengths == (6, 3, 6, 3) and check.pads == 6
    real_sum = float(X.double()[check.mask][:, 0].sum())
    assert view.latex[0].startswith(rf"\mu_0 = \frac{{{pad.tex(real_sum)} + 6\cdot0}}{{24}}")
    assert float(check.bn_mean_real[0]) == pytest.approx(real_sum / 18)
    assert "**18 real tokens**" in view.mean_intro and view.zeros_note  # zeros shrink the mean
    bars = dict(zip(view.bars.labels, view.bars.values, strict=True))
    assert bars["LayerNorm"] == 0 and bars["BatchNorm"] > 0
    assert view.takeaway and view.takeaway.startswith("With 6 padded positions")
    assert pad.padding_view(X, pad.PaddingConfig("6, 3, 6, 3", 2.0)).zeros_note is None


def test_padding_view_defaults_and_bad_lengths():
    default = pad.padding_view(X, pad.PaddingConfig())
    assert default.check is not None and default.check.lengths == (6, 3, 6, 3)  # core.data.default_lengths(4, 6)
    for text, message in (
        ("0, 0, 0, 0", "every token is padding"),
        ("9", "between 0 and S = 6"),
        ("1, 2", "4 numbers"),
    ):
        view = pad.padding_view(X, pad.PaddingConfig(text))
        assert view.check is None and view.takeaway is None
        assert message in view.error and view.error.endswith(
            "Valid: 4 whole numbers between 0 and 6, at least one of them ≥ 1, e.g. 6, 3, 6, 3."
        )
    full = pad.padding_view(X, pad.PaddingConfig("6"))
    assert full.no_pads and full.no_pads.startswith("No position is padding") and full.takeaway is None


def test_default_lengths_pad_whenever_there_are_two_tokens():
    from norm_viz.core.data import default_lengths

    assert (
        default_lengths(4, 6) == (6, 3, 6, 3) and default_lengths(1, 5) == (3,) and default_lengths(3, 1) == (1, 1, 1)
    )
    for b in range(1, 5):
        for s in range(2, 9):
            lengths = default_lengths(b, s)
            assert len(lengths) == b and min(lengths) < s and all(1 <= n <= s for n in lengths)
            assert s < 3 or min(lengths) >= 2


# --- the Causal page's view ------------------------------------------------------------------------


def _leak_check(token: tuple[int, int], **deltas: list[list[float]]) -> cz.CausalCheck:
    rows = tuple(cz.LeakRow(k.lower(), k, torch.tensor(d, dtype=torch.float64)) for k, d in deltas.items())
    return cz.CausalCheck(token, "difference", 1.0, rows)


def test_causal_takeaway_follows_the_numbers():
    # token (0, 2) of a 2 × 3 batch: "Seq" moves its own past, "Batch" moves the other sequence only, "Token" itself only
    check = _leak_check(
        (0, 2),
        Seq=[[0.4, 0.1, 1.0], [0.0, 0.0, 0.0]],
        Batch=[[0.0, 0.0, 1.0], [0.0, 0.0, 0.3]],
        Token=[[0.0, 0.0, 1.0], [0.0, 0.0, 0.0]],
    )
    text = cz.causal_takeaway(check)
    # "Batch" moves sequence 1 at s = 2 only: not the past of the token, so not a causal leak, but a batch leak
    assert text.startswith("Changing token (0, 2) moved earlier positions under Seq (up to 0.4 for Seq)")
    assert ", and even other sequences of the batch under Batch" in text
    assert text.endswith("; Batch, Token left every earlier position exactly unchanged: only they are causal-safe.")
    calm = _leak_check((0, 2), Token=[[0.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    assert cz.causal_takeaway(calm) == (
        "Changing token (0, 2) moved no earlier position under any norm: all are causal-safe on this tensor."
    )
    assert cz.causal_takeaway(_leak_check((0, 0), Seq=[[1.0, 0.4, 0.1]])) is None  # no past to leak into


def test_causal_view_defaults_to_the_last_token_and_tabulates_verdicts():
    view = cz.causal_view(X, cz.CausalConfig())
    assert view.check.token == (0, 5) and view.notice is None
    table = {r["norm"]: r for r in view.table}
    assert table["LayerNorm"]["causal-safe?"] == "yes" and table["LayerNorm"]["its past (s′ < s)"] == "0"
    assert table["BatchNorm"]["causal-safe?"].startswith("no") and table["BatchNorm"]["other sequences"] != "0"
    assert view.takeaway and "other sequences of the batch under BatchNorm" in view.takeaway
    first = cz.causal_view(X, cz.CausalConfig(batch=9, position=0))
    assert first.check.token == (3, 0) and "has no past" in first.notice and first.takeaway is None
    one = cz.causal_view(X[:, :1], cz.CausalConfig())
    assert "S = 1" in one.notice and one.takeaway is None


def test_token_position():
    assert cz.token_position(-1, 6) == 5 and cz.token_position(9, 6) == 5 and cz.token_position(2, 6) == 2


# --- the Batch dependence page's view --------------------------------------------------------------


def test_dependence_takeaway_follows_the_numbers():
    labels = {"bn": "BatchNorm", "gn": "GhostNorm", "ln": "LayerNorm"}
    check = dep.DependenceCheck(0, 1, (0.0, 2.0), {"bn": (0.5, 0.2), "gn": (0.1, 0.9), "ln": (0.0, 0.0)}, {})
    text = dep.dependence_takeaway(check, labels)
    assert text == (
        "Changing sample 1 moved sample 0's output under BatchNorm, GhostNorm (up to 0.9 for GhostNorm); "
        "under LayerNorm it stayed exactly the same."
    )
    calm = dep.DependenceCheck(2, 3, (0.0,), {"ln": (1e-12,)}, {})  # below TOL: no dependence
    assert dep.dependence_takeaway(calm, labels) == (
        "Sample 2's output never moved when sample 3 changed, under any norm: none depends on the batch here."
    )


def test_dependence_view_and_its_messages():
    view = dep.dependence_view(X, dep.DependenceConfig(0, 2, 5.0))
    assert view.check is not None and view.check.factors == (0.0, 1.0, 2.0, 3.0, 4.0, 5.0)
    bars = dict(zip(view.bars.labels, view.bars.values, strict=True))
    assert bars["BatchNorm"] > 0.1 and bars["LayerNorm"] == 0.0
    assert view.bars.title == "Largest change of sample 0's output"
    assert view.takeaway.startswith("Changing sample 2 moved sample 0's output under BatchNorm")
    assert dep.dependence_view(X, dep.DependenceConfig(0, 2, 50.0)).takeaway != view.takeaway
    same = dep.dependence_view(X, dep.DependenceConfig(1, 1))
    assert same.check is None and same.error.startswith("Choose two different samples: both are 1.")
    one = dep.dependence_view(X[:1], dep.DependenceConfig())
    assert one.check is None and "B = 1" in one.error and "2 or more" in one.error
    assert dep.batch_requirement(2) is None and dep.factors_up_to(1.0) == (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    assert dep.factors_up_to(10.0) == (0.0, 1.0, 2.0, 4.0, 6.0, 8.0, 10.0)  # ×1: the unchanged sample, Δ = 0


# --- the Multi-device page's view ------------------------------------------------------------------


def _comm_row(label: str, diff: float | None, values: int = 0) -> md_.CommRow:
    return md_.CommRow(label.lower(), label, diff, values // 2, values, 4 * values, values - 1)


def _md_check(devices: int, *rows: md_.CommRow) -> md_.MultiDeviceCheck:
    z = torch.zeros(devices, 2)
    return md_.MultiDeviceCheck(devices, z, z, z[0], z[0], 3e-17, 0.5, rows)


def test_multi_device_takeaway_follows_the_numbers():
    check = _md_check(2, _comm_row("BatchNorm", 0.7, 17), _comm_row("LayerNorm", 0.0))
    assert md_.multi_device_takeaway(check) == (
        "Split over 2 devices, BatchNorm normalize differently per device (up to 0.7) unless each device sends 17 values "
        "(68 bytes) per step, after which SyncBN matches the global batch to 3e-17; LayerNorm need no communication at all."
    )
    calm = _md_check(2, _comm_row("BatchNorm", 1e-12), _comm_row("LayerNorm", 0.0))  # identical shards
    assert md_.multi_device_takeaway(calm) == (
        "Split over 2 devices, no norm's output changes: none needs communication on this tensor."
    )
    assert "no norm needs to communicate" in md_.multi_device_takeaway(_md_check(1, _comm_row("BatchNorm", 0.0)))


def test_multi_device_view_numbers_table_and_messages():
    view = md_.multi_device_view(X, md_.MultiDeviceConfig(2, "bfloat16"))
    assert view.check is not None and view.verified and view.single is None
    assert "equals `nn.BatchNorm1d(8)` on the whole batch" in view.verification
    assert [m.label for m in view.metrics][-1] == "per-device LN vs whole-batch LN" and view.metrics[-1].value == "0"
    bn = next(r for r in view.table if r["norm"] == "BatchNorm")
    assert bn["needs sync?"] == "yes" and bn["values sent (forward)"] == 17 and bn["bytes sent (bfloat16)"] == 34
    assert "17 values (34 bytes)" in view.takeaway
    # μ₀ is the count-weighted average of the device means: the LaTeX line plugs in the same numbers
    assert view.latex[0].endswith(f"= {md_.tex(float(X.double()[:, :, 0].mean()))}")
    assert r"n_d = \tfrac{B}{K}\cdot S = 2\cdot 6 = 12" in view.latex[1]
    bad = md_.multi_device_view(X, md_.MultiDeviceConfig(3))
    assert bad.check is None and "valid K: 1, 2, 4" in bad.error
    one = md_.multi_device_view(X, md_.MultiDeviceConfig(1))
    assert one.single and "single device" in one.single and "no norm needs to communicate" in one.takeaway
    assert md_.default_devices(4) == 2 and md_.default_devices(3) == 1 and md_.default_devices(1) == 1
    assert md_.devices_label(6) == "devices K (must divide B = 6: 1, 2, 3, 6)"


def test_core_sync_batchnorm_equals_torch_on_uneven_shards_and_keeps_the_dtype():
    x = make_tensor(5, 3, 4, seed=9, shift=2.0)
    out, mean, var = distributed.sync_batchnorm(list(torch.tensor_split(x, 3)))  # shards of 2, 2 and 1 sequences
    assert out.dtype == x.dtype
    with torch.no_grad():
        ref = nn.BatchNorm1d(4)(x.transpose(1, 2)).transpose(1, 2)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(mean, x.reshape(-1, 4).mean(0))
    torch.testing.assert_close(var, x.reshape(-1, 4).var(0, unbiased=False))
    with pytest.raises(ValueError, match="valid K: 1, 5"):
        distributed.split_batch(x, 2)


# --- the Compare page's view -----------------------------------------------------------------------


def _props(label: str, *answers: bool | None, stats: int | None = 4) -> properties.Properties:
    return properties.Properties(label.lower(), label, *answers, stats, 6)


def test_compare_takeaway_follows_the_measured_answers():
    ln = _props("LayerNorm", True, True, True, True, False)
    bn = _props("BatchNorm", False, True, False, False, True)
    assert properties.compare_takeaway([ln, bn]) == (
        "Of 2 norms, LayerNorm pass all 5 checks measurable on this tensor (batch-independent, causal-safe, "
        "the same in train and eval, padding-safe, free of cross-device sync)."
    )
    # with one token per sequence causality and padding cannot be measured: they drop out of the verdict
    ln1 = _props("LayerNorm", True, None, True, None, False)
    inst = _props("InstanceNorm", True, None, True, None, False, stats=None)  # cannot run: never passes
    text = properties.compare_takeaway([ln1, inst])
    assert text.startswith("Of 2 norms, LayerNorm pass all 3 checks") and "causal-safe" not in text
    assert properties.compare_takeaway([bn]).startswith("Of 1 norms, none pass all 5 checks")
    assert properties.mark(None) == "— (n/a)" and properties.mark(True) == "yes" and properties.mark(False) == "no"


def test_compare_view_table_and_what_it_cannot_measure():
    view = properties.compare_view(X)
    table = {r["norm"]: r for r in view.table}
    assert table["LayerNorm"]["causal-safe?"] == "yes" and table["BatchNorm"]["needs cross-device sync?"] == "yes"
    assert table["LayerNorm"]["statistics"] == "24" and view.unmeasurable is None
    assert view.heading == "Properties measured on this 4 × 6 × 8 tensor" and view.shape == (4, 6, 8)
    assert "all 5 checks" in view.takeaway
    one = properties.compare_view(X[:, :1])
    assert one.unmeasurable and "causal-safe?, padding-safe?" in one.unmeasurable and "all 3 checks" in one.takeaway
    assert properties.GOOD["needs cross-device sync?"] == "no" and properties.CompareConfig(1, 2, 3).cell == (1, 2, 3)


# --- the Which LayerNorm page's view ---------------------------------------------------------------


def test_which_layernorm_takeaway_follows_the_distances():
    from norm_viz.questions.which_layernorm import which_layernorm_takeaway as verdict

    assert verdict(1e-7, 0.8).startswith("Transformers normalize **each token over its own features**")
    assert "(max |Δ| = 0.8)" in verdict(1e-7, 0.8)
    assert verdict(1e-7, 1e-7).startswith("With one token per sequence (S = 1)")  # both readings agree
    assert verdict(0.5, 0.8).startswith("On this tensor the two readings cannot be told apart")


def test_which_layernorm_view_matches_torch_per_token():
    from norm_viz.questions.which_layernorm import which_layernorm_view

    before = torch.random.get_rng_state()
    view = which_layernorm_view(X)
    assert torch.equal(torch.random.get_rng_state(), before)  # building the torch layer left the global RNG alone
    ref = nn.LayerNorm(8)(X)
    assert view.d_token < 1e-5 and float((ref - checks_ln(X)).abs().max()) < 1e-5
    assert view.d_sample > 0.1 and view.token_statistics == 24 and view.sample_statistics == 4
    assert "nhead=1).norm1  ->  LayerNorm((8,)" in view.torch_module
    assert "its output changes by **0**" in view.leak and view.single_token is None
    assert view.takeaway.startswith("Transformers normalize")
    one = which_layernorm_view(X[:, :1])
    assert one.leak is None and "single token" in one.single_token and "cannot tell them apart" in one.takeaway


def checks_ln(x: torch.Tensor) -> torch.Tensor:
    return common.run(x, "layernorm").output


# --- shared helpers: number formatting and the figures' layout ---------------------------------------


def test_fmt_delta():
    from norm_viz.core.numbers import fmt_delta

    assert fmt_delta(None) == "n/a" and fmt_delta(0.0) == "0"
    assert fmt_delta(0.123456) == "0.123" and fmt_delta(12345.0) == "1.23e+04" and fmt_delta(2.5e-7) == "2.5e-07"


def test_question_figures_use_the_common_layout_with_their_options(monkeypatch):
    from norm_viz.core import theme
    from norm_viz.questions import figures as fq

    monkeypatch.setattr(theme, "VALIDATE", True)
    rs = te.simulate_running_stats(te.drifting_batches(3, 2, 2, 2))
    fig = fq.running_stats_figure(rs)  # a legend row above the plot
    assert (
        fig.layout.margin.t >= 120 and fig.layout.legend.y == 1.09 and fig.layout.showlegend is True
    )  # title + legend
    assert (
        fig.layout.plot_bgcolor is None and fig.layout.xaxis.showgrid and fig.layout.title.font.size == 20
    )  # theme bg
    bars = fq.bars_figure(common.Bars(("A", "B"), (0.5, None), (True, None), "t", "x", ("", "(cannot run)")))
    assert bars.layout.showlegend is False and bars.layout.margin.t == 70
    assert list(bars.data[0].text) == ["0.5", "n/a  (cannot run)"]
    assert list(bars.data[0].marker.color) == [fq.CHANGED, fq.NOT_RUN]
    plain = theme.apply_layout(fq.go.Figure(), "t", 300)  # the defaults did not change
    assert plain.layout.margin.t == 70 and plain.layout.legend.y == 1.0 and plain.layout.showlegend is None
    assert plain.layout.plot_bgcolor is None
