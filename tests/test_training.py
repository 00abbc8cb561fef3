"""The training lab: the tiny LM and the digits ConvNet train, are deterministic, and their norm layers agree with
torch.nn and with the app's table; BatchNorm's honest evaluation and the causal-leak measurement."""

from __future__ import annotations

import dataclasses
import io
import json
import math
import statistics

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from norm_viz import normalize, train_cnn, train_lm
from norm_viz.core import extra_norms, modules
from norm_viz.core.table import NORMS, default_groups
from norm_viz.training import cnn, experiments, grid, init_grads, lm, provenance, shipped_results
from norm_viz.training import results as rs
from norm_viz.training import verdicts as vd
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
    with pytest.raises(ValueError, match="valid: layernorm, batchnorm"):
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


# --- the table's factory (Norm.module) against torch.nn -------------------------------------------------------------

TORCH_COUNTERPARTS = {
    "layernorm": lambda f: nn.LayerNorm(f),
    "rmsnorm": lambda f: nn.RMSNorm(f, eps=1e-5),
    "batchnorm": lambda f: nn.BatchNorm1d(f),
    "groupnorm_token": lambda f: nn.GroupNorm(default_groups(f), f),
}


def _as_torch(key: str, module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    b, s, f = x.shape
    if key in ("batchnorm", "groupnorm_token"):
        return module(x.reshape(b * s, f)).reshape(b, s, f)
    return module(x)


@pytest.mark.parametrize("key", sorted(TORCH_COUNTERPARTS))
def test_factory_modules_equal_torch_nn_in_training_and_eval(key):
    """Norm.module builds a layer that computes exactly its torch.nn counterpart, with the same parameters and
    buffers, through training steps (running statistics) and in eval mode."""
    assert NORMS[key].has_torch_module and NORMS[key].make is not None
    torch.manual_seed(0)
    got, ref = NORMS[key].module(12), TORCH_COUNTERPARTS[key](12)
    with torch.no_grad():  # different γ, β than the defaults, set the same on both
        for p, q in zip(got.parameters(), ref.parameters(), strict=True):
            p.copy_(torch.randn_like(p)), q.copy_(p)
    for _ in range(3):
        x = torch.randn(4, 5, 12) * 3 + 1
        torch.testing.assert_close(got(x), _as_torch(key, ref, x), rtol=0, atol=0)
    got_state, ref_state = list(got.state_dict().values()), list(ref.state_dict().values())
    assert len(got_state) == len(ref_state)
    for g, r in zip(got_state, ref_state, strict=True):  # γ, β and the running statistics
        torch.testing.assert_close(g, r, rtol=0, atol=0)
    got.eval(), ref.eval()
    x = torch.randn(2, 5, 12)
    torch.testing.assert_close(got(x), _as_torch(key, ref, x), rtol=0, atol=0)


def test_factory_rows_without_torch_module_match_the_table_forward():
    """DyT and PowerNorm have no torch.nn module: their factory layers equal the table's own forward."""
    x = torch.randn(3, 5, 8) * 2
    dyt = NORMS["dyt"].module(8, alpha=0.7)
    torch.testing.assert_close(dyt(x), normalize(x, "dyt", 1e-5, alpha=0.7).output, rtol=0, atol=0)
    pn = NORMS["powernorm"].module(8, warmup_steps=5)
    torch.testing.assert_close(pn(x), normalize(x, "powernorm", 1e-5).output, rtol=1e-6, atol=1e-6)


def test_every_row_with_a_factory_is_trainable_in_the_lab_and_others_say_which_are():
    assert set(LM_NORMS) == {k for k, n in NORMS.items() if n.make is not None and n.lm_lab} | {"none"}
    assert "groupnorm_token" in LM_NORMS  # a row made trainable by its factory alone
    h = train_lm("groupnorm_token", steps=2, evaluate_at_end=False, **TINY)
    assert len(h.steps) == 2 and math.isfinite(h.steps[-1].train_loss)
    with pytest.raises(ValueError, match="no trainable layer; trainable: batchnorm"):
        NORMS["derf"].module(8)


def test_dyt_saturation_is_the_fraction_of_tanh_beyond_099():
    layer = NORMS["dyt"].module(4, alpha=1.0)
    assert modules.saturation(layer, torch.full((1, 3, 4), 0.1)) == 0.0
    x = torch.tensor([[[10.0, -10.0, 0.1, 0.2]]])
    assert modules.saturation(layer, x) == 0.5
    with pytest.raises(TypeError):
        modules.saturation(NORMS["layernorm"].module(4), x)


def test_dyt_run_records_its_saturation_and_input_sizes():
    h = train_lm("dyt", steps=3, **TINY)
    f = h.final
    assert f is not None and len(f.saturation) == len(f.input_rms) == lm.LMConfig(**TINY).norm_layers
    assert all(0 <= v <= 1 for v in f.saturation) and all(v > 0 for v in f.input_rms)
    assert train_lm("layernorm", steps=3, **TINY).final.saturation == ()


# --- the verdict rule -------------------------------------------------------------------------------------------------


def test_verdict_inside_the_spread_is_no_difference():
    v = rs.compare("A", [1.00, 1.10, 1.20], "B", [1.05, 1.15, 1.25], metric="loss", scale="S", cannot="C")
    assert v.outcome == "tie" and v.text.startswith("**No difference at this scale**")
    assert "Scale: S." in v.text and "What it cannot test: C." in v.text


def test_verdict_outside_the_spread_names_the_winner_either_way():
    v = rs.compare("A", [1.00, 1.01, 1.02], "B", [1.10, 1.11, 1.12], metric="loss", scale="S", cannot="C")
    assert v.outcome == "a" and v.text.startswith("**A beats B**")
    v = rs.compare("A", [1.00, 1.01, 1.02], "B", [1.10, 1.11, 1.12], metric="acc", scale="S", cannot="C",
                   lower_is_better=False)  # fmt: skip
    assert v.outcome == "b" and v.text.startswith("**B beats A**")
    # the margin is the sum of the two sample standard deviations: just inside it is a tie, just outside a win
    sd = statistics.stdev([0.0, 0.1, 0.2])
    assert rs.compare("A", [0.0, 0.1, 0.2], "B", [x + 2 * sd - 1e-9 for x in (0.0, 0.1, 0.2)], metric="m", scale="s",
                      cannot="c").outcome == "tie"  # fmt: skip
    assert rs.compare("A", [0.0, 0.1, 0.2], "B", [x + 2 * sd + 1e-9 for x in (0.0, 0.1, 0.2)], metric="m", scale="s",
                      cannot="c").outcome == "a"  # fmt: skip


def test_verdict_needs_three_seeds_a_side():
    v = rs.compare("A", [1.0, 1.0], "B", [2.0, 2.0, 2.0], metric="m", scale="s", cannot="c")
    assert v.outcome == "few" and "Not enough seeds" in v.text
    assert rs.compare("A", [1.0, None, float("nan"), 1.1], "B", [2, 2.1, 2.2], metric="m", scale="s",
                      cannot="c").outcome == "few"  # fmt: skip


def _cnn(norm: str, bs: int, seed: int, err: float, budget: str = "epochs") -> dict:
    return {"norm": norm, "batch_size": bs, "seed": seed, "lr": 0.01, "steps": 10, "epochs": 8, "budget": budget,
            "phase": "grid", "val_error": err, "val_error_train_mode": err + 0.1, "cpu_s": 1.0}  # fmt: skip


def test_cnn_verdicts_follow_the_numbers_on_both_sides():
    rates = {"batchnorm": 0.01, "groupnorm": 0.01}
    paper_like = [_cnn("batchnorm", 2, s, 0.30 + 0.01 * s) for s in range(3)]
    paper_like += [_cnn("batchnorm", 64, s, 0.05 + 0.01 * s) for s in range(3)]
    paper_like += [_cnn("groupnorm", bs, s, 0.06 + 0.01 * s) for bs in (2, 64) for s in range(3)]
    text = vd.cnn_verdicts(paper_like, {}, rates)
    assert "**BatchNorm at batch 64 beats BatchNorm at batch 2**" in text[0]
    assert "**No difference at this scale** between GroupNorm at batch 2 and GroupNorm at batch 64" in text[1]
    assert "**GroupNorm at batch 2 beats BatchNorm at batch 2**" in text[2]
    assert vd.cnn_table(paper_like, rates, "epochs")[0]["batch 2"] == "31.0 ± 1.0"
    assert not vd.cnn_verdicts(paper_like, {}, {"batchnorm": 0.03})  # runs at other rates (the sweep) are left out


def test_dyt_verdict_reports_saturation_and_the_context_free_loss():
    uni = lm.unigram_loss()
    runs = [{"norm": "dyt", "placement": "pre", "seed": s, "lr": 0.003, "steps": 1000, "phase": "seeds",
             "val_loss": uni + 0.001 * s, "input_rms": [0.1, 20.0], "saturation": [0.0, 1.0], "parameters": 1}
            for s in range(3)]  # fmt: skip
    (text,) = vd.lm_verdicts(runs, {}, {"dyt/pre": 0.003})
    assert "barely uses the context" in text and f"{uni:.3f}" in text and "1.00 ± 0.00" in text


# --- the shipped results ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("grid_name", ["lm", "cnn"])
def test_shipped_results_schema_and_provenance(grid_name):
    records = shipped_results(grid_name)
    assert records, f"no shipped {grid_name} results"
    metric = "val_loss" if grid_name == "lm" else "val_error"
    where = "placement" if grid_name == "lm" else "batch_size"
    for r in records:
        assert {"norm", where, "seed", "lr", "steps", metric, "cpu_s", "phase"} <= set(r)
    prov = provenance(grid_name)
    assert prov["seeds"] == [0, 1, 2] and len(prov["sweep_learning_rates"]) >= 3 and prov["data"]
    for part in prov["parts"]:
        assert part["command"].startswith("python -m norm_viz.training.experiments --grid " + grid_name)
        assert len(part["commit"]) == 40 and part["torch"].startswith("2.13.0") and part["threads"] == 1
        assert part["cpu_s"] > 0 and (part["learning_rates"] or part.get("runs"))  # a cell chosen, or single runs
    rates = rs.learning_rates(grid_name)
    assert set(rates.values()) <= set(prov["sweep_learning_rates"])
    # every verdict rests on three seeds at the chosen rate
    chosen = rs.at_chosen_rate(records, rates, grid_name)
    cells: dict[tuple, set] = {}
    for r in chosen:
        cells.setdefault((r["norm"], r[where], r.get("budget")), set()).add(r["seed"])
    assert cells and all(seeds == {0, 1, 2} for seeds in cells.values()), cells
    assert all(math.isfinite(r[metric]) for r in chosen)


def test_shipped_lm_runs_are_past_the_plateau_and_cheap_enough_to_rerun_live():
    """Every run is past the plateau; every run behind a verdict (at its cell's chosen rate) fits the live cap (a
    sweep point measured on a loaded machine may not: the page refuses it with the limit's message)."""
    records = shipped_results("lm")
    assert all(r["steps"] >= 1000 for r in records)
    assert all(r["cpu_s"] < 60 for r in rs.at_chosen_rate(records, rs.learning_rates("lm"), "lm"))


def test_a_shipped_cell_reruns_to_the_same_number():
    """The cheapest shipped ConvNet run, re-run from its record: bit-for-bit the same validation error."""
    r = min(shipped_results("cnn"), key=lambda r: r["cpu_s"])
    again = experiments.run_cnn_record(r)
    assert again["val_error"] == r["val_error"] and again["steps"] == r["steps"]
    assert again["val_error_train_mode"] == r["val_error_train_mode"]


def test_shipped_init_gradients_recompute_exactly():
    records = shipped_results("init")
    assert {(r["placement"], r["layers"]) for r in records} == {(p, d) for p in lm.PLACEMENTS for d in (2, 4, 8)}
    r = next(r for r in records if r["layers"] == 2 and r["placement"] == "post" and r["seed"] == 1)
    with experiments.one_thread():
        assert list(init_grads.init_grads("post", 2, 1).grad_norms) == r["grad_norms"]


def test_experiments_grid_writes_records_and_provenance(tmp_path, monkeypatch):
    """The command's machinery on a miniature grid: sweep on seed 0, seeds 1-2 at the chosen rate, provenance."""
    monkeypatch.setattr(experiments, "CNN_EPOCHS", 1)
    monkeypatch.setattr(experiments, "CNN_STEPS", 3)
    monkeypatch.setattr(cnn, "BATCH_SIZES", (64,))
    monkeypatch.setattr(experiments, "CNN_SWEEP_BATCH", 64)
    data = experiments.run_grid("cnn", ["none"], tmp_path, io.StringIO())
    recs = data["records"]
    assert [r["phase"] for r in recs].count("sweep") == 3 and len(recs) == 3 + 5  # 3 seeds × 2 budgets, one reused
    part = data["provenance"]["parts"][0]
    assert part["done"] == ["none"] and part["learning_rates"]["none"] in experiments.CNN_LRS
    assert json.loads((tmp_path / "cnn.json").read_text()) == data
    assert {r["steps"] for r in recs if r["budget"] == "steps"} == {3}


def test_cnn_trains_a_fixed_number_of_steps_across_epochs():
    h = train_cnn("batchnorm", 64, epochs=1, steps=25, channels=4)
    assert len(h.steps) == 25 and h.steps[-1].epoch == 2 and h.val_error is not None
    assert cnn.CNNConfig(batch_size=64, epochs=3).total_steps == 3 * cnn.steps_per_epoch(64)


def test_lm_estimate_scales_with_steps():
    cfg = lm.LMConfig(steps=100, **TINY)
    t = grid.estimate_lm(cfg, per_step=0.01)
    assert grid.estimate_lm(dataclasses.replace(cfg, steps=200), per_step=0.01) > 1.8 * t - 0.2
