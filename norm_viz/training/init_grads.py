"""Gradient norm per layer at initialization, pre-norm against post-norm (Xiong et al., 2020, "On Layer
Normalization in the Transformer Architecture", figure 3): the tiny LM with LayerNorm, its real loss on one fixed
batch of training sentences, for several depths and seeds. Post-norm's gradient is expected to grow towards the
last layers (which is why it needs learning-rate warm-up); pre-norm's to stay level. torch only; no training.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch

from norm_viz.training import lm

DEPTHS = (2, 4, 8)
SEEDS = (0, 1, 2)


@dataclass(frozen=True)
class InitGrads:
    """Gradient L2 norm of each block's weights (attention and MLP, not the norms) at initialization."""

    placement: str
    layers: int
    seed: int
    grad_norms: tuple[float, ...]


@functools.cache
def init_grads(placement: str, layers: int, seed: int, width: int = 64) -> InitGrads:
    """One backward pass of the freshly initialized LM (LayerNorm, `placement`) on the first 16 training sentences."""
    cfg = lm.LMConfig(norm="layernorm", placement=placement, layers=layers, width=width, seed=seed)
    cfg.check()
    data = lm.text_data()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = lm.CharLM(cfg, data.vocab_size)
    ids, targets, mask = lm.make_batch(list(data.train[:16]), cfg.max_len, data.pad)
    lm.loss_of(model, ids, targets, mask).backward()
    norms = []
    for b in model.blocks:
        assert isinstance(b, lm.Block)
        grads = [p.grad for m in (b.qkv, b.proj, b.mlp) for p in m.parameters() if p.grad is not None]
        norms.append(float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))))
    return InitGrads(placement, layers, seed, tuple(norms))


def table(depths: tuple[int, ...] = DEPTHS, seeds: tuple[int, ...] = SEEDS) -> list[InitGrads]:
    """Every placement × depth × seed."""
    return [init_grads(p, d, s) for p in lm.PLACEMENTS for d in depths for s in seeds]


def last_over_first(rows: list[InitGrads], placement: str, layers: int) -> list[float]:
    """Per seed: the last block's gradient norm over the first block's (> 1: it grows towards the output)."""
    return [r.grad_norms[-1] / r.grad_norms[0] for r in rows if r.placement == placement and r.layers == layers]
