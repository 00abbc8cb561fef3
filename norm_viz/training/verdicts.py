"""The training lab's tables and verdicts, written from the shipped repeated runs (norm_viz.training.results).

Every sentence compares seeds (mean ± sd over ≥ 3) with results.compare's rule, names the scale the runs were
measured at and what that scale cannot test. torch only through lm/cnn constants; no streamlit, no plotly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from norm_viz.training import cnn, experiments, lm, mnist_grid
from norm_viz.training import results as rs
from norm_viz.training.layers import label

LM_CANNOT = (
    "models of the papers' size (6+ layers, width 512+), long training, large batches (BatchNorm's statistics improve "
    "with batch size), learning rates outside the 3-point sweep"
)
CNN_CANNOT = (
    "the GroupNorm paper's ResNet-50 on ImageNet trained to convergence; 8×8 digits are nearly solved; each norm's rate "
    "was tuned at batch 16 only (scaled by √(batch/32) elsewhere)"
)
MNIST_CANNOT = (
    "the GroupNorm paper's ResNet-50 on ImageNet (1.28 million images, 100 epochs, 32 groups of 64+ channels); a "
    "3-convolution net of 16–32 channels on 4,000 MNIST images for 2 epochs or 1,000 steps; each norm's rate was "
    f"tuned at batch {mnist_grid.SWEEP_BATCH} only (scaled by √(batch/32) elsewhere)"
)


def _grid_facts(grid: str) -> tuple[str, tuple[int, ...], int, str]:
    """(image set, batch sizes, the batch size where the rates were tuned, what it cannot test) of a ConvNet grid."""
    if grid == "mnist":
        return "mnist", mnist_grid.BATCH_SIZES, mnist_grid.SWEEP_BATCH, MNIST_CANNOT
    return "digits", cnn.BATCH_SIZES, experiments.CNN_SWEEP_BATCH, CNN_CANNOT


def cell_name(norm: str, placement: str) -> str:
    return f"{label(norm)} {placement}-norm"


def lm_scale(records: Sequence[dict[str, Any]], prov: dict[str, Any]) -> str:
    """The LM grid's scale in words: steps, model, parameters, batch, data."""
    model = prov.get("model", {})
    ln = [r.get("parameters", 0) for r in records if r["norm"] == "layernorm"]
    params = ln[0] if ln else max((r.get("parameters", 0) for r in records), default=0)
    return (
        f"{model.get('steps', 0):,} steps, {model.get('layers', '?')} blocks of width {model.get('width', '?')} "
        f"({params:,} parameters with LayerNorm), batches of {model.get('batch_size', '?')} sentences, "
        f"{prov.get('data', 'the docstring sentences')}"
    )


def lm_cells(records: Sequence[dict[str, Any]], rates: dict[str, float]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """(norm, placement) → the runs at its chosen learning rate (its seeds), in the grid's order."""
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rs.at_chosen_rate(records, rates, "lm"):
        out.setdefault((r["norm"], r["placement"]), []).append(r)
    return out


def lm_table(records: Sequence[dict[str, Any]], rates: dict[str, float]) -> list[dict[str, str]]:
    """One line per (norm, placement): chosen rate, seeds, eval-mode validation loss mean ± sd, the per-seed values,
    training-mode and batch-1 losses, the causal-leak gap."""
    out = []
    for (n, p), runs in lm_cells(records, rates).items():
        runs = sorted(runs, key=lambda r: r["seed"])
        out.append({
            "norm": cell_name(n, p),
            "learning rate": f"{rates[f'{n}/{p}']:g}",
            "seeds": ", ".join(str(r["seed"]) for r in runs),
            "val loss, eval mode (mean ± sd)": rs.spread(r["val_loss"] for r in runs).text(),
            "per seed": ", ".join(f"{r['val_loss']:.3f}" for r in runs if r["val_loss"] is not None),
            "train-mode statistics": rs.spread(r["val_loss_train_mode"] for r in runs).text(),
            "batch size 1": rs.spread(r["val_loss_batch1"] for r in runs).text(),
            "causal-leak gap": rs.spread(r["leak_gap"] for r in runs).text(),
        })  # fmt: skip
    return out


def lm_sweep_table(records: Sequence[dict[str, Any]], rates: dict[str, float]) -> list[dict[str, str]]:
    """The learning-rate sweep (seed 0): per cell, the selection loss and the table's loss at each swept rate."""
    out = []
    for n, p in dict.fromkeys((r["norm"], r["placement"]) for r in records):
        sweep = sorted(rs.select(records, norm=n, placement=p, phase="sweep"), key=lambda r: r["lr"])
        line = {"norm": cell_name(n, p), "chosen": f"{rates.get(f'{n}/{p}', float('nan')):g}"}
        for r in sweep:
            line[f"lr {r['lr']:g}: selection loss / val loss"] = f"{r['probe_loss']:.3f} / {r['val_loss']:.3f}"
        out.append(line)
    return out


def _edges(cells: Sequence[tuple[str, str]], rates: dict[str, float], swept: Sequence[float]) -> str:
    """A note naming the cells whose chosen rate is the sweep's largest (a larger one might change the verdict)."""
    at = [cell_name(n, p) for n, p in cells if swept and rates[f"{n}/{p}"] == max(swept)]
    if not at:
        return ""
    return f" {' and '.join(at)} chose the sweep's largest rate ({max(swept):g}): a larger one might change this."


def lm_verdicts(records: Sequence[dict[str, Any]], prov: dict[str, Any], rates: dict[str, float]) -> list[str]:
    """The LM page's verdict sentences, each from ≥ 3 seeds per side."""
    cells = lm_cells(records, rates)
    scale = lm_scale(records, prov)
    swept = prov.get("sweep_learning_rates", [])
    out: list[str] = []

    def vals(n: str, p: str) -> list[float | None]:
        return [r["val_loss"] for r in cells.get((n, p), [])]

    def versus(a: tuple[str, str], b: tuple[str, str], claim: str, cannot: str = LM_CANNOT) -> None:
        if a in cells and b in cells:
            v = rs.compare(
                cell_name(*a), vals(*a), cell_name(*b), vals(*b), metric="validation loss in eval mode, nats per "
                "character", scale=scale, cannot=cannot,
            )  # fmt: skip
            edges = _edges((a, b), rates, swept)
            out.append(f"{claim} — {v.text}{edges}")

    versus(("batchnorm", "pre"), ("layernorm", "pre"), "*'BatchNorm is less effective than LayerNorm in NLP'*")
    versus(("powernorm", "pre"), ("batchnorm", "pre"), "*PowerNorm claims to fix BatchNorm in transformers*")
    versus(
        ("layernorm", "post"), ("layernorm", "pre"),
        "*'Pre-norm trains more easily; post-norm can end better'*",
        LM_CANNOT + "; post-norm's claimed advantage and its need for warm-up concern deep models",
    )  # fmt: skip
    versus(("rmsnorm", "pre"), ("layernorm", "pre"), "*RMSNorm: dropping the mean costs nothing*")
    versus(("masked_batchnorm", "pre"), ("batchnorm", "pre"), "*Masking the pads out of BatchNorm's statistics*")
    versus(("none", "pre"), ("layernorm", "pre"), "*No normalization at all*")
    dyt = cells.get(("dyt", "pre"), [])
    if dyt:
        uni = lm.unigram_loss()
        sat = [r["saturation"] for r in dyt if r.get("saturation")]
        loss = rs.spread(r["val_loss"] for r in dyt)
        worst = ""
        if sat:
            n = len(sat[0])
            names = [f"block {i // 2 + 1} {('attention', 'MLP')[i % 2]}" for i in range(n - 1)] + ["final"]
            worst = "; at the end, per DyT layer (input RMS, fraction of saturated outputs |tanh(α·x)| > 0.99): " + (
                "; ".join(
                    f"{names[i]} {rs.spread(r['input_rms'][i] for r in dyt).text(1)}, "
                    f"{rs.spread(s_[i] for s_ in sat).text(2)}"
                    for i in range(n)
                )
            )
        stuck = loss.mean > uni - 0.05
        out.append(
            f"*DyT replaces normalization in transformers (Zhu et al., 2025)* — DyT pre-norm {loss.text()} over "
            f"{loss.n} seeds (rate {rates.get('dyt/pre', float('nan')):g})"
            + f"; a model that ignores the context scores {uni:.3f}"
            + (f": within {abs(uni - loss.mean):.3f} of it, DyT barely uses the context at this scale" if stuck else "")
            + worst
            + ". A saturated tanh passes almost no gradient, so the layers before it stop learning. "
            f"Scale: {scale}. What it cannot test: the paper's models (LLaMA 7B–70B, α₀ tuned per width) and their "
            "training length."
        )
    return out


# --- the ConvNet ----------------------------------------------------------------------------------------------------


def cnn_scale(prov: dict[str, Any], budget: str, grid: str = "cnn") -> str:
    """The ConvNet grid's scale for one budget, with what the budget gives the smallest and largest batch."""
    b = prov.get("budgets", {})
    dataset, sizes, _mid, _cannot = _grid_facts(grid)
    lo, hi = min(sizes), max(sizes)
    per = cnn.steps_per_epoch
    n_train = per(1, dataset)
    if budget == "epochs":
        e = b.get("epochs", 8)
        how = f"{e} epochs (batch {lo}: {e * per(lo, dataset):,} steps; batch {hi}: {e * per(hi, dataset):,})"
    else:
        n = b.get("steps", 600)
        how = f"{n:,} steps (batch {lo} sees {n * lo:,} images = {n * lo / n_train:.1g} epochs; batch {hi}: {n * hi:,})"
    what = "8×8 digits" if dataset == "digits" else "28×28 MNIST digits"
    return f"3-convolution net (16–32 channels), {what} ({n_train:,} training images), {how}"


def cnn_errors(
    records: Sequence[dict[str, Any]], rates: dict[str, float], budget: str, key: str = "val_error"
) -> dict[str, dict[int, rs.Spread]]:
    """norm → batch size → the Spread over seeds of `key` for one budget ("epochs" or "steps")."""
    out: dict[str, dict[int, list[float | None]]] = {}
    for r in rs.at_chosen_rate(records, rates, "cnn"):
        if r["budget"] == budget:
            out.setdefault(r["norm"], {}).setdefault(r["batch_size"], []).append(r[key])
    return {n: {bs: rs.spread(v) for bs, v in sorted(by.items())} for n, by in out.items()}


def cnn_table(
    records: Sequence[dict[str, Any]],
    rates: dict[str, float],
    budget: str,
    key: str = "val_error",
    only: str | None = None,
) -> list[dict[str, str]]:
    """One line per norm (or only `only`), one column per batch size: `key` in %, mean ± sd over the seeds."""
    errs = cnn_errors(records, rates, budget, key)
    return [
        {"norm": label(n), "rate": f"{rates[n]:g}", **{f"batch {bs}": s.text(1, 100) for bs, s in by.items()}}
        for n, by in errs.items()
        if only is None or n == only
    ]  # fmt: skip


def cnn_verdicts(
    records: Sequence[dict[str, Any]], prov: dict[str, Any], rates: dict[str, float], grid: str = "cnn"
) -> list[str]:
    """The ConvNet page's verdicts, at equal epochs and at equal steps."""
    _dataset, _sizes, mid, cannot = _grid_facts(grid)
    out: list[str] = []
    for budget in ("epochs", "steps"):
        errs = cnn_errors(records, rates, budget)
        if not errs:
            continue
        sizes = sorted({bs for by in errs.values() for bs in by})
        small, large = sizes[0], sizes[-1]
        scale = cnn_scale(prov, budget, grid)
        head = f"Equal {budget}: "

        def cmp(
            a: str, va: rs.Spread | None, b: str, vb: rs.Spread | None, claim: str, scale: str = scale, head: str = head
        ) -> None:
            if va is not None and vb is not None:
                v = rs.compare(a, va.values, b, vb.values, metric="validation error", scale=scale, cannot=cannot,
                               digits=1, factor=100, unit="%")  # fmt: skip
                out.append(f"{head}{claim} — {v.text}")

        for n, claim in (
            ("batchnorm", "*the GroupNorm paper: BatchNorm's error grows as the batch shrinks*"),
            ("groupnorm", "*the GroupNorm paper: GroupNorm's error does not depend on the batch size*"),
        ):
            by = errs.get(n, {})
            cmp(f"{label(n)} at batch {small}", by.get(small), f"{label(n)} at batch {large}", by.get(large), claim)
        cmp(f"GroupNorm at batch {small}", errs.get("groupnorm", {}).get(small), f"BatchNorm at batch {small}",
            errs.get("batchnorm", {}).get(small), "*GroupNorm is better than BatchNorm at small batches*")  # fmt: skip
        cmp(f"LayerNorm at batch {mid}", errs.get("layernorm", {}).get(mid), f"BatchNorm at batch {mid}",
            errs.get("batchnorm", {}).get(mid), "*ConvNeXt: a ConvNet trains as well with LayerNorm*")  # fmt: skip
        bn_batch = cnn_errors(records, rates, budget, "val_error_train_mode").get("batchnorm", {})
        cmp(f"BatchNorm at batch {small}, eval mode", errs.get("batchnorm", {}).get(small),
            f"BatchNorm at batch {small} scored with batch statistics", bn_batch.get(small),
            "*Running statistics remove the noise of small-batch statistics*")  # fmt: skip
        cmp(f"InstanceNorm at batch {mid}", errs.get("instancenorm", {}).get(mid), f"BatchNorm at batch {mid}",
            errs.get("batchnorm", {}).get(mid), "*InstanceNorm (a GroupNorm with one channel per group)*")  # fmt: skip
        cmp(f"No normalization at batch {mid}", errs.get("none", {}).get(mid), f"BatchNorm at batch {mid}",
            errs.get("batchnorm", {}).get(mid), "*Normalization helps a ConvNet train*")  # fmt: skip
    return out


def figure1_summary(
    records: Sequence[dict[str, Any]], prov: dict[str, Any], rates: dict[str, float], grid: str = "cnn"
) -> str:
    """Whether the GroupNorm paper's figure 1 reproduces on this grid, per budget, from the verdict rule: BatchNorm's
    error at the smallest batch above its error at the largest (beyond the seed spread), GroupNorm's not different,
    and GroupNorm beating BatchNorm at the smallest batch."""
    _dataset, _sizes, _mid, cannot = _grid_facts(grid)
    parts = []
    for budget in ("epochs", "steps"):
        errs = cnn_errors(records, rates, budget)
        bn, gn = errs.get("batchnorm", {}), errs.get("groupnorm", {})
        sizes = sorted(set(bn) & set(gn))
        if len(sizes) < 2:
            continue
        lo, hi = sizes[0], sizes[-1]

        def outcome(va: rs.Spread, vb: rs.Spread) -> str:
            return rs.compare("a", va.values, "b", vb.values, metric="", scale="", cannot="").outcome

        rises = outcome(bn[lo], bn[hi]) == "b"
        flat = outcome(gn[lo], gn[hi]) == "tie"
        wins = outcome(gn[lo], bn[lo]) == "a"
        held = sum((rises, flat, wins))
        word = "reproduces" if held == 3 else "does not reproduce" if held == 0 else f"reproduces in {held} of 3 parts"
        parts.append(
            f"**equal {budget}: it {word}** — BatchNorm {bn[lo].text(1, 100)}% at batch {lo} vs {bn[hi].text(1, 100)}% "
            f"at batch {hi} ({'rises beyond' if rises else 'does not rise beyond'} the seed spread as the batch "
            f"shrinks); GroupNorm {gn[lo].text(1, 100)}% vs {gn[hi].text(1, 100)}% "
            f"({'flat within' if flat else 'not flat: outside'} the spread); at batch {lo} GroupNorm "
            f"{'beats' if wins else 'does not beat'} BatchNorm"
        )
    if not parts:
        return ""
    return (
        "**Does the GroupNorm paper's figure 1 reproduce here?** (BatchNorm's error rises at small batches, "
        "GroupNorm's stays flat and beats it there; BatchNorm scored in eval mode, mean ± sd over 3 seeds.) "
        + "; ".join(parts)
        + f". Scale: {cnn_scale(prov, 'epochs', grid)}. What it cannot test: {cannot}."
    )


def init_verdict(records: Sequence[dict[str, Any]]) -> str:
    """What the gradient norms at initialization show, pre- vs post-norm, at the deepest measured depth."""
    if not records:
        return ""
    d = max(r["layers"] for r in records)

    def per(p: str, k: int) -> rs.Spread:
        return rs.spread(r["grad_norms"][k] for r in records if r["layers"] == d and r["placement"] == p)

    def later(p: str) -> rs.Spread:
        return rs.spread(v for r in records if r["layers"] == d and r["placement"] == p for v in r["grad_norms"][1:])

    pre_first, pre_last, post_first, post_later = per("pre", 0), per("pre", d - 1), per("post", 0), later("post")
    seeds = pre_first.n
    return (
        f"At initialization, {d} blocks, {seeds} seeds: pre-norm's gradient falls from {pre_first.text(2)} at "
        f"block 1 to {pre_last.text(2)} at block {d}; post-norm's first block gets {post_first.text(2)} and every "
        f"later block about {post_later.text(3)} ({post_first.mean / post_later.mean:.0f}× less). Xiong et al. "
        "(2020) found post-norm's gradient growing towards the output, the reason it needs learning-rate warm-up; "
        "with this model's initialization (GPT-2's: weights and embeddings of standard deviation 0.02, so the first "
        "block's input has an RMS of about 0.03) post-norm's imbalance is at the first block instead. Either way "
        "pre-norm spreads the gradient more evenly. Scale: the tiny LM of width 64 at 2, 4 and 8 blocks, one batch "
        "of 16 sentences. What it cannot test: the paper's Xavier-initialized 6–12-layer models, or training "
        "without warm-up (every shipped run warms up for 30 steps)."
    )
