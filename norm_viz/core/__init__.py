"""The core every section builds on, no streamlit: the NORMS table and its behaviour (table), normalize() and the
torch.nn references (compute, kernels, extra_norms), tensors and uploads (data), numbers and formulas for people,
the one theme of every figure (theme, plotly only), page parameters and frozen configs (params, config)."""
