"""Interview cards: the classic normalization questions, short answers, and links to the demos that prove them."""

import pandas as pd
import streamlit as st

from norm_viz import ui
from norm_viz.classroom.cards import CARDS, axis_rows, cheat_sheet

st.title("Interview cards")
ui.show_url_notices()
st.markdown(
    "The questions interviewers ask about normalization, each with a short answer in plain words and a link that "
    "opens the live demo with the right settings. Where one of our source documents gets it wrong, the card says so."
)

questions = {"all": "All questions"} | {c.key: c.question for c in CARDS}
keys = [c.key for c in CARDS]
ui.init_state("iv_card", "all", ui.choice(["all", *keys]))
c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
c1.selectbox(
    "Question",
    ["all", *keys],
    format_func=questions.__getitem__,
    key="iv_card",
)
c2.download_button(
    "⬇ Cheat sheet (Markdown)",
    cheat_sheet(),
    file_name="normalization-cheat-sheet.md",
    mime="text/markdown",
    key="_iv_download",
    width="stretch",
)

shown = [c for c in CARDS if st.session_state.iv_card in ("all", c.key)]
for card in shown:
    with st.container(border=True):
        st.subheader(card.question)
        st.markdown(card.answer)
        if card.correction:
            st.warning(f"**A source gets this wrong.** {card.correction}", icon="⚠️")
        for link in card.links:
            ui.page_link(link.url_path, link.label, link.query)
        st.caption(f"Sources: {card.source} (in shared/seeds).")

with st.expander("The axis table (from the app's table of norms)", expanded=st.session_state.iv_card == "all"):
    table = pd.DataFrame(axis_rows()).drop(columns="key")
    table.columns = ["norm", "one statistic per", "averages over", "subtracts the mean", "γ, β shape", "PyTorch"]
    st.dataframe(table, hide_index=True, width="stretch")

st.success(
    f"{len(CARDS)} questions; {sum(1 for c in CARDS if c.correction)} of them correct a source document. "
    "The cheat sheet holds every answer, the axis table and the worked examples, computed by the app."
)
ui.sync_url(["iv_card"])
