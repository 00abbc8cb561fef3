"""PowerNorm: BatchNorm without the mean, divided by a running quadratic mean after a warm-up (Shen et al., 2020)."""

import streamlit as st
import torch

from norm_viz import ui
from norm_viz.beyond import figures as figures_beyond
from norm_viz.core.compute import normalize
from norm_viz.core.data import KINDS, lengths_mask, make_tensor
from norm_viz.core.extra_norms import PN_ALPHA, PowerRun, powernorm_loop, powernorm_run
from norm_viz.core.table import valid_group_counts

st.title("PowerNorm: batch statistics made steady")
st.markdown(
    "BatchNorm struggles in transformers because a batch of sentences gives jumpy statistics (the PowerNorm paper, "
    "quoted in seed 000). **PowerNorm** (Shen et al., 2020) makes three changes: per feature it divides by the "
    "**quadratic mean** ψ² = mean of x² over the real tokens (no mean is subtracted); after a **warm-up** it divides "
    "by a **running** ψ². The running ψ² follows the authors' code: during warm-up it is first the **cumulative mean** "
    "of the batches' ψ² so far, and at every step it is then updated as ψ² ← 0.9·ψ² + 0.1·ψ²(batch). The authors' "
    "code also first applies **GroupScaling** (each token's feature group divided by its own RMS, with its own "
    "ε = 10⁻⁵), which the paper's text does not describe: off here unless you choose groups. "
    "Padding never enters ψ². Step through a sequence of batches below."
)

ui.init_state("pn_steps", 12, ui.int_in(2, 40))
ui.init_state("pn_warm", 4, ui.int_in(0, 40))
ui.init_state("pn_B", 4, ui.int_in(1, 16))
ui.init_state("pn_S", 8, ui.int_in(1, 32))
ui.init_state("pn_F", 8, ui.int_in(1, 16))
ui.init_state("pn_kind", "token_like", ui.choice(list(KINDS)))
ui.init_state("pn_var", True, ui.flag)
ui.init_state("pn_gs", 0, ui.int_in(0, 16))
ui.init_state("pn_seed", 0, ui.int_in(0, 2**31 - 1))
ui.init_state("pn_step", 1, ui.int_in(1, 40))
ui.init_state("pn_feat", 0, ui.int_in(0, 15))
ui.show_url_notices()

c1, c2, c3, c4 = st.columns(4)
c1.slider("batches (training steps)", 2, 40, key="pn_steps")
c2.slider("warm-up steps", 0, 40, key="pn_warm", help="steps that divide by their own batch's ψ²")
c3.slider("sequences per batch", 1, 16, key="pn_B")
c4.slider("tokens per sequence", 1, 32, key="pn_S")
d1, d2, d3, d4 = st.columns(4)
d1.slider("features", 1, 16, key="pn_F")
d2.selectbox("data", list(KINDS), key="pn_kind", format_func=lambda k: f"{k}: {KINDS[k]}")
f = int(st.session_state.pn_F)
gs_options = [0, *valid_group_counts(f)]
if st.session_state.pn_gs not in gs_options:
    st.session_state.pn_gs = 0
d3.selectbox("GroupScaling groups (0 = off)", gs_options, key="pn_gs")
d4.number_input("seed", 0, 2**31 - 1, key="pn_seed")
st.toggle("variable sentence lengths (the rest of each sequence is padding)", key="pn_var")

ss = st.session_state
n_steps, warm, b, s = int(ss.pn_steps), int(ss.pn_warm), int(ss.pn_B), int(ss.pn_S)
if warm > n_steps:
    st.warning(
        f"The warm-up ({warm} steps) is longer than the run ({n_steps} steps): every step uses batch statistics."
    )


@st.cache_data(max_entries=32, show_spinner=False)
def batches(
    n_steps: int, b: int, s: int, f: int, kind: str, seed: int, variable: bool
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """One seeded dataset cut into `n_steps` batches, with one mask of real tokens per batch."""
    data = make_tensor(n_steps * b, s, f, kind, seed)
    g = torch.Generator().manual_seed(seed + 1)
    lengths = torch.randint(1, s + 1, (n_steps * b,), generator=g) if variable else torch.full((n_steps * b,), s)
    mask = lengths_mask(lengths, s)
    return list(data.split(b)), list(mask.split(b))


@st.cache_data(max_entries=32, show_spinner=False)
def run(n_steps: int, warm: int, b: int, s: int, f: int, kind: str, seed: int, variable: bool, gs: int) -> PowerRun:
    xs, masks = batches(n_steps, b, s, f, kind, seed, variable)
    return powernorm_run(xs, masks, warm, scaling_groups=gs)


args = (n_steps, b, s, f, ss.pn_kind, int(ss.pn_seed), bool(ss.pn_var))
pr = run(n_steps, warm, *args[1:], int(ss.pn_gs))
xs, masks = batches(*args)

ss.pn_step = min(int(ss.pn_step), n_steps)
ss.pn_feat = min(int(ss.pn_feat), f - 1)
e1, e2 = st.columns([3, 1])
e1.slider("step to inspect", 1, n_steps, key="pn_step", format="step %d")
e2.number_input("feature to follow", 0, f - 1, key="pn_feat")
t, feat = int(ss.pn_step) - 1, int(ss.pn_feat)
step = pr.steps[t]

ui.chart(figures_beyond.powernorm_steps_figure(pr, feat, t), key="pn_steps_fig")
left, right = st.columns([3, 2], gap="large")
with left:
    ui.chart(figures_beyond.powernorm_features_figure(pr, t), key="pn_feat_fig")
with right:
    phase = "after warm-up: the running ψ² from before this step" if step.used_running else "warm-up: this batch's ψ²"
    st.markdown(f"**Step {t + 1}, feature {feat}** — {step.n_tokens} real tokens of {b * s}; divides by {phase}.")
    psi_b = float(step.psi2_batch[feat])
    before, after = float(step.running_before[feat]), float(step.running_after[feat])
    st.latex(
        rf"\psi^2_{{\text{{batch}}}} = \frac{{1}}{{{step.n_tokens}}}\sum_{{\text{{real tokens}}}} x^2 = {ui.fmt(psi_b)}"
    )
    st.latex(rf"\hat x = \frac{{x}}{{\sqrt{{{ui.fmt(float(step.divisor[feat]))} + 10^{{-5}}}}}}")
    if step.cumulative:  # the authors' warm-up: the cumulative mean of the batches' ψ² first, then the average
        k = step.step
        prior = (
            rf"\left(\tfrac{{{k - 1}}}{{{k}}} \cdot {ui.fmt(before)} + \tfrac{{1}}{{{k}}} \cdot {ui.fmt(psi_b)}\right)"
        )
    else:
        prior = ui.fmt(before)
    st.latex(
        rf"\psi^2_{{\text{{run}}}} \leftarrow {PN_ALPHA:g} \cdot {prior} + {1 - PN_ALPHA:.1g} \cdot {ui.fmt(psi_b)}"
        rf" = {ui.fmt(after)}"
    )
    if step.cumulative:
        st.caption(
            f"Step {step.step} is before the last warm-up step ({warm}), so, as in the authors' code, the running ψ² "
            "first becomes the cumulative mean of the batches' ψ² so far (the bracket), then takes the moving average."
        )
    r = normalize(
        xs[t],
        "powernorm",
        mask=masks[t],
        running_var=step.running_before,
        warmup=not step.used_running,
        scaling_groups=int(ss.pn_gs),
    )
    loop = powernorm_loop(
        xs[t],
        mask=masks[t],
        running=step.running_before,
        warmup=not step.used_running,
        scaling_groups=int(ss.pn_gs),
    )
    diff = float((r.normalized - loop).abs().max())
    (st.success if diff < 1e-4 else st.error)(
        f"normalize(x, 'powernorm') vs a cell-by-cell loop written from the paper's formulas: max |Δ| = {diff:.1e}"
    )
    st.caption(
        "The running ψ² starts at 1 (the buffer's initial value). With a warm-up of 2 steps or more, the cumulative "
        "mean replaces that 1 by the batches' own ψ² from step 1 on; with a shorter one the moving average starts "
        "from 1 and can stay far from a feature's own scale for a while: compare the bars."
    )
    ms = r.normalized[masks[t]].square().mean(0)
    st.markdown(
        f"Mean square of x̂ per feature at this step: {float(ms.min()):.3f} to {float(ms.max()):.3f} "
        f"({'exactly 1 up to ε: divided by its own ψ²' if not step.used_running else 'not 1: divided by the running ψ²'})."
    )

batch_psi = pr.psi2_batch[:, feat].double()
cv_batch = float(batch_psi.std() / batch_psi.mean()) if n_steps > 1 else 0.0
later = pr.divisors[warm:, feat].double() if warm < n_steps else None
if later is not None and later.numel() > 1:
    cv_div = float(later.std() / later.mean())
    st.info(
        f"**Takeaway:** over {n_steps} batches, feature {feat}'s batch ψ² varied by {cv_batch:.0%} (std / mean), "
        f"while the ψ² PowerNorm divided by after warm-up varied by {cv_div:.0%}: the running average makes the "
        f"scale {cv_batch / max(cv_div, 1e-12):.1f}× steadier."
    )
else:
    st.info(
        f"**Takeaway:** every step here is in warm-up, so PowerNorm divides by each batch's own ψ², which varied by "
        f"{cv_batch:.0%} (std / mean) for feature {feat}; shorten the warm-up to see the running ψ² take over."
    )
ui.sync_url(
    ["pn_steps", "pn_warm", "pn_B", "pn_S", "pn_F", "pn_kind", "pn_var", "pn_gs", "pn_seed", "pn_step", "pn_feat"]
)
