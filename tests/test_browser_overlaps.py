"""No text of a chart runs into another (titles, legends, panel titles, axis titles, colour bars, the numbers printed
in cells), no title, heading, label or table column is cut, and no formula is wider than its column, measured in
Chromium on every page at a projector's 1280×720 and on a wide 1920×1080, and in presentation mode at 1920×1080.

The boxes come from the drawn SVG (plotly's own layout of the text), so a legend that wraps onto the title, a note
that grows the title onto the legend, or cell labels wider than their cells all fail here.
"""

from __future__ import annotations

import pytest
from conftest import page_entries, wait_for_app, wait_for_charts
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

# Every pair of text boxes that intersect, per chart (legend entries with each other excepted: plotly lays them out).
OVERLAPS = r"""() => {
  const out = [];
  const charts = [...document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')];
  charts.forEach((gd, ci) => {
    const key = (gd.closest('[class*="st-key-"]')?.className.match(/st-key-(\S+)/) || [])[1] || String(ci);
    const box = el => { const b = el.getBoundingClientRect(); return {x0: b.left + 1, y0: b.top + 1, x1: b.right - 1, y1: b.bottom - 1}; };
    const items = [];
    const t = gd.querySelector('.g-gtitle .gtitle'); if (t && t.textContent.trim()) items.push(['title', t.textContent.trim(), box(t)]);
    gd.querySelectorAll('.legend .traces').forEach(e => items.push(['legend', e.textContent.trim(), box(e)]));
    gd.querySelectorAll('.infolayer .annotation').forEach(e => { if (e.textContent.trim()) items.push(['annotation', e.textContent.trim(), box(e)]); });
    const texts = [...gd.querySelectorAll('.heatmaplayer text, .textpoint text')].filter(e => e.textContent.trim());
    texts.forEach(e => items.push(['celltext', e.textContent.trim(), box(e)]));
    // axis titles (x, y, x2, y2, …) and colour bars: a colour bar once covered the heatmap's axis title
    gd.querySelectorAll('.infolayer g[class^="g-x"][class$="title"] text, .infolayer g[class^="g-y"][class$="title"] text')
      .forEach(e => { if (e.textContent.trim()) items.push(['axistitle', e.textContent.trim(), box(e)]); });
    gd.querySelectorAll('.infolayer .colorbar').forEach(e => items.push(['colorbar', 'colour bar', box(e)]));
    const hit = (a, b) => a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
    for (let i = 0; i < items.length; i++) for (let j = i + 1; j < items.length; j++) {
      const [ka, ta, ba] = items[i], [kb, tb, bb] = items[j];
      if (ka === 'legend' && kb === 'legend') continue;
      if (ka === 'colorbar' && kb === 'colorbar') continue;  // side by side by design (their own ticks)
      if (ba.x1 <= ba.x0 || bb.x1 <= bb.x0) continue;
      if (hit(ba, bb)) out.push(`${key}: ${ka} "${ta.slice(0, 40)}" overlaps ${kb} "${tb.slice(0, 40)}"`);
    }
  });
  return out;
}"""

# Text cut off: a chart's title wider than its chart (or above it), a heading, label or paragraph cut by its box
# (overflow hidden, an ellipsis) or running past the window's right edge, a table whose columns are cut or scrolled.
CLIPPED = r"""() => {
  const out = [];
  const W = document.documentElement.clientWidth;
  document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot').forEach((gd, ci) => {
    const key = (gd.closest('[class*="st-key-"]')?.className.match(/st-key-(\S+)/) || [])[1] || String(ci);
    const g = gd.getBoundingClientRect();
    const t = gd.querySelector('.g-gtitle .gtitle');
    if (t && t.textContent.trim()) {
      const b = t.getBoundingClientRect();
      if (b.left < g.left - 1 || b.right > g.right + 1 || b.top < g.top - 1)
        out.push(`${key}: chart title "${t.textContent.trim().slice(0, 50)}" is cut (${Math.round(b.width)} px in ${Math.round(g.width)} px)`);
    }
  });
  const sel = '[data-testid="stMain"] h1, [data-testid="stMain"] h2, [data-testid="stMain"] h3, ' +
    '[data-testid="stMain"] [data-testid="stWidgetLabel"] p, [data-testid="stMain"] [data-testid="stMarkdownContainer"] p, ' +
    '[data-testid="stMain"] label p, [data-testid="stMain"] [data-testid="stCaptionContainer"]';
  document.querySelectorAll(sel).forEach(el => {
    if (!el.offsetParent || !el.textContent.trim() || el.closest('.katex-display, [data-testid="stExpander"]:not([open]) details > div')) return;
    const b = el.getBoundingClientRect();
    let cut = el.scrollWidth > el.clientWidth + 2 && getComputedStyle(el).overflowX !== 'visible';
    for (let p = el.parentElement; p && !cut && p !== document.body; p = p.parentElement) {
      const cs = getComputedStyle(p);
      if (cs.overflowX !== 'visible' && p.scrollWidth > p.clientWidth + 2 && b.right > p.getBoundingClientRect().right + 2) cut = true;
      if (p.matches('[data-testid="stMain"]')) break;
    }
    if (cut || b.right > W + 1) out.push(`text cut: "${el.textContent.trim().slice(0, 50)}"`);
  });
  document.querySelectorAll('[data-testid="stMain"] [data-testid="stTable"], [data-testid="stMain"] [data-testid="stTableStyledTable"]').forEach(t => {
    const box = t.closest('[data-testid="stElementContainer"]') || t.parentElement;
    const over = t.scrollWidth - t.clientWidth, past = t.getBoundingClientRect().right - box.getBoundingClientRect().right;
    if (over > 2 || past > 2) out.push(`table columns cut: ${(t.querySelector('th') || t).textContent.trim().slice(0, 40)} (${Math.max(over, past)} px)`);
  });
  document.querySelectorAll('[data-testid="stMain"] [data-testid="stDataFrame"]').forEach(t => {
    const s = t.querySelector('.dvn-scroller');
    if (s && s.scrollWidth > s.clientWidth + 2) out.push(`dataframe columns cut: ${s.scrollWidth - s.clientWidth} px scrolled out of sight`);
  });
  return out;
}"""

# Every formula (KaTeX) wider than the element that holds it: clipped, or scrolled sideways, on the page.
TOO_WIDE = r"""() => [...document.querySelectorAll('[data-testid="stMain"] .katex-display, [data-testid="stMain"] .katex')]
  .filter(el => el.closest('.katex-display') === el || !el.closest('.katex-display'))
  .map(el => {
     const box = el.closest('[data-testid="stMarkdownContainer"], [data-testid="stElementContainer"]') || el.parentElement;
     const inner = (el.querySelector('.katex-html') || el).getBoundingClientRect();
     const outer = box.getBoundingClientRect();
     return {text: el.textContent.slice(0, 60), over: Math.round(inner.right - outer.right), scroll: el.scrollWidth - el.clientWidth};
  })
  .filter(r => r.over > 4 || r.scroll > 4)
  .map(r => `${r.text} (${Math.max(r.over, r.scroll)} px too wide)`)"""

PAGES = [e.url_path for e in page_entries()]
# a tensor too large to draw every cell: the cube's title grows a second line (the note), which must clear the legend
LARGE = "B=16&S=32&F=64"


# every page at a projector's size; at 1920×1080 the pages whose charts once overlapped (legends and titles wrap
# differently there) and the large cube
CASES = [(p, (1280, 720)) for p in [*PAGES, f"walkthrough?{LARGE}", f"export?{LARGE}"]] + [
    (p, (1920, 1080))
    for p in [
        *["causal", "batch-dependence", "powernorm", "dyt", "custom-axes", f"walkthrough?{LARGE}"],
        # the pages issue 16 saw cut or overlapping at both sizes
        *["explorer", "padding", "train-lm", "real-model", "equivalences", "cheatsheet", "sources"],
    ]
]
# presentation mode (fonts × 1.35, at least 18 px, taller charts) on a projector's 1080p: every page with a chart
# (Real model's fluctuation chart once had a subplot title over an axis title there)
PRESENT_PAGES = [
    *["batch-dependence", "causal", "custom-axes", "dyt", "eps-dtype", "equivalences", "explorer", "export"],
    *["fluctuation", "geometry", "modern-llm", "multi-device", "padding", "placement", "powernorm", "real-model"],
    *["train-eval", "walkthrough", "train-lm", "train-cnn"],
]
CASES += [(f"{p}?present=1", (1920, 1080)) for p in PRESENT_PAGES]
# the walkthrough's number line (from step 3 on, beside the cube): its legend once covered its axis title there
CASES += [("walkthrough?wt_step=2&present=1", (1920, 1080)), ("walkthrough?wt_step=6&present=1", (1280, 720))]
CASES += [("walkthrough?wt_step=6", (1280, 720))]


@pytest.mark.parametrize(("path", "size"), CASES, ids=[f"{p}@{w}x{h}" for p, (w, h) in CASES])
def test_no_chart_text_overlaps(browser, live_app, path, size):
    ctx = browser.new_context(viewport={"width": size[0], "height": size[1]})
    try:
        page = ctx.new_page()
        page.goto(f"{live_app}/{path}", timeout=120_000)
        wait_for_app(page)
        wait_for_charts(page)
        expect(page.locator('[data-testid="stException"]')).to_have_count(0)
        assert page.evaluate(OVERLAPS) == []
        assert page.evaluate(CLIPPED) == []
        if not path.startswith("explorer"):  # the Explorer's own arithmetic is being reworked (issue 9 §1, helper h1)
            assert page.evaluate(TOO_WIDE) == []
    finally:
        ctx.close()


# The training lab's charts need a finished run, which a fresh install may not have cached: draw them here from a
# short real run, in Chromium at both sizes and in presentation mode's scaling (train-lm's legend once covered the
# x axis's title).
@pytest.fixture(scope="module")
def lm_history():
    from norm_viz.training.lm import train_lm

    return train_lm("batchnorm", "pre", steps=12, seed=0)


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)], ids=["1280x720", "1920x1080"])
@pytest.mark.parametrize("present", [False, True], ids=["plain", "present"])
def test_training_charts_text_does_not_overlap(browser, lm_history, size, present):
    from norm_viz.core.theme import scaled
    from norm_viz.training import figures as tf
    from norm_viz.ui.layout import PRESENT_FONT, PRESENT_MAX_HEIGHT, PRESENT_MIN_FONT

    h = lm_history
    figs = {
        "loss": tf.lm_loss_figure(h.steps, 12),
        "stats": tf.batch_stats_figure(h.steps, h.stat_layer_name),
        "grads": tf.grad_norms_figure(h.steps, h.groups),
    }
    ctx = browser.new_context(viewport={"width": size[0], "height": size[1]})
    try:
        page = ctx.new_page()
        for name, fig in figs.items():
            if present:
                fig = scaled(fig, PRESENT_FONT, min_size=PRESENT_MIN_FONT, max_height=PRESENT_MAX_HEIGHT)
            html = fig.to_html(include_plotlyjs=True, full_html=True, default_width="100%")
            # the page's chart as Streamlit wraps it (the overlap check looks for that element)
            page.set_content(html.replace("<body>", '<body><div data-testid="stPlotlyChart">', 1))
            page.wait_for_function("() => document.querySelector('.js-plotly-plot .main-svg')")
            assert page.evaluate(OVERLAPS) == [], name
            assert page.evaluate(CLIPPED) == [], name
    finally:
        ctx.close()
