"""AppTest runs of the transformer-question pages: no exception, takeaways that follow the data, messages for bad inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import APP, app_test, charts, decode, no_exception

PAGES = {
    "train-eval": "pages/train-eval.py",
    "padding": "pages/padding.py",
    "causal": "pages/causal.py",
    "batch-dependence": "pages/batch-dependence.py",
    "multi-device": "pages/multi-device.py",
    "compare": "pages/compare.py",
}


def takeaway(at) -> str:
    found = [i.value for i in at.info if i.value.startswith("**Takeaway.**")]
    assert len(found) == 1, [i.value for i in at.info]
    return found[0]


def texts(elements) -> str:
    return " | ".join(e.value for e in elements)


def chart(at, title_start: str) -> dict:
    return next(c for c in charts(at) if c["layout"]["title"]["text"].startswith(title_start))


def bars(at, title_start: str) -> dict[str, float]:
    """{norm label: bar value} of a per-norm bar chart."""
    trace = chart(at, title_start)["data"][0]
    return dict(zip(trace["y"], np.asarray(decode(trace["x"]), dtype=float).tolist(), strict=True))


@pytest.mark.parametrize("page", list(PAGES.values()))
def test_every_page_runs_with_a_takeaway_and_no_error(page):
    at = app_test(page)
    no_exception(at)
    assert not at.error, texts(at.error)
    assert takeaway(at)


def test_app_routes_every_question_page_with_its_url():
    src = Path(APP).read_text()
    section = src[src.index('"Transformer questions"') : src.index('"More norms"')]
    for url, page in PAGES.items():
        assert f'"{page}"' in section and f'url_path="{url}"' in section, url


def test_train_eval_bars_and_batch_size_one():
    at = app_test(PAGES["train-eval"])
    assert any(s.value.startswith("Checked against `nn.BatchNorm1d(8, momentum=0.1)`") for s in at.success)
    modes = bars(at, "max |training-mode output − eval-mode output|")
    assert modes["LayerNorm"] == 0 and modes["RMSNorm"] == 0 and modes["BatchNorm"] > 0.1
    assert "BatchNorm" in takeaway(at) and "LayerNorm" in takeaway(at)
    assert "silently changes meaning" in texts(at.warning)  # B = 1 with S = 6 tokens: InstanceNorm
    at.slider(key="S").set_value(1).run()
    no_exception(at)
    assert "Expected more than 1 value per channel when training" in texts(at.error)
    assert "n − 1 = 0" in texts(at.error)


def test_train_eval_single_value_batch_says_what_is_valid_and_takeaway_follows():
    at = app_test(PAGES["train-eval"])
    before = takeaway(at)
    at.slider(key="B").set_value(1).run()
    at.slider(key="S").set_value(1).run()
    no_exception(at)
    assert "Set B × S ≥ 2" in texts(at.error)
    after = takeaway(at)
    assert after != before and "cannot even run in training mode" in after


def test_train_eval_momentum_changes_the_running_curve():
    at = app_test(PAGES["train-eval"])

    def torch_curve() -> np.ndarray:
        trace = next(t for t in chart(at, "Running statistics")["data"] if t["name"].startswith("PyTorch running"))
        return np.asarray(decode(trace["y"]), dtype=float)

    curve = torch_curve()
    at.number_input(key="tr_mom").set_value(0.5).run()
    no_exception(at)
    assert not np.allclose(torch_curve(), curve)


def test_padding_page_numbers_and_bad_lengths():
    at = app_test(PAGES["padding"])
    real = bars(at, "Real tokens' outputs")
    assert real["LayerNorm"] == 0 and real["RMSNorm"] == 0 and real["Masked BatchNorm"] < 1e-9
    assert real["BatchNorm"] > 0 and real["InstanceNorm"] > 0
    first = takeaway(at)
    assert "BatchNorm" in first.split(";")[0] and "LayerNorm" in first.split(";")[1]
    at.text_input(key="pad_lengths").input("6, 6, 6, 2").run()
    assert takeaway(at) != first
    for bad, message in (("0, 0, 0, 0", "every token is padding"), ("9", "between 0 and S = 6"), ("1, 2", "4 numbers")):
        at.text_input(key="pad_lengths").input(bad).run()
        no_exception(at)
        assert message in texts(at.error), bad
    at.text_input(key="pad_lengths").input("6").run()
    assert "No position is padding" in texts(at.warning)


def test_causal_page_verdicts_and_edge_tokens():
    at = app_test(PAGES["causal"])
    table = at.table[0].value.set_index("norm")
    assert table.loc["LayerNorm", "causal-safe?"] == "yes"
    assert table.loc["BatchNorm", "causal-safe?"].startswith("no")
    assert "other sequences of the batch under BatchNorm" in takeaway(at)
    at.radio(key="cz_method").set_value("jacobian").run()
    no_exception(at)
    assert at.table[0].value.set_index("norm")["causal-safe?"].equals(table["causal-safe?"])
    at.number_input(key="cz_s").set_value(0).run()
    assert "has no past" in texts(at.warning)
    assert not [i for i in at.info if i.value.startswith("**Takeaway.**")]
    at.slider(key="S").set_value(1).run()
    no_exception(at)
    assert "S = 1" in texts(at.warning)


def test_causal_map_lights_only_the_perturbed_token_for_layernorm():
    at = app_test(PAGES["causal"])
    fig = chart(at, "Perturb token")
    maps = {t.get("name"): t for t in fig["data"]}
    heat = [t for t in fig["data"] if t["type"] == "heatmap"]
    ln = np.asarray(decode(heat[1]["z"]), dtype=float).reshape(
        4, 6
    )  # the default B = 4, S = 6  # the second map is LayerNorm (table order)
    assert (ln > 0).sum() == 1 and ln[0, -1] > 0
    assert "perturbed token" in maps


def test_batch_dependence_page():
    at = app_test(PAGES["batch-dependence"])
    largest = bars(at, "Largest change of sample 0")
    assert largest["BatchNorm"] > 0.1 and largest["LayerNorm"] == 0
    first = takeaway(at)
    at.number_input(key="bd_top").set_value(100.0).run()
    assert takeaway(at) != first  # the numbers in it follow the data
    at.number_input(key="bd_changed").set_value(0).run()
    no_exception(at)
    assert "Choose two different samples" in texts(at.error)
    at.slider(key="B").set_value(1).run()
    no_exception(at)
    assert "B = 1" in texts(at.error) and "2 or more" in texts(at.error)


def test_multi_device_page():
    at = app_test(PAGES["multi-device"])
    assert any("equals `nn.BatchNorm1d(8)` on the whole batch" in s.value for s in at.success)
    assert "17 values (68 bytes)" in takeaway(at)
    at.slider(key="F").set_value(4).run()
    assert "9 values (36 bytes)" in takeaway(at)
    at.selectbox(key="md_dtype").select("bfloat16").run()
    assert "9 values (18 bytes)" in takeaway(at)
    at.number_input(key="md_k").set_value(3).run()
    no_exception(at)
    assert "valid K: 1, 2, 4" in texts(at.error)
    at.number_input(key="md_k").set_value(1).run()
    assert "single device" in texts(at.warning)
    assert "no norm needs to communicate" in takeaway(at)


def test_multi_device_bad_url_value_gets_a_notice():
    at = app_test(PAGES["multi-device"], {"md_k": "abc"})
    no_exception(at)
    assert "md_k=abc" in texts(at.warning)


def test_compare_table_and_takeaway_follow_the_tensor():
    at = app_test(PAGES["compare"])
    table = at.table[0].value.set_index("norm")
    assert (table.loc["LayerNorm", ["batch-independent?", "causal-safe?", "padding-safe?"]] == "yes").all()
    assert table.loc["BatchNorm", "needs cross-device sync?"] == "yes"
    assert table.loc["LayerNorm", "statistics"] == "24"
    first = takeaway(at)
    assert "all 5 checks" in first and "LayerNorm" in first and "BatchNorm," not in first
    at.slider(key="S").set_value(1).run()
    no_exception(at)
    assert "Not measurable" in texts(at.warning) and "InstanceNorm" in texts(at.warning)
    after = takeaway(at)
    assert after != first and "all 3 checks" in after and "causal-safe" not in after
