"""softmax and log_softmax: gradients on several shapes and axes, stability, dtypes."""
from __future__ import annotations

import numpy as np
import pytest

import yota
from yota.testing import check_grads
from yota_nn import log_softmax, softmax

CASES = [((5,), -1), ((3, 4), -1), ((3, 4), 0), ((2, 3, 4), 1), ((2, 3, 4), -1), ((1, 4), 0),
         ((2, 3, 4), (0, 2))]


def _data(shape, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _weighted(f, x, seed=1):
    w = np.random.default_rng(seed).standard_normal(np.shape(x))

    def loss(x):
        return np.sum(f(x) * w)

    return loss


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape,axis", CASES)
@pytest.mark.parametrize("f", [softmax, log_softmax], ids=["softmax", "log_softmax"])
def test_gradient_matches_finite_differences(f, shape, axis, dtype):
    x = _data(shape, dtype)
    check_grads(_weighted(lambda x: f(x, axis=axis), x), x)


@pytest.mark.parametrize("f", [softmax, log_softmax], ids=["softmax", "log_softmax"])
@pytest.mark.parametrize("axis", [0, -1])
def test_second_derivatives(f, axis):
    x = _data((3, 4), np.float64)
    check_grads(_weighted(lambda x: f(x, axis), x), x, order=2)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_values_match_the_textbook_formula(dtype):
    x = _data((3, 4), dtype)
    for axis in (0, 1, -1):
        e = np.exp(x.astype(np.float64))
        p = e / e.sum(axis=axis, keepdims=True)
        tol = 1e-6 if dtype == np.float32 else 1e-14
        s, ls = softmax(x, axis), log_softmax(x, axis=axis)
        assert s.dtype == ls.dtype == dtype
        np.testing.assert_allclose(s, p, rtol=tol, atol=tol)
        np.testing.assert_allclose(ls, np.log(p), rtol=tol, atol=tol)
        np.testing.assert_allclose(s.sum(axis=axis), 1.0, rtol=tol)
        value, g = yota.grad(lambda x: log_softmax(x, axis)[0, 1], x)
        assert value == ls[0, 1] and g[0].dtype == dtype


def test_stable_for_large_logits():
    x = np.array([[1000.0, 1000.0, -1000.0], [-1e4, 0.0, 1e4]], np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s, ls = softmax(x), log_softmax(x)
        _, g = yota.grad(lambda x: np.sum(log_softmax(x) * np.arange(3.0, dtype=np.float32)), x)
    np.testing.assert_allclose(s, [[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]])
    np.testing.assert_allclose(ls[0, :2], [-np.log(2)] * 2, rtol=1e-6)
    assert ls[0, 2] == pytest.approx(-2000 - np.log(2), rel=1e-6)
    assert np.all(np.isfinite(g[0]))


def test_softmax_gradient_sums_to_zero_along_the_axis():
    x = _data((4, 5), np.float64)
    w = _data((4, 5), np.float64, seed=2)
    _, g = yota.grad(lambda x: np.sum(softmax(x) * w), x)
    np.testing.assert_allclose(g[0].sum(axis=-1), 0.0, atol=1e-12)


def test_integer_input_gives_float_output():
    np.testing.assert_allclose(softmax(np.array([0, 0])), [0.5, 0.5])
    np.testing.assert_allclose(log_softmax(np.array([0, 0])), [-np.log(2)] * 2)
