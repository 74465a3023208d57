"""polyval/poly1d, vander, i0, unique, searchsorted, digitize, bincount, histogram: NumPy's values,
gradients against finite differences (both modes), non-differentiable outputs carry none."""
import numpy as np
import pytest

import yota
from yota.testing import check_grads

DTYPES = [np.float64, np.float32]


def value(f, *args):
    return yota.value_and_grad(f, argnums=tuple(range(len(args))))(*args)[0]


@pytest.mark.parametrize("dtype", DTYPES)
def test_polyval_and_poly1d(dtype):
    p, x = np.array([1.0, -2.0, 0.5], dtype), np.array([0.3, -1.2, 2.0], dtype)
    np.testing.assert_allclose(value(lambda p, x: np.sum(np.polyval(p, x)), p, x),
                               np.sum(np.polyval(p, x)), rtol=1e-6)
    check_grads(lambda p, x: np.sum(np.polyval(p, x) ** 2), p, x, order=2)
    check_grads(lambda x: np.sum(np.poly1d([1.0, 2.0, 3.0])(x) ** 2), x, order=2)
    check_grads(lambda p: np.sum(np.polyval(p, np.array([[0.5, 2.0]])) ** 2), p)


@pytest.mark.parametrize("N, increasing", [(None, False), (4, True), (1, False), (2, True)])
def test_vander(N, increasing):
    x = np.array([0.3, -1.2, 2.0])
    ref = np.vander(x, N, increasing)
    w = np.arange(ref.size).reshape(ref.shape)
    np.testing.assert_allclose(value(lambda x: np.sum(np.vander(x, N, increasing) * w), x),
                               np.sum(ref * w))
    check_grads(lambda x: np.sum(np.sin(np.vander(x, N, increasing=increasing))), x, order=2)


@pytest.mark.parametrize("dtype", DTYPES)
def test_i0(dtype):
    x = np.array([0.0, 0.4, -1.3, 3.0, 1e-3], dtype)
    np.testing.assert_allclose(value(lambda x: np.sum(np.i0(x)), x), np.sum(np.i0(x)))
    check_grads(lambda x: np.sum(np.i0(x)), x, order=3 if dtype == np.float64 else 1)


def test_i1_matches_scipy():
    special = pytest.importorskip("scipy.special")
    from yota.core_pack.elementwise import i1
    x = np.array([1e-300, 1e-8, 0.009, 0.011, 0.3, -2.0, 10.0, 50.0, 300.0, 700.0])
    np.testing.assert_allclose(i1(x), special.i1(x), rtol=1e-13)


def test_unique_values_and_outputs():
    a = np.array([3.0, 1.0, 2.0, 0.0, 5.0])
    check_grads(lambda a: np.sum(np.unique(a) ** 2 * np.arange(5.0)), a, order=2)

    def every(a):
        v, i, inv, c = np.unique(a, return_index=True, return_inverse=True, return_counts=True)
        return np.sum(v * c) + np.sum(v[inv] * a) + np.sum(i * a)
    check_grads(every, a)
    dup = np.array([3.0, 1.0, 2.0, 1.0, 3.0])
    _, g = yota.grad(lambda a: np.sum(np.unique(a) * np.array([1.0, 2.0, 3.0])), dup)
    np.testing.assert_array_equal(g[0], [3.0, 1.0, 2.0, 0.0, 0.0])   # first occurrences
    ref = np.unique(dup, return_inverse=True, return_counts=True)
    got = yota.value_and_grad(lambda a: np.sum(np.unique(a, return_counts=True)[1] * 1.0
                                               + np.unique(a)[0]))(dup)[0]
    assert got == np.sum(ref[2] + 1.0)
    m = np.array([[1.0, 2.0], [1.5, 2.0], [0.5, 3.0]])
    check_grads(lambda m: np.sum(np.unique(m, axis=0) ** 2 * np.arange(6.0).reshape(3, 2)), m)


def test_searchsorted_digitize_carry_no_gradient():
    xs = np.array([0.3, 1.2, -0.5, 2.5])
    edges = np.array([0.0, 1.0, 2.0])
    check_grads(lambda x: np.sum(x * np.searchsorted(edges, x)), xs)
    check_grads(lambda x: np.sum(x * np.searchsorted(edges, x, side="right")), xs)
    check_grads(lambda x: np.sum(x * np.digitize(x, edges, right=True)), xs)
    check_grads(lambda e: np.sum(e) * np.sum(np.searchsorted(e, xs)), edges)


@pytest.mark.parametrize("dtype", DTYPES)
def test_bincount_weights(dtype):
    idx = np.array([0, 1, 1, 3])
    w = np.array([0.3, 1.2, -0.5, 2.5], dtype)
    np.testing.assert_allclose(value(lambda w: np.sum(np.bincount(idx, w) * [1, 2, 3, 4]), w),
                               np.sum(np.bincount(idx, w) * [1, 2, 3, 4]), rtol=1e-6)
    check_grads(lambda w: np.sum(np.bincount(idx, weights=w, minlength=6) ** 2), w, order=2)
    check_grads(lambda x: np.sum(x * np.bincount(np.array([0, 2]))[:2]), w[:2])


@pytest.mark.parametrize("kw", [dict(bins=3), dict(bins=np.array([0.0, 0.4, 0.8, 1.0])),
                                dict(bins=2, range=(0, 0.8)), dict(bins=3, density=True)])
def test_histogram_weights(kw):
    data = np.array([0.1, 0.5, 0.7, 0.9, 1.0, 3.0])
    w = np.linspace(1, 2, 6)
    ref = np.histogram(data, weights=w, **kw)
    k = np.arange(1, len(ref[0]) + 1)
    np.testing.assert_allclose(
        value(lambda w: np.sum(np.histogram(data, weights=w, **kw)[0] * k), w),
        np.sum(ref[0] * k))
    check_grads(lambda w: np.sum(np.histogram(data, weights=w, **kw)[0] ** 2), w, order=2)
    _, g = yota.grad(lambda d, w: np.sum(np.histogram(d, weights=w, **kw)[0] ** 2), data, w)
    assert not np.any(g[0])                   # the data only pick bins
    counts, edges = np.histogram(data, **kw)
    c2 = yota.value_and_grad(lambda d: np.sum(np.histogram(d, **kw)[0] * 1.0) + d[0])(data)[0]
    assert c2 == np.sum(counts) + data[0]
