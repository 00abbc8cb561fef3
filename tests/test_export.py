"""Exports: the reproduce script run in a subprocess gives the app's numbers; CSV and .npy files hold them exactly."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from norm_viz.classroom import export
from norm_viz.core.compute import normalize
from norm_viz.core.data import PRESETS, make_tensor
from norm_viz.core.table import NORMS
from norm_viz.explore import figures

DUMP = """
import json as _json
_m = None if mean is None else mean.reshape(-1).tolist()
print(_json.dumps({"x": x.tolist(), "xhat": xhat.tolist(), "y": y.tolist(), "mean": _m,
                   "var": var.reshape(-1).tolist()}))
"""


def run_script(script: str, tmp_path) -> tuple[dict, str]:
    path = tmp_path / "reproduce.py"
    path.write_text(script + DUMP)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    proc = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    *printed, last = proc.stdout.strip().splitlines()
    return json.loads(last), "\n".join(printed)


def check_numbers(r, got: dict, printed: str, cell) -> None:
    assert torch.equal(torch.tensor(got["x"], dtype=torch.float32), r.input), "the script rebuilds x exactly"
    assert torch.allclose(torch.tensor(got["xhat"]), r.normalized, atol=2e-5)
    assert torch.allclose(torch.tensor(got["y"]), r.output, atol=5e-5)
    assert torch.allclose(torch.tensor(got["var"], dtype=torch.float64), r.group_var.double(), rtol=1e-4, atol=1e-6)
    if r.group_mean is None:
        assert got["mean"] is None
    else:
        assert torch.allclose(torch.tensor(got["mean"], dtype=torch.float64), r.group_mean.double(), atol=1e-5)
    v = r.cell(*cell)
    assert f"x[b, s, f] = {v['x']:.6g}" in printed
    assert f"y = {v['y']:.5g}"[:-1] in printed  # six digits printed; compare the first five


@pytest.mark.parametrize("key", sorted(NORMS))
def test_script_reproduces_every_norm(key, tmp_path):
    b, s, f = 3, 4, 6
    x = make_tensor(b, s, f, "normal", seed=11, scale=2.0, shift=-0.5)
    groups = 3 if NORMS[key].uses_groups else None
    lengths = (4, 2, 3)
    mask = torch.arange(s)[None, :] < torch.tensor(lengths)[:, None] if NORMS[key].masked else None
    r = normalize(x, key, 1e-3, groups=groups, mask=mask, weight=1.5, bias=-0.25)
    cell = (2, 1, 4)
    script = export.reproduce_script(r, cell, export.recipe_for("normal", 11, 2.0, -0.5), lengths)
    assert "torch.randn((3, 4, 6), generator=g" in script
    got, printed = run_script(script, tmp_path)
    check_numbers(r, got, printed, cell)


@pytest.mark.parametrize("source", ["uniform", "integers", "token_like", "preset"])
def test_script_reproduces_every_kind_of_tensor(source, tmp_path):
    if source == "preset":
        x, recipe = PRESETS["interview"].tensor(), None
    else:
        x = make_tensor(2, 3, 5, source, seed=4, scale=0.5, shift=1.0)
        recipe = export.recipe_for(source, 4, 0.5, 1.0)
    assert (recipe is None) == (source in ("token_like", "preset")), "unknown generators are written out"
    r = normalize(x, "layernorm")
    got, printed = run_script(export.reproduce_script(r, (0, 0, 1), recipe), tmp_path)
    check_numbers(r, got, printed, (0, 0, 1))


def test_cells_csv_holds_every_cell():
    x = make_tensor(2, 3, 4, seed=5)
    r = normalize(x, "groupnorm", groups=2, weight=2.0)
    table = np.loadtxt(io.StringIO(export.cells_csv(r)), delimiter=",", skiprows=1)
    assert table.shape == (24, 10)
    b, s, f = table[:, 0].astype(int), table[:, 1].astype(int), table[:, 2].astype(int)
    assert np.array_equal(table[:, 3].astype(np.float32), r.input.numpy()[b, s, f])  # 9 digits: float32 exact
    assert np.allclose(table[:, 5], r.output.detach().numpy()[b, s, f])
    assert np.array_equal(table[:, 6].astype(int), r.group_id.numpy()[b, s, f])
    assert np.allclose(table[:, 7], r.group_mean.numpy()[table[:, 6].astype(int)])
    assert export.cells_csv(r).splitlines()[0] == "b,s,f,input,normalized,output,group,mean,var,counted"


def test_stats_csv_has_one_row_per_statistic_with_its_indices():
    r = normalize(make_tensor(2, 3, 4, seed=6), "layernorm")
    lines = export.stats_csv(r).splitlines()
    assert lines[0] == "group,batch,sequence,mean,var,n"
    table = np.loadtxt(io.StringIO("\n".join(lines[1:])), delimiter=",").reshape(-1, 6)
    assert len(table) == r.n_groups == 6
    ids = r.group_id[table[:, 1].astype(int), table[:, 2].astype(int), 0]
    assert torch.equal(ids, torch.arange(6))
    assert np.allclose(table[:, 3], r.group_mean.numpy())
    assert (table[:, 5] == 4).all()
    rms = export.stats_csv(normalize(make_tensor(2, 3, 4), "rmsnorm")).splitlines()
    assert rms[0] == "group,batch,sequence,mean,mean_square,n" and rms[1].split(",")[3] == "nan"


def test_npy_files_load_without_pickle():
    r = normalize(make_tensor(2, 3, 4, seed=7), "batchnorm")
    arr = np.load(io.BytesIO(export.npy_bytes(r.output)), allow_pickle=False)
    assert arr.dtype == np.float32 and arr.shape == (2, 3, 4)
    assert np.array_equal(arr, r.output.detach().numpy())
    assert np.load(io.BytesIO(export.npy_bytes(r.group_var.view(r.stats_shape))), allow_pickle=False).shape == (4,)


@pytest.mark.skipif(
    not (shutil.which("chromium") and __import__("importlib").util.find_spec("kaleido")) and not os.environ.get("CI"),
    reason="PNG export needs kaleido and chromium (both installed in CI)",
)
def test_figures_export_as_png():
    r = normalize(make_tensor(2, 3, 4), "layernorm")
    png = figures.stats_figure(r, (0, 0, 0)).to_image(format="png", width=800, height=400)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(png[16:20], "big") == 800  # the IHDR width
