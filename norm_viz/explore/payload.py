"""Everything the Explorer shows for EVERY row of NORMS on one tensor, computed once, as one compact message.

The browser (norm_viz/explore/explorer.js) draws the cube, the statistics, the input/output heatmaps, the histogram
and any cell's arithmetic from this payload alone, so a norm switch or a cell change needs no server work. torch
stays the source of the numbers: outputs, statistics, counts and the torch.nn verification are computed here by the
compute module; the browser only forms x̂ of the one cell whose arithmetic it prints (tests hold it equal to torch's).

The message is binary (st.components.v2 forwards bytes as they are and content-addresses them): "NVX1", the length
of a JSON header, the header, then little-endian float32 arrays that the header names as {"@": offset, "n": count}
(in floats). Rows' outputs are all shipped while they fit OUTPUT_BUDGET floats; beyond it only the chosen rows'
outputs are (the page adds a row's output on its first use).
torch only through the core (no streamlit, no plotly).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from functools import partial
from typing import Any

import numpy as np
import torch

from norm_viz.core.compute import NormResult, normalize, verify
from norm_viz.core.config import NormConfig
from norm_viz.core.table import NORMS, torch_snippet, unit_name
from norm_viz.cube.rule import rules as cube_rules
from norm_viz.explore.explorer import nonfinite_output_message, output_check, stats_title, verdict

VERSION = 1
OUTPUT_BUDGET = 64 * 1024
"""Floats of row outputs shipped up front (256 KB as float32); beyond it only the chosen rows' outputs travel."""
HIST_BINS = 40
SQUASH = {"dyt": "tanh", "derf": "erf"}
"""Rows whose x̂ is a squashing function of αx (no statistic): the function the arithmetic names."""


MAGIC = b"NVX1"


def f32(t: torch.Tensor | np.ndarray | Iterable[float]) -> np.ndarray:
    """An array as flat little-endian float32 (NaN and ±inf survive), ready for pack()."""
    a = t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    return np.ascontiguousarray(a, dtype="<f4").reshape(-1)


def pack(tree: Any) -> bytes:
    """`tree` (dicts, lists, numbers, strings and float32 arrays from f32) as one binary message: every array is
    moved into the float32 blob and replaced by {"@": offset, "n": count} in the JSON header."""
    blobs: list[np.ndarray] = []
    offset = 0

    def strip(node: Any) -> Any:
        nonlocal offset
        if isinstance(node, np.ndarray):
            ref = {"@": offset, "n": int(node.size)}
            blobs.append(node)
            offset += int(node.size)
            return ref
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items()}
        if isinstance(node, (list, tuple)):
            return [strip(v) for v in node]
        return node

    header = json.dumps(strip(tree), separators=(",", ":"), allow_nan=False).encode()
    header += b" " * (-len(header) % 4)  # the blob starts on a 4-byte boundary
    return b"".join([MAGIC, len(header).to_bytes(4, "little"), header, *(b.tobytes() for b in blobs)])


def unpack(data: bytes) -> Any:
    """The inverse of pack (tests and tools): the tree with float32 numpy arrays back in place."""
    if data[:4] != MAGIC:
        raise ValueError("not an Explorer message")
    n = int.from_bytes(data[4:8], "little")
    blob = np.frombuffer(data, dtype="<f4", offset=8 + n)

    def fill(node: Any) -> Any:
        if isinstance(node, dict) and set(node) == {"@", "n"}:
            return blob[node["@"] : node["@"] + node["n"]]
        if isinstance(node, dict):
            return {k: fill(v) for k, v in node.items()}
        if isinstance(node, list):
            return [fill(v) for v in node]
        return node

    return fill(json.loads(data[8 : 8 + n]))


def row_config(base: NormConfig, key: str, params: Mapping[str, Any], features: int) -> NormConfig:
    """The config of row `key`: the page's ε, γ, β and lengths, and the row's own parameters from `params` (URL key
    -> value), each settled to a value valid for `features` (a group count that does not divide F falls back)."""
    spec = NORMS[key]
    own = tuple((p.name, p.settle(params.get(p.key, p.default), features)) for p in spec.params)
    return replace(base, key=key, lengths=base.lengths if spec.masked else (), params=own)


def _histogram(x: torch.Tensor, y: torch.Tensor) -> dict[str, Any]:
    """Counts of the input's and the output's values in HIST_BINS common bins (finite values only)."""
    xs, ys = x.detach().double().reshape(-1), y.detach().double().reshape(-1)
    xs, ys = xs[torch.isfinite(xs)], ys[torch.isfinite(ys)]
    both = torch.cat([xs, ys])
    if both.numel() == 0:
        return {"lo": 0.0, "hi": 1.0, "input": [], "output": []}
    lo, hi = float(both.min()), float(both.max())
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    return {
        "lo": lo,
        "hi": hi,
        "input": [int(v) for v in torch.histc(xs, HIST_BINS, lo, hi).tolist()],
        "output": [int(v) for v in torch.histc(ys, HIST_BINS, lo, hi).tolist()],
    }


def _about(key: str) -> dict[str, Any]:
    """What every row carries, even one that cannot run: its names and which of the page's widgets it uses."""
    spec = NORMS[key]
    return {
        "label": spec.label,
        "summary": spec.summary,
        "paper": spec.paper,
        "params": [p.key for p in spec.params],
        "uses_lengths": spec.masked,
    }


def _formula_holds(r: NormResult) -> bool:
    """True when x̂ = (x - μ) / √(σ² + ε) (x / √(ms + ε) uncentered, the squash without a statistic) of the shipped
    statistics gives torch's x̂, so the browser may form one cell's x̂ itself; False (PowerNorm's GroupScaling, say):
    x̂ itself travels."""
    if not r.norm.has_statistic:
        return True  # tanh / erf of αx: explorer.js forms it (tested against torch)
    x = r.input.double()
    mean = r.mean.double() if r.mean is not None and r.norm.centered else 0.0
    xhat = (x - mean) / torch.sqrt(r.var.double() + r.eps)
    want = r.normalized.double()
    both = torch.isfinite(xhat) & torch.isfinite(want)
    if not torch.equal(torch.isfinite(xhat), torch.isfinite(want)):
        return False
    return bool(torch.allclose(xhat[both], want[both], rtol=1e-5, atol=1e-6))


def _counts(r: NormResult) -> int | list[int]:
    """How many values each statistic averaged: one number when they are all equal (the usual case)."""
    counts = [int(c) for c in r.counts.tolist()]
    return counts[0] if len(set(counts)) == 1 else counts


def row_payload(r: NormResult, lengths: tuple[int, ...] = ()) -> dict[str, Any]:
    """What the browser needs of one computed row: its numbers, texts and output."""
    spec = r.norm
    f = r.shape[2]
    ver = verify(r)
    v, check = verdict(ver), output_check(r)
    opts = {
        k: (float(val) if isinstance(val, (int, float)) and not isinstance(val, bool) else val) for k, val in r.options
    }
    alpha = r.option_numbers(0).get("alpha") if spec.key in SQUASH else None
    per_feature_alpha = [r.option_numbers(i)["alpha"] for i in range(f)] if alpha is not None else None
    weight = None if r.weight is None else r.weight.detach().double().reshape(-1).tolist()
    bias = None if r.bias is None else r.bias.detach().double().reshape(-1).tolist()
    row: dict[str, Any] = {
        **_about(r.key),
        "statistic": spec.has_statistic,
        "centered": spec.centered,
        "symbol": "psi" if spec.stat_symbol == r"\psi^2" else ("sigma" if spec.centered else "ms"),
        "squash": SQUASH.get(spec.key, ""),
        "alpha": per_feature_alpha,
        "shift": float(opts.get("shift", 0.0)) if spec.key == "derf" else 0.0,
        "groups": r.groups,
        "axes": list(r.stats_axes),
        "stats_shape": list(r.stats_shape),
        "unit": unit_name(r.stats_axes),
        "group_size": r.group_size,
        "n_groups": r.n_groups,
        "running": r.uses_running_stats,
        "masked": spec.masked and r.mask is not None,
        # a row without a statistic (DyT, Derf) has one "group" per cell and nothing to plot: no arrays for it
        "mean": None if r.group_mean is None or not spec.has_statistic else f32(r.group_mean),
        "var": f32(r.group_var) if spec.has_statistic else None,
        "counts": _counts(r) if spec.has_statistic else 0,
        "gamma": weight,
        "beta": bias,
        "verdict": {"text": v.text, "kind": v.kind},
        "check": {"text": check.text, "kind": check.kind},
        "warning": "" if bool(torch.isfinite(r.output).all()) else nonfinite_output_message(r),
        "stats_title": stats_title(r),
        "hist": _histogram(r.input, r.output),
        "snippet": torch_snippet(r.key, r.shape, r.groups, r.eps, lengths, **dict(r.options)),
        "xhat": None if _formula_holds(r) else f32(r.normalized),
        "kept": list(r._kept4),  # the statistics' (B, S, G, F/G) sizes, 1 where reduced: a cell's group id
        "y": f32(r.output),
        "ok": ver.ok,
    }
    return row


RowCache = Callable[[NormConfig, Callable[[], dict[str, Any]]], dict[str, Any]]
"""A cache of rows on one tensor, keyed on a row's own config: cache(cfg, compute) returns compute()'s row."""


def _row(x: torch.Tensor, cfg: NormConfig) -> dict[str, Any]:
    """One row on `x`: its numbers, or the message saying why it cannot run on this tensor."""
    try:
        r = normalize(x, cfg)
    except ValueError as e:
        return {**_about(cfg.key), "error": f"{NORMS[cfg.key].label} cannot run on this tensor: {e}"}
    return row_payload(r, cfg.lengths)


def explorer_payload(
    x: torch.Tensor,
    base: NormConfig,
    params: Mapping[str, Any],
    *,
    keys: Iterable[str] | None = None,
    row_cache: RowCache | None = None,
) -> dict[str, Any]:
    """The Explorer's numbers for tensor `x`: every row of NORMS (or `keys`) computed with the page's ε, γ, β,
    lengths and each row's own parameters (`params`, URL key -> value). A row that cannot run on this tensor
    carries its error message instead. Every row's output is here; message() chooses which ones travel.
    `row_cache` (for `x` alone) gives rows whose own config is unchanged: a change of G or α computes one row."""
    b, s, f = x.shape
    rows: dict[str, Any] = {}
    for key in NORMS if keys is None else keys:
        cfg = row_config(base, key, params, f)
        rows[key] = _row(x, cfg) if row_cache is None else row_cache(cfg, partial(_row, x, cfg))
    return {
        "v": VERSION,
        "shape": [b, s, f],
        "eps": base.eps,
        "lengths": [int(v) for v in base.lengths],
        "groups": int(row_config(base, "groupnorm", params, f).groups),
        "x": f32(x),
        "cube_rules": cube_rules((b, s, f), int(row_config(base, "groupnorm", params, f).groups), list(rows)),
        "rows": rows,
    }


def ships_all(payload: Mapping[str, Any]) -> bool:
    """True when every row's output fits the first message (OUTPUT_BUDGET floats)."""
    b, s, f = payload["shape"]
    return b * s * f * len(payload["rows"]) <= OUTPUT_BUDGET


def message(payload: Mapping[str, Any], outputs: Iterable[str] | None = None) -> bytes:
    """The binary message for the browser: the payload with the outputs of rows `outputs` (None: every row's when
    they fit OUTPUT_BUDGET, else none); a row whose output is left out has "y": null and comes on first use."""
    keep = None if outputs is None and ships_all(payload) else set(outputs or ())
    rows = {
        k: (r if keep is None or k in keep or "y" not in r else {**r, "y": None}) for k, r in payload["rows"].items()
    }
    return pack({**payload, "rows": rows})
