"""Activations: gradients against finite differences (both modes, first and second order),
values against plain NumPy references, stability at large |x|, dtypes."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import yota
from yota.testing import check_grads
from yota_nn import gelu, leaky_relu, relu, sigmoid, softplus

SHAPES = [(), (5,), (3, 4), (2, 3, 2)]
DTYPES = [np.float64, np.float32]


def _erf(x):
    return np.vectorize(math.erf, otypes=[np.float64])(x)


# Plain-NumPy references, written the textbook way (fine at moderate |x|).
REFERENCES = {
    "relu": (relu, lambda x: np.where(x > 0, x, 0.0)),
    "leaky_relu": (leaky_relu, lambda x: np.where(x > 0, x, 0.01 * x)),
    "leaky_relu_0.2": (lambda x: leaky_relu(x, 0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    "sigmoid": (sigmoid, lambda x: 1 / (1 + np.exp(-x))),
    "softplus": (softplus, lambda x: np.log(1 + np.exp(x))),
    "gelu": (gelu, lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2)))),
    "gelu_tanh": (lambda x: gelu(x, approximate="tanh"),
                  lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi)
                                                   * (x + 0.044715 * x ** 3)))),
}


def _data(shape, dtype, seed=0):
    """Values in +-[0.2, 2]: away from relu's kink at 0, where finite differences average."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.2, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    return np.asarray(x, dtype)


def _weighted(f, x, seed=1):
    w = np.random.default_rng(seed).standard_normal(np.shape(x))

    def loss(x):
        return np.sum(f(x) * w)

    return loss


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_gradient_matches_finite_differences(name, shape, dtype):
    f, _ = REFERENCES[name]
    x = _data(shape, dtype)
    check_grads(_weighted(f, x), x)


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_second_derivatives(name):
    f, _ = REFERENCES[name]
    x = _data((3, 4), np.float64)
    check_grads(_weighted(f, x), x, order=2)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_third_derivative(approximate):
    x = _data((4,), np.float64)
    check_grads(_weighted(lambda x: gelu(x, approximate=approximate), x), x, order=3,
                modes=("dynamic",))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_values_match_reference_and_keep_dtype(name, dtype):
    f, ref = REFERENCES[name]
    x = _data((3, 4), dtype)
    got = f(x)  # plain arrays: no tracing
    assert got.dtype == dtype
    tol = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(got, ref(x.astype(np.float64)), rtol=tol, atol=tol)
    value, g = yota.grad(lambda x: f(x)[1, 2], x)
    assert value == got[1, 2]  # tracked values give the same numbers
    assert g[0].dtype == dtype


def test_leaky_relu_slope_array_gets_a_gradient():
    """A learnable slope (PReLU) passed positionally, broadcast over rows."""
    x = _data((4, 3), np.float64)
    slope = np.array([0.1, 0.25, 0.5])
    check_grads(lambda x, s: np.sum(leaky_relu(x, s) * np.arange(12.0).reshape(4, 3)), x, slope,
                order=2)


def test_relu_gradient_at_zero_is_zero():
    x = np.array([-1.0, 0.0, 2.0])
    _, g = yota.grad(lambda x: np.sum(relu(x)), x)
    np.testing.assert_array_equal(g[0], [0.0, 0.0, 1.0])
    _, g = yota.grad(lambda x: np.sum(leaky_relu(x, 0.1)), x)
    np.testing.assert_allclose(g[0], [0.1, 0.1, 1.0])


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_and_softplus_are_stable_for_large_inputs(dtype):
    x = np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0], dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s, sp = sigmoid(x), softplus(x)
        _, g = yota.grad(lambda x: np.sum(softplus(x) + sigmoid(x)), x)
    assert s.dtype == sp.dtype == g[0].dtype == dtype
    np.testing.assert_allclose(s, [0.0, math.exp(-40), 0.5, 1.0, 1.0], rtol=1e-6)
    np.testing.assert_allclose(sp, [0.0, math.exp(-40), math.log(2), 40.0, 1000.0], rtol=1e-6)
    assert np.all(np.isfinite(g[0]))
    np.testing.assert_allclose(g[0][[0, 2, 4]], [0.0, 0.5 + 0.25, 1.0], rtol=1e-6)


def test_gelu_exact_far_in_the_tails():
    """x * Phi(x) from erfc keeps relative precision where 1 + erf(x) would cancel to 0."""
    x = np.array([-30.0, -10.0, -5.0, 5.0, 30.0])
    expected = np.array([x_ * 0.5 * math.erfc(-x_ / math.sqrt(2)) for x_ in x])
    # rtol: Phi(-30) changes by ~900 eps relative when x / sqrt(2) is rounded differently.
    np.testing.assert_allclose(gelu(x), expected, rtol=1e-12)
    assert gelu(np.array([-10.0]))[0] != 0.0


def test_gelu_rejects_unknown_approximation():
    x = _data((3,), np.float64)
    with pytest.raises(ValueError, match=r"yota_nn\.gelu: approximate must be 'none'.*'tanh'.*"
                                         r"Got 'erf'"):
        gelu(x, approximate="erf")
    with pytest.raises(ValueError, match=r"yota_nn\.gelu: approximate"):
        yota.grad(lambda x: np.sum(gelu(x, approximate="fast")), x)
    np.testing.assert_array_equal(gelu(x, approximate=True), gelu(x, approximate="tanh"))
    np.testing.assert_array_equal(gelu(x, approximate=False), gelu(x))


def test_tanh_is_numpys():
    x = _data((3,), np.float32)
    check_grads(lambda x: np.sum(np.tanh(x) * np.arange(3.0, dtype=np.float32)), x)


@settings(max_examples=30, deadline=None)
@given(shape=st.lists(st.integers(1, 4), max_size=3).map(tuple),
       dtype=st.sampled_from(DTYPES), name=st.sampled_from(sorted(REFERENCES)),
       seed=st.integers(0, 2 ** 16))
def test_random_shapes(shape, dtype, name, seed):
    f, _ = REFERENCES[name]
    x = _data(shape, dtype, seed)
    check_grads(_weighted(f, x, seed), x, modes=("dynamic",))
