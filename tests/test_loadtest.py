"""The load test: its protocol encoding (unit), and a short run of real sessions against a live server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import socket
import urllib.parse

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Element_pb2 import Element
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

from norm_viz.tools import loadtest as L


def element(kind: str, **fields) -> Element:
    el = Element()
    proto = getattr(el, kind)
    for k, v in fields.items():
        if isinstance(v, list):
            getattr(proto, k).extend(v)
        else:
            setattr(proto, k, v)
    return el


def test_widget_key_is_the_user_key_at_the_end_of_the_id():
    assert L.widget_key("$$ID-2b6c4a23c5d8553f139550148f5c4244-kind") == "kind"
    assert L.widget_key("$$ID-2b6c4a23c5d8553f139550148f5c4244-fl-sizes") == "fl-sizes"  # keys may hold dashes
    assert L.widget_key("$$ID-2b6c4a23c5d8553f139550148f5c4244-None") == "None"
    assert L.widget_key("plain") == ""


def test_the_replica_is_the_last_upstream_nginx_tried():
    assert L.last_upstream("127.0.0.1:8501") == "127.0.0.1:8501"
    assert L.last_upstream("127.0.0.1:8501, 127.0.0.1:8502") == "127.0.0.1:8502"  # the first one refused
    assert L.last_upstream("10.0.0.1:80 : 10.0.0.2:80") == "10.0.0.2:80"  # after an internal redirect


def test_selectbox_sends_the_label_it_shows():
    el = element("selectbox", id="$$ID-ab-norm", options=["BatchNorm", "LayerNorm", "RMSNorm"], default=1)
    w = L.widget_from_element(el)
    assert w is not None and w.key == "norm" and w.kind == "selectbox"
    assert w.state.WhichOneof("value") == "string_value" and w.value() == "LayerNorm"  # the default's label
    el.selectbox.raw_value = "RMSNorm"  # a value the script set through session state
    assert L.widget_from_element(el).value() == "RMSNorm"
    assert L.with_value(w, "BatchNorm").value() == "BatchNorm"
    assert L.with_value(w, 2).value() == "RMSNorm"  # an index picks the label
    with pytest.raises(ValueError, match="not an option"):
        L.with_value(w, "SomethingNorm")


def test_number_inputs_send_ints_or_doubles_as_the_browser_does():
    from streamlit.proto.NumberInput_pb2 import NumberInput

    i = L.widget_from_element(
        element("number_input", id="$$ID-1-cb", data_type=NumberInput.INT, default=0, value=2, has_max=True, max=3)
    )
    assert i.state.WhichOneof("value") == "int_value" and i.value() == 2 and i.hi == 3
    assert L.with_value(i, 3.0).state.int_value == 3
    f = L.widget_from_element(element("number_input", id="$$ID-1-eps", data_type=NumberInput.FLOAT, default=1e-5))
    assert f.state.WhichOneof("value") == "double_value" and f.value() == pytest.approx(1e-5)
    assert L.with_value(f, 0.5).state.double_value == 0.5
    empty = L.widget_from_element(element("number_input", id="$$ID-1-x", data_type=NumberInput.FLOAT))
    assert empty.state.WhichOneof("value") is None  # value=None: the browser sends no value


def test_sliders_checkboxes_and_other_elements():
    s = L.widget_from_element(element("slider", id="$$ID-1-B", default=[1.0], value=[4.0], set_value=True))
    assert s.state.WhichOneof("value") == "double_array_value" and s.value() == [4.0]
    assert L.with_value(s, 8).value() == [8.0]
    c = L.widget_from_element(element("checkbox", id="$$ID-1-present", default=False))
    assert c.value() is False and L.with_value(c, True).state.bool_value is True
    assert L.widget_from_element(element("markdown", body="hello")) is None


def test_rerun_message_is_a_backmsg_the_server_can_read():
    w1 = L.widget_from_element(element("selectbox", id="$$ID-1-norm", options=["A", "B"], default=0))
    w2 = L.with_value(L.widget_from_element(element("checkbox", id="$$ID-2-present")), True)
    data = L.rerun_message("explorer", "B=4&norm=a", [w1, w2], "hash1", "frag", ["h1", "h2"])
    msg = BackMsg()
    msg.ParseFromString(data)
    assert msg.WhichOneof("type") == "rerun_script"
    cs = msg.rerun_script
    assert (cs.page_name, cs.query_string, cs.page_script_hash, cs.fragment_id) == (
        "explorer",
        "B=4&norm=a",
        "hash1",
        "frag",
    )
    assert [(w.id, w.WhichOneof("value")) for w in cs.widget_states.widgets] == [
        ("$$ID-1-norm", "string_value"),
        ("$$ID-2-present", "bool_value"),
    ]
    assert list(cs.cached_message_hashes) == ["h1", "h2"]
    up = BackMsg()
    up.ParseFromString(L.file_urls_message("r1", "s1", ["x.csv"]))
    assert (up.file_urls_request.request_id, up.file_urls_request.session_id) == ("r1", "s1")
    assert list(up.file_urls_request.file_names) == ["x.csv"]


def test_read_forward_msg_follows_a_run():
    run = L.RunView()
    for make in (
        lambda m: setattr(m.new_session, "page_script_hash", "p1"),
        lambda m: m.delta.new_element.selectbox.CopyFrom(
            element("selectbox", id="$$ID-1-norm", options=["A"]).selectbox
        ),
        lambda m: setattr(m.delta.new_element.exception, "message", "boom"),
        lambda m: setattr(m.page_info_changed, "query_string", "norm=a"),
        lambda m: setattr(m, "script_finished", ForwardMsg.FINISHED_SUCCESSFULLY),
    ):
        m = ForwardMsg()
        make(m)
        L.read_forward_msg(m, m.SerializeToString(), run)
    assert run.page_script_hash == "p1" and run.query_string == "norm=a"
    assert [w.key for w in run.widgets.values()] == ["norm"]
    assert run.exceptions == [": boom"] and run.status == ForwardMsg.FINISHED_SUCCESSFULLY and len(run.raw) == 5


def test_a_run_that_shows_an_exception_is_an_error_and_a_foreign_marker_is_a_leak():
    s = L.Session("http://127.0.0.1:1", "explorer", seed=1_000_000_001)
    s.others = (b"seed=1000000002",)
    w = L.widget_from_element(element("number_input", id="$$ID-1-seed", value=1_000_000_001, set_value=True))
    s.chosen["seed"] = 1_000_000_001
    ok = L.RunView(widgets={w.id: w}, raw=[b"...seed=1000000001..."])
    s._absorb(ok, full=True)
    assert s.stats.leaks == [] and s.by_key("seed").value() == 1_000_000_001
    other = L.with_value(w, 1_000_000_002)
    s._absorb(L.RunView(widgets={w.id: other}, raw=[b"&seed=1000000002&"]), full=True)
    assert len(s.stats.leaks) == 2  # its seed widget shows another value, and another session's marker arrived
    # an element the server did not set carries its default, and the browser keeps its own value: no leak
    default = L.widget_from_element(element("number_input", id="$$ID-1-seed", default=0))
    s._absorb(L.RunView(widgets={w.id: default}), full=False)
    assert len(s.stats.leaks) == 2 and s.by_key("seed").value() == 1_000_000_002
    with pytest.raises(L.SessionError, match="exception shown"):
        s._absorb(L.RunView(exceptions=["ValueError: boom"]), full=True)


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=50), st.floats(0, 100))
def test_percentile_matches_numpy(values, q):
    assert L.percentile(values, q) == pytest.approx(float(np.percentile(values, q)), rel=1e-9, abs=1e-6)


def test_server_process_is_found_from_its_port_and_measured():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert os.getpid() in L.pids_on_port(port)
    cpu1, rss = L.proc_sample([os.getpid()])
    sum(i * i for i in range(300_000))  # some CPU time for this process
    cpu2, _ = L.proc_sample([os.getpid()])
    assert rss > 10 and cpu2 > cpu1


# ---------------------------------------------------------------- against a real server


def _keys(s: L.Session) -> set[str]:
    return {w.key for w in s.widgets.values()}


def test_a_change_reaches_the_server_and_comes_back(live_app):
    """A widget change is a rerun whose values come back, in the widgets and the URL: ε and the seed (on every
    Explorer), and the norm and a cell where the page has them as widgets (an Explorer that switches them in the
    browser has not: then they are not the server's to answer)."""

    async def go():
        s = L.Session(live_app, "explorer", seed=1_234_567_891)
        await s.load()
        await s.change("eps", 1e-3)
        if {"norm", "cf"} <= _keys(s):
            await s.change("norm", "RMSNorm")
            await s.change("cf", 3)
        await s.change("seed", s.seed)
        await s.close()
        return s

    s = L.run_sync(go())
    q = urllib.parse.parse_qs(s.query_string)
    assert s.by_key("eps").value() == pytest.approx(1e-3) and float(q["eps"][0]) == pytest.approx(1e-3)
    assert q["seed"] == [str(s.seed)]
    if {"norm", "cf"} <= _keys(s):
        assert s.by_key("norm").value() == "RMSNorm" and s.by_key("cf").value() == 3
        assert q["norm"] == ["rmsnorm"] and q["cf"] == ["3"]
    assert s.stats.leaks == [] and s.stats.errors == []


def test_clicks_in_the_cube_move_the_cell_and_switch_the_norm_as_the_browser_does(live_app):
    """The driver's cube clicks are the browser's (the component's pick event): a face click reruns the cell's
    fragment and moves the cell; a small cube's click reruns the whole page for the new norm."""

    async def go():
        s = L.Session(live_app, "explorer", seed=1_234_567_893)
        await s.load()
        if not any(c.key == "explorer_cube" for c in s.components.values()):
            await s.close()
            return None
        await s.change("seed", s.seed)
        await s.fire("explorer_cube", "pick", {"cell": [2, 4, 5], "norm": "layernorm"}, {"cb": 2, "cs": 4, "cf": 5})
        cell_run = s.last_run
        await s.fire("explorer_cube", "pick", {"cell": [2, 4, 5], "norm": "batchnorm"}, {"norm": "BatchNorm"})
        await s.close()
        return s, cell_run

    got = L.run_sync(go())
    if got is None:
        pytest.skip("this Explorer answers cube clicks in the browser: they send nothing (test_browser_explorer.py)")
    s, cell_run = got
    assert not cell_run.full and {w.key for w in cell_run.widgets.values()} == {"cb", "cs", "cf"}
    assert s.last_run.full and s.by_key("norm").value() == "BatchNorm"
    assert [s.by_key(k).value() for k in ("cb", "cs", "cf")] == [2, 4, 5]
    q = urllib.parse.parse_qs(s.query_string)
    assert q["norm"] == ["batchnorm"] and (q["cb"], q["cs"], q["cf"]) == (["2"], ["4"], ["5"])
    assert s.stats.leaks == [] and s.stats.errors == []


@pytest.mark.parametrize("action", [*L.EXPLORER_KINDS, "mixed", "param"])
def test_every_explorer_action_changes_what_it_says(live_app, action):
    import random

    async def go():
        s = L.Session(live_app, "explorer", seed=1_234_567_894)
        await s.load()
        nxt = L.explorer_actions(random.Random(3), action)
        seen = []
        for _ in range(4):
            keys = [k for k in ("norm", "cb", "cs", "cf", "eps") if k in _keys(s)]
            before = {k: s.by_key(k).value() for k in keys}
            change = nxt(s)
            await change.apply(s)
            after = {k: s.by_key(k).value() for k in keys}
            seen.append((change, before, after))
        await s.close()
        return s, seen

    s, seen = L.run_sync(go())
    assert s.stats.errors == [] and s.stats.leaks == []
    if "norm" not in _keys(s):  # an Explorer that switches norms and cells in the browser: ε stands in for them
        assert {c.key for c, _, _ in seen} == {"eps"}
        assert all(after["eps"] == c.value != before["eps"] for c, before, after in seen)
        return
    for change, before, after in seen:
        if change.event:  # a click: the page shows what the click chose
            assert all(after[k] == v for k, v in change.expect.items()), (change, after)
        else:
            assert after[change.key] == change.value and after[change.key] != before[change.key], (change, after)
    kinds = {("cube-norm" if "norm" in c.expect else "cube-cell") if c.event else c.key for c, _, _ in seen}
    allowed = {
        "cube-cell": {"cube-cell"},
        "cube-norm": {"cube-norm"},
        "cell": {"cb", "cs", "cf"},
        "norm-switch": {"norm"},
        "param": {"eps"},
    }
    assert kinds <= allowed.get(action, {"cube-cell", "cube-norm", "cb", "cs", "cf", "norm"}), kinds


def test_the_leak_check_fires_when_another_sessions_marker_arrives(live_app):
    async def go():
        s = L.Session(live_app, "explorer", seed=1_234_567_892)
        s.others = (s.marker,)  # pretend this session's own marker belonged to another one
        await s.load()
        await s.change("seed", s.seed)
        await s.close()
        return s

    assert any("another session" in leak for leak in L.run_sync(go()).stats.leaks)


def test_a_short_load_has_no_errors_and_no_leaks(live_app):
    port = urllib.parse.urlparse(live_app).port
    pids = L.pids_on_port(port)
    rep = L.run_sync(L.run_load(live_app, sessions=3, think=(0.2, 0.6), duration=4, pids=pids, ramp=1))
    assert rep.errors == [] and rep.leaks == []
    assert len(rep.latencies) >= 3 and all(v > 0 for v in rep.latencies)
    assert len(rep.load_latencies) == 3
    assert pids and rep.cpu_percent is not None and rep.rss_end_mb and rep.rss_end_mb > 50
    s = rep.summary()
    assert s["p95_ms"] >= s["median_ms"] > 0 and s["reruns"] == len(rep.latencies)


def test_the_command_line_prints_the_figures(live_app, capsys):
    code = L.main(
        [
            "--url",
            live_app,
            "--sessions",
            "2",
            "--think",
            "0.1,0.3",
            "--duration",
            "2",
            "--ramp",
            "0.5",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "latency ms: median" in out and "errors 0  cross-session leaks 0" in out and "RSS" in out


def test_a_closed_tab_stops_its_work(live_app):
    """The fluctuation page's heaviest run within the budget, to its end and with its tab closed halfway (when its
    spinner appears): the closed one stops at the measurement's next checkpoint. In server CPU seconds, not wall time
    (the machine may be busy): without the checkpoints all the work left at the close is done (0.46-0.48 of 1 s)."""
    pids = L.pids_on_port(urllib.parse.urlparse(live_app).port)
    c = L.run_sync(L.stop_check(live_app, pids, seed=5))
    assert c.left_at_close_cpu_s > 0.2, c  # enough work was left to tell stopping from finishing
    assert c.after_close_cpu_s < 0.5 * c.left_at_close_cpu_s, c


# ---------------------------------------------------------------- issue 18: what one browser must not do to the others


def test_a_browsers_clear_cache_leaves_the_shared_caches(live_app):
    """Streamlit's `clear_cache` message (its menu's "Clear cache", or any websocket) would empty every cache of the
    process for every user; the app refuses it (norm_viz/ui/process.py). Seen through /_stcore/metrics: after the
    message, the same page's rerun finds its tensor in the cache (a hit, not a miss)."""

    def lookups(result):
        return L.metrics(live_app, "cache_lookups_total").get(
            ("norm_viz.ui.tensor.generated_tensor", "st_cache_data", result), 0
        )

    async def go():
        s = L.Session(live_app, "explorer", seed=1_234_567_895)
        s.query_string = "seed=1234567895&B=3&S=5&F=7"  # a tensor no other test asks for
        await s.load()
        hits, misses = lookups("hit"), lookups("miss")
        await s.ws.send(L.clear_cache_message())
        await s.run()  # handled after the message (a session's messages are handled in order)
        await s.close()
        return lookups("hit") - hits, lookups("miss") - misses

    new_hits, new_misses = L.run_sync(go())
    assert new_hits >= 1 and new_misses == 0, (new_hits, new_misses)


def test_a_message_over_the_size_limit_closes_its_connection(live_app):
    """server.maxMessageSize (4 MB): a 5 MB message from a browser is refused (websocket close 1009, message too
    big) instead of being held; a 1 MB one, larger than any the app's pages send, is still read."""
    import websockets

    async def go():
        s = L.Session(live_app, "explorer", seed=1_234_567_896)
        await s.load()
        big = WidgetState(id="$$ID-0-big")
        big.string_value = "x" * 1_000_000
        await s.run(triggers=[big])  # within the limit: a rerun as usual
        big.string_value = "x" * 5_000_000
        try:
            await s.ws.send(L.rerun_message(s.page, s.query_string, [big], s.page_script_hash))
            while True:
                await asyncio.wait_for(s.ws.recv(), 60)
        except websockets.ConnectionClosed as e:
            return e.rcvd.code if e.rcvd else None
        finally:
            with contextlib.suppress(websockets.ConnectionClosed):
                await s.close()

    assert L.run_sync(go()) == 1009


def test_an_upload_flood_keeps_one_file_per_tab_and_none_after_it_closes(live_app):
    """One tab sends a file to each of 30 upload URLs: the server keeps only the newest (a new upload replaces the
    old), and none once the tab has closed (not 120 s later). Streamlit alone kept all 30."""
    pids = L.pids_on_port(urllib.parse.urlparse(live_app).port)
    out = L.run_sync(L.upload_flood(live_app, pids, files=30, size=200_000))
    assert out["statuses"] == {204: 30}, out  # every upload was accepted: the limit is on what is kept
    assert out["uploaded_bytes_held_after_flood"] == 200_000, out  # the newest file only
    assert out["uploaded_bytes_held_after_close"] == 0, out


def test_the_png_download_resent_without_a_rerun_is_rate_limited(live_app):
    """The export page's PNG button, its download request resent 8 times over the websocket without a rerun: the
    tab's exports per minute (admission.POOLS["export"].per_minute) are drawn, the rest refused at once."""
    pytest.importorskip("kaleido")
    from norm_viz.ui.admission import POOLS

    pids = L.pids_on_port(urllib.parse.urlparse(live_app).port)
    out = L.run_sync(L.export_resend(live_app, pids, n=8))
    assert out.get("drawn", 0) == POOLS["export"].per_minute, out
    assert out.get("refused", 0) == 8 - POOLS["export"].per_minute, out
    assert out["other_visitor"] == "ok", out  # another tab still gets its export


def test_two_heavy_links_at_once_run_one_after_the_other_with_a_message(live_app):
    """Issue 18 §3: two tabs open the heaviest allowed placement link (distinct seeds) at the same moment: both get
    their page, one of them after waiting in line with the "busy, your turn in ~N s" notice."""
    page, query = L.heavy_links(1)[0]

    async def one(seed: int):
        s = L.Session(live_app, page, seed)
        s.query_string = query.replace("pl_seed=", f"pl_seed={seed}")
        await s.connect()
        return s

    async def go():
        a, b = await asyncio.gather(one(11), one(12))
        await asyncio.gather(a.run(), b.run())
        seen = [b"your turn in ~" in b"".join(s.last_run.raw) for s in (a, b)]
        for s in (a, b):
            await s.close()
        return seen, [s.stats.errors for s in (a, b)]

    seen, errors = L.run_sync(go())
    assert errors == [[], []]
    assert sorted(seen) == [False, True], seen


# ---------------------------------------------------------------- issue 20: bursts (every session acts at once)


def _session_with(*elements: Element) -> L.Session:
    s = L.Session("http://127.0.0.1:1", "explorer", seed=1)
    for el in elements:
        w = L.widget_from_element(el)
        s.widgets[w.id] = w
    return s


def test_a_burst_changes_the_same_widget_for_every_session_and_names_a_missing_one():
    from streamlit.proto.NumberInput_pb2 import NumberInput

    norm = element("selectbox", id="$$ID-1-norm", options=["LayerNorm", "Masked LayerNorm", "BatchNorm"], default=0)
    eps = element("number_input", id="$$ID-2-eps", data_type=NumberInput.FLOAT, default=1e-5)
    cf = element("number_input", id="$$ID-3-cf", data_type=NumberInput.INT, default=0, value=7, has_max=True, max=7)
    s = _session_with(norm, eps, cf)
    assert L.burst_change(s, "norm") == L.Change("norm", "BatchNorm")  # another norm, not a masked one
    assert L.burst_change(s, "param") == L.Change("eps", 1e-3)
    assert L.burst_change(s, "cell") == L.Change("cf", 0)  # past the last index: back to the first
    s.widgets["$$ID-2-eps"] = L.with_value(s.widgets["$$ID-2-eps"], 1e-3)
    assert L.burst_change(s, "param") == L.Change("eps", 1e-5)  # already at the first value: the other one
    bare = _session_with(eps)  # an Explorer that switches norms in the browser: no norm select box to send
    assert L.burst_change(bare, "norm") is None and L.burst_change(bare, "cell") is None
    with pytest.raises(ValueError, match="unknown burst"):
        L.burst_change(s, "dance")


def test_burst_offsets_spread_evenly_or_all_at_once():
    assert L.offsets(4, 0.0) == [0.0, 0.0, 0.0, 0.0]
    assert L.offsets(4, 1.0) == [0.0, 0.25, 0.5, 0.75]  # within one second, the last one before its end
    assert L.offsets(0, 1.0) == []


def test_index_assets_are_the_static_files_index_html_names():
    html = (
        '<link rel="shortcut icon" href="./favicon.png" />'
        '<link rel="preload" href="./static/media/Font.woff2" as="font">'
        '<script type="module" crossorigin src="./static/js/index.abc.js"></script>'
        '<link rel="modulepreload" crossorigin href="./static/js/react.def.js">'
        '<link rel="modulepreload" crossorigin href="./static/js/react.def.js">'
        '<link rel="service-desc" href="./_stcore/agent/openapi.json" />'
    )
    assert L.index_assets(html) == ["/static/media/Font.woff2", "/static/js/index.abc.js", "/static/js/react.def.js"]


def test_a_bursts_summary_counts_memory_per_added_session_and_keeps_session_state_out_of_the_caches():
    b = L.Burst(
        "norm",
        sessions=11,
        spread=0.0,
        latencies=[0.1, 0.2, 0.3],
        finished_at=[0.15, 0.25, 0.4],
        errors=["x"],
        rss_one_mb=300.0,
        rss_all_mb=320.0,
        rss_end_mb=321.0,
        server_cpu_s=0.6,
        cache_bytes_after={"f": 2_000_000.0, L.SESSION_STATE: 5_000_000.0},
        lookups={"hit": 9, "miss": 1},
    )
    s = b.summary()
    assert s["rss_per_session_mb"] == 2.0  # 20 MB more for 10 more sessions
    assert s["server_cpu_ms_per_action"] == 200.0  # 0.6 CPU-s for 3 actions
    assert s["median_ms"] == 200.0 and s["max_ms"] == 300.0 and s["last_done_s"] == 0.4 and s["acted"] == 3
    assert s["cache_mb_after"] == 2.0 and s["caches_mb"][L.SESSION_STATE] == 5.0
    assert (s["cache_hits"], s["cache_misses"], s["errors"]) == (9, 1, 1)
    assert "nothing measured" in L.print_burst({**s, "skipped": "no norm"}, "http://x", "explorer")


def test_a_burst_changes_every_session_at_once(live_app):
    """A parameter burst (ε: a rerun on any Explorer) and a norm burst: every session acts, or, on an Explorer
    that switches norms in the browser, the norm burst measures nothing and says why."""
    pids = L.pids_on_port(urllib.parse.urlparse(live_app).port)
    query = "seed=1234567897&B=3&S=4&F=5"  # a tensor no other test asks for: the first session computes, then hits

    b = L.run_sync(L.run_burst(live_app, 4, "param", pids, query=query, cache_wait=0))
    norm = L.run_sync(L.run_burst(live_app, 3, "norm", pids, query=query, cache_wait=0))
    assert norm.errors == []
    assert len(norm.latencies) == 3 or (norm.latencies == [] and "does not reach the server" in norm.skipped)
    assert b.errors == [] and b.skipped == "" and len(b.latencies) == 4 and all(v > 0 for v in b.latencies)
    assert len(b.received) == 4 and min(b.received) > 1000  # the rerun resends the page's figures
    assert max(b.finished_at) >= max(b.latencies)  # each from the one moment the burst began
    assert b.rss_one_mb and b.rss_all_mb and b.rss_end_mb and b.server_cpu_s is not None
    assert b.cache_bytes_after.get("norm_viz.ui.tensor.generated_tensor", 0) > 0  # the link's tensor is cached
    # the tensor was made once (at the first page load), not per session; ε reruns the Explorer's fragment alone, which
    # does not even look the tensor up (a whole-page rerun found it in the cache: one hit per session)
    assert b.lookups.get("miss", 0) == 0 and b.lookups.get("hit", 0) == 0


def test_a_norm_burst_on_a_page_without_a_norm_select_box_measures_nothing_and_says_why(live_app):
    b = L.run_sync(L.run_burst(live_app, 2, "norm", page="start", cache_wait=0))
    assert b.errors == [] and b.latencies == [] and "does not reach the server" in b.skipped


def test_an_open_burst_loads_every_page_with_its_static_files(live_app, capsys):
    code = L.main(["--url", live_app, "--sessions", "3", "--burst", "open", "--spread", "0.3", "--assets", "--json"])
    s = json.loads(capsys.readouterr().out)
    assert code == 0 and s["errors"] == 0 and s["acted"] == 3, s
    assert s["assets_per_open"] > 5  # index.html names Streamlit's script and its module preloads
    assert s["last_done_s"] >= 0.2  # the last one opened 0.2 s after the first (spread over 0.3 s)
    assert s["p95_ms"] >= s["median_ms"] > 0


def test_cache_bounds_reads_every_decorator_with_its_max_entries(tmp_path):
    (tmp_path / "norm_viz" / "ui").mkdir(parents=True)
    (tmp_path / "norm_viz" / "tools").mkdir()
    (tmp_path / "pages").mkdir()
    (tmp_path / "norm_viz" / "ui" / "a.py").write_text(
        "@st.cache_data(max_entries=64, show_spinner=False)\ndef small(x): ...\n\n"
        '@st.cache_resource(\n    max_entries=1, show_spinner="Loading (90 MB) …"\n)\ndef model(): ...\n\n'
        "@st.cache_data\ndef unbounded(x): ...\n"
    )
    (tmp_path / "norm_viz" / "tools" / "t.py").write_text("@st.cache_data\ndef tool(x): ...\n")  # not the app's
    (tmp_path / "pages" / "multi-device.py").write_text(
        "@st.cache_data(max_entries=32, hash_funcs=ui.HASH_FUNCS)\ndef view_of(x): ...\n"
    )
    b = L.cache_bounds(tmp_path)
    assert b == {
        "norm_viz.ui.a.small": ("cache_data", 64),
        "norm_viz.ui.a.model": ("cache_resource", 1),
        "norm_viz.ui.a.unbounded": ("cache_data", None),
        "multi-device.view_of": ("cache_data", 32),
    }
    assert L.cache_match("norm_viz.ui.a.small", b) == "norm_viz.ui.a.small"
    assert L.cache_match("/srv/app/pages/multi-device.view_of", b) == "multi-device.view_of"
    assert L.cache_match("somewhere.else", b) is None


def test_every_cache_of_the_app_has_max_entries():
    """Issue 20 §2: a class of different tensors cannot grow a cache without limit. Every st.cache_data and
    st.cache_resource of norm_viz/ and pages/ is a decorator (so that cache_bounds sees it) with max_entries."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    undecorated = [
        f"{f.relative_to(root)}: {line.strip()}"
        for f in [*root.glob("norm_viz/**/*.py"), *root.glob("pages/*.py")]
        if "tools" not in f.parts
        for line in f.read_text().splitlines()
        if ("cache_data(" in line or "cache_resource(" in line) and not line.strip().startswith("@st.")
    ]
    assert undecorated == []
    bounds = L.cache_bounds()
    assert "norm_viz.ui.tensor.generated_tensor" in bounds and len(bounds) >= 20
    assert [k for k, (_, cap) in bounds.items() if cap is None] == []


# ---------------------------------------------------------------- issue 20: the browser bench's conditions and goals


def test_the_browser_bench_waits_for_the_explorers_data_drawn_mark_inside_a_shadow_root(browser):
    """bench_browser's "redrawn" condition in Chromium: on an Explorer whose root (.nv-explorer, here in a
    component's shadow root) says what it drew, only the asked view counts; without such a root, the cell's
    arithmetic does; the in-page timer runs from the last pointerdown to the frame that shows the view."""
    from norm_viz.tools import bench_browser as B

    ctx = browser.new_context()
    page = ctx.new_page()
    page.set_content(
        '<div id="host"></div><button id="b">b</button><script>'
        "const r = document.getElementById('host').attachShadow({mode: 'open'});"
        'r.innerHTML = \'<div class="nv-explorer" data-drawn="layernorm|0,1,2"></div>\';'
        "document.getElementById('b').addEventListener('click', () => setTimeout(() =>"
        " r.querySelector('.nv-explorer').dataset.drawn = 'batchnorm|0,1,2', 50));</script>"
    )
    shows = f"a => ({B.APP_SHOWS})(a)"
    assert page.evaluate(shows, {"drawn": "layernorm|0,1,2", "x": "x = 1"}) is True
    assert page.evaluate(shows, {"drawn": "batchnorm|0,1,2", "x": "x = 1"}) is False
    page.evaluate(B.ARM)
    page.click("#b")
    page.wait_for_function(f"a => ({B.STAMP})(({B.APP_SHOWS})(a))", arg={"drawn": "batchnorm|0,1,2"}, polling="raf")
    in_page = page.evaluate("() => window.__nvDone - window.__nvT0")
    assert in_page >= 50  # the redraw came 50 ms after the click, and the timer saw it
    # end to end in the page: the first frame in which the view shows AND the app is idle, timed from the click
    page.evaluate(
        """() => { const a = document.createElement('div'); a.dataset.testid = 'stApp';
             Object.assign(a.dataset, {testScriptState: 'notRunning', testConnectionState: 'CONNECTED'});
             document.body.appendChild(a); window.__nvPlan = {view: 0, idle: 0};
             document.getElementById('b').addEventListener('click', () => {
               a.dataset.testScriptState = 'running';
               setTimeout(() => { r.querySelector('.nv-explorer').dataset.drawn = 'rmsnorm|0,1,2'; }, __nvPlan.view);
               setTimeout(() => { a.dataset.testScriptState = 'notRunning'; }, __nvPlan.idle); }); }"""
    )
    for view, idle in ((100, 40), (60, 150)):  # idle before the view shows, then the view before the app is idle
        page.evaluate(f"() => {{ window.__nvPlan = {{view: {view}, idle: {idle}}}; }}")
        page.evaluate(B.ARM)
        page.evaluate(f"a => ({B.WATCH_E2E})(({B.APP_SHOWS}), a)", {"drawn": "rmsnorm|0,1,2"})
        page.click("#b")
        page.wait_for_function("() => window.__nvE2E !== undefined", polling="raf")
        assert page.evaluate("() => window.__nvE2E - window.__nvT0") >= max(view, idle)
        page.evaluate("() => { r.querySelector('.nv-explorer').dataset.drawn = 'layernorm|0,0,0'; }")
    page.set_content(
        '<div class="katex-display"><annotation>\\begin{gathered}x = 0.25 \\\\ y</annotation></div>'
    )  # an Explorer without the mark (before issue 20): the arithmetic of the cell
    assert page.evaluate(shows, {"drawn": "layernorm|0,0,1", "x": "x = 0.25"}) is True
    assert page.evaluate(shows, {"drawn": "layernorm|0,0,1", "x": "x = 0.5"}) is False
    ctx.close()


def test_the_browser_bench_reports_ratios_and_goals_from_its_samples():
    from norm_viz.tools import bench_browser as B

    out = {
        "bare norm switch": [B.Sample(1000, 8000, 200, 900, 800), B.Sample(1200, 8000, 200, 900, 800)],
        "app norm switch (small cube)": [B.Sample(200, 0, None, 120, 30), B.Sample(260, 0, None, 140, 40)],
        "bare cell change": [B.Sample(500, 8000, 200, 400, 300)],
        "app cell change (cube click)": [B.Sample(400, 5000, 100, 300, None)],
    }
    s = B.report(out, 2, 1280, 720)
    assert s["ratios"]["norm switch (small cube)"] == pytest.approx(230 / 1100)
    g = s["goals"]
    assert g["norm switch (small cube), end to end / bare app"][2] is True  # 0.21x <= 0.3x
    assert g["cell change (cube click), end to end / bare app"][2] is False  # 0.8x
    assert g["norm switch (small cube), click to redrawn ms (in page)"][:1] == (35.0,)  # the in-page median
    assert g["cell change (cube click), click to redrawn ms (in page)"][:1] == (300.0,)  # none in page: the driver's
    # end to end timed in the page, where both sides have it
    out["bare norm switch"] = [B.Sample(1000, 0, None, 900, 800, 700), B.Sample(1200, 0, None, 900, 800, 900)]
    out["app norm switch (small cube)"] = [B.Sample(200, 0, None, 120, 30, 50), B.Sample(260, 0, None, 140, 40, 70)]
    s = B.report(out, 2, 1280, 720)
    assert s["ratios_in_page"] == {"norm switch (small cube)": pytest.approx(60 / 800)}
    assert s["goals"]["norm switch (small cube), end to end in page / bare app"][2] is True


def test_a_cache_of_our_own_is_reported_with_streamlits_cache_figures():
    """norm_viz.ui.cache_stats: a registered cache's bytes appear in Streamlit's cache_memory_bytes family (what
    /_stcore/metrics serves and the load driver reads), read when the figures are asked for, once per manager."""
    from streamlit.runtime.stats import CACHE_MEMORY_FAMILY, StatsManager

    from norm_viz.ui import cache_stats

    held = {"n": 1000}
    mgr = StatsManager()
    cache_stats.register("test.cache", lambda: held["n"], manager=mgr)
    cache_stats.register("test.cache2", lambda: 7, manager=mgr)  # the same provider: registered once
    cache_stats.register("test.broken", lambda: 1 // 0, manager=mgr)  # a failing figure is left out
    held["n"] = 2500

    def figures():
        stats = mgr.get_stats([CACHE_MEMORY_FAMILY])[CACHE_MEMORY_FAMILY]
        return {(s.category_name, s.cache_name): s.byte_length for s in stats}

    got = figures()
    assert got[(cache_stats.CACHE_TYPE, "test.cache")] == 2500 and got[(cache_stats.CACHE_TYPE, "test.cache2")] == 7
    assert (cache_stats.CACHE_TYPE, "test.broken") not in got
    line = next(s for s in mgr.get_stats()[CACHE_MEMORY_FAMILY] if s.cache_name == "test.cache").to_metric_str()
    labels, _, value = line.rpartition(" ")  # as L.metrics reads the endpoint's lines
    assert labels.startswith(CACHE_MEMORY_FAMILY + "{") and float(value) == 2500.0
    assert tuple(re.findall(r'="([^"]*)"', labels)) == (cache_stats.CACHE_TYPE, "test.cache")
