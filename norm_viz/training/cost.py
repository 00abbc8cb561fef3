"""CPU-time estimates of a training-lab run from the CPU time per step measured on this machine: what decides
which live runs fit the CPU limit of a live run (ui/training.LIVE_LIMIT_S). torch only."""

from __future__ import annotations

import dataclasses

from norm_viz.training import cnn, lm


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
    final_fwd = (
        256 / cfg.batch_size * 2 + 64 / 1 * 0.3 + 2 * cfg.leak_len * 16 / cfg.batch_size * 0.6
    ) / 3  # two leaks
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
    return t * (cfg.total_steps + 0.3 * cnn.steps_per_epoch(cfg.batch_size, cfg.dataset))
