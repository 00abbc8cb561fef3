"""The training lab: a tiny character-level transformer LM on real English and a small ConvNet on real digits, each
with the norm chosen from the table, trained live with real autograd (torch only; no streamlit, no plotly here)."""

from norm_viz.training.cnn import CNNConfig, CNNHistory, CNNStep, train_cnn
from norm_viz.training.lm import LMConfig, LMEval, LMHistory, LMStep, train_lm
from norm_viz.training.results import provenance, shipped_results

__all__ = [
    "CNNConfig",
    "CNNHistory",
    "CNNStep",
    "LMConfig",
    "LMEval",
    "LMHistory",
    "LMStep",
    "provenance",
    "shipped_results",
    "train_cnn",
    "train_lm",
]
