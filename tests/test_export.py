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


RUNNER = """
import contextlib, io, json, runpy, sys, traceback
sys.modules["norm_viz"] = None  # the scripts are plain torch: importing the app's package must fail
out = {}
for path in sys.argv[1:]:
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            runpy.run_path(path, run_name="__main__")
        out[path] = {"stdout": buf.getvalue(), "error": None}
    except BaseException:
        out[path] = {"stdout": buf.getvalue(), "error": traceback.format_exc()}
print(json.dumps(out))
"""


def run_scripts(scripts: dict[str, str], folder) -> dict[str, tuple[dict, str]]:
    """Run each script as `__main__`, each in a fresh namespace, all in ONE new Python process (torch is imported
    once, not once per script); returns, per name, the numbers DUMP printed and the lines the script printed."""
    paths = {}
    for name, script in scripts.items():
        paths[name] = folder / f"reproduce_{name}.py"
        paths[name].write_text(script + DUMP)
    runner = folder / "run_all.py"
    runner.write_text(RUNNER)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    cmd = [sys.executable, str(runner), *map(str, paths.values())]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    ran = json.loads(proc.stdout.strip().splitlines()[-1])
    out = {}
    for name, path in paths.items():
        res = ran[str(path)]
        assert res["error"] is None, f"{name}: {res['error']}"
        *printed, last = res["stdout"].strip().splitlines()
        out[name] = (json.loads(last), "\n".join(printed))
    return out


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


CELL = (2, 1, 4)
SOURCES = ["uniform", "integers", "token_like", "preset"]


def norm_case(key: str):
    """The app's result for `key` on a (3, 4, 6) tensor with groups, padding, γ and β, and its reproduce script."""
    b, s, f = 3, 4, 6
    x = make_tensor(b, s, f, "normal", seed=11, scale=2.0, shift=-0.5)
    groups = 3 if NORMS[key].uses_groups else None
    lengths = (4, 2, 3)
    mask = torch.arange(s)[None, :] < torch.tensor(lengths)[:, None] if NORMS[key].masked else None
    r = normalize(x, key, 1e-3, groups=groups, mask=mask, weight=1.5, bias=-0.25)
    return r, export.reproduce_script(r, CELL, export.recipe_for("normal", 11, 2.0, -0.5), lengths)


def source_case(source: str):
    """The app's LayerNorm result on a tensor from `source`, its recipe (None: written out) and its script."""
    if source == "preset":
        x, recipe = PRESETS["interview"].tensor(), None
    else:
        x = make_tensor(2, 3, 5, source, seed=4, scale=0.5, shift=1.0)
        recipe = export.recipe_for(source, 4, 0.5, 1.0)
    r = normalize(x, "layernorm")
    return r, recipe, export.reproduce_script(r, (0, 0, 1), recipe)


@pytest.fixture(scope="module")
def ran(tmp_path_factory) -> dict[str, tuple[dict, str]]:
    """Every reproduce script of this module, run in one subprocess: name -> (numbers, printed lines)."""
    scripts = {f"norm_{key}": norm_case(key)[1] for key in sorted(NORMS)}
    scripts |= {f"source_{source}": source_case(source)[2] for source in SOURCES}
    return run_scripts(scripts, tmp_path_factory.mktemp("reproduce"))


@pytest.mark.parametrize("key", sorted(NORMS))
def test_script_reproduces_every_norm(key, ran):
    r, script = norm_case(key)
    assert "torch.randn((3, 4, 6), generator=g" in script
    got, printed = ran[f"norm_{key}"]
    check_numbers(r, got, printed, CELL)


@pytest.mark.parametrize("source", SOURCES)
def test_script_reproduces_every_kind_of_tensor(source, ran):
    r, recipe, _ = source_case(source)
    assert (recipe is None) == (source in ("token_like", "preset")), "unknown generators are written out"
    got, printed = ran[f"source_{source}"]
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
