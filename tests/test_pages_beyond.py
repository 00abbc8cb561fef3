"""AppTest for every 'beyond the standard norms' page: it runs, its takeaway follows the data, and bad input
is answered with a message, never a traceback. Also the Explorer with the two new rows of NORMS."""

from __future__ import annotations

import pytest
from conftest import app_test, charts, cubes, decode, explorer_rows, lit_cells, no_exception


def takeaway(at) -> str:
    texts = [i.value for i in at.info if "Takeaway" in i.value]
    assert len(texts) == 1, [i.value for i in at.info]
    return texts[0]


PAGES = {
    "pages/powernorm.py": 4,  # the live warm-up, and the like-for-like evidence (training, frozen)
    "pages/dyt.py": 2,
    "pages/custom-axes.py": 1,  # and the shared cube
    "pages/equivalences.py": 1,
    "pages/geometry.py": 1,
    "pages/fluctuation.py": 2,
    "pages/eps-dtype.py": 3,
}


@pytest.mark.parametrize(("page", "n_charts"), PAGES.items())
def test_page_runs_and_shows_its_evidence(page, n_charts):
    at = app_test(page)
    no_exception(at)
    assert len(charts(at)) == n_charts
    assert takeaway(at)
    assert not at.error


def test_powernorm_takeaway_follows_the_warmup_and_the_loop_check_passes():
    at = app_test("pages/powernorm.py", {"pn_warm": "3", "pn_steps": "12"})
    text = takeaway(at)
    assert "steadier" in text
    assert any("max |Δ|" in s.value for s in at.success)
    at_all_warm = app_test("pages/powernorm.py", {"pn_warm": "20", "pn_steps": "12"})
    assert "every step here is in warm-up" in takeaway(at_all_warm)
    assert any("longer than the run" in w.value for w in at_all_warm.warning)
    # the step figure shows one marker per step; the divisor equals the batch ψ² in warm-up only
    fig = charts(at)[0]
    batch, _running, divisor = (decode(t["y"]) for t in fig["data"][:3])
    assert len(batch) == 12
    assert (batch[:3] == divisor[:3]).all() and not (batch[3:] == divisor[3:]).all()


def test_dyt_takeaway_follows_the_spread_of_token_scales():
    flat = takeaway(app_test("pages/dyt.py", {"dyt_spread": "0"}))
    curved = takeaway(app_test("pages/dyt.py", {"dyt_spread": "2"}))
    assert "almost linear" in flat and "squashing" in curved


def test_dyt_alpha_slider_moves_the_user_curve():
    at = app_test("pages/dyt.py")
    before = decode(charts(at)[0]["data"][-1]["y"])
    at.slider(key="dyt_alpha").set_value(3.0).run()
    no_exception(at)
    after = decode(charts(at)[0]["data"][-1]["y"])
    assert abs(after - before).max() > 0.1


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, "LayerNorm"),
        ({"cx_c": "0"}, "RMSNorm"),
        ({"cx_f": "0", "cx_b": "1", "cx_s": "1"}, "BatchNorm"),
        ({"cx_f": "0", "cx_b": "1", "cx_s": "1", "cx_c": "0"}, "PowerNorm"),
        ({"cx_f": "0", "cx_s": "1"}, "InstanceNorm"),
        ({"cx_f": "0", "cx_b": "1"}, "no row of the table"),
    ],
)
def test_custom_axes_names_the_norm_it_equals(query, expected):
    at = app_test("pages/custom-axes.py", query)
    no_exception(at)
    assert expected in takeaway(at)


def test_custom_axes_lit_cells_equal_the_group_size():
    at = app_test("pages/custom-axes.py", {"B": "3", "S": "4", "F": "6", "cx_s": "1", "cx_cb": "2"})
    cube = cubes(at)["cx_cube"]  # the shared cube, lit by the page's own axes
    assert lit_cells(cube) == {(2, s, f) for s in range(4) for f in range(6)}  # one sequence's tokens and features
    grouped = cubes(app_test("pages/custom-axes.py", {"F": "6", "cx_g": "3", "cx_cf": "5"}))["cx_cube"]
    assert lit_cells(grouped) == {(0, 0, f) for f in (4, 5)}  # the chosen cell's feature group of 2


def test_equivalences_hold_and_degenerate_cases_are_explained():
    at = app_test("pages/equivalences.py")
    assert "all 5 identities hold" in takeaway(at)
    one_device = app_test("pages/equivalences.py", {"eq_K": "1"})
    assert "even the broken versions coincide for: SyncBN" in takeaway(one_device)
    short = app_test("pages/equivalences.py", {"S": "1"})
    no_exception(short)
    assert any("at least 2 tokens" in e.value for e in short.error)


def test_geometry_takeaway_depends_on_the_norm():
    ln = takeaway(app_test("pages/geometry.py"))
    bn = takeaway(app_test("pages/geometry.py", {"geo_norm": "batchnorm"}))
    rms = takeaway(app_test("pages/geometry.py", {"geo_norm": "rmsnorm", "geo_F": "2"}))
    assert "length 1.7320" in ln and "on the plane" in ln
    assert "no sphere" in bn
    assert "length 1.4142" in rms


def test_fluctuation_takeaway_follows_the_lengths_and_bad_sizes_are_refused():
    with_lengths = takeaway(app_test("pages/fluctuation.py"))
    without = takeaway(app_test("pages/fluctuation.py", {"fl_var": "0"}))
    assert with_lengths != without
    assert "token-like batch σ² fluctuates" in with_lengths
    for bad, msg in (("abc", "whole numbers"), ("0, 500", "between 1 and 256"), ("", "at least one")):
        at = app_test("pages/fluctuation.py", {"fl_sizes": bad} if bad else {})
        if not bad:
            at.text_input(key="fl_sizes").set_value("").run()
        no_exception(at)
        shown = [e.value for e in at.error] + [w.value for w in at.warning]  # a malformed link is a URL notice
        assert any(msg in v for v in shown), shown


def test_eps_lab_takeaway_follows_eps():
    small = takeaway(app_test("pages/eps-dtype.py"))
    large = takeaway(app_test("pages/eps-dtype.py", {"ed_eps": "0.1"}))
    assert "ε = 1e-05" in small and "ε = 0.1" in large and small != large
    assert "NaN without ε" in small


@pytest.mark.parametrize(
    ("page", "query", "key"),
    [
        ("pages/powernorm.py", {"pn_steps": "999"}, "pn_steps"),
        ("pages/dyt.py", {"dyt_alpha": "abc"}, "dyt_alpha"),
        ("pages/custom-axes.py", {"cx_b": "maybe"}, "cx_b"),
        ("pages/equivalences.py", {"eq_K": "-3"}, "eq_K"),
        ("pages/geometry.py", {"geo_F": "7"}, "geo_F"),
        ("pages/fluctuation.py", {"fl_n": "1"}, "fl_n"),
        ("pages/eps-dtype.py", {"ed_eps": "2"}, "ed_eps"),
    ],
)
def test_bad_url_values_are_named_and_replaced(page, query, key):
    at = app_test(page, query)
    no_exception(at)
    assert any(f"`{key}=" in w.value for w in at.warning), [w.value for w in at.warning]
    assert takeaway(at)


@pytest.mark.parametrize(
    "query",
    [
        {"norm": "powernorm"},
        {"norm": "powernorm", "warmup": "0", "gscale": "2", "lengths": "6, 3, 2, 1"},
        {"norm": "dyt", "alpha": "2"},
    ],
)
def test_explorer_runs_the_new_rows(query):
    """The Explorer ships the new rows with their verdict against an independent implementation (the browser shows
    the chosen row's; explore/payload.py); DyT has no statistic and its cube rule, from the table, lights one cell."""
    at = app_test("pages/explorer.py", query)
    no_exception(at)
    rows = explorer_rows(at)
    row = rows[query["norm"]]
    assert "agrees with" in row["verdict"]["text"] and "max |Δ|" in row["verdict"]["text"], row["verdict"]
    assert row["ok"]
    if query["norm"] == "dyt":
        assert not row["statistic"] and "no statistic" in row["summary"]
        assert row["alpha"] == [2.0] * 8
        from norm_viz.cube.data import cube_data
        from norm_viz.explore.payload import unpack

        (el,) = [el for el in at.get("bidi_component") if el.proto.component_name == "norm_viz.explorer"]
        assert unpack(el.proto.bytes)["cube_rules"]["dyt"] == cube_data((4, 6, 8))["rules"]["dyt"]


def _default_views() -> dict[str, str]:
    """Each beyond page's takeaway as its package view computes it for the page's defaults."""
    from norm_viz.beyond import custom_axes, dyt_lab, eps_dtype, equivalences, fluctuation, geometry, powernorm_lab
    from norm_viz.core.data import make_tensor

    x = make_tensor(4, 6, 8, "normal", 0)  # the sidebar's default tensor
    return {
        "pages/powernorm.py": powernorm_lab.powernorm_view(powernorm_lab.PowerNormConfig()).takeaway,
        "pages/dyt.py": dyt_lab.dyt_view(dyt_lab.DytConfig()).takeaway,
        "pages/custom-axes.py": custom_axes.custom_view(x, custom_axes.CustomConfig()).takeaway,
        "pages/equivalences.py": equivalences.equivalences_view(x, equivalences.EquivalencesConfig()).takeaway,
        "pages/geometry.py": geometry.geometry_view(geometry.GeometryConfig()).takeaway,
        "pages/fluctuation.py": fluctuation.fluctuation_view(fluctuation.FluctuationConfig()).takeaway,
        "pages/eps-dtype.py": eps_dtype.eps_dtype_view(eps_dtype.EpsDtypeConfig()).takeaway,
    }


def test_each_page_shows_its_package_views_takeaway():
    """A page's defaults are its config's defaults, and it shows the one view's text as it is."""
    views = _default_views()
    assert set(views) == set(PAGES)
    for page, text in views.items():
        assert takeaway(app_test(page)) == f"**Takeaway:** {text}", page
