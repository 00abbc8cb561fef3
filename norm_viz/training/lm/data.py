"""The tiny LM's data: the standard library's docstring sentences as character ids (one sentence a sequence),
batches with right padding, and the context-free (unigram) reference loss. torch only."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
from torch import Tensor

from norm_viz.core import corpus


@dataclass(frozen=True, eq=False)
class TextData:
    """The corpus as token ids: characters, one sentence per sequence, a newline before and after (pad = vocab)."""

    chars: str
    train: tuple[Tensor, ...]
    val: tuple[Tensor, ...]

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    @property
    def pad(self) -> int:
        return len(self.chars)


@functools.cache
def text_data(val_every: int = 10) -> TextData:
    """Every `val_every`-th sentence (0, 10, 20, …) is validation, the rest training: fixed, no randomness."""
    sents = corpus.sentences()
    chars = "".join(sorted(set(corpus.text())))
    index = {c: i for i, c in enumerate(chars)}
    nl = index["\n"]
    enc = [torch.tensor([nl, *(index[c] for c in s), nl], dtype=torch.long) for s in sents]
    return TextData(chars, tuple(e for i, e in enumerate(enc) if i % val_every), tuple(enc[::val_every]))


def make_batch(seqs: list[Tensor], max_len: int, pad: int) -> tuple[Tensor, Tensor, Tensor]:
    """(inputs, targets, mask) for sentences cut to max_len + 1 ids; right padding, mask = real input token."""
    cut = [s[: max_len + 1] for s in seqs]
    n = max(len(s) for s in cut) - 1
    ids = torch.full((len(cut), n + 1), pad, dtype=torch.long)
    for i, s in enumerate(cut):
        ids[i, : len(s)] = s
    mask = ids[:, :-1] != pad
    targets = ids[:, 1:].masked_fill(ids[:, 1:] == pad, -100)
    return ids[:, :-1], targets, mask


@functools.cache
def unigram_loss() -> float:
    """Validation loss of a model that ignores the context: each character predicted with its training frequency
    (the loss a language model has before it uses any context; a reference line for the results)."""
    data = text_data()
    counts = torch.bincount(torch.cat([t[1:] for t in data.train]), minlength=data.vocab_size).double() + 1
    logp = (counts / counts.sum()).log()
    targets = torch.cat([t[1:] for t in data.val])
    return float(-logp[targets].mean())
