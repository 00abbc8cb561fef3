"""norm-viz: the router. Run with `streamlit run app.py`."""

from pathlib import Path

import streamlit as st

from norm_viz import ui
from norm_viz.ui.process import configure_process
from norm_viz.ui.real import preload_models

# A local SVG: Streamlit inlines it as a data: URI. A ":material/…:" page icon would make the browser fetch the
# favicon from fonts.gstatic.com, which fails on an offline classroom network (tests/test_offline.py).
ICON = Path(__file__).resolve().parent / "assets" / "icon.svg"

# One section per theme; each page is a file in pages/ with a stable url_path (links and the quiz use them).
PAGES = {
    # "": pages shown on the top bar itself; every other section is a menu there (two clicks to any page)
    "": [
        st.Page("pages/start.py", title="Start", icon=":material/home:", url_path="", default=True),
        st.Page("pages/explorer.py", title="Explorer", icon=":material/view_in_ar:", url_path="explorer"),
    ],
    "Transformer questions": [
        st.Page(
            "pages/which-layernorm.py", title="Which LayerNorm?", icon=":material/help:", url_path="which-layernorm"
        ),
        st.Page(
            "pages/batch-dependence.py", title="Batch dependence", icon=":material/groups:", url_path="batch-dependence"
        ),
        st.Page("pages/padding.py", title="Padding", icon=":material/format_indent_increase:", url_path="padding"),
        st.Page("pages/causal.py", title="Causal leakage", icon=":material/arrow_back:", url_path="causal"),
        st.Page("pages/train-eval.py", title="Train vs eval", icon=":material/model_training:", url_path="train-eval"),
        st.Page("pages/multi-device.py", title="Multi-device", icon=":material/dns:", url_path="multi-device"),
        st.Page("pages/compare.py", title="Compare all norms", icon=":material/table_chart:", url_path="compare"),
        st.Page("pages/placement.py", title="Pre- vs post-norm", icon=":material/layers:", url_path="placement"),
    ],
    "More norms": [
        st.Page("pages/powernorm.py", title="PowerNorm", icon=":material/bolt:", url_path="powernorm"),
        st.Page("pages/dyt.py", title="DyT: no normalization", icon=":material/show_chart:", url_path="dyt"),
        st.Page("pages/custom-axes.py", title="Custom axes", icon=":material/tune:", url_path="custom-axes"),
        st.Page(
            "pages/equivalences.py", title="Equivalences", icon=":material/compare_arrows:", url_path="equivalences"
        ),
        st.Page("pages/geometry.py", title="Geometry", icon=":material/public:", url_path="geometry"),
        st.Page(
            "pages/fluctuation.py",
            title="Batch-statistics fluctuation",
            icon=":material/ssid_chart:",
            url_path="fluctuation",
        ),
        st.Page("pages/eps-dtype.py", title="ε and dtype lab", icon=":material/science:", url_path="eps-dtype"),
        st.Page("pages/real-model.py", title="Real model", icon=":material/memory:", url_path="real-model"),
        st.Page("pages/modern-llm.py", title="Modern LLM", icon=":material/bolt:", url_path="modern-llm"),
    ],
    "Training lab": [
        st.Page("pages/train-lm.py", title="Tiny language model", icon=":material/school:", url_path="train-lm"),
        st.Page("pages/train-cnn.py", title="ConvNet on digits", icon=":material/grid_on:", url_path="train-cnn"),
    ],
    "Classroom": [
        st.Page("pages/walkthrough.py", title="Walkthrough", icon=":material/footprint:", url_path="walkthrough"),
        st.Page("pages/quiz.py", title="Quiz", icon=":material/quiz:", url_path="quiz"),
        st.Page("pages/interview.py", title="Interview cards", icon=":material/style:", url_path="interview"),
        st.Page("pages/export.py", title="Export", icon=":material/download:", url_path="export"),
        st.Page("pages/cheatsheet.py", title="Cheat sheet", icon=":material/print:", url_path="cheatsheet"),
        st.Page("pages/sources.py", title="Sources", icon=":material/menu_book:", url_path="sources"),
    ],
}
# PAGES's order is the suggested path: each page ends with a link to the next one (ui.end_page).

# Streamlit serves the default page at "/" only: its own url_path names no URL, so "/start" showed "Page not found".
# A hidden page runs the same file at "/start" (no menu lists it); ui.register_pages maps it to the default page.
ALIASES = [st.Page("pages/start.py", title="Start", url_path="start", visibility="hidden")]


def main() -> None:
    configure_process()  # once per server process: one torch thread per script run (see norm_viz/ui/process.py)
    st.set_page_config(page_title="norm-viz", page_icon=str(ICON), layout="wide")
    # top: every section is visible on the top bar at 1280 × 720 (the sidebar keeps the tensor's controls)
    sections = {name: pages for name, pages in PAGES.items() if pages}
    nav = st.navigation({**sections, "": [*sections[""], *ALIASES]}, position="top")
    ui.register_pages(PAGES, ALIASES)  # so that pages can link to each other by url_path
    ui.begin_page(nav)  # presentation mode (with previous / next) and the box for URL notices, on every page
    with ui.friendly_errors(f"the page “{nav.title}”"):  # a message and a log line, never a traceback
        nav.run()
    ui.end_page(nav)  # the link to the next page along PAGES
    preload_models()  # once per server, after the first page is drawn: the real models load in the background


main()
