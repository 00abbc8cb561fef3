"""Figures of the real model page: outlier features across the 13 LayerNorms, LayerNorm's ceiling, the padding
feature. plotly only (no streamlit); each figure is a pure function of the page's view."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from norm_viz.core.theme import FAINT, INPUT, LIT, OUTPUT, PAD, SEQUENTIAL, apply_layout
from norm_viz.real.minilm import CEILING, HIDDEN, ln_index, ln_name
from norm_viz.real.view import RealModelView


def peaks_figure(v: RealModelView) -> go.Figure:
    """Heatmap: the largest |x| of each of the 384 features (columns) at each LayerNorm's input (rows), log scale."""
    z = np.log10(v.peaks.double().clamp_min(1e-6).numpy())
    names = [ln_name(f.index) for f in v.facts]
    top = {f for fact in v.facts for f in fact.top_features[:2]}
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=list(range(HIDDEN)),
            y=names,
            colorscale=SEQUENTIAL,
            colorbar={"title": {"text": "log₁₀ max |x|"}},
            customdata=v.peaks.numpy(),
            hovertemplate="feature %{x}<br>%{y}<br>max |x| = %{customdata:.2f}<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="feature (f) of 384", tickvals=sorted(top), tickangle=0)
    fig.update_yaxes(autorange="reversed")
    return apply_layout(fig, "Outlier features: the largest |x| of every feature at every LayerNorm input", 520)


def ceiling_figure(v: RealModelView) -> go.Figure:
    """The normalized values x̂ of the token nearest LayerNorm's ceiling, with ±√(F−1) drawn."""
    c = v.nearest_ceiling
    xhat = v.ceiling_xhat.numpy()
    colors = [LIT if i == c.xhat_feature else INPUT for i in range(HIDDEN)]
    fig = go.Figure(go.Bar(x=list(range(HIDDEN)), y=xhat, marker={"color": colors}, name="x̂ of the token"))
    for sign in (1, -1):
        fig.add_hline(
            y=sign * CEILING,
            line={"color": PAD, "dash": "dash", "width": 2},
            annotation_text=f"{'+' if sign > 0 else '−'}√(F−1) = {sign * CEILING:.2f}",
            annotation_position="top right" if sign > 0 else "bottom right",
        )
    fig.update_xaxes(title_text=f"feature (f) — token {c.xhat_token}")
    fig.update_yaxes(title_text="x̂ = (x − μ) / σ")
    return apply_layout(fig, f"x̂ of one token at the {c.name}", 440, grid=True)


def padding_feature_figure(v: RealModelView) -> go.Figure:
    """The padding feature's values at real tokens and at padding positions (one dot each)."""
    best = v.pad_best
    fig = go.Figure()
    if best is None:
        return apply_layout(fig, "No padding in these sentences", 300)
    for name, vals, color in (("real tokens", v.pad_real, OUTPUT), ("padding positions", v.pad_pad, PAD)):
        arr = vals.numpy()
        fig.add_trace(
            go.Box(y=arr, name=f"{name} ({arr.size})", marker={"color": color}, boxpoints="all", jitter=0.5, pointpos=0)
        )
    fig.update_yaxes(title_text=f"feature {best.pad_feature}")
    return apply_layout(fig, f"Feature {best.pad_feature} at the {best.name}", 420, showlegend=False, grid=True)


def ratios_figure(v: RealModelView) -> go.Figure:
    """Unmasked / masked BatchNorm variance of the padding feature, per LayerNorm."""
    rows = [f for f in v.facts if f.pad_feature >= 0 and f.bn_var_masked > 0]
    fig = go.Figure(
        go.Bar(
            x=[f.name for f in rows],
            y=[f.bn_var_unmasked / f.bn_var_masked for f in rows],
            text=[f"f{f.pad_feature}" for f in rows],
            marker={"color": [PAD if f.pad_feature == rows[0].pad_feature else FAINT for f in rows]},
        )
    )
    fig.update_yaxes(title_text="unmasked σ² / masked σ²")
    return apply_layout(fig, "BatchNorm's variance of the padding feature: pads counted vs masked", 420, grid=True)


def composition_sites_figure(v: RealModelView) -> go.Figure:
    """The batch-composition experiment at all 13 LayerNorm sites: per site, how far the fixed sentence's normalized
    values move across the batches (largest cell as a bar, the median cell as a dot), for masked BatchNorm, BatchNorm
    with the pads counted and the model's LayerNorm; the site the findings quote is marked."""
    sc = v.sites
    names = [ln_name(m.index).replace(" LayerNorm", "") for m in sc.sites]
    chosen = ln_name(ln_index(v.composition.layer, v.composition.site)).replace(" LayerNorm", "")
    fig = go.Figure()
    for label, top, med, color in (
        ("masked BatchNorm", [m.masked for m in sc.sites], [m.masked_median for m in sc.sites], OUTPUT),
        ("BatchNorm, pads counted", [m.unmasked for m in sc.sites], [m.unmasked_median for m in sc.sites], PAD),
    ):
        fig.add_trace(go.Bar(x=names, y=top, name=f"{label}: largest cell", marker={"color": color}, offsetgroup=label,
                             hovertemplate="%{x}<br>largest movement %{y:.3f}<extra>" + label + "</extra>"))  # fmt: skip
        fig.add_trace(go.Scatter(x=names, y=med, name=f"{label}: median cell", mode="markers", offsetgroup=label,
                                 marker={"color": FAINT, "size": 9, "symbol": "diamond", "line": {"color": color,
                                 "width": 2}}, hovertemplate="%{x}<br>median movement %{y:.3f}<extra>" + label +
                                 "</extra>"))  # fmt: skip
    fig.add_trace(go.Scatter(x=names, y=[m.ln for m in sc.sites], name="LayerNorm: largest cell", mode="lines+markers",
                             line={"color": INPUT, "width": 2}, marker={"size": 6}))  # fmt: skip
    fig.add_vline(x=names.index(chosen), line={"color": LIT, "dash": "dot", "width": 2})
    fig.update_layout(barmode="group", scattermode="group")
    fig.update_xaxes(title_text="LayerNorm site, in the order of the forward pass", tickangle=-35)
    fig.update_yaxes(title_text="movement (max − min over batches)", rangemode="tozero")
    return apply_layout(
        fig,
        f"One sentence in {sc.n_batches} batches of {sc.batch_size}: how far its normalized values move, at every site",
        460, grid=True, showlegend=True, legend_below=True,
    )  # fmt: skip
