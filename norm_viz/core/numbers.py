"""Numbers for people: sensible precision on screen and in LaTeX (no torch, no streamlit)."""

from __future__ import annotations


def fmt(v: float, digits: int = 4) -> str:
    """A number with sensible precision for the screen: '0' for zero (never '-0'), scientific notation for tiny and
    huge values (1e-07, not 0: a variance of 10⁻⁷ is not a zero variance)."""
    if v == 0:
        return "0"
    return f"{v:.{digits}g}"


def tex(v: float, digits: int = 4, paren: bool = False) -> str:
    """A number for st.latex: 1e-05 as 10^{-5}, 2.5e-07 as 2.5 \\times 10^{-7}; negatives in parentheses if asked."""
    text = fmt(v, digits)
    if "e" in text:
        mant, exp = text.split("e")
        power = f"10^{{{int(exp)}}}"
        text = power if mant in ("1", "1.0") else rf"{mant} \times {power}"
    return f"({text})" if paren and v < 0 else text


def fmt_delta(v: float | None) -> str:
    """A change for a label or a table: 'n/a' for none, '0' for an exact zero, else three significant digits."""
    if v is None:
        return "n/a"
    if v == 0:
        return "0"
    return f"{v:.3g}" if v >= 1e-3 else f"{v:.1e}"


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 cell', '0 cells', '3 cells' ('1 statistic', '2 batch items' with many="batch items")."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def small(v: float, tol: float = 1e-6, digits: int = 4) -> str:
    """A number that should be 0 or close to it, for people: '≈ 0 (|·| < 1e-6)' below `tol`, else fmt(v)
    (never a raw '-8.8e-08' for a mean that is zero up to rounding)."""
    if abs(v) < tol:
        return f"≈ 0 (|·| < {tol:.0e})".replace("e-0", "e-")
    return fmt(v, digits)
