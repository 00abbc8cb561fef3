"""Train vs eval: BatchNorm's running statistics, the PyTorch and Keras momentum conventions, and batch size 1."""

import streamlit as st
import torch

from norm_viz import ui
from norm_viz.core.table import NORMS
from norm_viz.questions import figures as fq
from norm_viz.questions import train_eval as checks


@st.cache_data(max_entries=32, show_spinner=False)
def simulate(
    steps: int, b: int, s: int, f: int, drift: float, seed: int, momentum: float, keras_momentum: float
) -> checks.RunningStats:
    return checks.simulate_running_stats(checks.drifting_batches(steps, b, s, f, drift, seed), momentum, keras_momentum)


@st.cache_data(max_entries=32, show_spinner=False, hash_funcs=ui.HASH_FUNCS)
def modes(x: torch.Tensor, item: int, rm: torch.Tensor | None, rv: torch.Tensor | None) -> checks.ModeCheck:
    return checks.train_vs_eval(x, item, rm, rv)


st.title("Train vs eval: does BatchNorm give the same answer at inference?")
ui.show_url_notices()
st.markdown(
    "In **training** mode BatchNorm divides by the mean and variance of *this batch*. It also keeps **running** "
    "averages of them, and in **eval** mode it uses those instead. When the data drift during training, or when a "
    "batch at inference holds a single example, the two modes disagree. LayerNorm keeps no running statistics: "
    "each token is normalized with its own numbers in both modes."
)

tcfg, x = ui.user_tensor(expanded=False)
b, s, f = x.shape

ui.init_state("tr_steps", 30, ui.int_in(1, 200))
ui.init_state("tr_drift", 0.2, ui.float_in(0.0, 2.0))
ui.init_state("tr_mom", 0.1, ui.float_in(0.001, 1.0))
ui.init_state("tr_kmom", 0.99, ui.float_in(0.0, 0.999))
ui.init_state("tr_feat", 0, ui.int_in(0, ui.MAX_F - 1))
ui.init_state("tr_item", 0, ui.int_in(0, ui.MAX_B - 1))
st.session_state.tr_feat = min(int(st.session_state.tr_feat), f - 1)
st.session_state.tr_item = min(int(st.session_state.tr_item), b - 1)

st.header("1. Running statistics during training")
st.caption(
    f"Training batches of this tensor's shape (B = {b}, S = {s}, F = {f}) drawn from a distribution whose mean "
    "rises by *drift* every step (seeded by the sidebar's seed)."
)
c1, c2, c3, c4, c5 = st.columns(5)
c1.slider("training steps", 1, 200, key="tr_steps")
c2.slider("drift per step", 0.0, 2.0, step=0.05, key="tr_drift")
c3.number_input("PyTorch momentum", 0.001, 1.0, step=0.01, format="%.3f", key="tr_mom", help="weight of the NEW value")
c4.number_input("Keras momentum", 0.0, 0.999, step=0.01, format="%.3f", key="tr_kmom", help="weight of the OLD value")
c5.number_input("feature to plot", 0, f - 1, key="tr_feat")
ss = st.session_state
seed = tcfg.seed if tcfg.source == "generate" else 0
rs: checks.RunningStats | None = None
try:
    rs = simulate(int(ss.tr_steps), b, s, f, float(ss.tr_drift), seed, float(ss.tr_mom), float(ss.tr_kmom))
except ValueError as e:
    st.error(f"The training simulation cannot run: {e}. Set B × S ≥ 2 in the sidebar (e.g. B = 2).")

if rs is not None:
    feat = int(ss.tr_feat)
    ui.chart(fq.running_stats_figure(rs, feat), key="tr_running")
    ok = max(rs.nn_mean_diff, rs.nn_var_diff) < 1e-9
    (st.success if ok else st.error)(
        f"Checked against `nn.BatchNorm1d({f}, momentum={rs.momentum:g})` step by step: "
        f"max |Δ running_mean| = {rs.nn_mean_diff:.1e}, max |Δ running_var| = {rs.nn_var_diff:.1e}. "
        f"The Keras rule's mean equals `nn.BatchNorm1d(momentum={1 - rs.keras_momentum:.3g})`: max |Δ| = {rs.keras_nn_mean_diff:.1e}.",
        icon=":material/check_circle:" if ok else ":material/error:",
    )
    n = rs.values_per_statistic
    last = rs.steps - 1
    prev_m = rs.torch_mean[last - 1, feat] if last else torch.tensor(0.0)
    prev_v = rs.torch_var[last - 1, feat] if last else torch.tensor(1.0)
    m, mk = rs.momentum, rs.keras_momentum
    st.markdown(f"**The last step, feature {feat}** (n = B·S = {n} values per feature):")
    st.latex(
        rf"\text{{PyTorch: }} \hat\mu \leftarrow (1-{m:g})\,{ui.tex(float(prev_m), paren=True)} + {m:g}\cdot"
        rf"{ui.tex(float(rs.batch_mean[last, feat]), paren=True)} = {ui.tex(float(rs.torch_mean[last, feat]))}"
    )
    st.latex(
        rf"\hat\sigma^2 \leftarrow (1-{m:g})\,{ui.tex(float(prev_v))} + {m:g}\cdot \underbrace{{"
        rf"{ui.tex(float(rs.batch_var[last, feat]))} \cdot \tfrac{{{n}}}{{{n - 1}}}}}_{{\text{{unbiased}}}}"
        rf" = {ui.tex(float(rs.torch_var[last, feat]))}"
    )
    st.latex(
        rf"\text{{Keras: }} \hat\mu \leftarrow {mk:g}\cdot \hat\mu_{{\text{{old}}}} + {1 - mk:.3g}\cdot \mu_{{\text{{batch}}}}"
        rf" = {ui.tex(float(rs.keras_mean[last, feat]))}, \quad \hat\sigma^2 = {ui.tex(float(rs.keras_var[last, feat]))}"
        r"\ (\text{biased batch variance})"
    )
    gap_t = float((rs.torch_mean[last] - rs.batch_mean[last]).abs().max())
    gap_k = float((rs.keras_mean[last] - rs.batch_mean[last]).abs().max())
    st.markdown(
        f"After {rs.steps} steps the running mean trails the last batch's mean by up to **{gap_t:.3g}** (PyTorch) "
        f"and **{gap_k:.3g}** (Keras): an exponential average with weight {m:g} on the new value remembers about "
        f"{1 / m:.0f} steps, Keras's {1 - mk:.3g} about {1 / max(1 - mk, 1e-9):.0f}."
    )

st.header("2. The same input in training and eval mode")
rm = None if rs is None else rs.torch_mean[-1]
rv = None if rs is None else rs.torch_var[-1]
st.caption(
    "The sidebar's tensor, normalized once with its own batch statistics (training mode) and once with the running "
    + (
        "statistics at the end of the simulation above (eval mode)."
        if rs is not None
        else "statistics μ̂ = 0, σ̂² = 1 (a fresh layer)."
    )
)
mc = modes(x, int(ss.tr_item), rm, rv)
labels = [r.label for r in mc.rows]
diffs = [r.train_eval_diff for r in mc.rows]
ui.chart(
    fq.norm_bars_figure(
        labels,
        diffs,
        [None if d is None else d > 1e-9 for d in diffs],
        "max |training-mode output − eval-mode output|",
        "max |Δ output|",
        notes=["(cannot train on this batch)" if r.error else "" for r in mc.rows],
    ),
    key="tr_modes",
)
for r in mc.rows:
    if r.error:
        st.warning(f"**{r.label}** cannot run in training mode on this batch: {r.error}")

st.header("3. Inference with batch size 1")
st.columns(4)[0].number_input(f"example to run alone (0..{b - 1})", 0, b - 1, key="tr_item")
item = int(ss.tr_item)
bn = mc.row("batchnorm") if "batchnorm" in NORMS else None
if bn is not None and bn.alone_train_error:
    st.error(
        f"**BatchNorm in training mode on example {item} alone fails**: it has B × S = 1 × {s} = {s} value per feature. "
        f"PyTorch says: *{mc.torch_single_value_error}*. Why: with one value, the batch mean μ equals that value, so "
        r"x − μ = 0 and the output would be β for every input, whatever it is; and the running variance would need the "
        "unbiased variance, which divides by n − 1 = 0."
    )
elif bn is not None and bn.alone_train_diff is not None:
    st.warning(
        f"**BatchNorm in training mode on example {item} alone does not fail, it silently changes meaning**: with B = 1 "
        f"it averages over the {s} tokens of that one sequence, which is InstanceNorm (max |Δ| vs InstanceNorm = "
        f"{fq.fmt_delta(bn.alone_vs_instancenorm)}). Its output moves by {fq.fmt_delta(bn.alone_train_diff)} compared "
        "with the same example inside the batch, and each token now depends on the later tokens of its sentence."
    )
alone = [r.alone_train_diff for r in mc.rows]
ui.chart(
    fq.norm_bars_figure(
        labels,
        alone,
        [None if d is None else d > 1e-9 for d in alone],
        f"Training mode: example {item} alone vs inside the batch",
        "max |Δ output|",
        notes=["(fails: one value per statistic)" if r.alone_train_error else "" for r in mc.rows],
    ),
    key="tr_alone",
)
eval_same = [r.key for r in mc.rows if r.alone_eval_diff is not None and r.alone_eval_diff <= 1e-9]
st.markdown(
    f"In **eval** mode every norm gives example {item} the same output alone as inside the batch "
    f"({len(eval_same)} of {len(mc.rows)} norms checked: max |Δ| = "
    f"{fq.fmt_delta(max((r.alone_eval_diff or 0.0) for r in mc.rows))}): BatchNorm then uses fixed running statistics."
)

mode_dependent = [r.label for r in mc.rows if r.train_eval_diff is not None and r.train_eval_diff > 1e-9]
same = [r.label for r in mc.rows if r.train_eval_diff is not None and r.train_eval_diff <= 1e-9]
if mode_dependent:
    worst = max((r for r in mc.rows if r.train_eval_diff is not None), key=lambda r: r.train_eval_diff or 0.0)
    takeaway = (
        f"On this tensor {', '.join(mode_dependent)} give different outputs in training and eval mode "
        f"(up to {worst.train_eval_diff:.3g} for {worst.label}), while {', '.join(same) or 'no norm'} give identical outputs "
        "in both modes: only norms with batch statistics carry a train/eval gap."
    )
else:
    takeaway = (
        "On this tensor every norm that runs gives the same output in training and eval mode: the running statistics "
        "match this batch's own."
    )
cannot = [r.label for r in mc.rows if r.error]
if cannot:
    takeaway += f" {', '.join(cannot)} cannot even run in training mode here: one value per statistic."
st.info(f"**Takeaway.** {takeaway}")
ui.sync_url([*ui.SHARED_KEYS, "tr_steps", "tr_drift", "tr_mom", "tr_kmom", "tr_feat", "tr_item"])
