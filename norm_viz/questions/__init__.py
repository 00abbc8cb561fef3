"""The transformer questions, one module per question (torch only), each with its page's config, view and takeaway:
train_eval, padding, causal, dependence, multi_device, properties (the Compare page's table), which_layernorm,
placement (pre- vs post-norm); common holds what the checks share; figures holds every figure (plotly only)."""
