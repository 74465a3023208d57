"""Running products, running extrema and differences: gradients against finite differences,
values against NumPy, zeros, ties, nans and errors."""
from __future__ import annotations

import numpy as np
import pytest

import yota
from yota.testing import check_grads, check_primitive
from yota_reductions import scans


def _data(shape, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.5, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    return np.asarray(x, dtype=dtype)


def _weights(shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape)


WITH_ZEROS = np.array([[0.5, 0.0, 2.0, -1.5, 0.7],
                       [1.2, 0.7, 0.0, 0.0, 1.1],
                       [0.0, 0.0, 0.0, 0.0, 0.0],
                       [0.3, -2.0, 1.1, 0.9, 0.0]])


# --- cumprod ------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape,axis", [((5,), None), ((5,), 0), ((3, 4), None), ((3, 4), 0),
                                        ((3, 4), -1), ((2, 3, 4), 1), ((1, 4), 0), ((3, 0), 1)])
def test_cumprod(shape, axis, dtype):
    x = _data(shape, dtype)
    w = _weights(np.cumprod(x, axis=axis).shape).astype(dtype)
    value, g = check_grads(lambda x: np.sum(np.cumprod(x, axis=axis) * w), x)
    assert value == np.sum(np.cumprod(x, axis=axis) * w)
    assert g[0].dtype == dtype


@pytest.mark.parametrize("axis", [0, 1])
def test_cumprod_with_zeros_is_exact(axis):
    x = WITH_ZEROS if axis == 1 else WITH_ZEROS.T
    w = _weights(x.shape)
    _, g = yota.grad(lambda x: np.sum(np.cumprod(x, axis=axis) * w), x)
    # d/dx_i of sum_j w_j prod_{k<=j} x_k, by the definition (no division anywhere)
    expected = np.zeros_like(x)
    for row in np.ndindex(x.shape[1 - axis]):
        line = x[:, row[0]] if axis == 0 else x[row[0]]
        wl = w[:, row[0]] if axis == 0 else w[row[0]]
        gl = [sum(wl[j] * np.prod(np.delete(line[: j + 1], i)) for j in range(i, len(line)))
              for i in range(len(line))]
        if axis == 0:
            expected[:, row[0]] = gl
        else:
            expected[row[0]] = gl
    np.testing.assert_allclose(g[0], expected, rtol=1e-13, atol=1e-15)
    assert np.all(np.isfinite(g[0]))
    check_grads(lambda x: np.sum(np.cumprod(x, axis=axis) * w), x, order=2)


def test_cumprod_higher_orders_and_methods():
    x = _data((3, 5))
    w = _weights((3, 5))
    check_grads(lambda x: np.sum(np.cumprod(x, axis=1) * w), x, order=3)
    check_grads(lambda x: np.sum(x.cumprod(axis=0) ** 2 * w), x, order=2)
    check_grads(lambda x: np.sum(np.multiply.accumulate(x) * w), x)
    check_grads(lambda x: np.sum(np.cumprod(x, dtype=np.float64)[-3:]), x.astype(np.float32))


def test_cumprod_of_a_long_axis_matches_a_loop():
    rng = np.random.default_rng(3)
    x = rng.uniform(0.9, 1.1, size=1000)
    x[[10, 500, 501]] = 0.0
    dy = rng.standard_normal(1000)
    _, g = yota.grad(lambda x: np.sum(np.cumprod(x) * dy), x)
    s, expected = 0.0, np.zeros(1000)
    y = np.cumprod(x)
    for i in reversed(range(1000)):  # s_i = dy_i + x_(i+1) s_(i+1); g_i = y_(i-1) s_i
        s = dy[i] + (x[i + 1] * s if i + 1 < 1000 else 0.0)
        expected[i] = (y[i - 1] if i else 1.0) * s
    np.testing.assert_allclose(g[0], expected, rtol=1e-10, atol=1e-300)


def test_nancumsum_and_nancumprod():
    x = _data((3, 4))
    xn = x.copy()
    xn[0, 1] = xn[2, 3] = np.nan
    w = _weights((3, 4))
    for f in (np.nancumsum, np.nancumprod):
        check_grads(lambda x: np.sum(f(x, axis=1) * w), x)
        value, g = yota.grad(lambda x: np.sum(f(x, axis=0) * w), xn)
        assert value == pytest.approx(np.sum(f(xn, axis=0) * w), rel=1e-12)
        assert g[0][0, 1] == 0 and g[0][2, 3] == 0 and np.all(np.isfinite(g[0]))
    check_grads(lambda x: np.sum(np.nancumprod(x) * w.ravel()), x)


# --- running maxima and minima -----------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_running_extrema(dtype):
    x = _data((3, 5), dtype)
    w = _weights((3, 5)).astype(dtype)
    for ufunc in (np.maximum, np.minimum):
        for axis in (0, 1, -1):
            value, g = check_grads(lambda x: np.sum(ufunc.accumulate(x, axis=axis) * w), x)
            assert value == np.sum(ufunc.accumulate(x, axis=axis) * w)
            assert g[0].dtype == dtype


def test_running_extrema_ties_go_to_the_earlier_element_and_nan_propagates():
    x = np.array([1.0, 3.0, 2.0, 3.0, 5.0, np.nan, 6.0])
    value, g = yota.grad(lambda x: np.maximum.accumulate(x)[:5] @ np.arange(1.0, 6.0), x)
    np.testing.assert_array_equal(g[0], [1, 2 + 3 + 4, 0, 0, 5, 0, 0])
    y, _ = yota.grad(lambda x: np.sum(np.minimum.accumulate(x)[5:]), x)
    assert np.isnan(y)
    _, g = yota.grad(lambda x: np.sum(np.minimum.accumulate(x)[5:]), x)
    np.testing.assert_array_equal(g[0], [0, 0, 0, 0, 0, 2, 0])


# --- diff --------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n", [1, 2, 3, 5])
@pytest.mark.parametrize("shape,axis", [((5,), -1), ((3, 4), 0), ((3, 4), 1), ((2, 3, 4), 1)])
def test_diff(shape, axis, n, dtype):
    x = _data(shape, dtype)
    w = _weights(np.diff(x, n, axis).shape).astype(dtype)
    value, g = check_grads(lambda x: np.sum(np.diff(x, n, axis=axis) * w), x)
    assert value == np.sum(np.diff(x, n, axis=axis) * w)
    assert g[0].dtype == dtype


def test_diff_second_order_prepend_append():
    x = _data((3, 4))
    check_grads(lambda x: np.sum(np.diff(x, 2) ** 2), x, order=2)
    w = _weights((4, 4))
    check_grads(lambda x: np.sum(np.diff(x, axis=0, prepend=0.5, append=x[:1]) * w), x)
    # a tracked prepend gets its gradient too, broadcast from a scalar or given in full
    check_grads(lambda x, p: np.sum(np.diff(x, 2, axis=0, prepend=p) * w[:2]), x, _data((1, 4)))
    check_grads(lambda x, p: np.sum(np.diff(x, prepend=p) * w[:3]), x, 0.3)
    value, _ = yota.grad(lambda x: np.sum(np.diff(x, prepend=[[1.0]] * 3, append=2.0) ** 2), x)
    assert value == pytest.approx(np.sum(np.diff(x, prepend=[[1.0]] * 3, append=2.0) ** 2))


def test_diff_n0_booleans_and_errors():
    x = _data((3, 4))
    _, g = yota.grad(lambda x: np.sum(np.diff(x, 0) * 2.0), x)
    np.testing.assert_array_equal(g[0], np.full((3, 4), 2.0))
    value, _ = yota.grad(lambda x: np.sum(np.diff(x > 0) * 1.0) + np.sum(x), x)
    assert value == np.sum(np.diff(x > 0)) + np.sum(x)
    with pytest.raises(ValueError, match="order must be non-negative but got -1"):
        yota.grad(lambda x: np.sum(np.diff(x, -1)), x)
    with pytest.raises(ValueError, match="diff requires input that is at least one dimensional"):
        yota.grad(lambda x: np.sum(np.diff(x)), 1.0)


# --- the primitives alone -----------------------------------------------------------------------
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("axis", [0, 1])
def test_linear_scan(axis, reverse):
    a, b = _data((4, 5), seed=2), _data((4, 5), seed=3)
    a[1, 2] = 0.0
    check_primitive(scans.linear_scan, a, b, axis=axis, reverse=reverse, order=2)
    check_primitive(scans.linear_scan, a[:1], b, axis=axis, reverse=reverse)  # broadcast a
    h, expected = scans.linear_scan(a, b, axis=axis, reverse=reverse), np.zeros((4, 5))
    for i in (reversed(range(a.shape[axis])) if reverse else range(a.shape[axis])):
        j = i + 1 if reverse else i - 1
        prev = np.take(expected, j, axis) if 0 <= j < a.shape[axis] else 0.0
        idx = (slice(None), i) if axis else (i,)
        expected[idx] = b[idx] + a[idx] * prev
    np.testing.assert_allclose(h, expected, rtol=1e-13)


@pytest.mark.parametrize("by", [-7, -2, 0, 1, 3])
def test_shifted(by):
    x = _data((3, 4))
    check_primitive(scans.shifted, x, axis=1, by=by, fill=0.5, order=2)
    expected = np.full((3, 4), 0.5)
    for i in range(4):
        if 0 <= i - by < 4:
            expected[:, i] = x[:, i - by]
    np.testing.assert_array_equal(scans.shifted(x, axis=1, by=by, fill=0.5), expected)


def test_cumprod_and_diff_primitives():
    x = _data((3, 4))
    check_primitive(scans.cumprod_p, x, axis=0, order=2)
    check_primitive(scans.diff_p, x, n=2, axis=1, order=2)
    check_primitive(scans.diff_p, x, n=4, axis=0)   # longer than the axis: empty output
