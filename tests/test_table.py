"""The NORMS table drives behaviour: every row carries its kernel or forward, reference, snippet, parameters and
minimum value count, and a row registered at run time flows through normalize, reference/verify, the Explorer,
the walkthrough, the quiz, the property table and the export script without touching any other file."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

import pytest
import torch

from norm_viz import NORMS, make_tensor, normalize, reference, verify
from norm_viz.classroom import cards, export, quiz, walkthrough
from norm_viz.core import kernels
from norm_viz.core.compute import _generic_stats
from norm_viz.core.config import NormConfig
from norm_viz.core.data import lengths_mask
from norm_viz.core.params import NormParam
from norm_viz.core.table import Call, default_groups, norm_params, torch_body, valid_group_counts
from norm_viz.cube import static
from norm_viz.cube.rule import rules as cube_rules
from tests.conftest import app_test, explorer_choose, explorer_rows, no_exception

COPY = "layernorm_copy"
SOFT = "softsign_test"


@pytest.fixture
def copied_row():
    """A copy of LayerNorm under a new key, present only during the test."""
    row = dataclasses.replace(NORMS["layernorm"], key=COPY, label="LayerNorm (registered copy)")
    NORMS[COPY] = row
    yield row
    del NORMS[COPY]


SOFT_A = NormParam("ss_a", 2.0, 0.1, 10.0, field="a", label="a (softsign)", step=0.5, inline=True)


def _softsign_forward(x: torch.Tensor, call: Call):
    """The one function the new row needs: y = x / (1 + |a·x|), no statistic."""
    a = float(call.options["a"])
    return x / (1 + (a * x).abs()), None, None, torch.ones(1, dtype=torch.int64).expand(x.numel()), None, {}


@pytest.fixture
def param_row():
    """A new row with its own parameter and its own forward (one row plus one function)."""
    row = NORMS["dyt"].__class__(
        key=SOFT,
        label="Softsign (test row)",
        reduce=(),
        torch="no torch.nn module: x / (1 + |a·x|) for x of shape ({B}, {S}, {F})",
        summary="no statistic: each cell is squashed on its own by softsign",
        centered=False,
        forward=_softsign_forward,
        reference=lambda x, c: torch.nn.functional.softsign(c.options["a"] * x) / c.options["a"],
        has_torch_module=False,
        snippet="a = {a!r}\ny = x / (1 + (a * x).abs())",
        params=(SOFT_A,),
    )
    NORMS[SOFT] = row
    yield row
    del NORMS[SOFT]


# --- every row carries its behaviour ------------------------------------------------------------------------------


@pytest.mark.parametrize("key", list(NORMS))
def test_every_row_carries_its_behaviour(key):
    n = NORMS[key]
    assert n.reference is not None or n.make is not None, "every row is checked against something"
    assert n.reference is not None or n.has_torch_module, "a row checked against its module has a torch.nn one"
    assert (n.forward is None) == n.has_torch_module, "a row without a torch.nn module computes its own forward"
    assert n.kernel is None or n.kernel.__module__ == kernels.__name__
    assert n.snippet, "every row has a PyTorch snippet"
    assert n.min_values in (1, 2)
    assert {p.name for p in n.params} >= ({"groups"} if n.uses_groups else set())
    assert len({p.key for p in n.params}) == len(n.params)


def test_min_values_is_what_torch_nn_refuses():
    """A row's min_values is 2 exactly where its torch.nn module refuses one value per statistic in training."""
    x = make_tensor(1, 1, 4, seed=1)
    for key, n in NORMS.items():
        if not n.has_torch_module:
            continue
        refuses = False
        try:
            with torch.no_grad():
                reference(x, key, groups=2 if n.uses_groups else None)
        except (ValueError, RuntimeError):
            refuses = True
        one_value = n.values_per_statistic((1, 1, 4), 2 if n.uses_groups else 1) == 1
        assert refuses == (one_value and n.min_values == 2), key


def test_norm_params_are_declared_once_per_url_key():
    keys = [p.key for p in norm_params()]
    assert keys == ["G", "warmup", "gscale", "alpha"]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("key", list(NORMS))
def test_a_config_runs_like_the_keyword_call(key):
    """normalize(x, NormConfig) = normalize(x, key, eps, groups=…, mask=…, weight=…, bias=…, **row parameters)."""
    n = NORMS[key]
    x = make_tensor(3, 5, 8, kind="token_like", seed=4)
    params = tuple((p.name, p.settle(p.default, 8)) for p in n.params)
    cfg = NormConfig(key, 1e-3, 1.5, -0.5, (5, 3, 2) if n.masked else (), params)
    affine = (5, 8) if n.affine == "sequence_feature" else (8,)
    by_keywords = normalize(
        x,
        key,
        1e-3,
        mask=lengths_mask((5, 3, 2), 5) if n.masked else None,
        weight=torch.full(affine, 1.5),
        bias=torch.full(affine, -0.5),
        **dict(params),
    )
    by_config = normalize(x, cfg)
    torch.testing.assert_close(by_config.output, by_keywords.output)
    assert by_config.groups == by_keywords.groups and verify(by_config).ok
    assert cfg.groups == (by_config.groups if n.uses_groups else 1)


def test_generic_reduction_serves_a_row_without_a_kernel(copied_row):
    NORMS[COPY] = dataclasses.replace(copied_row, kernel=None)
    x = make_tensor(2, 3, 6, seed=3, dtype=torch.float64)
    r = normalize(x, COPY)
    xhat, mean, var = _generic_stats(x, NORMS[COPY], 1, 1e-5)
    torch.testing.assert_close(r.normalized, xhat)
    torch.testing.assert_close(r.group_var, var)
    torch.testing.assert_close(r.group_mean, mean)
    torch.testing.assert_close(r.normalized, normalize(x, "layernorm").normalized)


# --- a row registered at run time appears everywhere ---------------------------------------------------------------


def test_registered_row_flows_through_normalize_reference_and_verify(copied_row):
    x = make_tensor(3, 4, 8, kind="token_like", seed=5)
    r = normalize(x, COPY, weight=2.0)
    torch.testing.assert_close(r.output, normalize(x, "layernorm", weight=2.0).output)
    with torch.no_grad():
        torch.testing.assert_close(reference(x, COPY), torch.nn.LayerNorm(8)(x))
    v = verify(r)
    assert v.ok and v.torch_call == "nn.LayerNorm(8)(x)"
    assert r.norm is copied_row and r.n_groups == 12


def test_registered_row_reaches_quiz_walkthrough_cube_and_property_table(copied_row):
    assert COPY in quiz.QUIZ_NORMS and COPY in quiz.quiz_norms()
    asked = {quiz.make_question(seed, i).norm for seed in range(60) for i in range(3)}
    assert COPY in asked
    r = normalize(make_tensor(2, 3, 4, seed=1), COPY)
    steps = walkthrough.steps(r, (1, 2, 3))
    assert len(steps) == 7 and copied_row.label in steps[1].text
    assert any(row["key"] == COPY for row in cards.axis_rows())
    overview = static.multiples_svg((2, 3, 4), (0, 0, 0), highlight=COPY)
    assert f">{copied_row.label}</text>" in overview
    assert cube_rules((2, 3, 4))[COPY] == {
        "label": copied_row.label,
        "block": [1, 1, 4],
        "masked": False,
        "statistic": True,
    }


def _run_script(script: str, tmp_path) -> dict:
    path = tmp_path / "reproduce.py"
    path.write_text(script + '\nimport json as _j\nprint(_j.dumps({"xhat": xhat.tolist(), "y": y.tolist()}))\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    proc = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_registered_row_export_script_reproduces_normalize(copied_row, tmp_path):
    x = make_tensor(3, 4, 6, "normal", seed=11, scale=2.0, shift=-0.5)
    r = normalize(x, COPY, 1e-3, weight=1.5, bias=-0.25)
    script = export.reproduce_script(r, (2, 1, 4), export.recipe_for("normal", 11, 2.0, -0.5))
    assert copied_row.label in script
    got = _run_script(script, tmp_path)
    assert torch.allclose(torch.tensor(got["xhat"]), r.normalized, atol=2e-5)
    assert torch.allclose(torch.tensor(got["y"]), r.output, atol=5e-5)


def test_registered_row_runs_in_the_explorer(copied_row):
    at = explorer_choose(app_test("explorer"), COPY)
    no_exception(at)
    assert not at.error, [e.value for e in at.error]
    row = explorer_rows(at)[COPY]  # the Explorer's select lists every row of its message
    assert at.session_state["norm"] == COPY and row["label"] == copied_row.label
    assert row["verdict"]["text"].startswith("matches `nn.LayerNorm(8)(x)`") and row["verdict"]["kind"] == "success"


def test_a_row_with_its_own_parameter_and_function(param_row, tmp_path):
    """One row plus one function: its parameter becomes a keyword of normalize(), a NormConfig entry, a widget
    (with its limits) in the Explorer, and a line of the snippet and of the export script."""
    x = make_tensor(2, 3, 4, seed=6)
    r = normalize(x, SOFT, a=3.0)
    torch.testing.assert_close(r.normalized, x / (1 + (3 * x).abs()))
    assert verify(r).ok and dict(r.options) == {"a": 3.0}
    assert dict(normalize(x, SOFT).options) == {"a": 2.0}, "the parameter's default"
    torch.testing.assert_close(normalize(x, NormConfig(SOFT, params=(("a", 3.0),))).normalized, r.normalized)
    with pytest.raises(ValueError, match="takes no parameter b; its parameters: a"):
        normalize(x, SOFT, b=1.0)
    assert "a = 3.0" in torch_body(SOFT, (2, 3, 4), a=3.0)
    got = _run_script(export.reproduce_script(r, (0, 0, 0)), tmp_path)
    assert torch.allclose(torch.tensor(got["xhat"]), r.normalized, atol=2e-5)
    at = explorer_choose(app_test("explorer"), SOFT)
    no_exception(at)
    widget = at.number_input(key="ss_a")
    assert widget.value == 2.0 and widget.min == 0.1 and widget.max == 10.0
    widget.set_value(4.0).run()
    no_exception(at)
    # a row without a torch.nn module is checked against its own reference: a neutral line (tests/test_copy.py)
    row = explorer_rows(at)[SOFT]
    assert row["verdict"]["text"].startswith("matches") or "agrees with" in row["verdict"]["text"]
    assert "a = 4.0" in row["snippet"] and row["params"] == ["ss_a"]


def test_groupnorm_groups_come_from_the_row_parameter():
    p = next(p for p in NORMS["groupnorm"].params if p.name == "groups")
    assert p.valid(12) == valid_group_counts(12) and p.settle(5, 12) == default_groups(12) == 4 and p.settle(6, 12) == 6
    assert p.invalid.format(F=12, valid="1, 2") == "does not divide F = 12; valid group counts: 1, 2"


def test_a_row_parameter_is_kept_in_a_shared_link(param_row):
    """The new row's parameter is one of the keys every page shares: written to the URL and read back from a link."""
    from norm_viz import ui

    assert "ss_a" in ui.SHARED_KEYS
    at = explorer_choose(app_test("explorer"), SOFT)
    at.number_input(key="ss_a").set_value(4.0).run()
    assert at.query_params["ss_a"] == "4.0"
    fresh = app_test("explorer", query={"norm": SOFT, "ss_a": "5.0"})
    no_exception(fresh)
    assert fresh.number_input(key="ss_a").value == 5.0
