"""The training lab's streamlit layer: live runs (progress bar, charts every few steps, a stop button), the session's
results table, and the shipped repeated runs (norm_viz.training.results) with their verdicts, shown at once.

A live run is capped at LIVE_LIMIT_S CPU seconds (issue 18): a larger setting is refused with a message before it
starts, and a run that overshoots its estimate stops at the limit. Grids are computed only from the command line
(`python -m norm_viz.training.experiments`), never from the page. A live run of a shipped setting reproduces the
shipped number exactly (one torch thread, like the grid), and the page says so.

How stopping works: the page draws a Stop button before training starts; clicking it makes Streamlit interrupt the
running script and rerun it. Every step the run's records go to st.session_state, so the rerun finds the partial run,
shows it as stopped and adds it to the results table. A closed tab stops the run the same way (at its next step).

Training is the one thing in the app that may take a minute of CPU, so a server trains for one user at a time
(TRAINING_SLOTS, from NORM_VIZ_TRAINING_SLOTS): a class of 30 pressing Train at once would otherwise hold every core
for half an hour and every other page would wait. The slots are the admission pool "training" (ui/admission.py: its
runs per minute per tab, its message, its pauses while others' reruns compute). Who finds the slot taken is told so
and can read the shipped results.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from norm_viz.training import cnn, experiments, grid, lm
from norm_viz.training import figures as tf
from norm_viz.training import results as rs
from norm_viz.training import verdicts as vd
from norm_viz.training.layers import batch_dependent, label
from norm_viz.ui import admission
from norm_viz.ui.layout import chart, table
from norm_viz.ui.safety import checkpoint, escape

TRAINING_SLOTS = admission.POOLS["training"].slots
"""How many training runs one server process runs at once (NORM_VIZ_TRAINING_SLOTS, default 1)."""

LIVE_LIMIT_S = 60.0
"""The most CPU seconds one live run may take on the shared server (settings estimated above it are refused)."""

LM_LIVE, LM_LAST, LM_RUNS = "_tl_lm_live", "_tl_lm_last", "_tl_lm_runs"
CNN_LIVE, CNN_LAST, CNN_RUNS = "_tl_cnn_live", "_tl_cnn_last", "_tl_cnn_runs"


def duration(seconds: float) -> str:
    """'about 40 s' / 'about 3 min' for an estimate."""
    if seconds < 90:
        return f"about {max(1, round(seconds))} s"
    return f"about {seconds / 60:.0f} min" if seconds < 5400 else f"about {seconds / 3600:.1f} h"


@st.cache_data(max_entries=64, show_spinner=False)
def lm_per_step(cfg: lm.LMConfig) -> float:
    """Measured CPU seconds per LM step (steps and seed do not matter)."""
    return grid.lm_seconds_per_step(cfg)


@st.cache_data(max_entries=64, show_spinner=False)
def cnn_per_step(cfg: cnn.CNNConfig) -> float:
    """Measured CPU seconds per ConvNet step at this batch size."""
    return grid.cnn_seconds_per_step(cfg)


def lm_estimate(cfg: lm.LMConfig) -> float:
    """CPU seconds of a run: the per-step time measured once on the default model, scaled by multiply-adds."""
    base = lm.LMConfig(steps=1)
    return grid.estimate_lm(cfg, grid.scaled_lm_step(lm_per_step(base), base, cfg))


def cnn_estimate(cfg: cnn.CNNConfig) -> float:
    """CPU seconds of a run: the per-step time measured once per batch size (with BatchNorm)."""
    probe = cnn.CNNConfig(norm="batchnorm", batch_size=cfg.batch_size, epochs=1, dataset=cfg.dataset)
    return grid.estimate_cnn(cfg, cnn_per_step(probe))


def over_limit(estimate: float, what: str) -> str | None:
    """The message refusing a live run estimated above LIVE_LIMIT_S CPU seconds, or None when it fits."""
    if estimate <= LIVE_LIMIT_S:
        return None
    return (
        f"This {what} would take {duration(estimate)} of CPU; a live run on this shared server is limited to "
        f"{LIVE_LIMIT_S:.0f} CPU seconds. Lower the steps (or epochs), the model size or the batch size. Larger runs "
        "and whole grids are computed from the command line: `python -m norm_viz.training.experiments --grid lm` "
        "(or `--grid cnn`)."
    )


# --- the language model -----------------------------------------------------------------------------------------


@contextmanager
def training_slot(what: str) -> Iterator[bool]:
    """Hold one of the server's training slots while the block runs; yields False (after saying so on the page) when
    every slot is taken by another session's run, or this tab started too many runs this minute. The slot is released
    however the block ends (Stop, a closed tab)."""
    with admission.attempt("training", cost_s=LIVE_LIMIT_S) as refused:
        if refused is not None:
            st.warning(
                f"Not now: {escape(refused)}. {what[:1].upper()}{what[1:]} did not start: the server trains for "
                f"{TRAINING_SLOTS} user{'s' if TRAINING_SLOTS > 1 else ''} at a time, so that the rest of the app "
                "stays quick for everyone. Read the shipped results below meanwhile.",
                icon=":material/hourglass_disabled:",
            )
        yield refused is None


def _every(total: int) -> int:
    return max(1, math.ceil(total / 25))


@dataclass(frozen=True)
class Lab:
    """What differs between the two live runs (the language model, the ConvNet): their session keys, how they run,
    summarize and draw themselves."""

    name: str  # "lm" or "cnn": the prefix of the live charts' keys
    live: str  # session keys: the run in progress, the last history, the session's runs
    last: str
    runs: str
    history: type
    total: Callable[[Any], int]  # steps of a run of this config
    run: Callable[..., Any]  # run(cfg, callback=on_step(step, total)) -> history
    partial: Callable[[Any, list[Any]], Any]  # the history of an interrupted run from its steps
    summarize: Callable[[Any], Any]  # a results-table row of a history
    store: Callable[[Any], Any]  # the row kept in the session's table
    progress: Callable[[Any, int], str]  # the progress bar's text at a step
    figure: Callable[[list[Any], int], Any]  # the live loss chart
    bar_every_step: bool  # update the bar at every step (else with the chart)


LM = Lab(
    "lm", LM_LIVE, LM_LAST, LM_RUNS, lm.LMHistory, lambda c: c.steps, lm.run_lm, lm.partial_history,
    grid.summarize_lm, grid.summarize_lm,
    lambda s, n: f"step {s.step} of {n} · loss {s.train_loss:.3f} · {s.cpu_s:.1f} CPU s",
    lambda steps, n: tf.lm_loss_figure(steps, n, "Loss per step (live)"), True,
)  # fmt: skip
CNN = Lab(
    "cnn", CNN_LIVE, CNN_LAST, CNN_RUNS, cnn.CNNHistory, lambda c: c.total_steps,
    cnn.run_cnn, cnn.partial_history, grid.summarize_cnn, grid.summarize_cnn,
    lambda s, n: f"epoch {s.epoch}, step {s.step} of {n} · {s.cpu_s:.1f} CPU s", tf.cnn_loss_figure, False,
)  # fmt: skip


def live(lab: Lab, cfg: Any, train: bool, stop: bool, refused: str | None = None) -> Any:
    """Run (train=True) or recover (after Stop or another interruption) a live run; returns the history to show.
    `refused`: why this setting may not run live (over the CPU limit): said instead of training."""
    ss = st.session_state
    running = ss.get(lab.live)
    if running is not None and not train:  # the script was interrupted mid-run: Stop, or another widget
        del ss[lab.live]
        if running["steps"]:
            h = lab.partial(running["config"], running["steps"])
            ss[lab.last] = h
            ss.setdefault(lab.runs, []).append(lab.summarize(h))
            why = "you pressed Stop" if stop else "the page was changed while it ran"
            st.warning(
                f"Training stopped at step {len(h.steps)} of {lab.total(h.config)}: {why}.", icon=":material/stop:"
            )
    if train and refused:
        st.error(refused, icon=":material/timer_off:")
    elif train:
        with training_slot("your run") as free:
            if free:
                _train(lab, cfg)
    last = ss.get(lab.last)
    return last if isinstance(last, lab.history) else None


def _train(lab: Lab, cfg: Any) -> None:
    ss = st.session_state
    bar = st.progress(0.0, text="starting …")
    box = st.empty()
    steps: list[Any] = []
    ss[lab.live] = {"config": cfg, "steps": steps}
    every = _every(lab.total(cfg))
    start = time.thread_time()  # this run's own CPU time (with one torch thread the work runs on this thread)
    capped: list[bool] = []

    def on_step(s: Any, n: int) -> bool:
        checkpoint()  # a closed tab or Stop ends the run here, at its next step (the page may show every few only)
        steps.append(s)
        if time.thread_time() - start > LIVE_LIMIT_S:
            capped.append(True)
            return False  # the estimate was short: stop at the limit rather than hold the server
        shown = s.step % every == 0 or s.step == n
        if lab.bar_every_step or shown:
            bar.progress(s.step / n, text=lab.progress(s, n))
        if shown:
            with box.container():
                chart(lab.figure(steps, n), key=f"tl_{lab.name}_live_{s.step}")
        return True

    with experiments.one_thread():  # the shipped grids ran on one thread: the same numbers
        h = lab.run(cfg, callback=on_step)
    if capped:
        st.warning(f"Training stopped at the {LIVE_LIMIT_S:.0f} CPU-second limit of a live run.",
                   icon=":material/timer_off:")  # fmt: skip
    del ss[lab.live]
    bar.empty()
    box.empty()
    ss[lab.last] = h
    ss.setdefault(lab.runs, []).append(lab.store(h))


def lm_results(h: lm.LMHistory) -> None:
    """The charts and the final evaluation of one LM run."""
    c = h.config
    st.subheader(f"{label(c.norm)}, {c.placement}-norm, seed {c.seed}: {len(h.steps)} steps, {h.cpu_s:.1f} CPU s")
    for note in h.notes:
        st.error(note)
    chart(tf.lm_loss_figure(h.steps, c.steps), key="tl_lm_loss")
    f = h.final
    if f is not None:
        cols = st.columns(4)
        cols[0].metric("validation loss, eval mode", f"{f.val_loss:.3f}", help="running statistics: as deployed")
        cols[1].metric("… training-mode statistics", f"{f.val_loss_train_mode:.3f}",
                       help=f"statistics of validation batches of {c.batch_size} sentences")  # fmt: skip
        cols[2].metric("… batch size 1", f"{f.val_loss_batch1:.3f}", help="training-mode statistics of one sentence")
        fut = f.future
        cols[3].metric("future leak |Δ loss|", "—" if fut is None else ("0 exactly" if fut.mean_abs_diff == 0 else
                       f"{fut.mean_abs_diff:.4f}"),
                       help="mean change of a token's training-mode loss when the batch's later positions are "
                       "swapped for other sentences' (same past, same targets): 0 for a causal model")  # fmt: skip
        leak = ""
        if fut is not None:
            change = (
                "does not change a token's training-mode loss at all (exactly 0)"
                if fut.mean_abs_diff == 0
                else f"changes a token's training-mode loss by {fut.mean_abs_diff:.4f} nats on average"
            )
            leak = (
                " **Causal leak:** swapping every later position of a batch of 16 validation sentences for other "
                f"sentences' characters, keeping the past and the targets, {change}"
            )
        if batch_dependent(c.norm):
            st.markdown(
                f"**Honest evaluation.** {label(c.norm)} computes its statistics over the batch. Deployed, it uses its "
                f"running statistics (eval mode): **{f.val_loss:.3f}**. The training curve used batch statistics; "
                f"scored that way the validation loss is {f.val_loss_train_mode:.3f}, and with one sentence per batch "
                f"{f.val_loss_batch1:.3f}."
                + (
                    f"{leak} (the true future {'lowers' if fut.gain > 0 else 'raises'} the mean loss by "
                    f"{abs(fut.gain):.4f}): in training mode the loss on a token depends on tokens that come after "
                    "it. In eval mode it does not."
                    if fut is not None and fut.mean_abs_diff > 0
                    else f"{leak}: in training mode, too, a token's loss does not depend on the future."
                    if fut is not None
                    else ""
                )
                + f" A different measure, scoring each position from a forward of its prefix only, gives "
                f"{f.leak.causal_loss:.3f} against {f.leak.train_mode_loss:.3f} with the whole sequence (a gap of "
                f"{f.leak.gap:+.3f}); much of that gap comes from statistics over short prefixes (at position 1 every "
                "sentence has the same newline), not from the future."
            )
        else:
            st.markdown(
                f"**Honest evaluation.** {label(c.norm)} uses no batch statistics, so eval mode, training mode and batch "
                f"size 1 agree up to rounding." + (f"{leak}: the model is causal." if fut is not None else "")
            )
    left, right = st.columns(2, gap="large")
    with left:
        chart(tf.batch_stats_figure(h.steps, h.stat_layer_name), key="tl_lm_stats")
        st.caption(
            "Per step, the per-feature mean μ_B and variance σ²_B of this layer's input over the batch's real tokens "
            "(what BatchNorm would use, whatever the norm), and their distance from running averages with momentum 0.1 "
            "— the quantity the PowerNorm paper plots for BatchNorm in CV and NLP."
        )
    with right:
        chart(tf.grad_norms_figure(h.steps, h.groups), key="tl_lm_grads")
        st.caption("Gradient norm of each layer's parameters per step, before clipping at 1.")


def lm_row(r: grid.LMSummary) -> dict[str, Any]:
    """One LM run as a line of the session's table."""
    return {
        "status": "stopped" if r.stopped else "done",
        "norm": label(r.norm),
        "placement": r.placement,
        "seed": r.seed,
        "steps": r.steps,
        "train loss (last 10%)": grid.fmt(r.train_loss),
        "val loss (eval mode)": grid.fmt(r.val_loss),
        "val loss (train-mode stats)": grid.fmt(r.val_loss_train_mode),
        "val loss (batch 1)": grid.fmt(r.val_loss_batch1),
        "future leak |Δ loss|": grid.fmt(r.future_leak_abs, 4),
        "prefix-forward gap": grid.fmt(r.leak_gap),
        "CPU s": grid.fmt(r.cpu_s, 1),
    }


def runs_table(lab: Lab, row: Callable[[Any], dict[str, Any]]) -> None:
    """The session's runs of one lab, a line each (`row`), and a button that clears them."""
    runs = st.session_state.get(lab.runs, [])
    if not runs:
        st.caption("No run yet in this session.")
        return
    st.dataframe(pd.DataFrame([row(r) for r in runs]), hide_index=True, width="stretch")
    if st.button("Clear the table", key=f"tl_{lab.name}_clear"):
        st.session_state[lab.runs] = []
        st.rerun()


def live_section(
    lab: Lab,
    cfg: Any,
    prefix: str,
    results: Callable[[Any], None],
    row: Callable[[Any], dict[str, Any]],
    refused: str | None = None,
) -> None:
    """Train and Stop (keys `prefix`_train, `prefix`_stop), the live run, the last run's results and the session's
    runs table; `refused` (a setting over the CPU limit) is said when Train is pressed, and nothing runs."""
    b1, b2, _ = st.columns([1, 1, 4])
    train = b1.button("Train", type="primary", key=f"{prefix}_train", icon=":material/play_arrow:")
    stop = b2.button("Stop", key=f"{prefix}_stop", icon=":material/stop:")
    history = live(lab, cfg, train, stop, refused)
    if history is not None:
        results(history)
        if not history.stopped:
            reproduction(lab.name, history.config, history)
    st.header("Runs in this session")
    runs_table(lab, row)


# --- the ConvNet ------------------------------------------------------------------------------------------------


def cnn_results(h: cnn.CNNHistory) -> None:
    """The loss curve and the errors of one ConvNet run."""
    c = h.config
    st.subheader(f"{label(c.norm)}, batch {c.batch_size}, seed {c.seed}: {len(h.steps)} steps, {h.cpu_s:.1f} CPU s")
    chart(tf.cnn_loss_figure(h.steps, c.total_steps), key="tl_cnn_loss")
    if h.val_error is not None and h.val_error_train_mode is not None:
        cols = st.columns(3)
        cols[0].metric("validation error, eval mode", f"{100 * h.val_error:.1f}%")
        cols[1].metric(f"… batch statistics (batches of {c.batch_size})", f"{100 * h.val_error_train_mode:.1f}%")
        cols[2].metric("training error", f"{100 * (h.train_error or 0):.1f}%")


def cnn_row(r: grid.CNNSummary) -> dict[str, Any]:
    """One ConvNet run as a line of the session's table."""
    return {
        "status": "stopped" if r.stopped else "done",
        "norm": label(r.norm),
        "batch size": r.batch_size,
        "seed": r.seed,
        "epochs": r.epochs,
        "val error % (eval mode)": grid.fmt(None if r.val_error is None else 100 * r.val_error, 1),
        "val error % (batch stats)": grid.fmt(
            None if r.val_error_train_mode is None else 100 * r.val_error_train_mode, 1
        ),
        "CPU s": grid.fmt(r.cpu_s, 1),
    }


def live_estimate(grid_name: str, cfg: Any) -> float:
    """CPU seconds a live run of `cfg` will take: a shipped setting's own measured cost (so a shipped cell is never
    refused because a busy server's probe ran slow), else the estimate from the measured time per step."""
    r = shipped_match(grid_name, cfg)
    if r is not None:
        return float(r["cpu_s"])
    return lm_estimate(cfg) if grid_name == "lm" else cnn_estimate(cfg)


def shipped_match(grid_name: str, cfg: Any) -> dict[str, Any] | None:
    """The shipped record whose configuration is exactly `cfg` (a live run of it reproduces its number), or None."""
    if grid_name == "cnn" and getattr(cfg, "dataset", "digits") == "mnist":
        grid_name = "mnist"  # the ConvNet on MNIST has its own grid
    make = experiments.lm_config if grid_name == "lm" else experiments.cnn_config
    return next((r for r in rs.shipped_results(grid_name) if make(r) == cfg), None)


def reproduction(grid_name: str, cfg: Any, history: Any) -> None:
    """Under a live run of a shipped setting: its number against the shipped one (equal: reproduced)."""
    r = shipped_match(grid_name, cfg)
    if r is None:
        return
    key = "val_loss" if grid_name == "lm" else "val_error"
    what = "validation loss" if grid_name == "lm" else "validation error"
    live_value = history.last_val if grid_name == "lm" else history.val_error
    if live_value is None:
        return
    if live_value == r[key]:
        st.success(
            f"Reproduced: this run's {what} {live_value!r} equals the shipped number exactly (same "
            "seed, same learning rate, one torch thread).",
            icon=":material/verified:",
        )
    else:
        st.warning(
            f"This run's {what} is {live_value!r}; the shipped run of the same setting gave "
            f"{r[key]!r} (a different torch build or CPU can change the last digits).",
        )


def shipped_hint(grid_name: str, cfg: Any) -> None:
    """A caption saying that the current setting is a shipped run (and its number), so Train reproduces it."""
    r = shipped_match(grid_name, cfg)
    if r is None:
        return
    value = (
        f"validation loss {r['val_loss']:.4f}" if grid_name == "lm" else f"validation error {100 * r['val_error']:.2f}%"
    )
    st.caption(
        f"This setting is one of the shipped runs ({value}, {r['cpu_s']:.0f} CPU s when it was computed): press "
        "Train to re-run it; the same seed gives the same number."
    )


def _provenance(grid_name: str) -> None:
    prov = rs.provenance(grid_name)
    with st.expander("How these numbers were computed (provenance)"):
        st.markdown(
            f"Regenerate with `python -m norm_viz.training.experiments --grid {grid_name}` "
            f"({rs.cpu_seconds(grid_name) / 60:.0f} CPU minutes on one thread). Seeds "
            f"{', '.join(map(str, prov.get('seeds', [])))}; learning-rate sweep "
            f"{', '.join(f'{v:g}' for v in prov.get('sweep_learning_rates', []))}: {prov.get('selection', '')}."
        )
        st.dataframe(
            pd.DataFrame([{k: (", ".join(v) if isinstance(v, list) else str(v)) for k, v in p.items()
                           if k not in ("learning_rates", "done")} for p in prov.get("parts", [])]),
            hide_index=True, width="stretch",
        )  # fmt: skip


def lm_shipped_section() -> None:
    """The shipped LM runs: the figure with error bars, the table, the verdicts and the learning-rate sweep."""
    records, rates = rs.shipped_results("lm"), rs.learning_rates("lm")
    if not records:
        st.info("No shipped results in this installation: run `python -m norm_viz.training.experiments --grid lm`.")
        return
    chart(tf.lm_results_figure(records, rates, lm.unigram_loss()), key="tl_lm_shipped")
    table(pd.DataFrame(vd.lm_table(records, rates)))  # static: every column read in full at 1280 px
    st.caption(
        "Loss in nats per character on 256 validation sentences, mean ± sd over the seeds. Training-mode statistics: "
        "validation batches of 16 sentences normalized with their own batch statistics; batch size 1: one sentence "
        "at a time. Future leak: the mean change of a token's training-mode loss when every later position of the "
        "batch is swapped for other sentences' characters (same past, same targets; — where the run predates the "
        "measurement). Prefix-forward gap: the loss when each position is scored from a forward of its prefix, minus "
        "the whole-sequence loss; it mostly measures statistics over short prefixes, not the future, and is not judged."
    )
    st.subheader("The causal leak: does a token's loss depend on the future?")
    chart(tf.future_leak_figure(records, rates), key="tl_lm_leak")
    st.subheader("Verdicts")
    for v in vd.lm_verdicts(records, rs.provenance("lm"), rates):
        st.markdown(f"- {v}")
    init = rs.shipped_results("init")
    if init:
        st.subheader("Pre- vs post-norm at initialization")
        chart(tf.init_grads_figure(init), key="tl_lm_init")
        st.markdown(vd.init_verdict(init))
    with st.expander("The learning-rate sweep (seed 0)"):
        table(pd.DataFrame(vd.lm_sweep_table(records, rates)))
        st.caption(
            "Selection loss: eval-mode loss on the last 64 validation sentences, which the table does not score; "
            "the table's loss is on the first 256."
        )
    _provenance("lm")


def cnn_shipped_section(grid_name: str = "cnn") -> None:
    """The shipped ConvNet runs of one grid ("cnn": 8×8 digits, "mnist"): error vs batch size at equal epochs and
    equal steps, tables (BatchNorm also scored with batch statistics), verdicts, sweep."""
    records, rates = rs.shipped_results(grid_name), rs.learning_rates(grid_name)
    if not records:
        st.info(f"No shipped results in this installation: run `python -m norm_viz.training.experiments --grid "
                f"{grid_name}`.")  # fmt: skip
        return
    chart(tf.error_vs_batch_figure(records, rates), key=f"tl_{grid_name}_grid")
    swept = rs.provenance(grid_name).get("sweep_learning_rates", [])
    edge = [label(n) for n, r in rates.items() if swept and r in (min(swept), max(swept))]
    if edge:
        st.caption(f"{', '.join(edge)} chose an end of the learning-rate sweep ({', '.join(f'{v:g}' for v in swept)}): "
                   "a rate outside it might change these numbers.")  # fmt: skip
    for budget in ("epochs", "steps"):
        st.markdown(f"**Equal {budget}**: validation error in %, mean ± sd over the seeds; BatchNorm in eval mode.")
        st.dataframe(pd.DataFrame(vd.cnn_table(records, rates, budget)), hide_index=True, width="stretch")
        bn = vd.cnn_table(records, rates, budget, "val_error_train_mode", only="batchnorm")
        if bn:
            st.caption(f"BatchNorm scored with batch statistics (validation batches of the training batch size), "
                       f"equal {budget}: " + ", ".join(f"{k} {v}%" for k, v in bn[0].items() if k.startswith("batch")))  # fmt: skip
    st.subheader("Verdicts")
    prov = rs.provenance(grid_name)
    summary = vd.figure1_summary(records, prov, rates, grid_name)
    if summary:
        st.info(summary, icon=":material/science:")
    for v in vd.cnn_verdicts(records, prov, rates, grid_name):
        st.markdown(f"- {v}")
    with st.expander("The learning-rate sweep (seed 0)"):
        sweep = [r for r in records if r["phase"] == "sweep"]
        st.dataframe(
            pd.DataFrame([{"norm": label(r["norm"]), "lr (at batch 32)": f"{r['lr']:g}",
                           "val error %": f"{100 * r['val_error']:.1f}"} for r in sweep]),
            hide_index=True, width="stretch",
        )  # fmt: skip
    _provenance(grid_name)


def placement_evidence() -> None:
    """The shipped evidence on pre- vs post-norm (for the placement page): the gradient per block at initialization
    over seeds and depths, and the trained tiny LM's post- vs pre-norm verdict."""
    init = rs.shipped_results("init")
    if init:
        chart(tf.init_grads_figure(init), key="pl_init_grads")
        st.markdown(vd.init_verdict(init))
    records, rates = rs.shipped_results("lm"), rs.learning_rates("lm")
    for v in vd.lm_verdicts(records, rs.provenance("lm"), rates):
        if "post-norm" in v:
            st.markdown(f"**Trained.** {v}")
    st.page_link("pages/train-lm.py", label="Every shipped run of the training lab", icon=":material/science:")
