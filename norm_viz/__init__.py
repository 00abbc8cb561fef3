"""norm-viz: see exactly which cells of a (batch, sequence, feature) tensor each normalization averages."""

from norm_viz.compute import NormResult, normalize, reference, verify
from norm_viz.data import KINDS, PRESETS, make_tensor
from norm_viz.specs import NORMS, Norm

__all__ = ["KINDS", "NORMS", "PRESETS", "Norm", "NormResult", "make_tensor", "normalize", "reference", "verify"]
