"""Input tensors: seeded generators, the source documents' worked examples, and safe parsing of uploads.

torch and numpy only. Every random tensor comes from a seeded torch.Generator; uploads are read
with numpy's text parser or `np.load(allow_pickle=False)`, never unpickled.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

KINDS: dict[str, str] = {
    "normal": "standard normal values",
    "uniform": "uniform on [-1, 1]",
    "integers": "small integers from -4 to 4 (easy to check by hand)",
    "token_like": "transformer-like activations: a few outlier features with huge scale",
    "image_like": "image-like: smooth along the sequence, per-feature means and scales that vary smoothly",
}

MAX_CELLS = 50_000_000


@dataclass(frozen=True)
class Preset:
    """A worked example from the source documents, as a (batch, sequence, features) tensor."""

    label: str
    values: tuple
    source: str
    note: str

    def tensor(self, dtype: torch.dtype = torch.float32) -> Tensor:
        return torch.tensor(self.values, dtype=dtype)


PRESETS: dict[str, Preset] = {
    "d2l": Preset(
        label="D2L card: X = [[1, 2], [2, 3]]",
        values=(((1.0, 2.0),), ((2.0, 3.0),)),
        source="Dive into Deep Learning, 'LN vs BN' (source document 002)",
        note="two examples with two features: nn.LayerNorm(2) gives [[-1, 1], [-1, 1]], "
        "nn.BatchNorm1d gives [[-1, -1], [1, 1]]",
    ),
    "interview": Preset(
        label="Interview article: x1 = [2, 4, 6], x2 = [1, 3, 5]",
        values=(((2.0, 4.0, 6.0),), ((1.0, 3.0, 5.0),)),
        source="interview-prep article (source document 004)",
        note="LN: each row has mean 4 or 3 and std 1.63, giving [-1.225, 0, 1.225]; BN: feature means [1.5, 3.5, 5.5]",
    ),
}


def _per_feature(value: float | Sequence[float] | Tensor, features: int, name: str, dtype: torch.dtype) -> Tensor:
    t = torch.as_tensor(value, dtype=dtype)
    if t.dim() == 0:
        return t.expand(features)
    if tuple(t.shape) != (features,):
        raise ValueError(
            f"{name} must be one number or {features} numbers (one per feature), got shape {tuple(t.shape)}"
        )
    return t


def make_tensor(
    batch: int,
    sequence: int,
    features: int,
    kind: str = "normal",
    seed: int = 0,
    *,
    scale: float | Sequence[float] | Tensor = 1.0,
    shift: float | Sequence[float] | Tensor = 0.0,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """A seeded (batch, sequence, features) tensor of one of `KINDS`, times `scale` plus `shift` per feature."""
    dims = {"batch": batch, "sequence": sequence, "features": features}
    for name, n in dims.items():
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"{name} must be a whole number ≥ 1, got {n!r}")
    if batch * sequence * features > MAX_CELLS:
        raise ValueError(f"{batch}×{sequence}×{features} is more than {MAX_CELLS:,} values; choose smaller sizes")
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; valid kinds: {', '.join(KINDS)}")
    g = torch.Generator().manual_seed(int(seed))
    shape = (batch, sequence, features)
    if kind == "normal":
        x = torch.randn(shape, generator=g, dtype=torch.float64)
    elif kind == "uniform":
        x = torch.rand(shape, generator=g, dtype=torch.float64) * 2 - 1
    elif kind == "integers":
        x = torch.randint(-4, 5, shape, generator=g).double()
    elif kind == "token_like":
        x = _token_like(shape, g)
    else:
        x = _image_like(shape, g)
    sc = _per_feature(scale, features, "scale", torch.float64)
    sh = _per_feature(shift, features, "shift", torch.float64)
    return (x * sc + sh).to(dtype)


def _token_like(shape: tuple[int, int, int], g: torch.Generator) -> Tensor:
    """Normal values, per-token magnitudes that vary, and ~3% of features with a 20-60x scale."""
    b, s, f = shape
    n_out = max(1, round(0.03 * f))
    outliers = torch.randperm(f, generator=g)[:n_out]
    feat_scale = torch.ones(f, dtype=torch.float64)
    feat_scale[outliers] = 20 + 40 * torch.rand(n_out, generator=g, dtype=torch.float64)
    feat_shift = 0.5 * torch.randn(f, generator=g, dtype=torch.float64)
    token_scale = 0.5 + torch.rand(b, s, 1, generator=g, dtype=torch.float64)
    return torch.randn(shape, generator=g, dtype=torch.float64) * feat_scale * token_scale + feat_shift


def _image_like(shape: tuple[int, int, int], g: torch.Generator) -> Tensor:
    """Noise smoothed along the sequence (like neighbouring pixels), with smooth per-feature mean and scale."""
    b, s, f = shape
    noise = torch.randn(b, s + 4, f, generator=g, dtype=torch.float64)
    smooth = noise.unfold(1, 5, 1).mean(-1) * math.sqrt(5)
    phase = 2 * math.pi * torch.rand(1, generator=g, dtype=torch.float64)
    t = 2 * math.pi * torch.arange(f, dtype=torch.float64) / max(f, 1) + phase
    return 2 * torch.sin(t) + (1.0 + 0.5 * torch.cos(t)) * smooth


def lengths_mask(lengths: Sequence[int] | Tensor, sequence: int) -> Tensor:
    """(B, S) bool mask of real tokens: True for the first lengths[b] positions of sequence b (no checks)."""
    return torch.arange(sequence)[None, :] < torch.as_tensor(lengths).reshape(-1)[:, None]


def checked_lengths_mask(lengths: Sequence[int], sequence: int) -> Tensor:
    """lengths_mask after checking the lengths: each 0..S and not all 0 (ValueError says what is valid)."""
    if any(not 0 <= int(n) <= sequence for n in lengths):
        raise ValueError(f"each length must be between 0 and S = {sequence}, got {list(lengths)}")
    if not any(lengths):
        raise ValueError("every token is padding (all lengths are 0): give at least one sequence a length ≥ 1")
    return lengths_mask([int(n) for n in lengths], sequence)


def default_lengths(batch: int, sequence: int) -> tuple[int, ...]:
    """A padding pattern with pads whenever S ≥ 2: even sequences keep all S tokens, odd ones about half.

    Kept sequences hold at least 2 tokens when S ≥ 3, so per-sequence norms still have a variance without the pads.
    """
    short = max(2, (sequence + 1) // 2) if sequence >= 3 else 1
    return tuple(sequence if i % 2 == 0 and batch > 1 else short for i in range(batch))


class UploadError(ValueError):
    """An uploaded file that cannot be turned into a (batch, sequence, features) tensor."""


def parse_upload(
    name: str,
    data: bytes,
    *,
    rows_are: str = "batch",
    max_bytes: int = 2_000_000,
    max_shape: tuple[int, int, int] = (16, 32, 64),
) -> np.ndarray:
    """Parse a .csv (2D) or .npy (1D to 3D) upload into a float64 (B, S, F) array, safely and size-capped.

    A 2D table's rows are batch items (B = rows, S = 1) or the tokens of one sequence (B = 1, S = rows).
    """
    if len(data) > max_bytes:
        raise UploadError(f"the file is {len(data):,} bytes; the limit is {max_bytes:,} bytes")
    lower = name.lower()
    if lower.endswith(".npy"):
        arr = _parse_npy(data)
    elif lower.endswith((".csv", ".txt")):
        arr = _parse_csv(data)
    else:
        raise UploadError(f"'{name}' is neither .csv nor .npy; upload a CSV table of numbers or a NumPy .npy array")
    if arr.size == 0:
        raise UploadError("the file holds no numbers")
    if not np.isfinite(arr).all():
        raise UploadError("the file contains NaN or infinite values; every value must be a finite number")
    if arr.ndim == 1:
        arr = arr[None, None, :]
    elif arr.ndim == 2:
        if rows_are not in ("batch", "sequence"):
            raise UploadError(f"rows_are must be 'batch' or 'sequence', got {rows_are!r}")
        arr = arr[:, None, :] if rows_are == "batch" else arr[None, :, :]
    elif arr.ndim != 3:
        raise UploadError(
            f"the array has {arr.ndim} dimensions, shape {arr.shape}; upload 1 to 3 dimensions (batch, sequence, features)"
        )
    caps = ", ".join(f"{axis} ≤ {cap}" for axis, cap in zip(("batch", "sequence", "features"), max_shape, strict=True))
    if any(n > cap for n, cap in zip(arr.shape, max_shape, strict=True)):
        raise UploadError(f"the tensor's shape {tuple(arr.shape)} is too large for the explorer; the limits are {caps}")
    return np.ascontiguousarray(arr, dtype=np.float64)


def _parse_npy(data: bytes) -> np.ndarray:
    try:
        arr = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as e:
        if "pickle" in str(e).lower():
            raise UploadError(
                "this .npy file cannot be read safely: it holds pickled Python objects, which are never loaded; save a plain numeric array with np.save"
            ) from e
        raise UploadError(f"this is not a valid .npy file ({e}); save the array with np.save") from e
    except Exception as e:  # a truncated or non-.npy file raises many kinds of errors
        raise UploadError(f"this is not a valid .npy file ({type(e).__name__}); save the array with np.save") from e
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "biuf":
        raise UploadError(
            f"the array's type is {getattr(arr, 'dtype', type(arr))}; it must hold numbers (int or float)"
        )
    return arr.astype(np.float64)


def _parse_csv(data: bytes) -> np.ndarray:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UploadError("the CSV file is not UTF-8 text") from e
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise UploadError("the CSV file is empty")
    rows: list[list[float]] = []
    for i, line in enumerate(lines):
        cells = [c.strip() for c in line.split(",")]
        try:
            rows.append([float(c) for c in cells])
        except ValueError:
            if i == 0:
                continue  # a header row
            raise UploadError(f"line {i + 1} of the CSV has a value that is not a number: {line[:60]!r}") from None
    if not rows:
        raise UploadError("the CSV file has a header but no rows of numbers")
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        raise UploadError(
            f"the CSV rows have different numbers of columns ({sorted(widths)}); every row needs the same"
        )
    return np.array(rows, dtype=np.float64)
