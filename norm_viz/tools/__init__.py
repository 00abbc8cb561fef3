"""Developer tools: benchmarks, the browser bench, the load driver and the worst-case runner (`python -m
norm_viz.tools.<name>`). The app never imports them; several use Streamlit's internals."""
