"""norm-viz: the router. Run with `streamlit run app.py`."""

import streamlit as st

from norm_viz import ui

# One section per theme; each page is a file in pages/ with a stable url_path (links and the quiz use them).
PAGES = {
    "Explore": [
        st.Page("pages/explorer.py", title="Explorer", icon="🧊", url_path="explorer", default=True),
        st.Page("pages/which_layernorm.py", title="Which LayerNorm?", icon="❓", url_path="which-layernorm"),
    ],
    "Transformer questions": [],
    "Beyond the standard norms": [],
    "Classroom": [
        st.Page("pages/walkthrough.py", title="Walkthrough", icon="👣", url_path="walkthrough"),
        st.Page("pages/quiz.py", title="Quiz", icon="🎯", url_path="quiz"),
        st.Page("pages/interview.py", title="Interview cards", icon="🗂️", url_path="interview"),
        st.Page("pages/export.py", title="Export", icon="📦", url_path="export"),
    ],
}


def main() -> None:
    st.set_page_config(page_title="norm-viz", page_icon="🧊", layout="wide")
    nav = st.navigation({name: pages for name, pages in PAGES.items() if pages})
    ui.register_pages(PAGES)  # so that pages can link to each other by url_path
    ui.begin_page()  # presentation mode and the box for URL notices, on every page
    nav.run()


main()
