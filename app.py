"""norm-viz: the router. Run with `streamlit run app.py`."""

import streamlit as st

PAGES = [
    st.Page("pages/explorer.py", title="Explorer", icon="🧊", url_path="explorer", default=True),
    st.Page("pages/which_layernorm.py", title="Which LayerNorm?", icon="❓", url_path="which-layernorm"),
]


def main() -> None:
    st.set_page_config(page_title="norm-viz", page_icon="🧊", layout="wide")
    st.navigation(PAGES).run()


main()
