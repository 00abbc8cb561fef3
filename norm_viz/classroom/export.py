"""Exports of the current view: CSV tables and .npy arrays (numpy only, never pickle) and a self-contained
PyTorch script that reproduces the view's numbers. torch and numpy only (no streamlit, no plotly).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from torch import Tensor

from norm_viz.core.compute import NormResult
from norm_viz.core.table import AXES, torch_body

RECIPE_KINDS = ("normal", "uniform", "integers")
"""Generated kinds whose few lines of torch the script repeats; any other tensor is written out value by value."""
_DRAW = {
    "normal": "torch.randn({shape}, generator=g, dtype=torch.float64)",
    "uniform": "torch.rand({shape}, generator=g, dtype=torch.float64) * 2 - 1",
    "integers": "torch.randint(-4, 5, {shape}, generator=g).double()",
}


@dataclass(frozen=True)
class Recipe:
    """How a generated tensor was made (data.make_tensor's arguments)."""

    kind: str
    seed: int
    scale: float = 1.0
    shift: float = 0.0


def npy_bytes(array: np.ndarray | Tensor) -> bytes:
    """An array as the bytes of a .npy file (plain numeric data, allow_pickle=False)."""
    arr = array.detach().cpu().numpy() if isinstance(array, Tensor) else np.asarray(array)
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(arr), allow_pickle=False)
    return buf.getvalue()


def cells_csv(result: NormResult) -> str:
    """One row per cell: b, s, f, input, normalized x̂, output, group id, its μ and σ², whether it fed a statistic."""
    b, s, f = result.shape
    bb, ss, ff = (a.ravel() for a in np.indices((b, s, f)))
    gid = result.group_id.numpy().ravel()
    mean = np.full(gid.size, np.nan) if result.group_mean is None else result.group_mean.detach().double().numpy()[gid]
    var = result.group_var.detach().double().numpy()[gid]
    cols = [
        bb,
        ss,
        ff,
        result.input.detach().double().numpy().ravel(),
        result.normalized.detach().double().numpy().ravel(),
        result.output.detach().double().numpy().ravel(),
        gid,
        mean,
        var,
        result.contributes.numpy().ravel().astype(int),
    ]
    header = "b,s,f,input,normalized,output,group,mean,var,counted"
    fmt = ["%d", "%d", "%d", "%.9g", "%.9g", "%.9g", "%d", "%.9g", "%.9g", "%d"]
    buf = io.StringIO()
    np.savetxt(buf, np.column_stack(cols), delimiter=",", header=header, comments="", fmt=fmt)
    return buf.getvalue()


def stats_csv(result: NormResult) -> str:
    """One row per statistic: its group id, its index along each axis that indexes statistics, μ, σ², n."""
    axes, shape = result.stats_axes, result.stats_shape
    n = result.n_groups
    idx = np.stack(np.unravel_index(np.arange(n), shape), axis=1) if axes else np.zeros((n, 0), dtype=int)
    mean = np.full(n, np.nan) if result.group_mean is None else result.group_mean.detach().double().numpy()
    var_name = "var" if result.norm.centered else "mean_square"
    cols = [np.arange(n), *idx.T, mean, result.group_var.detach().double().numpy(), result.counts.numpy()]
    header = ",".join(["group", *axes, "mean", var_name, "n"])
    fmt = ["%d"] * (1 + len(axes)) + ["%.9g", "%.9g", "%d"]
    buf = io.StringIO()
    np.savetxt(buf, np.column_stack(cols), delimiter=",", header=header, comments="", fmt=fmt)
    return buf.getvalue()


def tensor_code(x: Tensor, recipe: Recipe | None = None) -> str:
    """Lines that make x with plain torch: the generator's own calls when possible, else every value written out."""
    b, s, f = x.shape
    if recipe is not None and recipe.kind in RECIPE_KINDS:
        draw = _DRAW[recipe.kind].format(shape=(b, s, f))
        return (
            f"g = torch.Generator().manual_seed({int(recipe.seed)})\n"
            f"x = (({draw}) * {float(recipe.scale)!r} + {float(recipe.shift)!r}).to(torch.float32)\n"
        )
    values = x.detach().to("cpu").float().double().tolist()  # float32 values are exact as Python floats
    return f"x = torch.tensor({values!r}, dtype=torch.float32)\n"


def reproduce_script(
    result: NormResult,
    cell: tuple[int, int, int],
    recipe: Recipe | None = None,
    lengths: tuple[int, ...] = (),
) -> str:
    """A self-contained Python script (torch only) that recomputes x, x̂, y and the statistics of this view."""
    b, s, f = result.shape
    norm = result.norm
    g = result.groups
    gamma = 1.0 if result.weight is None else float(result.weight.reshape(-1)[0])
    beta = 0.0 if result.bias is None else float(result.bias.reshape(-1)[0])
    mask_line = None
    if norm.masked:
        lens = list(lengths) if lengths else [s] * b
        mask_line = f"mask = torch.arange({s})[None, :] < torch.tensor({lens})[:, None]  # True = real token"
    dims = tuple(AXES.index(a) for a in norm.reduce)
    lines = [
        f'"""norm-viz: {norm.label} on a (batch, sequence, features) = ({b}, {s}, {f}) tensor; '
        f'cell (b, s, f) = {tuple(cell)}. Needs only torch."""',
        "import torch",
        "import torch.nn.functional as F",
        "from torch import nn",
        "",
        "# the input x: (batch, sequence, features)",
        tensor_code(result.input, recipe).rstrip("\n"),
        "",
        f"# {norm.label} with PyTorch's own module: {norm.summary}",
        "with torch.no_grad():",
        *(
            "    " + ln
            for ln in torch_body(norm.key, (b, s, f), g, result.eps, mask_line, **dict(result.options))
            .rstrip("\n")
            .split("\n")
        ),
        "    xhat = y  # normalized, before the scale γ and the shift β",
        f"    y = {gamma!r} * xhat + {beta!r}  # γ and β (one value for every feature here)",
        "",
        "# the statistics, the plain way: x viewed as (batch, sequence, group, feature-in-group)",
    ]
    if norm.forward is not None and dims:  # a row with its own forward: its snippet names what it divided by
        lines += [
            f"# {norm.label}: the statistic this step divided by (no mean subtracted)",
            "var, mean = divisor, None",
            f"var_cell, mean_cell = var[{cell[2]}], None",
        ]
    elif not dims:
        lines += [
            f"# {norm.label} computes no statistic: each cell stands alone (its own x² is shown)",
            "var, mean = x.double().square(), None",
            f"var_cell, mean_cell = var[{cell[0]}, {cell[1]}, {cell[2]}], None",
        ]
    elif norm.masked:
        lines += [
            "rows = x.double()[mask]  # the real tokens only: (tokens, features)",
            "var, mean = torch.var_mean(rows, dim=0, correction=0)"
            if norm.centered
            else "var, mean = rows.square().mean(0), None  # the mean square",
            f"mean_cell, var_cell = None if mean is None else mean[{cell[2]}], var[{cell[2]}]",
        ]
    else:
        lines.append(f"x4 = x.double().reshape({b}, {s}, {g}, {f // g})")
        if norm.centered:
            lines.append(f"var, mean = torch.var_mean(x4, dim={dims}, correction=0, keepdim=True)")
        else:
            lines += [f"var = x4.square().mean(dim={dims}, keepdim=True)  # RMSNorm: the mean square", "mean = None"]
        pick = f"[{cell[0]}, {cell[1]}, {cell[2]}]"
        lines += [
            f"var_cell = var.expand_as(x4).reshape({b}, {s}, {f}){pick}",
            f"mean_cell = None if mean is None else mean.expand_as(x4).reshape({b}, {s}, {f}){pick}",
        ]
    cb, cs, cf = cell
    lines += [
        "",
        f"b, s, f = {cb}, {cs}, {cf}",
        'print(f"x[b, s, f] = {x[b, s, f].item():.6g}")',
        'print("mean μ =", "not used" if mean_cell is None else f"{mean_cell.item():.6g}")',
        "print(f\"{'variance σ²' if mean_cell is not None else 'mean square'} = {var_cell.item():.6g}\")",
        'print(f"x̂ = {xhat[b, s, f].item():.6g}   y = {y[b, s, f].item():.6g}")',
        "",
    ]
    return "\n".join(lines)


def recipe_for(kind: str, seed: int, scale: float, shift: float) -> Recipe | None:
    """A Recipe when the script can regenerate this kind of tensor, else None (values are written out)."""
    return Recipe(kind, seed, scale, shift) if kind in RECIPE_KINDS else None
