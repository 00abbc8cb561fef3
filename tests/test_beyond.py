"""The 'beyond the standard norms' modules: each page's one view function, and its takeaway following the data
(inputs on both sides of every verdict). The experiments themselves are tested in test_extra_norms.py."""

from __future__ import annotations

import math

import pytest
import torch

from norm_viz.beyond import custom_axes, dyt_lab, eps_dtype, equivalences, fluctuation, geometry, powernorm_lab
from norm_viz.beyond import figures as figures_beyond
from norm_viz.core.data import make_tensor
from norm_viz.core.extra_norms import PowerRun, powernorm_step
from norm_viz.core.numbers import tex
from norm_viz.core.table import NORMS

X = make_tensor(4, 6, 8, "normal", 0)  # the sidebar's default tensor

# --- custom axes -----------------------------------------------------------------------------------


def match(key: str, same_groups: bool, diff: float | None) -> custom_axes.Match:
    return custom_axes.Match(key, NORMS[key].label, same_groups, True, diff)


@pytest.mark.parametrize(
    ("matches", "expected"),
    [
        ([match("layernorm", True, 1e-7), match("rmsnorm", True, 0.3)], "your choice **is** LayerNorm (max"),
        ([match("layernorm", True, 1e-7), match("groupnorm_token", True, 0.0)], "**is** LayerNorm = GroupNorm per"),
        ([match("layernorm", True, 0.25), match("batchnorm", False, 2.0)], "LayerNorm has the same groups"),
        ([match("layernorm", True, 0.25), match("rmsnorm", True, 0.5)], "LayerNorm, RMSNorm have the same groups"),
        ([match("layernorm", False, 1e-7), match("batchnorm", False, None)], "no row of the table has these groups"),
    ],
)
def test_custom_takeaway_follows_the_matches(matches, expected):
    assert expected in custom_axes.custom_takeaway(matches)


def test_custom_view_names_the_norm_and_derives_the_chosen_cell():
    view = custom_axes.custom_view(X, custom_axes.CustomConfig(cb=1, cs=2, cf=3))
    assert "**is** LayerNorm" in view.takeaway and view.warning is None
    assert view.summary == "Averaging over **feature** gives **24 groups of 8 cells**."
    assert view.group == int(view.result.group_id[1, 2, 3])
    assert view.latex[-1].endswith(f"= {tex(float(view.result.output[1, 2, 3]))}")
    assert view.latex[0].startswith("x = ") and len(view.latex) == 3  # the value, the statistics, x̂: one line each
    assert r"\mu = " in view.latex[1] and r"\varepsilon = 10^{-5}" in view.latex[1]
    assert set(view.table) == {"norm", "same groups", "same centering", "max |Δ| of outputs", "equal?"}
    assert all(len(col) == len(NORMS) for col in view.table.values())
    rms = custom_axes.custom_view(X, custom_axes.CustomConfig(centered=False))
    assert "**is** RMSNorm" in rms.takeaway and r"\overline{x^2}" in rms.latex[1]


def test_custom_view_warns_without_axes_and_ignores_groups_without_features():
    none = custom_axes.custom_view(X, custom_axes.CustomConfig(feature=False, groups=4))
    assert none.warning is not None and "leaves 0 everywhere" in none.warning
    assert none.result.groups == 1 and none.result.n_groups == X.numel()
    assert none.show_stats  # 192 bars
    big = custom_axes.custom_view(make_tensor(4, 16, 16), custom_axes.CustomConfig(feature=False))
    assert not big.show_stats and big.stats_note.startswith("1024 statistics are too many to draw")
    rms = custom_axes.custom_view(X, custom_axes.CustomConfig(feature=False, centered=False))
    assert rms.warning is not None and "just ± 1" in rms.warning
    grouped = custom_axes.custom_view(X, custom_axes.CustomConfig(groups=4))
    assert grouped.show_stats and "in 4 feature groups" in grouped.summary


def test_custom_view_refuses_a_cell_outside_the_tensor():
    with pytest.raises(ValueError, match="outside the tensor: b < 4"):
        custom_axes.custom_view(X, custom_axes.CustomConfig(cb=4))


# --- equivalences ----------------------------------------------------------------------------------


def eq(name: str, held: float, broken: float) -> equivalences.Equivalence:
    return equivalences.Equivalence(name, "a", "b", "c", held, "d", broken)


def test_equivalences_takeaway_follows_which_identities_hold():
    ok = equivalences.equivalences_takeaway([eq("A", 1e-7, 0.5), eq("B", 0.0, 2.0)])
    assert ok.startswith("all 2 identities hold") and "from 0.5 to 2" in ok and "coincide" not in ok
    failed = equivalences.equivalences_takeaway([eq("A", 1e-7, 0.5), eq("B", 0.1, 2.0)])
    assert failed.startswith("1 identities fail on this tensor: B")
    same = equivalences.equivalences_takeaway([eq("A", 1e-7, 1e-6), eq("B", 0.0, 2.0)])
    assert same.endswith("even the broken versions coincide for: A.")


def test_equivalences_view_on_the_default_tensor_and_devices_clamped_to_the_batch():
    view = equivalences.equivalences_view(X, equivalences.EquivalencesConfig(devices=2))
    assert len(view.equivalences) == 5 and all(e.holds for e in view.equivalences)
    assert "all 5 identities hold" in view.takeaway and "torch.float32" in view.takeaway
    assert view.table["identity"][0] == "GroupNorm(G = 1) = LayerNorm over (sequence, features)"
    many = equivalences.equivalences_view(X, equivalences.EquivalencesConfig(devices=99))
    assert "SyncBN over 4 devices" in [e.left for e in many.equivalences]
    one = equivalences.equivalences_view(X, equivalences.EquivalencesConfig(devices=1))
    assert "coincide for: SyncBN" in one.takeaway


@pytest.mark.parametrize(("shape", "why"), [((4, 1, 8), "at least 2 tokens"), ((1, 6, 8), "at least 2 sequences")])
def test_equivalences_view_says_which_size_is_too_small(shape, why):
    with pytest.raises(ValueError, match=why) as e:
        equivalences.equivalences_view(make_tensor(*shape), equivalences.EquivalencesConfig())
    b, s, f = shape
    assert f"on a {b} × {s} × {f} tensor" in str(e.value) and "Change the sizes in the sidebar" in str(e.value)


# --- geometry --------------------------------------------------------------------------------------


def test_geometry_takeaway_follows_the_norm_and_the_features():
    stds = (1.0, 1.0)
    assert "two points" in geometry.geometry_takeaway("layernorm", 2, 1.41, 1.42, 1.414, 1e-9, stds)
    assert "a circle" in geometry.geometry_takeaway("layernorm", 3, 1.73, 1.73, 1.732, 1e-9, stds)
    rms = geometry.geometry_takeaway("rmsnorm", 3, 1.73, 1.73, 1.732, 0.8, stds)
    assert "anywhere on the sphere" in rms and "0.80" in rms
    bn = geometry.geometry_takeaway("batchnorm", 3, 0.2, 3.1, 1.5, 0.8, (1.0, 0.999, 1.0))
    assert "from 0.20 to 3.10: no sphere" in bn and "1.000, 0.999, 1.000" in bn


@pytest.mark.parametrize("features", [2, 3])
@pytest.mark.parametrize("norm", list(geometry.GEOMETRY_NORMS))
def test_geometry_view_measures_the_cloud(norm, features):
    view = geometry.geometry_view(geometry.GeometryConfig(features=features, norm=norm, tokens=40))
    assert view.radius == pytest.approx(math.sqrt(features))
    assert len(view.feature_stds) == features
    if norm == "batchnorm":
        assert view.longest - view.shortest > 0.1 and view.feature_stds == pytest.approx((1.0,) * features, abs=1e-3)
    else:
        assert view.shortest == pytest.approx(view.radius, abs=1e-3) and view.longest == pytest.approx(view.radius)
    assert (view.off_plane < 1e-6) == (norm == "layernorm")
    assert view.takeaway.startswith(f"after {NORMS[norm].label}")


def test_geometry_view_refuses_other_norms():
    with pytest.raises(ValueError, match="the geometry view shows layernorm, rmsnorm, batchnorm"):
        geometry.geometry_view(geometry.GeometryConfig(norm="groupnorm"))


def test_geometry_figure_draws_the_centred_cloud_for_layernorm_only():
    geo = geometry.geometry(geometry.token_cloud(20, 3))
    names = {n: [t.name for t in figures_beyond.geometry_figure(geo, n).data] for n in geometry.GEOMETRY_NORMS}
    assert "centered (x − mean): on the plane" in names["layernorm"]
    assert not any("centered" in (t or "") for n in ("rmsnorm", "batchnorm") for t in names[n])
    assert "after BatchNorm" in names["batchnorm"]


# --- fluctuation -----------------------------------------------------------------------------------


def test_parse_sizes():
    assert fluctuation.parse_sizes("8, 2;4 2") == (2, 4, 8)
    for bad, msg in (("abc", "whole numbers"), ("0, 500", "between 1 and 256"), (" , ", "at least one")):
        with pytest.raises(ValueError, match=msg):
            fluctuation.parse_sizes(bad)


@pytest.mark.parametrize(
    ("ratio", "expected"),
    [
        (2.0, "token-like batch σ² fluctuates 2.0× more than image-like"),
        (0.5, "image-like batch σ² fluctuates 2.0× more than token-like"),
        (1.05, "batch σ² fluctuates about as much for both kinds (1.05×)"),
    ],
)
def test_compare_names_the_kind_that_fluctuates_more(ratio, expected):
    assert fluctuation.compare(ratio, "σ²") == expected


def run(
    kind: str, sizes: tuple[int, ...], var_spread: list[float], mean_spread: list[float]
) -> fluctuation.Fluctuation:
    t = torch.tensor
    z = t([0.0] * len(sizes))
    return fluctuation.Fluctuation(kind, sizes, 3.0, t(mean_spread), t(var_spread), z, z, z, torch.zeros(2, 1))


def test_fluctuation_takeaway_follows_the_spreads():
    tok = run("token_like", (2, 32), [0.9, 0.1], [0.3, 0.05])
    img = run("image_like", (2, 32), [0.3, 0.05], [0.6, 0.1])
    text = fluctuation.fluctuation_takeaway(tok, img)
    assert text.startswith("at batch size 2, token-like batch σ² fluctuates 3.0× more than image-like and image-like")
    assert "shrinks the token-like σ² spread 9.0×" in text
    single = fluctuation.fluctuation_takeaway(
        run("token_like", (4,), [0.3], [0.3]), run("image_like", (4,), [0.3], [0.3])
    )
    assert single == (
        "at batch size 4, batch σ² fluctuates about as much for both kinds (1.00×) and batch μ fluctuates about as "
        "much for both kinds (1.00×)."
    )


def test_fluctuation_view_measures_both_kinds_and_explains_bad_sizes():
    cfg = fluctuation.FluctuationConfig(sizes="4, 2", batches=8, sequence=4, features=3)
    view = fluctuation.fluctuation_view(cfg)
    assert [r.kind for r in view.runs] == list(fluctuation.KINDS) and view.sizes == (2, 4)
    assert "smallest batch, 2 sequences" in view.drivers and view.takeaway.startswith("at batch size 2,")
    with pytest.raises(ValueError, match="between 1 and 256.*Example: 2, 4, 8, 16, 32"):
        fluctuation.fluctuation_view(fluctuation.FluctuationConfig(sizes="300"))


# --- ε and dtype -----------------------------------------------------------------------------------


def test_tex_writes_small_numbers_as_powers():
    """numbers.tex (which replaced eps_dtype's own tex_num) never rounds a small ε to 0."""
    assert tex(1e-8) == "10^{-8}"
    assert tex(2.5e-7) == r"2.5 \times 10^{-7}"
    assert tex(1e-30) == "10^{-30}"
    assert tex(0.1) == "0.1"


def test_breaks_at_follows_the_error_curve():
    offsets = torch.tensor([1.0, 10.0, 100.0])
    ok = eps_dtype.DtypeRun("x", offsets, torch.tensor([0.0, 0.01, 0.05]), torch.zeros(3), torch.ones(3))
    bad = eps_dtype.DtypeRun("x", offsets, torch.tensor([0.0, 0.5, math.inf]), torch.zeros(3), torch.ones(3))
    assert eps_dtype.breaks_at(ok, "torch_error") == "never (c ≤ 10⁴)"
    assert eps_dtype.breaks_at(bad, "torch_error") == "c ≈ 10"


@pytest.mark.parametrize("eps", ["1e-08", "1e-05", "0.1"])
def test_eps_dtype_view_follows_eps(eps):
    view = eps_dtype.eps_dtype_view(eps_dtype.EpsDtypeConfig(eps=eps))
    e = float(eps)
    assert view.eps == e and f"with ε = {e:g}," in view.takeaway
    # a token whose std is √ε comes out with std √(ε / 2ε) = 0.707, whatever ε is
    assert "comes out with std 0.707 instead of 1" in view.takeaway
    assert "NaN without ε and exactly 0 with it" in view.takeaway
    assert r"\text{NaN}" in view.zero_latex and tex(e) in view.zero_latex
    assert set(view.damping_curves) == {*eps_dtype.DAMPING_EPS, e}
    assert list(view.table) == list(eps_dtype.DTYPES) and view.table["float32"]["distinct values left at c = 10⁴"]
    assert view.agree_from > math.sqrt(e) / 10  # the placements differ up to about √ε


def test_eps_dtype_view_half_precision_breaks_earlier_than_float32():
    view = eps_dtype.eps_dtype_view(eps_dtype.EpsDtypeConfig(noise=0.01))
    f32, f16 = (next(r for r in view.runs if r.dtype == d) for d in ("float32", "float16"))
    assert eps_dtype.breaks_at(f16, "torch_error") in view.takeaway
    assert view.table["float16"]["F.layer_norm error > 0.1 from"] != "never (c ≤ 10⁴)"
    assert float(f16.torch_error[-1]) > float(f32.torch_error[-1])
    with pytest.raises(ValueError, match="unknown ε"):
        eps_dtype.eps_dtype_view(eps_dtype.EpsDtypeConfig(eps="2"))


# --- PowerNorm -------------------------------------------------------------------------------------


def power_run(psi2: list[float], divisors: list[float], warmup: int) -> PowerRun:
    """A PowerRun whose one feature had these batch ψ² and divisors (the x values are made to match)."""
    steps = []
    for p, d in zip(psi2, divisors, strict=True):
        st = powernorm_step(torch.full((1, 1, 1), math.sqrt(p)), running=torch.tensor([d]), warmup=False)
        steps.append(st)
    return PowerRun(tuple(steps), warmup)


def test_powernorm_takeaway_follows_the_warmup():
    run = power_run([1.0, 3.0, 1.0, 3.0], [1.0, 1.1, 1.0, 1.1], warmup=1)
    text = powernorm_lab.powernorm_takeaway(run, 0)
    assert text.startswith("over 4 batches, feature 0's batch ψ² varied by") and "× steadier" in text
    assert "every step here is in warm-up" in powernorm_lab.powernorm_takeaway(PowerRun(run.steps, 4), 0)
    assert "every step here is in warm-up" in powernorm_lab.powernorm_takeaway(PowerRun(run.steps, 3), 0)


@pytest.mark.parametrize("step", [2, 9])
def test_powernorm_view_checks_the_step_and_explains_the_divisor(step):
    cfg = powernorm_lab.PowerNormConfig(warmup=4, step=step, feature=3, scaling_groups=2)
    view = powernorm_lab.powernorm_view(cfg)
    st = view.step
    assert view.index == step - 1 and view.check_ok and view.loop_diff < 1e-4
    assert st.used_running == (step > 4) and view.warning is None
    assert ("exactly 1 up to ε" in view.mean_square) == (step <= 4)
    assert view.latex[0].endswith(f"= {float(st.psi2_batch[3]):.4g}") and f"{st.n_tokens}" in view.latex[0]
    assert f"**Step {step}, feature 3**" in view.summary and "steadier" in view.takeaway


def test_powernorm_view_warns_and_refuses_what_does_not_exist():
    long = powernorm_lab.powernorm_view(powernorm_lab.PowerNormConfig(steps=3, warmup=5, step=3))
    assert long.warning is not None and "longer than the run" in long.warning
    assert "every step here is in warm-up" in long.takeaway
    for bad, msg in (
        ({"step": 13}, "outside the run"),
        ({"feature": 8}, "does not exist"),
        ({"scaling_groups": 3}, "does not divide"),
    ):
        with pytest.raises(ValueError, match=msg):
            powernorm_lab.powernorm_view(powernorm_lab.PowerNormConfig(**bad))


def test_powernorm_view_reuses_the_run_of_the_same_settings_only():
    cfg = powernorm_lab.PowerNormConfig(step=7, feature=5)
    data = powernorm_lab.powernorm_data(cfg.for_run)
    assert data.config == cfg.for_run and cfg.for_run.step == 1 and cfg.for_run.feature == 0
    view = powernorm_lab.powernorm_view(cfg, data)
    assert view.run is data.run and view.takeaway == powernorm_lab.powernorm_view(cfg).takeaway
    with pytest.raises(ValueError, match="not of this page's settings"):
        powernorm_lab.powernorm_view(powernorm_lab.PowerNormConfig(warmup=2), data)


def test_powernorm_batches_are_seeded_and_never_empty():
    cfg = powernorm_lab.PowerNormConfig(steps=5, batch=3, sequence=6)
    xs, masks = powernorm_lab.powernorm_batches(cfg)
    again, _ = powernorm_lab.powernorm_batches(cfg)
    assert len(xs) == 5 and xs[0].shape == (3, 6, 8) and torch.equal(xs[4], again[4])
    assert all(bool(m[:, 0].all()) for m in masks)  # every sentence has at least one real token
    full = powernorm_lab.powernorm_batches(powernorm_lab.PowerNormConfig(variable=False))[1]
    assert all(bool(m.all()) for m in full)


# --- DyT -------------------------------------------------------------------------------------------


def test_dyt_takeaway_flips_where_tanh_stops_beating_a_line():
    assert "acts as a squashing function" in dyt_lab.dyt_takeaway(1.0, 0.1, 0.13)
    assert "almost linear" in dyt_lab.dyt_takeaway(1.0, 0.1, 0.11)


def test_dyt_view_follows_the_spread_of_token_scales():
    flat = dyt_lab.dyt_view(dyt_lab.DytConfig(spread=0.0))
    curved = dyt_lab.dyt_view(dyt_lab.DytConfig(spread=2.0))
    assert "almost linear" in flat.takeaway and "squashing" in curved.takeaway
    assert curved.fit.best_error < curved.fit.line_error / 1.2
    assert curved.check_ok and "nothing is shared" in curved.check


def test_dyt_view_reuses_a_fit_of_the_same_tokens_only():
    cfg = dyt_lab.DytConfig(alpha=20.0, spread=2.0)
    fit = dyt_lab.dyt_fit(cfg.sample)
    far = dyt_lab.dyt_view(cfg, fit)
    assert far.fit is fit and far.error > fit.best_error
    assert far.takeaway == dyt_lab.dyt_view(cfg).takeaway  # the same as computing the fit here
    with pytest.raises(ValueError, match="not of this page's tokens"):
        dyt_lab.dyt_view(dyt_lab.DytConfig(spread=1.0), fit)


# --- figures on the one layout helper ---------------------------------------------------------------


def test_beyond_figures_use_the_common_layout_with_the_legend_below_when_asked():
    from norm_viz.core.theme import FONT

    fit = dyt_lab.dyt_fit(dyt_lab.DytSample(tokens=8, features=4))
    below = figures_beyond.dyt_scatter_figure(fit.x, fit.y, 0.5, 1.0, fit.best_alpha, fit.best_scale)
    above = figures_beyond.group_stats_figure(torch.zeros(3), torch.ones(3), 1)
    from norm_viz.core.theme import BELOW_AXIS

    narrow = figures_beyond.tanh_figure(0.5).layout  # a narrow column: its legend goes below too
    for lay in (narrow, below.layout):  # at the figure's foot, under the x axis's title (which it once covered)
        assert lay.legend.yref == "container" and lay.legend.y == 0 and lay.legend.yanchor == "bottom"
        assert lay.margin.b >= BELOW_AXIS + 20
    assert above.layout.legend.yanchor == "bottom" and above.layout.legend.y == 1.0
    for fig in (below, above):
        assert fig.layout.font.size == FONT["size"] and fig.layout.title.font.size == 20
