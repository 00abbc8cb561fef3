"""The real models, in one home: loading (sha256-checked, offline), tokenizers, the plain-torch forwards, the
measurements of the Real model page, its figures and the benchmark (`python -m norm_viz.tools.real_bench`).

- minilm.py: all-MiniLM-L6-v2, a post-LayerNorm BERT encoder (13 LayerNorms); smollm.py: SmolLM2-135M, a
  pre-RMSNorm LLaMA decoder (61 RMSNorms); common.py: what they share (the model thread, errors, `Activations`).
- view.py / figures.py: the Real model page's MiniLM measurements; modern.py / modern_figures.py: the decoder's
  (massive activations, attention sinks, the DyT observation, residual growth).
"""

from __future__ import annotations

from collections.abc import Sequence

from norm_viz.real.common import MODELS, THREADS, Activations, RealInputError, _spec


def real_activations(
    sentences: Sequence[str], layer: int = 0, site: str = "ffn", model: str = "minilm", *, threads: int = THREADS
) -> Activations:
    """One norm's input on up to 16 real sentences: MiniLM (default; layer 0..5, site 'embeddings'/'attention'/'ffn')
    or SmolLM2 (model="smollm2-135m"; block 0..29, site 'attention'/'ffn', or 'final' for the output RMSNorm)."""
    return _spec(model).real_activations(sentences, layer, site, threads=threads)  # type: ignore[no-any-return]


__all__ = ["MODELS", "Activations", "RealInputError", "real_activations"]
