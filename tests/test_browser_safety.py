"""Issue 12 §2 in Chromium: a link with hostile parameters renders no foreign link or image inside the app, and the
server refuses an upload larger than the app's limit before the app sees it."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlparse

import pytest
from conftest import wait_for_app

EVIL = "evil.example"
KEY = f"x`](http://{EVIL}/k)![i](http://{EVIL}/i.png)<img src=http://{EVIL}/h.png>"
VALUE = f"9`[a](http://{EVIL}/v)![j](http://{EVIL}/j.png)$\\href{{http://{EVIL}}}{{x}}$"


@pytest.mark.browser
def test_hostile_url_parameters_render_no_foreign_link_or_image(browser, live_app):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    asked: list[str] = []
    ctx.on("request", lambda r: asked.append(r.url))
    ctx.route(lambda url: urlparse(url).hostname == EVIL, lambda route: route.abort())
    page = ctx.new_page()
    try:
        page.goto(f"{live_app}/which-layernorm?{quote(KEY, safe='')}=1&F={quote(VALUE, safe='')}")
        wait_for_app(page)
        main = page.locator('[data-testid="stMain"]')
        alerts = main.locator('[data-testid="stAlertContainer"]')
        alerts.first.wait_for()
        text = " ".join(alerts.all_inner_texts())
        assert f"F={VALUE}"[:59] + "…" in text  # character for character (a URL notice keeps 59 and an ellipsis)
        assert KEY[:39] in text
        foreign = page.evaluate(
            """host => [...document.querySelectorAll('a[href], img[src], image, iframe[src]')]
                 .map(e => e.getAttribute('href') || e.getAttribute('src') || e.getAttribute('xlink:href') || '')
                 .filter(u => u.includes(host))""",
            EVIL,
        )
        assert foreign == []
        assert not [u for u in asked if urlparse(u).hostname == EVIL]  # nothing was even requested from it
    finally:
        ctx.close()


@pytest.mark.browser
def test_the_server_refuses_an_upload_over_the_limit(browser, live_app, tmp_path):
    """The uploader's own limit (2 MB): the browser refuses a 3 MB file, and a direct PUT of 3 MB gets HTTP 413."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    try:
        page.goto(f"{live_app}/which-layernorm?src=upload")
        wait_for_app(page)
        small = tmp_path / "small.csv"
        small.write_text("1,2,3\n4,5,6\n")
        with page.expect_request(lambda r: "upload_file" in r.url, timeout=60_000) as sent:
            page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(small))
        upload = sent.value
        url = upload.url.rsplit("/", 1)[0] + "/big-file-id"
        xsrf = next((c["value"] for c in ctx.cookies() if c["name"] == "_streamlit_xsrf"), "")
        big = b"1\n" * (3 * 2**20 // 2)
        resp = ctx.request.fetch(
            url,
            method=upload.method,
            multipart={"file": {"name": "big.csv", "mimeType": "text/csv", "buffer": big}},
            headers={"X-Xsrftoken": xsrf},
        )
        assert resp.status == 413
        big_file = tmp_path / "big.csv"
        big_file.write_bytes(big)
        sent_big: list[str] = []
        page.on("request", lambda r: sent_big.append(r.url) if "upload_file" in r.url else None)
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(big_file))
        page.wait_for_function("() => /exceeds|too large|limit/i.test(document.body.innerText)")
        assert not sent_big  # the browser did not even send it
    finally:
        ctx.close()


@pytest.mark.browser
def test_png_export_is_drawn_by_the_shared_renderer(browser, live_app):
    """Clicking the PNG button twice downloads two PNGs of the chosen size (the server draws them in one Chromium)."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = ctx.new_page()
    try:
        page.goto(f"{live_app}/export?src=preset&preset=d2l&norm=layernorm&ex_fig=stats")
        wait_for_app(page)
        button = page.get_by_role("button", name="This figure as PNG")
        for _ in range(2):
            with page.expect_download(timeout=120_000) as dl:
                button.click()
            data = Path(dl.value.path()).read_bytes()
            assert data[:8] == b"\x89PNG\r\n\x1a\n"
            assert int.from_bytes(data[16:20], "big") == 1600  # the IHDR width
            assert dl.value.suggested_filename.endswith("_stats.png")
    finally:
        ctx.close()


FOREIGN = """host => [...document.querySelectorAll('a[href], img[src], image, iframe[src], link[href], script[src]')]
    .map(e => e.getAttribute('href') || e.getAttribute('src') || e.getAttribute('xlink:href') || '')
    .filter(u => u.includes(host))"""
"""The links, images, frames and scripts of the page that point at `host`."""

HOSTILE = (
    f"![i](http://{EVIL}/i.png)[log in again](http://{EVIL}/l)<img src=http://{EVIL}/h.png>"
    f"$$\\href{{http://{EVIL}}}{{x}}$$ www.{EVIL}/w"
)


def _hostile_context(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    asked: list[str] = []
    ctx.on("request", lambda r: asked.append(r.url))
    ctx.route(
        lambda url: urlparse(url).hostname == EVIL or (urlparse(url).hostname or "").endswith(EVIL), lambda r: r.abort()
    )
    return ctx, asked


@pytest.mark.browser
@pytest.mark.parametrize(
    ("path", "key"),
    [("explorer", "lengths"), ("fluctuation", "fl_sizes"), ("padding", "pad_lengths"), ("explorer", "rl_text")],
)
def test_hostile_free_text_in_the_url_renders_no_foreign_element(browser, live_app, path, key):
    """Issue 18 §6: hostile text where a page accepts free text (number lists, sentences): nothing on the page links
    to or loads from the hostile host, and nothing was requested from it."""
    ctx, asked = _hostile_context(browser)
    page = ctx.new_page()
    extra = "&src=real" if key == "rl_text" else "&norm=masked_batchnorm" if key == "lengths" else ""
    try:
        page.goto(f"{live_app}/{path}?{key}={quote(HOSTILE, safe='')}{extra}")
        wait_for_app(page)
        assert page.evaluate(FOREIGN, EVIL) == []
        assert not [u for u in asked if EVIL in (urlparse(u).hostname or "")]
        assert page.locator('[data-testid="stException"]').count() == 0
    finally:
        ctx.close()


@pytest.mark.browser
@pytest.mark.parametrize("what", ["cell", "dtype", "name"])
def test_a_hostile_upload_renders_no_foreign_element(browser, live_app, tmp_path, what):
    """A CSV cell, a .npy dtype field name and a file name with a Markdown image and link, uploaded through the
    sidebar's uploader: the error names them as text (escaped, or as code), and nothing links to the hostile host."""
    import io

    import numpy as np

    if what == "cell":
        f = tmp_path / "cells.csv"
        f.write_text(f"1,2\n3,[x](http://{EVIL}/l)\n")
    elif what == "dtype":
        f = tmp_path / "d.npy"
        np.save(f, np.zeros(2, dtype=[(f"![i](http://{EVIL}/i.png)", "<f8"), ("b", "<f8")]))
    else:
        f = tmp_path / "x.csv"
        f.write_text("1,2\n3,x\n")
    ctx, asked = _hostile_context(browser)
    page = ctx.new_page()
    try:
        page.goto(f"{live_app}/explorer?src=upload")
        wait_for_app(page)
        files = (
            {"name": f"![i](http://{EVIL}/i.png).csv", "mimeType": "text/csv", "buffer": f.read_bytes()}
            if what == "name"
            else str(f)
        )
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(files)
        page.get_by_text("Could not use").wait_for(timeout=120_000)
        wait_for_app(page)
        text = page.locator('[data-testid="stSidebar"]').inner_text()
        assert EVIL in text  # the visitor's text is shown, as text
        assert page.evaluate(FOREIGN, EVIL) == []
        assert not [u for u in asked if EVIL in (urlparse(u).hostname or "")]
        del io
    finally:
        ctx.close()
