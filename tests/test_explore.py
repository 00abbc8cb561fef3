"""The Explorer's texts as a pure view of one NormResult: verification, the cell's arithmetic, the output check."""

from __future__ import annotations

import pytest
import torch

from norm_viz import NORMS, make_tensor, normalize
from norm_viz.core import formulas
from norm_viz.core.table import torch_snippet
from norm_viz.explore.explorer import explorer_view, output_check


@pytest.mark.parametrize("key", list(NORMS))
def test_view_verifies_every_norm_and_writes_the_cells_arithmetic(key):
    x = make_tensor(3, 4, 8, seed=1)
    r = normalize(x, key)
    view = explorer_view(r, (1, 2, 3))
    if NORMS[key].has_torch_module:
        assert view.verification.ok and view.verdict.kind == "success"
        assert view.verdict.text.startswith("matches `") and NORMS[key].torch.split("(")[0] in view.verdict.text
    else:  # nothing in torch.nn to match: a neutral line (tests/test_copy.py)
        assert view.verification.ok and view.verdict.kind == "info"
    assert view.derivation == formulas.result_derivation(r, (1, 2, 3))
    assert view.derivation[0] == formulas.input_line(r.cell(1, 2, 3))
    assert view.derivation[-1].endswith(formulas.tex(float(r.output[1, 2, 3])))
    assert (f"**{r.group_size} cells**" if r.group_size > 1 else "**1 cell**;") in view.group_line
    assert view.snippet == torch_snippet(key, (3, 4, 8), r.groups, r.eps, (), **dict(r.options))
    assert view.tensor_code == ""


def test_a_tensor_that_was_not_generated_is_printed_for_the_snippet():
    x = torch.tensor([[[1.0, 2.0], [2.0, 3.0]]])
    view = explorer_view(normalize(x, "layernorm"), (0, 0, 0), generated=False)
    assert view.tensor_code == "x = torch.tensor([[[1.0, 2.0], [2.0, 3.0]]])"


def test_torch_refusing_the_input_is_a_warning_not_a_mismatch():
    x = make_tensor(1, 1, 4, seed=0)  # B = 1 and groups of one value: nn.GroupNorm refuses
    view = explorer_view(normalize(x, "groupnorm", groups=4), (0, 0, 0))
    assert view.verdict.kind == "warning" and "refuses this input" in view.verdict.text


def test_a_wrong_result_is_reported_as_a_mismatch():
    x = make_tensor(2, 3, 4, seed=0)
    r = normalize(x, "layernorm")
    bad = type(r)(**{**r.__dict__, "normalized": r.normalized + 0.5})
    view = explorer_view(bad, (0, 0, 0))
    assert view.verdict.kind == "error" and view.verdict.text.startswith("does NOT match")


def test_output_check_follows_the_numbers():
    x = make_tensor(2, 3, 8, seed=2, scale=3.0, shift=5.0)
    ln = output_check(normalize(x, "layernorm"))
    assert "every token now has mean ≈ 0 (|·| < 1e-6)" in ln.text and "over 6 tokens" in ln.text
    rms = output_check(normalize(x, "rmsnorm"))
    assert "does not center" in rms.text and "mean square 1.000;" in rms.text
    dyt = output_check(normalize(x, "dyt"))
    assert "every value now lies in (−1, 1)" in dyt.text
    late = output_check(normalize(x, "powernorm", warmup=False))
    assert late.kind == "info" and "After warm-up PowerNorm divides by its running statistic" in late.text
    ev = output_check(normalize(x, "batchnorm", training=False))
    assert ev.kind == "info" and "Eval mode" in ev.text


@pytest.mark.parametrize("key", ["layernorm", "groupnorm", "rmsnorm", "dyt", "powernorm"])
def test_narrowed_arithmetic_keeps_every_number_one_equals_sign_per_row(key):
    """narrow() only breaks lines: the numbers and symbols of each line survive, and no row holds two '='."""
    from norm_viz.explore.explorer import cell_lines, narrow

    r = normalize(make_tensor(3, 4, 8, seed=2), key)
    group, lines = cell_lines(r, (1, 2, 3))
    original = formulas.result_derivation(r, (1, 2, 3))
    assert group == explorer_view(r, (1, 2, 3)).group_line and len(lines) == len(original)
    for short, line in zip(lines, original, strict=True):
        assert short == narrow(line)
        squash = lambda t: "".join(  # noqa: E731
            t.replace(r"\begin{aligned}", "")
            .replace(r"\end{aligned}", "")
            .replace("&", "")
            .replace(r"\\", "")
            .replace(r"\qquad", "")
            .split()
        )
        assert squash(short) == squash(line)
        rows = short.removeprefix(r"\begin{aligned}").removesuffix(r"\end{aligned}").split(r"\\")
        assert all(row.count("=") <= 1 for row in rows), rows
    assert lines[-1].endswith(formulas.tex(float(r.output[1, 2, 3])) + r"\end{aligned}")


@pytest.mark.parametrize("preset", ["d2l", "interview"])
def test_worked_examples_are_the_torch_outputs_as_matrices(preset):
    from norm_viz.core.data import PRESETS
    from norm_viz.core.numbers import fmt
    from norm_viz.explore.explorer import worked_example

    x = PRESETS[preset].tensor()
    ex = worked_example(preset)
    ln = torch.nn.LayerNorm(x.shape[-1])(x)
    bn = torch.nn.BatchNorm1d(x.shape[-1])(x.transpose(1, 2)).transpose(1, 2)
    for (_, tex), t in zip(ex.panels, (x, ln, bn), strict=True):
        rows = tex.split(r"\begin{bmatrix}")[1].removesuffix(r"\end{bmatrix}").split(r" \\ ")
        got = [[float(v) for v in row.split(" & ")] for row in rows]
        want = [[float(fmt(v, 4)) for v in row] for row in t.detach().reshape(-1, x.shape[-1]).tolist()]
        assert got == want
    assert [h.split(":")[0] for h, _ in ex.panels[1:]] == ["LayerNorm", "BatchNorm"]
