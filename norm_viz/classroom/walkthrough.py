"""The walkthrough: one cell's normalization told in seven steps, tensor -> lit group -> μ -> σ² -> x̂ -> γ, β -> y.

Pure (torch only, no streamlit, no plotly): every number comes from a NormResult and the group's own values;
the x̂ and y formulas are core.formulas', shared with the other pages that derive one cell.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from norm_viz.core import formulas
from norm_viz.core.compute import NormResult
from norm_viz.core.numbers import fmt, plural, small, tex

STEP_KEYS: tuple[str, ...] = ("tensor", "group", "mean", "variance", "normalized", "affine", "output")
STEP_TITLES: dict[str, str] = {
    "tensor": "The tensor",
    "group": "The lit group",
    "mean": "Its mean μ",
    "variance": "Its variance σ²",
    "normalized": "The normalized value x̂",
    "affine": "Scale γ and shift β",
    "output": "The output y",
}
LAST_STEP = len(STEP_KEYS) - 1


@dataclass(frozen=True)
class Step:
    """One step of the walkthrough: a title, a plain-language sentence and formulas with the numbers in."""

    key: str
    title: str
    text: str
    latex: tuple[str, ...]


def group_values(result: NormResult, cell: tuple[int, int, int]) -> Tensor:
    """The float64 values that went into `cell`'s statistic (padding excluded), in (b, s, f) order."""
    return result.input.detach()[group_mask(result, cell)].double()


def _terms(vals: list[float], show: int = 3) -> str:
    """'a + b + c' for a few values, 'a + b + … + z' for many; negatives in parentheses."""
    txt = [tex(v) if v >= 0 else f"({tex(v)})" for v in vals]
    if len(txt) <= show + 1:
        return " + ".join(txt)
    return " + ".join(txt[:show]) + r" + \dots + " + txt[-1]


def _reduce_words(result: NormResult) -> str:
    norm = result.norm
    words = []
    if "batch" in norm.reduce:
        words.append("every sequence of the batch")
    if "sequence" in norm.reduce:
        words.append("every token")
    if "feature" not in norm.reduce:
        words.append("one feature at a time")
    elif "group" in norm.reduce or not norm.uses_groups:
        words.append("every feature")
    else:
        words.append(f"the {plural(result.shape[2] // result.groups, 'feature')} of the cell's feature group")
    return ", ".join(words)


def steps(result: NormResult, cell: tuple[int, int, int]) -> tuple[Step, ...]:
    """The seven steps for `cell` of `result`, each with the numbers plugged in."""
    b, s, f = result.shape
    cb, cs, cf = cell
    v = result.cell(*cell)
    vals = group_values(result, cell)
    n = int(vals.numel())
    centered = result.norm.centered
    label = result.norm.label
    x, mu, var, eps, g, beta = v["x"], v["mean"], v["var"], result.eps, v["gamma"], v["beta"]
    listed = vals.tolist()
    idx = rf"x_{{{cb},{cs},{cf}}}"
    pads = int((~result.contributes).sum())
    shared = "mean and one variance" if centered else "mean square"
    pad_note = (
        f" The {plural(pads // f, 'padding token')} ({plural(pads, 'cell')}) are left out of every statistic."
        if pads and result.norm.masked
        else ""
    )

    out = [
        Step(
            "tensor",
            STEP_TITLES["tensor"],
            f"The input holds B × S × F = {b} × {s} × {f} = {plural(b * s * f, 'number')}: {plural(b, 'sequence')} of "
            f"{plural(s, 'token')}, each token with {plural(f, 'feature')}. We follow the cell (b, s, f) = ({cb}, {cs}, {cf}).",
            (rf"{idx} = {tex(x)}",),
        ),
        Step(
            "group",
            STEP_TITLES["group"],
            f"{label} averages over {_reduce_words(result)}: the {n} lit cells share one {shared} "
            f"with the chosen cell ({result.norm.summary}). The tensor has {result.n_groups} such groups.{pad_note}",
            (rf"n = {n} \qquad \text{{statistics in the tensor}} = {result.n_groups}",),
        ),
    ]
    if not result.norm.has_statistic:  # DyT: no statistic at all, each cell is squashed on its own
        numbers = {k: tex(p) for k, p in result.option_numbers(cf).items()}
        out += [
            Step(
                "mean",
                STEP_TITLES["mean"],
                f"{label} computes no mean: no cell looks at any other.",
                (r"\mu \ \text{is not used}",),
            ),
            Step(
                "variance",
                STEP_TITLES["variance"],
                f"{label} computes no variance either: instead of dividing by a statistic it squashes with tanh.",
                (r"\sigma^2 \ \text{is not used}",),
            ),
            Step(
                "normalized",
                STEP_TITLES["normalized"],
                result.norm.cell_words,
                (result.norm.cell_tex.format(**numbers, x=f"({tex(x)})", x_hat=tex(v["x_hat"])),),
            ),
        ]
    elif centered:
        total = float(vals.sum())
        out.append(
            Step(
                "mean",
                STEP_TITLES["mean"],
                f"The mean of the {n} lit values: add them up and divide by {n}.",
                (
                    rf"\mu = \frac{{1}}{{{n}}}\left({_terms(listed)}\right)",
                    rf"= \frac{{{tex(total)}}}{{{n}}} = {tex(mu)}",
                ),
            )
        )
        dev2 = [(t - mu) ** 2 for t in listed]
        out.append(
            Step(
                "variance",
                STEP_TITLES["variance"],
                f"The average squared distance of the lit values from μ (divided by n = {n}, not n − 1).",
                (
                    r"\sigma^2 = \frac{1}{n}\sum_i (x_i - \mu)^2",
                    rf"= \frac{{1}}{{{n}}}\left({_terms(dev2)}\right) = {tex(var)}",
                    rf"\sqrt{{\sigma^2 + \varepsilon}} = \sqrt{{{tex(var)} + {tex(eps)}}} = {tex((var + eps) ** 0.5)}",
                ),
            )
        )
        out.append(
            Step(
                "normalized",
                STEP_TITLES["normalized"],
                "Subtract μ and divide by the standard deviation: the lit group now has mean 0 and variance ≈ 1.",
                (formulas.normalized_line(v, eps),),
            )
        )
    else:
        sq = [t * t for t in listed]
        out.append(
            Step(
                "mean",
                STEP_TITLES["mean"],
                f"{label} does not subtract a mean: the values keep their centre, so there is no μ to compute.",
                (r"\mu \ \text{is not used}",),
            )
        )
        out.append(
            Step(
                "variance",
                STEP_TITLES["variance"],
                f"Instead of the variance, {label} uses the mean square of the {n} lit values.",
                (
                    rf"{formulas.MEAN_SQUARE} = \tfrac{{1}}{{n}}\sum_i x_i^2",
                    rf"= \frac{{1}}{{{n}}}\left({_terms(sq)}\right) = {tex(var)}",
                    rf"\mathrm{{rms}} = \sqrt{{{tex(var)} + {tex(eps)}}} = {tex((var + eps) ** 0.5)}",
                ),
            )
        )
        out.append(
            Step(
                "normalized",
                STEP_TITLES["normalized"],
                "Divide by the root mean square: the lit group now has mean square ≈ 1 (its mean is not 0).",
                (formulas.normalized_line(v, eps, centered=False),),
            )
        )
    out.append(
        Step(
            "affine",
            STEP_TITLES["affine"],
            "Learned per feature: γ scales and β shifts x̂, so the layer can undo the normalization if training wants "
            "to (here one value for every feature).",
            (rf"\gamma = {tex(g)} \qquad \beta = {tex(beta)}",),
        )
    )
    hat = result.normalized.detach()[group_mask(result, cell)].double()
    h_mean, h_var = float(hat.mean()), float(hat.var(correction=0))
    moment = (
        f"mean {small(h_mean)} and variance {fmt(h_var, 3)}"
        if centered
        else f"mean square {fmt(float(hat.square().mean()), 3)}"
    )
    if not result.norm.reduce:
        moment = f"the single value {fmt(h_mean, 3)} (tanh keeps every x̂ between -1 and 1)"
    out.append(
        Step(
            "output",
            STEP_TITLES["output"],
            f"The output of the cell. Before γ and β, its group of {plural(n, 'value')} has {moment}"
            + (
                f"; the other {plural(result.n_groups - 1, 'group')} "
                f"{'was' if result.n_groups == 2 else 'were'} normalized the same way with their own statistics."
                if result.n_groups > 1
                else "; it is the only group."
            ),
            (formulas.output_line(v),),
        )
    )
    return tuple(out)


def takeaway(result: NormResult, cell: tuple[int, int, int]) -> str:
    """One sentence computed from the numbers: where the cell went and what it shared."""
    v = result.cell(*cell)
    n = int(group_values(result, cell).numel())
    if not result.norm.reduce:
        return (
            f"{result.norm.label} turned x = {fmt(v['x'])} into y = {fmt(v['y'])} with tanh alone: no statistic, "
            "nothing shared with any other cell, so no other value can change this output."
        )
    stat = (
        f"μ = {fmt(v['mean'])} and σ² = {fmt(v['var'])}"
        if result.norm.centered
        else f"a mean square of {fmt(v['var'])}"
    )
    return (
        f"{result.norm.label} turned x = {fmt(v['x'])} into y = {fmt(v['y'])} using {stat}, "
        f"shared with {n - 1} other cell{'s' if n != 2 else ''}: change any of them and this output changes too."
    )


def group_mask(result: NormResult, cell: tuple[int, int, int]) -> Tensor:
    """(B, S, F) bool: the cells that share `cell`'s statistic and fed it."""
    return (result.group_id == result.group_id[cell]) & result.contributes


def step_label(index: int) -> str:
    """The step picker's label of step `index` (0-based): '3. Its mean μ'."""
    return f"{index + 1}. {STEP_TITLES[STEP_KEYS[index]]}"


def move(index: int, delta: int) -> int:
    """The step `delta` clicks away from `index`, kept between the first and the last step."""
    return min(LAST_STEP, max(0, index + delta))


@dataclass(frozen=True)
class WalkthroughConfig:
    """The walkthrough's own setting: the step shown (0-based); the tensor, norm and cell come from the sidebar."""

    step: int = 0


@dataclass(frozen=True, eq=False)
class WalkthroughView:
    """What the walkthrough shows at one step: the step's text and formulas, the shared cube (every step, lit from the
    group's step on), the step's own picture beside it, and the takeaway."""

    index: int
    step: Step
    heading: str
    picture: str | None
    """The step's own picture under the cube: "line" (the group's values on a number line, from μ on) or None."""
    cube_title: str | None
    """The cube's title (None: the figure's own)."""
    show_group: bool
    group_mask: Tensor
    """(B, S, F) bool: the cells of the chosen cell's group, for the number line."""
    takeaway: str | None
    """The closing sentence, on the last step only."""

    @property
    def first(self) -> bool:
        return self.index == 0

    @property
    def last(self) -> bool:
        return self.index == LAST_STEP


def walkthrough_view(result: NormResult, cell: tuple[int, int, int], cfg: WalkthroughConfig) -> WalkthroughView:
    """Step `cfg.step` of `cell`'s walkthrough, with the figure it needs and, on the last step, the takeaway."""
    if not 0 <= cfg.step <= LAST_STEP:
        raise ValueError(f"step {cfg.step} does not exist; the walkthrough has steps 0 to {LAST_STEP}")
    b, s, f = result.shape
    step = steps(result, cell)[cfg.step]
    return WalkthroughView(
        cfg.step,
        step,
        f"Step {cfg.step + 1} of {len(STEP_KEYS)}: {step.title}",
        None if step.key in ("tensor", "group") else "line",
        f"x: {b} × {s} × {f}, the chosen cell {cell}" if step.key == "tensor" else None,
        step.key != "tensor",  # the group stays lit on every step after its own: each number comes from it
        group_mask(result, cell),
        takeaway(result, cell) if cfg.step == LAST_STEP else None,
    )
