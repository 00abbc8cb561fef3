"""The training lab's layers and the app's oracle agree: for every row of the table with a layer, `Norm.module(F)`
at initialisation (γ = 1, β = 0), in training mode, gives what `compute.reference` (that same module, built fresh,
or for rows without a torch.nn module an independent implementation) gives on the same input, and `normalize()` too.
The oracle's modules equal the torch.nn calls the table names (permutes, running statistics, eval mode), written out
here by hand; and a row added with nothing but a module factory is verified, benchmarked and trained."""

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from norm_viz.core import modules
from norm_viz.core.compute import normalize, reference, verify
from norm_viz.core.table import NORMS, Norm
from norm_viz.tools import bench
from norm_viz.training import train_lm
from norm_viz.training.layers import LM_NORMS, SequenceNorm, lm_norms

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
    layer = NORMS[key].module(f, sequence=s).train()
    with torch.no_grad():
        got = layer(x)
    tol = 1e-5 * max(1.0, float(got.abs().max()))
    torch.testing.assert_close(got, reference(x, key), rtol=0, atol=tol)
    torch.testing.assert_close(got, normalize(x, key).output.detach(), rtol=0, atol=tol)


# --- the oracle is the table's torch.nn module, with the permutes and state the table's torch text names --------------

TORCH_TEXT = {
    "batchnorm": lambda x, g: nn.BatchNorm1d(x.shape[2], dtype=x.dtype)(x.transpose(1, 2)).transpose(1, 2),
    "layernorm": lambda x, g: nn.LayerNorm(x.shape[2], dtype=x.dtype)(x),
    "layernorm_sample": lambda x, g: nn.LayerNorm(tuple(x.shape[1:]), dtype=x.dtype)(x),
    "instancenorm": lambda x, g: nn.InstanceNorm1d(x.shape[2], dtype=x.dtype)(x.transpose(1, 2)).transpose(1, 2),
    "groupnorm": lambda x, g: nn.GroupNorm(g, x.shape[2], dtype=x.dtype)(x.transpose(1, 2)).transpose(1, 2),
    "groupnorm_token": lambda x, g: F.group_norm(x.reshape(-1, x.shape[2]), g).reshape(x.shape),
    "rmsnorm": lambda x, g: nn.RMSNorm(x.shape[2], eps=1e-5, dtype=x.dtype)(x),
}


def test_every_row_with_a_torch_module_is_checked_through_its_module():
    by_module = {k for k, n in NORMS.items() if n.reference is None}
    assert set(TORCH_TEXT) <= by_module  # the shipped torch.nn rows; a row added later joins by its factory alone
    assert all(NORMS[k].make is not None and NORMS[k].has_torch_module for k in by_module)
    independent = {k for k, n in NORMS.items() if n.reference is not None}
    assert {"masked_batchnorm", "powernorm", "dyt", "derf"} <= independent
    assert not independent & set(TORCH_TEXT)


@pytest.mark.parametrize("key", sorted(TORCH_TEXT))
def test_the_oracle_equals_the_torch_call_the_table_names(key):
    x = torch.randn(3, 5, 12, generator=torch.Generator().manual_seed(4), dtype=torch.float64) * 2 + 1
    g = 3 if NORMS[key].uses_groups else None
    with torch.no_grad():
        torch.testing.assert_close(reference(x, key, groups=g), TORCH_TEXT[key](x, g or 1), rtol=0, atol=1e-12)


def test_the_batchnorm_oracle_uses_the_given_running_statistics_in_eval_mode():
    x = torch.randn(2, 4, 6, dtype=torch.float64)
    mean, var = torch.linspace(-1, 1, 6, dtype=torch.float64), torch.linspace(0.5, 3, 6, dtype=torch.float64)
    bn = nn.BatchNorm1d(6, dtype=torch.float64).eval()
    bn.running_mean.copy_(mean), bn.running_var.copy_(var)
    want = bn(x.transpose(1, 2)).transpose(1, 2)
    for key in ("batchnorm", "masked_batchnorm"):
        with torch.no_grad():
            got = reference(x, key, training=False, running_mean=mean, running_var=var, momentum=0.3)
        torch.testing.assert_close(got, want.detach(), rtol=0, atol=1e-12)
    with torch.no_grad():  # training mode: this batch's statistics, whatever the running ones
        trained = reference(x, "batchnorm", training=True, running_mean=mean, running_var=var)
    torch.testing.assert_close(trained, TORCH_TEXT["batchnorm"](x, 1).detach(), rtol=0, atol=1e-12)


# --- a row with nothing but a module factory ------------------------------------------------------------------------

NEW = "centered_rms_test"
WRONG = "wrong_module_test"


class CenteredRMS(nn.Module):
    """LayerNorm written as a module the app does not know: x − mean, divided by the root mean square of that."""

    def __init__(self, features: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(features))
        self.bias = nn.Parameter(torch.zeros(features))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        c = x - x.mean(-1, keepdim=True)
        return c * torch.rsqrt(c.square().mean(-1, keepdim=True) + self.eps) * self.weight + self.bias


@pytest.fixture
def new_rows():
    """Two rows registered at run time with only a factory (no kernel, no reference, no edit elsewhere): a correct
    one, and one whose module is not what its axes say (RMSNorm under centered per-token axes)."""
    row = Norm(
        key=NEW,
        label="Centered RMS (test row)",
        reduce=("group", "feature"),
        torch="CenteredRMS({F})(x)",
        summary="one statistic per token, over its features",
        snippet="y = (x - x.mean(-1, keepdim=True)) / x.std(-1, unbiased=False, keepdim=True)",
        make=lambda f, o: CenteredRMS(f, o.get("eps", 1e-5)),
    )
    NORMS[NEW] = row
    NORMS[WRONG] = dataclasses.replace(
        row, key=WRONG, make=lambda f, o: modules.TokenNorm(nn.RMSNorm(f, eps=o.get("eps", 1e-5)))
    )
    yield row
    del NORMS[NEW], NORMS[WRONG]


def test_a_row_with_only_a_module_factory_is_verified_against_it(new_rows):
    x = torch.randn(3, 4, 8, generator=torch.Generator().manual_seed(2)) * 3 + 2
    v = verify(normalize(x, NEW))
    assert v.ok and v.torch_module and v.torch_call == "CenteredRMS(8)(x)" and v.max_abs_diff < 1e-5
    wrong = verify(normalize(x, WRONG))  # the same axes, but the module does not subtract the mean: caught
    assert not wrong.ok and wrong.max_abs_diff > 0.1
    text = bench.counterpart(NEW, x, 1, None).text
    assert "CenteredRMS" in text and "module" in text


def test_a_row_with_only_a_module_factory_is_trainable_in_the_lab(new_rows):
    assert NEW in lm_norms() and NEW not in LM_NORMS  # read from the table at call time; the shipped list is fixed
    assert isinstance(SequenceNorm(NEW, 8).inner, CenteredRMS)
    tiny = {"width": 32, "layers": 1, "heads": 2, "max_len": 24, "batch_size": 8, "eval_every": 1000}
    h = train_lm(NEW, "pre", steps=30, seed=0, evaluate_at_end=False, **tiny)
    first, last = h.steps[0].train_loss, sum(s.train_loss for s in h.steps[-5:]) / 5
    assert math.isfinite(last) and last < first - 0.5


def test_rows_whose_statistic_spans_one_sequence_have_a_module_but_stay_out_of_the_lab():
    for key in ("instancenorm", "groupnorm", "layernorm_sample"):
        assert NORMS[key].make is not None and key not in lm_norms()
    with pytest.raises(ValueError, match="unknown norm 'instancenorm'"):
        SequenceNorm("instancenorm", 8)
    with pytest.raises(ValueError, match="sequence length"):
        NORMS["layernorm_sample"].module(8)
