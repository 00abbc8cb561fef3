"""Multi-device training: per-device BatchNorm vs SyncBatchNorm vs LayerNorm, and what must be communicated."""

import streamlit as st
import torch

from norm_viz import ui
from norm_viz.questions import figures as fq
from norm_viz.questions import multi_device as checks

BYTES = {"float32": 4, "bfloat16": 2, "float16": 2, "float64": 8}


@st.cache_data(max_entries=32, show_spinner=False, hash_funcs=ui.HASH_FUNCS)
def devices_check(x: torch.Tensor, k: int, nbytes: int) -> checks.MultiDeviceCheck:
    return checks.multi_device(x, k, bytes_per_value=nbytes)


st.title("Multi-device training: what must the GPUs agree on?")
ui.show_url_notices()
st.markdown(
    "Data-parallel training cuts the batch into **K shards**, one per device. Plain BatchNorm then normalizes each "
    "shard with *its own* statistics, so the same example is normalized differently depending on its neighbours "
    "on that device. **SyncBatchNorm** exchanges each device's mean, variance and count every step so that all use "
    "the whole batch's statistics. LayerNorm's statistics live inside one token, so there is nothing to exchange."
)

tcfg, x = ui.user_tensor(expanded=False)
b, s, f = x.shape
valid_k = [k for k in range(1, b + 1) if b % k == 0]
ui.init_state("md_k", 2 if b % 2 == 0 and b > 1 else 1, ui.int_in(1, ui.MAX_B))
ui.init_state("md_dtype", "float32", ui.choice(list(BYTES)))
c1, c2 = st.columns(2)
c1.number_input(f"devices K (must divide B = {b}: {', '.join(map(str, valid_k))})", 1, ui.MAX_B, key="md_k")
c2.selectbox("dtype of the exchanged statistics", list(BYTES), key="md_dtype")
k = int(st.session_state.md_k)
nbytes = BYTES[st.session_state.md_dtype]

check: checks.MultiDeviceCheck | None = None
try:
    check = devices_check(x, k, nbytes)
except ValueError as e:
    st.error(f"{e}.")

if check is not None:
    if k == 1:
        st.warning("With K = 1 there is a single device: every norm sees the whole batch. Choose K ≥ 2 to split it.")
    ui.chart(fq.device_stats_figure(check), key="md_stats")
    spread = float((check.device_mean - check.global_mean).abs().max())
    m1, m2, m3 = st.columns(3)
    m1.metric(
        "per-device BN vs whole-batch BN",
        f"{check.local_bn_vs_global:.3g}",
        "max |Δ output|",
        delta_color="off",
        delta_arrow="off",
    )
    m2.metric(
        "SyncBN vs whole-batch nn.BatchNorm1d",
        f"{check.syncbn_vs_global:.1e}",
        "max |Δ output|",
        delta_color="off",
        delta_arrow="off",
    )
    ln = next((r for r in check.rows if r.key == "layernorm"), None)
    if ln is not None:
        m3.metric(
            "per-device LN vs whole-batch LN",
            fq.fmt_delta(ln.local_vs_global),
            f"{ln.values_per_device} values sent",
            delta_color="off",
            delta_arrow="off",
        )
    ok = check.syncbn_vs_global < 1e-9
    (st.success if ok else st.error)(
        "SyncBN (each device's mean, variance and count combined by count) equals "
        f"`nn.BatchNorm1d({f})` on the whole batch: max |Δ| = {check.syncbn_vs_global:.1e}. "
        f"The device means differ from the whole batch's by up to {spread:.3g}.",
        icon=":material/check_circle:" if ok else ":material/error:",
    )
    w = b // k * s / (b * s)
    terms = " + ".join(rf"{w:.3g}\cdot{ui.tex(float(m), paren=True)}" for m in check.device_mean[:, 0])
    st.latex(rf"\mu_0 = {terms} = {ui.tex(float(check.global_mean[0]))}")
    st.latex(
        r"\mu = \sum_d \tfrac{n_d}{n}\,\mu_d, \qquad \sigma^2 = \sum_d \tfrac{n_d}{n}\left(\sigma_d^2 + (\mu_d - \mu)^2\right),"
        rf"\qquad n_d = \tfrac{{B}}{{K}}\cdot S = {b // k}\cdot {s} = {b // k * s}"
    )

    st.subheader("What each device must send per training step")
    table = [
        {
            "norm": r.label,
            "needs sync?": {True: "yes", False: "no", None: "—"}[r.needs_sync],
            "max |Δ| per-device vs global": fq.fmt_delta(r.local_vs_global),
            "statistics shared across devices": r.statistics,
            "values sent (forward)": r.values_per_device,
            "values (backward)": r.values_backward,
            f"bytes sent ({st.session_state.md_dtype})": r.bytes_per_device,
            "note": r.error or "",
        }
        for r in check.rows
    ]
    st.dataframe(ui.verdict_table(table, {"needs sync?": "no"}), hide_index=True, width="stretch")
    st.caption(
        "Values follow torch.nn.SyncBatchNorm: in the forward pass each device all-gathers its per-feature mean and "
        "1/std plus one count (2·F + 1 numbers); the backward pass all-reduces two more per-feature sums (2·F). "
        "A norm whose per-device output already equals the global one needs nothing."
    )
    sync = [r for r in check.rows if r.needs_sync]
    free = [r.label for r in check.rows if r.needs_sync is False]
    if k == 1:
        takeaway = "With one device nothing is split, so no norm needs to communicate; choose K ≥ 2."
    elif sync:
        takeaway = (
            f"Split over {k} devices, {', '.join(r.label for r in sync)} normalize differently per device (up to "
            f"{max(r.local_vs_global or 0.0 for r in sync):.3g}) unless each device sends {sync[0].values_per_device} values "
            f"({sync[0].bytes_per_device} bytes) per step, after which SyncBN matches the global batch to "
            f"{check.syncbn_vs_global:.0e}; {', '.join(free) or 'no norm'} need no communication at all."
        )
    else:
        takeaway = f"Split over {k} devices, no norm's output changes: none needs communication on this tensor."
    st.info(f"**Takeaway.** {takeaway}")
ui.sync_url([*ui.SHARED_KEYS, "md_k", "md_dtype"])
