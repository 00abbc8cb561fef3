"""The ConvNet's batch-size study on harder real images: 5,000 MNIST digits at 28×28 (images.mnist).

`python -m norm_viz.training.experiments --grid mnist` runs it on one torch thread and writes
norm_viz/training/results/mnist.json (records and provenance, like the other grids): per norm, a learning-rate sweep
on seed 0 at batch SWEEP_BATCH and equal epochs, then every batch size and seed under both budgets at the chosen
rate. Equal epochs: every batch size sees the 4,000 training images EPOCHS times. Equal steps: every batch size
takes STEPS updates; STEPS is chosen so that batch SWEEP_BATCH's two budgets are the same run, which is run once and
recorded under both. torch only.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from norm_viz.training import cnn, experiments, images

GRID = "mnist"
DATASET = "mnist"
NORMS = ("batchnorm", "groupnorm", "layernorm", "instancenorm", "none")
"""In this order, so that an interrupted grid has the GroupNorm paper's comparison first."""
BATCH_SIZES = (2, 8, 32)
SEEDS = experiments.SEEDS
LRS = (3e-3, 1e-2, 3e-2)
"""Adam's rate at batch 32 (scaled with √(batch / 32) at other batch sizes), swept on seed 0."""
SWEEP_BATCH = 8
EPOCHS = 2
"""Equal epochs: batch 2 takes 4,000 steps, batch 8 1,000, batch 32 only 250."""
STEPS = 1000
"""Equal steps: batch 2 sees 2,000 images (half an epoch), batch 32 32,000 (8 epochs)."""


def config(norm: str, batch_size: int, seed: int, lr: float, budget: str) -> cnn.CNNConfig:
    """One run of the grid ("epochs" or "steps" budget)."""
    return cnn.CNNConfig(norm=norm, batch_size=batch_size, seed=seed, lr=lr, epochs=EPOCHS,
                         steps=STEPS if budget == "steps" else 0, dataset=DATASET)  # fmt: skip


def record(h: cnn.CNNHistory, phase: str, budget: str | None = None) -> dict[str, Any]:
    """The shipped line of one run (experiments.cnn_record plus the image set and the per-epoch errors)."""
    rec = experiments.cnn_record(h, phase)
    rec["dataset"] = h.config.dataset
    rec["val_error_per_epoch"] = list(h.val_error_per_epoch)
    if budget is not None:
        rec["budget"] = budget
    return rec


def record_config(r: dict[str, Any]) -> cnn.CNNConfig:
    """The config that reproduces a record of this grid."""
    return config(r["norm"], r["batch_size"], r["seed"], r["lr"], r["budget"])


def rerun(r: dict[str, Any]) -> dict[str, Any]:
    """Re-run a record's configuration on one thread and return its new record."""
    with experiments.one_thread():
        return record(cnn.run_cnn(record_config(r)), r.get("phase", "rerun"), r["budget"])


def settings() -> dict[str, Any]:
    """What every run of the grid shares (the scale a verdict names)."""
    d = images.mnist()
    return {
        "seeds": list(SEEDS),
        "sweep_learning_rates": list(LRS),
        "selection": f"the swept rate (at batch 32, scaled with √(batch/32)) with the lowest validation error at "
        f"batch {SWEEP_BATCH}, {EPOCHS} epochs, seed 0",
        "model": {"channels": cnn.CNNConfig().channels, "groups": cnn.CNNConfig().groups, "pool_first": True},
        "budgets": {"epochs": EPOCHS, "steps": STEPS},
        "batch_sizes": list(BATCH_SIZES),
        "data": f"MNIST, 5,000 28×28 images shipped by {images.MNIST_PACKAGE} {images.MNIST_VERSION} "
        f"({len(d.y_train):,} training, {len(d.y_val):,} validation images)",
    }


def run_grid(cells: Sequence[str] | None, out: Path, log: Any = sys.stdout) -> dict[str, Any]:
    """Compute (or extend) the MNIST grid; the file is rewritten after every run."""
    path = out / f"{GRID}.json"
    data = experiments._load(path)
    start_cpu, start = time.process_time(), time.time()
    experiments._code_state()
    chosen = [n for n in NORMS if cells is None or n in cells]
    data["records"] = [r for r in data["records"] if r["norm"] not in chosen]
    rates: dict[str, float] = {}

    def add(rec: dict[str, Any]) -> None:
        data["records"].append(rec)
        experiments._write(path, data)
        shown = {k: rec[k] for k in ("norm", "batch_size", "budget", "seed", "lr", "steps", "val_error", "cpu_s")}
        print(json.dumps(shown), file=log, flush=True)

    with experiments.one_thread():
        for norm in chosen:
            sweep = []
            for lr in LRS:
                rec = record(cnn.run_cnn(config(norm, SWEEP_BATCH, SEEDS[0], lr, "epochs")), "sweep")
                sweep.append(rec)
                add(rec)
            best = experiments._best(sweep, "val_error")
            for bs in BATCH_SIZES:
                for s in SEEDS:
                    for budget in ("epochs", "steps"):
                        if bs == SWEEP_BATCH and budget == "steps":
                            shared = next(r for r in data["records"] if r["norm"] == norm and r["batch_size"] == bs
                                          and r["seed"] == s and r["lr"] == best and r["budget"] == "epochs")  # fmt: skip
                            add({**shared, "budget": "steps", "phase": "grid", "same_run_as": "epochs"})
                            continue
                        if bs == SWEEP_BATCH and s == SEEDS[0]:
                            continue  # the sweep's run at the chosen rate is this cell
                        add(record(cnn.run_cnn(config(norm, bs, s, best, budget)), "grid", budget))
            rates[norm] = best
            _provenance(data, chosen, rates, start_cpu, start)
            experiments._write(path, data)
    return data


def _provenance(
    data: dict[str, Any], chosen: list[str], rates: dict[str, float], start_cpu: float, start: float
) -> None:
    """This invocation as one part of the grid's provenance (replacing an earlier part with the same cells)."""
    part = experiments.provenance_part(chosen, rates, start_cpu, start)
    prov = data["provenance"]
    prov["parts"] = [p for p in prov.get("parts", []) if not set(p.get("done", p["cells"])) <= set(chosen)] + [part]
    prov.update(settings())
