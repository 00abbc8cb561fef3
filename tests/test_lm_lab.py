"""The tiny LM after issue 17: the causal leak measured by swapping the future (exactly 0 for per-token norms, not for
BatchNorm), the split of lm.py changing no bit of a run, the LM grid that runs only what its file lacks (its sweep
extended past an end, the warm-up study at its cell's rate), the verdicts on the leak and on warm-up, and LayerNorm
first in the lab's select box."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pytest
import torch
from conftest import app_test, charts, no_exception
from torch.nn import functional as F

from norm_viz.training import experiments, lm, shipped_results
from norm_viz.training import results as rs
from norm_viz.training import verdicts as vd
from norm_viz.training.layers import LM_NORMS, label

TINY = {"width": 32, "layers": 1, "heads": 2, "max_len": 24, "batch_size": 8, "eval_every": 1000, "leak_len": 12}
GOLDEN = Path(__file__).with_name("data") / "lm_short_runs.json"


def tiny_model(norm: str, placement: str = "pre", seed: int = 0) -> lm.CharLM:
    torch.manual_seed(seed)
    return lm.CharLM(lm.LMConfig(norm=norm, placement=placement, **TINY), lm.text_data().vocab_size)


# --- the causal leak, by swapping the future ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("norm", "placement"),
    [("layernorm", "pre"), ("layernorm", "post"), ("rmsnorm", "pre"), ("groupnorm_token", "pre"), ("none", "pre"),
     ("dyt", "pre")],
)  # fmt: skip
def test_future_leak_is_exactly_zero_for_per_token_norms(norm, placement):
    """Per-token statistics and causal attention: the same bits for position t whatever follows it."""
    d = lm.text_data()
    with experiments.one_thread():
        leak = lm.future_leak(tiny_model(norm, placement), *lm.leak_batches(d, 12), 12)
    assert leak.mean_abs_diff == 0.0 and leak.gain == 0.0 and math.isfinite(leak.loss)


@pytest.mark.parametrize("norm", ["batchnorm", "masked_batchnorm", "powernorm"])
def test_future_leak_of_batch_statistics_is_positive(norm):
    d = lm.text_data()
    leak = lm.future_leak(tiny_model(norm), *lm.leak_batches(d, 12), 12)
    assert leak.mean_abs_diff > 1e-4


def test_future_leak_swaps_only_the_future():
    """Swapping in the same sentences changes nothing, even for BatchNorm; the last position's loss (no future in
    the window) never changes; the per-position loss at t equals a forward of the batch with the future replaced,
    built by hand."""
    d = lm.text_data()
    seqs, others = lm.leak_batches(d, 12)
    model = tiny_model("batchnorm")
    assert lm.future_leak(model, seqs, seqs, 12).mean_abs_diff == 0.0
    leak = lm.future_leak(model, seqs, others, 12)
    ids = torch.stack([s[:13] for s in seqs])
    alt = torch.stack([s[:12] for s in others])
    diffs = []
    with torch.no_grad():
        net = tiny_model("batchnorm").train()
        true = F.cross_entropy(net(ids[:, :-1], None)[:, :11].reshape(-1, d.vocab_size), ids[:, 1:12].reshape(-1),
                               reduction="none").view(len(seqs), 11)  # fmt: skip
        for t in range(11):
            x = ids[:, :-1].clone()
            x[:, t + 1 :] = alt[:, t + 1 :]
            swapped = F.cross_entropy(net(x, None)[:, t], ids[:, t + 1], reduction="none")
            diffs.append((swapped - true[:, t]).abs())
    assert leak.mean_abs_diff == pytest.approx(float(torch.stack(diffs).mean()), rel=1e-4)
    assert 0 < leak.mean_abs_diff < 1.0
    with pytest.raises(ValueError, match="at least 13 tokens"):
        lm.future_leak(model, [s[:5] for s in seqs], others, 12)


def test_eval_mode_batchnorm_model_has_no_future_leak_after_training():
    """A short BatchNorm run: its final evaluation measures a leak in training mode; eval mode's running statistics
    make the same swap change nothing (the forward is per token)."""
    h = lm.train_lm("batchnorm", steps=8, seed=0, **TINY)
    assert h.final is not None and h.final.future is not None and h.final.future.mean_abs_diff > 0
    d = lm.text_data()
    seqs, others = lm.leak_batches(d, 12)
    model = tiny_model("batchnorm").eval()
    ids = torch.stack([s[:12] for s in seqs])
    x = ids.clone()
    x[:, 6:] = torch.stack([s[:12] for s in others])[:, 6:]
    with torch.no_grad():
        assert torch.equal(model(ids, None)[:, :6], model(x, None)[:, :6])


# --- the split: no bit changed --------------------------------------------------------------------------------------


def fingerprint(h: lm.LMHistory) -> dict:
    """Every number of a run: per step the losses, rate, gradient norms and batch statistics; the final evaluation."""
    f = h.final
    assert f is not None and f.future is not None
    out = {
        "steps": [[s.train_loss, s.val_loss, s.lr, *s.grad_norms, *s.stat_mean, *s.stat_var, s.dist_mean, s.dist_var]
                  for s in h.steps],
        "final": [f.val_loss, f.val_loss_train_mode, f.val_loss_batch1, f.leak.train_mode_loss, f.leak.causal_loss,
                  f.leak.mean_abs_diff, f.future.loss, f.future.swapped_loss, f.future.mean_abs_diff, *f.input_rms],
        "parameters": h.parameters,
        "groups": list(h.groups),
    }  # fmt: skip
    return json.loads(json.dumps(out))


def test_short_runs_are_bit_identical_to_before_the_split():
    """tests/data/lm_short_runs.json holds four 12-step runs written by lm.py before it became the package
    training/lm/ (its commit is in the file): the same config gives the same bits now."""
    golden = json.loads(GOLDEN.read_text())
    assert len(golden["commit"]) == 40 and len(golden["runs"]) == 4
    with experiments.one_thread():
        for key, want in golden["runs"].items():
            norm, placement, seed = key.split("/")
            h = lm.train_lm(norm, placement, golden["steps"], int(seed), lr=golden["lr"], **golden["options"])
            assert fingerprint(h) == want, key


def test_the_package_re_exports_what_lm_py_had():
    for name in ("LMConfig", "LMStep", "LMEval", "LMHistory", "Leak", "FutureLeak", "TextData", "text_data",
                 "make_batch", "CharLM", "Block", "param_groups", "loss_of", "mean_loss", "causal_leak", "future_leak",
                 "evaluate", "inputs_and_saturation", "lr_at", "train_lm", "run_lm", "partial_history", "layout",
                 "unigram_loss", "uses_batch_statistics", "PLACEMENTS"):  # fmt: skip
        assert hasattr(lm, name), name


def test_warm_up_zero_starts_at_the_peak_rate():
    cfg = lm.LMConfig(lr=0.01, warmup=0, steps=100)
    assert lm.lr_at(1, cfg) == pytest.approx(0.01, rel=1e-3)
    assert lm.lr_at(1, lm.LMConfig(lr=0.01, steps=100)) == pytest.approx(0.01 / 30)
    with pytest.raises(ValueError, match="warmup must be at least 0"):
        lm.LMConfig(warmup=-1).check()


# --- the grid -------------------------------------------------------------------------------------------------------


def test_next_rate_walks_the_1_3_10_series():
    assert [experiments._next_rate(v, True) for v in (1e-3, 3e-3, 1e-2, 3e-2)] == [3e-3, 1e-2, 3e-2, 0.1]
    assert [experiments._next_rate(v, False) for v in (1e-2, 3e-3, 1e-3)] == [3e-3, 1e-3, 3e-4]


@pytest.fixture
def mini_grid(monkeypatch):
    """The LM grid's machinery on a miniature model: 2 steps, a 2-point sweep, one norm and its warm-up study."""
    calls: list[lm.LMConfig] = []
    real_run = lm.run_lm

    def counted(cfg: lm.LMConfig, **kw):
        calls.append(cfg)
        small = {k: v for k, v in TINY.items() if k != "batch_size"}
        return real_run(lm.LMConfig(**{**cfg.__dict__, **small}), **kw)

    monkeypatch.setattr(lm, "run_lm", counted)
    monkeypatch.setattr(experiments, "LM_STEPS", 2)
    monkeypatch.setattr(experiments, "LM_LRS", (1e-2, 3e-2))
    monkeypatch.setattr(experiments, "LM_SWEEP_EXTEND", 1)
    monkeypatch.setattr(
        experiments, "LM_GRID",
        (experiments.LMCell("batchnorm", "pre"), experiments.LMCell("batchnorm", "pre", 0, "batchnorm/pre")),
    )  # fmt: skip
    return calls


def test_lm_grid_runs_only_what_is_missing(tmp_path, mini_grid):
    data = experiments.run_lm_grid(None, tmp_path, log=io.StringIO())
    recs = data["records"]
    sweep = sorted(r["lr"] for r in recs if r["phase"] == "sweep")
    rates = rs.lm_chosen_rates(recs)
    best = rates["batchnorm/pre"]
    # the chosen rate is the sweep's best; an end of the 2-point sweep made it go one step further
    assert best == min((r for r in recs if r["phase"] == "sweep"), key=lambda r: r["probe_loss"])["lr"]
    assert len(sweep) == 3 and sweep[:2] in ([1e-2, 3e-2], [3e-3, 1e-2])
    assert rates["batchnorm/pre/warmup0"] == best
    by_cell = {k: sorted(r["seed"] for r in recs if rs.lm_record_key(r) == k and math.isclose(r["lr"], best))
               for k in rates}  # fmt: skip
    assert by_cell == {"batchnorm/pre": [0, 1, 2], "batchnorm/pre/warmup0": [0, 1, 2]}
    assert all(r["future_leak_abs"] > 0 for r in recs) and {r["warmup"] for r in recs} == {0, 30}
    assert len(mini_grid) == 3 + 2 + 3
    prov = data["provenance"]
    (part,) = prov["parts"]
    assert part["learning_rates"] == rates and part["cpu_s"] > 0 and len(part["commit"]) == 40
    assert prov["sweep_learning_rates"] == sweep
    # again: nothing to run, the same records
    mini_grid.clear()
    again = experiments.run_lm_grid(None, tmp_path, log=io.StringIO())
    assert mini_grid == [] and again["records"] == recs


def test_lm_grid_reruns_old_batchnorm_records_and_drops_stale_seeds(tmp_path, mini_grid):
    experiments.run_lm_grid(["batchnorm/pre"], tmp_path, log=io.StringIO())
    path = tmp_path / "lm.json"
    data = json.loads(path.read_text())
    best = rs.lm_chosen_rates(data["records"])["batchnorm/pre"]
    seed1 = next(r for r in data["records"] if r["seed"] == 1)
    del seed1["future_leak_abs"]  # as a record from before the measurement
    other = 3e-4 if best != 3e-4 else 1e-3
    data["records"].append({**seed1, "seed": 2, "lr": other, "phase": "seeds"})  # at a rate no longer chosen
    path.write_text(json.dumps(data))
    mini_grid.clear()
    new = experiments.run_lm_grid(["batchnorm/pre"], tmp_path, log=io.StringIO())["records"]
    assert [(c.seed, c.lr) for c in mini_grid] == [(1, best)]  # only the record without the leak
    rerun = next(r for r in new if r["seed"] == 1)
    assert rerun["future_leak_abs"] > 0 and rerun["val_loss"] == seed1["val_loss"]  # reproduced exactly
    assert not any(math.isclose(r["lr"], other) for r in new)


def test_single_runs_fill_the_grid_and_the_plain_command_reuses_them(tmp_path, mini_grid):
    """--runs cell:lr:seed runs just those and chooses nothing; the plain command then runs only what is left."""
    items = ["batchnorm/pre:0.01:0", "batchnorm/pre:0.03:0", "batchnorm/pre/warmup0:0.01:2"]
    data = experiments.run_lm_grid(None, tmp_path, log=io.StringIO(), runs=items)
    assert [(r["lr"], r["seed"], r["warmup"], r["phase"]) for r in data["records"]] == [
        (0.01, 0, 30, "sweep"), (0.03, 0, 30, "sweep"), (0.01, 2, 0, "fixed")]  # fmt: skip
    (part,) = data["provenance"]["parts"]
    assert part["runs"] == items and part["learning_rates"] == {} and part["cells"] == [
        "batchnorm/pre", "batchnorm/pre/warmup0"]  # fmt: skip
    mini_grid.clear()
    experiments.run_lm_grid(None, tmp_path, log=io.StringIO())
    assert (0.01, 0) not in [(c.lr, c.seed) for c in mini_grid if c.warmup == 30]  # reused, not re-run


# --- verdicts -------------------------------------------------------------------------------------------------------


def _runs(key: str, lr: float, losses, leaks=None, gains=None, phase="seeds"):
    norm, placement, *rest = key.split("/")
    warm = int(rest[0].removeprefix("warmup")) if rest else 30
    leaks, gains = leaks or [None] * len(losses), gains or [None] * len(losses)
    return [
        {"norm": norm, "placement": placement, "warmup": warm, "seed": s, "lr": lr, "steps": 1000,
         "phase": "sweep" if s == 0 and phase == "seeds" else phase, "val_loss": v, "probe_loss": v,
         "future_leak_abs": leak, "future_leak_gain": gain, "leak_gap": 0.1, "val_loss_train_mode": v,
         "val_loss_batch1": v, "parameters": 1}
        for s, (v, leak, gain) in enumerate(zip(losses, leaks, gains, strict=True))
    ]  # fmt: skip


def test_leak_verdict_names_the_dependence_and_layernorms_exact_zero():
    recs = (_runs("layernorm/pre", 0.01, (1.57, 1.58, 1.56), (0.0, 0.0, 0.0), (0.0, 0.0, 0.0))
            + _runs("batchnorm/pre", 0.01, (1.62, 1.61, 1.63), (0.020, 0.022, 0.018), (-0.002, 0.001, 0.0)))  # fmt: skip
    rates = rs.lm_chosen_rates(recs)
    text = " ".join(vd.lm_verdicts(recs, {}, rates))
    assert "BatchNorm pre-norm's loss on a token depends on the future tokens of the batch" in text
    assert "0.0200 ± 0.0020" in text and "exactly 0 on all 3 trained LayerNorm runs" in text
    assert "does not measurably help it" in text
    table = {r["norm"]: r for r in vd.lm_table(recs, rates)}
    assert table["LayerNorm pre-norm"]["future leak |Δ loss|"] == "exactly 0 (3 seeds)"
    assert table["BatchNorm pre-norm"]["future leak |Δ loss|"] == "0.0200 ± 0.0020"


def test_warm_up_verdict_and_sweep_edges():
    recs = (_runs("layernorm/post", 0.03, (1.50, 1.51, 1.52)) + _runs("layernorm/post", 0.01, (1.6,))[:1]
            + _runs("layernorm/post", 0.1, (1.7,))[:1]
            + _runs("layernorm/post/warmup0", 0.03, (1.80, 1.90, 1.85), phase="fixed"))  # fmt: skip
    rates = rs.lm_chosen_rates(recs)
    assert rates == {"layernorm/post": 0.03, "layernorm/post/warmup0": 0.03}
    (text,) = [v for v in vd.lm_verdicts(recs, {}, rates) if "warm-up" in v]
    assert "**LayerNorm post-norm beats LayerNorm post-norm, no warm-up**" in text
    assert "sweep's largest" not in text  # 0.03 lies inside 0.01 … 0.1
    edge = _runs("layernorm/post", 0.1, (1.5, 1.5, 1.5)) + _runs("layernorm/pre", 0.1, (1.6, 1.6, 1.6))
    edge += [{**edge[0], "lr": 0.03, "probe_loss": 2.0, "val_loss": 2.0}]
    v = next(v for v in vd.lm_verdicts(edge, {}, rs.lm_chosen_rates(edge)) if "post-norm can end better" in v)
    assert "LayerNorm post-norm chose its sweep's largest rate (0.1)" in v


# --- the shipped grid and the page ----------------------------------------------------------------------------------


def test_shipped_leak_is_zero_for_layernorm_and_positive_for_batchnorm():
    records = shipped_results("lm")
    cells = vd.lm_cells(records, rs.learning_rates("lm"))
    bn = [r["future_leak_abs"] for r in cells["batchnorm/pre"]]
    assert len(bn) == 3 and all(v is not None and v > 0 for v in bn)
    ln = [r["future_leak_abs"] for r in records if r["norm"] == "layernorm" and r.get("future_leak_abs") is not None]
    assert ln and all(v == 0.0 for v in ln)


def test_every_shipped_chosen_rate_lies_inside_its_sweep_or_says_so():
    records = shipped_results("lm")
    for key, lr in rs.learning_rates("lm").items():
        swept = vd.swept_rates(records, key)
        if len(swept) > 1 and lr in (swept[0], swept[-1]):
            assert any("chose its sweep's" in v for v in vd.lm_verdicts(records, rs.provenance("lm"),
                                                                           rs.learning_rates("lm")))  # fmt: skip


def test_layernorm_is_first_in_the_select_box():
    assert LM_NORMS[0] == "layernorm" and LM_NORMS[-1] == "none" and len(set(LM_NORMS)) == len(LM_NORMS)
    at = app_test("pages/train-lm.py")
    no_exception(at)
    box = at.selectbox(key="tl_norm")
    assert box.options[0] == label("layernorm") and box.value == "layernorm"
    rates = at.selectbox(key="tl_lr").options
    assert {f"{r['lr']:g}" for r in shipped_results("lm")} <= set(rates)  # every shipped run can be re-run
    titles = [f["layout"]["title"]["text"] for f in charts(at)]
    assert any("depend on the batch's future" in t for t in titles)
    assert "future leak |Δ loss|" in at.table[0].value.columns
