"""One cell's derivation in LaTeX, x -> μ, σ² (or the mean square) -> x̂ -> y, with the numbers plugged in.

Pure (no streamlit; torch only through a NormResult): it takes the numbers of `NormResult.cell()` (x, mean, var, x_hat, gamma, beta, y)
and returns lines for st.latex. The one home of the per-cell formulas (walkthrough, custom axes, Explorer).
"""

from __future__ import annotations

from collections.abc import Mapping

from norm_viz.core.compute import NormResult
from norm_viz.core.numbers import tex
from norm_viz.core.table import Norm

MEAN_SQUARE = r"\overline{x^2}"
"""The symbol of an uncentered norm's statistic, the mean square of its group."""
PSI_SQUARE = r"\psi^2"
"""PowerNorm's name for the same statistic (the quadratic mean ψ²)."""

Numbers = Mapping[str, float | int]
"""The numbers of one cell, as `NormResult.cell()` returns them."""


def input_line(v: Numbers) -> str:
    """x = …"""
    return rf"x = {tex(v['x'])}"


def statistics_line(v: Numbers, eps: float, *, centered: bool = True, var_symbol: str = MEAN_SQUARE) -> str:
    """μ, σ² and ε of the cell's group, or its mean square and ε when the norm does not center."""
    var, e = tex(v["var"]), tex(eps)
    if centered:
        return rf"\mu = {tex(v['mean'])} \qquad \sigma^2 = {var} \qquad \varepsilon = {e}"
    return rf"{var_symbol} = {var} \qquad \varepsilon = {e}"


def normalized_line(
    v: Numbers,
    eps: float,
    *,
    centered: bool = True,
    alpha: float | None = None,
    var_symbol: str = MEAN_SQUARE,
    aligned: bool = False,
) -> str:
    """x̂ as a formula, then with the numbers, then its value; `alpha` given: x̂ = tanh(αx), no statistic.

    `aligned` breaks the line before the value (for a narrow column).
    """
    x, xh = tex(v["x"]), tex(v["x_hat"])
    if alpha is not None:
        return rf"\hat x = \tanh(\alpha x) = \tanh({tex(alpha)} \cdot {tex(v['x'], paren=True)}) = {xh}"
    root = rf"\sqrt{{{tex(v['var'])} + {tex(eps)}}}"
    if centered:
        symbolic = r"\frac{x - \mu}{\sqrt{\sigma^2 + \varepsilon}}"
        numeric = rf"\frac{{{x} - {tex(v['mean'], paren=True)}}}{{{root}}}"
    else:
        symbolic = rf"\frac{{x}}{{\sqrt{{{var_symbol} + \varepsilon}}}}"
        numeric = rf"\frac{{{x}}}{{{root}}}"
    if aligned:
        return rf"\begin{{aligned}}\hat x &= {symbolic} = {numeric}\\ &= {xh}\end{{aligned}}"
    return rf"\hat x = {symbolic} = {numeric} = {xh}"


def output_line(v: Numbers) -> str:
    """y = γ x̂ + β with the numbers."""
    return (
        rf"y = \gamma \hat x + \beta = {tex(v['gamma'])} \cdot {tex(v['x_hat'], paren=True)} + "
        rf"{tex(v['beta'], paren=True)} = {tex(v['y'])}"
    )


def cell_derivation(
    v: Numbers,
    eps: float,
    *,
    centered: bool = True,
    alpha: float | None = None,
    var_symbol: str = MEAN_SQUARE,
    aligned: bool = True,
) -> tuple[str, ...]:
    """The whole derivation of one cell: x, its group's statistics (none for tanh), x̂, y."""
    stats = () if alpha is not None else (statistics_line(v, eps, centered=centered, var_symbol=var_symbol),)
    return (
        input_line(v),
        *stats,
        normalized_line(v, eps, centered=centered, alpha=alpha, var_symbol=var_symbol, aligned=aligned),
        output_line(v),
    )


def norm_derivation(
    v: Numbers,
    eps: float,
    norm: Norm,
    alpha: float | None = None,
    var_symbol: str = MEAN_SQUARE,
    aligned: bool = True,
) -> tuple[str, ...]:
    """`cell_derivation` for a row of NORMS: a row that reduces no axis squashes with tanh(αx) (give `alpha`),
    the others center or not as the row says."""
    squash = not norm.reduce
    if squash and alpha is None:
        raise ValueError(f"{norm.label} computes no statistic: its derivation needs α (x̂ = tanh(αx))")
    return cell_derivation(
        v,
        eps,
        centered=norm.centered,
        alpha=alpha if squash else None,
        var_symbol=var_symbol,
        aligned=aligned,
    )


def result_derivation(result: NormResult, cell: tuple[int, int, int], aligned: bool = True) -> tuple[str, ...]:
    """The derivation of one cell of a result, as its NORMS row writes it: a row without a statistic uses its
    own `cell_tex` (with its parameters' numbers), the others their statistic's symbol."""
    v = result.cell(*cell)
    norm = result.norm
    if not norm.has_statistic:
        numbers = {k: tex(p) for k, p in result.option_numbers(cell[2]).items()}
        own = norm.cell_tex.format(**numbers, x=tex(v["x"], paren=True), x_hat=tex(v["x_hat"]))
        return input_line(v), own, output_line(v)
    symbol = norm.stat_symbol or MEAN_SQUARE
    return cell_derivation(v, result.eps, centered=norm.centered, var_symbol=symbol, aligned=aligned)
