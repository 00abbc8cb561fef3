"""PowerNorm against a cell-by-cell loop, DyT against tanh, every NORMS row against its reference, and the labs:
custom axes, equivalences as identities, geometry (‖x̂‖ = √F), fluctuation, ε placement and dtypes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from norm_viz import NORMS, make_tensor, normalize, reference, verify
from norm_viz.beyond import custom_axes, dyt_lab, eps_dtype, equivalences, fluctuation, geometry
from norm_viz.core.compute import _generic_stats
from norm_viz.core.extra_norms import (
    GS_EPS,
    PN_GROUP_SCALING,
    group_scaling,
    powernorm_loop_step,
    powernorm_run,
    powernorm_step,
)
from norm_viz.core.table import lit_box, torch_snippet, valid_group_counts


def lengths_mask(lengths: list[int], s: int) -> torch.Tensor:
    return torch.arange(s)[None, :] < torch.tensor(lengths)[:, None]


def runnable(key: str, shape: tuple[int, int, int]) -> bool:
    """False where the row's statistic would average fewer values than its min_values (torch.nn refuses)."""
    norm = NORMS[key]
    return (
        norm.values_per_statistic(shape, valid_group_counts(shape[2])[1] if norm.uses_groups else 1) >= norm.min_values
    )


# --- every row of the table, including the new ones ------------------------------------------------


@pytest.mark.parametrize(
    ("key", "shape"),
    [  # torch refuses a single value per statistic in training mode: those pairs are tested in test_compute
        (k, shape) for k in NORMS for shape in [(3, 5, 8), (1, 4, 6), (2, 1, 4)] if runnable(k, shape)
    ],
)
def test_every_row_matches_its_reference_and_partitions_the_tensor(key, shape):
    g = valid_group_counts(shape[2])[1] if NORMS[key].uses_groups else None
    x = make_tensor(*shape, kind="token_like", seed=2)
    r = normalize(x, key, groups=g)
    with torch.no_grad():
        torch.testing.assert_close(r.normalized, reference(x, key, groups=g), atol=1e-5, rtol=1e-5)
    counts = torch.bincount(r.group_id.reshape(-1), minlength=r.n_groups)
    assert r.n_groups * r.group_size == x.numel() and bool((counts == r.group_size).all())
    cell = (shape[0] - 1, shape[1] // 2, shape[2] - 1)
    (b0, b1), (s0, s1), (f0, f1) = lit_box(key, shape, cell, r.groups)
    box = torch.zeros(shape, dtype=torch.bool)
    box[b0:b1, s0:s1, f0:f1] = True
    assert torch.equal(r.group_id == r.group_id[cell], box)
    assert verify(r).ok


def test_table_reduction_over_no_axes_keeps_every_cell():
    """reduce=() must not fall into torch's dim=() = 'reduce everything'."""
    x = make_tensor(2, 3, 4, seed=1, dtype=torch.float64)
    _xhat, mean, var = _generic_stats(x, NORMS["dyt"], 1, 1e-5)
    assert mean is None and var.shape == (24,)
    torch.testing.assert_close(var, x.square().reshape(-1))


OWN_FORWARD = [k for k, n in NORMS.items() if not n.has_torch_module]


def test_rows_without_a_torch_module_have_their_own_forward():
    assert set(OWN_FORWARD) >= {"powernorm", "dyt"}
    assert all(NORMS[k].forward is not None and NORMS[k].reference is not None for k in OWN_FORWARD)


@pytest.mark.parametrize("key", OWN_FORWARD)
@pytest.mark.parametrize("warmup", [True, False])
def test_snippet_reproduces_the_app(key, warmup):
    """The copyable snippet, executed, gives the same output as normalize() on its x."""
    scope: dict = {}
    options = {"alpha": 1.5, "scaling_groups": 2, "warmup": warmup}
    exec(torch_snippet(key, (2, 3, 4), **options), scope)
    r = normalize(scope["x"], key, **options)
    torch.testing.assert_close(scope["y"], r.normalized)


def test_snippet_writes_a_per_feature_alpha():
    alpha = torch.tensor([0.5, 1.0, 2.0, -1.0])
    scope: dict = {}
    exec(torch_snippet("dyt", (2, 3, 4), alpha=alpha), scope)
    torch.testing.assert_close(scope["y"], normalize(scope["x"], "dyt", alpha=alpha).normalized)


# --- PowerNorm -------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    b=st.integers(1, 4),
    s=st.integers(1, 5),
    f=st.sampled_from([1, 2, 4, 6]),
    seed=st.integers(0, 1000),
    warmup=st.booleans(),
    training=st.booleans(),
    use_gs=st.booleans(),
    step=st.integers(1, 5),
    warmup_steps=st.one_of(st.none(), st.integers(0, 6)),
    data=st.data(),
)
def test_powernorm_equals_the_direct_loop(b, s, f, seed, warmup, training, use_gs, step, warmup_steps, data):
    x = make_tensor(b, s, f, kind="token_like", seed=seed, dtype=torch.float64)
    lengths = data.draw(st.lists(st.integers(0, s), min_size=b, max_size=b).filter(lambda v: sum(v) > 0))
    mask = lengths_mask(lengths, s)
    running = torch.rand(f, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) + 0.5
    gs = data.draw(st.sampled_from(valid_group_counts(f))) if use_gs else 0
    kw = {"warmup": warmup, "training": training, "scaling_groups": gs, "step": step, "warmup_steps": warmup_steps}
    r = normalize(x, "powernorm", mask=mask, running_var=running, **kw)
    loop, loop_running = powernorm_loop_step(x, mask=mask, running=running, **kw)
    torch.testing.assert_close(r.normalized, loop, atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(r.running_var, loop_running, atol=1e-10, rtol=1e-10)
    in_warmup = warmup if warmup_steps is None else step <= warmup_steps
    assert r.running_used == (not training or not in_warmup)
    assert verify(r).ok


def test_powernorm_statistic_is_the_quadratic_mean_of_real_tokens():
    x = make_tensor(3, 5, 4, seed=3, dtype=torch.float64) + 2.0
    mask = lengths_mask([5, 2, 1], 5)
    r = normalize(x, "powernorm", mask=mask)
    torch.testing.assert_close(r.group_var, x[mask].square().mean(0))
    assert r.group_mean is None and int(r.counts[0]) == 8
    padded = x.clone()
    padded[~mask] = 1e3
    torch.testing.assert_close(normalize(padded, "powernorm", mask=mask).group_var, r.group_var)
    # no mean is subtracted: the output keeps the offset that BatchNorm would remove
    assert float(r.normalized[mask].mean()) > 0.5
    assert abs(float(normalize(x, "masked_batchnorm", mask=mask).normalized[mask].mean())) < 1e-9


@pytest.mark.parametrize("rule", ["authors", "ema"])
def test_powernorm_running_update_and_warmup_switch(rule):
    xs = [make_tensor(2, 4, 3, seed=t, dtype=torch.float64) * (1 + t) for t in range(6)]
    masks = [None] * 6
    run = powernorm_run(xs, masks, warmup_steps=3, rule=rule)
    running = torch.ones(3, dtype=torch.float64)
    for t, (xb, step) in enumerate(zip(xs, run.steps, strict=True)):
        psi2 = xb.reshape(-1, 3).square().mean(0)
        torch.testing.assert_close(step.psi2_batch, psi2)
        torch.testing.assert_close(step.divisor, psi2 if t < 3 else running)
        assert step.used_running == (t >= 3) and step.step == t + 1
        if rule == "authors" and t + 1 < 3:  # the authors' code: a cumulative mean while step < warm-up steps
            running = running * t / (t + 1) + psi2 / (t + 1)
        assert step.cumulative == (rule == "authors" and t + 1 < 3)
        running = 0.9 * running + 0.1 * psi2
        torch.testing.assert_close(step.running_after, running)
    # in warm-up the output has mean square ψ²/(ψ²+ε) ≈ 1 per feature; after it, not
    warm = run.steps[0].normalized.reshape(-1, 3).square().mean(0)
    torch.testing.assert_close(warm, torch.ones(3, dtype=torch.float64), atol=1e-4, rtol=0)
    late = run.steps[5].normalized.reshape(-1, 3).square().mean(0)
    assert float((late - 1).abs().max()) > 0.5


def test_group_scaling_gives_each_token_group_unit_mean_square():
    x = make_tensor(2, 3, 8, kind="token_like", seed=4, dtype=torch.float64)
    y = group_scaling(x, 4, 0.0).reshape(2, 3, 4, 2)
    torch.testing.assert_close(y.square().mean(-1), torch.ones(2, 3, 4, dtype=torch.float64))
    step = powernorm_step(x, 0.0, scaling_groups=4, scaling_eps=0.0)
    torch.testing.assert_close(step.scaled, y.reshape(2, 3, 8))
    # GroupScaling has its own ε (the authors' GroupScaling1D(eps=1e-5)), not the norm's
    default = powernorm_step(x, 0.5, scaling_groups=4)
    torch.testing.assert_close(default.scaled, group_scaling(x, 4, GS_EPS))
    assert GS_EPS == 1e-5 and PN_GROUP_SCALING == 0


def test_powernorm_by_hand_three_steps():
    """One feature, one token per batch with x = 2, 1, 3 (ψ² = 4, 1, 9), warm-up 2 steps, α = 0.9, running starts at 1.

    The authors' code (MaskPowerNorm): step t divides by the batch's ψ² while t ≤ 2, and while t < 2 it first takes
    the cumulative mean r·(t−1)/t + ψ²/t; then every step r ← 0.9·r + 0.1·ψ².
      step 1: divide by 4;   r = 1·0/1 + 4/1 = 4, then 0.9·4 + 0.1·4 = 4
      step 2: divide by 1;   r = 0.9·4 + 0.1·1 = 3.7
      step 3: divide by 3.7; r = 0.9·3.7 + 0.1·9 = 4.23
    With the moving average from the start ("ema"): r = 1.3, then 1.27, then 2.043; step 3 divides by 1.27.
    """
    xs = [torch.tensor([[[v]]], dtype=torch.float64) for v in (2.0, 1.0, 3.0)]
    eps = 1e-5
    run = powernorm_run(xs, [None] * 3, warmup_steps=2, eps=eps)
    assert [float(st.divisor) for st in run.steps] == pytest.approx([4.0, 1.0, 3.7])
    assert [float(st.running_after) for st in run.steps] == pytest.approx([4.0, 3.7, 4.23])
    assert [float(st.normalized) for st in run.steps] == pytest.approx(
        [2 / math.sqrt(4 + eps), 1 / math.sqrt(1 + eps), 3 / math.sqrt(3.7 + eps)]
    )
    ema = powernorm_run(xs, [None] * 3, warmup_steps=2, eps=eps, rule="ema")
    assert [float(st.running_after) for st in ema.steps] == pytest.approx([1.3, 1.27, 2.043])
    assert float(ema.steps[2].divisor) == pytest.approx(1.27)
    # normalize() and the loop follow the same rule step by step
    running = None
    for t, xb in enumerate(xs):
        r = normalize(xb, "powernorm", eps, running_var=running, step=t + 1, warmup_steps=2)
        loop, loop_running = powernorm_loop_step(xb, eps, running=running, step=t + 1, warmup_steps=2)
        torch.testing.assert_close(r.normalized, loop)
        assert float(r.running_var) == pytest.approx(float(loop_running))
        assert float(r.running_var) == pytest.approx([4.0, 3.7, 4.23][t])
        running = r.running_var


def test_powernorm_step_arguments_are_checked():
    x = make_tensor(2, 3, 4)
    with pytest.raises(ValueError, match="step must be a whole number ≥ 1"):
        normalize(x, "powernorm", step=0)
    with pytest.raises(ValueError, match="warmup_steps must be a whole number ≥ 0"):
        normalize(x, "powernorm", warmup_steps=-1)
    with pytest.raises(ValueError, match="running rule must be one of authors, ema"):
        normalize(x, "powernorm", rule="other")
    with pytest.raises(ValueError, match="PowerNorm takes no parameter momentum_bkw"):
        normalize(x, "powernorm", momentum_bkw=0.9)
    with pytest.raises(ValueError, match="LayerNorm takes no parameter step; its parameters: none"):
        normalize(x, "layernorm", step=2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"norm": "powernorm", "scaling_groups": 3},
            r"GroupScaling groups=3 does not divide features=8; valid: 0 \(off\), 1, 2, 4, 8",
        ),
        ({"norm": "powernorm", "scaling_groups": -1}, r"scaling_groups must be 0 \(off\)"),
        ({"norm": "powernorm", "mask": torch.zeros(2, 3, dtype=torch.bool)}, r"no valid token"),
        ({"norm": "dyt", "alpha": float("nan")}, r"DyT's alpha must be a finite number"),
    ],
)
def test_invalid_extra_calls_say_what_is_valid(kwargs, message):
    norm = kwargs.pop("norm")
    with pytest.raises(ValueError, match=message):
        normalize(make_tensor(2, 3, 8), norm, **kwargs)


@pytest.mark.parametrize("key", OWN_FORWARD)
def test_non_finite_inputs_are_refused_with_the_position(key):
    x = make_tensor(2, 3, 4)
    x[1, 0, 2] = float("nan")
    with pytest.raises(ValueError, match=r"nan at \[b, s, f\] = \[1, 0, 2\]"):
        normalize(x, key)


@pytest.mark.parametrize("kw", [{"mask": [[1, 1, 1], [1, 1, 0]]}, {"training": False}, {"warmup": False}])
def test_powernorm_refuses_non_finite_values_its_statistic_does_not_see(kw):
    """An inf in a padded position, or any NaN when dividing by the running ψ², never reaches ψ²: still refused."""
    x = make_tensor(2, 3, 4)
    x[1, 2, 0] = float("inf")
    with pytest.raises(ValueError, match=r"inf at \[b, s, f\] = \[1, 2, 0\]"):
        normalize(x, "powernorm", **kw)
    with pytest.raises(ValueError, match="overflowed torch.float32"):
        normalize(make_tensor(2, 3, 4) * 1e30, "powernorm")


# --- DyT -------------------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(alpha=st.floats(-5, 5, allow_nan=False), seed=st.integers(0, 1000))
def test_dyt_is_elementwise_tanh(alpha, seed):
    x = make_tensor(2, 3, 5, seed=seed, dtype=torch.float64) * 3
    w, bias = torch.linspace(0.5, 2, 5, dtype=torch.float64), torch.linspace(-1, 1, 5, dtype=torch.float64)
    r = normalize(x, "dyt", alpha=alpha, weight=w, bias=bias)
    expected = w.numpy() * np.tanh(alpha * x.numpy()) + bias.numpy()
    np.testing.assert_allclose(r.output.numpy(), expected, rtol=1e-12, atol=1e-12)
    assert r.n_groups == x.numel() and r.group_size == 1
    # changing one cell changes only that cell's output: nothing is shared
    bumped = x.clone()
    bumped[1, 2, 3] += 1.0
    changed = normalize(bumped, "dyt", alpha=alpha).normalized != normalize(x, "dyt", alpha=alpha).normalized
    assert int(changed.sum()) <= 1


def test_dyt_cube_lights_only_the_cell():
    from norm_viz.cube import static
    from norm_viz.cube.rule import rule

    r = normalize(make_tensor(3, 4, 5), "dyt")
    assert int((r.group_id == r.group_id[1, 2, 3]).sum()) == 1
    assert rule("dyt", (3, 4, 5))["block"] == [1, 1, 1] and not rule("dyt", (3, 4, 5))["statistic"]
    svg = static.cube_svg((3, 4, 5), "dyt", (1, 2, 3))
    assert 'class="lit"' not in svg and svg.count('class="chosen"') == 3  # the chosen cell alone, as one voxel


def test_dyt_alpha_can_be_a_learnable_tensor():
    """A 0-d nn.Parameter α gets the same gradient as from torch.tanh(α·x); a per-feature α works too."""
    x = make_tensor(2, 3, 4, seed=8)
    alpha = nn.Parameter(torch.tensor(0.5))
    normalize(x, "dyt", alpha=alpha).output.sum().backward()
    theirs = torch.tensor(0.5, requires_grad=True)
    torch.tanh(theirs * x).sum().backward()
    assert alpha.grad is not None
    torch.testing.assert_close(alpha.grad, theirs.grad)
    per_feature = nn.Parameter(torch.tensor([0.5, 1.0, 2.0, -1.0]))
    r = normalize(x, "dyt", alpha=per_feature)
    torch.testing.assert_close(r.normalized, torch.tanh(per_feature * x))
    r.output.square().sum().backward()
    assert per_feature.grad is not None and per_feature.grad.shape == (4,)
    assert verify(r).ok


@pytest.mark.parametrize(
    ("alpha", "message"),
    [
        (torch.ones(3), r"alpha has shape \(3,\); it must be one number, a 0-d tensor or shape \(4,\)"),
        (torch.tensor(float("inf")), "DyT's alpha must be a finite number"),
        (torch.tensor(1), "DyT's alpha must be a finite number"),
        (True, "DyT's alpha must be a finite number"),
    ],
)
def test_dyt_alpha_tensors_are_checked(alpha, message):
    with pytest.raises(ValueError, match=message):
        normalize(make_tensor(2, 3, 4), "dyt", alpha=alpha)


def test_dyt_statistic_is_computed_only_when_asked():
    """DyT divides by nothing: normalize() computes no per-cell x²; a figure that reads group_var gets it then."""
    x = make_tensor(2, 3, 4, seed=2)
    r = normalize(x, "dyt")
    assert r.computed_var is None and "group_var" not in r.__dict__
    assert r.n_groups == 24 and r.group_size == 1 and r.counts.shape == (24,)
    torch.testing.assert_close(r.group_var, x.square().reshape(-1))
    assert r.cell(1, 2, 3)["var"] == pytest.approx(float(x[1, 2, 3]) ** 2)
    huge = make_tensor(1, 1, 2, dtype=torch.float32) * 1e30
    assert torch.isfinite(normalize(huge, "dyt").group_var).all()  # x² saturates at the dtype's largest value
    with pytest.raises(ValueError, match=r"inf at \[b, s, f\] = \[0, 0, 1\]"):
        normalize(torch.tensor([[[1.0, float("inf")]]]), "dyt")


def test_tanh_fits_a_spread_of_token_scales_better_than_a_line():
    from norm_viz.core.extra_norms import fit_tanh_alpha, line_fit_error, tanh_fit

    x, y = dyt_lab.ln_scatter(64, 32, spread=1.5, seed=0)
    alpha, _scale = fit_tanh_alpha(x, y)
    assert tanh_fit(x, y, alpha)[1] < 0.8 * line_fit_error(x, y)
    x0, y0 = dyt_lab.ln_scatter(64, 32, spread=0.0, seed=0)
    a0, _ = fit_tanh_alpha(x0, y0)
    assert tanh_fit(x0, y0, a0)[1] > 0.9 * line_fit_error(x0, y0)  # tokens alike: LayerNorm is nearly linear


# --- custom axes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("axes", "centered", "groups", "expected"),
    [
        (("feature",), True, 1, {"layernorm", "groupnorm_token"}),
        (("feature",), False, 1, {"rmsnorm"}),
        (("batch", "sequence"), True, 1, {"batchnorm", "masked_batchnorm"}),
        (("batch", "sequence"), False, 1, {"powernorm"}),
        (("sequence",), True, 1, {"instancenorm"}),
        (("sequence", "feature"), True, 2, {"groupnorm"}),
        (("sequence", "feature"), True, 1, {"layernorm_sample", "groupnorm"}),
        (("feature",), True, 4, {"groupnorm_token"}),
        (("batch",), True, 1, set()),
    ],
)
def test_custom_axes_find_exactly_the_equal_named_norms(axes, centered, groups, expected):
    x = make_tensor(3, 5, 8, kind="token_like", seed=5)
    r = custom_axes.custom_normalize(x, axes, centered, groups)
    assert {m.key for m in custom_axes.match_norms(x, r) if m.equal} == expected


@settings(max_examples=40, deadline=None)
@given(
    axes=st.sets(st.sampled_from(["batch", "sequence", "feature"])),
    centered=st.booleans(),
    seed=st.integers(0, 1000),
    gi=st.integers(0, 3),
)
def test_custom_statistics_equal_direct_reductions(axes, centered, seed, gi):
    x = make_tensor(2, 3, 4, seed=seed, dtype=torch.float64)
    g = [1, 2, 4, 1][gi]
    r = custom_axes.custom_normalize(x, tuple(axes), centered, g)
    counts = torch.bincount(r.group_id.reshape(-1))
    assert bool((counts == r.group_size).all()) and r.n_groups * r.group_size == x.numel()
    for gid in range(r.n_groups):
        vals = x[r.group_id == gid]
        if centered:
            assert math.isclose(float(r.mean[gid]), float(vals.mean()), abs_tol=1e-12)
            assert math.isclose(float(r.var[gid]), float(vals.var(unbiased=False)), abs_tol=1e-12)
        else:
            assert math.isclose(float(r.var[gid]), float(vals.square().mean()), rel_tol=1e-12)


def test_same_partition_ignores_labels():
    a = torch.tensor([0, 0, 1, 1, 2])
    assert custom_axes.same_partition(a, torch.tensor([5, 5, 3, 3, 9]))
    assert not custom_axes.same_partition(a, torch.tensor([0, 0, 0, 1, 2]))
    assert not custom_axes.same_partition(a, torch.tensor([0, 1, 2, 3, 4]))


# --- equivalences ----------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(b=st.integers(2, 6), s=st.integers(2, 6), f=st.integers(2, 8), seed=st.integers(0, 1000), data=st.data())
def test_equivalences_hold_and_their_broken_versions_do_not(b, s, f, seed, data):
    k = data.draw(st.integers(2, b))
    x = make_tensor(b, s, f, kind="token_like", seed=seed, dtype=torch.float64)
    eqs = equivalences.equivalences(x, k)
    assert len(eqs) == 5
    for e in eqs:
        assert e.holds and e.max_abs_diff < 1e-9, e
        assert e.broken_diff > 1e-3, e  # each check could fail: the broken condition gives a visible difference


def test_sync_batchnorm_equals_torch_batchnorm_on_the_global_batch_with_uneven_shards():
    x = make_tensor(5, 3, 4, seed=9)
    synced, local = equivalences.sync_batchnorm(x, 3)  # shards of 2, 2 and 1 sequences
    with torch.no_grad():
        bn = nn.BatchNorm1d(4)(x.transpose(1, 2)).transpose(1, 2)
    torch.testing.assert_close(synced, bn, atol=1e-5, rtol=1e-5)
    assert float((local - bn).abs().max()) > 0.01
    with pytest.raises(ValueError, match="between 1 and the batch size 5"):
        equivalences.sync_batchnorm(x, 6)


def test_equivalences_refuse_too_small_tensors():
    with pytest.raises(ValueError, match="at least 2 tokens"):
        equivalences.equivalences(make_tensor(3, 1, 4))
    with pytest.raises(ValueError, match="at least 2 sequences"):
        equivalences.equivalences(make_tensor(1, 3, 4))


# --- geometry --------------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(
    f=st.sampled_from([2, 3]),
    n=st.integers(2, 80),
    seed=st.integers(0, 1000),
    shift=st.floats(-5, 5),
    stretch=st.floats(0.2, 5),
)
def test_geometry_layernorm_and_rmsnorm_land_on_the_sphere_of_radius_sqrt_f(f, n, seed, shift, stretch):
    geo = geometry.geometry(geometry.token_cloud(n, f, seed, shift, stretch), eps=0.0)
    root = math.sqrt(f)
    torch.testing.assert_close(geo.norms("layernorm"), torch.full((n,), root, dtype=torch.float64), atol=1e-9, rtol=0)
    torch.testing.assert_close(geo.norms("rmsnorm"), torch.full((n,), root, dtype=torch.float64), atol=1e-9, rtol=0)
    assert float(geo.along_ones("layernorm").abs().max()) < 1e-9  # on the plane ⟂ (1, …, 1)
    assert float(geo.along_ones("centered").abs().max()) < 1e-9
    # BatchNorm standardizes each axis across the tokens instead
    bn = geo.batchnorm
    torch.testing.assert_close(bn.mean(0), torch.zeros(f, dtype=torch.float64), atol=1e-9, rtol=0)
    torch.testing.assert_close(bn.std(0, correction=0), torch.ones(f, dtype=torch.float64), atol=1e-6, rtol=0)


def test_batchnorm_does_not_put_tokens_on_a_sphere():
    geo = geometry.geometry(geometry.token_cloud(60, 3, 0, 2.0, 2.0))
    lengths = geo.norms("batchnorm")
    assert float(lengths.max() - lengths.min()) > 1.0


def test_geometry_refuses_other_feature_counts():
    with pytest.raises(ValueError, match="F = 2 or 3"):
        geometry.token_cloud(10, 4)


# --- fluctuation -----------------------------------------------------------------------------------


def test_fluctuation_shrinks_with_batch_size_and_is_deterministic():
    a = fluctuation.fluctuation("token_like", (2, 8, 32), n_batches=48, sequence=8, features=6, seed=1)
    b = fluctuation.fluctuation("token_like", (2, 8, 32), n_batches=48, sequence=8, features=6, seed=1)
    torch.testing.assert_close(a.var_spread, b.var_spread)
    for attr in ("mean_spread", "var_spread", "mean_distance", "var_distance"):
        v = getattr(a, attr)
        assert bool((v[1:] < v[:-1]).all()), attr
    # a mean of n roughly independent standardized values spreads like 1/√n
    full = fluctuation.fluctuation(
        "normal", (4, 16), n_batches=200, sequence=8, features=8, seed=2, variable_lengths=False
    )
    expected = 1 / full.tokens_per_batch.sqrt()
    torch.testing.assert_close(full.mean_spread, expected.to(full.mean_spread.dtype), rtol=0.2, atol=0)


def test_batch_statistics_are_the_masked_batch_mean_and_biased_variance():
    """measure() sums each batch in one reused buffer (padding zeroed); the same batches drawn again and measured the
    plain way (the real tokens' rows, torch.var_mean as BatchNorm's training step normalizes) give the same numbers."""
    g0 = torch.Generator().manual_seed(5)
    data = torch.randn(12, 5, 3, generator=g0, dtype=torch.float64) * 3 + 1
    mask = torch.arange(5)[None, :] < torch.randint(1, 6, (12,), generator=g0)[:, None]
    got = fluctuation.measure(data, mask, "x", (2, 7), 6, torch.Generator().manual_seed(9))
    rows = data[mask]
    z = (data - rows.mean(0)) / rows.var(0, correction=0).sqrt()
    g = torch.Generator().manual_seed(9)
    for j, bs in enumerate((2, 7)):
        stats = []
        for _ in range(6):
            idx = torch.randperm(12, generator=g)[:bs]
            bn = torch.nn.BatchNorm1d(3, momentum=None, dtype=torch.float64)  # momentum None: running = batch stats
            bn(z[idx][mask[idx]])
            n = int(mask[idx].sum())
            stats.append((bn.running_mean.clone(), bn.running_var.clone() * (n - 1) / n, n))  # unbiased -> biased
        m = torch.stack([s[0] for s in stats])
        v = torch.stack([s[1] for s in stats])
        assert float(got.mean_spread[j]) == pytest.approx(float(m.std(0).mean()), rel=1e-6)  # kept as float32
        assert float(got.var_spread[j]) == pytest.approx(float(v.std(0).mean()), rel=1e-6)
        assert float(got.tokens_per_batch[j]) == pytest.approx(sum(s[2] for s in stats) / 6)
        if j == 0:
            torch.testing.assert_close(got.example_means, m.float())


def test_variable_lengths_mean_fewer_tokens_and_more_fluctuation():
    kw = {"n_batches": 64, "sequence": 16, "features": 8, "seed": 3}
    var = fluctuation.fluctuation("token_like", (4,), variable_lengths=True, **kw)
    full = fluctuation.fluctuation("token_like", (4,), variable_lengths=False, **kw)
    img = fluctuation.fluctuation("image_like", (4,), variable_lengths=True, **kw)
    assert float(var.tokens_per_batch[0]) < float(full.tokens_per_batch[0]) == 64 == float(img.tokens_per_batch[0])
    assert float(var.var_spread[0]) > float(full.var_spread[0])
    assert var.kurtosis > img.kurtosis


# --- ε and dtype -----------------------------------------------------------------------------------


def test_eps_inside_and_outside_the_square_root():
    eps = 1e-4
    run = eps_dtype.eps_placement(eps)
    r = run.rms.double()
    torch.testing.assert_close(run.inside, r / torch.sqrt(r * r + eps))
    torch.testing.assert_close(run.outside, r / (r + eps))
    assert abs(float(run.inside[-1]) - float(run.outside[-1])) < 1e-3  # large tokens: the same
    assert float(run.outside[0]) / float(run.inside[0]) > 5  # tiny tokens: very different
    assert math.sqrt(eps) < run.first_close(0.01) < 100


def test_low_precision_loses_near_constant_tokens():
    f32, f16, bf16 = (eps_dtype.dtype_lab(d, noise=0.01) for d in ("float32", "float16", "bfloat16"))
    at = int((f32.offsets >= 100).nonzero()[0])
    assert float(f32.torch_error[at]) < 0.01 < float(f16.torch_error[at])
    assert float(bf16.torch_error[at]) > 0.5
    assert int(f16.distinct[-1]) < int(f32.distinct[-1])
    assert float(f32.naive_error[-1]) > float(f32.torch_error[-1])  # the one-pass variance is worse
    with pytest.raises(ValueError, match="unknown dtype"):
        eps_dtype.dtype_lab("float8")


def test_zero_variance_needs_eps():
    assert not eps_dtype.zero_variance(3.0, 4, 0.0).finite
    z = eps_dtype.zero_variance(3.0, 4, 1e-5)
    assert z.finite and z.output == (0.0, 0.0, 0.0, 0.0)
    sd, out = eps_dtype.damping(1e-2, torch.tensor([1e-3, 0.1, 10.0]))
    torch.testing.assert_close(out, sd / torch.sqrt(sd.square() + 1e-2), rtol=1e-6, atol=1e-9)


# --- Derf ------------------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(alpha=st.floats(-5, 5, allow_nan=False), shift=st.floats(-2, 2, allow_nan=False), seed=st.integers(0, 1000))
def test_derf_is_elementwise_erf(alpha, shift, seed):
    x = make_tensor(2, 3, 5, seed=seed, dtype=torch.float64) * 3
    w, bias = torch.linspace(0.5, 2, 5, dtype=torch.float64), torch.linspace(-1, 1, 5, dtype=torch.float64)
    r = normalize(x, "derf", alpha=alpha, shift=shift, weight=w, bias=bias)
    erf = np.vectorize(math.erf)  # the standard library's erf: independent of torch
    expected = w.numpy() * erf(alpha * x.numpy() + shift) + bias.numpy()
    np.testing.assert_allclose(r.output.numpy(), expected, rtol=1e-12, atol=1e-12)
    assert r.n_groups == x.numel() and r.group_size == 1


def test_derf_module_is_the_row():
    from norm_viz.core.extra_norms import Derf

    m = Derf(5, alpha=0.7, shift=0.3)
    with torch.no_grad():
        m.weight.copy_(torch.linspace(0.5, 2, 5))
        m.bias.copy_(torch.linspace(-1, 1, 5))
    x = make_tensor(2, 3, 5, seed=3)
    r = normalize(x, "derf", alpha=0.7, shift=0.3, weight=m.weight.detach(), bias=m.bias.detach())
    torch.testing.assert_close(m(x).detach(), r.output)
    m(x).sum().backward()
    assert m.alpha.grad is not None and m.shift.grad is not None, "α and s learn"


def test_derf_saturates_faster_than_dyt():
    x = torch.tensor([[[0.5, 1.0, 2.0]]])
    d, t = normalize(x, "derf", alpha=1.0).normalized, normalize(x, "dyt", alpha=1.0).normalized
    assert bool((d > t).all()), "erf(x) > tanh(x) for x > 0"


@pytest.mark.parametrize("shift", [float("nan"), float("inf"), "1", True])
def test_derf_shift_is_checked(shift):
    with pytest.raises(ValueError, match="Derf's shift must be a finite number"):
        normalize(make_tensor(2, 3, 4), "derf", shift=shift)
