"""Beyond the standard norms: one computation module per page (powernorm_lab, dyt_lab, custom_axes, equivalences,
geometry, fluctuation, eps_dtype), each with a frozen config and one view function; their figures in figures.py."""
