"""The tiny LM's training loop: seeded initialization and batches, AdamW with linear warm-up and cosine decay,
gradient norms per layer, the recorded norm layer's batch statistics, the live callback and the final evaluation.
torch only."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import torch
from torch import Tensor, nn

from norm_viz.training.layers import batch_dependent
from norm_viz.training.lm.config import LMConfig, LMHistory, LMStep
from norm_viz.training.lm.data import make_batch, text_data
from norm_viz.training.lm.evaluate import evaluate, mean_loss
from norm_viz.training.lm.model import CharLM, layout, loss_of, param_groups


def lr_at(step: int, cfg: LMConfig) -> float:
    """Linear warm-up, then cosine decay to a tenth of the peak (step is 1-based)."""
    if step <= cfg.warmup:
        return cfg.lr * step / cfg.warmup
    t = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))


def _quantiles(v: Tensor) -> tuple[float, float, float]:
    q = torch.quantile(v.float(), torch.tensor([0.1, 0.5, 0.9]))
    return float(q[0]), float(q[1]), float(q[2])


Callback = Callable[[LMStep, int], bool | None]
"""Called after every step with the step and the total; returning False stops the run."""


def train_lm(
    norm: str = "layernorm",
    placement: str = "pre",
    steps: int = 300,
    seed: int = 0,
    *,
    lr: float = LMConfig.lr,
    callback: Callback | None = None,
    evaluate_at_end: bool = True,
    **options: int | float,
) -> LMHistory:
    """Train the tiny LM on the docstring sentences at peak learning rate `lr`; `options` are further LMConfig fields
    (width, layers, …).

    Deterministic for one seed (its own torch.Generator for the batches, torch.manual_seed inside a forked RNG for
    the initialization). `callback(step, total)` sees every step; False stops the run early (final = None).
    """
    cfg = LMConfig(norm=norm, placement=placement, steps=steps, seed=seed, lr=lr, **options)  # type: ignore[arg-type]
    return run_lm(cfg, callback=callback, evaluate_at_end=evaluate_at_end)


def run_lm(cfg: LMConfig, *, callback: Callback | None = None, evaluate_at_end: bool = True) -> LMHistory:
    """train_lm for a ready config."""
    cfg.check()
    data = text_data()
    start = time.process_time()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        model = CharLM(cfg, data.vocab_size)
    gen = torch.Generator().manual_seed(cfg.seed)
    groups = param_groups(model)
    names, norm_layers = list(groups), model.norms()
    stat_name, stat_layer = norm_layers[cfg.stat_layer]
    stat_layer.capture = True
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.01)
    running_mean = torch.zeros(cfg.width)
    running_var = torch.ones(cfg.width)
    val_probe = data.val[-64:]  # not among the final evaluation's sentences
    records: list[LMStep] = []
    stopped, notes = False, []
    model.train()
    for step in range(1, cfg.steps + 1):
        idx = torch.randint(len(data.train), (cfg.batch_size,), generator=gen)
        ids, targets, mask = make_batch([data.train[int(i)] for i in idx], cfg.max_len, data.pad)
        lr = lr_at(step, cfg)
        for g in opt.param_groups:
            g["lr"] = lr
        loss = loss_of(model, ids, targets, mask)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        norms = tuple(
            float(
                torch.linalg.vector_norm(
                    torch.stack([torch.linalg.vector_norm(p.grad) for p in ps if p.grad is not None])
                )
            )
            if any(p.grad is not None for p in ps)
            else 0.0
            for ps in groups.values()
        )
        loss_value = loss.item()
        if not math.isfinite(loss_value):
            notes.append(f"the loss became {loss_value} at step {step}: training stopped")
            stopped = True
        else:
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
        assert stat_layer.captured is not None
        mu, var = stat_layer.captured
        dist_mean = float((mu - running_mean).abs().mean())
        dist_var = float((var - running_var).abs().mean())
        running_mean.lerp_(mu, 0.1)
        running_var.lerp_(var, 0.1)
        val = None
        if not stopped and (step % cfg.eval_every == 0 or step == cfg.steps):
            val = mean_loss(model, val_probe, cfg.batch_size, cfg.max_len, data.pad, train_mode=False)
        rec = LMStep(
            step=step,
            train_loss=loss_value,
            val_loss=val,
            lr=lr,
            grad_norms=norms,
            stat_mean=_quantiles(mu),
            stat_var=_quantiles(var),
            dist_mean=dist_mean,
            dist_var=dist_var,
            cpu_s=time.process_time() - start,
        )
        records.append(rec)
        if stopped:
            break
        if callback is not None and callback(rec, cfg.steps) is False:
            stopped = True
            break
    stat_layer.capture = False
    final = evaluate(model, cfg, data) if evaluate_at_end and not stopped else None
    return LMHistory(
        config=cfg,
        vocab_size=data.vocab_size,
        parameters=sum(p.numel() for p in model.parameters()),
        groups=tuple(names),
        stat_layer_name=stat_name,
        steps=tuple(records),
        final=final,
        stopped=stopped,
        cpu_s=time.process_time() - start,
        notes=tuple(notes),
    )


def uses_batch_statistics(cfg: LMConfig) -> bool:
    """True when the norm's training output depends on the rest of the batch."""
    return batch_dependent(cfg.norm)


def partial_history(cfg: LMConfig, steps: list[LMStep] | tuple[LMStep, ...]) -> LMHistory:
    """The history of a run stopped after `steps` (no final evaluation)."""
    params, groups, names = layout(cfg)
    return LMHistory(
        config=cfg,
        vocab_size=text_data().vocab_size,
        parameters=params,
        groups=groups,
        stat_layer_name=names[cfg.stat_layer],
        steps=tuple(steps),
        final=None,
        stopped=True,
        cpu_s=steps[-1].cpu_s if steps else 0.0,
    )
