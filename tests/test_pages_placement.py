"""AppTest runs of the pre- vs post-norm page: verified numbers, a takeaway that follows the data, messages for bad input."""

from __future__ import annotations

import numpy as np
from conftest import app_test, charts, decode, no_exception

PAGE = "placement"


def takeaway(at) -> str:
    found = [i.value for i in at.info if i.value.startswith("**Takeaway.**")]
    assert len(found) == 1, [i.value for i in at.info]
    return found[0]


def notices(at) -> str:
    return " ".join(w.value for w in at.warning if "URL parameter" in w.value)


def lines(at, title_start: str) -> dict[str, np.ndarray]:
    """{trace name: y values} of the line traces of the chart whose title starts with `title_start`."""
    fig = next(c for c in charts(at) if c["layout"].get("title", {}).get("text", "").startswith(title_start))
    return {t["name"]: np.asarray(decode(t["y"]), dtype=float) for t in fig["data"] if t.get("mode") == "lines+markers"}


def test_page_runs_verified_against_torch_with_a_takeaway():
    at = app_test(PAGE)
    no_exception(at)
    assert not at.error, [e.value for e in at.error]
    assert any(s.value.startswith("Matches 12 × `nn.TransformerEncoderLayer(8, 2") for s in at.success)
    stream = lines(at, "How large is the residual stream")
    post = stream["post-norm (band: smallest … largest token)"]
    pre = stream["pre-norm (band: smallest … largest token)"]
    assert len(post) == len(pre) == 13
    assert np.allclose(post[1:], 1.0, atol=1e-4)  # LN is the last step of every post-norm block
    text = takeaway(at)
    assert "With 12 layers" in text
    assert f"grew {pre[-1] / pre[0]:.3g}×" in text  # the sentence quotes the plotted numbers
    grads = lines(at, "How much gradient reaches")
    assert set(grads) == {"post-norm", "pre-norm"} and all(len(g) == 13 for g in grads.values())


def test_takeaway_follows_depth_and_weight_scale():
    at = app_test(PAGE)
    before = takeaway(at)
    at.slider(key="pl_layers").set_value(3).run()
    no_exception(at)
    after = takeaway(at)
    assert after != before and "With 3 layers" in after
    assert len(lines(at, "How large is the residual stream")["pre-norm (band: smallest … largest token)"]) == 4
    # tiny weights: the branches add almost nothing, and the takeaway says so instead of the textbook story
    at.slider(key="pl_wscale").set_value(0.1).run()
    assert "barely differ" in takeaway(at)


def test_final_layer_norm_toggle_changes_the_pre_norm_output_table():
    at = app_test(PAGE, {"pl_final": "0"})
    no_exception(at)
    table = at.dataframe[0].value
    pre = table[table["placement"] == "pre-norm"].iloc[0]
    assert pre["output is"].startswith("raw stream")
    lo = float(pre["per-token variance, min … max"].split(" … ")[0])
    assert lo > 1.5  # the unnormalized pre-norm stream, grown over 12 blocks
    at.toggle(key="pl_final").set_value(True).run()
    table = at.dataframe[0].value
    pre = table[table["placement"] == "pre-norm"].iloc[0]
    assert float(pre["per-token variance, min … max"].split(" … ")[1]) <= 1.0


def test_heads_that_do_not_divide_f_give_a_notice_from_a_link_and_a_warning_from_the_sidebar():
    at = app_test(PAGE, {"F": "8", "pl_heads": "3"})
    no_exception(at)
    assert "`pl_heads=3`" in notices(at) and "1, 2, 4, 8" in notices(at)
    assert at.selectbox(key="pl_heads").value == 2
    assert at.query_params["pl_heads"] == "2"
    at.selectbox(key="pl_heads").set_value(8).run()
    at.slider(key="F").set_value(12).run()  # 8 does not divide 12
    no_exception(at)
    assert any("8 attention heads do not divide d_model = F = 12" in w.value for w in at.warning)
    assert at.selectbox(key="pl_heads").value == 2
    assert takeaway(at)


def test_bad_url_values_fall_back_with_notices():
    at = app_test(PAGE, {"pl_layers": "999", "pl_wscale": "abc", "pl_seed": "-4", "pl_final": "maybe"})
    no_exception(at)
    text = notices(at)
    for k in ("pl_layers=999", "pl_wscale=abc", "pl_seed=-4", "pl_final=maybe"):
        assert f"`{k}`" in text, k
    assert "1 to 48" in text
    assert at.slider(key="pl_layers").value == 12 and at.slider(key="pl_wscale").value == 1.0
    assert takeaway(at)


def test_one_feature_per_token_gets_a_warning_not_a_traceback():
    at = app_test(PAGE, {"F": "1"})
    no_exception(at)
    assert any("F = 1 feature per token" in w.value for w in at.warning)
    assert not [i for i in at.info if i.value.startswith("**Takeaway.**")]
    assert at.query_params["pl_layers"] == "12"  # the URL is still written
