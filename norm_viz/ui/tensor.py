"""The tensor the user builds in the sidebar: generated, a worked example, edited in a table, or uploaded."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st
import torch

from norm_viz.core.config import TensorConfig
from norm_viz.core.data import KINDS, PRESETS, UploadError, make_tensor, read_upload
from norm_viz.core.params import Param
from norm_viz.ui.real import REAL_PARAMS, real_source_controls, real_source_tensor
from norm_viz.ui.safety import escape, literal
from norm_viz.ui.state import declare

MAX_B, MAX_S, MAX_F = 16, 32, 64

UPLOAD_MB = 2
"""The largest upload in MB (what parse_upload accepts; the uploader refuses larger files before they are sent)."""


SOURCES = {
    "generate": "Generate (seeded)",
    "preset": "A worked example from the sources",
    "edit": "Edit values in a table",
    "upload": "Upload a file",
    "real": "Real sentences (a pretrained transformer)",
}


@st.cache_data(max_entries=64, show_spinner=False)
def generated_tensor(
    batch: int, sequence: int, features: int, kind: str, seed: int, scale: float, shift: float
) -> torch.Tensor:
    return make_tensor(batch, sequence, features, kind, seed, scale=scale, shift=shift)


TENSOR_PARAMS: tuple[Param, ...] = (
    Param("src", "generate", options=tuple(SOURCES), field="source"),
    Param("B", 4, 1, MAX_B, field="batch"),
    Param("S", 6, 1, MAX_S, field="sequence"),
    Param("F", 8, 1, MAX_F, field="features"),
    Param("kind", "normal", options=tuple(KINDS)),
    Param("seed", 0, 0, 2**31 - 1),
    Param("scale", 1.0, 1e-6, 1e6),
    Param("shift", 0.0, -1e6, 1e6),
    Param("preset", "d2l", options=tuple(PRESETS)),
    Param("rows_are", "batch", options=("batch", "sequence")),
    *REAL_PARAMS,
)
"""The sidebar tensor's parameters (shared by every page that works on the user's tensor)."""


def tensor_controls() -> TensorConfig:
    """The sidebar's tensor builder; returns the config (uploaded arrays go to session state)."""
    declare(TENSOR_PARAMS)
    sb = st.sidebar
    sb.header("Tensor")
    src = sb.radio("Where the numbers come from", list(SOURCES), format_func=SOURCES.get, key="src")
    if src == "preset":
        key = sb.selectbox("Example", list(PRESETS), format_func=lambda k: PRESETS[k].label, key="preset")
        p = PRESETS[key]
        sb.caption(f"From: {p.source}. {p.note}")
        b, s, f = p.tensor().shape
        return TensorConfig("preset", b, s, f, preset=key)
    if src == "upload":
        return _upload_controls()
    if src == "real":
        return _real_controls()
    sb.slider("batch B (sequences)", 1, MAX_B, key="B")
    sb.slider("sequence S (tokens per sequence)", 1, MAX_S, key="S")
    sb.slider("features F (per token)", 1, MAX_F, key="F")
    sb.selectbox("values", list(KINDS), format_func=lambda k: f"{k}: {KINDS[k]}", key="kind")
    sb.number_input("seed", 0, 2**31 - 1, step=1, key="seed")
    c1, c2 = sb.columns(2)
    c1.number_input("× scale", 1e-6, 1e6, format="%g", key="scale")
    c2.number_input("+ shift", -1e6, 1e6, format="%g", key="shift")
    ss = st.session_state
    return TensorConfig(src, ss.B, ss.S, ss.F, ss.kind, int(ss.seed), float(ss.scale), float(ss.shift))


def _upload_controls() -> TensorConfig:
    sb = st.sidebar
    sb.radio(
        "rows of a 2D table are",
        ["batch", "sequence"],
        key="rows_are",
        horizontal=True,
        format_func=lambda r: {"batch": "batch items", "sequence": "tokens of one sequence"}[r],
    )
    # max_upload_size: the browser refuses a larger file before sending it, and the server's upload handler refuses
    # its body past this size while it streams in (server.maxUploadSize in .streamlit/config.toml only applies when
    # Streamlit finds that file: started from another directory without it, the default is 200 MB).
    up = sb.file_uploader(
        "CSV (2D) or .npy (1D-3D), at most 2 MB",
        type=["csv", "npy", "txt"],
        key="upload",
        max_upload_size=UPLOAD_MB,
    )
    sb.caption(
        f"Limits: batch ≤ {MAX_B}, sequence ≤ {MAX_S}, features ≤ {MAX_F}. Files are parsed as numbers only, never unpickled."
    )
    if up is not None:
        data = up.getvalue()
        digest = hashlib.sha256(data + st.session_state.rows_are.encode()).hexdigest()[:16]
        try:
            upload = read_upload(
                up.name,
                data,
                rows_are=st.session_state.rows_are,
                max_bytes=UPLOAD_MB * 2**20,
                max_shape=(MAX_B, MAX_S, MAX_F),
            )
        except UploadError as e:
            quoted = f": {literal(e.text)}" if e.text else ""
            # the reason may name a cell or a .npy dtype's field names (the visitor's text): escaped, never rendered
            sb.error(f"Could not use {literal(up.name, 60)}: {escape(e.reason)}{quoted}")
        else:
            st.session_state["_upload_array"] = (digest, upload.array)
            if upload.header is not None:
                sb.caption(f"Line 1 was read as column names, not numbers: {literal(', '.join(upload.header))}.")
    held = st.session_state.get("_upload_array")
    if held is None:
        sb.info("No file yet: showing the D2L example until you upload one.")
        b, s, f = PRESETS["d2l"].tensor().shape
        return TensorConfig("preset", b, s, f, preset="d2l")
    digest, arr = held
    b, s, f = arr.shape
    return TensorConfig("upload", b, s, f, upload_digest=digest)


def _real_controls() -> TensorConfig:
    """The real-sentences source, or the D2L example (with the install command shown) without the model."""
    cfg = real_source_controls()
    if cfg is None:
        b, s, f = PRESETS["d2l"].tensor().shape
        return TensorConfig("preset", b, s, f, preset="d2l")
    return cfg


def build_tensor(cfg: TensorConfig) -> torch.Tensor:
    """The input tensor for a config (generated tensors are cached; edits are applied by the page)."""
    if cfg.source == "preset":
        return PRESETS[cfg.preset].tensor()
    if cfg.source == "upload":
        _digest, arr = st.session_state["_upload_array"]
        return torch.tensor(arr, dtype=torch.float32)
    if cfg.source == "real":
        return real_source_tensor(cfg)
    return generated_tensor(*cfg.shape, cfg.kind, cfg.seed, cfg.scale, cfg.shift)


def user_tensor(expanded: bool = True) -> tuple[TensorConfig, torch.Tensor]:
    """The sidebar's tensor, with the editable table in the page when its source is "edit"."""
    tcfg = tensor_controls()
    x = build_tensor(tcfg)
    if tcfg.source == "edit":
        label = "Edit the values (rows are tokens b, s; columns are features f)"
        with st.expander(label, expanded=expanded, icon=":material/edit:"):
            x = tensor_editor(x)
    return tcfg, x


def table_of(x: torch.Tensor) -> pd.DataFrame:
    """A (B·S) × F table of a tensor, rows labelled 'b0 s0', columns 'f0'…"""
    b, s, f = x.shape
    index = [f"b{i} s{j}" for i in range(b) for j in range(s)]
    return pd.DataFrame(x.reshape(b * s, f).double().numpy(), index=index, columns=[f"f{k}" for k in range(f)])


def tensor_editor(x: torch.Tensor) -> torch.Tensor:
    """An editable table of the tensor; returns the edited tensor (empty or non-numeric cells rejected)."""
    b, s, f = x.shape
    edited = st.data_editor(table_of(x), key=f"editor_{b}_{s}_{f}", width="stretch", height=min(420, 38 + 35 * b * s))
    arr = edited.to_numpy(dtype=np.float64, na_value=np.nan)
    if not np.isfinite(arr).all():
        st.error(
            "Every cell of the table needs a finite number; the empty or invalid cells were reset to their previous values."
        )
        arr = np.where(np.isfinite(arr), arr, x.reshape(b * s, f).double().numpy())
    return torch.tensor(arr.reshape(b, s, f), dtype=torch.float32)


def tensor_digest(t: torch.Tensor) -> str:
    """A content hash of a tensor: st.cache_data cannot hash tensors itself, so pages pass hash_funcs=HASH_FUNCS."""
    data = t.detach().cpu().contiguous()
    return hashlib.sha256(data.numpy().tobytes() + f"{tuple(data.shape)}{data.dtype}".encode()).hexdigest()


HASH_FUNCS: dict[str | type[Any], Callable[[Any], Any]] = {torch.Tensor: tensor_digest}
