"""PowerNorm's claim measured like for like: do batch statistics of text fluctuate more than those of images?

Shen et al. (2020) trained a transformer with BatchNorm on text and a ResNet with BatchNorm on images and followed,
step by step, how far each batch's statistics (μ_B, σ²_B) were from BatchNorm's running ones. This module does
that with the training lab's two models, and also compares frozen activations at the same number of values per
statistic:

- **During training** (the paper's measurement): BatchNorm in the tiny LM (pre-norm, the shipped rate) against
  BatchNorm in the ConvNet (8×8 digits and 28×28 MNIST, their shipped settings), 3 seeds each. A global forward
  pre-hook reads every training-mode BatchNorm's input and its running statistics just before the update, so the
  runs are exactly the shipped ones (hooks change no number). Scale-free distances per feature:
  |σ²_B − σ²_run| / σ²_run and |μ_B − μ_run| / σ_run, averaged over features, summarized over the second half of
  training (after the running statistics have settled).
- **Frozen, equal values per statistic**: after training, the same BatchNorm inputs on held-out data (text: the
  LM's first BatchNorm on validation sentences, real characters only, and all-MiniLM-L6-v2's LayerNorm inputs when
  installed; images: each of the ConvNet's three BatchNorm inputs on validation images, pixels as positions), cut
  into random batches (beyond.fluctuation.measure: every feature standardized over its data first). The spread of
  the batch variance is read at the same number of values per statistic (log-log interpolation between batch
  sizes), so a sentence of 19 tokens and an image of 784 pixels are not compared at "the same batch size".

`python -m norm_viz.beyond.powernorm_evidence` writes norm_viz/training/results/powernorm.json (records and
provenance). torch only (no streamlit, no plotly).
"""

from __future__ import annotations

import argparse
import itertools
import math
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from norm_viz.beyond.fluctuation import measure
from norm_viz.training import cnn, experiments, lm
from norm_viz.training import results as rs

SEEDS = (0, 1, 2)
LM_STEPS = 1000
"""The shipped LM grid's length: with the shipped rate and seed, each LM run here is the shipped BatchNorm run."""
TARGETS = (64, 128, 256, 512, 1024)
"""Values per statistic at which frozen spreads are compared."""
N_BATCHES = 64
TEXT_POOL = 256
IMAGE_POOL = 256
PAGE_POOLS = (32, 64, 128)
"""Smaller pools of validation images also measured (records of kind "frozen_pool"): the Real model page compares
its live sentences with images drawn from a pool of the same size, since a batch drawn without replacement from a
small pool overlaps the others more and its spread shrinks (by about √((N − b)/(N − 1)) for b of N samples)."""


@dataclass
class Recorder:
    """A global forward pre-hook: per training-mode BatchNorm (in order of first use), per step, the distances of
    the batch statistics from the running ones; and the last model of `model_type` seen (to measure it after)."""

    model_type: type
    active: bool = True
    layers: dict[int, int] = field(default_factory=dict)
    steps: list[list[tuple[float, float, float, float, int]]] = field(default_factory=list)
    model: nn.Module | None = None

    def __call__(self, module: nn.Module, args: tuple[Any, ...]) -> None:
        if isinstance(module, self.model_type):
            self.model = module
        if not (self.active and isinstance(module, nn.modules.batchnorm._BatchNorm) and module.training):
            return
        x = args[0].detach()
        c = module.num_features
        rows = x.transpose(0, 1).reshape(c, -1).T if x.dim() == 4 else x.reshape(-1, c)
        var, mean = torch.var_mean(rows.double(), dim=0, correction=0)
        assert module.running_mean is not None and module.running_var is not None
        rm, rv = module.running_mean.double(), module.running_var.double()
        k = self.layers.setdefault(id(module), len(self.layers))
        if k == len(self.steps):
            self.steps.append([])
        self.steps[k].append((
            float(((var - rv).abs() / rv).mean()), float(((mean - rm).abs() / rv.sqrt()).mean()),
            float((var - rv).abs().mean()), float((mean - rm).abs().mean()), rows.shape[0],
        ))  # fmt: skip


def _late(values: Sequence[float]) -> float:
    """Median over the second half of training."""
    return statistics.median(values[len(values) // 2 :])


def _curve(values: Sequence[float], points: int = 50) -> list[float]:
    """The per-step values averaged in `points` equal windows (for a figure)."""
    n = len(values)
    edges = [round(i * n / points) for i in range(points + 1)]
    return [round(statistics.fmean(values[a:b]), 5) for a, b in itertools.pairwise(edges) if b > a]


def _training_records(model: str, seed: int, rec: Recorder, names: Sequence[str]) -> list[dict[str, Any]]:
    out = []
    for k, steps in enumerate(rec.steps):
        rel_var, rel_mean, raw_var, raw_mean, n = zip(*steps, strict=True)
        out.append({
            "kind": "training", "model": model, "layer": names[k], "seed": seed, "steps": len(steps),
            "values_per_statistic": round(statistics.fmean(n)), "rel_var": _late(rel_var),
            "rel_mean": _late(rel_mean), "raw_var": _late(raw_var), "raw_mean": _late(raw_mean),
            "curve_rel_var": _curve(rel_var), "curve_rel_mean": _curve(rel_mean),
        })  # fmt: skip
    return out


def frozen_record(
    source: str,
    model: str,
    seed: int,
    x: Tensor,
    mask: Tensor,
    *,
    n_batches: int = N_BATCHES,
    tick: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Spread of the batch variance at each target number of values per statistic, from batches of whole samples
    (`seed` draws the batches; `tick` as in beyond.fluctuation.measure, for a caller that may stop the work)."""
    per_sample = float(mask.sum(1).double().mean())
    sizes = sorted({max(1, min(len(x) // 2, round(n / per_sample))) for n in TARGETS} | {1, 2})
    g = torch.Generator().manual_seed(1000 + seed)
    fl = measure(x, mask, source, sizes, n_batches, g, tick=tick)
    toks = [float(t) for t in fl.tokens_per_batch]
    spread = [float(v) for v in fl.var_spread]
    return {
        "kind": "frozen", "model": model, "layer": source, "seed": seed, "values_per_sample": round(per_sample, 1),
        "batch_sizes": sizes, "values_per_batch": [round(t, 1) for t in toks], "var_spread": spread,
        "kurtosis": round(fl.kurtosis, 2), "at": {str(n): at_values(toks, spread, n) for n in TARGETS},
    }  # fmt: skip


def at_values(values: Sequence[float], spreads: Sequence[float], n: float) -> float | None:
    """The spread at `n` values per statistic, interpolated on log-log axes between the measured batch sizes; None
    outside the measured range (an image of 784 pixels cannot give 64 values per statistic)."""
    pts = sorted(zip(values, spreads, strict=True))
    for (x0, y0), (x1, y1) in itertools.pairwise(pts):
        if x0 <= n <= x1 and x1 > x0 and y0 > 0 and y1 > 0:
            t = (math.log(n) - math.log(x0)) / (math.log(x1) - math.log(x0))
            return math.exp(math.log(y0) + t * (math.log(y1) - math.log(y0)))
    return None


def lm_run(seed: int, lr: float) -> list[dict[str, Any]]:
    """The shipped BatchNorm pre-norm LM run of this seed, recorded; then its first BatchNorm's input, frozen."""
    rec = Recorder(lm.CharLM)
    hook = nn.modules.module.register_module_forward_pre_hook(rec)
    try:
        h = lm.run_lm(lm.LMConfig(norm="batchnorm", placement="pre", seed=seed, lr=lr, steps=LM_STEPS),
                      evaluate_at_end=False)  # fmt: skip
        rec.active = False
        model = rec.model
        assert isinstance(model, lm.CharLM)
        names = [n for n, _ in model.norms()]
        out = _training_records("tiny LM (BatchNorm, pre-norm)", seed, rec, names)
        for r in out:
            r["val_loss"] = h.last_val
        data = lm.text_data()
        first = model.norms()[0][1]
        seen: list[tuple[Tensor, Tensor]] = []
        grab = first.register_forward_pre_hook(lambda m, a: seen.append((a[0].detach(), a[1])))
        model.eval()
        with torch.no_grad():
            sents = list(data.val[:TEXT_POOL])
            for i in range(0, len(sents), 16):
                ids, _t, mask = lm.make_batch(sents[i : i + 16], h.config.max_len, data.pad)
                model(ids, mask)
        grab.remove()
    finally:
        hook.remove()
    s = max(x.shape[1] for x, _ in seen)
    x = torch.cat([nn.functional.pad(x, (0, 0, 0, s - x.shape[1])) for x, _ in seen])
    mask = torch.cat([nn.functional.pad(m, (0, s - m.shape[1])) for _, m in seen])
    out.append(frozen_record("text: tiny LM, block 0 norm 1 input", "tiny LM (BatchNorm, pre-norm)", seed, x, mask))
    return out


CNN_RUNS: dict[str, dict[str, Any]] = {
    "digits": {"batch_size": 16, "epochs": 8, "grid": "cnn"},
    "mnist": {"batch_size": 8, "epochs": 2, "grid": "mnist"},
}
"""The ConvNet runs measured: each image set's shipped BatchNorm run at the batch size where its rate was tuned."""


def cnn_run(dataset: str, seed: int, lr: float) -> list[dict[str, Any]]:
    """A shipped BatchNorm ConvNet run, recorded; then its three BatchNorm inputs on validation images, frozen."""
    spec = CNN_RUNS[dataset]
    rec = Recorder(cnn.DigitsCNN)
    hook = nn.modules.module.register_module_forward_pre_hook(rec)
    cfg = cnn.CNNConfig(norm="batchnorm", batch_size=int(spec["batch_size"]), epochs=int(spec["epochs"]), seed=seed,
                        lr=lr, dataset=dataset)  # fmt: skip

    def stop_recording(step: cnn.CNNStep, total: int) -> None:
        if step.step == total:
            rec.active = False

    try:
        h = cnn.run_cnn(cfg, callback=stop_recording)
    finally:
        hook.remove()
    model = rec.model
    assert isinstance(model, cnn.DigitsCNN)
    model_name = (
        f"ConvNet on {'8×8 digits' if dataset == 'digits' else '28×28 MNIST'} (BatchNorm, batch {cfg.batch_size})"
    )
    names = [f"conv {i + 1} BatchNorm" for i in range(3)]
    out = _training_records(model_name, seed, rec, names)
    for r in out:
        r["val_error"] = h.val_error
    seen: list[Tensor] = []
    grabs = [m.register_forward_pre_hook(lambda m, a: seen.append(a[0].detach())) for m in model.norms()]
    model.eval()
    with torch.no_grad():
        model(cnn.images.load(dataset).x_val[:IMAGE_POOL])
    for g in grabs:
        g.remove()
    for i, x in enumerate(seen):
        b, _c, hh, ww = x.shape
        tokens = x.flatten(2).transpose(1, 2)  # (N, H·W, C): pixels as positions
        mask = torch.ones(b, hh * ww, dtype=torch.bool)
        name = f"images: {dataset} conv {i + 1} input ({hh}×{ww} pixels)"
        out.append(frozen_record(name, model_name, seed, tokens, mask))
        for pool in PAGE_POOLS:  # the first `pool` validation images
            r = frozen_record(name, model_name, seed, tokens[:pool], mask[:pool])
            out.append({**r, "kind": "frozen_pool", "pool": pool})
    return out


def minilm_records(seed: int) -> list[dict[str, Any]]:
    """all-MiniLM-L6-v2's LayerNorm inputs at two sites (a frozen LayerNorm model), or none when not installed."""
    try:
        from norm_viz.core import corpus
        from norm_viz.real.common import ModelUnavailable, ModelVerificationError
        from norm_viz.real.minilm import ln_index, ln_inputs, ln_name
    except ImportError as e:
        return [{"kind": "missing", "model": "all-MiniLM-L6-v2", "reason": str(e)}]
    out = []
    sents = corpus.sample(TEXT_POOL, seed)
    for layer, site in ((0, "embeddings"), (2, "ffn")):
        try:
            x, mask = ln_inputs(sents, ln_index(layer, site))
        except (ModelUnavailable, ModelVerificationError) as e:  # an optional model: reported in the file
            return [{"kind": "missing", "model": "all-MiniLM-L6-v2", "reason": str(e)}]
        name = f"text: MiniLM {ln_name(ln_index(layer, site))} input"
        out.append(frozen_record(name, "all-MiniLM-L6-v2 (pretrained, LayerNorm)", seed, x, mask))
    return out


def _bn_rate(grid: str) -> float:
    """BatchNorm's chosen rate in a shipped ConvNet grid (from its sweep's records while the grid is still running)."""
    rate = rs.learning_rates(grid).get("batchnorm")
    if rate is None:
        sweep = [r for r in rs.shipped_results(grid) if r["norm"] == "batchnorm" and r["phase"] == "sweep"]
        if len(sweep) < 3:
            raise RuntimeError(f"the {grid} grid has not swept BatchNorm's rate yet: run its experiments first")
        rate = experiments._best(sweep, "val_error")
    return float(rate)


def run(out: Path, log: Any = sys.stdout, seeds: Sequence[int] = SEEDS) -> dict[str, Any]:
    """Every measurement, 3 seeds each; the file is rewritten after each model."""
    start_cpu, start = time.process_time(), time.time()
    commit, dirty = experiments._code_state()
    lm_lr = rs.learning_rates("lm").get("batchnorm/pre", 1e-2)
    cnn_lr = {d: _bn_rate(str(s["grid"])) for d, s in CNN_RUNS.items()}
    data: dict[str, Any] = {"provenance": {}, "records": []}
    path = out / "powernorm.json"

    def save() -> None:
        data["provenance"] = {
            "command": "python -m norm_viz.beyond.powernorm_evidence " + shlex.join(sys.argv[1:]),
            "commit": commit, "uncommitted_changes": dirty, "torch": torch.__version__,
            "python": platform.python_version(), "threads": 1, "seeds": list(seeds),
            "cpu_s": round(time.process_time() - start_cpu, 1), "wall_s": round(time.time() - start, 1),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "learning_rates": {"lm batchnorm/pre": lm_lr, **{f"cnn {d} batchnorm": v for d, v in cnn_lr.items()}},
            "lm_steps": LM_STEPS, "cnn_runs": CNN_RUNS, "targets": list(TARGETS), "n_batches": N_BATCHES,
            "pools": {"text sentences": TEXT_POOL, "images": IMAGE_POOL, "images for the Real model page": PAGE_POOLS},
        }  # fmt: skip
        experiments._write(path, data)

    with experiments.one_thread():
        for seed in seeds:
            for d in CNN_RUNS:
                data["records"] += cnn_run(d, seed, cnn_lr[d])
                save()
                print(f"cnn {d} seed {seed} done", file=log, flush=True)
            data["records"] += minilm_records(seed)
            save()
            data["records"] += lm_run(seed, lm_lr)
            save()
            print(f"lm seed {seed} done", file=log, flush=True)
    return data


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=rs.RESULTS_DIR)
    ap.add_argument("--seeds", type=int, nargs="*", default=list(SEEDS), help="a subset, to run seeds in parallel")
    a = ap.parse_args(argv)
    run(a.out, seeds=tuple(a.seeds))


if __name__ == "__main__":
    main()


# --- what the page shows: tables and verdicts from the shipped records ------------------------------------------------

TEXT_LAYER = "block 0 norm 1 (attention)"
"""The LM's BatchNorm the verdicts use (its first: the input is the embeddings, as the ConvNet's first is the image's
first convolution)."""


def group(records: Sequence[dict[str, Any]], kind: str) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """The records of one kind ("training", "frozen") by (model, layer), in the order first seen."""
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in records:
        if r.get("kind") == kind:
            out.setdefault((r["model"], r["layer"]), []).append(r)
    return out


def training_rows(records: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    """One line per (model, BatchNorm layer): values per statistic, the late-training distances (mean ± sd over
    seeds) and the seeds."""
    rows = []
    for (model, layer), rs_ in group(records, "training").items():
        rows.append({
            "model": model, "BatchNorm": layer, "values per statistic": f"{rs_[0]['values_per_statistic']:,}",
            "|σ²_B − σ²_run| / σ²_run": rs.spread(r["rel_var"] for r in rs_).text(3),
            "|μ_B − μ_run| / σ_run": rs.spread(r["rel_mean"] for r in rs_).text(3),
            "seeds": ", ".join(str(r["seed"]) for r in rs_),
        })  # fmt: skip
    return rows


def frozen_rows(records: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    """One line per frozen source: values per sample, and the spread of the batch variance at each number of values
    per statistic (mean ± sd over seeds; '—' where one sample alone has more values)."""
    rows = []
    for (model, layer), rs_ in group(records, "frozen").items():
        row = {"data": layer, "model": model, "values per sample": f"{rs_[0]['values_per_sample']:g}"}
        for n in TARGETS:
            row[f"{n} values"] = rs.spread(r["at"].get(str(n)) for r in rs_).text(3)
        rows.append(row)
    return rows


def more_or_less(a: rs.Spread, b: rs.Spread) -> str:
    """'more' / 'less' / 'no more and no less' by the verdict rule (|Δ| > sd_a + sd_b, ≥ 3 seeds a side)."""
    if min(a.n, b.n) < rs.MIN_SEEDS:
        return "not enough seeds to say"
    if abs(a.mean - b.mean) <= a.sd + b.sd:
        return "no difference at this scale"
    return "more" if a.mean > b.mean else "less"


def verdicts(records: Sequence[dict[str, Any]]) -> list[str]:
    """The page's verdict sentences, worded from the shipped numbers."""
    out: list[str] = []
    train = group(records, "training")
    text = next((v for (m, la), v in train.items() if m.startswith("tiny LM") and la == TEXT_LAYER), None)
    if text:
        ts = rs.spread(r["rel_var"] for r in text)
        parts, counts = [], {"more": 0, "less": 0}
        for (model, layer), v in train.items():
            if model.startswith("ConvNet"):
                s = rs.spread(r["rel_var"] for r in v)
                word = more_or_less(ts, s)
                counts[word] = counts.get(word, 0) + 1
                said = {"more": "text fluctuates more", "less": "text fluctuates less"}.get(word, word)
                parts.append(f"{model}, {layer} ({v[0]['values_per_statistic']:,} values per statistic): "
                             f"{s.text(3)} → {said}")  # fmt: skip
        n_img = sum(1 for m, _ in train if m.startswith("ConvNet"))
        tie = counts.get("no difference at this scale", 0)
        few = counts.get("not enough seeds to say", 0)
        if counts["more"] == n_img:
            head = f"text's batch variance fluctuates more than every image layer's ({n_img} of {n_img})"
        else:
            head = (
                f"text's batch variance fluctuates more than {counts['more']} of {n_img} image layers', less than "
                f"{counts['less']}, no differently from {tie}" + (f" ({few} with too few seeds to say)" if few else "")
            )
        out.append(
            f"**During training (what the PowerNorm paper measured): {head}.** The tiny LM's first BatchNorm "
            f"({text[0]['values_per_statistic']:,} values per statistic, pads included as its BatchNorm counts them): "
            f"|σ²_B − σ²_run| / σ²_run = {ts.text(3)} over the second half of training, mean ± sd over "
            f"{ts.n} seeds; " + "; ".join(parts) + ". Scale: the tiny LM (2 blocks, width 64, 1,000 steps, batches of "
            "16 sentences) and the 3-convolution ConvNet (8×8 digits, batch 16, 8 epochs; MNIST, batch 8, 2 epochs), "
            "each the shipped run of its seed. What it cannot test: the paper's 6-layer transformer on IWSLT14 and "
            "ResNet-20 on CIFAR-10, and the same count of values per statistic for every pair."
        )
    frozen = group(records, "frozen")
    n = 256
    texts = {la: rs.spread(r["at"].get(str(n)) for r in v) for (_m, la), v in frozen.items() if la.startswith("text")}
    imgs = {la: rs.spread(r["at"].get(str(n)) for r in v) for (_m, la), v in frozen.items() if la.startswith("image")}
    texts = {k: v for k, v in texts.items() if v.n}
    imgs = {k: v for k, v in imgs.items() if v.n}
    if texts and imgs:
        ratios = [(t / i, tk, ik) for tk, ts_ in texts.items() for ik, is_ in imgs.items()
                  for t, i in [(ts_.mean, is_.mean)]]  # fmt: skip
        lo, hi = min(ratios), max(ratios)
        words = [more_or_less(ts_, is_) for ts_ in texts.values() for is_ in imgs.values()]
        tally = ", ".join(
            f"{words.count(w)} {w}"
            for w in ("more", "less", "no difference at this scale", "not enough seeds to say")
            if w in words
        )
        out.append(
            f"**Frozen activations at the same {n} values per statistic: the ratio text / image runs from "
            f"{lo[0]:.2f}× ({lo[1]} vs {lo[2]}) to {hi[0]:.2f}× ({hi[1]} vs {hi[2]}).** Over the "
            f"{len(words)} text–image pairs, text fluctuates: {tally} (the verdict rule on the seeds). "
            + (
                "Which way it goes depends on which layer and resolution stands for 'images', not on text versus "
                "images as such. "
                if lo[0] < 1 < hi[0]
                else f"Text fluctuates {'more' if lo[0] > 1 else 'less'} against every image layer measured. "
            )
            + "Scale: 256 sentences or images per "
            "source, 64 random batches per size, every feature standardized first. What it cannot test: models "
            "trained to convergence at the papers' size."
        )
    return out
