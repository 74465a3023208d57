"""np.quantile, np.percentile, np.median and their nan forms: values and dtypes equal NumPy's for
every method, gradients against finite differences (w.r.t. the data and a tracked q), the
gradient lands on the interpolated elements, and errors."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import yota
from yota.testing import check_grads
from yota_reductions.quantiles import CONTINUOUS, DISCRETE

METHODS = tuple(CONTINUOUS) + DISCRETE
QS = [0.5, 0.0, 1.0, 0.37, [0.1, 0.9], np.array([0.25, 0.5, 0.75], np.float32), np.array(0.3)]


def _data(shape, dtype=np.float64, seed=0):
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    if x.size > 1:
        x.flat[0] = x.flat[-1]  # a tie
    return x


def _weights(shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape)


def _traced(f, x):
    """f(x) computed on a tracked x (the value yota's implementation gives)."""
    out = []
    yota.grad(lambda x: (out.append(f(x)), np.sum(x) * 0.0)[1], x, dynamic=True)
    return out[0]._value


def _same(expected, got):
    assert np.shape(got) == np.shape(expected)
    assert np.result_type(got) == np.result_type(expected)
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape,axis", [((7,), None), ((4, 6), 1), ((2, 3, 4), (0, 2))])
@pytest.mark.parametrize("method", METHODS)
def test_values_and_dtypes_are_numpy_s(method, shape, axis, dtype):
    x = _data(shape, dtype)
    xn = x.copy()
    xn.flat[1] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        # float32: fewer combinations (the dtype rules are the same for every q form)
        names = ("quantile", "percentile", "nanquantile", "nanpercentile")
        for q in QS if dtype == np.float64 else QS[3:]:
            for name in names if dtype == np.float64 else names[::3]:
                f = getattr(np, name)
                qq = q if "quantile" in name else (
                    [v * 100 for v in q] if isinstance(q, list) else q * 100)
                keepdims = np.ndim(q) == 1
                for data in (x, xn):
                    if data is xn and np.ndim(q) == 0 and axis is None and \
                            not name.startswith("nan"):
                        continue  # NumPy returns the nan element itself there: a's dtype
                    expected = f(data, qq, axis=axis, method=method, keepdims=keepdims)
                    _same(expected, _traced(lambda a: f(a, qq, axis=axis, method=method,
                                                        keepdims=keepdims), data))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape,axis", [((7,), None), ((6,), 0), ((4, 6), 1), ((4, 5), 0),
                                        ((2, 3, 4), (0, 2)), ((3, 0), 0), ((), None)])
def test_median_values(shape, axis, dtype):
    x = _data(shape, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for f in (np.median, np.nanmedian):
            for keepdims in (False, True):
                _same(f(x, axis=axis, keepdims=keepdims),
                      _traced(lambda a: f(a, axis=axis, keepdims=keepdims), x))
            if x.size > 1:
                xn = x.copy()
                xn.flat[1] = np.nan
                _same(f(xn, axis=axis), _traced(lambda a: f(a, axis=axis), xn))


# --- gradients ----------------------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
def test_gradient_every_method(method):
    x = np.random.default_rng(3).standard_normal((4, 5))
    w = _weights((3, 5))
    q = [0.1, 0.5, 0.83]
    check_grads(lambda x: np.sum(np.quantile(x, q, axis=0, method=method) * w), x)
    check_grads(lambda x: np.sum(np.nanpercentile(x, [10, 50, 83], axis=0, method=method) * w),
                x)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape,axis", [((6,), None), ((4, 5), 0), ((4, 5), -1), ((2, 3, 4), 1),
                                        ((2, 3, 4), (0, 2))])
def test_gradient_shapes_axes_dtypes(shape, axis, dtype):
    x = np.random.default_rng(4).standard_normal(shape).astype(dtype)
    for f, q in ((np.quantile, 0.3), (np.percentile, [20.0, 70.0]), (np.nanquantile, 0.61)):
        w = _weights(np.shape(f(x, q, axis=axis))).astype(dtype)
        _, g = check_grads(lambda x: np.sum(f(x, q, axis=axis) * w), x)
        assert g[0].dtype == dtype
    for f in (np.median, np.nanmedian):
        w = _weights(np.shape(f(x, axis=axis, keepdims=True))).astype(dtype)
        check_grads(lambda x: np.sum(f(x, axis=axis, keepdims=True) * w), x)


def test_gradient_lands_on_the_interpolated_elements():
    x = np.array([4.0, 0.0, 3.0, 1.0, 2.0])          # sorted: 0 1 2 3 4
    _, g = yota.grad(lambda x: np.quantile(x, 0.3) * 10, x)   # index 1.2: 0.8 * 1 + 0.2 * 2
    np.testing.assert_allclose(g[0], [0, 0, 0, 8, 2])
    _, g = yota.grad(lambda x: np.median(x[:4]), x)   # 4 0 3 1: mean of 1 and 3
    np.testing.assert_allclose(g[0], [0, 0, 0.5, 0.5, 0])
    _, g = yota.grad(lambda x: np.quantile(x, 0.3, method="nearest"), x)
    np.testing.assert_array_equal(g[0], [0, 0, 0, 1, 0])
    xn = np.array([4.0, np.nan, 3.0, 1.0, 2.0])
    _, g = yota.grad(lambda x: np.nanmedian(x), xn)   # 1 2 3 4: 2.5
    np.testing.assert_allclose(g[0], [0, 0, 0.5, 0, 0.5])


@pytest.mark.parametrize("method", list(CONTINUOUS))
def test_gradient_with_respect_to_q(method):
    x = np.random.default_rng(5).standard_normal((4, 6))
    q = np.array([0.13, 0.52, 0.77])
    w = _weights((3, 4))
    check_grads(lambda x, q: np.sum(np.quantile(x, q, axis=1, method=method) * w), x, q)
    check_grads(lambda x, q: np.sum(np.nanpercentile(x, q, axis=1, method=method) * w), x,
                q * 100)
    _, g = yota.grad(lambda q: np.quantile(np.arange(5.0), q, method="linear"), 0.3)
    assert g[0] == pytest.approx(4.0)   # (n - 1) * (x[2] - x[1])
    _, g = yota.grad(lambda q: np.quantile(np.arange(5.0), q, method="lower"), 0.3)
    assert g[0] == 0.0                  # piecewise constant


def test_second_order():
    x = np.random.default_rng(6).standard_normal((3, 5))
    check_grads(lambda x: np.sum(np.quantile(x ** 2, [0.3, 0.8], axis=1) ** 2), x, order=2)
    check_grads(lambda x: np.sum(np.median(x, axis=0) ** 2), x, order=2)
    check_grads(lambda x, q: np.sum(np.quantile(x, q, axis=1) ** 2), x, np.array([0.3, 0.6]),
                order=2)


def test_nans():
    xn = np.array([[1.0, np.nan, 3.0, 0.5], [2.0, 1.0, -1.0, 4.0]])
    w = np.array([1.0, -2.0])
    value, g = yota.grad(lambda x: np.sum(np.quantile(x, 0.4, axis=1) * w), xn)
    assert np.isnan(value)
    value, g = yota.grad(lambda x: np.sum(np.nanquantile(x, 0.4, axis=1) * w), xn)
    assert value == pytest.approx(np.sum(np.nanquantile(xn, 0.4, axis=1) * w), rel=1e-15)
    assert g[0][0, 1] == 0 and np.all(np.isfinite(g[0]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for f in (np.nanmedian, lambda x, axis: np.nanquantile(x, 0.5, axis=axis)):
            value, g = yota.grad(lambda x: f(x, axis=1)[0], np.array([[np.nan, np.nan],
                                                                      [1.0, 2.0]]))
            assert np.isnan(value)


def test_weights_inverted_cdf():
    x = np.random.default_rng(7).standard_normal((4, 5))
    wts = np.random.default_rng(8).uniform(0.5, 2.0, (4, 5))
    for axis, w in ((1, wts), (0, wts[:, 0]), (None, wts)):
        f = lambda x: np.quantile(x, [0.3, 0.7], axis=axis, method="inverted_cdf", weights=w)
        _same(f(x), _traced(f, x))
        check_grads(lambda x: np.sum(f(x) * _weights(np.shape(f(x)))), x)
    f = lambda x: np.nanpercentile(x, 40, axis=1, method="inverted_cdf", weights=wts)
    _same(f(x), _traced(f, x))


def test_errors():
    x = np.arange(4.0)
    with pytest.raises(ValueError, match=r"Quantiles must be in the range \[0, 1\]"):
        yota.grad(lambda x: np.quantile(x, 1.5), x)
    with pytest.raises(ValueError, match=r"Percentiles must be in the range \[0, 100\]"):
        yota.grad(lambda x: np.percentile(x, [-1.0, 50.0])[1], x)
    with pytest.raises(ValueError, match=r"'cubic' is not a valid method"):
        yota.grad(lambda x: np.quantile(x, 0.5, method="cubic"), x)
    with pytest.raises(ValueError, match=r"Only method 'inverted_cdf' supports weights"):
        yota.grad(lambda x: np.quantile(x, 0.5, weights=np.ones(4)), x)
    with pytest.raises(ValueError, match=r"q must be a scalar or 1d"):
        yota.grad(lambda x: np.sum(np.quantile(x, np.full((1, 1, 1), 0.5))), x)
    with pytest.raises(yota.InPlaceError, match=r"numpy\.median\(\.\.\., out=\.\.\.\) writes"):
        yota.grad(lambda x: np.median(x, out=np.zeros(())), x)
