"""norm-viz: see exactly which cells of a (batch, sequence, feature) tensor each normalization averages."""

from norm_viz.core.compute import NormResult, normalize, reference, verify
from norm_viz.core.config import NormConfig
from norm_viz.core.data import KINDS, PRESETS, make_tensor
from norm_viz.core.table import NORMS, Norm
from norm_viz.real import Activations, real_activations
from norm_viz.training import CNNHistory, LMHistory, train_cnn, train_lm

__all__ = [
    "KINDS",
    "NORMS",
    "PRESETS",
    "Activations",
    "CNNHistory",
    "LMHistory",
    "Norm",
    "NormConfig",
    "NormResult",
    "make_tensor",
    "normalize",
    "real_activations",
    "reference",
    "train_cnn",
    "train_lm",
    "verify",
]
