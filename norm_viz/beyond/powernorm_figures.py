"""Figures of PowerNorm's claim measured like for like (beyond.powernorm_evidence's shipped records). plotly only
(no streamlit); each figure is a pure function of the records."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from norm_viz.beyond.powernorm_evidence import TARGETS, group
from norm_viz.core import theme
from norm_viz.training import results as rs

TEXT_COLORS = ("#D55E00", "#E69F00", "#CC79A7")
IMAGE_COLORS = ("#0072B2", "#56B4E9", "#009E73", "#004D7A", "#2CA7E0", "#00785A")


def _color(name: str, i: int) -> str:
    text = name.startswith(("tiny LM", "text"))
    pal = TEXT_COLORS if text else IMAGE_COLORS
    return pal[i % len(pal)]


def training_figure(records: Sequence[dict[str, Any]]) -> go.Figure:
    """|σ²_B − σ²_run| / σ²_run through training for every BatchNorm of the LM and the ConvNets: the mean over seeds
    as a line, each seed faint (x = fraction of the run, since the runs have different lengths)."""
    fig = go.Figure(_validate=theme.VALIDATE)
    shown: list[float] = []
    n_text = n_img = 0
    for (model, layer), runs in group(records, "training").items():
        text = model.startswith("tiny LM")
        color = _color(model, n_text if text else n_img)
        n_text, n_img = n_text + text, n_img + (not text)
        curves = [r["curve_rel_var"] for r in runs]
        n = min(len(c) for c in curves)
        xs = [(i + 0.5) / n for i in range(n)]
        name = f"{'text' if text else 'images'}: {model.split(' (')[0]}, {layer}"
        for c in curves:
            fig.add_scatter(x=xs, y=c[:n], mode="lines", line={"color": color, "width": 1}, opacity=0.3,
                            legendgroup=name, showlegend=False, hoverinfo="skip")  # fmt: skip
        mean = [statistics.fmean(c[i] for c in curves) for i in range(n)]
        shown += mean
        fig.add_scatter(x=xs, y=mean, mode="lines", name=f"{name} ({runs[0]['values_per_statistic']:,} values)",
                        line={"color": color, "width": 3, "dash": "solid" if text else "dot"},
                        legendgroup=name)  # fmt: skip
    fig.update_xaxes(title="fraction of the training run", range=[0, 1])
    fig.update_yaxes(title="|σ²_B − σ²_run| / σ²_run (mean over features)", type="log", **theme.log_ticks(shown))
    return theme.apply_layout(
        fig, "During training: how far each batch's variance is from BatchNorm's running one", 520, grid=True,
        showlegend=True, legend_below=True,
    )  # fmt: skip


def frozen_figure(
    records: Sequence[dict[str, Any]],
    title: str = "Frozen activations: batch-variance spread at the same number of values (mean ± sd over seeds)",
) -> go.Figure:
    """The spread of the batch variance against the number of values per statistic, per source (mean ± sd over
    seeds, or over draws of batches for a live measurement): text and image activations compared where they have
    the same count."""
    fig = go.Figure(_validate=theme.VALIDATE)
    shown: list[float] = []
    n_text = n_img = 0
    for (_model, layer), runs in group(records, "frozen").items():
        text = layer.startswith("text")
        color = _color(layer, n_text if text else n_img)
        n_text, n_img = n_text + text, n_img + (not text)
        xs, ys, sds = [], [], []
        for n in TARGETS:
            s = rs.spread(r["at"].get(str(n)) for r in runs)
            if s.n:
                xs.append(n)
                ys.append(s.mean)
                sds.append(s.sd if s.n > 1 else 0.0)
        shown += ys
        fig.add_scatter(
            x=xs, y=ys, mode="lines+markers", name=f"{layer} ({runs[0]['values_per_sample']:g} per sample)",
            error_y={"type": "data", "array": sds, "visible": True},
            line={"color": color, "width": 3, "dash": "solid" if text else "dot"}, marker={"size": 8},
        )  # fmt: skip
    fig.update_xaxes(title="values per statistic (tokens or pixels × samples in the batch)", type="log",
                     tickvals=list(TARGETS), ticktext=[str(n) for n in TARGETS])  # fmt: skip
    fig.update_yaxes(title="sd of the batch variance (in σ²)", type="log",
                     **theme.log_ticks(shown))  # fmt: skip
    return theme.apply_layout(fig, title, 520, grid=True, showlegend=True, legend_below=True)
