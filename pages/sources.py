"""Sources: the published texts whose claims the app checks, each claim quoted with what the app's numbers say."""

import streamlit as st

from norm_viz import ui
from norm_viz.core.sources import SOURCES

VERDICT_ICON = {"right": ":material/check_circle:", "wrong": ":material/cancel:"}

st.title("Sources: what they claim, and what the app measures")
ui.show_url_notices()
st.caption(
    "Each quote, what the app's numbers say about it, and the page that shows it live; then the papers the app follows."
)

for src in SOURCES.values():
    with st.container(border=True, key=f"src_{src.key}"):
        st.markdown(f"**{src.title}** — {src.who}. `{src.where}`")
        for claim in src.claims:
            icon = VERDICT_ICON.get(claim.verdict, ":material/help:")
            st.markdown(f"> “{claim.quote}”")
            st.markdown(f"{icon} **{claim.verdict.capitalize()}.** {claim.finding}")
            if claim.page:
                ui.page_link(claim.page, "Check it live")
ui.sync_url([])
