"""What one run of the tiny LM is and what it returns: the config (a run is a pure function of it), the per-step
record, the final evaluation (with the two causal-leak measurements) and the history (plain dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass, field

from norm_viz.training.layers import check_key, lm_norms

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
        check_key(self.norm, lm_norms())
        if self.placement not in PLACEMENTS:
            raise ValueError(f"unknown placement {self.placement!r}; valid: {', '.join(PLACEMENTS)}")
        for name, lo in (("steps", 1), ("batch_size", 2), ("layers", 1), ("heads", 1), ("max_len", 8), ("warmup", 0)):
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
