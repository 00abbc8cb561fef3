"""The training lab's layers and the app's oracle agree: for every row of the table with a trainable layer,
`Norm.module(F)` at initialisation (γ = 1, β = 0), in training mode, gives what `compute.reference` (the torch.nn
module named in the table, or an independent implementation) gives on the same input, and `normalize()` too. So a
new row that has a factory is checked against the same oracle as the Explorer's numbers."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from norm_viz.core.compute import normalize, reference
from norm_viz.core.table import NORMS

TRAINABLE = sorted(k for k, n in NORMS.items() if n.make is not None)


def test_the_lab_trains_the_main_rows():
    assert {"batchnorm", "layernorm", "rmsnorm", "groupnorm_token", "masked_batchnorm", "powernorm", "dyt"} <= set(
        TRAINABLE
    )


@pytest.mark.parametrize("key", TRAINABLE)
@settings(max_examples=15, deadline=None)
@given(
    b=st.integers(2, 4),
    s=st.integers(2, 6),
    seed=st.integers(0, 2**16),
    shift=st.floats(-5, 5),
    scale=st.floats(0.1, 10),
)
def test_the_labs_layer_equals_the_oracle_and_normalize(key, b, s, seed, shift, scale):
    f = 8
    x = torch.randn(b, s, f, generator=torch.Generator().manual_seed(seed)) * scale + shift
    layer = NORMS[key].module(f).train()
    with torch.no_grad():
        got = layer(x)
    tol = 1e-5 * max(1.0, float(got.abs().max()))
    torch.testing.assert_close(got, reference(x, key), rtol=0, atol=tol)
    torch.testing.assert_close(got, normalize(x, key).output.detach(), rtol=0, atol=tol)
