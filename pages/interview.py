"""Interview cards: the classic normalization questions, short answers, and links to the demos that prove them."""

import pandas as pd
import streamlit as st

from norm_viz import ui
from norm_viz.classroom.cards import CARD_CHOICES, InterviewConfig, card_title, cheat_sheet, interview_view, real_notes
from norm_viz.core.params import Param
from norm_viz.real import minilm as real
from norm_viz.ui.real import model_problem, real_view

PARAMS = (Param("iv_card", "all", options=CARD_CHOICES, field="card"),)

st.title("Interview cards")
ui.show_url_notices()
st.markdown(
    "The questions interviewers ask about normalization, each with a short answer in plain words and a link that "
    "opens the live demo with the right settings. Where a published source gets it wrong, the card says so."
)

ui.declare(PARAMS)
c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
c1.selectbox("Question", list(CARD_CHOICES), format_func=card_title, key="iv_card")
c2.download_button(
    "⬇ Cheat sheet (Markdown)",
    cheat_sheet(),
    file_name="normalization-cheat-sheet.md",
    mime="text/markdown",
    key="_iv_download",
    width="stretch",
)

view = interview_view(ui.config(InterviewConfig, PARAMS))
live = {} if model_problem() else real_notes(real_view(real.DEFAULT_SENTENCES), quote=ui.literal)
for card in view.cards:
    with st.container(border=True):
        st.subheader(card.question)
        st.markdown(card.answer)
        if card.key in live:
            st.info(live[card.key], icon=":material/memory:")
        if card.correction:
            st.warning(f"**A source gets this wrong.** {card.correction}", icon="⚠️")
        for link in card.links:
            ui.page_link(link.url_path, link.label, link.query)
        st.caption(f"Sources: {card.source} (quotes and links on the Sources page).")

with st.expander("The axis table (from the app's table of norms)", expanded=view.table_open):
    st.caption(view.table_note)
    ui.table(pd.DataFrame(view.table))

st.info(view.summary)
ui.sync_url(PARAMS)
