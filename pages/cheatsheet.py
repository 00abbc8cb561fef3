"""The printable one-page cheat sheet: axes, batch size 1 and eval mode, padding, causal decoding, multi-device,
γ/β and why normalize at all; every number computed by the app (norm_viz/classroom/cheatsheet.py)."""

import pandas as pd
import streamlit as st

from norm_viz import ui
from norm_viz.classroom.cheatsheet import SHAPE, axes_rows, markdown, sections

# Printing (Ctrl+P, or the menu's Print): only the sheet, on one page; no bars, links or buttons.
PRINT_CSS = """
<style>
@media print {
  @page { size: A4; margin: 10mm; }
  header, [data-testid="stHeader"], [data-testid="stSidebar"], [data-testid="stTopNav"], .st-key-present_bar,
  .st-key-next_page, .st-key-cs_download, [data-testid="stPageLink"], hr, [data-testid="stToolbar"],
  [data-testid="stDecoration"] { display: none !important; }
  [data-testid="stMainBlockContainer"] { padding: 0 !important; max-width: 100% !important; }
  html { font-size: 10.5px !important; }
  h1 { font-size: 1.8rem !important; padding: 0 !important; }
  h3 { font-size: 1.2rem !important; padding: 0.3rem 0 0 0 !important; }
  [data-testid="stVerticalBlock"] { gap: 0.25rem !important; }
  .st-key-cs_sheet [data-testid="stVerticalBlockBorderWrapper"], .st-key-cs_sheet div { break-inside: avoid; }
}
</style>
"""

st.markdown(PRINT_CSS, unsafe_allow_html=True)
st.title("Normalization cheat sheet")
ui.show_url_notices()
st.caption(f"One printed page (Ctrl+P). Every number is computed now, on a seeded {'×'.join(map(str, SHAPE))} tensor.")

with st.container(key="cs_sheet"):
    secs = sections()
    st.subheader(secs[0].title)
    ui.table(pd.DataFrame(axes_rows()))
    left, right = st.columns(2)
    for i, sec in enumerate(secs):
        with (left if i % 2 == 0 else right).container(border=True, key=f"cs_{i}"):
            if i:
                st.markdown(f"**{sec.title}**")
            for line in sec.lines:
                st.markdown(line)
            if sec.page:
                ui.page_link(sec.page, "Live demo")

st.download_button(
    "⬇ The cheat sheet (Markdown)",
    markdown(),
    file_name="normalization-cheat-sheet.md",
    mime="text/markdown",
    key="cs_download",
)
ui.sync_url([])
