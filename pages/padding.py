"""Padding and variable lengths: what padded zeros do to each norm's statistics, and how masking fixes BatchNorm."""

import streamlit as st
import torch

from norm_viz import ui
from norm_viz.core.config import parse_lengths
from norm_viz.core.data import default_lengths
from norm_viz.questions import figures as fq
from norm_viz.questions import padding as checks


@st.cache_data(max_entries=32, show_spinner=False, hash_funcs=ui.HASH_FUNCS)
def padding(x: torch.Tensor, lengths: tuple[int, ...], pad_value: float) -> checks.PaddingCheck:
    return checks.padding_effect(x, lengths, pad_value)


st.title("Padding: do the padded zeros change the real tokens?")
ui.show_url_notices()
st.markdown(
    "Sentences have different lengths, so a batch is filled up to the longest one with **padding** tokens. "
    "A norm that averages over the sequence or the batch counts those pads as if they were data, unless it is told "
    "which tokens are real (a mask). A norm that looks at one token at a time never sees them."
)

tcfg, x = ui.user_tensor(expanded=False)
b, s, f = x.shape
default = default_lengths(b, s)
ui.init_state("pad_lengths", "", ui.number_list)
ui.init_state("pad_value", 0.0, ui.float_in(-1e6, 1e6))
c1, c2 = st.columns([3, 1])
text = c1.text_input(
    f"Real length of each sequence (B = {b} numbers, each 0..{s}; the rest of the sequence is padding)",
    key="pad_lengths",
    placeholder=", ".join(map(str, default)),
    help="Leave empty for the pattern shown in grey. One number applies to every sequence.",
)
c2.number_input("value written into the pads", -1e6, 1e6, key="pad_value", format="%g")

check: checks.PaddingCheck | None = None
try:
    lengths = parse_lengths(text, b, s) if text.strip() else default
    check = padding(x, tuple(lengths), float(st.session_state.pad_value))
except ValueError as e:
    st.error(
        f"{e}. Valid: {b} whole numbers between 0 and {s}, at least one of them ≥ 1, e.g. {', '.join(map(str, default))}."
    )

if check is not None:
    if check.pads == 0:
        st.warning(
            f"No position is padding with these lengths (all equal S = {s}): every norm is trivially unaffected. "
            f"Give some sequences a length below {s}" + (" (and S ≥ 2 in the sidebar)." if s < 2 else ".")
        )
    left, right = st.columns([2, 3])
    left.plotly_chart(fq.padding_mask_figure(check), width="stretch", key="pad_mask")
    with right:
        n_real = int(check.mask.sum())
        st.markdown(
            f"BatchNorm's mean of feature 0 with the pads counted, then over the **{n_real} real tokens** only "
            "(what masked BatchNorm computes):"
        )
        real_sum = float(x.double()[check.mask][:, 0].sum()) if n_real else 0.0
        pad_sum = check.pads * check.pad_value
        st.latex(
            rf"\mu_0 = \frac{{{ui.tex(real_sum)} + {check.pads}\cdot{ui.tex(check.pad_value, paren=True)}}}{{{b * s}}}"
            rf" = {ui.tex(float(check.bn_mean_padded[0]))}"
            if b * s > 1
            else r"\mu_0 \text{ with pads: BatchNorm cannot train on one value}"
        )
        st.latex(
            rf"\mu_0^{{\text{{real}}}} = \frac{{{ui.tex(real_sum)}}}{{{n_real}}} = {ui.tex(float(check.bn_mean_real[0]))}"
        )
        if abs(pad_sum) == 0 and check.pads:
            st.caption("The zeros add nothing to the sum but still count in the denominator, so the mean shrinks.")
    ui.chart(fq.padding_stats_figure(check), key="pad_stats")

    diffs = [r.max_diff for r in check.rows]
    ui.chart(
        fq.norm_bars_figure(
            [r.label for r in check.rows],
            diffs,
            [None if r.safe is None else not r.safe for r in check.rows],
            "Real tokens' outputs: padded batch vs the same tokens without any padding",
            "max |Δ output| over the real tokens",
            notes=["(cannot run)" if r.error else "" for r in check.rows],
        ),
        key="pad_bars",
    )
    st.caption(
        "Without padding means: batch-statistics norms see only the real tokens; per-sequence norms see each sequence "
        "cut to its real length. A second run with random values in the pads gives the same verdicts: "
        + ", ".join(f"{r.label} {fq.fmt_delta(r.pad_content_diff)}" for r in check.rows if r.error is None)
        + "."
    )
    for r in check.rows:
        if r.error:
            st.warning(f"**{r.label}** cannot be compared on these lengths: {r.error}")

    if check.pads:
        safe = [r.label for r in check.rows if r.safe]
        hurt = sorted((r for r in check.rows if r.safe is False), key=lambda r: -(r.max_diff or 0.0))
        if hurt:
            takeaway = (
                f"With {check.pads} padded positions, {', '.join(r.label for r in hurt)} change the real tokens' outputs "
                f"(up to {hurt[0].max_diff:.3g} for {hurt[0].label}); {', '.join(safe) or 'no norm'} give identical "
                "outputs for the real tokens whatever the padding."
            )
        else:
            takeaway = f"With these lengths every norm gives the real tokens the same outputs as without padding ({', '.join(safe)})."
        st.info(f"**Takeaway.** {takeaway}")
ui.sync_url([*ui.SHARED_KEYS, "pad_lengths", "pad_value"])
