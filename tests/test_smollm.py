"""SmolLM2-135M in plain torch: the forward against transformers' LlamaModel built from the same dequantized weights,
GGML's RoPE layout, every one of the 61 RMSNorms against normalize(), the greedy "Paris", the sha256 check, no
network, and clear messages for bad input."""

from __future__ import annotations

import pytest
import torch
from conftest import run_offline

from norm_viz import normalize, real_activations
from norm_viz.real import common, smollm

pytestmark = pytest.mark.skipif(
    smollm.installed() is not None, reason=f"SmolLM2 not installed ({smollm.installed()}): {common.INSTALL}"
)

SENTS = [
    "The cat sat on the mat.",
    "A much longer sentence, with a comma, and several more words than the first one has.",
    "Hi",
]
SMOL = "smollm2-135m"


@pytest.fixture(scope="module")
def acts() -> list[common.Activations]:
    return smollm.all_norms(SENTS)


def test_the_api_of_the_issue():
    a = real_activations(SENTS, layer=4, site="attention", model=SMOL)
    b, s, f = a.x.shape
    assert (b, f) == (3, 576) and a.x.dtype == torch.float32 and a.model == SMOL and a.norm == "rmsnorm"
    assert a.mask.shape == (b, s) and s == max(len(t) for t in a.tokens)
    assert [len(t) for t in a.tokens] == list(a.lengths) == a.mask.sum(1).tolist()
    assert "".join(a.tokens[0]) == SENTS[0], "byte-BPE pieces join back into the sentence"
    assert a.ln_bias is None and a.ln_weight.shape == (576,) and a.ln_eps == pytest.approx(1e-5)
    assert a.name == "block 4 · attention RMSNorm"
    f = real_activations(SENTS, layer=29, site="final", model=SMOL)
    assert f.name == "output RMSNorm" and f.index == 60
    assert real_activations(SENTS).x.shape[-1] == 384, "MiniLM stays the default"


def test_every_one_of_the_61_rmsnorms_equals_normalize(acts):
    assert len(acts) == smollm.N_NORMS == 61 and len({a.index for a in acts}) == 61
    for a in acts:
        r = normalize(a.x, "rmsnorm", eps=a.ln_eps, weight=a.ln_weight)
        real = a.mask
        rel = float((r.output - a.ln_output)[real].abs().max() / a.ln_output[real].abs().max())
        assert rel <= 1e-5, a.name
        ref = torch.nn.functional.rms_norm(a.x.double(), (576,), a.ln_weight.double(), a.ln_eps)
        torch.testing.assert_close(a.ln_output.double()[real], ref[real], rtol=1e-5, atol=1e-5 * float(ref.abs().max()))


def _unpermute(w: torch.Tensor, heads: int) -> torch.Tensor:
    """Undo llama.cpp's converter, which reorders each head's q/k rows from Hugging Face's rotate-half layout into
    adjacent pairs: (heads, 2, d/2, in) → (heads, d/2, 2, in) there, so (heads, d/2, 2, in) → (heads, 2, d/2, in) here."""
    out, inp = w.shape
    return w.reshape(heads, out // heads // 2, 2, inp).transpose(1, 2).reshape(out, inp)


def _llama(transformers, m: smollm.Model):
    cfg = transformers.LlamaConfig(
        vocab_size=smollm.VOCAB,
        hidden_size=smollm.HIDDEN,
        intermediate_size=smollm.FFN,
        num_hidden_layers=smollm.N_LAYERS,
        num_attention_heads=smollm.HEADS,
        num_key_value_heads=smollm.KV_HEADS,
        head_dim=smollm.HEAD_DIM,
        rms_norm_eps=m.eps,
        rope_parameters={"rope_type": "default", "rope_theta": m.rope_base},
        max_position_embeddings=8192,
        tie_word_embeddings=True,
        attn_implementation="eager",
    )
    model = transformers.LlamaModel(cfg).eval()
    w = {k: v.float() for k, v in m.weights.items()}
    state = {"embed_tokens.weight": w["token_embd.weight"], "norm.weight": w["output_norm.weight"]}
    for i in range(smollm.N_LAYERS):
        p, q = f"blk.{i}.", f"layers.{i}."
        state |= {
            q + "input_layernorm.weight": w[p + "attn_norm.weight"],
            q + "post_attention_layernorm.weight": w[p + "ffn_norm.weight"],
            q + "self_attn.q_proj.weight": _unpermute(w[p + "attn_q.weight"], smollm.HEADS),
            q + "self_attn.k_proj.weight": _unpermute(w[p + "attn_k.weight"], smollm.KV_HEADS),
            q + "self_attn.v_proj.weight": w[p + "attn_v.weight"],
            q + "self_attn.o_proj.weight": w[p + "attn_output.weight"],
            q + "mlp.gate_proj.weight": w[p + "ffn_gate.weight"],
            q + "mlp.up_proj.weight": w[p + "ffn_up.weight"],
            q + "mlp.down_proj.weight": w[p + "ffn_down.weight"],
        }
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected and all("rotary" in k for k in missing), (missing, unexpected)
    return model


def test_the_plain_torch_forward_is_transformers_llamamodel(acts, monkeypatch):
    transformers = pytest.importorskip("transformers", reason="transformers is the dev test oracle (requirements-dev)")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    m = smollm.model()
    llama = _llama(transformers, m)
    seen: list[tuple[torch.Tensor, torch.Tensor]] = []
    for name, mod in llama.named_modules():
        if name.endswith(("input_layernorm", "post_attention_layernorm")) or name == "norm":
            mod.register_forward_hook(lambda _m, i, o: seen.append((i[0], o)))
    enc = smollm.encode(m, SENTS)
    with torch.no_grad():
        out = llama(input_ids=enc.ids, attention_mask=enc.mask.long(), output_attentions=True)
    assert len(seen) == 61
    for a, (x, y) in zip(acts, seen, strict=True):
        scale = float(x[a.mask].abs().max())
        torch.testing.assert_close(a.x[a.mask], x[a.mask], rtol=1e-4, atol=1e-5 * scale, msg=a.name)
        torch.testing.assert_close(a.ln_output[a.mask], y[a.mask], rtol=1e-4, atol=1e-4, msg=a.name)
    trace = smollm.forward(m, enc.ids, sink=True)
    assert trace.sink is not None
    hf_sink = torch.stack([att[..., 0] for att in out.attentions])  # (30, B, 9, S): weight on the first token
    real = lambda s: s.permute(0, 2, 1, 3)[..., enc.mask]  # noqa: E731  (30, 9, real tokens)
    torch.testing.assert_close(real(trace.sink), real(hf_sink), rtol=1e-4, atol=1e-5)


def test_ggml_rope_on_adjacent_pairs_is_hf_rotate_half_on_unpermuted_rows():
    """The permutation, checked on its own: adjacent-pair RoPE on the file's rows equals rotate-half RoPE on the
    rows put back in Hugging Face's order, and rotate-half on the file's rows (the wrong layout) does not."""
    g = torch.Generator().manual_seed(0)
    w = torch.randn(smollm.HEADS * smollm.HEAD_DIM, 32, generator=g)
    x = torch.randn(5, 32, generator=g)
    cos, sin = smollm.rope_tables(5, 1e5)

    def rotate_half(q: torch.Tensor) -> torch.Tensor:
        c, s = torch.cat([cos, cos], -1), torch.cat([sin, sin], -1)
        q1, q2 = q[..., : smollm.HEAD_DIM // 2], q[..., smollm.HEAD_DIM // 2 :]
        return q * c + torch.cat([-q2, q1], -1) * s

    def heads(t: torch.Tensor) -> torch.Tensor:
        return t.view(5, smollm.HEADS, smollm.HEAD_DIM).transpose(0, 1)

    ggml = smollm.rope_adjacent(heads(x @ w.T), cos, sin)
    hf = rotate_half(heads(x @ _unpermute(w, smollm.HEADS).T))
    scores = lambda q: q @ q.transpose(-1, -2)  # noqa: E731  (the attention scores see the rotation, not the order)
    torch.testing.assert_close(scores(ggml), scores(hf), rtol=1e-4, atol=1e-4)
    wrong = rotate_half(heads(x @ w.T))
    assert not torch.allclose(scores(ggml), scores(wrong), rtol=1e-2, atol=1e-2)


def test_it_answers_paris():
    assert smollm.generate(smollm.model(), "The capital of France is", 2) == " Paris."


def test_weights_are_kept_in_float16_and_norms_in_float32():
    m = smollm.model()
    assert m.weights["blk.0.attn_q.weight"].dtype == torch.float16
    assert m.weights["blk.0.attn_norm.weight"].dtype == torch.float32
    assert m.nbytes < 300e6, "half of the 540 MB float32 weights"


def test_a_tampered_file_is_refused(tmp_path):
    src = smollm.gguf_path()
    data = bytearray(src.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit in the middle of the weights
    bad = tmp_path / smollm.FILE
    bad.write_bytes(bytes(data))
    with pytest.raises(common.ModelVerificationError, match="sha256"):
        smollm.load(bad)
    with pytest.raises(common.ModelVerificationError, match="Refusing"):
        smollm.load(src, expected_sha256="0" * 64)


def test_no_network_during_the_background_load_and_forward():
    """A fresh interpreter whose sockets cannot connect preloads SmolLM2 on the model thread (as a server does at its
    start) and runs it; no hub client is imported."""
    run_offline(
        "import threading\n"
        "from norm_viz.real import common, smollm\n"
        "loaded = common.preload(['smollm2-135m'], corpus=False)['smollm2-135m'].result(timeout=600)\n"
        "assert loaded is smollm.model() and common.preloading() == ()\n"
        "assert common.preload(['smollm2-135m'], corpus=False)['smollm2-135m'].result() is loaded, 'once'\n"
        "from norm_viz import real_activations\n"
        "a = real_activations(['No network here.'], layer=29, site='final', model='smollm2-135m')\n"
        "assert a.x.shape[-1] == 576\n"
    )


def test_a_missing_package_says_how_to_install(monkeypatch):
    real_find = smollm.importlib.util.find_spec
    monkeypatch.setattr(smollm.importlib.util, "find_spec", lambda n, *a: None if n == smollm.MODULE else real_find(n))
    with pytest.raises(common.ModelUnavailable, match="requirements-model.txt"):
        smollm.load()
    assert "requirements-model.txt" in (smollm.installed() or "")


@pytest.mark.parametrize(
    ("sentences", "layer", "site", "match"),
    [
        ([], 0, "ffn", "at least one sentence"),
        (["a"] * 17, 0, "ffn", "at most 16"),
        (["fine", "   "], 0, "ffn", "sentence 2 is empty"),
        (["bell \x07 here"], 0, "ffn", r"sentence 1 contains control characters \(U\+0007\)"),
        (["fine", "nul\x00"], 0, "ffn", "sentence 2 contains control characters"),
        (["fine"], 30, "ffn", "from 0 to 29"),
        (["fine"], -1, "attention", "from 0 to 29"),
        (["fine"], 3, "final", "after block 29"),
        (["fine"], 0, "embeddings", "site must be one of attention, ffn, final"),
        ([3], 0, "ffn", "not text"),
    ],
)
def test_bad_input_gets_a_clear_message(sentences, layer, site, match):
    with pytest.raises(common.RealInputError, match=match):
        real_activations(sentences, layer=layer, site=site, model=SMOL)


def test_an_unknown_model_is_named():
    with pytest.raises(common.RealInputError, match="model must be one of minilm, smollm2-135m"):
        real_activations(["fine"], model="gpt-5")


def test_long_text_is_cut_and_says_so():
    a = real_activations(["word " * 200, "short one"], layer=1, site="ffn", model=SMOL)
    assert a.x.shape[1] == smollm.MAX_TOKENS == 64 and a.lengths[0] == 64 and a.truncated == (0,)
    assert any("cut to the first 64" in n for n in a.notes)
    many = real_activations(["word " * 200] * 16, layer=0, site="attention", model=SMOL)
    assert many.x.shape[:2] == (16, 16), "16 sentences share 256 positions: 16 tokens each"
    assert any("cut to the first 16" in n and "256 token positions" in n for n in many.notes)


def test_no_character_is_unknown_to_a_byte_bpe():
    text = "Emoji \U0001fae0, 日本語, Ωmega and 12345."
    m = smollm.model()
    enc = smollm.encode(m, [text])
    assert enc.unknown == ()
    assert m.tokenizer.decode(enc.ids[0].tolist()) == text, "every byte has a token: the text comes back exactly"
    assert enc.tokens[0][-6:-1] == ["1", "2", "3", "4", "5"], "SmolLM's pre-tokenizer splits digits one by one"


def test_a_cancelled_job_stops_at_its_next_block(monkeypatch):
    """in_worker's checkpoint raising (a closed tab) stops the forward at its next stop point and frees the thread."""
    blocks = {"n": 0}
    real_stop = smollm.stop_point

    def counted() -> None:
        blocks["n"] += 1
        real_stop()

    monkeypatch.setattr(smollm, "stop_point", counted)

    def leave() -> None:
        raise KeyboardInterrupt("the tab closed")

    with pytest.raises(KeyboardInterrupt):
        common.in_worker(smollm.all_norms, ["word " * 60] * 16, checkpoint=leave)
    assert common.in_worker(lambda: "free") == "free"  # queued behind the cancelled job: it has ended
    assert blocks["n"] < smollm.N_LAYERS, f"the forward went on for {blocks['n']} blocks after the tab closed"


def test_the_check_claim_says_either_side_from_the_number():
    from norm_viz.real import modern

    ok, text = modern.check_claim(3.7e-7)
    assert ok and "= 3.7e-07 (≤ 1e-05)" in text and "all 61 RMSNorms" in text
    bad, text = modern.check_claim(2.0e-4)
    assert not bad and "= 2.0e-04 (> 1e-05)" in text
    assert modern.check_claim(1e-5)[0], "the bound itself passes"


@pytest.mark.parametrize(
    ("smol", "mini", "verdict"),
    [
        ((0.44, 0.35, 0.53), (0.18, 0.15, 0.28), "erf fits at least as well as tanh on both models"),
        ((0.44, 0.44, 0.53), (0.18, 0.18, 0.28), "erf fits at least as well as tanh on both models"),
        ((0.30, 0.35, 0.53), (0.18, 0.15, 0.28), "tanh fits better than erf on at least one model"),
        ((0.44, 0.35, 0.53), (0.14, 0.15, 0.28), "tanh fits better than erf on at least one model"),
    ],
)
def test_the_dyt_claim_follows_the_fits_on_both_sides(smol, mini, verdict):
    from norm_viz.real import modern

    text = modern.fit_claim(smol, mini)
    assert verdict in text and text.count("fits") == 1
    assert f"**SmolLM2** tanh {smol[0]:.0%}, erf {smol[1]:.0%}, a straight line {smol[2]:.0%}" in text
    assert f"**MiniLM** tanh {mini[0]:.0%}, erf {mini[1]:.0%}" in text and "not a verdict on DyT" in text


def test_the_modern_view_cuts_minilm_to_smollms_length():
    """16 long sentences: SmolLM2 reads 16 tokens of each, MiniLM as many word pieces plus [CLS] and [SEP], and the
    page says so; the 61 RMSNorms are still reproduced."""
    from norm_viz.real import modern

    v = modern.modern_view(["normalization layers rescale the activations of every token " * 3] * 16)
    assert max(len(t) for t in v.tokens) == 16
    assert any("256 token positions" in n for n in v.notes)
    assert any("MiniLM reads the same sentences cut at 18 word pieces" in n for n in v.notes)
    assert v.worst_delta <= 1e-5 and len(v.fits) == 61 and len(v.minilm_fits) == 13


def test_the_dyt_scatter_stretches_its_axis_only_for_a_massive_activation():
    """A massive entry would squash every other dot into one vertical line on a linear axis: the x axis is then
    asinh-stretched, its ticks still in x's own values, the dots' hover the real x; an ordinary norm stays linear."""
    import numpy as np

    from norm_viz.real import modern
    from norm_viz.real import modern_figures as mf

    g = torch.Generator().manual_seed(0)
    x = torch.randn(1000, generator=g, dtype=torch.float64)
    x[0] = 24_000.0
    fit = modern.fit_curves("test norm", x, torch.tanh(x / 3))
    fig = mf.dyt_figure((x.float(), torch.tanh(x / 3).float()), fit, "massive")
    dots = fig.data[0]
    assert "asinh" in fig.layout.xaxis.title.text and "10,000" in fig.layout.xaxis.ticktext
    np.testing.assert_allclose(dots.customdata, x.float().numpy())
    c = float(np.median(np.abs(x.float().numpy())))
    np.testing.assert_allclose(dots.x, np.arcsinh(x.float().numpy() / c), rtol=1e-5)
    assert float(np.max(dots.x)) < 15, "24,000 sits a few units from the bulk, not 10,000 of them"
    plain = mf.dyt_figure((x[1:].float(), torch.tanh(x[1:] / 3).float()), fit, "ordinary")
    assert plain.layout.xaxis.title.text == "input x"
    np.testing.assert_allclose(plain.data[0].x, x[1:].float().numpy())


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ({"rl_text": "\n".join(f"Sentence number {i}." for i in range(20))}, "At most 16"),
        ({"rl_text": "   \n  \n"}, "Write at least one sentence"),
        ({"rl_text": "word " * 700}, "cut to the first 64"),
        ({"rl_text": "\x00\x01\x02"}, "contains control characters"),
        ({"rl_text": "x" * 4001}, "rl_text"),
        ({"ml_ln": "13"}, "ml_ln"),
    ],
)
def test_the_modern_page_says_what_is_wrong_with_bad_input(query, needle):
    """Too many, none, too long, unreadable, an over-long link and an out-of-range slider: a message naming the
    problem, never a traceback, and the page still shows its measurements."""
    from conftest import app_test, no_exception

    at = app_test("modern-llm", query)
    no_exception(at)
    said = [e.value for kind in ("error", "warning") for e in [*getattr(at, kind), *getattr(at.sidebar, kind)]]
    assert any(needle in t for t in said), said
    assert any("all 61 RMSNorms" in e.value for e in at.success)
