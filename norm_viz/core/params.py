"""Page parameters, declared once: a key (the widget's and the URL's), a default and what is valid.

Pure Python (no streamlit). A page lists its parameters in one tuple of `Param`; the ui layer gives every
widget its value from that table (URL first, then the session, then the default), writes the URL back,
and builds the page's frozen config from it. TensorFlow Playground's `State.PROPS` is the model.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, TypeVar

T = TypeVar("T")


def int_in(lo: int, hi: int) -> Callable[[str], int]:
    """A URL parser for a whole number in [lo, hi] whose error says what is valid."""

    def parse(raw: str) -> int:
        try:
            v = int(raw)
        except ValueError:
            raise ValueError(f"not a whole number; it must be a whole number from {lo} to {hi}") from None
        if not lo <= v <= hi:
            raise ValueError(f"out of range; it must be a whole number from {lo} to {hi}")
        return v

    return parse


def float_in(lo: float, hi: float) -> Callable[[str], float]:
    """A URL parser for a finite number in [lo, hi] whose error says what is valid."""

    def parse(raw: str) -> float:
        try:
            v = float(raw)
        except ValueError:
            raise ValueError(f"not a number; it must be a number from {lo:g} to {hi:g}") from None
        if not lo <= v <= hi:  # also rejects nan
            raise ValueError(f"out of range; it must be a number from {lo:g} to {hi:g}")
        return v

    return parse


def choice(options: Sequence[Any]) -> Callable[[str], Any]:
    """A URL parser for one of `options` (compared as text, returned as the option itself)."""

    def parse(raw: str) -> Any:
        for o in options:
            if raw == str(o):
                return o
        raise ValueError(f"unknown value; it must be one of {', '.join(map(str, options))}")

    return parse


def flag(raw: str) -> bool:
    """A URL parser for an on/off value: 1/0, true/false, on/off."""
    low = raw.strip().lower()
    if low in ("1", "true", "on", "yes"):
        return True
    if low in ("0", "false", "off", "no"):
        return False
    raise ValueError("not an on/off value; it must be 1 or 0")


def number_list(raw: str) -> str:
    """A URL parser for a list of whole numbers separated by commas (lengths, batch sizes; checked later)."""
    if not re.fullmatch(r"[0-9 ,;]*", raw):
        raise ValueError("it must be whole numbers separated by commas, e.g. 6,4,5")
    return raw


@dataclass(frozen=True)
class Param:
    """One parameter of a page: its widget/URL key, default, and valid values.

    The kind follows the default: bool -> on/off, int -> whole number in [lo, hi], float -> number in [lo, hi],
    str -> one of `options` (or any text matching `parse`). `field` names the config field it fills
    (default: the key).
    """

    key: str
    default: Any
    lo: float | None = None
    hi: float | None = None
    options: tuple[Any, ...] | None = None
    field: str = ""
    parser: Callable[[str], Any] | None = None
    """A custom URL parser (e.g. `number_list`); overrides the one derived from the default."""

    @property
    def name(self) -> str:
        """The config field this parameter fills."""
        return self.field or self.key

    def parse(self, raw: str) -> Any:
        """The value of a URL parameter; ValueError says what is valid."""
        if self.parser is not None:
            return self.parser(raw)
        if self.options is not None:
            return choice(self.options)(raw)
        if isinstance(self.default, bool):
            return flag(raw)
        if isinstance(self.default, int):
            lo = -(2**63) if self.lo is None else int(self.lo)
            hi = 2**63 - 1 if self.hi is None else int(self.hi)
            return int_in(lo, hi)(raw)
        if isinstance(self.default, float):
            lo_f = float("-inf") if self.lo is None else float(self.lo)
            hi_f = float("inf") if self.hi is None else float(self.hi)
            return float_in(lo_f, hi_f)(raw)
        return raw

    def clamp(self, value: Any, hi: float | None = None) -> Any:
        """`value` moved into [lo, hi] (`hi` may be tightened, e.g. to the tensor's size); others unchanged."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return value
        top = self.hi if hi is None else hi if self.hi is None else min(self.hi, hi)
        if top is not None and value > top:
            value = type(value)(top)
        if self.lo is not None and value < self.lo:
            value = type(value)(self.lo)
        return value


def build(config: type[T], params: Sequence[Param], values: Mapping[str, Any], **extra: Any) -> T:
    """A frozen config dataclass filled from parameter values (by each Param's field name) plus `extra`."""
    names = {f.name for f in fields(config)}  # type: ignore[arg-type]
    kwargs = {p.name: values[p.key] for p in params if p.name in names and p.key in values}
    return config(**{**kwargs, **extra})


def keys(params: Sequence[Param]) -> tuple[str, ...]:
    """The URL keys of a parameter table."""
    return tuple(p.key for p in params)


@dataclass(frozen=True)
class NormParam(Param):
    """A parameter of one normalization (a NORMS row): also how its widget looks and what is valid for F features.

    `field` is both the NormConfig entry and normalize()'s keyword argument. `choices(F)` lists the valid values
    for F features (the widget is then a select box); `fallback(F)` replaces a value that is not among them.
    `widget` is "select", "number" or "toggle"; `inline` puts it next to the norm picker instead of a row below.
    """

    label: str = ""
    help: str = ""
    widget: str = "number"
    step: float | None = None
    inline: bool = False
    choices: Callable[[int], Sequence[Any]] | None = None
    fallback: Callable[[int], Any] | None = None
    invalid: str = "is not valid for F = {F}; valid values: {valid}"
    """The notice for a URL value not among `choices(F)`, with {F} and {valid} filled in."""

    def valid(self, features: int) -> list[Any] | None:
        """The valid values for this many features (None: any value in [lo, hi])."""
        return None if self.choices is None else list(self.choices(features))

    def settle(self, value: Any, features: int) -> Any:
        """`value` if it is valid for this many features, else the fallback (or the default)."""
        options = self.valid(features)
        if options is None or value in options:
            return value
        return self.fallback(features) if self.fallback is not None else self.default
