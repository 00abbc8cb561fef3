"""normalize() against the torch.nn modules named in the table, its statistics against direct reductions,
its group ids against the table's boxes, and every invalid call against its message."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from norm_viz import NORMS, PRESETS, make_tensor, normalize, reference
from norm_viz.core.compute import _generic_stats, output_moments, verify
from norm_viz.core.table import lit_box, valid_group_counts

STANDARD = [k for k, n in NORMS.items() if n.has_torch_module]
"""The rows whose reference is a real torch.nn module (PowerNorm and DyT are checked in test_extra_norms)."""
SHAPES = [(4, 8, 16), (1, 5, 6), (3, 1, 4), (2, 3, 1), (1, 1, 12), (5, 7, 12)]


def needs_more_values(key: str, shape: tuple[int, int, int]) -> bool:
    """Norms whose statistic would average a single value, which torch refuses in training mode (the row's
    min_values; test_matches_torch_nn checks that torch.nn refuses exactly these)."""
    norm = NORMS[key]
    return norm.values_per_statistic(shape, groups_for(key, shape[2])) < norm.min_values


def groups_for(key: str, f: int) -> int:
    return valid_group_counts(f)[len(valid_group_counts(f)) // 2] if NORMS[key].uses_groups else 1


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("key", STANDARD)
def test_matches_torch_nn(key, shape, dtype):
    x = make_tensor(*shape, kind="normal", seed=sum(shape)).to(dtype) * 3 + 1
    g = groups_for(key, shape[2])
    if needs_more_values(key, shape):
        with pytest.raises(ValueError, match="more than one value"):
            normalize(x, key, groups=g)
        with pytest.raises((ValueError, RuntimeError)):
            reference(x, key, groups=g)
        return
    r = normalize(x, key, groups=g)
    with torch.no_grad():
        ref = reference(x, key, groups=g)
    tol = 1e-5 if dtype == torch.float32 else 1e-10
    torch.testing.assert_close(r.output, ref, atol=tol, rtol=tol)
    assert r.output.dtype == dtype and r.output.shape == x.shape


@pytest.mark.parametrize("key", STANDARD)
def test_statistics_equal_direct_reductions_over_each_group(key):
    """Every group's μ and σ² equal mean/var of exactly the cells that carry its id (independent of the kernels)."""
    x = make_tensor(3, 5, 12, kind="token_like", seed=7, dtype=torch.float64)
    r = normalize(x, key, groups=groups_for(key, 12))
    assert r.group_id.min() == 0 and r.group_id.max() == r.n_groups - 1
    for g in range(r.n_groups):
        vals = x[r.group_id == g]
        assert vals.numel() == r.group_size
        if NORMS[key].centered:
            assert math.isclose(float(r.group_mean[g]), float(vals.mean()), abs_tol=1e-9)
            assert math.isclose(float(r.group_var[g]), float(vals.var(unbiased=False)), rel_tol=1e-7, abs_tol=1e-9)
        else:
            assert math.isclose(float(r.group_var[g]), float(vals.square().mean()), rel_tol=1e-9)
    # the keepdim statistics broadcast against x and agree with the per-group ones cell by cell
    assert torch.equal(r.var.expand_as(x), r.group_var[r.group_id])
    if r.mean is not None:
        assert torch.equal(r.mean.expand_as(x), r.group_mean[r.group_id])


@pytest.mark.parametrize("key", STANDARD)
def test_fast_kernels_equal_the_generic_table_reduction(key):
    """The native fast path of each norm equals reducing x over the table's axes."""
    x = make_tensor(2, 6, 12, seed=3, dtype=torch.float64)
    g = groups_for(key, 12)
    r = normalize(x, key, groups=g)
    xhat, mean, var = _generic_stats(x, NORMS[key], g, 1e-5)
    torch.testing.assert_close(r.normalized, xhat)
    torch.testing.assert_close(r.group_var, var)
    if mean is not None:
        torch.testing.assert_close(r.group_mean, mean)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    key=st.sampled_from(STANDARD),
    b=st.integers(1, 5),
    s=st.integers(1, 6),
    f=st.integers(1, 12),
    seed=st.integers(0, 10_000),
    cell_seed=st.integers(0, 10_000),
    data=st.data(),
)
def test_properties(key, b, s, f, seed, cell_seed, data):
    """On random shapes: equal to torch.nn; groups partition the tensor; each group's box is the table's;
    centred groups have mean 0 and variance σ²/(σ²+ε); RMS groups have mean square ms/(ms+ε)."""
    g = data.draw(st.sampled_from(valid_group_counts(f))) if NORMS[key].uses_groups else 1
    x = make_tensor(b, s, f, seed=seed, dtype=torch.float64) * 2 - 1
    if needs_more_values(key, (b, s, f)):
        with pytest.raises(ValueError):
            normalize(x, key, groups=g)
        return
    r = normalize(x, key, groups=g)
    try:
        with torch.no_grad():
            ref = reference(x, key, groups=g)
    except ValueError as e:  # torch's GroupNorm refuses groups of a single value when the batch has one sample
        assert NORMS[key].uses_groups and r.group_size == 1 and "Expected more than 1 value" in str(e)
        assert verify(r).refused and float(r.output.abs().max()) < 1e-6  # a one-value group normalizes to 0
    else:
        torch.testing.assert_close(r.output, ref, atol=1e-9, rtol=1e-9)
    counts = torch.bincount(r.group_id.reshape(-1), minlength=r.n_groups)
    assert r.n_groups * r.group_size == b * s * f
    assert torch.all(counts == r.group_size)
    cell = (cell_seed % b, cell_seed // b % s, cell_seed // (b * s) % f)
    (b0, b1), (s0, s1), (f0, f1) = lit_box(key, (b, s, f), cell, g)
    lit = r.group_id == r.group_id[cell]
    box = torch.zeros_like(lit)
    box[b0:b1, s0:s1, f0:f1] = True
    assert torch.equal(lit, box), "the table's lit box must be exactly the computed group"
    mean, var = output_moments(r)
    if NORMS[key].centered:
        assert float(mean.abs().max()) < 1e-9
        expected = r.group_var.double() / (r.group_var.double() + r.eps)
        torch.testing.assert_close(var, expected, atol=1e-9, rtol=1e-9)
    else:
        ms = mean.square() + var
        torch.testing.assert_close(ms, r.group_var.double() / (r.group_var.double() + r.eps), atol=1e-9, rtol=1e-9)


def test_seed_d2l_card_outputs():
    """Source document 002: nn.LayerNorm(2) gives [[-1, 1], [-1, 1]] and BatchNorm1d [[-1, -1], [1, 1]] on X = [[1, 2], [2, 3]]."""
    x = PRESETS["d2l"].tensor()
    ln = normalize(x, "layernorm").output.squeeze(1)
    bn = normalize(x, "batchnorm").output.squeeze(1)
    torch.testing.assert_close(ln, torch.tensor([[-1.0, 1.0], [-1.0, 1.0]]), atol=1e-4, rtol=0)
    torch.testing.assert_close(bn, torch.tensor([[-1.0, -1.0], [1.0, 1.0]]), atol=1e-4, rtol=0)
    with torch.no_grad():
        d2l_bn = nn.LazyBatchNorm1d()(x.squeeze(1))  # the card's exact call on the 2D X
    torch.testing.assert_close(bn, d2l_bn)


def test_seed_interview_toy_example():
    """Source document 004: LN gives mean 4 and 3, std 1.63, x' = [-1.225, 0, 1.225]; BN's feature means are [1.5, 3.5, 5.5]."""
    x = PRESETS["interview"].tensor(torch.float64)
    ln = normalize(x, "layernorm")
    assert ln.group_mean.tolist() == [4.0, 3.0]
    assert [round(math.sqrt(v), 2) for v in ln.group_var.tolist()] == [1.63, 1.63]
    assert [round(v, 3) for v in ln.output[0, 0].tolist()] == [-1.225, 0.0, 1.225]
    assert [round(v, 3) for v in ln.output[1, 0].tolist()] == [-1.225, 0.0, 1.225]
    assert normalize(x, "batchnorm").group_mean.tolist() == [1.5, 3.5, 5.5]


def test_layernorm_sample_equals_groupnorm_one_group():
    """The table's claim: LN over (S, F) = nn.GroupNorm(1, F) on (B, F, S)."""
    x = make_tensor(3, 5, 6, seed=1)
    with torch.no_grad():
        gn = nn.GroupNorm(1, 6)(x.transpose(1, 2)).transpose(1, 2)
    torch.testing.assert_close(normalize(x, "layernorm_sample").output, gn, atol=1e-5, rtol=1e-5)


def test_batchnorm_running_statistics_match_torch_after_steps():
    bn = nn.BatchNorm1d(6, momentum=0.1).train()
    rm, rv = None, None
    for step in range(4):
        x = make_tensor(3, 4, 6, seed=step, shift=step * 0.5)
        r = normalize(x, "batchnorm", running_mean=rm, running_var=rv, momentum=0.1)
        with torch.no_grad():
            bn(x.transpose(1, 2))
        rm, rv = r.running_mean, r.running_var
        torch.testing.assert_close(rm, bn.running_mean)
        torch.testing.assert_close(rv, bn.running_var)  # unbiased, as torch stores it


def test_batchnorm_eval_mode_uses_running_statistics():
    x = make_tensor(2, 3, 4, seed=5)
    rm, rv = torch.tensor([0.5, -1.0, 2.0, 0.0]), torch.tensor([2.0, 0.5, 1.0, 4.0])
    r = normalize(x, "batchnorm", training=False, running_mean=rm, running_var=rv)
    bn = nn.BatchNorm1d(4).eval()
    bn.running_mean.copy_(rm)
    bn.running_var.copy_(rv)
    with torch.no_grad():
        torch.testing.assert_close(r.output, bn(x.transpose(1, 2)).transpose(1, 2))
    assert r.uses_running_stats and torch.equal(r.group_mean, rm) and int(r.counts.sum()) == 0
    assert verify(r).ok
    # one token at inference: eval mode works where training mode refuses
    one = x[:1, :1]
    assert normalize(one, "batchnorm", training=False, running_mean=rm, running_var=rv).output.shape == (1, 1, 4)
    with pytest.raises(ValueError, match="batch × sequence = 1"):
        normalize(one, "batchnorm")


@pytest.mark.parametrize("key", STANDARD)
def test_affine_matches_torch_module_with_the_same_gamma_beta(key):
    b, s, f = 2, 4, 6
    x = make_tensor(b, s, f, seed=11)
    shape = (s, f) if NORMS[key].affine == "sequence_feature" else (f,)
    w = torch.linspace(0.5, 2.0, math.prod(shape)).reshape(shape)
    bias = torch.linspace(-1.0, 1.0, math.prod(shape)).reshape(shape)
    r = normalize(x, key, groups=groups_for(key, f), weight=w, bias=bias)
    torch.testing.assert_close(r.output, r.normalized * w + bias)
    if key == "layernorm":
        m = nn.LayerNorm(f)
        with torch.no_grad():
            m.weight.copy_(w)
            m.bias.copy_(bias)
            torch.testing.assert_close(r.output, m(x))
    cell = r.cell(1, 2, 3)
    assert math.isclose(cell["y"], cell["gamma"] * cell["x_hat"] + cell["beta"], rel_tol=1e-5, abs_tol=1e-6)


def test_masked_batchnorm_ignores_padding():
    x = make_tensor(3, 5, 4, seed=2)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]], dtype=torch.bool)
    r = normalize(x, "masked_batchnorm", mask=mask)
    real = x[mask]
    torch.testing.assert_close(r.group_mean, real.mean(0))
    torch.testing.assert_close(r.group_var, real.var(0, unbiased=False), atol=1e-6, rtol=1e-5)
    assert int(r.counts[0]) == int(mask.sum())
    padded = x.clone()
    padded[~mask] = 1000.0  # whatever sits in the pads, the statistics do not move
    torch.testing.assert_close(normalize(padded, "masked_batchnorm", mask=mask).group_mean, r.group_mean)
    assert verify(r).ok
    # without a mask it is plain BatchNorm; with pads BatchNorm's statistics differ
    torch.testing.assert_close(normalize(x, "masked_batchnorm").output, normalize(x, "batchnorm").output)
    assert not torch.allclose(normalize(padded, "batchnorm").group_mean, r.group_mean)


@pytest.mark.parametrize("key", STANDARD)
def test_verify_reports_a_small_difference(key):
    r = normalize(make_tensor(3, 4, 8, seed=4), key, groups=groups_for(key, 8))
    v = verify(r)
    assert v.ok and v.max_abs_diff < 1e-5 and str(8) in v.torch_call


def test_constant_group_gives_zero_not_nan():
    x = torch.ones(2, 3, 4)
    for key in STANDARD:
        r = normalize(x, key, groups=groups_for(key, 4))
        assert torch.isfinite(r.output).all()
        if NORMS[key].centered:
            assert float(r.output.abs().max()) == 0.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"norm": "groupnorm", "groups": 5},
            r"groups=5 does not divide features=16; valid group counts for 16 features: 1, 2, 4, 8, 16",
        ),
        ({"norm": "groupnorm", "groups": 0}, r"valid group counts"),
        ({"norm": "nonsense"}, r"unknown norm 'nonsense'; valid norms: batchnorm"),
        ({"norm": "layernorm", "eps": -1.0}, r"eps must be a finite number ≥ 0"),
        ({"norm": "masked_batchnorm", "mask": torch.zeros(2, 3, dtype=torch.bool)}, r"no valid token"),
        (
            {"norm": "masked_batchnorm", "mask": torch.ones(3, 2, dtype=torch.bool)},
            r"mask has shape \(3, 2\).*\(2, 3\)",
        ),
        ({"norm": "masked_batchnorm", "mask": torch.tensor([[1, 0, 0], [0, 0, 0]])}, r"number of real tokens = 1"),
        (
            {"norm": "layernorm", "weight": torch.ones(3)},
            r"weight \(γ\) has shape \(3,\), but this norm needs shape \(16,\)",
        ),
        ({"norm": "layernorm_sample", "bias": torch.ones(16)}, r"needs shape \(3, 16\)"),
        ({"norm": "batchnorm", "training": False, "running_var": -torch.ones(16)}, r"running_var must be ≥ 0"),
    ],
)
def test_invalid_calls_name_the_bad_value_and_what_is_valid(kwargs, message):
    x = make_tensor(2, 3, 16)
    norm = kwargs.pop("norm")
    with pytest.raises(ValueError, match=message):
        normalize(x, norm, **kwargs)


def test_invalid_tensors():
    with pytest.raises(ValueError, match=r"3 dimensions, got shape \(4, 5\) with 2"):
        normalize(torch.ones(4, 5), "layernorm")
    with pytest.raises(ValueError, match="floating-point.*torch.int64"):
        normalize(torch.ones(2, 2, 2, dtype=torch.int64), "layernorm")
    with pytest.raises(ValueError, match="at least 1"):
        normalize(torch.ones(0, 2, 2), "layernorm")
    with pytest.raises(ValueError, match="expected a torch.Tensor"):
        normalize([[[1.0]]], "layernorm")
    bad = make_tensor(2, 3, 4)
    bad[1, 2, 3] = float("nan")
    for key in STANDARD:
        with pytest.raises(ValueError, match=r"nan at \[b, s, f\] = \[1, 2, 3\]"):
            normalize(bad, key, groups=groups_for(key, 4))
    bad[1, 2, 3] = float("inf")
    with pytest.raises(ValueError, match=r"inf at \[b, s, f\] = \[1, 2, 3\]"):
        normalize(bad, "batchnorm", training=False)
    huge = make_tensor(2, 3, 4) * 1e30
    with pytest.raises(ValueError, match="overflowed torch.float32.*float64"):
        normalize(huge, "rmsnorm")
    assert torch.isfinite(normalize(huge.double(), "rmsnorm").output).all()


@pytest.mark.parametrize("key", STANDARD)
def test_the_pytorch_snippet_reproduces_normalize(key):
    """The snippet the Explorer shows, executed with our x, gives normalize()'s output."""
    from norm_viz.core.table import torch_snippet

    shape, g, lengths = (3, 5, 8), groups_for(key, 8), (5, 3, 2)
    x = make_tensor(*shape, seed=9)
    code = torch_snippet(key, shape, g, 1e-3, lengths if NORMS[key].masked else ())
    scope: dict = {}
    exec(code.replace(f"x = torch.randn{shape}", "x = X"), {"X": x.clone()}, scope)
    mask = torch.arange(5)[None, :] < torch.tensor(lengths)[:, None] if NORMS[key].masked else None
    with torch.no_grad():
        torch.testing.assert_close(
            scope["y"], normalize(x, key, 1e-3, groups=g, mask=mask).output, atol=1e-5, rtol=1e-5
        )


def _differentiable_reference(x, key, g, mask):
    """torch.nn's module (or, for masked BN, the formula on the real tokens) as a differentiable function."""
    if key == "masked_batchnorm":
        rows = x.reshape(-1, x.shape[2])[mask.reshape(-1)]
        return (x - rows.mean(0)) / torch.sqrt(rows.var(0, unbiased=False) + 1e-5)
    return reference(x, key, groups=g)


@pytest.mark.parametrize("key", STANDARD)
def test_gradients_and_forward_derivatives_equal_torch(key):
    """normalize() is differentiable like the torch module: same backward gradient and same forward-mode JVP
    (the fast kernels' statistics are constants to autograd, so a differentiated call takes the table path)."""
    import torch.autograd.forward_ad as fwAD

    x = make_tensor(3, 4, 6, seed=5, dtype=torch.float64)
    g = groups_for(key, 6)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]], dtype=torch.bool) if NORMS[key].masked else None
    weights = torch.linspace(-1, 1, x.numel(), dtype=torch.float64).reshape(x.shape)
    ours = x.clone().requires_grad_(True)
    (normalize(ours, key, groups=g, mask=mask).output * weights).sum().backward()
    theirs = x.clone().requires_grad_(True)
    (_differentiable_reference(theirs, key, g, mask) * weights).sum().backward()
    torch.testing.assert_close(ours.grad, theirs.grad)
    tangent = torch.zeros_like(x)
    tangent[0, -1] = 1.0  # perturb the last token of sequence 0
    with fwAD.dual_level():
        jvp_ours = fwAD.unpack_dual(normalize(fwAD.make_dual(x, tangent), key, groups=g, mask=mask).output).tangent
        jvp_theirs = fwAD.unpack_dual(_differentiable_reference(fwAD.make_dual(x, tangent), key, g, mask)).tangent
    torch.testing.assert_close(jvp_ours, jvp_theirs)
