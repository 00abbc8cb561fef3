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
import functools
import json
import platform
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from norm_viz.training import cnn, init_grads, lm

RESULTS_DIR = Path(__file__).with_name("results")
SEEDS = (0, 1, 2)
"""Every verdict rests on these three seeds (seed 0 also picks the learning rate)."""

LM_STEPS = 1000
LM_LRS = (1e-3, 3e-3, 1e-2)
"""The LM's learning-rate sweep (peak AdamW rate; linear warm-up over 30 steps, cosine decay to a tenth)."""
LM_CELLS: tuple[tuple[str, str], ...] = (
    ("layernorm", "pre"),
    ("layernorm", "post"),
    ("batchnorm", "pre"),
    ("powernorm", "pre"),
    ("rmsnorm", "pre"),
    ("masked_batchnorm", "pre"),
    ("none", "pre"),
    ("dyt", "pre"),
)
"""(norm, placement) of the shipped LM grid, at the lab's default model otherwise."""

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
        "phase": phase,
        "val_loss": f.val_loss if f else None,
        "probe_loss": probe[-1] if probe else None,
        "train_loss": statistics.fmean(s.train_loss for s in tail),
        "val_loss_train_mode": f.val_loss_train_mode if f else None,
        "val_loss_batch1": f.val_loss_batch1 if f else None,
        "leak_gap": f.leak.gap if f else None,
        "leak_abs": f.leak.mean_abs_diff if f else None,
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
    return lm.LMConfig(norm=r["norm"], placement=r["placement"], seed=r["seed"], lr=r["lr"], steps=r["steps"])


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


def run_grid(grid: str, cells: Sequence[str] | None, out: Path, log: Any = sys.stdout) -> dict[str, Any]:
    """Compute (or extend) one grid; the file is rewritten after every run, so an interrupted grid keeps its runs."""
    if grid == "init":
        return run_init(out)
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


def _provenance(
    grid: str, data: dict[str, Any], chosen: list[str], learning_rates: dict[str, float], start_cpu: float, start: float
) -> None:
    """Record this invocation as one part of the grid's provenance (replacing an earlier part with the same cells)."""
    done = list(learning_rates)
    part = {
        "command": "python -m norm_viz.training.experiments " + shlex.join(sys.argv[1:]),
        "cells": chosen,
        "done": done,
        "commit": _code_state()[0],
        "uncommitted_changes": _code_state()[1],
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": 1,
        "cpu_s": round(time.process_time() - start_cpu, 1),
        "wall_s": round(time.time() - start, 1),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "learning_rates": learning_rates,
    }
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
            " the table scores the first 256 validation sentences",
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
    a = ap.parse_args(argv)
    data = run_grid(a.grid, a.cells, a.out)
    print(json.dumps(data["provenance"], indent=1))


if __name__ == "__main__":
    main()
