"""The one package module that imports streamlit: shared widgets, URL state, caching, friendly errors.

Widgets keep their values in st.session_state under short keys that are also the URL's query
parameters, so a copied link opens the same view; a malformed parameter falls back to its default
with a visible notice.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st
import torch

from norm_viz.compute import NormResult, normalize
from norm_viz.data import KINDS, PRESETS, UploadError, lengths_mask, make_tensor, parse_upload
from norm_viz.numbers import fmt as fmt  # re-exported: pages write ui.fmt / ui.tex
from norm_viz.numbers import tex as tex
from norm_viz.specs import NORMS, default_groups, valid_group_counts

MAX_B, MAX_S, MAX_F = 16, 32, 64
SOURCES = {
    "generate": "Generate (seeded)",
    "preset": "A worked example from the sources",
    "edit": "Edit values in a table",
    "upload": "Upload a file",
}
SHARED_KEYS = (
    "src",
    "B",
    "S",
    "F",
    "kind",
    "seed",
    "scale",
    "shift",
    "preset",
    "rows_are",
    "norm",
    "G",
    "eps",
    "gamma",
    "beta",
    "lengths",
    "alpha",
    "warmup",
    "gscale",
)
"""Widget keys that every page shares (the tensor and the norm), kept alive across page switches."""

GLOBAL_KEYS = ("present",)
"""Keys that app.py owns on every page (presentation mode); pages never drop them from the URL."""
CELL_KEYS = ("cb", "cs", "cf")
"""The chosen cell (b, s, f), shared by the pages that show one cell's computation."""
PRESENT_HIDES = (*SHARED_KEYS, *CELL_KEYS)
"""Widgets that presentation mode hides from the main area (the sidebar is hidden whole)."""

_NOTICES = "_url_notices"
_KEEP = "_keep_"
_WRITTEN = "_url_written"
_RUN = threading.local()
"""Per script run (each session's script runs in its own thread): where URL notices go on this run."""
_CHECKED = "_url_checked"


# --- URL state -------------------------------------------------------------------------------
# A widget's value comes, in this order, from: a URL value that this app did not write itself (a shared
# link, a page link with query parameters, an edited address), the widget's current value, the value it
# had when last shown on another page, the default. Keys starting with "_" are never put in the URL.


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


def choice(options: Sequence[str]) -> Callable[[str], str]:
    """A URL parser for one of `options`."""

    def parse(raw: str) -> str:
        if raw not in options:
            raise ValueError(f"unknown value; it must be one of {', '.join(options)}")
        return raw

    return parse


def flag(raw: str) -> bool:
    """A URL parser for an on/off value: 1/0, true/false, on/off."""
    low = raw.strip().lower()
    if low in ("1", "true", "on", "yes"):
        return True
    if low in ("0", "false", "off", "no"):
        return False
    raise ValueError("not an on/off value; it must be 1 or 0")


def notice(msg: str) -> None:
    """Show a URL notice in the box app.py put at the top of the page (or queue it for show_url_notices)."""
    box = getattr(_RUN, "notice_box", None)
    if box is not None:
        box.warning(msg, icon=":material/link_off:")
    else:
        st.session_state.setdefault(_NOTICES, []).append(msg)


_PAGES: dict[str, Any] = {}
"""url_path -> st.Page of app.py's PAGES (the same for every session), for links between pages."""


def register_pages(pages: dict[str, list[Any]]) -> None:
    """Called by app.py with its PAGES, so that pages can link to each other by url_path."""
    _PAGES.clear()
    # the default page's public url_path is "" (the root); its own one is what links name
    _PAGES.update({getattr(p, "_url_path", "") or p.url_path: p for group in pages.values() for p in group})


def page_link(url_path: str, label: str, query: Sequence[tuple[str, str]] = (), container: Any = None) -> bool:
    """A link to another page with query parameters; a caption instead when no page has that url_path."""
    box = container or st
    page = _PAGES.get(url_path)
    if page is None:
        box.caption(f"{label}: the '{url_path}' demo is not part of this build.")
        return False
    box.page_link(page, label=label, icon=":material/open_in_new:", query_params=dict(query) or None)
    return True


_NAV_CSS = """
<style>
[data-testid="stSidebarNavItems"] { max-height: 42vh; overflow-y: auto; }
</style>
"""
"""The page list scrolls inside its own box, so the tensor controls below it stay in view."""


def begin_page() -> None:
    """Called by app.py on every run before the page: the presentation toggle and the box for URL notices."""
    st.markdown(_NAV_CSS, unsafe_allow_html=True)
    presentation_toggle()
    _RUN.notice_box = st.container()


def presenting() -> bool:
    """True while presentation mode is on (controls hidden, larger text and figures)."""
    return bool(st.session_state.get("present", False))


_PRESENT_CSS = """
<style>
html { font-size: 21px; }
section[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"],
[data-testid="stSidebarNav"], header[data-testid="stHeader"] { display: none !important; }
[data-testid="stMainBlockContainer"] { max-width: 100% !important; padding: 1.2rem 2.5rem 2rem 2.5rem !important; }
h1 { font-size: 2.6rem !important; }
{hidden} { display: none !important; }
</style>
"""


def presentation_toggle() -> None:
    """The 'Presentation mode' switch: in the sidebar when off, top right when on (the sidebar is then hidden)."""
    init_state("present", False, flag)
    on = presenting()
    where = st.container(horizontal=True, horizontal_alignment="right") if on else st.sidebar
    where.toggle(
        ":material/co_present: Presentation mode",
        key="present",
        help="Hides the controls and enlarges text and figures, for a projector; the link keeps it on.",
    )
    if on:
        hidden = ", ".join(f".st-key-{k}" for k in PRESENT_HIDES)
        st.markdown(_PRESENT_CSS.replace("{hidden}", hidden), unsafe_allow_html=True)
    _write_url(GLOBAL_KEYS)


def chart(fig: Any, key: str, **kwargs: Any) -> Any:
    """st.plotly_chart at full width, with fonts and height enlarged in presentation mode."""
    from norm_viz.figures import scaled

    if presenting():
        fig = scaled(fig, 1.35)
    return st.plotly_chart(fig, width="stretch", key=key, **kwargs)


def _ensure_router() -> None:
    """Rerun through app.py when Streamlit ran a page file directly.

    With a pages/ folder, the first run after a server start uses Streamlit's legacy pages-folder mode: a link to
    /walkthrough runs pages/walkthrough.py without app.py (no presentation toggle, no URL notices, other sidebar).
    app.py's st.navigation switches that mode off for good; until it has run once, a page reruns the script.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def init_state(key: str, default: Any, parse: Callable[[str], Any]) -> bool:
    """Give widget `key` its value: from the URL when it came from outside and is valid, else keep or default it.

    Returns True when the value was taken from the URL on this run (so that a page can check it further).
    """
    _ensure_router()
    ss = st.session_state
    written = ss.setdefault(_WRITTEN, {})
    raw = st.query_params.get(key)
    if raw is not None and raw != written.get(key):  # a link or an edited address, not our own last write
        written[key] = raw
        try:
            ss[key] = parse(raw)
            return True
        except (ValueError, TypeError) as e:
            fallback = ss.get(key, ss.get(_KEEP + key, default))
            notice(f"URL parameter `{key}={raw[:40]}` was ignored: {e}. Using {fallback!r}.")
    if key in ss:
        ss[key] = ss[key]  # a value Streamlit keeps even if the widget is new here
    elif _KEEP + key in ss:  # the widget was on another page: restore its last value
        ss[key] = ss[_KEEP + key]
    else:
        ss[key] = default
    return False


def show_url_notices() -> None:
    """Show notices queued while no notice box existed (app.py normally shows them at the top at once)."""
    _ensure_router()
    for msg in st.session_state.pop(_NOTICES, []):
        st.warning(msg, icon=":material/link_off:")


def _as_text(v: Any) -> str:
    return ("1" if v else "0") if isinstance(v, bool) else str(v)


def _write_url(keys: Sequence[str]) -> None:
    ss = st.session_state
    written = ss.setdefault(_WRITTEN, {})
    for k in keys:
        if k in ss and not k.startswith("_"):
            v = _as_text(ss[k])
            written[k] = v
            if st.query_params.get(k) != v:
                st.query_params[k] = v


def sync_url(keys: Sequence[str]) -> None:
    """Write the current values of `keys` to the URL so that the link reproduces this view; drop other keys."""
    ss = st.session_state
    remember(keys)
    _write_url(keys)
    allowed = set(keys) | set(GLOBAL_KEYS)
    unknown = [k for k in st.query_params if k not in allowed]
    if unknown and not ss.get(_CHECKED):  # only a link from outside deserves a notice
        names = ", ".join(f"`{k}`" for k in unknown[:8])
        notice(f"URL parameter(s) {names} are not used by this page and were removed.")
    for k in unknown:
        del st.query_params[k]
    ss[_CHECKED] = True


def remember(keys: Sequence[str]) -> None:
    """Copy widget values to keys Streamlit does not clean up, so that they survive a page switch."""
    for k in keys:
        if k in st.session_state:
            st.session_state[_KEEP + k] = st.session_state[k]


def init_cell(shape: tuple[int, int, int]) -> tuple[int, int, int]:
    """The chosen cell (cb, cs, cf) from the URL or session, clamped into the tensor with a notice."""
    out = []
    for k, n, axis in zip(CELL_KEYS, shape, ("batch", "sequence", "feature"), strict=True):
        from_url = init_state(k, 0, int_in(0, 10**6))
        v = int(st.session_state[k])
        if v >= n:
            if from_url:
                notice(f"URL parameter `{k}={v}` is outside this tensor ({axis} has {n}); using {n - 1}.")
            st.session_state[k] = v = n - 1
        out.append(v)
    return out[0], out[1], out[2]


def cell_inputs(shape: tuple[int, int, int], container: Any = None) -> tuple[int, int, int]:
    """Three number inputs for the chosen cell (call init_cell first)."""
    box = container or st
    b, s, f = shape
    c1, c2, c3 = box.columns(3)
    c1.number_input("b (batch)", 0, b - 1, key="cb")
    c2.number_input("s (sequence)", 0, s - 1, key="cs")
    c3.number_input("f (feature)", 0, f - 1, key="cf")
    ss = st.session_state
    return int(ss.cb), int(ss.cs), int(ss.cf)


# --- the tensor ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TensorConfig:
    """Everything that determines the input tensor, as primitives (the cache key)."""

    source: str
    batch: int
    sequence: int
    features: int
    kind: str = "normal"
    seed: int = 0
    scale: float = 1.0
    shift: float = 0.0
    preset: str = "d2l"
    upload_digest: str = ""

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.batch, self.sequence, self.features


@st.cache_data(max_entries=64, show_spinner=False)
def generated_tensor(
    batch: int, sequence: int, features: int, kind: str, seed: int, scale: float, shift: float
) -> torch.Tensor:
    return make_tensor(batch, sequence, features, kind, seed, scale=scale, shift=shift)


def tensor_controls() -> TensorConfig:
    """The sidebar's tensor builder; returns the config (uploaded arrays go to session state)."""
    init_state("src", "generate", choice(list(SOURCES)))
    init_state("B", 4, int_in(1, MAX_B))
    init_state("S", 6, int_in(1, MAX_S))
    init_state("F", 8, int_in(1, MAX_F))
    init_state("kind", "normal", choice(list(KINDS)))
    init_state("seed", 0, int_in(0, 2**31 - 1))
    init_state("scale", 1.0, float_in(1e-6, 1e6))
    init_state("shift", 0.0, float_in(-1e6, 1e6))
    init_state("preset", "d2l", choice(list(PRESETS)))
    init_state("rows_are", "batch", choice(["batch", "sequence"]))
    sb = st.sidebar
    sb.header("Tensor")
    src = sb.radio("Where the numbers come from", list(SOURCES), format_func=SOURCES.get, key="src")
    if src == "preset":
        key = sb.selectbox("Example", list(PRESETS), format_func=lambda k: PRESETS[k].label, key="preset")
        p = PRESETS[key]
        sb.caption(f"From: {p.source}. {p.note}")
        b, s, f = p.tensor().shape
        return TensorConfig("preset", b, s, f, preset=key)
    if src == "upload":
        return _upload_controls()
    sb.slider("batch B (sequences)", 1, MAX_B, key="B")
    sb.slider("sequence S (tokens per sequence)", 1, MAX_S, key="S")
    sb.slider("features F (per token)", 1, MAX_F, key="F")
    sb.selectbox("values", list(KINDS), format_func=lambda k: f"{k}: {KINDS[k]}", key="kind")
    sb.number_input("seed", 0, 2**31 - 1, step=1, key="seed")
    c1, c2 = sb.columns(2)
    c1.number_input("× scale", 1e-6, 1e6, format="%g", key="scale")
    c2.number_input("+ shift", -1e6, 1e6, format="%g", key="shift")
    ss = st.session_state
    return TensorConfig(src, ss.B, ss.S, ss.F, ss.kind, int(ss.seed), float(ss.scale), float(ss.shift))


def _upload_controls() -> TensorConfig:
    sb = st.sidebar
    sb.radio(
        "rows of a 2D table are",
        ["batch", "sequence"],
        key="rows_are",
        horizontal=True,
        format_func=lambda r: {"batch": "batch items", "sequence": "tokens of one sequence"}[r],
    )
    up = sb.file_uploader("CSV (2D) or .npy (1D-3D), at most 2 MB", type=["csv", "npy", "txt"], key="upload")
    sb.caption(
        f"Limits: batch ≤ {MAX_B}, sequence ≤ {MAX_S}, features ≤ {MAX_F}. Files are parsed as numbers only, never unpickled."
    )
    if up is not None:
        data = up.getvalue()
        digest = hashlib.sha256(data + st.session_state.rows_are.encode()).hexdigest()[:16]
        try:
            arr = parse_upload(up.name, data, rows_are=st.session_state.rows_are, max_shape=(MAX_B, MAX_S, MAX_F))
        except UploadError as e:
            sb.error(f"Could not use '{up.name}': {e}")
        else:
            st.session_state["_upload_array"] = (digest, arr)
    held = st.session_state.get("_upload_array")
    if held is None:
        sb.info("No file yet: showing the D2L example until you upload one.")
        b, s, f = PRESETS["d2l"].tensor().shape
        return TensorConfig("preset", b, s, f, preset="d2l")
    digest, arr = held
    b, s, f = arr.shape
    return TensorConfig("upload", b, s, f, upload_digest=digest)


def build_tensor(cfg: TensorConfig) -> torch.Tensor:
    """The input tensor for a config (generated tensors are cached; edits are applied by the page)."""
    if cfg.source == "preset":
        return PRESETS[cfg.preset].tensor()
    if cfg.source == "upload":
        _digest, arr = st.session_state["_upload_array"]
        return torch.tensor(arr, dtype=torch.float32)
    return generated_tensor(*cfg.shape, cfg.kind, cfg.seed, cfg.scale, cfg.shift)


def user_tensor(expanded: bool = True) -> tuple[TensorConfig, torch.Tensor]:
    """The sidebar's tensor, with the editable table in the page when its source is "edit"."""
    tcfg = tensor_controls()
    x = build_tensor(tcfg)
    if tcfg.source == "edit":
        label = "Edit the values (rows are tokens b, s; columns are features f)"
        with st.expander(label, expanded=expanded, icon=":material/edit:"):
            x = tensor_editor(x)
    return tcfg, x


def user_result(x: torch.Tensor) -> tuple[NormConfig, NormResult]:
    """The norm picker and the normalized tensor; the page stops here (with a message shown) when they are invalid."""
    ncfg = norm_controls(tuple(x.shape))  # type: ignore[arg-type]
    r = None if ncfg is None else run_norm(x, ncfg)
    if ncfg is None or r is None:
        st.info(
            "Change the tensor or the parameters above; the rest of the page returns when the normalization can run."
        )
        st.stop()
    return ncfg, r  # type: ignore[return-value]


def table_of(x: torch.Tensor) -> pd.DataFrame:
    """A (B·S) × F table of a tensor, rows labelled 'b0 s0', columns 'f0'…"""
    b, s, f = x.shape
    index = [f"b{i} s{j}" for i in range(b) for j in range(s)]
    return pd.DataFrame(x.reshape(b * s, f).double().numpy(), index=index, columns=[f"f{k}" for k in range(f)])


def tensor_editor(x: torch.Tensor) -> torch.Tensor:
    """An editable table of the tensor; returns the edited tensor (empty or non-numeric cells rejected)."""
    b, s, f = x.shape
    edited = st.data_editor(table_of(x), key=f"editor_{b}_{s}_{f}", width="stretch", height=min(420, 38 + 35 * b * s))
    arr = edited.to_numpy(dtype=np.float64, na_value=np.nan)
    if not np.isfinite(arr).all():
        st.error(
            "Every cell of the table needs a finite number; the empty or invalid cells were reset to their previous values."
        )
        arr = np.where(np.isfinite(arr), arr, x.reshape(b * s, f).double().numpy())
    return torch.tensor(arr.reshape(b, s, f), dtype=torch.float32)


# --- the norm --------------------------------------------------------------------------------


@dataclass(frozen=True)
class NormConfig:
    """The chosen norm and its parameters, as primitives."""

    key: str
    groups: int
    eps: float
    gamma: float
    beta: float
    lengths: tuple[int, ...] = ()
    alpha: float = 0.5
    """DyT's α."""
    warmup: bool = True
    """PowerNorm: True = warm-up step (divide by the batch's ψ²), False = divide by the running ψ²."""
    scaling_groups: int = 0
    """PowerNorm's GroupScaling groups (0 = off)."""


def parse_lengths(text: str, batch: int, sequence: int) -> tuple[int, ...]:
    """'3, 5, 2' -> one length per sequence, each 0..S; ValueError says what is valid."""
    parts = [p for p in text.replace(";", ",").replace(" ", ",").split(",") if p]
    if not parts:
        return (sequence,) * batch
    try:
        vals = tuple(int(p) for p in parts)
    except ValueError:
        raise ValueError(f"lengths must be whole numbers separated by commas, got {text!r}") from None
    if len(vals) == 1:
        vals = vals * batch
    if len(vals) != batch:
        raise ValueError(f"give one length per sequence: {batch} numbers (or one for all), got {len(vals)}")
    if any(not 0 <= v <= sequence for v in vals):
        raise ValueError(f"each length must be between 0 and S = {sequence}, got {list(vals)}")
    return vals


def lengths_text(raw: str) -> str:
    """A URL parser for a list of whole numbers separated by commas (lengths, batch sizes; checked later)."""
    if not re.fullmatch(r"[0-9 ,;]*", raw):
        raise ValueError("it must be whole numbers separated by commas, e.g. 6,4,5")
    return raw


def norm_controls(shape: tuple[int, int, int], container: Any = None) -> NormConfig | None:
    """The normalization picker and its parameters; None (with a message shown) when they are invalid."""
    box = container or st
    b, s, f = shape
    init_state("norm", "layernorm", choice(list(NORMS)))
    g_from_url = init_state("G", 0, int_in(0, MAX_F))
    init_state("eps", 1e-5, float_in(0.0, 10.0))
    init_state("gamma", 1.0, float_in(-100, 100))
    init_state("beta", 0.0, float_in(-100, 100))
    init_state("lengths", "", lengths_text)
    init_state("alpha", 0.5, float_in(-100, 100))
    init_state("warmup", True, flag)
    init_state("gscale", 0, int_in(0, MAX_F))
    c1, c2, c3, c4 = box.columns([3, 2, 2, 2])
    key = c1.selectbox("Normalization", list(NORMS), format_func=lambda k: NORMS[k].label, key="norm")
    spec = NORMS[key]
    groups = 1
    if spec.uses_groups:
        valid = valid_group_counts(f)
        if st.session_state.G not in valid:
            if g_from_url:
                notice(
                    f"URL parameter `G={st.session_state.G}` does not divide F = {f}; valid group counts: "
                    f"{', '.join(map(str, valid))}. Using {default_groups(f)}."
                )
            st.session_state.G = default_groups(f)
        groups = c2.selectbox(f"groups (divisors of F = {f})", valid, key="G")
    c3.number_input("ε (eps)", 0.0, 10.0, format="%.0e", key="eps", help="added to the variance inside the square root")
    g1, g2 = c4.columns(2)
    g1.number_input(
        "γ", -100.0, 100.0, key="gamma", help="scale applied after normalizing (same for every feature here)"
    )
    g2.number_input("β", -100.0, 100.0, key="beta", help="shift applied after scaling")
    if spec.key == "dyt":
        c2.number_input("α (DyT)", -100.0, 100.0, step=0.1, key="alpha", help="y = γ·tanh(α·x) + β")
    if spec.key == "powernorm":
        p1, p2 = box.columns(2)
        p1.toggle(
            "warm-up step (divide by this batch's ψ²; off: by the running ψ², here its initial value 1)",
            key="warmup",
        )
        options = [0, *valid_group_counts(f)]
        if st.session_state.gscale not in options:
            st.session_state.gscale = 0
        p2.selectbox(
            "GroupScaling groups (0 = off; the authors' code applies it first)",
            options,
            key="gscale",
        )
    lengths: tuple[int, ...] = ()
    if spec.masked:
        text = box.text_input(
            f"Sequence lengths (one per sequence, 0..{s}; the rest is padding)",
            key="lengths",
            placeholder=", ".join(str(max(1, s - i)) for i in range(b)),
        )
        try:
            lengths = parse_lengths(text, b, s)
        except ValueError as e:
            box.error(f"{e}. Example for B = {b}: {', '.join(str(max(1, s - i)) for i in range(b))}")
            return None
    ss = st.session_state
    return NormConfig(
        key,
        groups,
        float(ss.eps),
        float(ss.gamma),
        float(ss.beta),
        lengths,
        float(ss.alpha),
        bool(ss.warmup),
        int(ss.gscale) if key == "powernorm" else 0,
    )


def run_norm(x: torch.Tensor, cfg: NormConfig) -> NormResult | None:
    """normalize() with the config; a ValueError becomes an error box saying what is wrong."""
    _b, s, f = x.shape
    spec = NORMS[cfg.key]
    mask = lengths_mask(cfg.lengths, s) if spec.masked and cfg.lengths else None
    affine = (s, f) if spec.affine == "sequence_feature" else (f,)
    weight = None if cfg.gamma == 1.0 else torch.full(affine, cfg.gamma)
    bias = None if cfg.beta == 0.0 else torch.full(affine, cfg.beta)
    try:
        r = normalize(
            x,
            cfg.key,
            cfg.eps,
            groups=cfg.groups,
            mask=mask,
            weight=weight,
            bias=bias,
            alpha=cfg.alpha,
            warmup=cfg.warmup,
            scaling_groups=cfg.scaling_groups,
        )
    except ValueError as e:
        st.error(f"{spec.label} cannot run on this tensor: {e}")
        return None
    if not torch.isfinite(r.output).all():
        st.warning(
            f"With ε = {cfg.eps:g}, a group whose values are all equal has variance 0, so x̂ = 0 / √0 = NaN "
            "(torch.nn gives NaN too). Set ε > 0, e.g. 1e-5, to get 0 instead.",
            icon=":material/warning:",
        )
    return r


def clicked_cell(chart_state: Any, shape: tuple[int, int, int]) -> tuple[int, int, int] | None:
    """The (b, s, f) of the point clicked on a heatmaps_figure chart, or None (nothing valid clicked)."""
    try:
        point = chart_state["selection"]["points"][0]
        data = point["customdata"]
        if isinstance(data, dict):  # the browser may send a JSON array as an index-keyed object
            data = [data[k] for k in sorted(data, key=int)]
        cell = tuple(int(v) for v in list(data)[:3])
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    if len(cell) != 3 or not all(0 <= v < n for v, n in zip(cell, shape, strict=True)):
        return None
    return cell  # type: ignore[return-value]


def tensor_digest(t: torch.Tensor) -> str:
    """A content hash of a tensor: st.cache_data cannot hash tensors itself, so pages pass hash_funcs=HASH_FUNCS."""
    data = t.detach().cpu().contiguous()
    return hashlib.sha256(data.numpy().tobytes() + f"{tuple(data.shape)}{data.dtype}".encode()).hexdigest()


HASH_FUNCS = {torch.Tensor: tensor_digest}
"""Pass to @st.cache_data(hash_funcs=...) to cache page computations on the user's tensor."""


GOOD_BG = "#CDEFE3"  # a light tint of figures.OUTPUT: the answer a transformer wants
BAD_BG = "#F9D5C0"  # a light tint of figures.SELECTED: the answer that breaks it


def verdict_table(rows: Sequence[dict[str, Any]], good: dict[str, str]) -> Any:
    """A styled table: in each column of `good`, cells starting with its good word are tinted green, others orange.

    Words rather than emoji, because a projector's browser may lack an emoji font; cells starting with '—' stay plain.
    """

    def colour(col: pd.Series) -> list[str]:
        if col.name not in good:
            return [""] * len(col)
        return [
            ""
            if str(v).startswith("—")
            else f"background-color: {GOOD_BG if str(v).startswith(good[col.name]) else BAD_BG}"
            for v in col
        ]

    return pd.DataFrame(list(rows)).style.apply(colour)
