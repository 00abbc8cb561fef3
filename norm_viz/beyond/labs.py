"""The SyncBN simulation behind the equivalences page, and the old import path of the "beyond" computations.

The computations live in one module per page: custom_axes, equivalences, geometry, fluctuation, eps_dtype,
powernorm_lab and dyt_lab. Names imported from here are looked up there (new code imports the topic module).
torch only (no streamlit, no plotly).
"""

from __future__ import annotations

import importlib
from typing import Any

import torch
from torch import Tensor

from norm_viz.core import distributed
from norm_viz.core.compute import normalize

_MOVED = {
    "custom_axes": ("CustomResult", "custom_normalize", "same_partition", "Match", "match_norms"),
    "equivalences": ("Equivalence", "equivalences"),
    "geometry": (
        "Geometry",
        "token_cloud",
        "geometry",
        "GEOMETRY_NORMS",
        "GeometryConfig",
        "GeometryView",
        "geometry_view",
    ),
    "fluctuation": ("Fluctuation", "fluctuation"),
    "eps_dtype": (
        "EpsPlacement",
        "eps_placement",
        "DTYPES",
        "DtypeRun",
        "dtype_lab",
        "ZeroVariance",
        "zero_variance",
        "damping",
    ),
    "dyt_lab": ("ln_scatter",),
}
_HOME = {name: module for module, names in _MOVED.items() for name in names}


def sync_batchnorm(x: Tensor, devices: int, eps: float = 1e-5) -> tuple[Tensor, Tensor]:
    """(SyncBN output, per-device BN output) when the batch is split over `devices` shards.

    SyncBN (norm_viz.core.distributed) combines each shard's count, mean and variance; every shard then uses the
    global μ and σ².
    """
    b = x.shape[0]
    if not 1 <= devices <= b:
        raise ValueError(f"devices must be between 1 and the batch size {b}, got {devices}")
    shards = torch.tensor_split(x, devices, dim=0)
    synced, _mean, _var = distributed.sync_batchnorm(shards, eps)
    local = torch.cat([normalize(sh, "batchnorm", eps).normalized for sh in shards])
    return synced, local


def __getattr__(name: str) -> Any:
    """`labs.<name>` for the names that moved to a topic module (the old import path keeps working)."""
    if name in _HOME:
        return getattr(importlib.import_module(f"norm_viz.beyond.{_HOME[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
