"""Figures of the training lab: loss curves, batch statistics during training, gradient norms per layer, and the
GroupNorm paper's error-versus-batch-size plot. plotly only (no streamlit): histories and summaries in, figures out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from norm_viz.core import theme
from norm_viz.training import results as rs
from norm_viz.training import verdicts as vd
from norm_viz.training.cnn import CNNStep
from norm_viz.training.layers import label
from norm_viz.training.lm import LMStep

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000", "#999999")
"""Okabe-Ito: one colour per line, colour-blind safe."""


def lm_loss_figure(steps: Sequence[LMStep], total: int | None = None, title: str = "Loss per step") -> go.Figure:
    """Training loss (training-mode statistics) per step and validation loss (eval mode) where it was measured."""
    fig = go.Figure(_validate=theme.VALIDATE)
    fig.add_scatter(
        x=[s.step for s in steps], y=[s.train_loss for s in steps], mode="lines", name="training loss",
        line={"color": theme.INPUT, "width": 2},
    )  # fmt: skip
    val = [s for s in steps if s.val_loss is not None]
    fig.add_scatter(
        x=[s.step for s in val], y=[s.val_loss for s in val], mode="lines+markers",
        name="validation loss (eval mode)", line={"color": theme.SELECTED, "width": 3},
    )  # fmt: skip
    fig.update_xaxes(title="training step", range=[0, total] if total else None)
    fig.update_yaxes(title="cross-entropy (nats per character)")
    return theme.apply_layout(fig, title, 380, grid=True)


def _band(fig: go.Figure, xs: list[int], q: list[tuple[float, float, float]], color: str, name: str, row: int) -> None:
    fig.add_scatter(x=xs, y=[v[2] for v in q], mode="lines", line={"width": 0, "color": color}, showlegend=False,
                    hoverinfo="skip", row=row, col=1)  # fmt: skip
    fig.add_scatter(
        x=xs, y=[v[0] for v in q], mode="lines", fill="tonexty", line={"width": 0, "color": color}, opacity=0.3,
        name=f"{name}: 10th–90th percentile over features", row=row, col=1,
    )  # fmt: skip
    fig.add_scatter(x=xs, y=[v[1] for v in q], mode="lines", line={"color": color, "width": 2},
                    name=f"{name}: median over features", row=row, col=1)  # fmt: skip


def batch_stats_figure(steps: Sequence[LMStep], layer: str) -> go.Figure:
    """The recorded layer's batch mean μ_B and variance σ²_B per step (median and spread over features), and their
    distance from running averages: the PowerNorm paper's figure 1, measured on this run."""
    xs = [s.step for s in steps]
    fig = make_subplots(
        rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.08,
        subplot_titles=("batch mean μ_B per feature", "batch variance σ²_B per feature",
                        "distance from the running averages (mean over features)"),
    )  # fmt: skip
    _band(fig, xs, [s.stat_mean for s in steps], theme.INPUT, "μ_B", 1)
    _band(fig, xs, [s.stat_var for s in steps], theme.OUTPUT, "σ²_B", 2)
    fig.add_scatter(x=xs, y=[s.dist_mean for s in steps], mode="lines", name="|μ_B − μ|",
                    line={"color": theme.INPUT}, row=3, col=1)  # fmt: skip
    fig.add_scatter(x=xs, y=[s.dist_var for s in steps], mode="lines", name="|σ²_B − σ²|",
                    line={"color": theme.OUTPUT}, row=3, col=1)  # fmt: skip
    fig.update_xaxes(title="training step", row=3, col=1)
    var = [v for s in steps for v in s.stat_var]
    dist = [v for s in steps for v in (s.dist_mean, s.dist_var)]
    fig.update_yaxes(type="log", row=2, col=1, **theme.log_ticks(var))
    fig.update_yaxes(type="log", row=3, col=1, **theme.log_ticks(dist))
    return theme.apply_layout(
        fig, f"Batch statistics of the input of {layer}", 640, grid=True, legend_below=True, showlegend=True
    )


def grad_norms_figure(steps: Sequence[LMStep], groups: Sequence[str]) -> go.Figure:
    """The gradient's L2 norm per parameter group and step (before clipping), on a log scale."""
    fig = go.Figure(_validate=theme.VALIDATE)
    xs = [s.step for s in steps]
    for i, g in enumerate(groups):
        fig.add_scatter(
            x=xs, y=[s.grad_norms[i] for s in steps], mode="lines", name=g,
            line={"color": PALETTE[i % len(PALETTE)], "width": 2, "dash": "dot" if "norm" in g else "solid"},
        )  # fmt: skip
    fig.update_xaxes(title="training step")
    fig.update_yaxes(title="gradient L2 norm", type="log", **theme.log_ticks([v for s in steps for v in s.grad_norms]))
    return theme.apply_layout(fig, "Gradient norm per layer", 420, grid=True, legend_below=True, showlegend=True)


def cnn_loss_figure(steps: Sequence[CNNStep], total: int | None = None) -> go.Figure:
    """ConvNet training loss per step (a moving average over 20 steps drawn over the raw values)."""
    xs = [s.step for s in steps]
    ys = [s.loss for s in steps]
    smooth = [sum(ys[max(0, i - 19) : i + 1]) / len(ys[max(0, i - 19) : i + 1]) for i in range(len(ys))]
    fig = go.Figure(_validate=theme.VALIDATE)
    fig.add_scatter(x=xs, y=ys, mode="lines", name="loss per step", line={"color": theme.FAINT, "width": 1})
    fig.add_scatter(x=xs, y=smooth, mode="lines", name="moving average (20 steps)", line={"color": theme.INPUT})
    fig.update_xaxes(title="training step", range=[0, total] if total else None)
    fig.update_yaxes(title="cross-entropy")
    return theme.apply_layout(fig, "Training loss per step", 360, grid=True)


def error_vs_batch_figure(records: Sequence[dict[str, Any]], rates: dict[str, float]) -> go.Figure:
    """Validation error against batch size per norm, at equal epochs (left) and at equal steps (right): mean over
    seeds with ± one standard deviation, each seed as a faint dot (the GroupNorm paper's figure 1, on the digits)."""
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.06,
                        subplot_titles=("equal epochs", "equal steps"))  # fmt: skip
    runs = rs.at_chosen_rate(records, rates, "cnn")
    for col, budget in ((1, "epochs"), (2, "steps")):
        for i, (n, by) in enumerate(vd.cnn_errors(records, rates, budget).items()):
            color = PALETTE[i % len(PALETTE)]
            sizes = sorted(by)
            fig.add_scatter(
                x=sizes, y=[100 * by[b].mean for b in sizes], mode="lines+markers", name=label(n),
                error_y={"type": "data", "array": [100 * by[b].sd for b in sizes], "visible": True},
                line={"color": color, "width": 3}, marker={"size": 9}, legendgroup=n, showlegend=col == 1,
                row=1, col=col,
            )  # fmt: skip
            dots = [r for r in runs if r["norm"] == n and r["budget"] == budget and r["val_error"] is not None]
            fig.add_scatter(
                x=[r["batch_size"] for r in dots], y=[100 * r["val_error"] for r in dots], mode="markers",
                marker={"color": color, "size": 6, "opacity": 0.35}, name=f"{label(n)}: each seed",
                legendgroup=n, showlegend=False, row=1, col=col,
            )  # fmt: skip
    sizes = sorted({r["batch_size"] for r in runs})
    fig.update_xaxes(
        title="batch size (images per batch)", type="log", tickvals=sizes, ticktext=[str(b) for b in sizes]
    )
    fig.update_yaxes(title="validation error (%)", rangemode="tozero", row=1, col=1)
    return theme.apply_layout(
        fig, "Validation error vs batch size (mean ± sd over seeds)", 500, grid=True, showlegend=True,
        legend_below=True,
    )  # fmt: skip


def lm_results_figure(records: Sequence[dict[str, Any]], rates: dict[str, float], context_free: float) -> go.Figure:
    """Eval-mode validation loss per (norm, placement) at its chosen learning rate: mean ± one standard deviation
    over seeds, each seed a faint dot, and the loss of a model that ignores the context as a dashed line."""
    fig = go.Figure(_validate=theme.VALIDATE)
    cells = vd.lm_cells(records, rates)
    names = [vd.cell_name(k) for k in cells]
    spreads = [rs.spread(r["val_loss"] for r in runs) for runs in cells.values()]
    fig.add_scatter(
        x=[s.mean for s in spreads], y=names, mode="markers", name="mean ± sd over seeds",
        error_x={"type": "data", "array": [s.sd for s in spreads], "visible": True},
        marker={"color": theme.SELECTED, "size": 12},
    )  # fmt: skip
    fig.add_scatter(
        x=[r["val_loss"] for runs in cells.values() for r in runs],
        y=[vd.cell_name(k) for k, runs in cells.items() for _ in runs],
        mode="markers", name="each seed", marker={"color": theme.INPUT, "size": 7, "opacity": 0.5},
    )  # fmt: skip
    fig.add_vline(x=context_free, line={"dash": "dash", "color": theme.FAINT})
    fig.add_annotation(x=context_free, y=1, yref="paper", text="ignores the context", showarrow=False,
                       xanchor="right", yanchor="bottom")  # fmt: skip
    fig.update_xaxes(title="validation loss, eval mode (nats per character; lower is better)")
    fig.update_yaxes(autorange="reversed")
    return theme.apply_layout(
        fig, "Tiny LM after the shipped runs (mean ± sd over seeds)", 120 + 44 * len(names), grid=True,
        showlegend=True,
    )  # fmt: skip


def future_leak_figure(records: Sequence[dict[str, Any]], rates: dict[str, float]) -> go.Figure:
    """The causal leak of each trained cell that measured it: mean |Δ loss| per token when the batch's future is
    swapped (mean ± sd over seeds, each seed a faint dot); a causal model's is exactly 0, marked as such."""
    fig = go.Figure(_validate=theme.VALIDATE)
    cells = {
        k: [r for r in runs if r.get("future_leak_abs") is not None] for k, runs in vd.lm_cells(records, rates).items()
    }
    cells = {k: runs for k, runs in cells.items() if runs}
    names = [vd.cell_name(k) for k in cells]
    spreads = [rs.spread(r["future_leak_abs"] for r in runs) for runs in cells.values()]
    fig.add_scatter(
        x=[s.mean for s in spreads], y=names, mode="markers", name="mean ± sd over seeds",
        error_x={"type": "data", "array": [0.0 if s.n < 2 else s.sd for s in spreads], "visible": True},
        marker={"color": theme.SELECTED, "size": 12},
    )  # fmt: skip
    fig.add_scatter(
        x=[r["future_leak_abs"] for runs in cells.values() for r in runs],
        y=[vd.cell_name(k) for k, runs in cells.items() for _ in runs],
        mode="markers", name="each seed", marker={"color": theme.INPUT, "size": 7, "opacity": 0.5},
    )  # fmt: skip
    for name, runs in zip(names, cells.values(), strict=True):
        if all(r["future_leak_abs"] == 0.0 for r in runs):
            fig.add_annotation(x=0, y=name, text="exactly 0: causal", showarrow=False, xanchor="left", xshift=12)
    fig.update_xaxes(title="mean |Δ loss| per token when the future is swapped (nats; 0 = causal)", rangemode="tozero")
    fig.update_yaxes(autorange="reversed")
    return theme.apply_layout(
        fig, "Does a token's training-mode loss depend on the batch's future?", 120 + 44 * max(1, len(names)),
        grid=True, showlegend=True,
    )  # fmt: skip


def init_grads_figure(records: Sequence[dict[str, Any]]) -> go.Figure:
    """Gradient norm of each block's weights at initialization, per depth (one panel each), pre- and post-norm:
    mean ± sd over seeds, on a log scale (Xiong et al., 2020, figure 3, on the tiny LM)."""
    depths = sorted({r["layers"] for r in records})
    shown: list[float] = []  # every mean drawn, for the log axis's ticks
    fig = make_subplots(rows=1, cols=len(depths), shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=[f"{d} blocks" for d in depths])  # fmt: skip
    for col, d in enumerate(depths, start=1):
        for i, p in enumerate(("pre", "post")):
            runs = [r["grad_norms"] for r in records if r["layers"] == d and r["placement"] == p]
            if not runs:
                continue
            per_block = [rs.spread(g[k] for g in runs) for k in range(d)]
            shown += [s.mean for s in per_block]
            fig.add_scatter(
                x=list(range(1, d + 1)), y=[s.mean for s in per_block], mode="lines+markers", name=f"{p}-norm",
                error_y={"type": "data", "array": [s.sd for s in per_block], "visible": True},
                line={"color": (theme.INPUT, theme.OUTPUT)[i], "width": 3}, legendgroup=p, showlegend=col == 1,
                row=1, col=col,
            )  # fmt: skip
        fig.update_xaxes(title="block", dtick=1, row=1, col=col)
    fig.update_yaxes(type="log", **theme.log_ticks(shown))
    fig.update_yaxes(title="gradient norm of the block's weights", row=1, col=1)
    return theme.apply_layout(
        fig, "Gradient per block at initialization (mean ± sd over seeds)", 440, grid=True, showlegend=True,
        legend_below=True,
    )  # fmt: skip
