"""The tiny LM's final evaluation: validation loss in eval mode, with training-mode statistics at the training
batch size and at 1, the residual stream's size (and DyT's saturation), and the causal leak measured two ways (by
prefix forwards, and by swapping the batch's future). torch only."""

from __future__ import annotations

import copy

import torch
from torch import Tensor
from torch.nn import functional as F

from norm_viz.core import modules
from norm_viz.training.lm.config import FutureLeak, Leak, LMConfig, LMEval
from norm_viz.training.lm.data import TextData, make_batch
from norm_viz.training.lm.model import CharLM, loss_of


def _batches(seqs: tuple[Tensor, ...], size: int) -> list[list[Tensor]]:
    return [list(seqs[i : i + size]) for i in range(0, len(seqs), size)]


@torch.no_grad()
def mean_loss(
    model: CharLM, seqs: tuple[Tensor, ...], batch_size: int, max_len: int, pad: int, train_mode: bool
) -> float:
    """Per-token mean loss over `seqs`; training-mode statistics are computed on a copy (the model's running
    statistics are left as they are)."""
    net = copy.deepcopy(model).train() if train_mode else model.eval()
    total, count = 0.0, 0
    for chunk in _batches(seqs, batch_size):
        if train_mode and batch_size == 1 and len(chunk[0][: max_len + 1]) < 3:
            continue  # a batch of one token has no variance to normalize with
        ids, targets, mask = make_batch(chunk, max_len, pad)
        total += float(loss_of(net, ids, targets, mask, "sum"))
        count += int((targets != -100).sum())
    model.train()
    return total / max(count, 1)


@torch.no_grad()
def causal_leak(model: CharLM, seqs: list[Tensor], length: int, pad: int) -> Leak:
    """Training-mode loss of one batch with the whole sequence against a causal evaluation (one forward per prefix,
    so position t's statistics see positions ≤ t only). Exactly causal norms give equal per-token losses."""
    net = copy.deepcopy(model).train()
    ids, targets, mask = make_batch(seqs, length, pad)
    full = F.cross_entropy(net(ids, mask).transpose(1, 2), targets, reduction="none")  # (B, S)
    causal = torch.zeros_like(full)
    for t in range(1, ids.shape[1] + 1):
        net = copy.deepcopy(model).train()  # the same starting state for every prefix
        logits = net(ids[:, :t], mask[:, :t])[:, -1]
        causal[:, t - 1] = F.cross_entropy(logits, targets[:, t - 1], reduction="none")
    real = targets != -100
    n = int(real.sum())
    return Leak(
        train_mode_loss=float(full[real].sum()) / n,
        causal_loss=float(causal[real].sum()) / n,
        mean_abs_diff=float((full - causal)[real].abs().sum()) / n,
    )


@torch.no_grad()
def future_leak(model: CharLM, seqs: list[Tensor], others: list[Tensor], length: int) -> FutureLeak:
    """Training-mode per-token losses of a batch of `seqs` (each cut to `length` inputs, no pads) against the same
    batch with the inputs after position t replaced by `others`' tokens at those positions, for every t: the past
    and the targets stay, only the future changes. Every forward starts from the same copy of the model (a norm that
    updates state in training mode, like PowerNorm's running ψ², sees the same state each time)."""
    if len(seqs) != len(others) or any(len(s) < length + 1 for s in [*seqs, *others]):
        raise ValueError(f"future_leak needs two equal batches of sequences of at least {length + 1} tokens")
    ids = torch.stack([s[: length + 1] for s in seqs])
    alt = torch.stack([s[:length] for s in others])
    inputs, targets = ids[:, :-1], ids[:, 1:]
    mask = torch.ones_like(inputs, dtype=torch.bool)
    net = copy.deepcopy(model).train()
    true = F.cross_entropy(net(inputs, mask).transpose(1, 2), targets, reduction="none")[:, :-1].contiguous()
    swapped = torch.zeros_like(true)
    for t in range(length - 1):
        x = inputs.clone()
        x[:, t + 1 :] = alt[:, t + 1 :]
        net = copy.deepcopy(model).train()
        # the whole (B, S) loss, as for the true future, so that the arithmetic is the same: a causal model's
        # position t then gives the very same bits
        swapped[:, t] = F.cross_entropy(net(x, mask).transpose(1, 2), targets, reduction="none")[:, t]
    return FutureLeak(
        loss=float(true.double().mean()),
        swapped_loss=float(swapped.double().mean()),
        mean_abs_diff=float((true - swapped).abs().double().mean()),
    )


def leak_batches(data: TextData, length: int, n_val: int = 256, size: int = 16) -> tuple[list[Tensor], list[Tensor]]:
    """Two batches of `size` validation sentences with at least `length` + 1 tokens, neither scored in the table
    nor used to pick the learning rate: the batch whose future is swapped, and the sentences the new future comes
    from."""
    long = [s for s in data.val[n_val:-64] if len(s) >= length + 1]
    if len(long) < 2 * size:
        raise ValueError(f"only {len(long)} validation sentences have {length + 1} tokens; need {2 * size}")
    return long[:size], long[size : 2 * size]


def evaluate(model: CharLM, cfg: LMConfig, data: TextData, n_val: int = 256) -> LMEval:
    """The final evaluation: eval mode, training mode at the training batch size and at 1, and the causal leak."""
    val = data.val[:n_val]
    rms, sat = inputs_and_saturation(model, list(data.val[n_val : n_val + 16]), cfg.max_len, data.pad)
    return LMEval(
        val_loss=mean_loss(model, val, cfg.batch_size, cfg.max_len, data.pad, train_mode=False),
        val_loss_train_mode=mean_loss(model, val, cfg.batch_size, cfg.max_len, data.pad, train_mode=True),
        val_loss_batch1=mean_loss(model, val[:64], 1, cfg.max_len, data.pad, train_mode=True),
        leak=causal_leak(model, list(data.val[n_val : n_val + 16]), cfg.leak_len, data.pad),
        input_rms=rms,
        saturation=sat,
        future=future_leak(
            model, *leak_batches(data, min(cfg.leak_len, cfg.max_len), n_val), min(cfg.leak_len, cfg.max_len)
        ),
    )


@torch.no_grad()
def inputs_and_saturation(
    model: CharLM, seqs: list[Tensor], max_len: int, pad: int
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(RMS of each norm layer's input over the real tokens, DyT's saturated fraction per layer or ()) in eval mode."""
    ids, _, mask = make_batch(seqs, max_len, pad)
    seen: list[Tensor] = []
    hooks = [m.register_forward_pre_hook(lambda _m, a: seen.append(a[0][a[1]])) for _, m in model.norms()]
    model.eval()
    try:
        model(ids, mask)
    finally:
        for h in hooks:
            h.remove()
        model.train()
    rms = tuple(float(x.pow(2).mean().sqrt()) for x in seen)
    layers = [m.inner for _, m in model.norms()]
    if not all(isinstance(m, modules.DyT) for m in layers):
        return rms, ()
    return rms, tuple(modules.saturation(m, x) for m, x in zip(layers, seen, strict=True))
