"""The training lab's default grids, their on-disk cache, time estimates, and the tables and verdicts the pages show.

torch only (no streamlit, no plotly). A grid cell is one run summarized in a frozen dataclass; the cache keeps one
JSON file per run config under $NORM_VIZ_CACHE or ~/.cache/norm-viz/training, computed on this machine on demand and
never shipped. The verdicts compare the computed numbers with the papers' claims, so the words follow the numbers.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from norm_viz.training import cnn, lm
from norm_viz.training.layers import CNN_NORMS, LM_NORMS, label

VERSION = 1
"""Bumped when training code changes what a config computes: older cache files are then ignored."""
CNN_SEEDS = (0, 1, 2)
CNN_EPOCHS = 8


def cache_dir() -> Path:
    """$NORM_VIZ_CACHE/training, or ~/.cache/norm-viz/training (XDG_CACHE_HOME respected)."""
    root = os.environ.get("NORM_VIZ_CACHE")
    if root:
        return Path(root) / "training"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "norm-viz" / "training"


def _key(kind: str, config: Any) -> str:
    raw = json.dumps({"kind": kind, "version": VERSION, **dataclasses.asdict(config)}, sort_keys=True)
    return f"{kind}-{hashlib.sha256(raw.encode()).hexdigest()[:16]}.json"


@dataclass(frozen=True)
class LMSummary:
    """One LM run in a line of the results table."""

    norm: str
    placement: str
    seed: int
    steps: int
    train_loss: float
    """Mean training loss of the last 10% of the steps (training-mode statistics)."""
    val_loss: float | None
    """Final validation loss in eval mode (running statistics)."""
    val_loss_train_mode: float | None
    val_loss_batch1: float | None
    leak_gap: float | None
    leak_abs: float | None
    cpu_s: float
    stopped: bool


@dataclass(frozen=True)
class CNNSummary:
    """One ConvNet run."""

    norm: str
    batch_size: int
    seed: int
    epochs: int
    val_error: float | None
    val_error_train_mode: float | None
    train_error: float | None
    cpu_s: float
    stopped: bool


def summarize_lm(h: lm.LMHistory) -> LMSummary:
    """The table line of an LM run."""
    tail = h.steps[-max(1, len(h.steps) // 10) :]
    f = h.final
    return LMSummary(
        norm=h.config.norm,
        placement=h.config.placement,
        seed=h.config.seed,
        steps=len(h.steps),
        train_loss=statistics.fmean(s.train_loss for s in tail),
        val_loss=h.last_val,
        val_loss_train_mode=f.val_loss_train_mode if f else None,
        val_loss_batch1=f.val_loss_batch1 if f else None,
        leak_gap=f.leak.gap if f else None,
        leak_abs=f.leak.mean_abs_diff if f else None,
        cpu_s=h.cpu_s,
        stopped=h.stopped,
    )


def summarize_cnn(h: cnn.CNNHistory) -> CNNSummary:
    """The table line of a ConvNet run."""
    c = h.config
    return CNNSummary(
        c.norm, c.batch_size, c.seed, c.epochs, h.val_error, h.val_error_train_mode, h.train_error, h.cpu_s, h.stopped
    )


def _load(path: Path, cls: type[Any]) -> Any | None:
    try:
        return cls(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None  # missing or unreadable (an older format): recompute


def _save(path: Path, summary: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(dataclasses.asdict(summary)))
    tmp.replace(path)  # atomic: a classroom of sessions may compute the same cell at once


def cached_lm(cfg: lm.LMConfig) -> LMSummary | None:
    """The cached summary of this LM config, or None."""
    return _load(cache_dir() / _key("lm", cfg), LMSummary)  # type: ignore[no-any-return]


def cached_cnn(cfg: cnn.CNNConfig) -> CNNSummary | None:
    """The cached summary of this ConvNet config, or None."""
    return _load(cache_dir() / _key("cnn", cfg), CNNSummary)  # type: ignore[no-any-return]


def store_lm(h: lm.LMHistory) -> LMSummary:
    """Summarize a finished LM run and cache it (stopped runs are not cached)."""
    s = summarize_lm(h)
    if not h.stopped:
        _save(cache_dir() / _key("lm", h.config), s)
    return s


def store_cnn(h: cnn.CNNHistory) -> CNNSummary:
    """Summarize a finished ConvNet run and cache it (stopped runs are not cached)."""
    s = summarize_cnn(h)
    if not h.stopped:
        _save(cache_dir() / _key("cnn", h.config), s)
    return s


def lm_grid(base: lm.LMConfig | None = None, norms: Sequence[str] = LM_NORMS) -> list[lm.LMConfig]:
    """Every norm × placement at the base config's other settings."""
    b = base or lm.LMConfig()
    return [dataclasses.replace(b, norm=n, placement=p) for n in norms for p in lm.PLACEMENTS]


def cnn_grid(
    base: cnn.CNNConfig | None = None,
    norms: Sequence[str] = CNN_NORMS,
    batch_sizes: Sequence[int] = cnn.BATCH_SIZES,
    seeds: Sequence[int] = CNN_SEEDS,
) -> list[cnn.CNNConfig]:
    """Every norm × batch size × seed at the base config's other settings."""
    b = base or cnn.CNNConfig(epochs=CNN_EPOCHS)
    return [dataclasses.replace(b, norm=n, batch_size=bs, seed=s) for n in norms for bs in batch_sizes for s in seeds]


Progress = Callable[[int, int, str], None]


def _fill(
    cfgs: Iterable[Any],
    cached: Callable[[Any], Any],
    compute: Callable[[Any], Any],
    describe: Callable[[Any], str],
    recompute: bool,
    progress: Progress | None,
) -> list[Any]:
    """Summaries of every config: from the cache, computing (and caching) the missing ones or, with recompute, all."""
    todo = list(cfgs)
    out = []
    for i, c in enumerate(todo):
        s = None if recompute else cached(c)
        if s is None:
            if progress:
                progress(i, len(todo), describe(c))
            s = compute(c)
        out.append(s)
    return out


def fill_lm(cfgs: Iterable[lm.LMConfig], recompute: bool = False, progress: Progress | None = None) -> list[LMSummary]:
    """Summaries of every LM config: from the cache, computing (and caching) the missing ones or, with recompute,
    all."""
    return _fill(
        cfgs, cached_lm, lambda c: store_lm(lm.run_lm(c)), lambda c: f"{label(c.norm)}, {c.placement}-norm",
        recompute, progress,
    )  # fmt: skip


def fill_cnn(
    cfgs: Iterable[cnn.CNNConfig], recompute: bool = False, progress: Progress | None = None
) -> list[CNNSummary]:
    """The same for ConvNet configs."""
    return _fill(
        cfgs, cached_cnn, lambda c: store_cnn(cnn.run_cnn(c)),
        lambda c: f"{label(c.norm)}, batch {c.batch_size}, seed {c.seed}", recompute, progress,
    )  # fmt: skip


# --- time estimates from measured per-step CPU time ---------------------------------------------------------------


def lm_seconds_per_step(cfg: lm.LMConfig, probe_steps: int = 3) -> float:
    """CPU seconds per training step of this config, measured on a few steps (the first, warm-up one excluded)."""
    h = lm.run_lm(dataclasses.replace(cfg, steps=probe_steps + 1, eval_every=10**9), evaluate_at_end=False)
    return (h.steps[-1].cpu_s - h.steps[0].cpu_s) / probe_steps


def lm_cost(cfg: lm.LMConfig, vocab: int = 97, mean_len: int = 75) -> float:
    """Multiply-adds per training step, roughly: what scales a per-step time measured on one config to another."""
    t = min(cfg.max_len, mean_len)
    per_token = cfg.layers * (12 * cfg.width**2 + 2 * t * cfg.width) + cfg.width * vocab
    return float(cfg.batch_size * t * per_token)


def scaled_lm_step(measured: float, at: lm.LMConfig, cfg: lm.LMConfig) -> float:
    """A per-step time measured at config `at`, scaled to `cfg` by their multiply-adds (an estimate)."""
    return measured * lm_cost(cfg) / lm_cost(at)


def estimate_lm(cfg: lm.LMConfig, per_step: float | None = None) -> float:
    """Estimated CPU seconds of a whole run: steps, periodic validation and the final evaluation, each counted in
    training-step equivalents (a forward is about a third of a training step)."""
    t = lm_seconds_per_step(cfg) if per_step is None else per_step
    evals = cfg.steps // cfg.eval_every + 1
    val_fwd = evals * 64 / cfg.batch_size / 3
    final_fwd = (256 / cfg.batch_size * 2 + 64 / 1 * 0.3 + cfg.leak_len * 16 / cfg.batch_size * 0.6) / 3
    return t * (cfg.steps + val_fwd + final_fwd)


def cnn_seconds_per_step(cfg: cnn.CNNConfig, probe_steps: int = 5) -> float:
    """CPU seconds per ConvNet step at this batch size, measured on a few steps."""
    times: list[float] = []

    def stop(step: cnn.CNNStep, total: int) -> bool:
        times.append(step.cpu_s)
        return len(times) <= probe_steps

    cnn.run_cnn(cfg, callback=stop)
    return (times[-1] - times[0]) / (len(times) - 1)


def estimate_cnn(cfg: cnn.CNNConfig, per_step: float | None = None) -> float:
    """Estimated CPU seconds of a ConvNet run (training steps plus the evaluations, about 2 epochs of forwards)."""
    t = cnn_seconds_per_step(cfg) if per_step is None else per_step
    return t * cnn.steps_per_epoch(cfg.batch_size) * (cfg.epochs + 0.3)


# --- tables and verdicts -------------------------------------------------------------------------------------------


def fmt(v: float | None, digits: int = 3) -> str:
    return "—" if v is None or not math.isfinite(v) else f"{v:.{digits}f}"


def lm_table(rows: Sequence[LMSummary]) -> list[dict[str, str]]:
    """One line per norm: eval-mode validation loss pre and post, the causal-leak gap and the CPU time."""
    out = []
    for n in dict.fromkeys(r.norm for r in rows):
        line = {"norm": label(n)}
        for p in lm.PLACEMENTS:
            r = next((r for r in rows if r.norm == n and r.placement == p), None)
            line[f"val loss, {p}-norm (eval mode)"] = fmt(r.val_loss if r else None)
            line[f"train-mode val loss, {p}"] = fmt(r.val_loss_train_mode if r else None)
            line[f"causal-leak gap, {p}"] = fmt(r.leak_gap if r else None)
            line[f"CPU s, {p}"] = fmt(r.cpu_s if r else None, 1)
        out.append(line)
    return out


def _mean_sd(vals: list[float]) -> tuple[float, float]:
    return statistics.fmean(vals), statistics.stdev(vals) if len(vals) > 1 else 0.0


def cnn_errors(rows: Sequence[CNNSummary]) -> dict[str, dict[int, tuple[float, float, int]]]:
    """norm → batch size → (mean, standard deviation over seeds, number of seeds) of the validation error."""
    out: dict[str, dict[int, tuple[float, float, int]]] = {}
    for r in rows:
        if r.val_error is None:
            continue
        out.setdefault(r.norm, {}).setdefault(r.batch_size, (0.0, 0.0, 0))
    for n, by_bs in out.items():
        for bs in by_bs:
            vals = [r.val_error for r in rows if r.norm == n and r.batch_size == bs and r.val_error is not None]
            m, sd = _mean_sd(vals)
            by_bs[bs] = (m, sd, len(vals))
    return out


def cnn_table(rows: Sequence[CNNSummary]) -> list[dict[str, str]]:
    """One line per norm, one column per batch size: validation error in %, mean ± standard deviation over seeds."""
    errs = cnn_errors(rows)
    sizes = sorted({bs for by in errs.values() for bs in by})
    return [{"norm": label(n), **{f"batch {bs}": _pm(errs[n].get(bs)) for bs in sizes}} for n in errs]


def _pm(v: tuple[float, float, int] | None) -> str:
    return "—" if v is None else f"{100 * v[0]:.1f} ± {100 * v[1]:.1f}"


def cnn_verdicts(rows: Sequence[CNNSummary]) -> list[str]:
    """Sentences comparing the computed errors with the GroupNorm paper's figure 1 and ConvNeXt's LayerNorm claim."""
    errs = cnn_errors(rows)
    out: list[str] = []
    if not errs:
        return out

    def at(n: str, bs: int) -> tuple[float, float, int] | None:
        return errs.get(n, {}).get(bs)

    sizes = sorted({bs for by in errs.values() for bs in by})
    small, large = sizes[0], sizes[-1]
    for n in ("batchnorm", "groupnorm"):
        a, b = at(n, small), at(n, large)
        if a is None or b is None:
            continue
        diff = a[0] - b[0]
        noise = a[1] + b[1]
        grows = diff > noise
        if n == "batchnorm":
            claim = "the paper: BatchNorm's error grows as the batch shrinks"
            agree = grows
        else:
            claim = "the paper: GroupNorm's error does not depend on the batch size"
            agree = abs(diff) <= noise
        trend = "higher" if diff > 0 else "lower"
        out.append(
            f"**{label(n)}**: {100 * a[0]:.1f}% ± {100 * a[1]:.1f} at batch {small} vs {100 * b[0]:.1f}% ± "
            f"{100 * b[1]:.1f} at batch {large} ({trend} at the small batch by {100 * abs(diff):.1f} points, spread "
            f"{100 * noise:.1f}) — {'agrees with' if agree else 'does not agree with'} {claim}."
        )
    bn_train = {
        bs: statistics.fmean(vals)
        for bs in (small, large)
        if (vals := [r.val_error_train_mode for r in rows if r.norm == "batchnorm" and r.batch_size == bs
                     and r.val_error_train_mode is not None])
    }  # fmt: skip
    bn_eval = at("batchnorm", small)
    if len(bn_train) == 2 and bn_eval is not None:
        helps = bn_eval[0] < bn_train[small]
        out.append(
            f"BatchNorm scored with batch statistics (as it trains, batches of the training size): "
            f"{100 * bn_train[small]:.1f}% at batch {small} vs {100 * bn_train[large]:.1f}% at batch {large}; in eval "
            f"mode {100 * bn_eval[0]:.1f}% at batch {small}: "
            + ("the running statistics average out the noise of small-batch statistics on this data."
               if helps else "the running statistics do not remove it.")
        )  # fmt: skip
    if small != large:
        out.append(
            f"Same epochs for every batch size: batch {small} takes {cnn.steps_per_epoch(small)} steps per epoch, "
            f"batch {large} only {cnn.steps_per_epoch(large)}, so a norm that starts slowly ends less trained at "
            "large batches (the paper trains every run to convergence)."
        )
    a, b = at("batchnorm", small), at("groupnorm", small)
    if a and b:
        better = b[0] < a[0]
        out.append(
            f"At batch {small}: GroupNorm {100 * b[0]:.1f}% vs BatchNorm {100 * a[0]:.1f}% — "
            f"{'agrees with' if better else 'does not agree with'} the paper (GroupNorm better at small batches)."
        )
    a, b = at("batchnorm", large), at("layernorm", large)
    if a and b:
        better = b[0] <= a[0]
        out.append(
            f"At batch {large}: LayerNorm over channels {100 * b[0]:.1f}% vs BatchNorm {100 * a[0]:.1f}% — "
            f"{'agrees with' if better else 'does not agree with'} ConvNeXt's finding that a ConvNet trains as well "
            "or slightly better with LN (ConvNeXt is a much larger network on ImageNet)."
        )
    return out


def lm_verdicts(rows: Sequence[LMSummary]) -> list[str]:
    """Sentences comparing the computed LM losses with the papers' claims (one seed: differences under ~0.02 are
    within what another seed could change)."""
    by = {(r.norm, r.placement): r for r in rows if r.val_loss is not None}
    out: list[str] = []
    ln, bn = by.get(("layernorm", "pre")), by.get(("batchnorm", "pre"))
    if ln and bn and ln.val_loss is not None and bn.val_loss is not None:
        worse = bn.val_loss > ln.val_loss
        out.append(
            f"Pre-norm, eval mode: BatchNorm {bn.val_loss:.3f} vs LayerNorm {ln.val_loss:.3f} — "
            f"{'agrees with' if worse else 'does not agree with'} 'BN is less effective than LN in NLP'."
        )
    pn = by.get(("powernorm", "pre"))
    if pn and bn and pn.val_loss is not None and bn.val_loss is not None:
        better = pn.val_loss < bn.val_loss
        out.append(
            f"PowerNorm {pn.val_loss:.3f} vs BatchNorm {bn.val_loss:.3f} (pre, eval mode) — "
            f"{'agrees with' if better else 'does not agree with'} PowerNorm's claim to fix BN in transformers."
        )
    pre, post = by.get(("layernorm", "pre")), by.get(("layernorm", "post"))
    if pre and post and pre.val_loss is not None and post.val_loss is not None:
        out.append(
            f"LayerNorm post-norm {post.val_loss:.3f} vs pre-norm {pre.val_loss:.3f}: "
            + (
                "post-norm ends lower, as 'post-norm can reach better final performance' says"
                if post.val_loss < pre.val_loss
                else "pre-norm ends lower here; the claim that post-norm can end better is about long training of "
                "deep models, which this tiny 2-layer run is not"
            )
            + "."
        )
    uni = lm.unigram_loss()
    stuck = [f"{label(n)} {p}-norm ({r.val_loss:.3f})" for (n, p), r in by.items()
             if r.val_loss is not None and r.val_loss > uni - 0.1]  # fmt: skip
    out.append(
        f"A model that ignores the context (each character at its frequency) scores {uni:.3f}. "
        + (
            "Close to it, so barely using the context: " + ", ".join(stuck) + "."
            if stuck
            else "Every run here does much better."
        )
    )
    leaks = [(r.norm, r.placement, r.leak_abs, r.leak_gap) for r in rows if r.leak_abs is not None]
    if leaks:
        causal = [label(n) for n, p, a, g in leaks if a is not None and a < 1e-4 and p == "pre"]
        leaky = [f"{label(n)} ({g:+.3f})" for n, p, a, g in leaks if a is not None and a >= 1e-4 and p == "pre"]
        out.append(
            "Causal leak (pre-norm): none for "
            + (", ".join(causal) or "no norm")
            + "; present for "
            + (", ".join(leaky) or "no norm")
            + " (gap = causal loss − training-mode loss on the same batch)."
        )
    return out


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """(result, process CPU seconds) of fn()."""
    t = time.process_time()
    return fn(), time.process_time() - t


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m norm_viz.training.grid [lm] [cnn] [--recompute]`: fill the cache for the default grids (missing runs
    only, unless --recompute) and print the pages' tables and verdicts, with the CPU seconds per run."""
    import argparse

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("grids", nargs="*", default=["lm", "cnn"], choices=["lm", "cnn"])
    ap.add_argument("--recompute", action="store_true")
    args = ap.parse_args(argv)

    def say(i: int, n: int, what: str) -> None:
        print(f"  computing {i + 1}/{n}: {what}", flush=True)

    if "lm" in args.grids:
        rows = fill_lm(lm_grid(), args.recompute, say)
        print("\nTiny LM, default settings, seed 0: validation loss (nats per character)")
        for line in lm_table(rows):
            print("  " + " | ".join(f"{k}: {v}" for k, v in line.items()))
        for v in lm_verdicts(rows):
            print("- " + v)
    if "cnn" in args.grids:
        crow = fill_cnn(cnn_grid(), args.recompute, say)
        print(f"\nDigits ConvNet, {CNN_EPOCHS} epochs, seeds {CNN_SEEDS}: validation error %, mean ± sd")
        for line in cnn_table(crow):
            print("  " + " | ".join(f"{k}: {v}" for k, v in line.items()))
        by_bs: dict[int, list[float]] = {}
        for r in crow:
            by_bs.setdefault(r.batch_size, []).append(r.cpu_s)
        print(
            "  CPU s per run by batch size: " + ", ".join(f"{b}: {statistics.fmean(v):.1f}" for b, v in by_bs.items())
        )
        for v in cnn_verdicts(crow):
            print("- " + v)


if __name__ == "__main__":
    main()
