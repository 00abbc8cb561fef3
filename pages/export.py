"""Export: the current tensor, output and statistics (CSV, .npy), figures as PNG, and a plain-PyTorch script."""

import importlib.util
import shutil

import streamlit as st

from norm_viz import ui
from norm_viz.classroom import export, png
from norm_viz.core.numbers import plural
from norm_viz.core.table import NORMS
from norm_viz.cube import static
from norm_viz.explore import figures
from norm_viz.ui.cube import cube_view

st.title("Take it with you: data, figures and code")
ui.show_url_notices()
st.markdown(
    "The view set up in the sidebar (the Explorer's settings): its figures, its numbers, and a script that recomputes "
    "them with nothing but PyTorch."
)

tcfg, x = ui.user_tensor(expanded=False)
b, s, f = x.shape
ncfg, r = ui.user_result(x)
ui.init_cell((b, s, f))
st.sidebar.header("Chosen cell")
cell = ui.cell_inputs((b, s, f), container=st.sidebar)
name = f"{r.key}_{b}x{s}x{f}"

st.subheader("Figures (PNG, SVG)")
FIGS: dict[str, str] = {
    "cube": "The cube with the lit group",
    "overview": "Every norm at once",
    "stats": "The statistics",
    "heatmaps": "Input and output heatmaps",
    "hist": "Values before and after",
}
ui.init_state("ex_fig", "cube", ui.choice(list(FIGS)))
which: str = st.selectbox("Figure", list(FIGS), format_func=lambda k: FIGS[k], key="ex_fig")
if which in ("cube", "overview"):  # the shared cube; its PNG and SVG are drawn on the server from the same geometry
    title = f"{NORMS[r.key].label}: the cells that share cell {cell}'s statistic"
    cube_key = f"ex_cube_{which}"
    ui.cube(
        (b, s, f),
        r.key,
        groups=r.groups,
        lengths=ncfg.lengths,
        keys=None if which == "overview" else (r.key,),
        key=cube_key,
        multiples=which == "overview",
        height=380,
        on_norm=None,
        report_view=which == "cube",  # the files are drawn from the view its buttons (↗ ↖ ⤒) chose
    )
    view = cube_view(cube_key) if which == "cube" else "right"

    def svg_of() -> str:
        if which == "overview":
            return static.multiples_svg((b, s, f), cell, groups=r.groups, highlight=r.key)
        return static.cube_svg((b, s, f), r.key, cell, groups=r.groups, lengths=ncfg.lengths, title=title, view=view)

    stem = f"{name}_{which}" + (f"_{view}" if which == "cube" else "")
    p1, p2 = st.columns(2)
    p1.download_button(
        "⬇ This figure as PNG",
        ui.limited("export", lambda: static.svg_to_png(svg_of())),
        f"{stem}.png",
        "image/png",
        key="_ex_png",
    )
    p2.download_button(
        "⬇ This figure as SVG", ui.limited("export", svg_of), f"{stem}.svg", "image/svg+xml", key="_ex_svg"
    )
    st.caption(
        "The files are the cube above, seen from the view its buttons chose, drawn on the server the same way (the PNG "
        "at twice the size)."
        if which == "cube"
        else "The file is the strip of small cubes above, drawn on the server the same way (the PNG at twice the size)."
    )
else:
    fig = {
        "stats": lambda: figures.stats_figure(r, cell),
        "heatmaps": lambda: figures.heatmaps_figure(r, cell[0], cell),
        "hist": lambda: figures.histogram_figure(r),
    }[which]()
    ui.chart(fig, key="ex_preview")
    can_png = importlib.util.find_spec("kaleido") is not None and bool(
        shutil.which("chromium") or shutil.which("chrome")
    )
    if can_png:
        st.download_button(
            "⬇ This figure as PNG (1600 px wide)",
            # one shared renderer; every click (or resent request) counts against this tab's exports per minute
            ui.limited("export", lambda: png.render_png(fig, *png.png_size(fig))),
            f"{name}_{which}.png",
            "image/png",
            key="_ex_png",
        )
        st.caption(
            "The PNG is drawn when you click, by one renderer shared by every visitor (about a second; a few more "
            "while others export). Every chart's camera icon also saves what you see."
        )
    else:
        st.info(
            "PNG export of this chart needs the `kaleido` package and a Chromium browser on the server (pip install "
            "-r requirements.txt; apt-get install chromium). Meanwhile, each chart's camera icon saves it as PNG "
            "from your browser."
        )

st.subheader("Numbers")
st.markdown(
    f"{NORMS[r.key].label} on a {b} × {s} × {f} tensor: {plural(r.n_groups, 'statistic')}, each over {plural(r.group_size, 'cell')}. "
    "CSV for spreadsheets, `.npy` for `np.load` (plain arrays, no pickle)."
)
d1, d2, d3, d4, d5 = st.columns(5)
d1.download_button("Every cell (CSV)", export.cells_csv(r), f"{name}_cells.csv", "text/csv", key="_ex_cells")
d2.download_button("Statistics (CSV)", export.stats_csv(r), f"{name}_stats.csv", "text/csv", key="_ex_stats")
d3.download_button("Input x (.npy)", export.npy_bytes(r.input), f"{name}_input.npy", key="_ex_in")
d4.download_button("Output y (.npy)", export.npy_bytes(r.output), f"{name}_output.npy", key="_ex_out")
var_file = "var" if r.norm.centered else "mean_square"
if r.group_mean is not None:
    d5.download_button(
        "μ (.npy)", export.npy_bytes(r.group_mean.view(r.stats_shape)), f"{name}_mean.npy", key="_ex_mean"
    )
d5.download_button(
    "σ² (.npy)" if r.norm.centered else "mean square (.npy)",
    export.npy_bytes(r.group_var.view(r.stats_shape)),
    f"{name}_{var_file}.npy",
    key="_ex_var",
)
st.caption(
    f"The statistics arrays have shape {tuple(r.stats_shape)}: one entry per {' × '.join(r.stats_axes) or 'tensor'}."
)

st.subheader("Reproduce it in plain PyTorch")
recipe = export.recipe_for(tcfg.kind, tcfg.seed, tcfg.scale, tcfg.shift) if tcfg.source == "generate" else None
script = export.reproduce_script(r, cell, recipe, ncfg.lengths)
how = "regenerates x from its seed" if recipe else "writes x out value by value"
st.markdown(
    f"A self-contained script ({len(script.splitlines())} lines) that {how}, runs `torch.nn` and prints the cell's numbers."
)
if len(script) <= 20_000:
    st.code(script, language="python")
else:
    st.code(script[:3000] + "\n# … (download the whole script)", language="python")
st.download_button("⬇ Script (.py)", script, f"reproduce_{name}.py", "text/x-python", key="_ex_script")
v = r.cell(*cell)
st.success(
    f"Running it prints x = {v['x']:.6g}, x̂ = {v['x_hat']:.6g} and y = {v['y']:.6g} for cell {cell}, the same numbers "
    "as here: the tests run the script and compare every value."
)
ui.sync_url([*ui.SHARED_KEYS, *ui.CELL_KEYS, "ex_fig"])
