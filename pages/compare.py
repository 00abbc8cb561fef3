"""Compare: every norm side by side on the same tensor, and a property table measured by running the checks."""

import streamlit as st
import torch

from norm_viz import ui
from norm_viz.core.table import default_groups
from norm_viz.explore import figures
from norm_viz.questions import properties as checks

COLUMNS = {
    "batch_independent": ("batch-independent?", "batch-dependence page: another sample rescaled, this one unchanged"),
    "causal_safe": ("causal-safe?", "causal page: last token perturbed, no earlier position moved"),
    "train_eval_same": ("same in train and eval?", "train-vs-eval page: running statistics after one step"),
    "padding_safe": ("padding-safe?", "padding page: real tokens unchanged by pads and their values"),
    "needs_sync": ("needs cross-device sync?", "multi-device page: per-device output differs from global"),
}


@st.cache_data(max_entries=16, show_spinner=False, hash_funcs=ui.HASH_FUNCS)
def properties(x: torch.Tensor) -> tuple[checks.Properties, ...]:
    return checks.property_table(x)


def mark(v: bool | None) -> str:
    return "— (n/a)" if v is None else "yes" if v else "no"


st.title("All norms side by side")
ui.show_url_notices()
st.markdown(
    "The same tensor through every normalization of the table. The small cubes show which cells share one statistic "
    "with the chosen cell; the table below answers the transformer questions for each norm, **each cell measured by "
    "running the checks of the other pages on this tensor**, not typed in."
)

tcfg, x = ui.user_tensor(expanded=False)
b, s, f = x.shape
for key, n in (("cmp_b", b), ("cmp_s", s), ("cmp_f", f)):
    ui.init_state(key, 0, ui.int_in(0, 10**6))
    st.session_state[key] = min(int(st.session_state[key]), n - 1)
c1, c2, c3 = st.columns(3)
c1.number_input(f"cell b (0..{b - 1})", 0, b - 1, key="cmp_b")
c2.number_input(f"cell s (0..{s - 1})", 0, s - 1, key="cmp_s")
c3.number_input(f"cell f (0..{f - 1})", 0, f - 1, key="cmp_f")
cell = (int(st.session_state.cmp_b), int(st.session_state.cmp_s), int(st.session_state.cmp_f))
ui.chart(figures.groups_overview_figure((b, s, f), cell, default_groups(f)), key="cmp_cubes")

props = properties(x)
rows = []
for p in props:
    row = {"norm": p.label}
    for attr, (name, _) in COLUMNS.items():
        row[name] = mark(getattr(p, attr))
    row["statistics"] = "—" if p.statistics is None else str(p.statistics)
    row["values per statistic"] = "—" if p.values_per_statistic is None else str(p.values_per_statistic)
    row["note"] = "; ".join(p.notes)
    rows.append(row)
st.subheader(f"Properties measured on this {b} × {s} × {f} tensor")
good = {name: "no" if attr == "needs_sync" else "yes" for attr, (name, _) in COLUMNS.items()}
st.dataframe(ui.verdict_table(rows, good), hide_index=True, width="stretch")
st.caption(
    " · ".join(f"**{name}** — {how}" for name, how in COLUMNS.values()) + ". — means the check needs a larger tensor."
)
measured = [attr for attr in COLUMNS if any(getattr(p, attr) is not None for p in props)]
missing = [name for attr, (name, _) in COLUMNS.items() if attr not in measured]
if missing:
    st.warning(
        f"Not measurable on a {b} × {s} × {f} tensor: {', '.join(missing)}. Batch dependence and devices need B ≥ 2, "
        "causality and padding need S ≥ 2 (set them in the sidebar)."
    )
for p in props:
    if p.notes:
        st.warning(f"**{p.label}** cannot run on this tensor: {'; '.join(p.notes)}")


def passes(p: checks.Properties) -> bool:
    """Every measured answer is the one a transformer wants (a norm that cannot run does not pass)."""
    return p.statistics is not None and all(getattr(p, a) is (a != "needs_sync") for a in measured)


WANT = {
    "batch_independent": "batch-independent",
    "causal_safe": "causal-safe",
    "train_eval_same": "the same in train and eval",
    "padding_safe": "padding-safe",
    "needs_sync": "free of cross-device sync",
}
passing = [p.label for p in props if passes(p)]
takeaway = (
    f"Of {len(props)} norms, {', '.join(passing) or 'none'} pass all {len(measured)} checks measurable on this "
    f"tensor ({', '.join(WANT[a] for a in measured)})."
)
st.info(f"**Takeaway.** {takeaway}")
ui.sync_url([*ui.SHARED_KEYS, "cmp_b", "cmp_s", "cmp_f"])
