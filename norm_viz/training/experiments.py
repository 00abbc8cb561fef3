"""The shipped experiments: repeated, seeded runs of the training lab whose results the pages show at once.

`python -m norm_viz.training.experiments --grid lm` (or `--grid cnn`) recomputes a grid on one torch thread (the
app's own setting, so that a live re-run of a cell reproduces its number exactly) and writes
norm_viz/training/results/<grid>.json: the records and their provenance (command, commit, seeds, learning rates,
CPU time, torch version). Each configuration first gets its learning rate from a small sweep on seed 0 (the LM picks
it by the loss on sentences that are not scored in the table; the ConvNet by validation error at one batch size),
then runs seeds 1 and 2 at that rate. `--cells` limits a run to some configurations (the others are kept), so a grid
can be extended without recomputing it. torch only.
"""

from __future__ import annotations

import argparse
import dataclasses
import fcntl
import functools
import hashlib
import json
import math
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from norm_viz.training import cnn, init_grads, lm
from norm_viz.training.results import LM_WARMUP, lm_chosen_rates, lm_key, lm_record_key, shipped_results

RESULTS_DIR = Path(__file__).with_name("results")
SEEDS = (0, 1, 2)
"""Every verdict rests on these three seeds (seed 0 also picks the learning rate)."""

LM_STEPS = 1000
LM_LRS = (3e-3, 1e-2, 3e-2)
"""The LM's learning-rate sweep (peak AdamW rate; linear warm-up over 30 steps, cosine decay to a tenth). When a
cell's best rate is at an end of its sweep, the sweep goes one step of the 1-3-10 series further that way, up to
LM_SWEEP_EXTEND times, so that the chosen rate lies inside the sweep (the first grid also swept 1e-3 for some
cells: those runs are kept and count)."""
LM_SWEEP_EXTEND = 2


def lm_rate_options() -> tuple[float, ...]:
    """The learning rates the lab offers: 1e-3 to 1e-1 on the 1-3-10 series, and every rate of a shipped run (so
    that any shipped run can be re-run live)."""
    shipped = {r["lr"] for r in shipped_results("lm")}
    return tuple(sorted({1e-3, 3e-3, 1e-2, 3e-2, 1e-1, *shipped}))


@dataclass(frozen=True)
class LMCell:
    """One configuration of the shipped LM grid: a norm and placement at the lab's default model, with its own
    learning-rate sweep, or (`rate_of`) at the rate another cell's sweep chose (the warm-up study: the same model
    and rate, only the warm-up differs)."""

    norm: str
    placement: str
    warmup: int = LM_WARMUP
    rate_of: str | None = None

    @property
    def key(self) -> str:
        return lm_key(self.norm, self.placement, self.warmup)


LM_GRID: tuple[LMCell, ...] = (
    LMCell("layernorm", "pre"),
    LMCell("layernorm", "post"),
    LMCell("batchnorm", "pre"),
    LMCell("powernorm", "pre"),
    LMCell("rmsnorm", "pre"),
    LMCell("masked_batchnorm", "pre"),
    LMCell("none", "pre"),
    LMCell("dyt", "pre"),
    LMCell("layernorm", "post", warmup=0, rate_of="layernorm/post"),
    LMCell("layernorm", "pre", warmup=0, rate_of="layernorm/pre"),
)
"""The shipped LM grid, at the lab's default model otherwise; the last two are the warm-up study."""
LM_CELLS: tuple[tuple[str, str], ...] = tuple(dict.fromkeys((c.norm, c.placement) for c in LM_GRID))
"""(norm, placement) of the shipped LM grid."""
LM_FIELDS = ("future_leak_abs",)
LM_LEAK_NORMS = ("batchnorm", "masked_batchnorm")
"""A run at a cell's chosen rate of these norms must carry LM_FIELDS (an older record is re-run, which reproduces
its loss): their training-mode statistics pool the whole batch, so the swapped-future leak is the measurement. The
other norms' records are reused without it (a per-token norm's leak is exactly 0 by construction, which the runs
that have the field show; PowerNorm divides by its running ψ² after its warm-up)."""

CNN_NORMS = ("batchnorm", "groupnorm", "layernorm", "instancenorm", "none")
CNN_LRS = (3e-3, 1e-2, 3e-2)
"""The ConvNet's sweep of Adam's rate at batch 32 (scaled with √(batch / 32) at other batch sizes)."""
CNN_SWEEP_BATCH = 16
CNN_EPOCHS = 8
"""Equal epochs: every batch size sees the training images 8 times (batch 2 takes 673 steps per epoch, batch 64
only 21)."""
CNN_STEPS = 600
"""Equal steps: every batch size takes 600 steps (batch 2 sees 1,200 images, batch 64 sees 38,400)."""


@contextmanager
def one_thread() -> Iterator[None]:
    """Run the block on one torch thread, as the app's server does (norm_viz.ui.process): numbers depend on it."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def lm_record(h: lm.LMHistory, phase: str) -> dict[str, Any]:
    """The shipped line of one LM run."""
    c, f = h.config, h.final
    probe = [s.val_loss for s in h.steps if s.val_loss is not None]
    tail = h.steps[-max(1, len(h.steps) // 10) :]
    return {
        "norm": c.norm,
        "placement": c.placement,
        "seed": c.seed,
        "lr": c.lr,
        "steps": c.steps,
        "warmup": c.warmup,
        "phase": phase,
        "val_loss": f.val_loss if f else None,
        "probe_loss": probe[-1] if probe else None,
        "train_loss": statistics.fmean(s.train_loss for s in tail),
        "val_loss_train_mode": f.val_loss_train_mode if f else None,
        "val_loss_batch1": f.val_loss_batch1 if f else None,
        "leak_gap": f.leak.gap if f else None,
        "leak_abs": f.leak.mean_abs_diff if f else None,
        "future_leak_abs": f.future.mean_abs_diff if f and f.future else None,
        "future_leak_gain": f.future.gain if f and f.future else None,
        "input_rms": [round(v, 3) for v in f.input_rms] if f else [],
        "saturation": [round(v, 4) for v in f.saturation] if f else [],
        "parameters": h.parameters,
        "cpu_s": round(h.cpu_s, 2),
        "notes": list(h.notes),
    }


def cnn_record(h: cnn.CNNHistory, phase: str) -> dict[str, Any]:
    """The shipped line of one ConvNet run."""
    c = h.config
    return {
        "norm": c.norm,
        "batch_size": c.batch_size,
        "seed": c.seed,
        "lr": c.lr,
        "steps": len(h.steps),
        "epochs": c.epochs,
        "budget": "steps" if c.steps else "epochs",
        "phase": phase,
        "val_error": h.val_error,
        "val_error_train_mode": h.val_error_train_mode,
        "train_error": h.train_error,
        "cpu_s": round(h.cpu_s, 2),
    }


def lm_config(r: dict[str, Any]) -> lm.LMConfig:
    """The config that reproduces an LM record (the lab's default model)."""
    return lm.LMConfig(
        norm=r["norm"], placement=r["placement"], seed=r["seed"], lr=r["lr"], steps=r["steps"],
        warmup=r.get("warmup", LM_WARMUP),
    )  # fmt: skip


def cnn_config(r: dict[str, Any]) -> cnn.CNNConfig:
    """The config that reproduces a ConvNet record."""
    steps = r["steps"] if r["budget"] == "steps" else 0
    return cnn.CNNConfig(
        norm=r["norm"],
        batch_size=r["batch_size"],
        seed=r["seed"],
        lr=r["lr"],
        epochs=r["epochs"],
        steps=steps,
        dataset=r.get("dataset", "digits"),
    )


def run_lm_record(r: dict[str, Any]) -> dict[str, Any]:
    """Re-run the configuration of an LM record (one thread) and return its new record."""
    with one_thread():
        return lm_record(lm.run_lm(lm_config(r)), r.get("phase", "rerun"))


def run_cnn_record(r: dict[str, Any]) -> dict[str, Any]:
    """Re-run the configuration of a ConvNet record (one thread) and return its new record."""
    with one_thread():
        return cnn_record(cnn.run_cnn(cnn_config(r)), r.get("phase", "rerun"))


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], capture_output=True, text=True, check=True, cwd=Path(__file__).parents[2]
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


@functools.cache
def _code_state() -> tuple[str, bool]:
    """(commit, whether the package's code differs from it) when the grid started: the code this process runs (the
    grids' own output, results/, does not count)."""
    dirty = _git("status", "--porcelain", "--", "norm_viz", ":(exclude)norm_viz/training/results")
    return _git("rev-parse", "HEAD"), bool(dirty) and dirty != "unknown"


def _write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    tmp.replace(path)


def _load(path: Path) -> dict[str, Any]:
    if path.exists():
        return json.loads(path.read_text())  # type: ignore[no-any-return]
    return {"provenance": {"parts": []}, "records": []}


def _best(records: list[dict[str, Any]], key: str) -> float:
    """The swept learning rate with the lowest `key` (ties: the first)."""
    return min(records, key=lambda r: r[key] if r[key] is not None else float("inf"))["lr"]


def init_record(r: init_grads.InitGrads) -> dict[str, Any]:
    """The shipped line of one gradient-at-initialization measurement."""
    return {"placement": r.placement, "layers": r.layers, "seed": r.seed, "grad_norms": list(r.grad_norms)}


def run_init(out: Path) -> dict[str, Any]:
    """The gradient norm per block at initialization, pre- and post-norm, every depth and seed (seconds of CPU)."""
    start_cpu, start = time.process_time(), time.time()
    _code_state()
    with one_thread():
        data: dict[str, Any] = {"provenance": {"parts": []}, "records": [init_record(r) for r in init_grads.table()]}
    _provenance("init", data, ["layernorm"], {}, start_cpu, start)
    data["provenance"]["parts"][0]["done"] = ["layernorm"]
    _write(out / "init.json", data)
    return data


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path`'s grid (several grid processes may extend one file at once)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = (
        Path(tempfile.gettempdir())
        / f"norm-viz-grid-{hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]}.lock"
    )
    with open(lock, "a") as f:  # outside the package: the results folder ships
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _next_rate(lr: float, up: bool) -> float:
    """The next rate of the 1-3-10 series above (or below) `lr`: 1e-2 → 3e-2 → 1e-1; 1e-3 → 3e-4."""
    exp = math.floor(math.log10(lr) + 1e-9)
    mant = round(lr / 10**exp)
    if up:
        return float(f"{3 if mant == 1 else 1}e{exp if mant == 1 else exp + 1}")
    return float(f"{3 if mant == 1 else 1}e{exp - 1 if mant == 1 else exp}")


def lm_swept(records: Sequence[dict[str, Any]]) -> list[float]:
    """Every rate some LM cell's sweep ran (each cell's own sweep is in its records)."""
    return sorted({r["lr"] for r in records if r["phase"] == "sweep"})


def _same_run(r: dict[str, Any], key: str, lr: float, seed: int) -> bool:
    return lm_record_key(r) == key and r["seed"] == seed and math.isclose(r["lr"], lr) and r["steps"] == LM_STEPS


def run_lm_grid(
    keys: Sequence[str] | None,
    out: Path,
    fresh: bool = False,
    log: Any = sys.stdout,
    runs: Sequence[str] = (),
) -> dict[str, Any]:
    """Compute or extend the LM grid, running only what the file lacks: per cell, the sweep on seed 0 (extended past
    an end where the best rate lies; a sweep run at any rate is reused), then seeds 0-2 at the chosen rate, each of
    which must carry every current measurement (LM_FIELDS; else it is re-run, which reproduces its loss exactly).
    Runs at the chosen rate's old seeds that a new choice made stale are removed. Safe to run as several processes
    on disjoint cells at once (the file is updated under a lock after every run). `fresh` re-runs the chosen cells
    from scratch. `runs` ("cell:lr:seed", e.g. "rmsnorm/pre:0.01:1") runs just those (when missing) and chooses
    nothing: many single runs can fill a grid in parallel, and the plain command then reuses them."""
    path = out / "lm.json"
    start_cpu, start = time.process_time(), time.time()
    part_id = f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{os.getpid()}"
    commit, dirty = _code_state()
    chosen = [c for c in LM_GRID if keys is None or c.key in keys or c.norm in keys]
    if runs:
        chosen = [c for c in LM_GRID if any(item.split(":")[0] == c.key for item in runs)]
    if keys:  # in the order asked for
        chosen.sort(key=lambda c: list(keys).index(c.key) if c.key in keys else list(keys).index(c.norm))
    learning_rates: dict[str, float] = {}

    def update(change: Any) -> dict[str, Any]:
        with _locked(path):
            data = _load(path)
            change(data)
            prov = data["provenance"]
            part = {
                "id": part_id,
                **provenance_part([c.key for c in chosen], learning_rates, start_cpu, start, (commit, dirty)),
                **({"runs": list(runs)} if runs else {}),
            }
            prov["parts"] = [p for p in prov.get("parts", []) if p.get("id") != part_id] + [part]
            prov.update(_settings("lm"))
            prov["sweep_learning_rates"] = lm_swept(data["records"])
            _write(path, data)
            return data

    if fresh:
        update(lambda d: d.__setitem__("records", [r for r in d["records"] if lm_record_key(r) not in
                                                   {c.key for c in chosen}]))  # fmt: skip

    def run(cell: LMCell, lr: float, seed: int, phase: str, complete: bool) -> dict[str, Any]:
        """The record of one run: reused from the file when there (with every field, if `complete`), else run."""
        old = [r for r in _load(path)["records"] if _same_run(r, cell.key, lr, seed)]
        if old and (not complete or cell.norm not in LM_LEAK_NORMS or all(k in old[0] for k in LM_FIELDS)):
            return old[0]
        cfg = lm.LMConfig(norm=cell.norm, placement=cell.placement, steps=LM_STEPS, warmup=cell.warmup, lr=lr,
                          seed=seed)  # fmt: skip
        rec = lm_record(lm.run_lm(cfg), phase)
        rec["commit"] = commit
        if old and old[0]["val_loss"] != rec["val_loss"]:
            rec["notes"].append(f"re-run: val_loss {rec['val_loss']!r}, the earlier record had {old[0]['val_loss']!r}")

        def put(d: dict[str, Any]) -> None:
            d["records"] = [r for r in d["records"] if not _same_run(r, cell.key, lr, seed)] + [rec]

        update(put)
        shown = {k: rec[k] for k in ("norm", "placement", "warmup", "seed", "lr", "val_loss", "probe_loss",
                                     "future_leak_abs", "cpu_s")}  # fmt: skip
        print(json.dumps(shown), file=log, flush=True)
        return rec

    with one_thread():
        for item in runs:
            key, lr_text, seed_text = item.split(":")
            cell = next(c for c in LM_GRID if c.key == key)
            seed = int(seed_text)
            run(cell, float(lr_text), seed, "fixed" if cell.rate_of else "sweep" if seed == SEEDS[0] else "seeds", True)
        for cell in [] if runs else chosen:
            if cell.rate_of is None:
                sweep = {lr: run(cell, lr, SEEDS[0], "sweep", False) for lr in LM_LRS}
                for _ in range(LM_SWEEP_EXTEND):
                    best = _best(sorted(sweep.values(), key=lambda r: r["lr"]), "probe_loss")
                    if best not in (max(sweep), min(sweep)):
                        break
                    nxt = _next_rate(best, up=best == max(sweep))
                    sweep[nxt] = run(cell, nxt, SEEDS[0], "sweep", False)
                best = _best(sorted(sweep.values(), key=lambda r: r["lr"]), "probe_loss")
                phases = ["sweep", *["seeds"] * (len(SEEDS) - 1)]
            else:
                best = learning_rates.get(cell.rate_of) or lm_chosen_rates(_load(path)["records"])[cell.rate_of]
                phases = ["fixed"] * len(SEEDS)
            for seed, phase in zip(SEEDS, phases, strict=True):
                run(cell, best, seed, phase, True)
            learning_rates[cell.key] = best

            def prune(d: dict[str, Any], cell: LMCell = cell, best: float = best) -> None:
                d["records"] = [r for r in d["records"] if lm_record_key(r) != cell.key or r["phase"] == "sweep"
                                or math.isclose(r["lr"], best)]  # fmt: skip

            update(prune)
    return update(lambda d: None)


def run_grid(
    grid: str, cells: Sequence[str] | None, out: Path, log: Any = sys.stdout, fresh: bool = False
) -> dict[str, Any]:
    """Compute (or extend) one grid; the file is rewritten after every run, so an interrupted grid keeps its runs."""
    if grid == "init":
        return run_init(out)
    if grid == "lm":
        return run_lm_grid(cells, out, fresh, log)
    if grid == "mnist":  # the ConvNet on 28×28 MNIST: its own module
        from norm_viz.training import mnist_grid

        return mnist_grid.run_grid(cells, out, log)
    path = out / f"{grid}.json"
    data = _load(path)
    start_cpu, start = time.process_time(), time.time()
    _code_state()
    todo = [f"{n}/{p}" for n, p in LM_CELLS] if grid == "lm" else list(CNN_NORMS)
    chosen = [c for c in todo if cells is None or c in cells or c.split("/")[0] in cells]
    keep = [r for r in data["records"] if _cell(grid, r) not in chosen]
    data["records"] = keep
    learning_rates: dict[str, float] = {}

    def add(rec: dict[str, Any]) -> None:
        data["records"].append(rec)
        _write(path, data)
        shown = {k: rec[k] for k in ("norm", "placement", "batch_size", "budget", "seed", "lr", "steps",
                                     "val_loss", "probe_loss", "val_error", "cpu_s") if k in rec}  # fmt: skip
        print(json.dumps(shown), file=log, flush=True)

    with one_thread():
        for cell in chosen:
            if grid == "lm":
                norm, placement = cell.split("/")
                base = lm.LMConfig(norm=norm, placement=placement, steps=LM_STEPS)
                sweep = []
                for lr_ in LM_LRS:
                    rec = lm_record(lm.run_lm(dataclasses.replace(base, lr=lr_, seed=SEEDS[0])), "sweep")
                    sweep.append(rec)
                    add(rec)
                best = _best(sweep, "probe_loss")
                for s in SEEDS[1:]:
                    add(lm_record(lm.run_lm(dataclasses.replace(base, lr=best, seed=s)), "seeds"))
            else:
                norm = cell
                sweep = []
                for lr_ in CNN_LRS:
                    c = cnn.CNNConfig(norm=norm, batch_size=CNN_SWEEP_BATCH, epochs=CNN_EPOCHS, lr=lr_, seed=SEEDS[0])
                    rec = cnn_record(cnn.run_cnn(c), "sweep")
                    sweep.append(rec)
                    add(rec)
                best = _best(sweep, "val_error")
                for bs in cnn.BATCH_SIZES:
                    for s in SEEDS:
                        for steps in (0, CNN_STEPS):
                            if steps == 0 and bs == CNN_SWEEP_BATCH and s == SEEDS[0]:
                                continue  # the sweep's run at the chosen rate is this cell
                            c = cnn.CNNConfig(norm=norm, batch_size=bs, epochs=CNN_EPOCHS, lr=best, seed=s, steps=steps)
                            add(cnn_record(cnn.run_cnn(c), "grid"))
            learning_rates[cell] = best
            _provenance(grid, data, chosen, learning_rates, start_cpu, start)
            _write(path, data)
    return data


def provenance_part(
    cells: list[str],
    learning_rates: dict[str, float],
    start_cpu: float,
    start: float,
    code: tuple[str, bool] | None = None,
) -> dict[str, Any]:
    """One invocation of a grid command as a part of the grid's provenance: the command, its cells and those done,
    the code (commit, uncommitted changes: `code`, else read now), torch, CPU and wall time, and the chosen rates."""
    commit, dirty = _code_state() if code is None else code
    return {
        "command": "python -m norm_viz.training.experiments " + shlex.join(sys.argv[1:]),
        "cells": cells,
        "done": list(learning_rates),
        "commit": commit,
        "uncommitted_changes": dirty,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": 1,
        "cpu_s": round(time.process_time() - start_cpu, 1),
        "wall_s": round(time.time() - start, 1),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "learning_rates": dict(learning_rates),
    }


def _provenance(
    grid: str, data: dict[str, Any], chosen: list[str], learning_rates: dict[str, float], start_cpu: float, start: float
) -> None:
    """Record this invocation as one part of the grid's provenance (replacing an earlier part with the same cells)."""
    part = provenance_part(chosen, learning_rates, start_cpu, start)
    prov = data["provenance"]
    prov["parts"] = [p for p in prov.get("parts", []) if not set(p.get("done", p["cells"])) <= set(chosen)] + [part]
    prov.update(_settings(grid))


def _cell(grid: str, r: dict[str, Any]) -> str:
    return f"{r['norm']}/{r['placement']}" if grid == "lm" else str(r["norm"])


def _settings(grid: str) -> dict[str, Any]:
    """What every run of the grid shares (the scale a verdict names)."""
    if grid == "init":
        return {
            "seeds": list(init_grads.SEEDS),
            "depths": list(init_grads.DEPTHS),
            "what": "gradient L2 norm of each block's attention and MLP weights after one backward pass of the "
            "freshly initialized tiny LM (LayerNorm, width 64) on the first 16 training sentences",
        }
    if grid == "lm":
        c = lm.LMConfig(steps=LM_STEPS)
        d = lm.text_data()
        return {
            "seeds": list(SEEDS),
            "sweep_learning_rates": list(LM_LRS),
            "selection": "the swept rate with the lowest eval-mode loss on the last 64 validation sentences (seed 0);"
            f" each sweep starts at {', '.join(f'{v:g}' for v in LM_LRS)} and goes one step of the 1-3-10 series "
            f"further while its best rate is at an end (at most {LM_SWEEP_EXTEND} steps); the warm-up study reuses "
            "its cell's rate; the table scores the first 256 validation sentences",
            "model": {k: v for k, v in dataclasses.asdict(c).items() if k not in ("norm", "placement", "seed", "lr")},
            "data": f"{len(d.train):,} training and {len(d.val):,} validation sentences of the Python standard "
            f"library's docstrings ({d.vocab_size} characters)",
        }
    dg = cnn.digits()
    return {
        "seeds": list(SEEDS),
        "sweep_learning_rates": list(CNN_LRS),
        "selection": f"the swept rate (at batch 32, scaled with √(batch/32)) with the lowest validation error at "
        f"batch {CNN_SWEEP_BATCH}, {CNN_EPOCHS} epochs, seed 0",
        "model": {k: v for k, v in dataclasses.asdict(cnn.CNNConfig()).items() if k in ("channels", "groups")},
        "budgets": {"epochs": CNN_EPOCHS, "steps": CNN_STEPS},
        "data": f"scikit-learn's 8×8 handwritten digits ({len(dg.y_train):,} training, {len(dg.y_val)} validation "
        "images)",
    }


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--grid", choices=("lm", "cnn", "init", "mnist"), required=True)
    ap.add_argument("--cells", nargs="*", help="only these norms (or norm/placement); the file keeps the others")
    ap.add_argument("--out", type=Path, default=RESULTS_DIR)
    ap.add_argument("--runs", nargs="*", default=(), help="LM: only these runs, as cell:lr:seed (chooses nothing)")
    ap.add_argument("--fresh", action="store_true", help="LM: re-run the chosen cells (else only what is missing)")
    a = ap.parse_args(argv)
    if a.runs and a.grid == "lm":
        data = run_lm_grid(None, a.out, log=sys.stdout, runs=a.runs)
    else:
        data = run_grid(a.grid, a.cells, a.out, fresh=a.fresh)
    print(json.dumps(data["provenance"], indent=1))


if __name__ == "__main__":
    main()
