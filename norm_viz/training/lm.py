"""A tiny character-level transformer language model trained on real English (the standard library's docstrings).

torch only. `train_lm` trains a small causal decoder with the chosen norm (a key of the table, or 'none') placed pre
or post, seeded, and returns its per-step history: losses, gradient norms per layer, the batch statistics of one norm
layer (the PowerNorm paper's figure 1, measured on this run), and an honest final evaluation: eval mode with running
statistics, batch size 1, and the causal leak of batch statistics over the sequence.
"""

from __future__ import annotations

import copy
import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from norm_viz.core import corpus, modules
from norm_viz.training.layers import LM_NORMS, SequenceNorm, batch_dependent, check_key

PLACEMENTS = ("pre", "post")


@dataclass(frozen=True)
class LMConfig:
    """Everything a run depends on (a run is a pure function of this)."""

    norm: str = "layernorm"
    placement: str = "pre"
    steps: int = 300
    seed: int = 0
    batch_size: int = 16
    width: int = 64
    layers: int = 2
    heads: int = 4
    max_len: int = 96
    lr: float = 3e-3
    warmup: int = 30
    """Learning-rate warm-up steps (linear), then cosine decay to a tenth."""
    powernorm_warmup: int = 60
    """PowerNorm's warm-up steps: it divides by the batch's ψ² until then, by the running ψ² after."""
    eval_every: int = 25
    stat_layer: int = 0
    """Which norm layer's batch statistics are recorded (0 = the first)."""
    leak_len: int = 40
    """Sequence length of the causal-leak measurements (each runs one forward per position)."""

    def check(self) -> None:
        """ValueError with what is wrong and what is valid."""
        check_key(self.norm, LM_NORMS)
        if self.placement not in PLACEMENTS:
            raise ValueError(f"unknown placement {self.placement!r}; valid: {', '.join(PLACEMENTS)}")
        for name, lo in (("steps", 1), ("batch_size", 2), ("layers", 1), ("heads", 1), ("max_len", 8)):
            if getattr(self, name) < lo:
                raise ValueError(f"{name} must be at least {lo}, got {getattr(self, name)}")
        if self.width % self.heads:
            raise ValueError(f"width {self.width} must be a multiple of heads {self.heads}")
        if not 0 <= self.stat_layer < self.norm_layers:
            raise ValueError(f"stat_layer must be from 0 to {self.norm_layers - 1}, got {self.stat_layer}")

    @property
    def norm_layers(self) -> int:
        """Two norm layers per block, plus the final one before the output for pre-norm."""
        return 2 * self.layers + (self.placement == "pre")


@dataclass(frozen=True)
class LMStep:
    """One training step."""

    step: int
    train_loss: float
    val_loss: float | None
    """Validation loss in eval mode (running statistics), every `eval_every` steps and at the last; else None."""
    lr: float
    grad_norms: tuple[float, ...]
    """The gradient's L2 norm per parameter group (LMHistory.groups), before clipping."""
    stat_mean: tuple[float, float, float]
    """10th, 50th and 90th percentile over features of the recorded layer's batch mean μ_B."""
    stat_var: tuple[float, float, float]
    """The same for the batch variance σ²_B."""
    dist_mean: float
    """Mean over features of |μ_B − μ_running| (running: momentum 0.1, as BatchNorm keeps it)."""
    dist_var: float
    """Mean over features of |σ²_B − σ²_running|."""
    cpu_s: float
    """Process CPU seconds since the run started."""


@dataclass(frozen=True)
class Leak:
    """How much the training-mode forward sees of the future: the same validation batch scored with the whole
    sequence at once (what training computes) and causally (position t from a forward of the prefix up to t only)."""

    train_mode_loss: float
    causal_loss: float
    mean_abs_diff: float
    """Mean over predicted tokens of |per-token loss, whole sequence − per-token loss, causal|: 0 when causal."""

    @property
    def gap(self) -> float:
        """Causal loss minus training-mode loss: > 0 when the model profits from seeing the future."""
        return self.causal_loss - self.train_mode_loss


@dataclass(frozen=True)
class FutureLeak:
    """How much the training-mode loss on a token depends on the batch's *future* tokens: the loss at position t of
    a batch as it is, against the same batch with every position after t, in every row, replaced by other sentences'
    tokens (same past, same targets, different future). A norm whose statistics stay within one token (LayerNorm,
    RMSNorm) gives exactly 0: the model is causal; BatchNorm's statistics pool all positions of all rows."""

    loss: float
    """Mean training-mode loss at positions 0 … length − 2 with the batch's true future."""
    swapped_loss: float
    """The same losses, each position scored with the future swapped (one forward per position)."""
    mean_abs_diff: float
    """Mean over rows and positions of |loss with the true future − loss with a swapped future|: 0 when causal."""

    @property
    def gain(self) -> float:
        """Swapped minus true-future loss: > 0 when the true future lowers the loss (the model profits from it)."""
        return self.swapped_loss - self.loss


@dataclass(frozen=True)
class LMEval:
    """The final evaluation on the validation sentences."""

    val_loss: float
    """Eval mode: running statistics, as the model would be deployed (batch-independent)."""
    val_loss_train_mode: float
    """Training-mode statistics of validation batches of the training batch size."""
    val_loss_batch1: float
    """Training-mode statistics of one sentence at a time (batch size 1)."""
    leak: Leak
    input_rms: tuple[float, ...] = ()
    """Root-mean-square of each norm layer's input (forward order, eval mode, 16 validation sentences): how large the
    residual stream has grown."""
    saturation: tuple[float, ...] = ()
    """DyT only: per norm layer, the fraction of |tanh(α·x)| > 0.99 on the same sentences (a saturated DyT passes
    almost no gradient); empty for other norms."""
    future: FutureLeak | None = None
    """The causal leak measured by swapping the future (FutureLeak)."""


@dataclass(frozen=True)
class LMHistory:
    """A run: its config, per-step records, and the final evaluation (None when stopped before the end)."""

    config: LMConfig
    vocab_size: int
    parameters: int
    groups: tuple[str, ...]
    stat_layer_name: str
    steps: tuple[LMStep, ...]
    final: LMEval | None
    stopped: bool = False
    cpu_s: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def last_val(self) -> float | None:
        """The final eval-mode validation loss, or the last one measured during training."""
        if self.final is not None:
            return self.final.val_loss
        vals = [s.val_loss for s in self.steps if s.val_loss is not None]
        return vals[-1] if vals else None


# --- data -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class TextData:
    """The corpus as token ids: characters, one sentence per sequence, a newline before and after (pad = vocab)."""

    chars: str
    train: tuple[Tensor, ...]
    val: tuple[Tensor, ...]

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    @property
    def pad(self) -> int:
        return len(self.chars)


@functools.cache
def text_data(val_every: int = 10) -> TextData:
    """Every `val_every`-th sentence (0, 10, 20, …) is validation, the rest training: fixed, no randomness."""
    sents = corpus.sentences()
    chars = "".join(sorted(set(corpus.text())))
    index = {c: i for i, c in enumerate(chars)}
    nl = index["\n"]
    enc = [torch.tensor([nl, *(index[c] for c in s), nl], dtype=torch.long) for s in sents]
    return TextData(chars, tuple(e for i, e in enumerate(enc) if i % val_every), tuple(enc[::val_every]))


def make_batch(seqs: list[Tensor], max_len: int, pad: int) -> tuple[Tensor, Tensor, Tensor]:
    """(inputs, targets, mask) for sentences cut to max_len + 1 ids; right padding, mask = real input token."""
    cut = [s[: max_len + 1] for s in seqs]
    n = max(len(s) for s in cut) - 1
    ids = torch.full((len(cut), n + 1), pad, dtype=torch.long)
    for i, s in enumerate(cut):
        ids[i, : len(s)] = s
    mask = ids[:, :-1] != pad
    targets = ids[:, 1:].masked_fill(ids[:, 1:] == pad, -100)
    return ids[:, :-1], targets, mask


# --- model ------------------------------------------------------------------------------------------------------


class Block(nn.Module):
    """Causal self-attention and an MLP, each with its norm before (pre) or after the residual sum (post)."""

    def __init__(self, cfg: LMConfig) -> None:
        super().__init__()
        w = cfg.width
        self.heads, self.pre = cfg.heads, cfg.placement == "pre"
        self.norm1 = SequenceNorm(cfg.norm, w, powernorm_warmup=cfg.powernorm_warmup)
        self.norm2 = SequenceNorm(cfg.norm, w, powernorm_warmup=cfg.powernorm_warmup)
        self.qkv = nn.Linear(w, 3 * w)
        self.proj = nn.Linear(w, w)
        self.mlp = nn.Sequential(nn.Linear(w, 4 * w), nn.GELU(), nn.Linear(4 * w, w))

    def attend(self, x: Tensor) -> Tensor:
        b, s, w = x.shape
        q, k, v = self.qkv(x).view(b, s, 3, self.heads, w // self.heads).permute(2, 0, 3, 1, 4)
        # right padding only: a real token never attends to a pad under the causal mask
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(y.transpose(1, 2).reshape(b, s, w))

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        if self.pre:
            x = x + self.attend(self.norm1(x, mask))
            return x + self.mlp(self.norm2(x, mask))
        x = self.norm1(x + self.attend(x), mask)
        return self.norm2(x + self.mlp(x), mask)


class CharLM(nn.Module):
    """Token and position embeddings, `layers` blocks, a final norm (pre-norm only) and a linear read-out."""

    def __init__(self, cfg: LMConfig, vocab: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab + 1, cfg.width)  # the last row is the pad
        self.pos = nn.Embedding(cfg.max_len, cfg.width)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.layers))
        self.final = (
            SequenceNorm(cfg.norm, cfg.width, powernorm_warmup=cfg.powernorm_warmup) if cfg.placement == "pre" else None
        )
        self.head = nn.Linear(cfg.width, vocab)
        for m in self.modules():  # GPT-2's initialization: small weights, so the first loss is about ln(vocab)
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)

    def norms(self) -> list[tuple[str, SequenceNorm]]:
        """The norm layers in forward order, with names."""
        out = []
        for i, b in enumerate(self.blocks):
            assert isinstance(b, Block)
            out += [(f"block {i} norm 1 (attention)", b.norm1), (f"block {i} norm 2 (MLP)", b.norm2)]
        if self.final is not None:
            out.append(("final norm", self.final))
        return out

    def forward(self, ids: Tensor, mask: Tensor) -> Tensor:
        x = self.embed(ids) + self.pos.weight[: ids.shape[1]]
        for b in self.blocks:
            x = b(x, mask)
        if self.final is not None:
            x = self.final(x, mask)
        return self.head(x)


def param_groups(model: CharLM) -> dict[str, list[nn.Parameter]]:
    """Parameters grouped per layer, for the gradient-norm plot: embeddings, each block's attention, MLP and norms,
    the final norm, the read-out."""
    groups: dict[str, list[nn.Parameter]] = {"embeddings": [*model.embed.parameters(), *model.pos.parameters()]}
    for i, b in enumerate(model.blocks):
        assert isinstance(b, Block)
        groups[f"block {i} attention"] = [*b.qkv.parameters(), *b.proj.parameters()]
        groups[f"block {i} MLP"] = list(b.mlp.parameters())
        groups[f"block {i} norms"] = [*b.norm1.parameters(), *b.norm2.parameters()]
    if model.final is not None:
        groups["final norm"] = list(model.final.parameters())
    groups["read-out"] = list(model.head.parameters())
    return {k: v for k, v in groups.items() if v}


def loss_of(model: CharLM, ids: Tensor, targets: Tensor, mask: Tensor, reduction: str = "mean") -> Tensor:
    logits = model(ids, mask)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction=reduction)


# --- evaluation -------------------------------------------------------------------------------------------------


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


# --- training ---------------------------------------------------------------------------------------------------


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


def layout(cfg: LMConfig) -> tuple[int, tuple[str, ...], tuple[str, ...]]:
    """(parameter count, parameter-group names, norm-layer names) of the model this config builds."""
    cfg.check()
    model = CharLM(cfg, text_data().vocab_size)
    return sum(p.numel() for p in model.parameters()), tuple(param_groups(model)), tuple(n for n, _ in model.norms())


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


@functools.cache
def unigram_loss() -> float:
    """Validation loss of a model that ignores the context: each character predicted with its training frequency
    (the loss a language model has before it uses any context; a reference line for the results)."""
    data = text_data()
    counts = torch.bincount(torch.cat([t[1:] for t in data.train]), minlength=data.vocab_size).double() + 1
    logp = (counts / counts.sum()).log()
    targets = torch.cat([t[1:] for t in data.val])
    return float(-logp[targets].mean())
