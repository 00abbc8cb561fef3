"""norm-viz: the router. Run with `streamlit run app.py`."""

import streamlit as st

# One section per theme; each page is a file in pages/ with a stable url_path (links and the quiz use them).
PAGES = {
    "Explore": [
        st.Page("pages/explorer.py", title="Explorer", icon=":material/view_in_ar:", url_path="explorer", default=True),
        st.Page(
            "pages/which_layernorm.py", title="Which LayerNorm?", icon=":material/help:", url_path="which-layernorm"
        ),
    ],
    "Transformer questions": [],
    "Beyond the standard norms": [],
    "Classroom": [],
}


def main() -> None:
    st.set_page_config(page_title="norm-viz", page_icon="🧊", layout="wide")
    st.navigation({name: pages for name, pages in PAGES.items() if pages}).run()


main()
