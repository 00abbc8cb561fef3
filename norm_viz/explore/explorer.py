"""What the Explorer shows besides its figures: the live check against torch.nn, the chosen cell's arithmetic, the
check of the output's statistics and the PyTorch snippet, all computed from one NormResult.

torch only through the core (no streamlit, no plotly).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from norm_viz.core import formulas
from norm_viz.core.compute import NormResult, Verification, output_moments, verify
from norm_viz.core.config import NormConfig
from norm_viz.core.data import PRESETS
from norm_viz.core.numbers import fmt, small
from norm_viz.core.table import NORMS, torch_snippet, unit_name


@dataclass(frozen=True)
class Message:
    """A line of text and how the page shows it: "success", "error", "warning", "info" or "markdown"."""

    text: str
    kind: str = "markdown"


@dataclass(frozen=True, eq=False)
class ExplorerView:
    """Everything the Explorer prints for one result and one chosen cell."""

    verification: Verification
    verdict: Message
    """The live comparison with the torch.nn counterpart (or why torch refuses this input)."""
    group_line: str
    """How many cells share the chosen cell's statistic and where the statistic comes from."""
    derivation: tuple[str, ...]
    """The chosen cell's arithmetic, one LaTeX line each."""
    output_check: Message
    """What the output's groups look like now (mean 0 and variance ≈ 1, mean square ≈ 1, or why not)."""
    snippet: str
    tensor_code: str
    """`x = torch.tensor([...])` for a tensor that was not generated from a seed (empty for a generated one)."""


def verdict(ver: Verification) -> Message:
    """The verification line: matches / does not match the torch.nn counterpart, or torch's own refusal."""
    if ver.refused:
        return Message(
            f"`{ver.torch_call}` refuses this input ({ver.refused}); the numbers below are norm-viz's own, "
            "which set a group of one value to 0.",
            "warning",
        )
    if not ver.torch_module:  # nothing in torch.nn to match: say so, in a neutral box, not a green "matches"
        how = ver.torch_call.split(": ", 1)[-1]
        word = "agrees with" if ver.ok else "does NOT agree with"
        return Message(
            f"torch.nn has no module for this norm; norm-viz's output {word} an independent implementation, "
            f"`{how}`: max |Δ| = {ver.max_abs_diff:.1e} (computed live on this tensor)",
            "info" if ver.ok else "error",
        )
    word = "matches" if ver.ok else "does NOT match"
    return Message(
        f"{word} `{ver.torch_call}`: max |Δ| = {ver.max_abs_diff:.1e} (computed live on this tensor)",
        "success" if ver.ok else "error",
    )


def group_line(result: NormResult, cell: tuple[int, int, int]) -> str:
    """'Its group holds N cells; the statistics come from …'."""
    n = result.cell(*cell)["n"]
    src = "running statistics (eval mode)" if result.uses_running_stats else f"n = {n} value{'s' if n != 1 else ''}"
    cells = "1 cell" if result.group_size == 1 else f"{result.group_size} cells"
    return f"Its group holds **{cells}**; the statistics come from **{src}**."


def output_check(result: NormResult) -> Message:
    """The check of x̂ the Explorer prints under the heatmaps, computed from the output, never asserted."""
    norm = result.norm
    means, variances = output_moments(result)
    unit = unit_name(result.stats_axes)
    if not norm.has_statistic:
        lo, hi = float(result.normalized.min()), float(result.normalized.max())
        return Message(
            f"**Check (x̂, before γ and β):** every value now lies in (−1, 1): from {lo:.3f} to {hi:.3f}; nothing was "
            "averaged, so no group has mean 0 or variance 1."
        )
    if result.running_used:
        return Message(
            f"After warm-up {norm.label} divides by its running statistic, not this batch's, so its groups need not "
            "have mean square 1.",
            "info",
        )
    if result.uses_running_stats:
        return Message(
            "Eval mode: the output is normalized with the running statistics, so its groups need not have mean 0.",
            "info",
        )
    worst = float(means.abs().max())
    if norm.centered:
        mean = small(worst)
        return Message(
            f"**Check (x̂, before γ and β):** every {unit} now has mean {mean} (largest |mean|) and variance "
            f"{_range(float(variances.min()), float(variances.max()))} — over {result.n_groups} {unit}s. "
            "A variance below 1 means σ² is not much larger than ε."
        )
    ms = means.square() + variances
    return Message(
        f"**Check (x̂, before γ):** every {unit} now has mean square {_range(float(ms.min()), float(ms.max()))}; "
        f"the means are not 0 (largest |mean| {worst:.3f}): {norm.label} does not center."
    )


def stats_title(r: NormResult) -> str:
    """The statistics panel's title: how many statistics, over which axes, each over how many values."""
    per = " × ".join(r.stats_axes) if r.stats_axes else "the whole tensor"
    counts = [int(c) for c in torch.unique(r.counts).tolist()]  # sorted; not a Python loop over 32 K tensor items
    if r.uses_running_stats:
        source = "taken from the running statistics (eval mode)"
    elif counts == [r.group_size]:
        source = f"each over {r.group_size} cells"
    else:
        source = f"each over {', '.join(map(str, counts))} real values of {r.group_size} cells"
    return f"{r.n_groups} statistics, one per {per}, {source}"


def _range(lo: float, hi: float) -> str:
    """'1.000' when the range is one number at 3 decimals (never 'between 1.000 and 1.000'), else 'from … to …'."""
    a, b = f"{lo:.3f}", f"{hi:.3f}"
    return a if a == b else f"from {a} to {b}"


def explorer_view(
    result: NormResult, cell: tuple[int, int, int], lengths: tuple[int, ...] = (), generated: bool = True
) -> ExplorerView:
    """The Explorer's texts for `result` and the chosen `cell`; `generated`: the tensor came from a seed."""
    x: Tensor = result.input
    ver = verify(result)
    snippet = torch_snippet(result.key, result.shape, result.groups, result.eps, lengths, **dict(result.options))
    return ExplorerView(
        verification=ver,
        verdict=verdict(ver),
        group_line=group_line(result, cell),
        derivation=formulas.result_derivation(result, cell),
        output_check=output_check(result),
        snippet=snippet,
        tensor_code="" if generated else f"x = torch.tensor({x.tolist()})",
    )


def _top_level(text: str, sep: str) -> list[str]:
    """`text` split at every `sep` outside braces (LaTeX groups)."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        ch = text[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif depth == 0 and text.startswith(sep, i):
            parts.append(text[start:i])
            start = i = i + len(sep)
            continue
        i += 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def narrow(line: str) -> str:
    """A derivation line as a column of short rows: one row per '=' (and per \\qquad), aligned on '=', so that no
    formula is wider than a narrow column (at 1280 px the Explorer's arithmetic has about 340 px)."""
    body = line.strip()
    if body.startswith(r"\begin{aligned}") and body.endswith(r"\end{aligned}"):
        body = body[len(r"\begin{aligned}") : -len(r"\end{aligned}")]
    rows: list[str] = []
    for chunk in _top_level(body.replace("&", ""), "\\\\"):
        for part in _top_level(chunk, r"\qquad"):
            if part.startswith("="):
                rows.append("&" + part)
                continue
            pieces = _top_level(part, " = ")
            rows.append(f"{pieces[0]} &= {pieces[1]}" if len(pieces) > 1 else part)
            rows += [f"&= {p}" for p in pieces[2:]]
    if len(rows) == 1:
        return line
    return r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}"


def cell_lines(result: NormResult, cell: tuple[int, int, int]) -> tuple[str, tuple[str, ...]]:
    """The chosen cell's group line and its arithmetic, narrowed to a column (what a cell change updates)."""
    return group_line(result, cell), tuple(narrow(t) for t in formulas.result_derivation(result, cell))


STEP = r" \\[10pt] "
"""Between two steps of the chosen cell's arithmetic in one formula (derivation_tex)."""


def derivation_tex(lines: tuple[str, ...]) -> str:
    """The chosen cell's arithmetic as one centred formula, a step per block: one element to resend, not four."""
    return r"\begin{gathered}" + STEP.join(lines) + r"\end{gathered}"


def matrix_tex(values: Tensor, digits: int = 4) -> str:
    """A (B, S, F) tensor as a LaTeX matrix: one row per token (b, s), one column per feature."""
    rows = values.detach().double().reshape(-1, values.shape[-1]).tolist()
    body = r" \\ ".join(" & ".join(fmt(v, digits) for v in row) for row in rows)
    return r"\begin{bmatrix}" + body + r"\end{bmatrix}"


@dataclass(frozen=True)
class WorkedExample:
    """A published worked example in numbers: the input and what LayerNorm and BatchNorm make of it."""

    title: str
    source: str
    note: str
    panels: tuple[tuple[str, str], ...]
    """(heading, LaTeX) per panel: the input, then each norm's output."""


def worked_example(
    preset: str, eps: float = 1e-5, norms: tuple[str, ...] = ("layernorm", "batchnorm")
) -> WorkedExample:
    """The preset's tensor and its LayerNorm and BatchNorm outputs as numeric matrices, side by side."""
    from norm_viz.core.compute import normalize

    p = PRESETS[preset]
    x = p.tensor()
    panels = [("input X (rows: tokens, columns: features)", "X = " + matrix_tex(x))]
    for key in norms:
        y = normalize(x, NormConfig(key, eps=eps)).output
        panels.append((f"{NORMS[key].label}: {NORMS[key].summary.split(',')[0]}", "Y = " + matrix_tex(y)))
    return WorkedExample(p.label, p.source, p.note, tuple(panels))


def nonfinite_output_message(r: NormResult) -> str:
    """Why a normalization of finite inputs gave NaN or inf: a zero-variance group with ε = 0, or values too large."""
    var = r.computed_var
    zero = 0 if var is None else int((var == 0).sum())
    if r.eps == 0 and zero:
        one = r.group_size == 1
        why = "holds a single value" if one else "holds values that are all equal"
        return (
            f"With ε = 0, {zero} of the {r.n_groups} groups have variance 0 (each {why}), so x̂ = 0 / √0 = NaN there "
            "(torch.nn gives NaN too). Set ε > 0, e.g. 1e-5, to get 0 instead"
            + (", or use fewer groups so that each holds more than one value." if one else ".")
        )
    big = float(r.input.abs().max())
    return (
        f"The output is not finite although ε = {r.eps:g}: the values are too large for {r.input.dtype} "
        f"(largest |x| = {big:.3g}; float32 holds numbers up to about 3.4e38 and their squares must fit too). "
        "Rescale the input, e.g. divide it by 10⁶."
    )
