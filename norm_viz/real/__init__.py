"""The real models, in one home: loading (sha256-checked, offline), tokenizers, the plain-torch forwards, the
measurements of the Real model page, its figures and the benchmark (`python -m norm_viz.real.bench`)."""
