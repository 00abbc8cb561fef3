"""The fast statistics kernels against torch.nn's functions and an independent float64 reduction over the table's
axes: odd shapes, sizes of 1, float64, half precision, non-contiguous input, masks; and their peak memory against
the usual torch call (allocations are deterministic, so that ratio is asserted; time is only in the benchmark)."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import Tensor

from norm_viz.core import kernels
from norm_viz.core.table import AXES, NORMS, valid_group_counts
from norm_viz.tools import bench

KEYS = [key for key, norm in NORMS.items() if norm.kernel is not None]
"""The rows with a fast kernel, read from the table itself."""


def kernel_of(key: str) -> Callable[[Tensor, int, float, Tensor | None], kernels.Stats]:
    kernel = NORMS[key].kernel
    assert kernel is not None
    return kernel


EPS = 1e-5
SHAPES = [(1, 1, 1), (1, 1, 7), (1, 9, 1), (5, 1, 1), (1, 5, 6), (3, 1, 4), (2, 3, 1), (3, 7, 12), (2, 5, 30)]


def direct(x: Tensor, key: str, groups: int, eps: float, mask: Tensor | None) -> kernels.Stats:
    """(x̂, mean, var) in float64 straight from the table: reduce x viewed as (B, S, G, F//G) over the norm's axes."""
    norm = NORMS[key]
    xd = x.double()
    b, s, f = x.shape
    if mask is not None:
        rows = xd.reshape(b * s, f)[mask.reshape(-1)]
        var, mean = torch.var_mean(rows, 0, correction=0)
        return (xd - mean) / torch.sqrt(var + eps), mean, var
    x4 = xd.reshape(b, s, groups, f // groups)
    dims = tuple(AXES.index(a) for a in norm.reduce)
    if norm.centered:
        var, mean = torch.var_mean(x4, dims, keepdim=True, correction=0)
        return ((x4 - mean) / torch.sqrt(var + eps)).reshape(b, s, f), mean.reshape(-1), var.reshape(-1)
    ms = x4.square().mean(dims, keepdim=True)
    return (x4 / torch.sqrt(ms + eps)).reshape(b, s, f), None, ms.reshape(-1)


def torch_nn(x: Tensor, key: str, groups: int, eps: float, mask: Tensor | None) -> Tensor:
    """x̂ from torch.nn.functional (γ = 1, β = 0); masked BatchNorm: torch's BatchNorm on the real tokens only."""
    b, s, f = x.shape
    if key == "batchnorm" or mask is not None:
        rows = x.reshape(b * s, f) if mask is None else x.reshape(b * s, f)[mask.reshape(-1)]
        return F.batch_norm(rows, None, None, training=True, eps=eps)
    calls = {
        "layernorm": lambda: F.layer_norm(x, (f,), eps=eps),
        "layernorm_sample": lambda: F.layer_norm(x, (s, f), eps=eps),
        "instancenorm": lambda: F.instance_norm(x.transpose(1, 2), eps=eps).transpose(1, 2),
        "groupnorm": lambda: F.group_norm(x.transpose(1, 2), groups, eps=eps).transpose(1, 2),
        "groupnorm_token": lambda: F.group_norm(x.reshape(b * s, f), groups, eps=eps).reshape(b, s, f),
        "rmsnorm": lambda: F.rms_norm(x, (f,), eps=eps),
    }
    return calls[key]()


def torch_accepts(key: str, shape: tuple[int, int, int], groups: int, mask: Tensor | None) -> bool:
    """False where torch.nn refuses in training mode: a statistic over a single value."""
    b, s, f = shape
    if key in ("batchnorm", "masked_batchnorm"):
        return (int(mask.sum()) if mask is not None else b * s) > 1
    if key == "instancenorm":
        return s > 1
    if key == "groupnorm":  # F.group_norm checks (N·C/G)·(spatial size) > 1
        return b * (f // groups) * s > 1
    if key == "groupnorm_token":
        return b * s * (f // groups) > 1
    return True


def groups_for(key: str, f: int) -> int:
    return valid_group_counts(f)[len(valid_group_counts(f)) // 2] if NORMS[key].uses_groups else 1


def check(x: Tensor, key: str, groups: int, mask: Tensor | None = None, eps: float = EPS) -> kernels.Stats:
    """Run the kernel, leave x untouched, and compare x̂ and every statistic with the float64 reduction."""
    before = x.clone()
    xhat, mean, var = kernel_of(key)(x, groups, eps, mask)
    assert torch.equal(x, before), "a kernel must not write into its input"
    want_xhat, want_mean, want_var = direct(x, key, groups, eps, mask)
    assert xhat.shape == x.shape and xhat.dtype == x.dtype and var.dtype == x.dtype
    assert var.shape == want_var.shape and (mean is None) == (want_mean is None)
    tol = {torch.float64: 1e-9, torch.float32: 2e-5, torch.float16: 4e-3, torch.bfloat16: 3e-2}[x.dtype]
    scale = max(1.0, float(x.double().abs().max()))
    # x̂ = (x − μ)/√(σ² + ε) magnifies the rounding of x − μ by up to |x|/√(σ² + ε) (huge for one-value groups)
    magnify = max(1.0, float(x.double().abs().max()) / math.sqrt(float(want_var.min()) + eps))
    torch.testing.assert_close(xhat.double(), want_xhat, atol=tol * 10 * magnify, rtol=tol)
    torch.testing.assert_close(var.double(), want_var, atol=tol * scale**2, rtol=tol)
    if mean is not None and want_mean is not None:
        torch.testing.assert_close(mean.double(), want_mean, atol=tol * scale, rtol=tol)
    return xhat, mean, var


def test_a_mask_without_padding_is_plain_batchnorm_to_the_last_bit():
    x = torch.randn(3, 5, 4)
    plain = kernels.batchnorm_stats(x, 1, EPS, None)
    unpadded = kernels.batchnorm_stats(x, 1, EPS, torch.ones(3, 5, dtype=torch.bool))
    assert all(torch.equal(a, b) for a, b in zip(plain, unpadded, strict=True))


def test_the_standard_rows_have_fast_kernels_that_these_tests_know():
    """Every standard norm has a kernel here; a row added with a kernel needs its torch.nn call in torch_nn()."""
    assert set(KEYS) == {
        "batchnorm",
        "masked_batchnorm",
        "layernorm",
        "layernorm_sample",
        "instancenorm",
        "groupnorm",
        "groupnorm_token",
        "rmsnorm",
    }


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("key", KEYS)
def test_kernels_equal_the_table_reduction_and_torch_nn(key, shape, dtype):
    g = torch.Generator().manual_seed(sum(shape))
    x = (torch.randn(shape, generator=g, dtype=torch.float64) * 3 + 1).to(dtype)
    groups = groups_for(key, shape[2])
    mask = None
    if key == "masked_batchnorm":
        mask = torch.ones(shape[:2], dtype=torch.bool)
        if shape[0] * shape[1] > 1:
            mask[-1, -1] = False  # the last token is padding
    xhat, _, var = check(x, key, groups, mask)
    # a group of one value normalizes to exactly 0 (checked above); torch's float32 kernels leave rounding noise there
    if torch_accepts(key, shape, groups, mask) and x.numel() > var.numel():
        ref = torch_nn(x, key, groups, EPS, mask)
        ours = xhat if mask is None else xhat.reshape(-1, shape[2])[mask.reshape(-1)]
        ours = ours.reshape(ref.shape)
        tol = 1e-5 if dtype == torch.float32 else 1e-10
        torch.testing.assert_close(ours, ref, atol=tol, rtol=tol)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    key=st.sampled_from(KEYS),
    b=st.integers(1, 5),
    s=st.integers(1, 7),
    f=st.integers(1, 16),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    scale=st.sampled_from([1e-3, 1.0, 50.0]),
    shift=st.sampled_from([0.0, 1.0, -4.0]),
    transposed=st.booleans(),
    seed=st.integers(0, 2**16),
    data=st.data(),
)
def test_kernels_on_random_shapes_layouts_and_masks(key, b, s, f, dtype, scale, shift, transposed, seed, data):
    """Any shape (sizes of 1 included), scale, offset, a non-contiguous x and any mask with a real token."""
    groups = data.draw(st.sampled_from(valid_group_counts(f))) if NORMS[key].uses_groups else 1
    g = torch.Generator().manual_seed(seed)
    base = torch.randn((s, b, f) if transposed else (b, s, f), generator=g, dtype=torch.float64)
    x = ((base.transpose(0, 1) if transposed else base) * scale + shift * scale).to(dtype)
    mask = None
    if key == "masked_batchnorm":
        mask = torch.rand(b, s, generator=g) < data.draw(st.sampled_from([0.3, 0.7, 1.0]))
        mask.view(-1)[seed % (b * s)] = True
    xhat, _, var = check(x, key, groups, mask)
    # each group of x̂ has mean 0 and variance σ²/(σ² + ε) (RMS norms: mean square ms/(ms + ε))
    if mask is None and key != "batchnorm":
        _, want_mean, want_var = direct(xhat, key, groups, 0.0, None)
        v = var.double()
        expect = v / (v + EPS)
        tol = 1e-9 if dtype == torch.float64 else 2e-5
        if want_mean is not None:
            assert float(want_mean.abs().max()) < tol * 10
        torch.testing.assert_close(want_var, expect, atol=tol * 10, rtol=tol)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("key", KEYS)
def test_half_precision_inputs_stay_close_and_keep_their_dtype(key, dtype):
    g = torch.Generator().manual_seed(1)
    x = (torch.randn(3, 6, 8, generator=g) * 4 + 2).to(dtype)
    mask = torch.tensor([[1] * 6, [1] * 3 + [0] * 3, [1] + [0] * 5], dtype=torch.bool)
    check(x, key, groups_for(key, 8), mask if key == "masked_batchnorm" else None)


@pytest.mark.parametrize("key", KEYS)
def test_small_variances_keep_their_digits(key):
    """Near-constant groups (σ ≈ 10⁻⁴ on an offset of 5, σ² far below ε): σ² to 8 digits in float64 (torch's own
    kernels give 5·10⁻⁹ on groups of two values), and to 2 digits in float32, where the one-pass E[x²] − E[x]²
    would return rounding noise of the size of ulp(25) ≈ 2·10⁻⁶."""
    g = torch.Generator().manual_seed(3)
    x64 = 5.0 + 1e-4 * torch.randn(2, 6, 8, generator=g, dtype=torch.float64)
    groups = groups_for(key, 8)
    mask = torch.ones(2, 6, dtype=torch.bool) if key == "masked_batchnorm" else None
    _, _, var = kernel_of(key)(x64, groups, EPS, mask)
    _, _, want = direct(x64, key, groups, EPS, mask)
    torch.testing.assert_close(var, want, rtol=1e-8, atol=0)
    x32 = x64.float()
    _, _, var32 = kernel_of(key)(x32, groups, EPS, mask)
    _, _, want32 = direct(x32, key, groups, EPS, mask)
    # 2 digits, or the float32 resolution of σ² + ε where σ² is smaller still (a group of two nearly equal values)
    err = (var32.double() - want32).abs()
    assert bool((err <= 1e-2 * want32 + 8 * torch.finfo(torch.float32).eps * (want32 + EPS)).all())


@pytest.mark.parametrize("key", KEYS)
def test_constant_groups_give_zero_not_nan(key):
    """A constant group normalizes to 0. torch's native batch norm computes a mean of 7s a rounding away from 7,
    so (masked) BatchNorm's x̂ is that rounding times 1/√ε, exactly as nn.BatchNorm1d's; the others give 0 exactly."""
    x = torch.full((2, 3, 4), 7.0)
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]], dtype=torch.bool) if key == "masked_batchnorm" else None
    xhat, _, var = kernel_of(key)(x, groups_for(key, 4), EPS, mask)
    assert torch.isfinite(xhat).all() and torch.isfinite(var).all()
    if key in ("batchnorm", "masked_batchnorm"):
        rows = x.reshape(6, 4) if mask is None else x[mask]
        torch.testing.assert_close(xhat[0, 0], F.batch_norm(rows, None, None, training=True)[0])
        assert float(xhat.abs().max()) <= 4 * torch.finfo(torch.float32).eps * 7 / math.sqrt(EPS)
    elif NORMS[key].centered:
        assert float(xhat.abs().max()) == 0.0 and float(var.abs().max()) == 0.0


def test_var_from_rstd_leaves_its_input_alone():
    rstd = torch.tensor([1.0, 2.0, 300.0], dtype=torch.float64)
    var = kernels.var_from_rstd(rstd, 1e-5, torch.float64)
    assert rstd.tolist() == [1.0, 2.0, 300.0]
    torch.testing.assert_close(var, (1 / rstd.square() - 1e-5).clamp_min(0))


@pytest.mark.parametrize("key", KEYS)
def test_peak_memory_at_most_the_torch_call(key):
    """Each kernel's peak allocation is at most 1.2× that of the usual torch call (allocations do not depend on load)."""
    b, s, f = 4, 64, 96
    x = torch.randn(b, s, f)
    groups = groups_for(key, f)
    mask = None
    if NORMS[key].masked:
        mask = torch.ones(b, s, dtype=torch.bool)
        mask[:, s - s // 4 :] = False
    with torch.no_grad():
        kernel_of(key)(x, groups, EPS, mask)  # warm-up: a cached γ = 1, β = 0 is made once, like a module's
        ours = bench.peak_bytes(lambda: kernel_of(key)(x, groups, EPS, mask))
        theirs = bench.peak_bytes(bench.counterpart(key, x, groups, mask).call)
    if ours is None or theirs is None:
        pytest.skip("this torch's profiler does not expose allocation events")
    assert ours >= x.nbytes, "the output alone is as large as x: the measurement must see it"
    assert ours <= 1.2 * theirs, f"{key}: {ours} bytes at peak vs torch's {theirs}"


def test_peak_bytes_sees_allocations_and_frees():
    n = 1 << 20
    assert bench.peak_bytes(lambda: torch.empty(n)) == 4 * n
    assert bench.peak_bytes(lambda: (torch.empty(n), torch.empty(n))) == 8 * n
    assert bench.peak_bytes(lambda: torch.empty(n).add_(1).sum()) >= 4 * n


def test_bench_prints_every_row_of_the_table(capsys):
    assert bench.main(["--shape", "2,8,12", "--repeats", "2", "--skip-app"]) == 0
    out = capsys.readouterr().out
    assert "torch.profiler" in out
    for key in NORMS:
        assert f"\n{key} " in out


@settings(max_examples=40, deadline=None)
@given(
    b=st.integers(1, 4),
    s=st.integers(1, 6),
    f=st.integers(1, 9),
    dtype=st.sampled_from([torch.float16, torch.float32, torch.float64]),
    masked=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_mean_square_rows_is_powernorms_psi2(b, s, f, dtype, masked, seed):
    """ψ² = mean of x² over the (real) tokens, per feature, in any dtype, whatever the chunking."""
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn(b, s, f, generator=g) * 3).to(dtype)
    mask = None
    if masked:
        mask = torch.rand(b, s, generator=g) < 0.6
        mask.view(-1)[seed % (b * s)] = True
    rows = x.double().reshape(-1, f)
    want = (rows if mask is None else rows[mask.reshape(-1)]).square().mean(0)
    before = x.clone()
    got = kernels.mean_square_rows(x, mask)
    assert torch.equal(x, before) and got.dtype == dtype and got.shape == (f,)
    tol = {torch.float16: 3e-3, torch.float32: 1e-6, torch.float64: 1e-12}[dtype]
    torch.testing.assert_close(got.double(), want, rtol=tol, atol=tol)


def test_mean_square_rows_in_chunks_and_under_autograd(monkeypatch):
    monkeypatch.setattr(kernels, "_CHUNK", 7)  # several chunks, the last one short
    x = torch.randn(3, 5, 4, dtype=torch.float64)
    mask = torch.tensor([[1, 1, 0, 1, 0], [0, 0, 0, 0, 1], [1, 1, 1, 1, 1]], dtype=torch.bool)
    for m in (None, mask):
        rows = x.reshape(-1, 4) if m is None else x.reshape(-1, 4)[m.reshape(-1)]
        torch.testing.assert_close(kernels.mean_square_rows(x, m), rows.square().mean(0))
    leaf = x.clone().requires_grad_(True)
    kernels.mean_square_rows(leaf, mask).sum().backward()
    want = 2 * x * mask[:, :, None] / int(mask.sum())
    torch.testing.assert_close(leaf.grad, want)
