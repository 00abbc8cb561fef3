"""What the Explorer shows besides its figures: the live check against torch.nn, the chosen cell's arithmetic, the
check of the output's statistics and the PyTorch snippet, all computed from one NormResult.

torch only through the core (no streamlit, no plotly).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from norm_viz.core import formulas
from norm_viz.core.compute import NormResult, Verification, output_moments, verify
from norm_viz.core.numbers import fmt
from norm_viz.core.table import torch_snippet, unit_name


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
    src = "running statistics (eval mode)" if result.uses_running_stats else f"n = {n} values"
    return f"Its group holds **{result.group_size} cells**; the statistics come from **{src}**."


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
        mean = fmt(worst, 3) if worst > 5e-7 else "0.000"
        return Message(
            f"**Check (x̂, before γ and β):** every {unit} now has mean {mean} (largest |mean|) and variance between "
            f"{float(variances.min()):.3f} and {float(variances.max()):.3f} — over {result.n_groups} {unit}s. "
            "A variance below 1 means σ² is not much larger than ε."
        )
    ms = means.square() + variances
    return Message(
        f"**Check (x̂, before γ):** every {unit} now has mean square between {float(ms.min()):.3f} and "
        f"{float(ms.max()):.3f}; the means are not 0 (largest |mean| {worst:.3f}): {norm.label} does not center."
    )


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
