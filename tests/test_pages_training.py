"""AppTest for the training lab's pages: a tiny live run, the stop button's rerun, the session's results table, the
shipped results shown at once on a fresh install, a shipped cell re-run to the same number, the CPU limit of a live
run, and bad URL values."""

from __future__ import annotations

from conftest import app_test, charts, decode, no_exception

from norm_viz.training import lm, shipped_results
from norm_viz.ui import admission
from norm_viz.ui import training as tl

TINY_LM = {"tl_steps": "6", "tl_width": "32", "tl_layers": "1", "tl_batch": "4"}


def table(at, i: int = 0) -> list[dict]:
    return at.dataframe[i].value.to_dict("records")


def test_lm_page_tiny_run_shows_curves_evaluation_and_a_table_row():
    at = app_test("pages/train-lm.py", TINY_LM)
    no_exception(at)
    shipped = len(charts(at))
    assert any("of CPU" in c.value for c in at.caption)
    at.button(key="tl_train").click().run()
    no_exception(at)
    figs = charts(at)
    assert len(figs) == shipped + 3  # loss, batch statistics, gradient norms above the shipped results
    loss = figs[0]["data"][0]
    assert len(decode(loss["y"])) == 6
    assert at.metric[0].label == "validation loss, eval mode"
    rows = table(at)
    assert len(rows) == 1 and rows[0]["norm"] == "LayerNorm" and rows[0]["status"] == "done"
    at.button(key="tl_train").click().run()
    assert len(table(at)) == 2  # the session's runs accumulate


def test_one_training_run_at_a_time_per_server():
    """While another session's run holds the server's training slot (the admission pool "training"), Train says so
    and trains nothing; the slot is free again when that run ends, and a run's own slot is released when it ends."""
    at = app_test("pages/train-lm.py", TINY_LM)
    with admission.heavy("training", show=False):  # another user's run
        at.button(key="tl_train").click().run()
        no_exception(at)
        assert any("Not now" in w.value and "training runs" in w.value for w in at.warning)
        assert tl.LM_RUNS not in at.session_state
    at.button(key="tl_train").click().run()
    assert not any("Not now" in w.value for w in at.warning)
    assert len(table(at)) == 1
    assert admission.status()["training"] == {"running": 0, "waiting": 0}  # the run gave its slot back


def test_lm_page_batchnorm_run_explains_the_leak():
    at = app_test("pages/train-lm.py", {**TINY_LM, "tl_norm": "batchnorm"})
    at.button(key="tl_train").click().run()
    no_exception(at)
    text = " ".join(m.value for m in at.markdown)
    assert "Causal leak" in text and "running statistics" in text


def test_lm_stop_button_keeps_the_partial_run():
    """What the Stop button's rerun finds: the steps the interrupted run stored in the session."""
    cfg = lm.LMConfig(steps=6, width=32, layers=1, batch_size=4, heads=4)
    steps: list[lm.LMStep] = []
    lm.run_lm(cfg, callback=lambda s, n: steps.append(s) or s.step < 3, evaluate_at_end=False)
    at = app_test("pages/train-lm.py", TINY_LM)
    at.session_state[tl.LM_LIVE] = {"config": cfg, "steps": steps}
    at.button(key="tl_stop").click().run()
    no_exception(at)
    assert any("stopped at step 3 of 6: you pressed Stop" in w.value for w in at.warning)
    rows = table(at)
    assert rows[0]["status"] == "stopped" and rows[0]["steps"] == 3
    assert len(decode(charts(at)[0]["data"][0]["y"])) == 3


def test_lm_page_shows_the_shipped_results_at_once():
    """A fresh install (no cache, nothing trained) shows the shipped figure with error bars, the table of every
    cell's seeds, verdicts that name their scale, and no grid-fill buttons."""
    at = app_test("pages/train-lm.py")
    no_exception(at)
    figs = charts(at)
    results = next(f for f in figs if "shipped runs" in f["layout"]["title"]["text"])
    assert results["data"][0]["error_x"]["visible"]  # mean ± sd
    rows = at.table[0].value.to_dict("records")
    assert rows[0]["norm"] == "LayerNorm pre-norm" and rows[0]["seeds"] == "0, 1, 2" and "±" in rows[0][
        "val loss, eval mode (mean ± sd)"]  # fmt: skip
    verdicts = [m.value for m in at.markdown if "What it cannot test" in m.value]
    assert any("BatchNorm pre-norm" in v and "LayerNorm pre-norm" in v for v in verdicts)
    assert all("Scale: 1,000 steps" in v for v in verdicts if "LayerNorm pre-norm" in v)
    assert any("Pre- vs post-norm at initialization" in h.value for h in at.subheader)
    keys = {b.key for b in at.button}
    assert not keys & {"tl_lm_fill", "tl_lm_again"} and "Recompute" not in " ".join(b.label for b in at.button)
    assert any("is one of the shipped runs" in c.value for c in at.caption)  # the default setting is a shipped run


def test_a_run_over_the_cpu_limit_gets_the_message_not_a_run():
    big = {"tl_steps": "3000", "tl_width": "128", "tl_layers": "6", "tl_batch": "64"}
    at = app_test("pages/train-lm.py", big)
    no_exception(at)
    at.button(key="tl_train").click().run()
    no_exception(at)
    assert any("limited to 60 CPU seconds" in e.value for e in at.error)
    assert tl.LM_RUNS not in at.session_state and tl.LM_LAST not in at.session_state
    assert admission.status()["training"] == {"running": 0, "waiting": 0}  # nothing holds the training slot


def test_over_limit_message_names_the_limit_and_the_command():
    assert tl.over_limit(59.0, "run") is None
    msg = tl.over_limit(61.0, "run")
    assert msg is not None and "60 CPU seconds" in msg and "python -m norm_viz.training.experiments" in msg


def test_lm_page_bad_url_value_is_a_message_not_a_traceback():
    at = app_test("pages/train-lm.py", {**TINY_LM, "tl_norm": "groupnorm"})
    no_exception(at)
    assert at.selectbox(key="tl_norm").value == "layernorm"


def _cheapest_cnn() -> dict:
    return min(shipped_results("cnn"), key=lambda r: r["cpu_s"])


def test_cnn_page_shows_shipped_results_and_reruns_a_cell_to_the_same_number():
    r = _cheapest_cnn()
    query = {"tc_norm": r["norm"], "tc_batch": str(r["batch_size"]), "tc_epochs": str(r["epochs"]),
             "tc_steps": str(r["steps"] if r["budget"] == "steps" else 0), "tc_seed": str(r["seed"]),
             "tc_lr": str(r["lr"])}  # fmt: skip
    at = app_test("pages/train-cnn.py", query)
    no_exception(at)
    fig = charts(at)[0]
    assert [a["text"] for a in fig["layout"]["annotations"]][:2] == ["equal epochs", "equal steps"]
    assert all(t["error_y"]["visible"] for t in fig["data"] if t.get("mode") == "lines+markers")
    assert any("Equal epochs" in m.value for m in at.markdown) and any("Equal steps" in m.value for m in at.markdown)
    assert any("is one of the shipped runs" in c.value for c in at.caption)
    assert not {b.key for b in at.button} & {"tl_cnn_fill", "tl_cnn_again"}
    at.button(key="tc_train").click().run()
    no_exception(at)
    assert any("Reproduced" in s.value and repr(r["val_error"]) in s.value for s in at.success)
    assert at.metric[0].label == "validation error, eval mode"
    runs = at.dataframe[0].value.to_dict("records")
    assert runs[0]["batch size"] == r["batch_size"] and runs[0]["status"] == "done"
