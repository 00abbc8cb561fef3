"""The Explorer's message (explore/payload.py) against torch.nn for every row of NORMS, and the browser code
(explore/explorer.js on top of cube.js) run by node over every row: what it would display equals torch's numbers."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from norm_viz.core.compute import normalize, reference
from norm_viz.core.config import NormConfig
from norm_viz.core.data import make_tensor
from norm_viz.core.numbers import fmt
from norm_viz.core.table import AXES, NORMS
from norm_viz.explore.explorer import group_line, output_check, verdict
from norm_viz.explore.payload import OUTPUT_BUDGET, explorer_payload, message, pack, row_config, unpack
from norm_viz.explore.script import script

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run explorer.js outside a browser")

CASES = [
    ((4, 6, 8), NormConfig("layernorm"), {}),
    ((3, 5, 12), NormConfig("layernorm", eps=1e-3, gamma=1.5, beta=-0.25, lengths=(5, 2, 3)), {"G": 3, "alpha": 0.8}),
    ((2, 1, 4), NormConfig("layernorm", eps=0.0), {"G": 4, "warmup": False, "gscale": 2}),
]


def _x(shape: tuple[int, int, int], seed: int = 3) -> torch.Tensor:
    return make_tensor(*shape, "normal", seed)


def _torch_nn(x: torch.Tensor, key: str, cfg: NormConfig) -> torch.Tensor:
    """torch.nn's output for row `key` (γ = 1, β = 0), called as compute.verify calls it."""
    r = normalize(x, cfg)
    opts = dict(r.options)
    if r.running_used or r.running_prior is not None:
        opts["warmup"] = not r.running_used
        opts.pop("warmup_steps", None)
    return reference(
        x,
        key,
        cfg.eps,
        groups=r.groups,
        mask=r.mask,
        training=r.training,
        running_mean=r.running_mean,
        running_var=r.running_var if r.running_prior is None else r.running_prior,
        **opts,
    )


@pytest.mark.parametrize("shape, base, params", CASES)
def test_shipped_numbers_match_torch_for_every_row(shape, base, params):
    x = _x(shape)
    got = unpack(message(explorer_payload(x, base, params)))
    assert got["shape"] == list(shape) and list(got["rows"]) == list(NORMS)
    np.testing.assert_array_equal(got["x"], x.numpy().reshape(-1))
    for key, row in got["rows"].items():
        cfg = row_config(base, key, params, shape[2])
        try:
            r = normalize(x, cfg)
        except ValueError as e:
            assert row["error"].endswith(str(e)), key
            continue
        y = torch.from_numpy(row["y"].copy()).reshape(shape).double()
        try:
            ref = _torch_nn(x, key, cfg).double()
        except (ValueError, RuntimeError):  # torch.nn refuses this input (ε = 0 for BatchNorm): the page says so
            assert "refuses this input" in row["verdict"]["text"], key
            ref = r.normalized.double()
        gamma = torch.tensor(row["gamma"] or [1.0], dtype=torch.float64)
        beta = torch.tensor(row["beta"] or [0.0], dtype=torch.float64)
        if gamma.numel() == shape[1] * shape[2]:  # a row with an affine per (sequence, feature)
            gamma, beta = gamma.reshape(shape[1:]), beta.reshape(shape[1:])
        want = ref * gamma + beta  # the page's γ and β on top of torch.nn's x̂
        finite = torch.isfinite(want)
        assert torch.equal(finite, torch.isfinite(y)), key
        assert torch.allclose(y[finite], want[finite], atol=2e-5, rtol=1e-5), key
        assert row["verdict"] == {"text": verdict_text(r)[0], "kind": verdict_text(r)[1]}
        assert row["check"]["text"] == output_check(r).text
        hist = row["hist"]
        assert sum(hist["input"]) == int(torch.isfinite(x).sum()) and sum(hist["output"]) == int(finite.sum())
        if not row["statistic"]:
            assert row["var"] is None and row["mean"] is None
            continue
        _check_statistics(x, r, row, key)


def verdict_text(r) -> tuple[str, str]:
    from norm_viz.core.compute import verify

    v = verdict(verify(r))
    return v.text, v.kind


def _check_statistics(x, r, row, key) -> None:
    """The shipped μ and σ² (or mean square) against torch's own reductions over the row's axes."""
    b, s, f = x.shape
    x4 = x.double().reshape(b, s, r.groups, f // r.groups)
    dims = tuple(AXES.index(a) for a in NORMS[key].reduce)
    var = torch.from_numpy(row["var"].copy()).double()
    if r.uses_running_stats or key == "powernorm":  # a running or smoothed ψ²: the compute module's own, tested
        assert torch.allclose(var, r.group_var.double(), rtol=1e-6), key  # against torch in test_compute
        return
    if r.mask is not None and NORMS[key].masked:
        rows = x.double().reshape(b * s, f)[r.mask.reshape(-1)]
        v, m = torch.var_mean(rows, dim=0, correction=0)
    elif NORMS[key].centered:
        v, m = torch.var_mean(x4, dim=dims, correction=0)
    else:
        v, m = x4.square().mean(dim=dims), None
    assert torch.allclose(var, v.reshape(-1), rtol=1e-5, atol=1e-6), key
    if m is not None:
        assert torch.allclose(torch.from_numpy(row["mean"].copy()).double(), m.reshape(-1), rtol=1e-5, atol=1e-6)
    counts = row["counts"] if isinstance(row["counts"], list) else [row["counts"]] * r.n_groups
    assert counts == [int(c) for c in r.counts], key


def test_large_tensors_ship_the_chosen_rows_outputs_only_and_the_rest_on_use():
    x = _x((16, 32, 64))
    payload = explorer_payload(x, NormConfig("layernorm"), {})
    assert 16 * 32 * 64 * len(NORMS) > OUTPUT_BUDGET
    first = unpack(message(payload, ("batchnorm",)))
    assert [k for k, r in first["rows"].items() if r.get("y") is not None] == ["batchnorm"]
    more = unpack(message(payload, ("batchnorm", "rmsnorm")))
    np.testing.assert_array_equal(more["rows"]["rmsnorm"]["y"], normalize(x, "rmsnorm").output.numpy().reshape(-1))
    assert len(message(payload, ("batchnorm",))) < 400_000  # x, one output and every row's statistics


def test_pack_round_trips_and_refuses_non_finite_json():
    tree = {"a": np.arange(3, dtype="<f4"), "b": [{"c": np.array([np.nan], dtype="<f4")}, "text"], "d": 1.5}
    back = unpack(pack(tree))
    np.testing.assert_array_equal(back["a"], [0, 1, 2])
    assert np.isnan(back["b"][0]["c"][0]) and back["b"][1] == "text" and back["d"] == 1.5
    with pytest.raises(ValueError):
        pack({"bad": float("nan")})


def test_the_cache_is_bounded_and_computes_a_shared_key_once():
    from norm_viz.ui.explorer import BoundedCache

    calls: list[int] = []
    gate = threading.Event()

    def slow() -> bytes:
        calls.append(1)
        gate.wait(5)
        return b"x" * 10

    cache: BoundedCache[str, bytes] = BoundedCache(3, 25, len)
    threads = [threading.Thread(target=lambda: cache.get("k", slow)) for _ in range(8)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join(10)
    assert len(calls) == 1 and cache.info().hits == 7
    for k in "abcd":
        cache.get(k, lambda: b"y" * 10)
    info = cache.info()
    assert info.entries == 2 and info.bytes == 20  # 25 bytes hold two entries of 10 (and at most 3 entries)
    cache.get("big", lambda: b"z" * 100)  # larger than the whole cache: returned, not kept
    assert cache.info().bytes <= 25


def test_the_cache_keeps_many_small_entries_within_its_byte_bound():
    from norm_viz.ui.explorer import BoundedCache

    cache: BoundedCache[int, bytes] = BoundedCache(10_000, 1000, len)
    for i in range(150):  # far more entries than a count-only bound of 32 or 64 would keep
        cache.get(i, lambda: b"x" * 5)
    for i in range(150):
        cache.get(i, lambda: b"never")
    info = cache.info()
    assert (info.entries, info.bytes, info.hits, info.misses) == (150, 750, 150, 150)
    for i in range(150, 160):  # larger entries push the oldest small ones out, never past the byte bound
        cache.get(i, lambda: b"y" * 100)
    info = cache.info()
    assert info.bytes <= 1000 and info.bytes == sum(len(v) for v, _ in cache._data.values())
    assert 0 not in cache._data and 159 in cache._data


def test_a_class_toggling_eps_stays_cached_and_the_cache_stays_bounded():
    """Each student has a tensor of their own and toggles ε between two values: toggling back is a hit. The byte
    bound holds the messages of 100 students × 2 ε (default tensor) and of 16 of the largest tensor's."""
    from norm_viz.ui import explorer as ui_explorer
    from norm_viz.ui.explorer import MESSAGES, PAYLOADS, Controls, _message

    MESSAGES.clear()
    keys = [(seed, eps) for seed in range(40) for eps in (1e-5, 1e-3)]
    for seed, eps in keys:
        _message(_x((4, 6, 8), seed), Controls(NormConfig("layernorm", eps=eps), ()), ("layernorm",))
    hits = MESSAGES.info().hits
    for seed, eps in keys:
        _message(_x((4, 6, 8), seed), Controls(NormConfig("layernorm", eps=eps), ()), ("layernorm",))
    assert MESSAGES.info().hits == hits + len(keys)  # 80 keys: the old 64-entry bound had evicted them
    small = len(message(explorer_payload(_x((4, 6, 8)), NormConfig("layernorm"), {})))
    assert MESSAGES.max_entries >= 200 and 200 * small <= MESSAGES.max_bytes
    big = explorer_payload(_x((16, 32, 64)), NormConfig("layernorm"), {})
    assert 16 * len(message(big, ("layernorm",))) <= MESSAGES.max_bytes
    assert 16 * ui_explorer._payload_size(big) <= PAYLOADS.max_bytes


def test_a_change_of_g_recomputes_only_the_rows_that_use_it_and_the_numbers_equal_a_full_recompute_and_torch():
    """The per-row cache (keyed on each row's own config): after G changes, the rows that read G are computed and
    the others come from the cache; the message equals one computed from scratch, and GroupNorm's shipped output
    equals torch.nn.GroupNorm's (γ = 1, β = 0) on the new G."""
    from norm_viz.ui.explorer import BoundedCache

    x = _x((3, 5, 12))
    rows: BoundedCache[object, dict] = BoundedCache(1000, 2**30, lambda r: 1)
    computed: list[str] = []

    def cache(cfg, compute):
        def counted():
            computed.append(cfg.key)
            return compute()

        return rows.get(cfg, counted)

    base = NormConfig("layernorm", eps=1e-3)
    explorer_payload(x, base, {"G": 3}, row_cache=cache)
    assert computed == list(NORMS)
    computed.clear()
    cached = explorer_payload(x, base, {"G": 4}, row_cache=cache)
    uses_g = [k for k, spec in NORMS.items() if any(p.key == "G" for p in spec.params)]
    assert computed == uses_g and "groupnorm" in uses_g and "layernorm" not in uses_g
    assert message(cached) == message(explorer_payload(x, base, {"G": 4}))
    got = unpack(message(cached))["rows"]["groupnorm"]
    want = torch.nn.GroupNorm(4, 12, eps=1e-3, affine=False)(x.transpose(1, 2)).transpose(1, 2)
    np.testing.assert_allclose(got["y"], want.detach().numpy().reshape(-1), rtol=1e-5, atol=1e-5)
    computed.clear()
    explorer_payload(x, NormConfig("layernorm", eps=1e-5), {"G": 4}, row_cache=cache)
    assert computed == list(NORMS)  # ε is in every row's config: all rows again


# ---- the browser code, run by node ------------------------------------------------------------------------------

RUNNER = r"""
import * as ex from './explorer.mjs';
import { readFileSync } from 'node:fs';
const input = JSON.parse(readFileSync(0, 'utf8'));
const out = [];
for (const c of input) {
  const P = ex.decode(readFileSync(c.file));
  const rows = {};
  for (const [key, row] of Object.entries(P.rows)) {
    if (row.error) { rows[key] = { error: row.error }; continue; }
    const cells = c.cells.map((cell) => {
      const v = ex.cellNumbers(P, key, cell);
      return { ...v, gid: row.statistic ? ex.groupId(row, P.shape, cell) : null, line: ex.groupLine(P, key, cell),
               math: ex.derivation(P, key, cell).join('\n') };
    });
    const view = { norm: key, cell: c.cells[0], item: c.cells[0][0], shared: false };
    const heat = ex.heatmapsSvg(P, key, view, 1100).svg;
    const stats = row.statistic ? ex.statsSvg(P, key, c.cells[0], 1100).svg : '';
    rows[key] = { cells, heat, stats, hist: ex.histSvg(P, key, 1100).svg };
  }
  out.push({ rows, fmt: c.numbers.map((v) => ex.pyG(v, 4)), url: ex.viewUrl('http://h/explorer?B=4&present=1', { norm: 'rmsnorm', cell: [1, 2, 3], item: 1, shared: true }),
            back: ex.urlView('?B=4&present=1&norm=rmsnorm&cb=1&cs=2&cf=3&show_b=1&shared_scale=1'), bare: ex.urlView('') });
}
process.stdout.write(JSON.stringify(out));
"""


def _run_node(tmp_path: Path, cases: list[dict]) -> list[dict]:
    (tmp_path / "explorer.mjs").write_text(script())
    (tmp_path / "run.mjs").write_text(RUNNER)
    out = subprocess.run(
        ["node", str(tmp_path / "run.mjs")], input=json.dumps(cases), capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout)


@needs_node
def test_the_browser_code_displays_torchs_numbers_for_every_row_and_cell(tmp_path):
    cases, expected = [], []
    rng = np.random.default_rng(0)
    numbers = [0.0, 1.0, -1.0, 1e-5, 2.5e-7, 123456.0, 1234.5678, -0.000123456, 0.1 + 0.2, 99999.5, 1e16]
    numbers += [
        float(v) * 10.0 ** int(e) for v, e in zip(rng.standard_normal(60), rng.integers(-8, 8, 60), strict=True)
    ]
    for i, (shape, base, params) in enumerate(CASES):
        x = _x(shape)
        f = tmp_path / f"m{i}.bin"
        f.write_bytes(message(explorer_payload(x, base, params)))
        b, s, ff = shape
        cells = [[bi, si, fi] for bi in range(b) for si in range(s) for fi in range(ff)]
        cases.append({"file": str(f), "cells": cells, "numbers": numbers})
        expected.append((x, base, params, cells))
    got = _run_node(tmp_path, cases)
    for (x, base, params, cells), g in zip(expected, got, strict=True):
        assert g["fmt"] == [f"{v:.4g}" if v else "0" for v in numbers]
        assert g["url"] == "/explorer?B=4&present=1&norm=rmsnorm&cb=1&cs=2&cf=3&show_b=1&shared_scale=1"
        # the stand-in view before Python's command arrives: the address's view, which any command replaces (rev -1)
        assert g["back"] == {
            "rev": -1,
            "norm": "rmsnorm",
            "cell": [1, 2, 3],
            "item": 1,
            "shared": True,
            "present": True,
        }
        assert g["bare"] == {
            "rev": -1,
            "norm": "layernorm",
            "cell": [0, 0, 0],
            "item": 0,
            "shared": False,
            "present": False,
        }
        for key, row in g["rows"].items():
            cfg = row_config(base, key, params, x.shape[2])
            try:
                r = normalize(x, cfg)
            except ValueError:
                assert "error" in row
                continue
            for cell, shown in zip(cells, row["cells"], strict=True):
                want = r.cell(*cell)
                shown = {k: float("nan") if v is None else v for k, v in shown.items()}  # JSON writes NaN as null
                for k in ("x", "mean", "gamma", "beta", "y"):
                    assert shown[k] == pytest.approx(want[k], rel=1e-6, abs=1e-7, nan_ok=True), (key, cell, k)
                if r.norm.has_statistic:
                    assert shown["var"] == pytest.approx(want["var"], rel=1e-6, nan_ok=True), (key, cell)
                    assert shown["n"] == want["n"] and shown["gid"] == want["group"], (key, cell)
                assert shown["x_hat"] == pytest.approx(want["x_hat"], rel=2e-5, abs=2e-6, nan_ok=True), (key, cell)
                assert shown["line"] == re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", group_line(r, tuple(cell))), (key, cell)
                for k in ("x", "y"):  # the arithmetic prints torch's numbers as the page printed them
                    assert f"<mn>{fmt(want[k]).split('e')[0].lstrip('-')}</mn>" in shown["math"].replace(
                        "<mn>-", "<mn>"
                    )
            _check_heatmaps(r, row, cells[0])


def _check_heatmaps(r, row, cell) -> None:
    """The heatmaps print torch's output (2 decimals) in a small tensor and outline exactly the chosen cell's group."""
    _, s, f = r.shape
    heat = row["heat"]
    assert heat.count('class="hc"') == 2 * s * f
    out_part = heat.split('<g class="out">')[1]
    if s <= 8 and f <= 8:
        printed = [float(v) for v in re.findall(r'class="val"[^>]*>([^<]+)<', out_part)]
        np.testing.assert_allclose(printed, r.output[cell[0]].numpy().reshape(-1), atol=0.0051)
    lit = out_part.count('class="litc"')
    if r.norm.has_statistic:
        assert lit == int((r.group_id[cell[0]] == r.group_id[tuple(cell)]).sum())
    else:
        assert lit == 1
