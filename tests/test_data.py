"""Seeded tensors of every kind, and uploads parsed safely into (B, S, F) with clear errors."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
import torch

from norm_viz import KINDS, make_tensor
from norm_viz.core.data import UploadError, parse_upload


@pytest.mark.parametrize("kind", list(KINDS))
def test_kinds_are_seeded_and_shaped(kind):
    a = make_tensor(3, 5, 7, kind=kind, seed=42)
    assert a.shape == (3, 5, 7) and a.dtype == torch.float32 and torch.isfinite(a).all()
    assert torch.equal(a, make_tensor(3, 5, 7, kind=kind, seed=42))
    assert not torch.equal(a, make_tensor(3, 5, 7, kind=kind, seed=43))


def test_kind_characteristics():
    ints = make_tensor(4, 8, 16, kind="integers", seed=0)
    assert torch.equal(ints, ints.round()) and ints.min() >= -4 and ints.max() <= 4
    uni = make_tensor(4, 8, 16, kind="uniform", seed=0)
    assert uni.min() >= -1 and uni.max() <= 1
    tok = make_tensor(16, 32, 64, kind="token_like", seed=0)
    std = tok.reshape(-1, 64).std(0)
    assert float(std.max() / std.median()) > 10, "a few outlier features with huge scale"
    img = make_tensor(8, 32, 16, kind="image_like", seed=0)
    centred = img - img.mean(dim=(0, 1), keepdim=True)
    lag1 = float((centred[:, 1:] * centred[:, :-1]).mean() / centred.square().mean())
    assert lag1 > 0.5, "neighbouring positions along the sequence are correlated (smooth)"
    means = img.mean(dim=(0, 1))
    assert float(means.max() - means.min()) > 1.0, "per-feature means vary"


def test_per_feature_scale_and_shift():
    base = make_tensor(2, 3, 4, seed=1, dtype=torch.float64)
    scaled = make_tensor(2, 3, 4, seed=1, scale=[1, 2, 3, 4], shift=10.0, dtype=torch.float64)
    torch.testing.assert_close(scaled, base * torch.tensor([1.0, 2, 3, 4], dtype=torch.float64) + 10)
    with pytest.raises(ValueError, match="scale must be one number or 4 numbers"):
        make_tensor(2, 3, 4, scale=[1, 2])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0, 2, 2), "batch must be a whole number ≥ 1, got 0"),
        ((2, 2.5, 2), "sequence must be"),
        ((2, 2, True), "features must be"),
    ],
)
def test_bad_sizes(args, message):
    with pytest.raises(ValueError, match=message):
        make_tensor(*args)
    with pytest.raises(ValueError, match="unknown kind 'gauss'; valid kinds: normal"):
        make_tensor(2, 2, 2, kind="gauss")
    with pytest.raises(ValueError, match="more than 50,000,000 values"):
        make_tensor(1000, 1000, 1000)


def _npy(arr) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=True)
    return buf.getvalue()


def test_csv_with_and_without_header_and_row_meaning():
    data = b"f0,f1,f2\n1,2,3\n4,5,6\n"
    assert parse_upload("x.csv", data).shape == (2, 1, 3)
    seq = parse_upload("x.csv", data, rows_are="sequence")
    assert seq.shape == (1, 2, 3) and seq[0, 1].tolist() == [4.0, 5.0, 6.0]
    assert parse_upload("x.csv", b"1,2\n2,3\n").tolist() == [[[1.0, 2.0]], [[2.0, 3.0]]]


@pytest.mark.parametrize(
    ("arr", "shape"),
    [
        (np.arange(4.0), (1, 1, 4)),
        (np.ones((3, 2), dtype=np.int32), (3, 1, 2)),
        (np.zeros((2, 3, 4), dtype=np.float32), (2, 3, 4)),
    ],
)
def test_npy_shapes(arr, shape):
    assert parse_upload("a.npy", _npy(arr)).shape == shape


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("a.npy", _npy(np.array([{"evil": 1}], dtype=object)), "cannot be read safely"),
        ("a.npy", pickle.dumps([1, 2, 3]), "cannot be read safely"),
        ("a.npy", _npy(np.arange(4.0))[:60], "not a valid .npy file"),
        ("a.npy", _npy(np.array(["a", "b"])), "must hold numbers"),
        ("a.npy", _npy(np.zeros((1, 1, 1, 2))), "4 dimensions"),
        ("a.npy", _npy(np.zeros((17, 1, 2))), r"too large.*batch ≤ 16"),
        ("a.npy", _npy(np.array([1.0, np.nan])), "NaN or infinite"),
        ("a.csv", b"1,2\n3\n", "different numbers of columns"),
        ("a.csv", b"1,2\n3,x\n", "line 2 .* not a number"),
        ("a.csv", b"", "empty"),
        ("a.csv", b"a,b\n", "header but no rows"),
        ("a.csv", b"\xff\xfe\x00", "not UTF-8"),
        ("a.pkl", b"1", "neither .csv nor .npy"),
        ("a.csv", b"1," * 2_000_000, "limit is 2,000,000 bytes"),
    ],
    ids=lambda v: v if isinstance(v, str) else "data",
)
def test_bad_uploads_explain_themselves(name, data, message):
    """Pickles, objects, text, wrong sizes and broken files are refused with a message, never unpickled."""
    with pytest.raises(UploadError, match=message):
        parse_upload(name, data)
