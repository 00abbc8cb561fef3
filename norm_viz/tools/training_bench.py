"""Benchmark of the training lab: `python -m norm_viz.tools.training_bench` prints, for the default settings, the CPU time
per training step and per whole run of the tiny LM (per norm) and of the digits ConvNet (per batch size), and the
process's peak resident memory. Figures only, never asserted. CPU time (time.process_time) rather than wall time,
so that other work on a shared machine disturbs it less; run with OMP_NUM_THREADS=1 for the one-thread figures.
"""

from __future__ import annotations

import argparse
import resource

import torch

from norm_viz.training import cnn, experiments, grid, lm
from norm_viz.training.layers import CNN_NORMS, LM_NORMS, label


def peak_rss_mib() -> float:
    """The process's peak resident set size so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--full", action="store_true", help="also time whole default runs (minutes), not only steps")
    args = ap.parse_args(argv)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    print("\nTiny LM, default settings:", lm.LMConfig())
    print(f"{'norm':<22} {'placement':<9} {'ms/step':>8} {'est. run s':>10} {'run CPU s':>9}  peak RSS MiB")
    for n in LM_NORMS:
        for p in lm.PLACEMENTS:
            cfg = lm.LMConfig(norm=n, placement=p)
            per = grid.lm_seconds_per_step(cfg, probe_steps=10)
            run = f"{lm.run_lm(cfg).cpu_s:9.1f}" if args.full else f"{'-':>9}"
            print(
                f"{label(n):<22} {p:<9} {1000 * per:8.1f} {grid.estimate_lm(cfg, per):10.1f} {run}  {peak_rss_mib():.0f}"
            )
    print(f"\nDigits ConvNet, {experiments.CNN_EPOCHS} epochs:")
    print(f"{'norm':<14} {'batch':>5} {'ms/step':>8} {'est. run s':>10} {'run CPU s':>9}  peak RSS MiB")
    for n in CNN_NORMS:
        for bs in cnn.BATCH_SIZES:
            c = cnn.CNNConfig(norm=n, batch_size=bs, epochs=experiments.CNN_EPOCHS)
            per = grid.cnn_seconds_per_step(c, probe_steps=20)
            run = f"{cnn.run_cnn(c).cpu_s:9.1f}" if args.full else f"{'-':>9}"
            print(
                f"{label(n):<14} {bs:>5} {1000 * per:8.2f} {grid.estimate_cnn(c, per):10.1f} {run}  {peak_rss_mib():.0f}"
            )


if __name__ == "__main__":
    main()
