"""AppTest for the training lab's pages: a tiny live run, the stop button's rerun, the session's results table, the
default grids read from the on-disk cache (filled here by real tiny runs), and bad URL values."""

from __future__ import annotations

import dataclasses

import pytest
from conftest import app_test, charts, decode, no_exception

from norm_viz.training import cnn, grid, lm
from norm_viz.ui import training as tl

TINY_LM = {"tl_steps": "6", "tl_width": "32", "tl_layers": "1", "tl_batch": "4"}


@pytest.fixture(autouse=True)
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NORM_VIZ_CACHE", str(tmp_path))
    return tmp_path


def table(at, i: int = 0) -> list[dict]:
    return at.dataframe[i].value.to_dict("records")


def test_lm_page_tiny_run_shows_curves_evaluation_and_a_table_row():
    at = app_test("pages/train-lm.py", TINY_LM)
    no_exception(at)
    assert not charts(at)
    assert any("of CPU" in c.value for c in at.caption)
    assert any("0 of 14 runs are in the cache" in c.value for c in at.caption)
    at.button(key="tl_train").click().run()
    no_exception(at)
    figs = charts(at)
    assert len(figs) == 3  # loss, batch statistics, gradient norms
    loss = figs[0]["data"][0]
    assert len(decode(loss["y"])) == 6
    assert at.metric[0].label == "validation loss, eval mode"
    rows = table(at)
    assert len(rows) == 1 and rows[0]["norm"] == "LayerNorm" and rows[0]["status"] == "done"
    at.button(key="tl_train").click().run()
    assert len(table(at)) == 2  # the session's runs accumulate


def test_one_training_run_at_a_time_per_server():
    """While another session's run holds the server's training slot, Train says so and trains nothing; the slot is
    free again when that run ends, and a run's own slot is released when it ends."""
    at = app_test("pages/train-lm.py", TINY_LM)
    assert tl._SLOTS.acquire(blocking=False)  # another user's run
    try:
        at.button(key="tl_train").click().run()
        no_exception(at)
        assert any("training for another user" in i.value for i in at.info)
        assert not charts(at) and tl.LM_RUNS not in at.session_state
    finally:
        tl._SLOTS.release()
    at.button(key="tl_train").click().run()
    assert not any("training for another user" in i.value for i in at.info)
    assert len(table(at)) == 1
    assert tl._SLOTS.acquire(blocking=False)  # the run gave its slot back
    tl._SLOTS.release()


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


def test_lm_page_reads_the_default_grid_from_the_cache():
    tiny = lm.run_lm(lm.LMConfig(steps=3, width=32, layers=1, batch_size=4))
    for c in grid.lm_grid():  # real (tiny) numbers stored under the default grid's keys
        grid._save(grid.cache_dir() / grid._key("lm", c), dataclasses.replace(grid.summarize_lm(tiny), norm=c.norm,
                                                                             placement=c.placement))  # fmt: skip
    at = app_test("pages/train-lm.py", TINY_LM)
    no_exception(at)
    assert any("14 of 14 runs are in the cache" in c.value for c in at.caption)
    rows = table(at)
    assert [r["norm"] for r in rows][:2] == ["LayerNorm", "RMSNorm"] and len(rows) == 7
    assert any("Causal leak (pre-norm)" in m.value for m in at.markdown)


def test_lm_page_bad_url_value_is_a_message_not_a_traceback():
    at = app_test("pages/train-lm.py", {**TINY_LM, "tl_norm": "groupnorm"})
    no_exception(at)
    assert at.selectbox(key="tl_norm").value == "layernorm"


def test_cnn_page_tiny_run_and_grid_from_cache():
    base = cnn.CNNConfig(epochs=grid.CNN_EPOCHS)
    for c in grid.cnn_grid(base, norms=("batchnorm", "groupnorm"), batch_sizes=(2, 64), seeds=(0, 1)):
        h = cnn.run_cnn(dataclasses.replace(c, epochs=1, batch_size=64, channels=4))
        grid._save(grid.cache_dir() / grid._key("cnn", c), dataclasses.replace(grid.summarize_cnn(h),
                                                                               batch_size=c.batch_size))  # fmt: skip
    at = app_test("pages/train-cnn.py", {"tc_batch": "64", "tc_epochs": "1"})
    no_exception(at)
    assert any("8 of 90 runs are in the cache" in c.value for c in at.caption)
    fig = charts(at)[0]
    assert [t["name"] for t in fig["data"] if t.get("showlegend") is not False] == ["BatchNorm", "GroupNorm"]
    assert sorted(table(at)[0]) == ["batch 2", "batch 64", "norm"]
    assert any("GroupNorm" in m.value and "agree" in m.value for m in at.markdown)
    at.button(key="tc_train").click().run()
    no_exception(at)
    assert len(charts(at)) == 2  # the run's loss curve above the grid's figure
    assert at.metric[0].label == "validation error, eval mode"
    runs = at.dataframe[0].value.to_dict("records")
    assert runs[0]["batch size"] == 64 and runs[0]["status"] == "done"
