"""Input tensors: seeded generators, the published sources' worked examples, and safe parsing of uploads.

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
    """A worked example from a published source, as a (batch, sequence, features) tensor."""

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
        source="Dive into Deep Learning (D2L), chapter “Batch Normalization”, its LayerNorm vs BatchNorm example",
        note="two examples with two features: nn.LayerNorm(2) gives [[-1, 1], [-1, 1]], "
        "nn.BatchNorm1d gives [[-1, -1], [1, 1]]",
    ),
    "interview": Preset(
        label="Interview article: x1 = [2, 4, 6], x2 = [1, 3, 5]",
        values=(((2.0, 4.0, 6.0),), ((1.0, 3.0, 5.0),)),
        source="“Normalization in Transformers”, an interview-prep article (Educative)",
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
    """An uploaded file that cannot be turned into a (batch, sequence, features) tensor.

    `reason` says why in the app's words; `text` is the part of the file it quotes (a line, a cell), kept apart so
    that the page can show it literally (it is the visitor's text, never to be rendered as markup).
    """

    def __init__(self, reason: str, text: str | None = None) -> None:
        super().__init__(reason if text is None else f"{reason}: {text!r}")
        self.reason = reason
        self.text = text


@dataclass(frozen=True, eq=False)
class Upload:
    """A parsed upload: the (B, S, F) float64 array, and the CSV header row it skipped (None when there was none)."""

    array: np.ndarray
    header: tuple[str, ...] | None = None


FLOAT32_MAX = float(np.finfo(np.float32).max)

MAX_CELL_CHARS = 40
"""The longest text a CSV cell may have before it is converted (a number needs far fewer characters)."""


def _caps(rows_are: str, max_shape: tuple[int, int, int]) -> str:
    return ", ".join(f"{axis} ≤ {cap}" for axis, cap in zip(("batch", "sequence", "features"), max_shape, strict=True))


def _as_3d_shape(shape: tuple[int, ...], rows_are: str) -> tuple[int, ...]:
    """The (B, S, F) shape a 1D to 3D array becomes (other shapes are returned as they are)."""
    if len(shape) == 1:
        return (1, 1, *shape)
    if len(shape) == 2:
        return (shape[0], 1, shape[1]) if rows_are == "batch" else (1, *shape)
    return shape


def _check_shape(shape: tuple[int, ...], rows_are: str, max_shape: tuple[int, int, int]) -> None:
    if not 1 <= len(shape) <= 3:
        raise UploadError(
            f"the array has {len(shape)} dimensions, shape {shape}; upload 1 to 3 dimensions (batch, sequence, features)"
        )
    full = _as_3d_shape(shape, rows_are)
    if any(n > cap for n, cap in zip(full, max_shape, strict=True)):
        raise UploadError(
            f"the tensor's shape {full} is too large for the explorer; the limits are {_caps(rows_are, max_shape)}"
        )


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
    return read_upload(name, data, rows_are=rows_are, max_bytes=max_bytes, max_shape=max_shape).array


def read_upload(
    name: str,
    data: bytes,
    *,
    rows_are: str = "batch",
    max_bytes: int = 2_000_000,
    max_shape: tuple[int, int, int] = (16, 32, 64),
) -> Upload:
    """parse_upload, also returning the CSV header row it skipped (so that the page can say so).

    Sizes are checked before any value is converted: the .npy header's shape, the CSV's count of rows and of
    columns per row, the length of each cell. A file far too large costs a scan of its bytes, not a parse.
    """
    if len(data) > max_bytes:
        raise UploadError(f"the file is {len(data):,} bytes; the limit is {max_bytes:,} bytes")
    if rows_are not in ("batch", "sequence"):
        raise UploadError(f"rows_are must be 'batch' or 'sequence', got {rows_are!r}")
    lower = name.lower()
    header = None
    if lower.endswith(".npy"):
        arr = _parse_npy(data, rows_are, max_shape)
    elif lower.endswith((".csv", ".txt")):
        max_rows = max_shape[0] if rows_are == "batch" else max_shape[1]
        arr, header = _parse_csv(data, max_rows, max_shape[2], rows_are)
    else:
        raise UploadError(
            "the file is neither .csv nor .npy; upload a CSV table of numbers or a NumPy .npy array", name
        )
    if arr.size == 0:
        raise UploadError("the file holds no numbers")
    if not np.isfinite(arr).all():
        raise UploadError("the file contains NaN or infinite values; every value must be a finite number")
    big = float(np.abs(arr).max())
    if big > FLOAT32_MAX:
        raise UploadError(
            f"the largest |value| is {big:.3g}, beyond float32's range (about 3.4e38), where the app computes; "
            "rescale the values"
        )
    _check_shape(arr.shape, rows_are, max_shape)
    arr = arr.reshape(_as_3d_shape(arr.shape, rows_are))
    return Upload(np.ascontiguousarray(arr, dtype=np.float64), header)


_NPY_MAGIC = b"\x93NUMPY"


def _parse_npy(data: bytes, rows_are: str, max_shape: tuple[int, int, int]) -> np.ndarray:
    if not data.startswith(_NPY_MAGIC):
        if data[:1] == b"\x80":  # the first byte of a pickle (protocol 2 and later)
            raise UploadError(
                "this file cannot be read safely: it is a pickled Python object, which is never loaded; "
                "save a plain numeric array with np.save"
            )
        raise UploadError(
            "this is not a .npy file: it does not start with NumPy's signature (\\x93NUMPY); save the array with np.save"
        )
    buf = io.BytesIO(data)
    try:  # the header alone: dtype and shape, before any value is read
        version = np.lib.format.read_magic(buf)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _fortran, dtype = read(buf)
    except Exception as e:  # a broken header raises many kinds of errors
        raise UploadError(
            f"this is not a valid .npy file (its header is broken: {type(e).__name__}); save the array with np.save"
        ) from e
    if dtype.hasobject:
        raise UploadError(
            "this .npy file cannot be read safely: it holds pickled Python objects, which are never loaded; save a plain numeric array with np.save"
        )
    if dtype.kind not in "biuf":
        raise UploadError(f"the array's type is {dtype}; it must hold numbers (int or float)")
    _check_shape(tuple(shape), rows_are, max_shape)
    try:
        arr = np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as e:  # a truncated file raises many kinds of errors
        raise UploadError(f"this is not a valid .npy file ({type(e).__name__}); save the array with np.save") from e
    return arr.astype(np.float64)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _parse_csv(data: bytes, max_rows: int, max_cols: int, rows_are: str) -> tuple[np.ndarray, tuple[str, ...] | None]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UploadError("the CSV file is not UTF-8 text") from e
    what = "batch items" if rows_are == "batch" else "tokens of one sequence"
    rows: list[list[float]] = []
    header: tuple[str, ...] | None = None
    seen = 0
    for i, line in enumerate(io.StringIO(text)):  # line by line: a file of a million rows stops at row max + 2
        if not line.strip():
            continue
        seen += 1
        if seen > max_rows + 1 or (seen > max_rows and header is None and rows):
            raise UploadError(
                f"the CSV has more than {max_rows} rows; with rows as {what} the limit is {max_rows} "
                "(switch 'rows of a 2D table are' for the other limit)"
            )
        if line.count(",") >= max_cols:
            raise UploadError(
                f"line {i + 1} of the CSV has more than {max_cols} columns; the limit is {max_cols} features"
            )
        cells = [c.strip() for c in line.split(",")]
        long = next((c for c in cells if len(c) > MAX_CELL_CHARS), None)
        if long is not None:
            raise UploadError(
                f"line {i + 1} of the CSV has a cell of {len(long):,} characters; a number needs at most {MAX_CELL_CHARS}"
            )
        numeric = [_is_number(c) for c in cells]
        if all(numeric):
            rows.append([float(c) for c in cells])
        elif not rows and header is None and not any(numeric):
            header = tuple(cells)  # a header row: names only
        else:
            bad = next(c for c, ok in zip(cells, numeric, strict=True) if not ok)
            where = (
                "line 1 mixes numbers and text, so it is neither a header (names only) nor a row of numbers"
                if not rows and header is None
                else f"line {i + 1} of the CSV has a value that is not a number"
            )
            raise UploadError(f"{where} ({bad[:MAX_CELL_CHARS]!r})", line.strip()[:60])
    if not rows:
        raise UploadError("the CSV file has a header but no rows of numbers" if header else "the CSV file is empty")
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        raise UploadError(
            f"the CSV rows have different numbers of columns ({sorted(widths)}); every row needs the same"
        )
    return np.array(rows, dtype=np.float64), header
