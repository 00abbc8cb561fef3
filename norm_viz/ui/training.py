"""The training lab's streamlit layer: live runs (progress bar, charts every few steps, a stop button), the session's
results table and the cached default grids with their compute buttons.

How stopping works: the page draws a Stop button before training starts; clicking it makes Streamlit interrupt the
running script and rerun it. Every step the run's records go to st.session_state, so the rerun finds the partial run,
shows it as stopped and adds it to the results table. A closed tab stops the run the same way (at its next step).

Training is the one thing in the app that may take a minute of CPU, so a server trains for one user at a time
(TRAINING_SLOTS, from NORM_VIZ_TRAINING_SLOTS): a class of 30 pressing Train at once would otherwise hold every core
for half an hour and every other page would wait. Who finds the slot taken is told so and can look at the cached grid.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from norm_viz.training import cnn, grid, lm
from norm_viz.training import figures as tf
from norm_viz.training.layers import batch_dependent, label
from norm_viz.ui.layout import chart
from norm_viz.ui.safety import checkpoint

TRAINING_SLOTS = max(1, int(os.environ.get("NORM_VIZ_TRAINING_SLOTS", "1") or 1))
"""How many training runs (or grid fills) one server process runs at once."""
_SLOTS = threading.BoundedSemaphore(TRAINING_SLOTS)

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
    return grid.estimate_cnn(cfg, cnn_per_step(cnn.CNNConfig(norm="batchnorm", batch_size=cfg.batch_size, epochs=1)))


# --- the language model -----------------------------------------------------------------------------------------


@contextmanager
def training_slot(what: str) -> Iterator[bool]:
    """Hold one of the server's training slots while the block runs; yields False (after saying so on the page) when
    every slot is taken by another session's run. The slot is released however the block ends (Stop, a closed tab)."""
    got = _SLOTS.acquire(blocking=False)
    if not got:
        st.info(
            f"The server is training for another user right now, so {what} did not start: it trains for "
            f"{TRAINING_SLOTS} user{'s' if TRAINING_SLOTS > 1 else ''} at a time, so that the rest of the app stays "
            "quick for everyone. Press the button again in a minute, or read the cached results below.",
            icon=":material/hourglass_top:",
        )
    try:
        yield got
    finally:
        if got:
            _SLOTS.release()


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
    store: Callable[[Any], Any]  # the same, also written to the on-disk cache when it is a default-grid run
    progress: Callable[[Any, int], str]  # the progress bar's text at a step
    figure: Callable[[list[Any], int], Any]  # the live loss chart
    bar_every_step: bool  # update the bar at every step (else with the chart)


LM = Lab(
    "lm", LM_LIVE, LM_LAST, LM_RUNS, lm.LMHistory, lambda c: c.steps, lm.run_lm, lm.partial_history,
    grid.summarize_lm, grid.store_lm,
    lambda s, n: f"step {s.step} of {n} · loss {s.train_loss:.3f} · {s.cpu_s:.1f} CPU s",
    lambda steps, n: tf.lm_loss_figure(steps, n, "Loss per step (live)"), True,
)  # fmt: skip
CNN = Lab(
    "cnn", CNN_LIVE, CNN_LAST, CNN_RUNS, cnn.CNNHistory, lambda c: cnn.steps_per_epoch(c.batch_size) * c.epochs,
    cnn.run_cnn, cnn.partial_history, grid.summarize_cnn, grid.store_cnn,
    lambda s, n: f"epoch {s.epoch}, step {s.step} of {n} · {s.cpu_s:.1f} CPU s", tf.cnn_loss_figure, False,
)  # fmt: skip


def live(lab: Lab, cfg: Any, train: bool, stop: bool) -> Any:
    """Run (train=True) or recover (after Stop or another interruption) a live run; returns the history to show."""
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
    if train:
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

    def on_step(s: Any, n: int) -> None:
        checkpoint()  # a closed tab or Stop ends the run here, at its next step (the page may show every few only)
        steps.append(s)
        shown = s.step % every == 0 or s.step == n
        if lab.bar_every_step or shown:
            bar.progress(s.step / n, text=lab.progress(s, n))
        if shown:
            with box.container():
                chart(lab.figure(steps, n), key=f"tl_{lab.name}_live_{s.step}")

    h = lab.run(cfg, callback=on_step)
    del ss[lab.live]
    bar.empty()
    box.empty()
    ss[lab.last] = h
    ss.setdefault(lab.runs, []).append(lab.store(h))


def _fill(fill: bool, again: bool, cfgs: list[Any], run_all: Callable[..., Any]) -> bool:
    """Compute the grid's missing runs (fill) or all of them (again) in the training slot; True when it ran."""
    if not (fill or again):
        return False
    with training_slot("computing the grid") as free:
        if free:
            bar = st.progress(0.0)
            run_all(cfgs, recompute=again, progress=_progress(bar))
            bar.empty()
        return free


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
        cols[3].metric("causal-leak gap", f"{f.leak.gap:+.3f}",
                       help="causal loss − training-mode loss on the same batch")  # fmt: skip
        if batch_dependent(c.norm):
            st.markdown(
                f"**Honest evaluation.** {label(c.norm)} computes its statistics over the batch. Deployed, it uses its "
                f"running statistics (eval mode): **{f.val_loss:.3f}**. The training curve used batch statistics; "
                f"scored that way the validation loss is {f.val_loss_train_mode:.3f}, and with one sentence per batch "
                f"{f.val_loss_batch1:.3f}. **Causal leak:** in training mode the statistics at position t include "
                f"later tokens of the batch. Scoring each position from a forward of its prefix only gives "
                f"{f.leak.causal_loss:.3f} against {f.leak.train_mode_loss:.3f} with the whole sequence "
                f"(per-token losses differ by {f.leak.mean_abs_diff:.4f} on average): a gap of {f.leak.gap:+.3f}."
            )
        else:
            st.markdown(
                f"**Honest evaluation.** {label(c.norm)} uses no batch statistics, so eval mode, training mode and batch "
                f"size 1 agree up to rounding, and the causal evaluation equals the whole-sequence one (per-token "
                f"losses differ by {f.leak.mean_abs_diff:.1e}): no leak."
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
        "causal-leak gap": grid.fmt(r.leak_gap),
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
    lab: Lab, cfg: Any, prefix: str, results: Callable[[Any], None], row: Callable[[Any], dict[str, Any]]
) -> None:
    """Train and Stop (keys `prefix`_train, `prefix`_stop), the live run, the last run's results and the session's
    runs table."""
    b1, b2, _ = st.columns([1, 1, 4])
    train = b1.button("Train", type="primary", key=f"{prefix}_train", icon=":material/play_arrow:")
    stop = b2.button("Stop", key=f"{prefix}_stop", icon=":material/stop:")
    history = live(lab, cfg, train, stop)
    if history is not None:
        results(history)
    st.header("Runs in this session")
    runs_table(lab, row)


def _progress(bar: Any) -> grid.Progress:
    def show(i: int, n: int, what: str) -> None:
        bar.progress(i / n, text=f"run {i + 1} of {n}: {what}")

    return show


def _grid_status(cfgs: list[Any], cached: list[Any], estimate: float, kind: str) -> tuple[bool, bool]:
    missing = sum(c is None for c in cached)
    st.caption(
        # no server path here (issue 16 §3): where the cache lives is the README's business
        f"{len(cfgs) - missing} of {len(cfgs)} runs are in the cache, computed on this server."
    )
    c1, c2 = st.columns(2)
    fill = c1.button(
        f"Compute the {missing} missing runs ({duration(estimate * missing / len(cfgs))} of CPU)" if missing else
        "All runs are cached", key=f"tl_{kind}_fill", disabled=not missing, type="primary",
    )  # fmt: skip
    again = c2.button(f"Recompute all ({duration(estimate)} of CPU)", key=f"tl_{kind}_again")
    return fill, again


def _grid_rows(
    kind: str,
    cfgs: list[Any],
    cached: Callable[[Any], Any],
    estimate: Callable[[Any], float],
    run_all: Callable[..., Any],
) -> list[Any]:
    """A default grid's cached summaries, after its status line and compute buttons (which fill it, when pressed)."""
    found = [cached(c) for c in cfgs]
    fill, again = _grid_status(cfgs, found, sum(estimate(c) for c in cfgs), kind)
    if _fill(fill, again, cfgs, run_all):
        found = [cached(c) for c in cfgs]
    return [r for r in found if r is not None]


def lm_grid_section(base: lm.LMConfig) -> None:
    """The default grid (every norm × placement at the default settings): cached table, verdicts, compute buttons."""
    rows = _grid_rows("lm", grid.lm_grid(base), grid.cached_lm, lm_estimate, grid.fill_lm)
    if not rows:
        return
    st.dataframe(pd.DataFrame(grid.lm_table(rows)), hide_index=True, width="stretch")
    for v in grid.lm_verdicts(rows):
        st.markdown(f"- {v}")


# --- the ConvNet ------------------------------------------------------------------------------------------------


def cnn_results(h: cnn.CNNHistory) -> None:
    """The loss curve and the errors of one ConvNet run."""
    c = h.config
    st.subheader(f"{label(c.norm)}, batch {c.batch_size}, seed {c.seed}: {len(h.steps)} steps, {h.cpu_s:.1f} CPU s")
    chart(tf.cnn_loss_figure(h.steps, cnn.steps_per_epoch(c.batch_size) * c.epochs), key="tl_cnn_loss")
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


def cnn_grid_section(base: cnn.CNNConfig) -> None:
    """The default grid (norms × batch sizes × seeds): cached figure, table, verdicts and compute buttons."""
    rows = _grid_rows("cnn", grid.cnn_grid(base), grid.cached_cnn, cnn_estimate, grid.fill_cnn)
    if not rows:
        return
    chart(tf.error_vs_batch_figure(rows), key="tl_cnn_grid")
    st.dataframe(pd.DataFrame(grid.cnn_table(rows)), hide_index=True, width="stretch")
    st.caption("Validation error in %, mean ± standard deviation over the seeds; BatchNorm in eval mode.")
    for v in grid.cnn_verdicts(rows):
        st.markdown(f"- {v}")
