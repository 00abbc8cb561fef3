"""Issue 18 §6: hostile text in every field a visitor controls renders as text, never as markup.

Every page (AppTest) opened with every URL parameter of the app set to hostile text (a Markdown image and link,
HTML, $$LaTeX$$, a bare address, a very long string), and again with hostile text only where free text is accepted
(sentences, number lists); uploads with a hostile file name, CSV cell and .npy dtype field name. Each element's
Markdown, outside code spans (which show text literally), must hold no link, image, HTML tag, LaTeX or bare address
to the hostile host, and no chart text may carry a link. (The Real model page's own rendering is fixed separately
and is not walked here.) In Chromium: tests/test_browser_safety.py.
"""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
from conftest import ROOT, app_test, no_exception, page_entries

from norm_viz.core.data import UploadError, read_upload
from norm_viz.ui.safety import escape

HOST = "evil.example"
HOSTILE = (
    f"![i](http://{HOST}/i.png)[log in again](http://{HOST}/l)<img src=http://{HOST}/h.png>"
    f"<a href=http://{HOST}/a>a</a>$$\\href{{http://{HOST}}}{{x}}$$ www.{HOST}/w :red[x] " + "long" * 500
)
"""One value with every construct that could render: image, link, HTML, LaTeX, bare address, a directive."""

KEYS = sorted(
    {
        k
        for p in [*(ROOT / "pages").glob("*.py"), *(ROOT / "norm_viz").rglob("*.py")]
        for k in re.findall(r'Param\(\s*"(\w+)"', p.read_text())
    }
)
"""Every URL parameter the app declares (pages and shared controls)."""

SKIP = {"real-model"}  # its own rendering of sentences is being fixed on its page (issue 18 §6, its first half)
TEXT_TYPES = ("markdown", "caption", "error", "warning", "info", "success", "title", "header", "subheader", "text")

CODE_SPAN = re.compile(r"(`+)(.+?)(?<!`)\1(?!`)", flags=re.S)


def rendered_markup(md: str) -> list[str]:
    """What in `md` would render as a link, image, HTML, LaTeX or bare-address link to HOST (code spans excluded)."""
    outside = CODE_SPAN.sub("", md)
    found = []
    for pattern in (
        r"\]\(\s*<?(?:[a-zA-Z][\w+.-]*:|//)",  # an inline link or image to any host (escaped: "]\\(")
        r"(?<!\\)<(?:img|a\s)",  # HTML, or an autolink <http://…> (escaped: "\<")
        r"(?<!\\)\$\$",  # display LaTeX
        r"(?<!\\)\$\\href",  # inline LaTeX with a link
        rf"https?://{re.escape(HOST)}",  # a bare address (remark-gfm links it; escaped: a word joiner after ":")
        rf"www\.{re.escape(HOST)}",
    ):
        found += re.findall(pattern, outside)
    return found


def hostile_elements(at) -> list[tuple[str, str]]:
    """(element type, what rendered) for every text element and chart of an AppTest run that renders markup."""
    bad = []
    for kind in TEXT_TYPES:
        for el in at.get(kind):
            body = getattr(el.proto, "body", None) or getattr(el, "value", "")
            for found in rendered_markup(str(body)):
                bad.append((kind, f"{found!r} in {str(body)[:160]!r}"))
    for el in at.get("plotly_chart"):
        spec = el.proto.spec
        if HOST in spec and re.search(r"<a\s|href", json.dumps(json.loads(spec)).replace('\\"', '"')):
            bad.append(("plotly_chart", "a link to the hostile host in a chart's text"))
    return bad


def test_the_checker_finds_markup_and_lets_escaped_text_pass():
    assert rendered_markup(HOSTILE)  # the raw value would render
    assert rendered_markup(f"see [x](http://{HOST}) now")
    assert rendered_markup(f"go to http://{HOST}/x")
    assert not rendered_markup(escape(HOSTILE, limit=10_000))  # what the app shows instead
    assert not rendered_markup(f"`{HOSTILE}`")  # inside a code span everything is text


@pytest.mark.parametrize("entry", [e for e in page_entries() if e.url_path not in SKIP], ids=lambda e: e.url_path)
def test_every_url_parameter_hostile_on_every_page(entry):
    at = app_test(entry.url_path, {k: HOSTILE for k in KEYS})
    no_exception(at)
    assert hostile_elements(at) == []


FREE_TEXT = [
    ("explorer", {"lengths": HOSTILE, "norm": "masked_batchnorm"}),
    ("fluctuation", {"fl_sizes": HOSTILE}),
    ("padding", {"pad_lengths": HOSTILE}),
    ("explorer", {"src": "real", "rl_text": HOSTILE}),
    ("export", {"src": "real", "rl_text": HOSTILE}),
    ("walkthrough", {"src": "real", "rl_text": HOSTILE}),
]


@pytest.mark.parametrize(("page", "query"), FREE_TEXT, ids=[f"{p}-{next(iter(q))}" for p, q in FREE_TEXT])
def test_hostile_free_text_where_free_text_is_accepted(page, query):
    at = app_test(page, query)
    no_exception(at)
    assert hostile_elements(at) == []


def _npy(descr: object) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": (2,)})
    return buf.getvalue() + b"\0" * 64


UPLOADS = {
    "a CSV cell": ("cells.csv", f"1,2\n3,[x](http://{HOST}/l)\n".encode()),
    "a file name": (f"{HOSTILE[:120]}.csv", b"1,2\n3,x\n"),
    "a .npy dtype field name": ("d.npy", _npy([(f"![i](http://{HOST}/i.png)", "<f8"), ("b", "<f8")])),
}


@pytest.mark.parametrize("what", list(UPLOADS))
def test_upload_errors_show_the_visitors_text_escaped(what, monkeypatch):
    """The upload's error message, as the sidebar shows it: the reason escaped (it may name a cell or a dtype's
    field names) and the quoted line as a code span (AppTest cannot upload: the page's own code is driven with the
    parsed error, through the same function the uploader's bytes go to)."""
    name, data = UPLOADS[what]
    with pytest.raises(UploadError):
        read_upload(name, data, max_bytes=2 * 2**20, max_shape=(16, 32, 64))
    from streamlit.delta_generator import DeltaGenerator

    class Up:  # what st.file_uploader returns: a name and the bytes
        def __init__(self) -> None:
            self.name = name

        def getvalue(self) -> bytes:
            return data

    monkeypatch.setattr(DeltaGenerator, "file_uploader", lambda self, *a, **k: Up())
    at = app_test("explorer", {"src": "upload"})
    no_exception(at)
    shown = " ".join(el.value for el in at.error)
    assert "Could not use" in shown, shown
    assert hostile_elements(at) == [], shown


@pytest.mark.browser
def test_a_refused_export_says_why_under_its_button(browser, live_app):
    """Issue 18 §5 as a visitor meets it: exports are limited per tab (6 a minute); the 7th click of a download button
    shows the app's own message under the button ("Not now: … try again in N s"), not Streamlit's generic "Failed to
    generate file", and downloads nothing. (The SVG: every download of the page goes through the same limit.)"""
    from pathlib import Path

    from conftest import wait_for_app

    from norm_viz.ui import admission
    from norm_viz.ui.process import GENERIC_DOWNLOAD_ERROR

    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = ctx.new_page()
    try:
        page.goto(f"{live_app}/export?src=preset&preset=d2l&norm=layernorm&ex_fig=cube")
        wait_for_app(page)
        button = page.get_by_role("button", name="This figure as SVG")
        for _ in range(admission.POOLS["export"].per_minute):
            with page.expect_download(timeout=120_000) as dl:
                button.click()
            assert Path(dl.value.path()).read_bytes().lstrip().startswith(b"<")  # an SVG, not a message
            wait_for_app(page)
        downloads: list[object] = []
        page.on("download", lambda d: downloads.append(d))
        button.click()
        error = page.locator('[data-testid="stDownloadButtonError"]')
        error.first.wait_for(timeout=60_000)
        text = error.first.inner_text()
        assert text.startswith("Not now: this tab started 6 exports in the last minute"), text
        assert re.search(r"try again in \d+ s\.$", text) and GENERIC_DOWNLOAD_ERROR not in text, text
        assert "\\" not in text  # plain text: no Markdown escapes showing
        assert downloads == []
    finally:
        ctx.close()
