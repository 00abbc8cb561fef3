"""The walkthrough's numbers: every step's formula shows the package's numbers, recomputed from the group's values;
the one per-cell derivation (core.formulas) and the walkthrough page's view."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from norm_viz.classroom.walkthrough import (
    LAST_STEP,
    STEP_KEYS,
    WalkthroughConfig,
    group_values,
    move,
    step_label,
    steps,
    takeaway,
    tex,
    walkthrough_view,
)
from norm_viz.core import formulas
from norm_viz.core.compute import normalize, reference
from norm_viz.core.data import make_tensor
from norm_viz.core.table import NORMS, lit_box, valid_group_counts


@st.composite
def cases(draw):
    b, s, f = draw(st.integers(1, 4)), draw(st.integers(2, 5)), draw(st.integers(1, 8))
    key = draw(st.sampled_from(sorted(NORMS)))
    groups = draw(st.sampled_from(valid_group_counts(f)))
    cell = (draw(st.integers(0, b - 1)), draw(st.integers(0, s - 1)), draw(st.integers(0, f - 1)))
    mask = None
    if NORMS[key].masked:
        lengths = [draw(st.integers(1, s)) for _ in range(b)]
        mask = torch.arange(s)[None, :] < torch.tensor(lengths)[:, None]
        if int(mask.sum()) < 2:
            mask[0, :2] = True
    gamma = draw(st.sampled_from([1.0, 2.5, -0.5]))
    beta = draw(st.sampled_from([0.0, 0.75]))
    seed = draw(st.integers(0, 1000))
    return (b, s, f), key, groups, cell, mask, gamma, beta, seed


@settings(max_examples=60, deadline=None)
@given(cases())
def test_steps_show_the_numbers_of_the_computation(case):
    shape, key, groups, cell, mask, gamma, beta, seed = case
    x = make_tensor(*shape, seed=seed)
    if key in ("batchnorm", "instancenorm") and (shape[0] * shape[1] if key == "batchnorm" else shape[1]) < 2:
        return
    r = normalize(x, key, groups=groups, mask=mask, weight=gamma, bias=beta)
    v = r.cell(*cell)
    vals = group_values(r, cell)
    out = {s.key: s for s in steps(r, cell)}
    assert tuple(out) == STEP_KEYS
    # the group the walkthrough lights is the table's box (all of it when nothing is padding)
    (b0, b1), (s0, s1), (f0, f1) = lit_box(key, shape, cell, r.groups)
    if mask is None:
        assert vals.numel() == (b1 - b0) * (s1 - s0) * (f1 - f0)
    assert f"n = {vals.numel()}" in out["group"].latex[0]
    # μ and σ² recomputed from the lit values in float64 agree with the kernel's statistics
    if NORMS[key].centered:
        mu = float(vals.mean())
        assert math.isclose(mu, v["mean"], rel_tol=1e-4, abs_tol=1e-5)
        assert math.isclose(float(vals.var(correction=0)), v["var"], rel_tol=1e-3, abs_tol=1e-5)
        assert out["mean"].latex[-1].endswith(f"= {tex(v['mean'])}")
    else:
        assert math.isclose(float(vals.square().mean()), v["var"], rel_tol=1e-4, abs_tol=1e-6)
    assert out["normalized"].latex[-1].endswith(f"= {tex(v['x_hat'])}")
    if NORMS[key].reduce:
        expected_hat = (v["x"] - (v["mean"] if NORMS[key].centered else 0.0)) / math.sqrt(v["var"] + r.eps)
    elif key == "derf":  # Derf: no statistic, x̂ = erf(αx + s), s = 0 by default
        expected_hat = math.erf(r.alpha * v["x"])
    else:  # DyT: no statistic, x̂ = tanh(αx)
        expected_hat = math.tanh(r.alpha * v["x"])
    assert math.isclose(v["x_hat"], expected_hat, rel_tol=1e-3, abs_tol=1e-4)
    # y = γ x̂ + β, and x̂ is the torch.nn module's output for this cell
    ref = reference(x, key, groups=r.groups, mask=mask)
    assert math.isclose(v["x_hat"], float(ref.detach()[cell]), rel_tol=1e-3, abs_tol=1e-4)
    assert out["output"].latex[0].endswith(f"= {tex(v['y'])}")
    assert math.isclose(v["y"], gamma * v["x_hat"] + beta, rel_tol=1e-4, abs_tol=1e-5)


def test_rmsnorm_skips_the_mean_and_the_takeaway_counts_the_sharers():
    r = normalize(make_tensor(2, 3, 4, seed=1), "rmsnorm")
    out = {s.key: s for s in steps(r, (1, 2, 3))}
    assert "not used" in out["mean"].latex[0]
    assert "mean square" in out["variance"].text
    assert "shared with 3 other cells" in takeaway(r, (1, 2, 3))
    bn = normalize(make_tensor(2, 3, 4, seed=1), "batchnorm")
    assert "shared with 5 other cells" in takeaway(bn, (0, 0, 0))


def test_masked_batchnorm_leaves_padding_out_of_the_group():
    x = make_tensor(2, 4, 3, seed=2)
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]], dtype=torch.bool)
    r = normalize(x, "masked_batchnorm", mask=mask)
    vals = group_values(r, (0, 0, 1))
    assert vals.numel() == 5
    assert torch.allclose(vals, x[mask][:, 1].double())
    assert "3 padding tokens (9 cells)" in steps(r, (0, 0, 1))[1].text


def test_tex_writes_powers_of_ten():
    assert tex(1e-5) == "10^{-5}"
    assert tex(2.5e-5) == r"2.5 \times 10^{-5}"
    assert tex(0.125) == "0.125"


# --- core.formulas: the one per-cell derivation ---------------------------------------------------


@pytest.mark.parametrize("key", sorted(NORMS))
def test_formulas_show_the_numbers_of_the_cell(key):
    x = make_tensor(2, 4, 6, seed=3)
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]], dtype=torch.bool) if NORMS[key].masked else None
    r = normalize(x, key, groups=2 if NORMS[key].uses_groups else None, mask=mask, weight=1.5, bias=-0.25)
    v = r.cell(1, 1, 4)
    lines = formulas.norm_derivation(v, r.eps, r.norm, alpha=r.alpha)
    squash = not NORMS[key].reduce
    assert len(lines) == (3 if squash else 4)
    assert lines[0] == f"x = {tex(v['x'])}"
    assert lines[-1].endswith(f"= {tex(v['y'])}") and rf"{tex(1.5)} \cdot" in lines[-1] and "+ (-0.25)" in lines[-1]
    if squash:
        assert lines[1] == (
            rf"\hat x = \tanh(\alpha x) = \tanh({tex(r.alpha)} \cdot {tex(v['x'], paren=True)}) = {tex(v['x_hat'])}"
        )
        return
    assert (r"\mu = " in lines[1]) == NORMS[key].centered and rf"\varepsilon = {tex(r.eps)}" in lines[1]
    assert lines[2].startswith(r"\begin{aligned}\hat x &= ") and lines[2].endswith(
        rf"&= {tex(v['x_hat'])}\end{{aligned}}"
    )
    flat = formulas.normalized_line(v, r.eps, centered=NORMS[key].centered)
    assert flat.endswith(f"= {tex(v['x_hat'])}") and rf"\sqrt{{{tex(v['var'])} + {tex(r.eps)}}}" in flat
    if NORMS[key].centered:
        assert f"{tex(v['x'])} - {tex(v['mean'], paren=True)}" in flat


def test_formulas_name_the_statistic_and_need_alpha_for_tanh():
    v = {"x": 2.0, "mean": 0.5, "var": 4.0, "x_hat": 1.0, "gamma": 1.0, "beta": 0.0, "y": 1.0}
    assert formulas.statistics_line(v, 1e-5, centered=False, var_symbol=formulas.PSI_SQUARE).startswith(r"\psi^2 = 4")
    assert formulas.statistics_line(v, 1e-5) == r"\mu = 0.5 \qquad \sigma^2 = 4 \qquad \varepsilon = 10^{-5}"
    assert (
        formulas.normalized_line(v, 0.0)
        == r"\hat x = \frac{x - \mu}{\sqrt{\sigma^2 + \varepsilon}} = \frac{2 - 0.5}{\sqrt{4 + 0}} = 1"
    )
    with pytest.raises(ValueError, match="needs α"):
        formulas.norm_derivation(v, 1e-5, NORMS["dyt"])


# --- the walkthrough's view ---------------------------------------------------------------------------


def test_walkthrough_view_lights_the_group_from_its_step_on_and_gives_the_takeaway_last():
    r = normalize(make_tensor(2, 3, 4, seed=1), "layernorm")
    views = [walkthrough_view(r, (1, 2, 3), WalkthroughConfig(i)) for i in range(LAST_STEP + 1)]
    assert [v.picture for v in views] == [None, None] + ["line"] * (LAST_STEP - 1)  # beside the cube, from μ on
    assert views[0].cube_title == "x: 2 × 3 × 4, the chosen cell (1, 2, 3)" and not views[0].show_group
    assert views[1].cube_title is None and all(v.show_group for v in views[1:])
    assert [v.takeaway is not None for v in views] == [False] * LAST_STEP + [True]
    assert views[-1].takeaway == takeaway(r, (1, 2, 3)) and views[-1].last and views[0].first
    assert views[2].heading == f"Step 3 of {len(STEP_KEYS)}: Its mean μ"
    assert int(views[2].group_mask.sum()) == 4
    with pytest.raises(ValueError, match="steps 0 to 6"):
        walkthrough_view(r, (0, 0, 0), WalkthroughConfig(LAST_STEP + 1))


def test_moves_stay_within_the_steps():
    assert move(0, -1) == 0 and move(0, 1) == 1 and move(LAST_STEP, 1) == LAST_STEP
    assert step_label(2) == "3. Its mean μ"
